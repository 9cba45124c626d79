"""IoT SQL: tokenizer and recursive-descent parser to `ast.Query`.

Grammar (case-insensitive keywords):

    query     := SELECT [VALUE] item ("," item)* FROM 'topic filter' [WHERE expr]
    item      := "*" | expr [[AS] name]
    expr      := or
    or        := and (OR and)*
    and       := not (AND not)*
    not       := NOT not | compare
    compare   := additive [("=" | "<>" | "!=" | "<" | "<=" | ">" | ">=" | IN) additive]
    additive  := term (("+" | "-") term)*
    term      := unary (("*" | "/" | "%") unary)*
    unary     := "-" unary | postfix
    postfix   := primary ("." name | "[" expr "]")*
    primary   := number | 'string' | TRUE | FALSE | NULL | name | name "(" args ")"
               | "(" expr ")" | "[" exprs "]" | "{" 'key' ":" expr, ... "}" | CASE ... END
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from iotmock.core.errors import ServiceError
from iotmock.rules import ast

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>"(?:[^"\\]|\\.)*"|`[^`]*`)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op><>|!=|<=|>=|[=<>+\-*/%(),.\[\]{}:])
    """,
    re.VERBOSE,
)

KEYWORDS = frozenset(
    {"select", "value", "from", "where", "as", "and", "or", "not", "true", "false", "null"}
    | {"case", "when", "then", "else", "end", "in"}
)
CAST_TYPES = frozenset({"int", "decimal", "string", "boolean", "bool"})
COMPARISONS = frozenset({"=", "<>", "!=", "<", "<=", ">", ">="})


@dataclass(slots=True, frozen=True)
class Token:
    kind: str  # number, string, quoted, name, keyword, op, end
    text: str
    position: int


def sql_error(message: str) -> ServiceError:
    return ServiceError("SqlParseException", message)


def tokenize(sql: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(sql):
        match = _TOKEN.match(sql, position)
        if match is None:
            raise sql_error(f"Unexpected character {sql[position]!r} at position {position + 1}.")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "name" and text.lower() in KEYWORDS:
            tokens.append(Token("keyword", text.lower(), position))
        elif kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(sql)))
    return tokens


# Backslash escapes of string literals; any other backslash stays (regex classes: '\d').
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}
_ESCAPE = re.compile(r"\\([ntr'\"\\])")


