"""The syntax tree of an IoT SQL statement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True, frozen=True)
class Literal:
    value: Any


@dataclass(slots=True, frozen=True)
class Star:
    """`*`: the whole incoming payload."""


@dataclass(slots=True, frozen=True)
class Field:
    """A top-level field of the payload: `temperature`."""

    name: str


@dataclass(slots=True, frozen=True)
class Member:
    """`base.name`."""

    base: Expr
    name: str


@dataclass(slots=True, frozen=True)
class Index:
    """`base[index]`."""

    base: Expr
    index: Expr


@dataclass(slots=True, frozen=True)
class Call:
    name: str  # lower-cased function name
    args: tuple[Expr, ...]


@dataclass(slots=True, frozen=True)
class Cast:
    """`cast(expr AS Type)`."""

    operand: Expr
    type_name: str  # lower-cased: int, decimal, string, boolean


@dataclass(slots=True, frozen=True)
class Unary:
    op: str  # "not", "-"
    operand: Expr


@dataclass(slots=True, frozen=True)
class Binary:
    op: str  # "and", "or", "=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "in"
    left: Expr
    right: Expr


@dataclass(slots=True, frozen=True)
class Case:
    """`CASE [subject] WHEN a THEN b ... [ELSE c] END`."""

    subject: Expr | None
    whens: tuple[tuple[Expr, Expr], ...]
    default: Expr | None


@dataclass(slots=True, frozen=True)
class ArrayLiteral:
    items: tuple[Expr, ...]


@dataclass(slots=True, frozen=True)
class ObjectLiteral:
    items: tuple[tuple[str, Expr], ...]


Expr = (
    Literal
    | Star
    | Field
    | Member
    | Index
    | Call
    | Cast
    | Unary
    | Binary
    | Case
    | ArrayLiteral
    | ObjectLiteral
)


@dataclass(slots=True, frozen=True)
class SelectItem:
    expr: Expr
    alias: str | None


@dataclass(slots=True, frozen=True)
class Query:
    """`SELECT [VALUE] <items> FROM '<topic filter>' [WHERE <condition>]`."""

    items: tuple[SelectItem, ...]
    value: bool  # SELECT VALUE: the single expression's value is the whole output
    topic_filter: str
    where: Expr | None
