"""The IoT SQL functions the mock evaluates (AWS IoT developer guide, "Functions").

Each takes the `MessageContext` first, then the evaluated arguments. A function given
arguments of the wrong type returns UNDEFINED (the evaluator also turns TypeError /
ValueError into UNDEFINED). Names are matched case-insensitively.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import re
import uuid
import zlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from iotmock.rules.evaluator import (
    UNDEFINED,
    MessageContext,
    element,
    is_number,
    to_number,
    to_text,
)

Function = Callable[..., Any]
FUNCTIONS: dict[str, Function] = {}


def function(*names: str) -> Callable[[Function], Function]:
    def register(func: Function) -> Function:
        for name in names:
            FUNCTIONS[name.lower()] = func
        return func

    return register


def _number(value: Any) -> Any:
    number = to_number(value)
    if number is UNDEFINED:
        raise ValueError("not a number")
    return number


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _scalar_text(value: Any) -> str:
    """A string argument; numbers and booleans convert to their string form (AWS's
    substring/lpad/rpad: `substring(123, 2)` = "3", `lpad(1, 3)` = "   1")."""
    if isinstance(value, (str, bool)) or is_number(value):
        return to_text(value)
    raise TypeError("not a string")


def _index(value: Any) -> int:
    """An Int argument; a Decimal (or numeric string) is rounded down."""
    number: float = _number(value)
    return math.floor(number)


def _integer(value: Any) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueError("not an integer")
        return int(number)
    return int(number)


# --------------------------------------------------------------------------- message


@function("topic")
def _topic(message: MessageContext, level: Any = None) -> Any:
    if level is None:
        return message.topic
    levels = message.topic.split("/")
    position = _integer(level)
    return levels[position - 1] if 1 <= position <= len(levels) else UNDEFINED


@function("clientid")
def _clientid(message: MessageContext) -> Any:
    # Messages that did not arrive over MQTT (HTTP Publish, the mock's own) answer "n/a".
    return message.client_id or "n/a"


@function("principal")
def _principal(message: MessageContext) -> Any:
    return message.principal if message.principal is not None else UNDEFINED


@function("accountid")
def _accountid(message: MessageContext) -> Any:
    return message.account_id


@function("timestamp")
def _timestamp(message: MessageContext) -> Any:
    return message.timestamp_ms


@function("newuuid")
def _newuuid(message: MessageContext) -> Any:
    return str(uuid.uuid4())


@function("traceid")
def _traceid(message: MessageContext) -> Any:
    return message.trace_id


@function("numbytes")
def _numbytes(message: MessageContext, value: Any) -> Any:
    return len(_string(value).encode())


@function("get_thing_shadow")
def _get_thing_shadow(message: MessageContext, thing: Any, *rest: Any) -> Any:
    """get_thing_shadow(thingName, roleArn) reads the classic shadow;
    get_thing_shadow(thingName, shadowName, roleArn) a named one."""
    if len(rest) not in (1, 2):
        raise TypeError("get_thing_shadow takes (thingName, [shadowName,] roleArn)")
    name = _string(rest[0]) if len(rest) == 2 else None
    lookup = message.services.get("get_thing_shadow")
    return lookup(_string(thing), name) if lookup is not None else UNDEFINED


# --------------------------------------------------------------------------- MQTT 5

# get_mqtt_property's arguments and the message field of each (AWS IoT SQL reference).
_MQTT_PROPERTIES = {
    "content_type": "content_type",
    "format_indicator": "payload_format_indicator",  # "UNSPECIFIED_BYTES" | "UTF8_DATA"
    "response_topic": "response_topic",
    "correlation_data": "correlation_data",  # base64, as the message carries it
}


def _mqtt_message(message: MessageContext) -> Any:
    """The published message whose MQTT 5 properties the rule reads (None for a message
    context built without one)."""
    lookup = message.services.get("mqtt_message")
    return lookup() if lookup is not None else None


@function("get_mqtt_property")
def _get_mqtt_property(message: MessageContext, name: Any) -> Any:
    """An MQTT 5 header of the message: content_type, format_indicator, response_topic
    or correlation_data; Undefined when the message has none."""
    field_name = _MQTT_PROPERTIES.get(_string(name))
    published = _mqtt_message(message)
    if field_name is None or published is None:
        return UNDEFINED
    value = getattr(published, field_name)
    return UNDEFINED if value is None else value


def _user_property_pairs(message: MessageContext) -> list[tuple[str, str]]:
    """The message's MQTT 5 user properties in order, repeated keys included."""
    published = _mqtt_message(message)
    items = published.user_properties if published is not None else None
    if not isinstance(items, list):
        return []
    return [
        (str(key), str(value))
        for item in items
        if isinstance(item, dict)
        for key, value in item.items()
    ]


