"""A tree of MQTT topics, one node per level, so finding the topics a filter matches
walks only the branches the filter can reach (a wildcard filter over a log of many
topics costs what it matches, not what was ever recorded)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # The topic that ends at this node, if one was added.
    topic: str | None = None


@dataclass(slots=True)
class TopicTree:
    """A set of topics searchable by MQTT topic filter (`+` one level, a trailing `#`
    the rest and the parent level; filters starting with a wildcard do not match topics
    starting with `$`, MQTT 3.1.1 4.7.2)."""

    root: _Node = field(default_factory=_Node)

    def add(self, topic: str) -> None:
        node = self.root
        for level in topic.split("/"):
            found = node.children.get(level)
            if found is None:
                found = node.children[level] = _Node()
            node = found
        node.topic = topic

    def remove(self, topic: str) -> None:
        """Forget `topic`, pruning the branches left empty."""
        levels = topic.split("/")
        path = [self.root]
        for level in levels:
            found = path[-1].children.get(level)
            if found is None:
                return
            path.append(found)
        path[-1].topic = None
        for level, node, parent in zip(
            reversed(levels), reversed(path[1:]), reversed(path[:-1]), strict=True
        ):
            if node.topic is not None or node.children:
                break
            del parent.children[level]

    def clear(self) -> None:
        self.root = _Node()

    def matching(self, topic_filter: str) -> Iterator[str]:
        """The topics `topic_filter` matches, in no particular order."""
        levels = topic_filter.split("/")
        yield from self._match(self.root, levels, 0)

    def _match(self, node: _Node, levels: list[str], index: int) -> Iterator[str]:
        if index == len(levels):
            if node.topic is not None:
                yield node.topic
            return
        level = levels[index]
        if level == "#":
            if index > 0 and node.topic is not None:
                yield node.topic  # `a/#` matches `a` too
            yield from self._subtree(node, skip_system=index == 0)
            return
        if level == "+":
            for name, child in node.children.items():
                if index == 0 and name.startswith("$"):
                    continue
                yield from self._match(child, levels, index + 1)
            return
        exact = node.children.get(level)
        if exact is not None:
            yield from self._match(exact, levels, index + 1)

    def _subtree(self, node: _Node, *, skip_system: bool) -> Iterator[str]:
        stack = [
            child
            for name, child in node.children.items()
            if not (skip_system and name.startswith("$"))
        ]
        while stack:
            current = stack.pop()
            if current.topic is not None:
                yield current.topic
            stack.extend(current.children.values())
