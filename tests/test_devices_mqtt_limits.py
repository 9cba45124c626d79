"""AWS IoT Core's protocol limits on the MQTT endpoint (QoS 2, client id, topics, payload
size, keep-alive, subscriptions), for MQTT 3.1.1 and MQTT 5."""

from __future__ import annotations

from pathlib import Path

import pytest
from mqtt_devices import WAIT, Device, provision

from iotmock import IotMock


def test_qos2_publish(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    # MQTT 3.1.1: no PUBACK/PUBREC; the connection ends.
    v3 = Device(iot_mqtt, credentials, "q3", version=4)
    v3.connect()
    v3.client.publish("a/b", b"x", qos=2)
    assert v3.disconnected.wait(WAIT)
    v3.client.loop_stop()
    # MQTT 5: CONNACK announced Maximum QoS 1; a QoS 2 PUBLISH is disconnected with 0x9B.
    v5 = Device(iot_mqtt, credentials, "q5")
    _flags, _reason, properties = v5.connect()
    assert properties.MaximumQoS == 1
    v5.client.publish("a/b", b"x", qos=2)
    assert v5.disconnected.wait(WAIT)
    assert v5.disconnect_reason.value == 0x9B
    v5.client.loop_stop()
    assert iot_mqtt.messages("a/b") == []


def test_qos2_subscribe(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    v5 = Device(iot_mqtt, credentials, "s5")
    v5.connect()
    assert v5.subscribe("x/#", qos=2) == [1]  # granted QoS 1
    v5.close()
    v3 = Device(iot_mqtt, credentials, "s3", version=4)
    v3.connect()
    v3.client.subscribe("x/#", qos=2)
    assert v3.disconnected.wait(WAIT)  # AWS sends no SUBACK
    v3.client.loop_stop()


@pytest.mark.parametrize(("version", "code"), [(4, 0x85), (5, 0x85)])
def test_client_id_longer_than_128_bytes(
    iot_mqtt: IotMock, tmp_path: Path, version: int, code: int
) -> None:
    # (paho reports MQTT 3.1.1's return code 2, identifier rejected, as 0x85.)
    device = Device(iot_mqtt, provision(tmp_path), "c" * 129, version=version)
    _flags, reason, _ = device.connect()
    assert reason.value == code
    device.client.loop_stop()
    assert Device(iot_mqtt, provision(tmp_path), "c" * 128).connect()[1].value == 0


def test_topic_limits(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "t5")
    device.connect()
    # Topic filters: 7 slashes at most, 256 bytes, wildcards as whole levels.
    assert device.subscribe("a/b/c/d/e/f/g/h", qos=0) == [0]
    device.client.subscribe([("a/b/c/d/e/f/g/h/i", 0), ("a" * 257, 0), ("$share/g/a", 0)])
    assert device.subacks.get(timeout=WAIT) == [0x8F, 0x8F, 0x9E]
    # More than 8 filters in one SUBSCRIBE: the extra ones exceed the quota.
    device.client.subscribe([(f"many/{n}", 0) for n in range(9)])
    assert device.subacks.get(timeout=WAIT) == [0] * 8 + [0x97]
    # Basic Ingest's $aws/rules/<rule>/ prefix does not count.
    assert device.publish("$aws/rules/r/a/b/c/d/e/f/g", b"1") == 0
    # A topic with 8 slashes ends the connection (Topic Name invalid).
    device.client.publish("a/b/c/d/e/f/g/h/i", b"x", qos=1)
    assert device.disconnected.wait(WAIT)
    assert device.disconnect_reason.value == 0x90
    device.client.loop_stop()


def test_reserved_topics(iot_mqtt: IotMock, tmp_path: Path) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "r3", version=4)
    device.connect()
    device.client.publish("$aws/events/presence/connected/fake", b"{}", qos=1)
    assert device.disconnected.wait(WAIT)
    device.client.loop_stop()
    assert iot_mqtt.messages("$aws/events/presence/connected/fake") == []


@pytest.mark.parametrize("version", [4, 5])
def test_payload_over_128_kb(iot_mqtt: IotMock, tmp_path: Path, version: int) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "big", version=version)
    device.connect()
    assert device.publish("big/ok", b"x" * 128 * 1024) == 0
    device.client.publish("big/no", b"x" * (128 * 1024 + 1), qos=1)
    assert device.disconnected.wait(WAIT)
    if version == 5:
        assert device.disconnect_reason.value == 0x95  # Packet too large
    device.client.loop_stop()
    assert [m.topic for m in iot_mqtt.messages("big/#")] == ["big/ok"]


@pytest.mark.parametrize(("asked", "applied"), [(5, 30), (0, 1200), (60, None), (4000, 1200)])
def test_keep_alive_is_adjusted(
    iot_mqtt: IotMock, tmp_path: Path, asked: int, applied: int | None
) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "ka")
    _flags, _reason, properties = device.connect(keepalive=asked)
    # MQTT 5 CONNACK says which keep-alive the server applies, when it changed it.
    assert getattr(properties, "ServerKeepAlive", None) == applied
    device.close()
