"""The fleet-indexing query language (AWS IoT developer guide, "Query syntax").

Supported, as documented: free terms (searched in every field), `field:value`, quoted
phrases, `*` / `?` wildcards (no leading wildcard; a lone `*` matches everything and
`field:*` matches documents that have the field), ranges `[a TO b]`, `{a TO b}` and mixed
bounds (`*` for an open bound), comparisons `field:>v` / `field>v` (`<`, `<=`, `>`, `>=`),
AND / OR / NOT and `-term`, parentheses, field grouping `field:(a OR b)`, backslash
escaping, implicit AND between clauses, at most `MAX_TERMS` terms.

`parse` turns a query into an immutable tree (cached, so a query is parsed once however
often a dynamic group or fleet metric is evaluated); `matches` evaluates the tree on a
`Document`. Field names are case-sensitive; values match case-insensitively.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from iotmock.core.errors import ServiceError

MAX_TERMS = 7

Scalar = str | int | float | bool
# A flattened document: field name -> its values (several for arrays and group lists).
Document = Mapping[str, Sequence[Scalar]]
# The declared type of a field ("String", "Number", "Boolean"), None when undeclared.
FieldTypes = Callable[[str], str | None]


def invalid_query(message: str) -> ServiceError:
    return ServiceError("InvalidQueryException", message)


# ---------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Pattern:
    """A query value: literal text, or a wildcard pattern (compiled once at parse)."""

    text: str
    regex: re.Pattern[str] | None = None

    def matches_text(self, value: str) -> bool:
        if self.regex is not None:
            return self.regex.fullmatch(value) is not None
        return value.casefold() == self.text.casefold()


@dataclass(frozen=True, slots=True)
class MatchAll:
    pass


@dataclass(frozen=True, slots=True)
class FreeTerm:
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class Match:
    field: str
    pattern: Pattern


@dataclass(frozen=True, slots=True)
class Exists:
    field: str


@dataclass(frozen=True, slots=True)
class Range:
    field: str
    low: str | None
    low_inclusive: bool
    high: str | None
    high_inclusive: bool


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


@dataclass(frozen=True, slots=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    nodes: tuple[Node, ...]


Node = MatchAll | FreeTerm | Match | Exists | Range | Not | And | Or


def fields_of(node: Node) -> Iterator[str]:
    """The field names a query names (free terms name none)."""
    if isinstance(node, (Match, Exists, Range)):
        yield node.field
    elif isinstance(node, Not):
        yield from fields_of(node.node)
    elif isinstance(node, (And, Or)):
        for child in node.nodes:
            yield from fields_of(child)


# ---------------------------------------------------------------------------- parsing

_KEYWORDS = ("AND", "OR", "NOT")
_WORD_END = frozenset(' \t\r\n()"')
_FIELD_END = _WORD_END | frozenset(":<>")
_BOUND_END = _WORD_END | frozenset("]}")
_COMPARISONS = ("<=", ">=", "<", ">")


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    # Positions (in `text`) of unescaped `*` / `?` wildcards.
    wildcards: tuple[int, ...]


def _wildcard_regex(word: _Word) -> re.Pattern[str]:
    parts: list[str] = []
    for position, char in enumerate(word.text):
        if position in word.wildcards:
            parts.append(".*" if char == "*" else ".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.terms = 0

    # -- helpers

    def fail(self, message: str) -> ServiceError:
        return invalid_query(f"Invalid query string {self.text!r}: {message}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\r", "\n") and self.peek():
            self.pos += 1

    def at_keyword(self, keyword: str) -> bool:
        end = self.pos + len(keyword)
        if self.text[self.pos : end] != keyword:
            return False
        return end == len(self.text) or self.text[end] in ' \t\r\n("-'

    def take_keyword(self, keyword: str) -> bool:
        self.skip_spaces()
        if self.at_keyword(keyword):
            self.pos += len(keyword)
            return True
        return False

    def count_term(self) -> None:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.fail(f"a query can have at most {MAX_TERMS} terms.")

    def read_word(self, stop: frozenset[str]) -> _Word:
        chars: list[str] = []
        wildcards: list[int] = []
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            char = self.text[self.pos]
            if char == "\\":
                if self.pos + 1 >= len(self.text):
                    raise self.fail("a backslash must escape a character.")
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char in "*?":
                wildcards.append(len(chars))
            chars.append(char)
            self.pos += 1
        return _Word("".join(chars), tuple(wildcards))

    def read_phrase(self) -> str:
        self.pos += 1  # the opening quote
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(chars)
            chars.append(char)
            self.pos += 1
        raise self.fail("a quoted phrase is not closed.")

    def pattern_of(self, word: _Word) -> Pattern:
        if not word.wildcards:
            return Pattern(word.text)
        if 0 in word.wildcards:
            raise self.fail(f"leading wildcards are not supported ({word.text!r}).")
        return Pattern(word.text, _wildcard_regex(word))

    # -- grammar

    def query(self) -> Node:
        self.skip_spaces()
        if not self.peek():
            raise self.fail("the query is empty.")
        node = self.or_expr(None)
        self.skip_spaces()
        if self.peek():
            raise self.fail(f"unexpected {self.peek()!r} at position {self.pos}.")
        return node

    def or_expr(self, field: str | None) -> Node:
        nodes = [self.and_expr(field)]
        while self.take_keyword("OR"):
            nodes.append(self.and_expr(field))
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def and_expr(self, field: str | None) -> Node:
        nodes = [self.unary(field)]
        while True:
            self.skip_spaces()
            if not self.peek() or self.peek() == ")" or self.at_keyword("OR"):
                break
            self.take_keyword("AND")  # AND is also the implicit operator
            nodes.append(self.unary(field))
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def unary(self, field: str | None) -> Node:
        self.skip_spaces()
        if self.take_keyword("NOT"):
            return Not(self.unary(field))
        if (
            self.peek() == "-"
            and self.pos + 1 < len(self.text)
            and self.text[self.pos + 1] not in " \t\r\n"
        ):
            self.pos += 1
            return Not(self.primary(field))
        return self.primary(field)

    def primary(self, field: str | None) -> Node:
        self.skip_spaces()
        char = self.peek()
        if not char:
            raise self.fail("the query ends where a term is expected.")
        if char == ")":
            raise self.fail(f"unexpected ')' at position {self.pos}.")
        if any(self.at_keyword(k) for k in ("AND", "OR")):
            raise self.fail(f"an operator is missing a term at position {self.pos}.")
        if char == "(":
            self.pos += 1
            node = self.or_expr(field)
            self.skip_spaces()
            if self.peek() != ")":
                raise self.fail("a parenthesis is not closed.")
            self.pos += 1
            return node
        if field is not None:
            return self.value(field)
        if char == '"':
            self.count_term()
            return FreeTerm(Pattern(self.read_phrase()))
        return self.clause()

    def clause(self) -> Node:
        start = self.pos
        word = self.read_word(_FIELD_END)
        if not word.text and self.peek() not in ":<>":
            raise self.fail(f"unexpected {self.peek()!r} at position {self.pos}.")
        after_word = self.pos
        self.skip_spaces()
        separator = self.peek()
        if separator in (":", "<", ">") and word.text and not word.wildcards:
            if separator == ":":
                self.pos += 1
                self.skip_spaces()
            return self.value(word.text)
        self.pos = after_word
        if not word.text:
            raise self.fail(f"a field name is missing at position {start}.")
        self.count_term()
        if word.text == "*" and word.wildcards:
            return MatchAll()
        return FreeTerm(self.pattern_of(word))

    def value(self, field: str) -> Node:
        """What follows `field:` (or `field` directly before a comparison)."""
        self.skip_spaces()
        char = self.peek()
        if char == "(":
            self.pos += 1
            node = self.or_expr(field)
            self.skip_spaces()
            if self.peek() != ")":
                raise self.fail("a parenthesis is not closed.")
            self.pos += 1
            return node
        if char in ("[", "{"):
            return self.range(field)
        for operator in _COMPARISONS:
            if self.text.startswith(operator, self.pos):
                self.pos += len(operator)
                return self.comparison(field, operator)
        self.count_term()
        if char == '"':
            return Match(field, Pattern(self.read_phrase()))
        word = self.read_word(_WORD_END)
        if not word.text:
            raise self.fail(f"the field {field!r} has no value.")
        if word.text == "*" and word.wildcards:
            return Exists(field)
        return Match(field, self.pattern_of(word))

    def bound(self, stop: frozenset[str]) -> str | None:
        self.skip_spaces()
        if self.peek() == '"':
            return self.read_phrase()
        word = self.read_word(stop)
        if not word.text:
            raise self.fail("a range or comparison is missing a value.")
        if word.text == "*" and word.wildcards:
            return None
        if word.wildcards:
            raise self.fail(f"wildcards are not allowed in ranges ({word.text!r}).")
        return word.text

    def range(self, field: str) -> Node:
        low_inclusive = self.peek() == "["
        self.pos += 1
        self.count_term()
        low = self.bound(_BOUND_END)
        if not self.take_keyword("TO"):
            raise self.fail("a range needs the form [low TO high].")
        high = self.bound(_BOUND_END)
        self.skip_spaces()
        closing = self.peek()
        if closing not in ("]", "}"):
            raise self.fail("a range is not closed with ] or }.")
        self.pos += 1
        return Range(field, low, low_inclusive, high, closing == "]")

    def comparison(self, field: str, operator: str) -> Node:
        self.count_term()
        value = self.bound(_WORD_END)
        if value is None:
            return Exists(field)
        if operator.startswith("<"):
            return Range(field, None, False, value, operator == "<=")
        return Range(field, value, operator == ">=", None, False)


@functools.lru_cache(maxsize=1024)
def parse(query: str) -> Node:
    """The tree of `query`, or InvalidQueryException."""
    return _Parser(query).query()


# ---------------------------------------------------------------------------- evaluation


def text_of(value: Scalar) -> str:
    """A value as the text it is matched as (booleans `true`/`false`, numbers as JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def number_of(value: Scalar | None) -> float | None:
    """A value as a number, when it is one (booleans are not); numeric strings count."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        found = float(value)
    except ValueError:
        return None
    return found if math.isfinite(found) else None


def _is_numeric(value: Scalar, declared: str | None) -> bool:
    """Numbers compare as numbers: JSON numbers of shadows, and string values (registry
    attributes) of fields declared Number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return declared == "Number" and number_of(value) is not None


def _value_matches(value: Scalar, pattern: Pattern, declared: str | None) -> bool:
    if pattern.regex is None and _is_numeric(value, declared):
        wanted = number_of(pattern.text)
        if wanted is not None:
            return number_of(value) == wanted
    return pattern.matches_text(text_of(value))


def _in_range(value: Scalar, node: Range, declared: str | None) -> bool:
    if isinstance(value, bool):
        return False
    if _is_numeric(value, declared):
        found = number_of(value)
        low = number_of(node.low) if node.low is not None else -math.inf
        high = number_of(node.high) if node.high is not None else math.inf
        if found is None or low is None or high is None:
            return False
        above = found >= low if node.low_inclusive else found > low
        below = found <= high if node.high_inclusive else found < high
        return above and below
    text = text_of(value).casefold()
    if node.low is not None:
        low_text = node.low.casefold()
        if not (text >= low_text if node.low_inclusive else text > low_text):
            return False
    if node.high is not None:
        high_text = node.high.casefold()
        if not (text <= high_text if node.high_inclusive else text < high_text):
            return False
    return True


def matches(node: Node, document: Document, field_types: FieldTypes) -> bool:
    """Whether `document` satisfies the query tree `node`."""
    if isinstance(node, MatchAll):
        return True
    if isinstance(node, Match):
        declared = field_types(node.field)
        return any(_value_matches(v, node.pattern, declared) for v in document.get(node.field, ()))
    if isinstance(node, Exists):
        return bool(document.get(node.field))
    if isinstance(node, Range):
        declared = field_types(node.field)
        return any(_in_range(v, node, declared) for v in document.get(node.field, ()))
    if isinstance(node, FreeTerm):
        return any(
            _value_matches(v, node.pattern, field_types(name))
            for name, values in document.items()
            for v in values
        )
    if isinstance(node, Not):
        return not matches(node.node, document, field_types)
    if isinstance(node, And):
        return all(matches(child, document, field_types) for child in node.nodes)
    return any(matches(child, document, field_types) for child in node.nodes)
