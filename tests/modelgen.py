"""Values generated from the botocore model, for the model-wide tests.

`valid_value(shape)` builds a value that satisfies every constraint of the shape (enum,
pattern, length, range), with every optional member filled in when `full` is set.
`string_of_length(shape, n)` finds a string of exactly n characters matching the
shape's pattern, or None when the simple strategies cannot make one.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from botocore.model import Shape

from iotmock.core.validation import compile_java_pattern

_CANDIDATES = [
    "abc",
    "a",
    "Abc123",
    "test-thing_1",
    "123456789012",
    "arn:aws:iot:us-east-1:123456789012:thing/abc",
    "arn:aws:iam::123456789012:role/abc",
    "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
    "0" * 64,
    "a" * 36,
    "12345678-1234-1234-1234-123456789012",
    "https://example.com/x",
    "p50",
    "1.0",
    "LAST",
    "15",
    "AAAA",
    "ABC_DEF",
    "2026-01-01",
    "{}",
    "\n",
    "https://ingestion-abc.abc.sfdcnow.com/streams/abc/abc/event",
]

FIXED_TIME = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def matches(shape: Shape, value: str) -> bool:
    pattern = shape.metadata.get("pattern")
    return pattern is None or compile_java_pattern(pattern).fullmatch(value) is not None


def _fits(shape: Shape, value: str) -> bool:
    low = shape.metadata.get("min", 0) or 0
    high = shape.metadata.get("max", 10**9)
    return low <= len(value) <= high and matches(shape, value)


@functools.cache
def _string_for(pattern: str | None, low: int, high: int, enum: tuple[str, ...]) -> str:
    if enum:
        return enum[0]
    regex = compile_java_pattern(pattern) if pattern else None
    for candidate in _CANDIDATES:
        value = candidate + "a" * max(0, low - len(candidate))
        if len(value) <= high and (regex is None or regex.fullmatch(value)):
            return value
    raise LookupError(f"no candidate for pattern {pattern!r} [{low}, {high}]")


def valid_string(shape: Shape) -> str:
    return _string_for(
        shape.metadata.get("pattern"),
        shape.metadata.get("min", 0) or 0,
        shape.metadata.get("max", 10**9),
        tuple(getattr(shape, "enum", None) or ()),
    )


def string_of_length(shape: Shape, length: int) -> str | None:
    """A pattern-matching string of exactly `length` characters, or None."""
    if length < 0:
        return None
    if length == 0:
        return "" if matches(shape, "") else None
    base = valid_string(shape)
    for filler in dict.fromkeys([*base, "a", "0", "A", "-", " "]):
        value = (base + filler * length)[:length]
        if len(value) == length and matches(shape, value):
            return value
    return None


def valid_value(shape: Shape, *, full: bool = True, depth: int = 0) -> Any:
    type_name = shape.type_name
    meta = shape.metadata
    if type_name == "structure":
        out: dict[str, Any] = {}
        names = shape.members if full and depth < 8 else shape.required_members  # type: ignore[attr-defined]
        for name in names:
            member = shape.members[name]  # type: ignore[attr-defined]
            if member.serialization.get("eventstream"):
                continue
            out[name] = valid_value(member, full=full, depth=depth + 1)
        if meta.get("union") and out:
            first = next(iter(out))
            return {first: out[first]}
        return out
    if type_name == "list":
        count = max(1, meta.get("min", 0) or 0) if depth < 8 else meta.get("min", 0) or 0
        return [valid_value(shape.member, full=full, depth=depth + 1) for _ in range(count)]  # type: ignore[attr-defined]
    if type_name == "map":
        if depth >= 8 and not meta.get("min"):
            return {}
        return {
            valid_string(shape.key): valid_value(shape.value, full=full, depth=depth + 1)  # type: ignore[attr-defined]
        }
    if type_name == "string":
        return valid_string(shape)
    if type_name in ("integer", "long"):
        return int(meta.get("min", 1)) if "min" in meta else min(1, int(meta.get("max", 1)))
    if type_name in ("float", "double"):
        return float(meta.get("min", 1.5))
    if type_name == "boolean":
        return True
    if type_name == "timestamp":
        return FIXED_TIME
    if type_name == "blob":
        return b"x" * max(1, meta.get("min", 0) or 0)
    raise TypeError(f"unhandled shape type {type_name}")
