"""Every constraint the botocore model documents, checked before any handler runs.

Each input shape is compiled once into a tree of small checking functions (a shape with
no constraint below it compiles to nothing and costs nothing per call). All violations
are collected and reported the AWS way (spec §1)::

    2 validation errors detected: Value 'bad name' at 'thingName' failed to satisfy
    constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9:_-]+; ...

Model patterns are Java regular expressions matched against the whole value; they are
translated once (POSIX and Unicode `\\p{..}` classes, ASCII `\\w`) and matched with
`re.fullmatch`.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import Any

from botocore.model import Shape, StructureShape

from iotmock.core.errors import ServiceError
from iotmock.core.model import operation_model, service_model

Errors = list[str]
Check = Callable[[Any, str, Errors], None]


# --------------------------------------------------------------------------- patterns


@functools.cache
def _unicode_category_ranges(category: str) -> str:
    """A character-class body for the Unicode general category `category` (`L`, `Cc`...)."""
    parts: list[str] = []
    start: int | None = None
    for code_point in range(sys.maxunicode + 2):
        inside = code_point <= sys.maxunicode and unicodedata.category(chr(code_point)).startswith(
            category
        )
        if inside and start is None:
            start = code_point
        elif not inside and start is not None:
            end = code_point - 1
            parts.append(f"\\U{start:08x}" if start == end else f"\\U{start:08x}-\\U{end:08x}")
            start = None
    return "".join(parts)


# Java's POSIX classes are ASCII-only unless UNICODE_CHARACTER_CLASS is set.
_POSIX_CLASSES = {
    "Graph": r"\x21-\x7e",
    "Print": r"\x20-\x7e",
    "Cntrl": r"\x00-\x1f\x7f",
    "Upper": "A-Z",
    "Lower": "a-z",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": r"!-/:-@\[-`{-~",
    "XDigit": "0-9a-fA-F",
    "Space": r" \t\n\x0b\f\r",
    "Blank": r" \t",
    "ASCII": r"\x00-\x7f",
}


def _class_body(name: str) -> str:
    if name in _POSIX_CLASSES:
        return _POSIX_CLASSES[name]
    if name.startswith("Is"):
        name = name[2:]
    return _unicode_category_ranges(name)


_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}")

# What Java's `.` matches without DOTALL: every character but its line terminators.
_JAVA_DOT = "[^\n\r\u0085\u2028\u2029]"


@functools.cache
def compile_java_pattern(pattern: str) -> re.Pattern[str]:
    """Translate a model (Java) pattern to a Python regular expression."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            match = _PROPERTY.match(pattern, index)
            if match:
                body = _class_body(match.group(2))
                negated = match.group(1) == "P"
                if in_class and not negated:
                    out.append(body)
                else:
                    out.append(f"[{'^' if negated else ''}{body}]")
                index = match.end()
                continue
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "." and not in_class:
            # Java's `.` matches anything but a line terminator (no DOTALL in the models).
            out.append(_JAVA_DOT)
            index += 1
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return re.compile("".join(out), re.ASCII)


# --------------------------------------------------------------------------- rendering