@function("get_user_properties")
def _get_user_properties(message: MessageContext, *key: Any) -> Any:
    """get_user_properties(key): the values of the user properties named `key`, as an
    array (MQTT 5 lets a key repeat), Undefined when there is none;
    get_user_properties(): every user property, as an array of {key: value} objects."""
    if len(key) > 1:
        raise TypeError("get_user_properties takes at most one argument")
    pairs = _user_property_pairs(message)
    if not key:
        return [{name: value} for name, value in pairs] if pairs else UNDEFINED
    wanted = _string(key[0])
    values = [value for name, value in pairs if name == wanted]
    return values if values else UNDEFINED


# --------------------------------------------------------------------------- types


def _type_check(predicate: Callable[[Any], bool]) -> Function:
    def check(message: MessageContext, value: Any = UNDEFINED) -> bool:
        return predicate(value)

    return check


for _name, _predicate in {
    "isundefined": lambda v: v is UNDEFINED,
    "isnull": lambda v: v is None,
    "isnumber": is_number,
    "isstring": lambda v: isinstance(v, str),
    "isboolean": lambda v: isinstance(v, bool),
    "isarray": lambda v: isinstance(v, list),
    "isobject": lambda v: isinstance(v, dict),
    "isempty": lambda v: isinstance(v, (str, list, dict)) and not v,
}.items():
    FUNCTIONS[_name] = _type_check(_predicate)


@function("get")
def _get(message: MessageContext, container: Any, key: Any) -> Any:
    return element(container, key)


@function("nanvl")
def _nanvl(message: MessageContext, value: Any, default: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return default
    return value


# --------------------------------------------------------------------------- strings


@function("lower")
def _lower(message: MessageContext, value: Any) -> Any:
    return _string(value).lower()


@function("upper")
def _upper(message: MessageContext, value: Any) -> Any:
    return _string(value).upper()


@function("concat")
def _concat(message: MessageContext, *values: Any) -> Any:
    if len(values) < 2:
        raise TypeError("concat takes at least two arguments")
    if all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    if any(isinstance(v, list) for v in values):
        out: list[Any] = []
        for v in values:
            out.extend(v if isinstance(v, list) else [v])
        return out
    if any(v is UNDEFINED for v in values):
        return UNDEFINED
    return "".join(to_text(v) for v in values)


@function("trim")
def _trim(message: MessageContext, value: Any) -> Any:
    return _string(value).strip()


@function("ltrim")
def _ltrim(message: MessageContext, value: Any) -> Any:
    return _string(value).lstrip()


@function("rtrim")
def _rtrim(message: MessageContext, value: Any) -> Any:
    return _string(value).rstrip()


@function("lpad")
def _lpad(message: MessageContext, value: Any, count: Any) -> Any:
    return " " * max(_index(count), 0) + _scalar_text(value)


@function("rpad")
def _rpad(message: MessageContext, value: Any, count: Any) -> Any:
    return _scalar_text(value) + " " * max(_index(count), 0)


@function("substring")
def _substring(message: MessageContext, value: Any, start: Any, end: Any = None) -> Any:
    text = _scalar_text(value)
    begin = min(max(_index(start), 0), len(text))
    stop = len(text) if end is None else min(max(_index(end), begin), len(text))
    return text[begin:stop]


@function("startswith")
def _startswith(message: MessageContext, value: Any, prefix: Any) -> Any:
    return _string(value).startswith(_string(prefix))


@function("endswith")
def _endswith(message: MessageContext, value: Any, suffix: Any) -> Any:
    return _string(value).endswith(_string(suffix))


@function("indexof")
def _indexof(message: MessageContext, value: Any, part: Any) -> Any:
    return _string(value).find(_string(part))


@function("replace")
def _replace(message: MessageContext, value: Any, old: Any, new: Any) -> Any:
    return _string(value).replace(_string(old), _string(new))


@function("chr")
def _chr(message: MessageContext, code: Any) -> Any:
    return chr(_integer(code))


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@function("regexp_matches")
def _regexp_matches(message: MessageContext, value: Any, pattern: Any) -> Any:
    return _regex(_string(pattern)).search(_string(value)) is not None


@function("regexp_replace")
def _regexp_replace(message: MessageContext, value: Any, pattern: Any, new: Any) -> Any:
    # AWS uses Java's $1 group references; Python's are \1.
    replacement = re.sub(r"\$(\d+)", r"\\\1", _string(new))
    return _regex(_string(pattern)).sub(replacement, _string(value))


@function("regexp_substr")
def _regexp_substr(message: MessageContext, value: Any, pattern: Any) -> Any:
    found = _regex(_string(pattern)).search(_string(value))
    return found.group() if found is not None else ""


# --------------------------------------------------------------------------- encodings


def _raw_bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, separators=(",", ":")).encode()


