"""Trees of MQTT topic levels, one node per level, so a search walks only the branches it
can reach instead of everything stored:

- `TopicTree` holds topics and finds those a filter matches (the message log: a wildcard
  read costs what it matches, not what was ever recorded);
- `FilterIndex` holds subscriptions (filter, client) and finds the clients whose filters
  match a topic (the device broker: a message visits its subscribers, not every session).

Matching is MQTT's: `+` one level, a trailing `#` the rest and the parent level; filters
starting with a wildcard do not match topics starting with `$` (MQTT 3.1.1 4.7.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    # What ends at this node: the topic itself (TopicTree), or the clients subscribed
    # with the filter (FilterIndex).
    values: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _LevelTree:
    root: _Node = field(default_factory=_Node)

    def _add(self, key: str, value: str) -> None:
        node = self.root
        for level in key.split("/"):
            found = node.children.get(level)
            if found is None:
                found = node.children[level] = _Node()
            node = found
        node.values.add(value)

    def _remove(self, key: str, value: str) -> None:
        """Forget `value` under `key`, pruning the branches left empty."""
        levels = key.split("/")
        path = [self.root]
        for level in levels:
            found = path[-1].children.get(level)
            if found is None:
                return
            path.append(found)
        path[-1].values.discard(value)
        for level, node, parent in zip(
            reversed(levels), reversed(path[1:]), reversed(path[:-1]), strict=True
        ):
            if node.values or node.children:
                break
            del parent.children[level]

    def clear(self) -> None:
        self.root = _Node()


@dataclass(slots=True)
class TopicTree(_LevelTree):
    """A set of topics searchable by topic filter."""

    def add(self, topic: str) -> None:
        self._add(topic, topic)

    def remove(self, topic: str) -> None:
        self._remove(topic, topic)

    def matching(self, topic_filter: str) -> Iterator[str]:
        """The topics `topic_filter` matches, in no particular order."""
        yield from self._match(self.root, topic_filter.split("/"), 0)

    def _match(self, node: _Node, levels: list[str], index: int) -> Iterator[str]:
        if index == len(levels):
            yield from node.values
            return
        level = levels[index]
        if level == "#":
            if index > 0:
                yield from node.values  # `a/#` matches `a` too
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
            yield from current.values
            stack.extend(current.children.values())


@dataclass(slots=True)
class FilterIndex(_LevelTree):
    """Subscriptions (topic filter, client id), searchable by topic."""

    def add(self, topic_filter: str, client_id: str) -> None:
        self._add(topic_filter, client_id)

    def remove(self, topic_filter: str, client_id: str) -> None:
        self._remove(topic_filter, client_id)

    def clients(self, topic: str) -> set[str]:
        """The clients with a filter matching `topic`."""
        found: set[str] = set()
        system = topic.startswith("$")
        nodes = [self.root]
        for depth, level in enumerate(topic.split("/")):
            wildcards = not (system and depth == 0)
            following: list[_Node] = []
            for node in nodes:
                rest = node.children.get("#") if wildcards else None
                if rest is not None:
                    found |= rest.values
                exact = node.children.get(level)
                if exact is not None:
                    following.append(exact)
                one = node.children.get("+") if wildcards else None
                if one is not None:
                    following.append(one)
            nodes = following
            if not nodes:
                return found
        for node in nodes:
            found |= node.values
            rest = node.children.get("#")  # `a/#` matches `a` too
            if rest is not None:
                found |= rest.values
        return found