def render_value(value: Any) -> str:
    """A value as Java's toString renders it in AWS validation messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _clause(value: Any, path: str, constraint: str) -> str:
    return f"Value '{render_value(value)}' at '{path}' failed to satisfy constraint: {constraint}"


def java_length(value: Any) -> int:
    """Length as Java counts it: UTF-16 code units for strings."""
    if isinstance(value, str) and not value.isascii():
        return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)
    return len(value)


# --------------------------------------------------------------------------- compiling


Predicate = Callable[[Any], bool]


def _longer_than(high: int) -> Predicate:
    return lambda value: java_length(value) > high


def _shorter_than(low: int) -> Predicate:
    return lambda value: java_length(value) < low


def _above(high: float) -> Predicate:
    return lambda value: bool(value > high)


def _below(low: float) -> Predicate:
    return lambda value: bool(value < low)


def _not_matching(regex: re.Pattern[str]) -> Predicate:
    return lambda value: regex.fullmatch(value) is None


def _not_in(allowed: frozenset[str]) -> Predicate:
    return lambda value: value not in allowed


def _constraint_phrases(shape: Shape) -> list[tuple[Predicate, str]]:
    """(violated?, phrase) for each constraint of a scalar/list/map shape itself, in the
    order AWS reports them (pattern before length)."""
    meta = shape.metadata
    checks: list[tuple[Predicate, str]] = []
    if shape.type_name == "string" and "pattern" in meta:
        checks.append(
            (
                _not_matching(compile_java_pattern(meta["pattern"])),
                f"Member must satisfy regular expression pattern: {meta['pattern']}",
            )
        )
    if shape.type_name in ("string", "list", "map", "blob"):
        if "max" in meta:
            checks.append(
                (
                    _longer_than(meta["max"]),
                    f"Member must have length less than or equal to {meta['max']}",
                )
            )
        if meta.get("min", 0) > 0:
            checks.append(
                (
                    _shorter_than(meta["min"]),
                    f"Member must have length greater than or equal to {meta['min']}",
                )
            )
    elif shape.type_name in ("integer", "long", "float", "double"):
        if "max" in meta:
            checks.append(
                (_above(meta["max"]), f"Member must have value less than or equal to {meta['max']}")
            )
        if "min" in meta:
            checks.append(
                (
                    _below(meta["min"]),
                    f"Member must have value greater than or equal to {meta['min']}",
                )
            )
    enum = getattr(shape, "enum", None)
    if shape.type_name == "string" and enum:
        checks.append(
            (_not_in(frozenset(enum)), f"Member must satisfy enum value set: [{', '.join(enum)}]")
        )
    return checks


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (bytes, bytearray, str),
    "timestamp": (dt.datetime,),
    "list": (list,),
    "map": (dict,),
    "structure": (dict,),
}


class _Compiler:
    """Compiles the shapes of one service, memoized by shape name."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._checks: dict[str, Check | None] = {}

    def compile(self, shape: Shape) -> Check | None:
        if shape.name in self._checks:
            return self._checks[shape.name]
        # Recursive shapes: a placeholder that defers to the finished check.
        self._checks[shape.name] = lambda value, path, errors: self._deferred(
            shape.name, value, path, errors
        )
        check = self._build(shape)
        self._checks[shape.name] = check
        return check

    def _deferred(self, name: str, value: Any, path: str, errors: Errors) -> None:
        check = self._checks[name]
        if check is not None:
            check(value, path, errors)

    def _build(self, shape: Shape) -> Check | None:
        type_name = shape.type_name
        expected = _PY_TYPES.get(type_name, (object,))
        type_phrase = f"Member must be of type {type_name}"

        if type_name == "structure":
            assert isinstance(shape, StructureShape)
            required = tuple(shape.required_members)
            members = {name: self.compile(member) for name, member in shape.members.items()}

            def check_structure(value: Any, path: str, errors: Errors) -> None:
                if not isinstance(value, dict):
                    errors.append(_clause(value, path, type_phrase))
                    return
                prefix = f"{path}." if path else ""
                for name in required:
                    if value.get(name) is None:
                        errors.append(
                            f"Value null at '{prefix}{name}' failed to satisfy constraint: "
                            "Member must not be null"
                        )
                for name, item in value.items():
                    if item is None:
                        continue
                    if name not in members:
                        continue  # botocore rejects unknown members client-side
                    member_check = members[name]
                    if member_check is not None:
                        member_check(item, prefix + name, errors)

            return check_structure

        own = _constraint_phrases(shape)
        inner: Check | None = None
        if type_name == "list":
            item_check = self.compile(shape.member)

            # A JSON null inside a list (raw HTTP, or botocore without parameter
            # validation) reaches no handler: AWS reports it as a null member.
            def check_items(value: Any, path: str, errors: Errors) -> None:
                for index, item in enumerate(value, start=1):
                    if item is None:
                        errors.append(
                            f"Value null at '{path}.{index}.member' failed to satisfy "
                            "constraint: Member must not be null"
                        )
                    elif item_check is not None:
                        item_check(item, f"{path}.{index}.member", errors)

            inner = check_items
        elif type_name == "map":
            key_shape = shape.key
            value_shape = shape.value
            key_rules = _constraint_phrases(key_shape)
            value_types = _PY_TYPES.get(value_shape.type_name, (object,))
            value_rules = (
                _constraint_phrases(value_shape) if value_shape.type_name != "structure" else []
            )
            nested = (
                self.compile(value_shape)
                if value_shape.type_name
                in (
                    "structure",
                    "list",
                    "map",
                )
                else None
            )
            value_type = value_shape.type_name
            value_type_phrase = f"Member must be of type {value_type}"
            key_summary = (
                "Map keys must satisfy constraint: ["
                + ", ".join(phrase for _, phrase in key_rules)
                + "]"
            )
            value_summary = (
                "Map value must satisfy constraint: ["
                + ", ".join(phrase for _, phrase in value_rules)
                + "]"
            )

            def check_map(value: Any, path: str, errors: Errors) -> None:
                if key_rules and any(bad(k) for k in value for bad, _ in key_rules):
                    errors.append(_clause(value, path, key_summary))
                if value_rules and any(
                    bad(v)
                    for v in value.values()
                    if isinstance(v, value_types)
                    for bad, _ in value_rules
                ):
                    errors.append(_clause(value, path, value_summary))
                for k, v in value.items():
                    if v is None:
                        continue
                    if nested is not None:
                        nested(v, f"{path}.{k}", errors)
                    elif not isinstance(v, value_types) or (
                        isinstance(v, bool) and value_type in ("integer", "long")
                    ):
                        # A raw HTTP caller (or botocore without parameter
                        # validation) sending {"attr": 5} for a string map.
                        errors.append(_clause(v, f"{path}.{k}", value_type_phrase))

            inner = check_map

        if not own and inner is None and type_name in ("string", "boolean", "timestamp"):
            # Only the type can be wrong; botocore checks types client-side, raw HTTP
            # callers get the check below.
            def check_type(value: Any, path: str, errors: Errors) -> None:
                if not isinstance(value, expected):
                    errors.append(_clause(value, path, type_phrase))

            return check_type

        def check(value: Any, path: str, errors: Errors) -> None:
            if not isinstance(value, expected) or (
                isinstance(value, bool) and type_name in ("integer", "long")
            ):
                errors.append(_clause(value, path, type_phrase))
                return
            for violated, phrase in own:
                if violated(value):
                    errors.append(_clause(value, path, phrase))
            if inner is not None:
                inner(value, path, errors)

        return check


