"""The MQTT codec: what clients send decodes strictly, what the server sends encodes as
the specifications lay it out, and AWS's limit helpers."""

from __future__ import annotations

import struct

import pytest

from iotmock.devices.mqtt import codec, limits
from iotmock.devices.mqtt.codec import ProtocolError


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def test_mqtt5_connect_with_will_and_properties() -> None:
    properties = codec.encode_properties(
        {"session_expiry_interval": 300, "receive_maximum": 20, "user_property": [("a", "b")]}
    )
    will_properties = codec.encode_properties({"will_delay_interval": 5, "content_type": "t"})
    flags = 0x80 | 0x40 | 0x20 | 0x08 | 0x04  # user, password, will retain, will QoS 1, will
    body = (
        _utf8("MQTT")
        + bytes((5, flags))
        + struct.pack("!H", 45)
        + properties
        + _utf8("dev-1")
        + will_properties
        + _utf8("status/dev-1")
        + _utf8("offline")
        + _utf8("user")
        + _utf8("secret")
    )
    connect = codec.decode_connect(0, body)
    assert (connect.version, connect.client_id, connect.keep_alive) == (5, "dev-1", 45)
    assert connect.clean_start is False
    assert connect.properties == {
        "session_expiry_interval": 300,
        "receive_maximum": 20,
        "user_property": [("a", "b")],
    }
    assert connect.will == codec.Will(
        "status/dev-1", b"offline", 1, True, {"will_delay_interval": 5, "content_type": "t"}
    )
    assert (connect.username, connect.password) == ("user", b"secret")


def test_publish_and_subscribe_decode() -> None:
    publish = codec.decode(
        codec.PUBLISH,
        0x0B,  # DUP, QoS 1, retain
        _utf8("a/b") + b"\x00\x07" + codec.encode_properties({"topic_alias": 2}) + b"data",
        codec.MQTT_5,
    )
    assert publish == codec.Publish("a/b", b"data", 1, True, True, 7, {"topic_alias": 2})
    subscribe = codec.decode(
        codec.SUBSCRIBE, 0x02, b"\x00\x09" + _utf8("x/#") + b"\x01" + _utf8("y") + b"\x00", 4
    )
    assert subscribe == codec.Subscribe(
        9, [codec.SubscriptionRequest("x/#", 1), codec.SubscriptionRequest("y", 0)]
    )


@pytest.mark.parametrize(
    ("packet_type", "flags", "body", "version"),
    [
        (codec.PUBLISH, 0x06, _utf8("a") + b"\x00\x01", 4),  # QoS 3
        (codec.PUBLISH, 0x08, _utf8("a"), 4),  # DUP at QoS 0
        (codec.PUBACK, 0x00, b"\x00", 4),  # truncated
        (codec.PUBACK, 0x00, b"\x00\x01\x00", 4),  # trailing byte in 3.1.1
        (codec.SUBSCRIBE, 0x02, b"\x00\x01" + _utf8("a") + b"\x03", 4),  # QoS 3
        (codec.SUBSCRIBE, 0x02, b"\x00\x01" + _utf8("a") + b"\x31", 5),  # retain handling 3
        (codec.UNSUBSCRIBE, 0x02, b"\x00\x01\x00", 5),  # no filters
        (codec.DISCONNECT, 0x00, b"\x00\x03\x26\x00\x01", 5),  # property overruns
        (codec.CONNACK, 0x00, b"\x00\x00", 4),  # a server packet
        (codec.PUBLISH, 0x02, _utf8("a") + b"\x00\x01" + b"\x02\x23", 5),  # cut alias
    ],
)
def test_malformed_packets_raise(packet_type: int, flags: int, body: bytes, version: int) -> None:
    with pytest.raises(ProtocolError):
        codec.decode(packet_type, flags, body, version)


def test_property_not_allowed_in_packet_is_a_protocol_error() -> None:
    body = b"\x00\x01" + codec.encode_properties({"topic_alias": 1}) + _utf8("a") + b"\x00"
    with pytest.raises(ProtocolError) as raised:
        codec.decode(codec.SUBSCRIBE, 0x02, body, codec.MQTT_5)
    assert raised.value.reason == codec.PROTOCOL_ERROR


def test_server_packets_encode() -> None:
    assert codec.encode_connack(4, True, 0) == b"\x20\x02\x01\x00"
    assert codec.encode_connack(5, False, 0x87) == b"\x20\x03\x00\x87\x00"
    assert codec.encode_puback(4, 5) == b"\x40\x02\x00\x05"
    assert codec.encode_puback(5, 5, 0x87) == b"\x40\x03\x00\x05\x87"
    assert codec.encode_suback(4, 1, [1, 0x80]) == b"\x90\x04\x00\x01\x01\x80"
    assert codec.encode_unsuback(5, 1, [0x11]) == b"\xb0\x04\x00\x01\x00\x11"
    assert codec.encode_pingresp() == b"\xd0\x00"
    assert codec.encode_disconnect(0x8E) == b"\xe0\x02\x8e\x00"
    publish = codec.encode_publish(
        5, "t", b"x" * 200, qos=1, retain=True, packet_id=3, properties={"content_type": "c"}
    )
    # Remaining length 210 (3 + 2 + 5 + 200) takes two bytes: 0xD2 0x01.
    assert publish[:3] == b"\x33\xd2\x01"
    decoded = codec.decode(codec.PUBLISH, publish[0] & 0x0F, publish[3:], codec.MQTT_5)
    assert decoded == codec.Publish("t", b"x" * 200, 1, True, False, 3, {"content_type": "c"})


def test_remaining_length_prefix() -> None:
    assert codec.decode_varint_prefix(b"\x7f") == (127, 1)
    assert codec.decode_varint_prefix(b"\x80\x01") == (128, 2)
    assert codec.decode_varint_prefix(b"\x80") is None
    with pytest.raises(ProtocolError):
        codec.decode_varint_prefix(b"\xff\xff\xff\xff\x01")


@pytest.mark.parametrize(
    ("asked", "applied"), [(0, 1200), (1, 30), (30, 30), (600, 600), (1201, 1200)]
)
def test_keep_alive_seconds(asked: int, applied: int) -> None:
    assert limits.keep_alive_seconds(asked) == applied


@pytest.mark.parametrize(
    ("topic_filter", "valid"),
    [
        ("a/+/c", True),
        ("#", True),
        ("a/#", True),
        ("a/b/c/d/e/f/g/h", True),
        ("$aws/rules/r/a/b/c/d/e/f/g", True),
        ("a/b/c/d/e/f/g/h/i", False),
        ("a/#/c", False),
        ("a/b#", False),
        ("a+/b", False),
        ("", False),
        ("x" * 257, False),
    ],
)
def test_topic_filters(topic_filter: str, valid: bool) -> None:
    assert (limits.check_topic_filter(topic_filter) is None) is valid