def _unquote_string(text: str) -> str:
    body = text[1:-1].replace("''", "'")
    return _ESCAPE.sub(lambda m: _ESCAPES[m[1]], body)


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = tokenize(sql)
        self.at = 0

    # -- helpers

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.at += 1
            return token
        return None

    def expect(self, kind: str, text: str | None = None, what: str | None = None) -> Token:
        found = self.accept(kind, text)
        if found is None:
            raise self.error(f"Expected {what or text or kind}")
        return found

    def error(self, message: str) -> ServiceError:
        token = self.token
        shown = "end of statement" if token.kind == "end" else repr(token.text)
        return sql_error(f"{message} but found {shown} at position {token.position + 1}.")

    # -- statement

    def query(self) -> ast.Query:
        self.expect("keyword", "select", "SELECT")
        value = self.accept("keyword", "value") is not None
        items = [self.select_item()]
        while self.accept("op", ","):
            items.append(self.select_item())
        if value and (len(items) != 1 or items[0].alias is not None):
            raise sql_error("SELECT VALUE takes exactly one expression without an alias.")
        self.expect("keyword", "from", "FROM")
        source = self.expect("string", what="a quoted topic filter after FROM")
        topic_filter = _unquote_string(source.text)
        _check_topic_filter(topic_filter)
        where = self.expr() if self.accept("keyword", "where") else None
        if self.token.kind != "end":
            raise self.error("Expected end of statement")
        return ast.Query(tuple(items), value, topic_filter, where)

    def select_item(self) -> ast.SelectItem:
        if self.accept("op", "*"):
            return ast.SelectItem(ast.Star(), None)
        expr = self.expr()
        alias: str | None = None
        if self.accept("keyword", "as"):
            alias = self.name("an alias after AS")
        elif self.token.kind in ("name", "quoted"):
            alias = self.name("an alias")
        return ast.SelectItem(expr, alias)

    def name(self, what: str) -> str:
        token = self.token
        if token.kind == "name":
            self.at += 1
            return token.text
        if token.kind == "quoted":
            self.at += 1
            return token.text[1:-1]
        raise self.error(f"Expected {what}")

    # -- expressions

    def expr(self) -> ast.Expr:
        left = self.conjunction()
        while self.accept("keyword", "or"):
            left = ast.Binary("or", left, self.conjunction())
        return left

    def conjunction(self) -> ast.Expr:
        left = self.negation()
        while self.accept("keyword", "and"):
            left = ast.Binary("and", left, self.negation())
        return left

    def negation(self) -> ast.Expr:
        if self.accept("keyword", "not"):
            return ast.Unary("not", self.negation())
        return self.comparison()

    def comparison(self) -> ast.Expr:
        left = self.additive()
        token = self.token
        if token.kind == "op" and token.text in COMPARISONS:
            self.at += 1
            op = "<>" if token.text == "!=" else token.text
            return ast.Binary(op, left, self.additive())
        if self.accept("keyword", "in"):
            return ast.Binary("in", left, self.additive())
        return left

    def additive(self) -> ast.Expr:
        left = self.term()
        while self.token.kind == "op" and self.token.text in ("+", "-"):
            op = self.advance().text
            left = ast.Binary(op, left, self.term())
        return left

    def term(self) -> ast.Expr:
        left = self.unary()
        while self.token.kind == "op" and self.token.text in ("*", "/", "%"):
            op = self.advance().text
            left = ast.Binary(op, left, self.unary())
        return left

    def unary(self) -> ast.Expr:
        if self.accept("op", "-"):
            operand = self.unary()
            if isinstance(operand, ast.Literal) and isinstance(operand.value, (int, float)):
                return ast.Literal(-operand.value)
            return ast.Unary("-", operand)
        return self.postfix()

    def postfix(self) -> ast.Expr:
        expr = self.primary()
        while True:
            if self.accept("op", "."):
                expr = ast.Member(expr, self.name("a field name after '.'"))
            elif self.accept("op", "["):
                expr = ast.Index(expr, self.expr())
                self.expect("op", "]", "']'")
            else:
                return expr

    def primary(self) -> ast.Expr:
        token = self.token
        if token.kind == "number":
            self.at += 1
            text = token.text
            is_int = text.isdigit()
            return ast.Literal(int(text) if is_int else float(text))
        if token.kind == "string":
            self.at += 1
            return ast.Literal(_unquote_string(token.text))
        if token.kind == "keyword":
            return self.keyword_primary(token)
        if token.kind == "quoted":
            self.at += 1
            return ast.Field(token.text[1:-1])
        if token.kind == "name":
            self.at += 1
            if self.accept("op", "("):
                return self.call(token.text.lower())
            return ast.Field(token.text)
        if self.accept("op", "("):
            inner = self.expr()
            self.expect("op", ")", "')'")
            return inner
        if self.accept("op", "["):
            return ast.ArrayLiteral(tuple(self.items_until("]")))
        if self.accept("op", "{"):
            return self.object_literal()
        raise self.error("Expected an expression")

    def keyword_primary(self, token: Token) -> ast.Expr:
        constants = {"true": True, "false": False, "null": None}
        if token.text in constants:
            self.at += 1
            return ast.Literal(constants[token.text])
        if token.text == "case":
            self.at += 1
            return self.case()
        raise self.error("Expected an expression")

    def items_until(self, closing: str) -> list[ast.Expr]:
        items: list[ast.Expr] = []
        if self.accept("op", closing):
            return items
        while True:
            items.append(self.expr())
            if self.accept("op", closing):
                return items
            self.expect("op", ",", f"',' or '{closing}'")

    def object_literal(self) -> ast.Expr:
        pairs: list[tuple[str, ast.Expr]] = []
        if self.accept("op", "}"):
            return ast.ObjectLiteral(())
        while True:
            key = self.token
            if key.kind not in ("string", "quoted"):
                raise self.error("Expected a quoted key in an object literal")
            self.at += 1
            self.expect("op", ":", "':'")
            pairs.append((key.text[1:-1], self.expr()))
            if self.accept("op", "}"):
                return ast.ObjectLiteral(tuple(pairs))
            self.expect("op", ",", "',' or '}'")

    def call(self, name: str) -> ast.Expr:
        if name == "cast":
            operand = self.expr()
            self.expect("keyword", "as", "AS in cast(expression AS type)")
            type_name = self.name("a type name (Int, Decimal, String, Boolean)").lower()
            if type_name not in CAST_TYPES:
                raise sql_error(
                    f"Unknown type {type_name!r} in cast: use Int, Decimal, String or Boolean."
                )
            self.expect("op", ")", "')'")
            return ast.Cast(operand, "boolean" if type_name == "bool" else type_name)
        args: list[ast.Expr] = []
        if not self.accept("op", ")"):
            while True:
                args.append(ast.Star() if self.accept("op", "*") else self.expr())
                if self.accept("op", ")"):
                    break
                self.expect("op", ",", "',' or ')'")
        return ast.Call(name, tuple(args))

    def case(self) -> ast.Expr:
        subject = (
            None if self.token.kind == "keyword" and self.token.text == "when" else self.expr()
        )
        whens: list[tuple[ast.Expr, ast.Expr]] = []
        while self.accept("keyword", "when"):
            condition = self.expr()
            self.expect("keyword", "then", "THEN")
            whens.append((condition, self.expr()))
        if not whens:
            raise self.error("Expected WHEN")
        default = self.expr() if self.accept("keyword", "else") else None
        self.expect("keyword", "end", "END")
        return ast.Case(subject, tuple(whens), default)


def _check_topic_filter(topic_filter: str) -> None:
    levels = topic_filter.split("/")
    if not topic_filter:
        raise sql_error("The topic filter in the FROM clause is empty.")
    for position, level in enumerate(levels):
        if level == "#" and position != len(levels) - 1:
            raise sql_error(f"Invalid topic filter {topic_filter!r}: '#' must be the last level.")
        if level not in ("#", "+") and ("#" in level or "+" in level):
            raise sql_error(
                f"Invalid topic filter {topic_filter!r}: a wildcard must occupy a whole level."
            )


@functools.lru_cache(maxsize=1024)
def parse(sql: str) -> ast.Query:
    """Parse an IoT SQL statement; raises SqlParseException (400) when it is not one."""
    return _Parser(sql).query()


@functools.lru_cache(maxsize=1024)
def parse_expression(text: str) -> ast.Expr:
    """Parse one expression (a `${...}` substitution template's content)."""
    parser = _Parser(text)
    expr = parser.expr()
    if parser.token.kind != "end":
        raise parser.error("Expected end of expression")
    return expr