@functools.cache
def _compiler(service: str) -> _Compiler:
    return _Compiler(service)


@functools.cache
def _operation_check(service: str, operation: str) -> tuple[Check | None, str]:
    model = operation_model(service, operation)
    error_names = {shape.name for shape in model.error_shapes}
    if "InvalidRequestException" not in error_names and "ValidationException" in error_names:
        code = "ValidationException"
    else:
        code = "InvalidRequestException"
    shape = model.input_shape
    check = _compiler(service).compile(shape) if shape is not None else None
    return check, code


def validation_error_code(service: str, operation: str) -> str:
    """`InvalidRequestException`, or `ValidationException` for the families that use it."""
    return _operation_check(service, operation)[1]


# Members whose model constraints an operation's handler judges itself and reports in its
# answer, as AWS does: (service, operation) -> path of list/structure members ("[]" walks
# list items), then the member names. Families register them with `judged_by_handler`.
HANDLER_CHECKED: dict[tuple[str, str], tuple[tuple[str, ...], frozenset[str]]] = {}


def judged_by_handler(
    service: str, operation: str, path: tuple[str, ...], names: frozenset[str]
) -> None:
    """Leave the constraints of `names` (at `path` in the input) to the operation's
    handler, which answers them itself instead of a request-level validation error."""
    HANDLER_CHECKED[(service, operation)] = (path, names)


def _without(value: Any, path: tuple[str, ...], names: frozenset[str]) -> Any:
    """A copy of `value` without the members `names` at `path` ("[]" walks list items);
    the rest shares the original objects."""
    if not path:
        return (
            {k: v for k, v in value.items() if k not in names} if isinstance(value, dict) else value
        )
    step, rest = path[0], path[1:]
    if step == "[]":
        return [_without(item, rest, names) for item in value] if isinstance(value, list) else value
    if isinstance(value, dict) and step in value:
        return {**value, step: _without(value[step], rest, names)}
    return value


def validate(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise the AWS validation error if `params` break any documented constraint."""
    check, code = _operation_check(service, operation)
    if check is None:
        return
    deferred = HANDLER_CHECKED.get((service, operation))
    if deferred is not None:
        params = _without(params, *deferred)
    errors: Errors = []
    check(params, "", errors)
    if errors:
        count = len(errors)
        noun = "error" if count == 1 else "errors"
        raise ServiceError(
            code,
            f"{count} validation {noun} detected: " + "; ".join(errors),
            status=400,
        )


def warm(service: str) -> None:
    """Compile every operation of `service` (used by benchmarks and the test sweep)."""
    for name in service_model(service).operation_names:
        _operation_check(service, name)