@function("encode")
def _encode(message: MessageContext, value: Any, scheme: Any) -> Any:
    if _string(scheme).lower() != "base64":
        return UNDEFINED
    return base64.b64encode(_raw_bytes(value)).decode()


@function("decode")
def _decode(message: MessageContext, value: Any, scheme: Any) -> Any:
    if _string(scheme).lower() != "base64":
        return UNDEFINED
    try:
        raw = base64.b64decode(_string(value), validate=True)
    except binascii.Error:
        return UNDEFINED
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace")


def _digest(algorithm: str) -> Function:
    def digest(message: MessageContext, value: Any) -> Any:
        return hashlib.new(algorithm, _raw_bytes(value)).hexdigest()

    return digest


for _algorithm in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512"):
    FUNCTIONS[_algorithm] = _digest(_algorithm)


@function("crc32")
def _crc32(message: MessageContext, value: Any) -> Any:
    return format(zlib.crc32(_raw_bytes(value)), "08x")


# --------------------------------------------------------------------------- numbers


def _numeric(func: Callable[[float], float]) -> Function:
    def apply(message: MessageContext, value: Any) -> Any:
        result = func(_number(value))
        return result if math.isfinite(result) else UNDEFINED

    return apply


for _name, _func in {
    "acos": math.acos,
    "asin": math.asin,
    "atan": math.atan,
    "cos": math.cos,
    "cosh": math.cosh,
    "sin": math.sin,
    "sinh": math.sinh,
    "tan": math.tan,
    "tanh": math.tanh,
    "exp": math.exp,
    "ln": math.log,
    "log": math.log10,
    "sqrt": math.sqrt,
}.items():
    FUNCTIONS[_name] = _numeric(_func)


@function("abs")
def _abs(message: MessageContext, value: Any) -> Any:
    return abs(_number(value))


@function("sign")
def _sign(message: MessageContext, value: Any) -> Any:
    number = _number(value)
    return (number > 0) - (number < 0)


@function("ceil")
def _ceil(message: MessageContext, value: Any) -> Any:
    return math.ceil(_number(value))


@function("floor")
def _floor(message: MessageContext, value: Any) -> Any:
    return math.floor(_number(value))


@function("round")
def _round(message: MessageContext, value: Any) -> Any:
    # Half away from zero: round(1.5) = 2, round(-1.5) = -2.
    number = _number(value)
    return int(math.copysign(math.floor(abs(number) + 0.5), number))


@function("trunc")
def _trunc(message: MessageContext, value: Any, places: Any = 0) -> Any:
    number, digits = _number(value), _integer(places)
    if isinstance(number, int) and digits >= 0:
        return number
    factor = 10**digits
    return math.trunc(number * factor) / factor if digits else math.trunc(number)


@function("power")
def _power(message: MessageContext, base: Any, exponent: Any) -> Any:
    # Always a Decimal (AWS: power(2, 5) = 32.0); math.pow raises ValueError where the
    # result is not a real number (power(-8, 0.5)) and OverflowError when it is too big.
    return math.pow(_number(base), _number(exponent))


@function("atan2")
def _atan2(message: MessageContext, y: Any, x: Any) -> Any:
    return math.atan2(_number(y), _number(x))


@function("mod", "remainder")
def _remainder(message: MessageContext, value: Any, divisor: Any) -> Any:
    # AWS documents mod() and remainder() as equivalent, like the % operator; the
    # result takes the dividend's sign, as Java's remainder does.
    a, b = _number(value), _number(divisor)
    if b == 0:
        return UNDEFINED
    result = math.fmod(a, b)
    return int(result) if isinstance(a, int) and isinstance(b, int) else result


@function("rand")
def _rand(message: MessageContext) -> Any:
    return random.random()


def _bitwise(func: Callable[[int, int], int]) -> Function:
    def apply(message: MessageContext, a: Any, b: Any) -> Any:
        return func(_integer(a), _integer(b))

    return apply


FUNCTIONS["bitand"] = _bitwise(lambda a, b: a & b)
FUNCTIONS["bitor"] = _bitwise(lambda a, b: a | b)
FUNCTIONS["bitxor"] = _bitwise(lambda a, b: a ^ b)


@function("bitnot")
def _bitnot(message: MessageContext, value: Any) -> Any:
    return ~_integer(value)


def supported_functions() -> list[str]:
    """The names of every supported function, sorted (for the docs)."""
    return sorted(FUNCTIONS)
