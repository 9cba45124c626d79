"""MQTT 3.1.1 and MQTT 5 control packets: strict decoding of what clients send, encoding of
what the server sends.

Decoding raises `ProtocolError` on anything the specifications call malformed or a
protocol error (bad flags, truncated fields, invalid UTF-8, unknown or repeated
properties, trailing bytes), so the connection can be closed as the specifications ask.
Only the packets a client may send are decoded; QoS 2 flows and AUTH are refused by the
session layer, not here.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MQTT_311 = 4
MQTT_5 = 5

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH = range(8, 16)

# MQTT 5 reason codes the server uses (MQTT 5 §2.4).
SUCCESS = 0x00
GRANTED_QOS_1 = 0x01
NO_SUBSCRIPTION_EXISTED = 0x11
DISCONNECT_WITH_WILL = 0x04
UNSPECIFIED_ERROR = 0x80
MALFORMED_PACKET = 0x81
PROTOCOL_ERROR = 0x82
UNSUPPORTED_PROTOCOL_VERSION = 0x84
CLIENT_ID_NOT_VALID = 0x85
NOT_AUTHORIZED = 0x87
SERVER_BUSY = 0x89
BAD_AUTHENTICATION_METHOD = 0x8C
KEEP_ALIVE_TIMEOUT = 0x8D
SESSION_TAKEN_OVER = 0x8E
TOPIC_FILTER_INVALID = 0x8F
TOPIC_NAME_INVALID = 0x90
PACKET_ID_IN_USE = 0x91
RECEIVE_MAXIMUM_EXCEEDED = 0x93
TOPIC_ALIAS_INVALID = 0x94
PACKET_TOO_LARGE = 0x95
QUOTA_EXCEEDED = 0x97
ADMINISTRATIVE_ACTION = 0x98
QOS_NOT_SUPPORTED = 0x9B
SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1
# MQTT 3.1.1 CONNACK return codes and the SUBACK failure code.
V3_UNACCEPTABLE_PROTOCOL = 0x01
V3_IDENTIFIER_REJECTED = 0x02
V3_NOT_AUTHORIZED = 0x05
V3_SUBACK_FAILURE = 0x80


class ProtocolError(Exception):
    """The client broke the protocol; `reason` is the MQTT 5 reason code to report."""

    def __init__(self, message: str, reason: int = MALFORMED_PACKET) -> None:
        super().__init__(message)
        self.reason = reason


# --------------------------------------------------------------------------- properties

_BYTE, _U16, _U32, _VARINT, _UTF8, _BINARY, _PAIR = range(7)

# id -> (name, type) (MQTT 5 §2.2.2.2).
PROPERTIES: dict[int, tuple[str, int]] = {
    0x01: ("payload_format_indicator", _BYTE),
    0x02: ("message_expiry_interval", _U32),
    0x03: ("content_type", _UTF8),
    0x08: ("response_topic", _UTF8),
    0x09: ("correlation_data", _BINARY),
    0x0B: ("subscription_identifier", _VARINT),
    0x11: ("session_expiry_interval", _U32),
    0x12: ("assigned_client_identifier", _UTF8),
    0x13: ("server_keep_alive", _U16),
    0x15: ("authentication_method", _UTF8),
    0x16: ("authentication_data", _BINARY),
    0x17: ("request_problem_information", _BYTE),
    0x18: ("will_delay_interval", _U32),
    0x19: ("request_response_information", _BYTE),
    0x1A: ("response_information", _UTF8),
    0x1C: ("server_reference", _UTF8),
    0x1F: ("reason_string", _UTF8),
    0x21: ("receive_maximum", _U16),
    0x22: ("topic_alias_maximum", _U16),
    0x23: ("topic_alias", _U16),
    0x24: ("maximum_qos", _BYTE),
    0x25: ("retain_available", _BYTE),
    0x26: ("user_property", _PAIR),
    0x27: ("maximum_packet_size", _U32),
    0x28: ("wildcard_subscription_available", _BYTE),
    0x29: ("subscription_identifier_available", _BYTE),
    0x2A: ("shared_subscription_available", _BYTE),
}
_PROPERTY_IDS = {name: (pid, kind) for pid, (name, kind) in PROPERTIES.items()}

# The properties a client may put in each packet (MQTT 5 §3.x.2.2).
_PUBLISH_PROPERTIES = frozenset(
    {
        "payload_format_indicator",
        "message_expiry_interval",
        "content_type",
        "response_topic",
        "correlation_data",
        "topic_alias",
        "user_property",
    }
)
_ALLOWED: dict[str, frozenset[str]] = {
    "connect": frozenset(
        {
            "session_expiry_interval",
            "receive_maximum",
            "maximum_packet_size",
            "topic_alias_maximum",
            "request_response_information",
            "request_problem_information",
            "user_property",
            "authentication_method",
            "authentication_data",
        }
    ),
    "will": (_PUBLISH_PROPERTIES - {"topic_alias"}) | {"will_delay_interval"},
    "publish": _PUBLISH_PROPERTIES,
    "ack": frozenset({"reason_string", "user_property"}),
    "subscribe": frozenset({"subscription_identifier", "user_property"}),
    "unsubscribe": frozenset({"user_property"}),
    "disconnect": frozenset(
        {"session_expiry_interval", "reason_string", "user_property", "server_reference"}
    ),
}

Properties = dict[str, Any]


# --------------------------------------------------------------------------- packets


@dataclass(slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Connect:
    version: int
    clean_start: bool
    keep_alive: int
    client_id: str
    will: Will | None = None
    username: str | None = None
    password: bytes | None = None
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    packet_id: int | None = None
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class PubAck:
    packet_id: int
    reason: int = SUCCESS
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class SubscriptionRequest:
    topic_filter: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


@dataclass(slots=True)
class Subscribe:
    packet_id: int
    requests: list[SubscriptionRequest]
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Unsubscribe:
    packet_id: int
    topic_filters: list[str]
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class PingReq:
    pass


@dataclass(slots=True)
class Disconnect:
    reason: int = SUCCESS
    properties: Properties = field(default_factory=dict)


@dataclass(slots=True)
class Unsupported:
    """A packet the server understands but does not serve (PUBREC, PUBREL, PUBCOMP, AUTH)."""

    packet_type: int


Packet = Connect | Publish | PubAck | Subscribe | Unsubscribe | PingReq | Disconnect | Unsupported


# --------------------------------------------------------------------------- reading


class _Reader:
    """Reads the fields of one packet body; any overrun is a malformed packet."""

    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int) -> bytes:
        end = self.position + size
        if end > len(self.data):
            raise ProtocolError("The packet ends in the middle of a field.")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack("!H", self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = struct.unpack("!I", self.take(4))[0]
        return value

    def varint(self) -> int:
        value = 0
        for shift in range(0, 28, 7):
            digit = self.byte()
            value |= (digit & 0x7F) << shift
            if not digit & 0x80:
                return value
        raise ProtocolError("A variable byte integer is longer than four bytes.")

    def binary(self) -> bytes:
        return self.take(self.u16())

    def utf8(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("A string is not well-formed UTF-8.") from None
        if "\x00" in text:
            raise ProtocolError("A string contains the null character U+0000.")
        return text

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.position)

    @property
    def remaining(self) -> int:
        return len(self.data) - self.position

    def end(self) -> None:
        if self.position != len(self.data):
            raise ProtocolError("The packet has bytes after its last field.")

    def properties(self, allowed: str) -> Properties:
        body = _Reader(self.take(self.varint()))
        found: Properties = {}
        permitted = _ALLOWED[allowed]
        while body.remaining:
            property_id = body.varint()
            known = PROPERTIES.get(property_id)
            if known is None or known[0] not in permitted:
                raise ProtocolError(
                    f"Property 0x{property_id:02x} is not allowed here.", PROTOCOL_ERROR
                )
            name, kind = known
            value = _PROPERTY_READERS[kind](body)
            if kind == _PAIR:
                found.setdefault(name, []).append(value)
            elif name in found:
                raise ProtocolError(f"Property {name} appears twice.", PROTOCOL_ERROR)
            else:
                found[name] = value
        return found


_PROPERTY_READERS: dict[int, Callable[[_Reader], Any]] = {
    _BYTE: _Reader.byte,
    _U16: _Reader.u16,
    _U32: _Reader.u32,
    _VARINT: _Reader.varint,
    _UTF8: _Reader.utf8,
    _BINARY: _Reader.binary,
    _PAIR: lambda reader: (reader.utf8(), reader.utf8()),
}


def decode_varint_prefix(data: bytes) -> tuple[int, int] | None:
    """(remaining length, bytes used) of a fixed header's length field starting at
    `data[0]`, or None when more bytes are needed."""
    value = 0
    for index in range(4):
        if index >= len(data):
            return None
        digit = data[index]
        value |= (digit & 0x7F) << (7 * index)
        if not digit & 0x80:
            return value, index + 1
    raise ProtocolError("The remaining length is longer than four bytes.")


def decode_connect(flags: int, body: bytes) -> Connect:
    """The CONNECT packet (the first packet of a connection, of either version)."""
    if flags:
        raise ProtocolError("CONNECT has reserved flags set.")
    reader = _Reader(body)
    name = reader.utf8()
    level = reader.byte()
    if name != "MQTT" or level not in (MQTT_311, MQTT_5):
        raise ProtocolError(
            f"Unsupported protocol {name!r} level {level}.", UNSUPPORTED_PROTOCOL_VERSION
        )
    connect_flags = reader.byte()
    if connect_flags & 0x01:
        raise ProtocolError("CONNECT's reserved flag is set.")
    keep_alive = reader.u16()
    properties = reader.properties("connect") if level == MQTT_5 else {}
    client_id = reader.utf8()
    will = None
    will_qos = (connect_flags >> 3) & 0x03
    will_retain = bool(connect_flags & 0x20)
    if connect_flags & 0x04:
        if will_qos == 3:
            raise ProtocolError("The will QoS is 3.")
        will_properties = reader.properties("will") if level == MQTT_5 else {}
        will = Will(reader.utf8(), reader.binary(), will_qos, will_retain, will_properties)
    elif will_qos or will_retain:
        raise ProtocolError("Will QoS or retain is set without a will.")
    username = reader.utf8() if connect_flags & 0x80 else None
    if connect_flags & 0x40 and username is None and level == MQTT_311:
        raise ProtocolError("A password without a user name.")
    password = reader.binary() if connect_flags & 0x40 else None
    reader.end()
    return Connect(
        version=level,
        clean_start=bool(connect_flags & 0x02),
        keep_alive=keep_alive,
        client_id=client_id,
        will=will,
        username=username,
        password=password,
        properties=properties,
    )


def decode(packet_type: int, flags: int, body: bytes, version: int) -> Packet:
    """A packet sent by a client after its CONNECT."""
    if packet_type == PUBLISH:
        return _decode_publish(flags, body, version)
    expected_flags = 0x02 if packet_type in (PUBREL, SUBSCRIBE, UNSUBSCRIBE) else 0
    if flags != expected_flags:
        raise ProtocolError(f"Packet type {packet_type} has invalid flags {flags:#x}.")
    reader = _Reader(body)
    if packet_type == PUBACK:
        packet_id = reader.u16()
        reason = SUCCESS
        properties: Properties = {}
        if version == MQTT_5 and reader.remaining:
            reason = reader.byte()
            if reader.remaining:
                properties = reader.properties("ack")
        reader.end()
        return PubAck(packet_id, reason, properties)
    if packet_type == SUBSCRIBE:
        return _decode_subscribe(reader, version)
    if packet_type == UNSUBSCRIBE:
        packet_id = _packet_id(reader)
        properties = reader.properties("unsubscribe") if version == MQTT_5 else {}
        filters = []
        while reader.remaining:
            filters.append(reader.utf8())
        if not filters:
            raise ProtocolError("UNSUBSCRIBE has no topic filter.", PROTOCOL_ERROR)
        return Unsubscribe(packet_id, filters, properties)
    if packet_type == PINGREQ:
        reader.end()
        return PingReq()
    if packet_type == DISCONNECT:
        reason = SUCCESS
        properties = {}
        if version == MQTT_5 and reader.remaining:
            reason = reader.byte()
            if reader.remaining:
                properties = reader.properties("disconnect")
        reader.end()
        return Disconnect(reason, properties)
    if packet_type in (PUBREC, PUBREL, PUBCOMP) or (packet_type == AUTH and version == MQTT_5):
        return Unsupported(packet_type)
    raise ProtocolError(f"A client may not send packet type {packet_type}.", PROTOCOL_ERROR)


def _packet_id(reader: _Reader) -> int:
    packet_id = reader.u16()
    if packet_id == 0:
        raise ProtocolError("Packet identifier 0 is not allowed.", PROTOCOL_ERROR)
    return packet_id


def _decode_publish(flags: int, body: bytes, version: int) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3.")
    dup = bool(flags & 0x08)
    if dup and qos == 0:
        raise ProtocolError("PUBLISH with DUP set at QoS 0.", PROTOCOL_ERROR)
    reader = _Reader(body)
    topic = reader.utf8()
    packet_id = _packet_id(reader) if qos else None
    properties = reader.properties("publish") if version == MQTT_5 else {}
    return Publish(topic, reader.rest(), qos, bool(flags & 0x01), dup, packet_id, properties)


def _decode_subscribe(reader: _Reader, version: int) -> Subscribe:
    packet_id = _packet_id(reader)
    properties = reader.properties("subscribe") if version == MQTT_5 else {}
    requests = []
    while reader.remaining:
        topic_filter = reader.utf8()
        options = reader.byte()
        reserved = 0xC0 if version == MQTT_5 else 0xFC
        if options & reserved:
            raise ProtocolError("SUBSCRIBE options use reserved bits.")
        qos = options & 0x03
        retain_handling = (options >> 4) & 0x03
        if qos == 3 or retain_handling == 3:
            raise ProtocolError("SUBSCRIBE asks for QoS 3 or retain handling 3.")
        requests.append(
            SubscriptionRequest(
                topic_filter,
                qos,
                no_local=bool(options & 0x04),
                retain_as_published=bool(options & 0x08),
                retain_handling=retain_handling,
            )
        )
    if not requests:
        raise ProtocolError("SUBSCRIBE has no topic filter.", PROTOCOL_ERROR)
    return Subscribe(packet_id, requests, properties)


# --------------------------------------------------------------------------- writing


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _binary(raw: bytes) -> bytes:
    return struct.pack("!H", len(raw)) + raw


_PROPERTY_WRITERS: dict[int, Callable[[Any], bytes]] = {
    _BYTE: lambda value: bytes((value,)),
    _U16: lambda value: struct.pack("!H", value),
    _U32: lambda value: struct.pack("!I", value),
    _VARINT: _varint,
    _UTF8: _utf8,
    _BINARY: _binary,
    _PAIR: lambda pair: _utf8(pair[0]) + _utf8(pair[1]),
}


def encode_properties(properties: Properties) -> bytes:
    body = bytearray()
    for name, value in properties.items():
        property_id, kind = _PROPERTY_IDS[name]
        values = value if kind == _PAIR or name == "subscription_identifier" else [value]
        if not isinstance(values, list):
            values = [values]
        for item in values:
            body += _varint(property_id) + _PROPERTY_WRITERS[kind](item)
    return _varint(len(body)) + bytes(body)


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + _varint(len(body)) + body


def encode_connack(
    version: int, session_present: bool, code: int, properties: Properties | None = None
) -> bytes:
    body = bytes((1 if session_present else 0, code))
    if version == MQTT_5:
        body += encode_properties(properties or {})
    return _packet(CONNACK << 4, body)


def encode_publish(
    version: int,
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    retain: bool = False,
    dup: bool = False,
    packet_id: int | None = None,
    properties: Properties | None = None,
) -> bytes:
    flags = (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    body = _utf8(topic)
    if qos:
        body += struct.pack("!H", packet_id or 0)
    if version == MQTT_5:
        body += encode_properties(properties or {})
    return _packet((PUBLISH << 4) | flags, body + payload)


def encode_puback(version: int, packet_id: int, reason: int = SUCCESS) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == MQTT_5 and reason != SUCCESS:
        body += bytes((reason,))
    return _packet(PUBACK << 4, body)


def encode_suback(
    version: int, packet_id: int, codes: list[int], properties: Properties | None = None
) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == MQTT_5:
        body += encode_properties(properties or {})
    return _packet(SUBACK << 4, body + bytes(codes))


def encode_unsuback(version: int, packet_id: int, codes: list[int]) -> bytes:
    body = struct.pack("!H", packet_id)
    if version == MQTT_5:
        body += encode_properties({}) + bytes(codes)
    return _packet(UNSUBACK << 4, body)


def encode_pingresp() -> bytes:
    return bytes((PINGRESP << 4, 0))


def encode_disconnect(reason: int, properties: Properties | None = None) -> bytes:
    """An MQTT 5 DISCONNECT from the server (MQTT 3.1.1 servers just close)."""
    return _packet(DISCONNECT << 4, bytes((reason,)) + encode_properties(properties or {}))
