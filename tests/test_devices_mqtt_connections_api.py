"""iot-data GetConnection, ListSubscriptions, SendDirectMessage and DeleteConnection on a
real MQTT client (paho): the connection operations read the one session registry, so
they see the endpoint's devices as they see simulated ones. These operations exist only
in botocore's newest iot-data model (`-m newest_botocore`, see
tests/test_devices_connections_api.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
import pytest
from mqtt_devices import REGION, WAIT, Device, provision

from iotmock import IotMock
from iotmock.core.model import operation_names
from iotmock.devices.handlers import NEWER_OPERATIONS

pytestmark = [
    pytest.mark.newest_botocore,
    pytest.mark.skipif(
        not {op for _, op in NEWER_OPERATIONS} <= set(operation_names("iot-data")),
        reason="the installed botocore's iot-data model has no GetConnection / "
        "ListSubscriptions / SendDirectMessage (botocore 1.44+ has them)",
    ),
]


def test_connection_operations_on_a_real_device(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path, thing="pump")
    device = Device(iot_mqtt, credentials, "pump", version=5)
    device.connect(keepalive=60)
    assert device.subscribe("pump/cmd/#") == [1]
    data = boto3.client("iot-data", region_name=REGION)
    found = data.get_connection(clientId="pump", includeSocketInformation=True)
    assert found["connected"] is True and found["thingName"] == "pump"
    assert found["keepAliveDuration"] == 60
    assert found["sourceIp"] == "127.0.0.1" and found["targetPort"] == iot_mqtt.mqtt.port
    listed = data.list_subscriptions(clientId="pump")
    assert [s["topicFilter"] for s in listed["subscriptions"]] == ["pump/cmd/#"]

    # Another device keeps publishing meanwhile: the listener serves both connections
    # while SendDirectMessage waits for the pump's PUBACK.
    noisy = Device(iot_mqtt, provision(tmp_path), "noisy", version=5)
    noisy.connect()
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            noisy.client.publish("noise/1", b"x", qos=1)
            stop.wait(0.005)

    worker = threading.Thread(target=chatter, daemon=True)
    worker.start()
    try:
        answer = data.send_direct_message(
            clientId="pump", topic="direct/pump", payload=b"stop", confirmation=True, timeout=5
        )
    finally:
        stop.set()
        worker.join(WAIT)
    assert answer["message"] == "Message delivered and acknowledged"
    assert device.expect("direct/pump").payload == b"stop"
    assert iot_mqtt.messages("direct/#") == []  # not a publish
    noisy.close()

    data.delete_connection(clientId="pump", preventWillMessage=True)
    assert device.disconnected.wait(WAIT)
    assert device.disconnect_reason.value == 0x98  # Administrative action
    device.client.loop_stop()
    gone = data.get_connection(clientId="pump")
    assert gone["connected"] is False
    assert gone["disconnectReason"] == "API_INITIATED_DISCONNECT"
