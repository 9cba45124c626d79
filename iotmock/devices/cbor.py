"""A small CBOR (RFC 8949) codec for the `/cbor` variants of the device MQTT APIs.

The fleet provisioning topics (`$aws/certificates/create/cbor`, ...) carry the same maps
as their `/json` twins, so the codec covers what JSON can hold plus byte strings: maps,
arrays, text and byte strings, integers, floats, booleans and null. Tags, indefinite
lengths and simple values other than false/true/null/undefined are refused with
`CborError`: a device sending them is sending something these APIs never define.
A runtime dependency (cbor2) would buy nothing these payloads use.
"""

from __future__ import annotations

import math
import struct
from typing import Any

_UNSIGNED, _NEGATIVE, _BYTES, _TEXT, _ARRAY, _MAP, _TAG, _SIMPLE = range(8)
_MAX_DEPTH = 64


class CborError(ValueError):
    """The bytes are not CBOR this codec reads."""


# --------------------------------------------------------------------------- encode


def encode(value: Any) -> bytes:
    """The CBOR of a JSON-like value (dict keys must be strings or ints)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _head(major: int, argument: int, out: bytearray) -> None:
    if argument < 24:
        out.append(major << 5 | argument)
    elif argument < 0x100:
        out += bytes((major << 5 | 24, argument))
    elif argument < 0x10000:
        out.append(major << 5 | 25)
        out += argument.to_bytes(2, "big")
    elif argument < 0x100000000:
        out.append(major << 5 | 26)
        out += argument.to_bytes(4, "big")
    elif argument < 0x10000000000000000:
        out.append(major << 5 | 27)
        out += argument.to_bytes(8, "big")
    else:
        raise CborError(f"integer {argument} does not fit in 64 bits")


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            _head(_UNSIGNED, value, out)
        else:
            _head(_NEGATIVE, -1 - value, out)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode()
        _head(_TEXT, len(raw), out)
        out += raw
    elif isinstance(value, (bytes, bytearray)):
        _head(_BYTES, len(value), out)
        out += value
    elif isinstance(value, (list, tuple)):
        _head(_ARRAY, len(value), out)
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        _head(_MAP, len(value), out)
        for key, item in value.items():
            _encode(key, out)
            _encode(item, out)
    else:
        raise CborError(f"cannot encode {type(value).__name__} as CBOR")


# --------------------------------------------------------------------------- decode


def decode(data: bytes) -> Any:
    """The value of one CBOR data item filling `data` exactly."""
    value, end = _Decoder(data).item(0, 0)
    if end != len(data):
        raise CborError(f"{len(data) - end} bytes after the CBOR data item")
    return value


class _Decoder:
    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def _take(self, position: int, count: int) -> bytes:
        end = position + count
        if end > len(self._data):
            raise CborError("the CBOR data ends in the middle of an item")
        return self._data[position:end]

    def _argument(self, info: int, position: int) -> tuple[int, int]:
        if info < 24:
            return info, position
        sizes = {24: 1, 25: 2, 26: 4, 27: 8}
        size = sizes.get(info)
        if size is None:
            raise CborError(f"unsupported CBOR additional information {info}")
        return int.from_bytes(self._take(position, size), "big"), position + size

    def item(self, position: int, depth: int) -> tuple[Any, int]:
        if depth > _MAX_DEPTH:
            raise CborError("CBOR nesting is too deep")
        initial = self._take(position, 1)[0]
        major, info = initial >> 5, initial & 0x1F
        position += 1
        if major == _SIMPLE:
            return self._simple(info, position)
        if major == _TAG:
            raise CborError("CBOR tags are not used by these APIs")
        argument, position = self._argument(info, position)
        if major == _UNSIGNED:
            return argument, position
        if major == _NEGATIVE:
            return -1 - argument, position
        if major in (_BYTES, _TEXT):
            raw = self._take(position, argument)
            if major == _BYTES:
                return bytes(raw), position + argument
            try:
                return raw.decode(), position + argument
            except UnicodeDecodeError:
                raise CborError("a CBOR text string is not valid UTF-8") from None
        if major == _ARRAY:
            items = []
            for _ in range(argument):
                item, position = self.item(position, depth + 1)
                items.append(item)
            return items, position
        mapping: dict[Any, Any] = {}
        for _ in range(argument):
            key, position = self.item(position, depth + 1)
            if isinstance(key, (list, dict)):
                raise CborError("a CBOR map key must be a string or a number")
            mapping[key], position = self.item(position, depth + 1)
        return mapping, position

    def _simple(self, info: int, position: int) -> tuple[Any, int]:
        if info == 20:
            return False, position
        if info == 21:
            return True, position
        if info in (22, 23):
            return None, position
        if info == 25:
            return _half(self._take(position, 2)), position + 2
        if info == 26:
            return struct.unpack(">f", self._take(position, 4))[0], position + 4
        if info == 27:
            return struct.unpack(">d", self._take(position, 8))[0], position + 8
        raise CborError(f"unsupported CBOR simple value {info}")


def _half(raw: bytes) -> float:
    """IEEE 754 half precision (RFC 8949 appendix D)."""
    half = int.from_bytes(raw, "big")
    exponent = (half >> 10) & 0x1F
    mantissa = half & 0x3FF
    if exponent == 0:
        value = math.ldexp(mantissa, -24)
    elif exponent != 31:
        value = math.ldexp(mantissa + 1024, exponent - 25)
    else:
        value = math.inf if mantissa == 0 else math.nan
    return -value if half & 0x8000 else value
