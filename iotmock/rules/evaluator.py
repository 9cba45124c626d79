"""Evaluation of IoT SQL over one message.

Values are JSON values (None is SQL `null`, bool, int = Int, float = Decimal, str, list,
dict) plus `UNDEFINED` for what does not exist (a missing field, an operation on the
wrong types). A field whose value is Undefined is left out of the SELECT output, and a
WHERE condition passes only when it is `true`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from iotmock.rules import ast


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


@dataclass(slots=True)
class MessageContext:
    """What the SQL functions can see of the message and its rule."""

    topic: str
    raw_payload: bytes
    payload: Any  # the parsed JSON payload, or UNDEFINED when it is not JSON
    timestamp_ms: int
    client_id: str | None = None
    principal: str | None = None
    account_id: str = ""
    trace_id: str = ""
    # Extra lookups for functions that read mock state (get_thing_shadow).
    services: dict[str, Callable[..., Any]] = field(default_factory=dict)


def parse_payload(raw: bytes) -> Any:
    """The JSON payload; UNDEFINED for a payload that is not JSON, or that nests deeper
    than the parser goes (a 128 KB payload can nest 64k levels), which the rules then
    see as binary."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return UNDEFINED


# --------------------------------------------------------------------------- helpers


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_number(value: Any) -> Any:
    """A number, a numeric string as a number, else UNDEFINED."""
    if is_number(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return UNDEFINED
        return number if math.isfinite(number) else UNDEFINED
    return UNDEFINED


def to_text(value: Any) -> str:
    """The string form used by concat, cast and substitution templates."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return json.dumps(value, separators=(",", ":"))


# --------------------------------------------------------------------------- evaluation


Functions = dict[str, Callable[..., Any]]


class Evaluator:
    """Evaluates expressions of one query over one message."""

    def __init__(self, message: MessageContext, functions: Functions) -> None:
        self.message = message
        self.functions = functions

    def eval(self, expr: ast.Expr) -> Any:
        method = _DISPATCH[type(expr)]
        return method(self, expr)

    def _literal(self, expr: ast.Literal) -> Any:
        return expr.value

    def _star(self, expr: ast.Star) -> Any:
        payload = self.message.payload
        return self.message.raw_payload if payload is UNDEFINED else payload

    def _field(self, expr: ast.Field) -> Any:
        payload = self.message.payload
        if isinstance(payload, dict):
            return payload.get(expr.name, UNDEFINED)
        return UNDEFINED

    def _member(self, expr: ast.Member) -> Any:
        base = self.eval(expr.base)
        if isinstance(base, dict):
            return base.get(expr.name, UNDEFINED)
        return UNDEFINED

    def _index(self, expr: ast.Index) -> Any:
        return element(self.eval(expr.base), self.eval(expr.index))

    def _call(self, expr: ast.Call) -> Any:
        func = self.functions.get(expr.name)
        if func is None:
            return UNDEFINED
        args = [self.eval(arg) for arg in expr.args]
        try:
            return func(self.message, *args)
        except (TypeError, ValueError, ArithmeticError, IndexError, KeyError):
            # Wrong arity or argument types: AWS yields Undefined, not an error.
            return UNDEFINED

    def _cast(self, expr: ast.Cast) -> Any:
        return cast(self.eval(expr.operand), expr.type_name)

    def _unary(self, expr: ast.Unary) -> Any:
        value = self.eval(expr.operand)
        if expr.op == "not":
            return (not value) if isinstance(value, bool) else UNDEFINED
        number = to_number(value)
        return UNDEFINED if number is UNDEFINED else -number

    def _binary(self, expr: ast.Binary) -> Any:
        op = expr.op
        if op in ("and", "or"):
            return self._logical(op, expr)
        left = self.eval(expr.left)
        right = self.eval(expr.right)
        if left is UNDEFINED or right is UNDEFINED:
            return UNDEFINED
        if op in _ARITHMETIC:
            return arithmetic(op, left, right)
        if op == "in":
            return left in right if isinstance(right, list) else UNDEFINED
        return compare(op, left, right)

    def _logical(self, op: str, expr: ast.Binary) -> Any:
        left = self.eval(expr.left)
        # Short-circuit as SQL does: false AND x is false, true OR x is true.
        if op == "and" and left is False:
            return False
        if op == "or" and left is True:
            return True
        right = self.eval(expr.right)
        if not isinstance(left, bool) or not isinstance(right, bool):
            return UNDEFINED
        return (left and right) if op == "and" else (left or right)

    def _case(self, expr: ast.Case) -> Any:
        subject = self.eval(expr.subject) if expr.subject is not None else UNDEFINED
        for condition, result in expr.whens:
            value = self.eval(condition)
            matched = (
                compare("=", subject, value) is True if expr.subject is not None else value is True
            )
            if matched:
                return self.eval(result)
        return self.eval(expr.default) if expr.default is not None else UNDEFINED

    def _array(self, expr: ast.ArrayLiteral) -> Any:
        return [v for v in (self.eval(item) for item in expr.items) if v is not UNDEFINED]

    def _object(self, expr: ast.ObjectLiteral) -> Any:
        out = {}
        for key, item in expr.items:
            value = self.eval(item)
            if value is not UNDEFINED:
                out[key] = value
        return out


_DISPATCH: dict[type, Callable[[Evaluator, Any], Any]] = {
    ast.Literal: Evaluator._literal,
    ast.Star: Evaluator._star,
    ast.Field: Evaluator._field,
    ast.Member: Evaluator._member,
    ast.Index: Evaluator._index,
    ast.Call: Evaluator._call,
    ast.Cast: Evaluator._cast,
    ast.Unary: Evaluator._unary,
    ast.Binary: Evaluator._binary,
    ast.Case: Evaluator._case,
    ast.ArrayLiteral: Evaluator._array,
    ast.ObjectLiteral: Evaluator._object,
}

_ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})


def element(base: Any, index: Any) -> Any:
    """`base[index]` for arrays (0-based, integral index) and objects (string key)."""
    if isinstance(base, list) and is_number(index) and float(index).is_integer():
        position = int(index)
        return base[position] if 0 <= position < len(base) else UNDEFINED
    if isinstance(base, dict) and isinstance(index, str):
        return base.get(index, UNDEFINED)
    return UNDEFINED


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """Int op Int is Int (division truncates toward zero); with a Decimal, Decimal.
    Numeric strings are converted; anything else is Undefined."""
    a, b = to_number(left), to_number(right)
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    both_int = isinstance(a, int) and isinstance(b, int)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return UNDEFINED
    if op == "/":
        if both_int:
            quotient = abs(a) // abs(b)
            return quotient if (a >= 0) == (b >= 0) else -quotient
        return a / b
    # % takes the sign of the dividend, as Java's remainder does.
    return int(math.fmod(a, b)) if both_int else math.fmod(a, b)


def compare(op: str, left: Any, right: Any) -> Any:
    if left is UNDEFINED or right is UNDEFINED:
        return UNDEFINED
    a, b = left, right
    if is_number(a) != is_number(b):
        # A number against a numeric string compares as numbers.
        a, b = to_number(a), to_number(b)
        if a is UNDEFINED or b is UNDEFINED:
            return {"=": False, "<>": True}.get(op, UNDEFINED)
    same_kind = (is_number(a) and is_number(b)) or type(a) is type(b)
    if op == "=":
        return same_kind and a == b
    if op == "<>":
        return not (same_kind and a == b)
    if not same_kind or not (is_number(a) or isinstance(a, str)):
        return UNDEFINED
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def cast(value: Any, type_name: str) -> Any:
    """`cast(value AS Int|Decimal|String|Boolean)`."""
    if value is UNDEFINED:
        return UNDEFINED
    if type_name == "string":
        return to_text(value)
    if type_name == "boolean":
        if isinstance(value, bool):
            return value
        if is_number(value):
            return value != 0
        if isinstance(value, str):
            return {"true": True, "false": False}.get(value.strip().lower(), UNDEFINED)
        return UNDEFINED
    if isinstance(value, bool):
        number: Any = int(value)
    else:
        number = to_number(value)
    if number is UNDEFINED:
        return UNDEFINED
    if type_name == "int":
        return math.floor(number) if isinstance(number, float) else number
    return float(number)


# --------------------------------------------------------------------------- queries


@dataclass(slots=True, frozen=True)
class Selection:
    """The message a rule produces: a JSON value, or raw bytes (SELECT * over a
    non-JSON payload)."""

    value: Any

    def encode(self) -> bytes:
        if isinstance(self.value, (bytes, bytearray)):
            return bytes(self.value)
        return json.dumps(self.value, separators=(",", ":")).encode()


def output_name(item: ast.SelectItem, position: int) -> str:
    """The key of an unaliased SELECT expression: a field's own name, a function's
    name, else `_<position>` (1-based)."""
    if item.alias is not None:
        return item.alias
    expr = item.expr
    while isinstance(expr, ast.Index):
        expr = expr.base
    if isinstance(expr, ast.Field):
        return expr.name
    if isinstance(expr, ast.Member):
        return expr.name
    if isinstance(expr, ast.Call):
        return expr.name
    return f"_{position}"


def matches_where(query: ast.Query, evaluator: Evaluator) -> bool:
    return query.where is None or evaluator.eval(query.where) is True


def select(query: ast.Query, evaluator: Evaluator) -> Selection | None:
    """The SELECT output, or None when nothing can be produced (SELECT VALUE of an
    Undefined value)."""
    if query.value:
        value = evaluator.eval(query.items[0].expr)
        return None if value is UNDEFINED else Selection(value)
    payload = evaluator.message.payload
    if len(query.items) == 1 and isinstance(query.items[0].expr, ast.Star):
        # SELECT * forwards the payload as is, JSON or not.
        return Selection(evaluator.message.raw_payload if payload is UNDEFINED else payload)
    out: dict[str, Any] = {}
    for position, item in enumerate(query.items, start=1):
        if isinstance(item.expr, ast.Star) and item.alias is None:
            if isinstance(payload, dict):
                out.update(payload)
            continue
        value = evaluator.eval(item.expr)
        if value is UNDEFINED:
            continue
        if isinstance(value, (bytes, bytearray)):
            value = to_text(value)
        out[output_name(item, position)] = value
    return Selection(out)
