"""Sessions on the MQTT endpoint: lifecycle events, takeover, last will, retained
messages, persistent sessions, DeleteConnection, and the shared message path."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
from mqtt_devices import REGION, WAIT, Device, provision, subscribed_device, wait_until
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iotmock import IotMock


def _data() -> object:
    return boto3.client("iot-data", region_name=REGION)


def test_lifecycle_events(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    watcher = subscribed_device(iot_mqtt, credentials, "watcher", "$aws/events/#")

    device = Device(iot_mqtt, credentials, "sensor-9", version=4)
    device.connect()
    connected = json.loads(watcher.expect("$aws/events/presence/connected/sensor-9").payload)
    assert connected["clientId"] == "sensor-9"
    assert connected["eventType"] == "connected"
    assert connected["principalIdentifier"] == credentials.certificate_id
    assert connected["ipAddress"] == "127.0.0.1"
    assert connected["versionNumber"] == 0
    session = connected["sessionIdentifier"]

    device.subscribe("alerts/#")
    subscribed = json.loads(watcher.expect("$aws/events/subscriptions/subscribed/sensor-9").payload)
    assert subscribed["topics"] == ["alerts/#"]
    assert subscribed["sessionIdentifier"] == session
    device.client.unsubscribe("alerts/#")
    unsubscribed = json.loads(
        watcher.expect("$aws/events/subscriptions/unsubscribed/sensor-9").payload
    )
    assert unsubscribed["topics"] == ["alerts/#"]

    device.close()
    gone = json.loads(watcher.expect("$aws/events/presence/disconnected/sensor-9").payload)
    assert gone["clientInitiatedDisconnect"] is True
    assert gone["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"
    assert gone["versionNumber"] == 1
    watcher.close()


def test_duplicate_client_id_takes_over(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    first = Device(iot_mqtt, credentials, "twin")
    first.connect()
    second = Device(iot_mqtt, credentials, "twin")
    second.connect()
    assert first.disconnected.wait(WAIT)
    assert first.disconnect_reason.value == 0x8E  # Session taken over
    first.client.loop_stop()
    events = [m.json() for m in iot_mqtt.messages("$aws/events/presence/+/twin")]
    assert [e["eventType"] for e in events] == ["connected", "disconnected", "connected"]
    assert events[1]["disconnectReason"] == "DUPLICATE_CLIENTID"
    # The new connection works.
    assert second.publish("twin/ping", b"1") == 0
    second.close()


def test_last_will_on_lost_connection_not_on_disconnect(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    watcher = subscribed_device(iot_mqtt, credentials, "watcher", "status/+")

    polite = Device(iot_mqtt, credentials, "polite", version=4)
    polite.connect(will=("status/polite", b"gone", False))
    polite.close()
    lost = Device(iot_mqtt, credentials, "lost", version=5)
    lost.connect(will=("status/lost", b"offline", True))
    lost.drop()

    will = watcher.expect("status/lost")
    assert will.payload == b"offline"
    watcher.expect_nothing()
    retained = _data().get_retained_message(topic="status/lost")  # type: ignore[attr-defined]
    assert retained["payload"] == b"offline"
    event = iot_mqtt.messages("$aws/events/presence/disconnected/lost")[-1].json()
    assert event["disconnectReason"] == "CONNECTION_LOST"
    assert event["clientInitiatedDisconnect"] is False
    watcher.close()


def test_retained_messages_on_subscribe(iot_mqtt: IotMock, tmp_path: Path) -> None:
    data = _data()
    data.publish(topic="config/fan", payload=b'{"speed":3}', retain=True, qos=1)  # type: ignore[attr-defined]
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "fan-1", version=4)
    device.connect()
    assert device.publish("config/heater", b'{"on":true}', retain=True) == 0
    assert device.subscribe("config/+") == [1]
    received = {}
    for topic in ("config/fan", "config/heater"):
        message = device.expect(topic)
        received[topic] = (message.payload, message.retain)
    assert received == {
        "config/fan": (b'{"speed":3}', True),
        "config/heater": (b'{"on":true}', True),
    }
    stored = data.get_retained_message(topic="config/heater")  # type: ignore[attr-defined]
    assert stored["payload"] == b'{"on":true}'
    # A message published while subscribed is not flagged retained.
    data.publish(topic="config/fan", payload=b'{"speed":4}', retain=True, qos=1)  # type: ignore[attr-defined]
    live = device.expect("config/fan")
    assert (live.payload, live.retain) == (b'{"speed":4}', False)
    device.close()


def test_persistent_session_mqtt311_queues_qos1(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "sleeper", version=4, clean=False)
    flags, _reason, _ = device.connect()
    assert flags.session_present is False
    device.subscribe("orders/#", qos=1)
    device.close()

    data = _data()
    data.publish(topic="orders/1", payload=b"qos1", qos=1)  # type: ignore[attr-defined]
    data.publish(topic="orders/2", payload=b"qos0", qos=0)  # type: ignore[attr-defined]

    again = Device(iot_mqtt, credentials, "sleeper", version=4, clean=False)
    flags, _reason, _ = again.connect()
    assert flags.session_present is True
    assert again.expect("orders/1").payload == b"qos1"
    again.expect_nothing()
    # The session kept its subscription.
    data.publish(topic="orders/3", payload=b"live", qos=1)  # type: ignore[attr-defined]
    assert again.expect("orders/3").payload == b"live"
    again.close()

    # A clean session forgets it.
    fresh = Device(iot_mqtt, credentials, "sleeper", version=4, clean=True)
    flags, _reason, _ = fresh.connect()
    assert flags.session_present is False
    data.publish(topic="orders/4", payload=b"x", qos=1)  # type: ignore[attr-defined]
    fresh.expect_nothing()
    fresh.close()


def test_persistent_session_mqtt5_session_expiry(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    device = Device(iot_mqtt, credentials, "v5-sleeper", clean=False)
    _flags, _reason, properties = device.connect(session_expiry=7200)
    # AWS caps the session expiry at one hour and says so in CONNACK.
    assert properties.SessionExpiryInterval == 3600
    device.subscribe("news/#", qos=1)
    device.close()
    data = _data()
    data.publish(topic="news/1", payload=b"while away", qos=1, messageExpiry=600)  # type: ignore[attr-defined]
    data.publish(topic="news/2", payload=b"stale soon", qos=1, messageExpiry=1)  # type: ignore[attr-defined]
    time.sleep(1.1)
    again = Device(iot_mqtt, credentials, "v5-sleeper", clean=False)
    flags, _reason, _ = again.connect(session_expiry=600)
    assert flags.session_present is True
    kept = again.expect("news/1")
    assert kept.payload == b"while away"
    # MQTT 5 message expiry: the interval left is sent, the expired message is dropped.
    assert 598 <= kept.properties.MessageExpiryInterval <= 600
    again.expect_nothing()
    again.close()


def test_delete_connection_closes_the_device_socket(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    watcher = subscribed_device(iot_mqtt, credentials, "watcher", "status/#")
    device = Device(iot_mqtt, credentials, "doomed")
    device.connect(will=("status/doomed", b"bye", False))
    _data().delete_connection(clientId="doomed")  # type: ignore[attr-defined]
    assert device.disconnected.wait(WAIT)
    assert device.disconnect_reason.value == 0x98  # Administrative action
    device.client.loop_stop()
    assert watcher.expect("status/doomed").payload == b"bye"
    event = iot_mqtt.messages("$aws/events/presence/disconnected/doomed")[-1].json()
    assert event["disconnectReason"] == "API_INITIATED_DISCONNECT"

    again = Device(iot_mqtt, credentials, "doomed-2", version=4)
    again.connect(will=("status/doomed-2", b"bye", False))
    _data().delete_connection(clientId="doomed-2", preventWillMessage=True)  # type: ignore[attr-defined]
    assert again.disconnected.wait(WAIT)
    again.client.loop_stop()
    watcher.expect_nothing()
    watcher.close()


def test_iot_data_publish_reaches_devices_with_mqtt5_properties(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    credentials = provision(tmp_path)
    v5 = subscribed_device(iot_mqtt, credentials, "v5", "cmd/#")
    v3 = subscribed_device(iot_mqtt, credentials, "v3", "cmd/#", version=4)
    _data().publish(  # type: ignore[attr-defined]
        topic="cmd/reboot",
        payload=b"now",
        qos=1,
        contentType="text/plain",
        responseTopic="cmd/replies",
        userProperties=json.dumps([{"origin": "ops"}]),
    )
    received = v5.expect("cmd/reboot")
    assert received.payload == b"now"
    assert received.qos == 1
    assert received.properties.ContentType == "text/plain"
    assert received.properties.ResponseTopic == "cmd/replies"
    assert received.properties.UserProperty == [("origin", "ops")]
    assert v3.expect("cmd/reboot").payload == b"now"
    v5.close()
    v3.close()


def test_device_publish_goes_through_rules_and_republish_reaches_devices(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    iot = boto3.client("iot", region_name=REGION)
    iot.create_topic_rule(
        ruleName="relay",
        topicRulePayload={
            "sql": "SELECT temp * 2 AS doubled, clientid() AS who FROM 'in/+'",
            "actions": [
                {
                    "republish": {
                        "roleArn": "arn:aws:iam::123456789012:role/r",
                        "topic": "out/doubled",
                        "qos": 1,
                    }
                }
            ],
        },
    )
    credentials = provision(tmp_path)
    device = subscribed_device(iot_mqtt, credentials, "thermo", "out/#")
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = [("unit", "C")]
    device.client.publish("in/kitchen", json.dumps({"temp": 21}), qos=1, properties=properties)
    relayed = device.expect("out/doubled")
    assert json.loads(relayed.payload) == {"doubled": 42, "who": "thermo"}
    recorded = iot_mqtt.messages("in/kitchen")[-1]
    assert recorded.client_id == "thermo"
    assert recorded.user_properties == [{"unit": "C"}]
    device.close()


def test_simulated_and_real_connections_share_one_registry(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "shared-id")
    device.connect()
    # A simulated client with the same id takes over the real one...
    iot_mqtt.devices.connect("shared-id")
    assert device.disconnected.wait(WAIT)
    assert device.disconnect_reason.value == 0x8E
    device.client.loop_stop()
    # ...and a real one takes over the simulated one.
    again = Device(iot_mqtt, provision(tmp_path), "shared-id", version=4)
    again.connect()
    events = [m.json() for m in iot_mqtt.messages("$aws/events/presence/+/shared-id")]
    assert [(e["eventType"], e.get("disconnectReason")) for e in events] == [
        ("connected", None),
        ("disconnected", "DUPLICATE_CLIENTID"),
        ("connected", None),
        ("disconnected", "DUPLICATE_CLIENTID"),
        ("connected", None),
    ]
    again.close()


def test_device_of_another_account(iot_mqtt: IotMock, tmp_path: Path) -> None:
    with iot_mqtt.as_account("111122223333"):
        credentials = provision(tmp_path, thing="remote")
    device = Device(iot_mqtt, credentials, "remote")
    device.connect()
    device.subscribe("$aws/things/remote/shadow/update/accepted")
    device.publish("$aws/things/remote/shadow/update", {"state": {"reported": {"a": 1}}})
    assert json.loads(device.expect("$aws/things/remote/shadow/update/accepted").payload)[
        "state"
    ] == {"reported": {"a": 1}}
    device.close()
    # The device's messages belong to the account of its certificate.
    published = iot_mqtt.messages("$aws/things/remote/shadow/update")
    assert [message.account_id for message in published] == ["111122223333"]
    remote = iot_mqtt.messages("$aws/things/remote/shadow/update", account_id="111122223333")
    assert [m.client_id for m in remote] == ["remote"]


def test_client_ids_with_wildcards_have_no_lifecycle_events(
    iot_mqtt: IotMock, tmp_path: Path
) -> None:
    device = Device(iot_mqtt, provision(tmp_path), "odd+id", version=4)
    device.connect()
    device.subscribe("a/b")
    device.close()
    iot_mqtt.devices.connect("odd#id")
    assert iot_mqtt.messages("$aws/events/#") == []


def test_exclusive_thing_is_named_in_lifecycle_events(iot_mqtt: IotMock, tmp_path: Path) -> None:
    credentials = provision(tmp_path)
    iot = boto3.client("iot", region_name=REGION)
    iot.create_thing(thingName="solo")
    iot.attach_thing_principal(
        thingName="solo",
        principal=credentials.certificate_arn,
        thingPrincipalType="EXCLUSIVE_THING",
    )
    device = Device(iot_mqtt, credentials, "solo-client")
    device.connect()
    device.subscribe("x/y")
    device.close()
    other = Device(iot_mqtt, provision(tmp_path), "plain-client")
    other.connect()
    other.close()
    wait_until(lambda: len(iot_mqtt.messages("$aws/events/#")) == 5)
    events = [m.json() for m in iot_mqtt.messages("$aws/events/#")]
    assert [(e["eventType"], e.get("thingName")) for e in events] == [
        ("connected", "solo"),
        ("subscribed", "solo"),
        ("disconnected", "solo"),
        ("connected", None),
        ("disconnected", None),
    ]
