"""Simulated devices on the session layer: lifecycle events, takeover, will, retained
messages on subscribe, persistent sessions, policy enforcement, DeleteConnection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from iotmock import IotMock
from iotmock.devices.errors import ConnectionRefused, DeviceDisconnected

ARN = "arn:aws:iot:us-east-1:123456789012"


def _certificate_with_policy(iot: Any, name: str, statements: list[dict[str, Any]]) -> str:
    """An ACTIVE certificate with a policy of `statements` attached; its id."""
    created = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(
        policyName=name,
        policyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    iot.attach_policy(policyName=name, target=created["certificateArn"])
    return str(created["certificateId"])


def _allow(action: str, *resources: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


# --------------------------------------------------------------------------- messages


def test_device_receives_what_it_subscribed_to_from_every_publisher(
    iot_mock: IotMock, iot_data: Any
) -> None:
    sensor = iot_mock.devices.connect("sensor")
    other = iot_mock.devices.connect("other")
    assert sensor.subscribe("cmd/+/reboot", qos=1) == 1
    iot_data.publish(topic="cmd/sensor/reboot", payload=b"now", qos=1)
    other.publish("cmd/other/reboot", b"later")
    other.publish("telemetry/x", b"not matching")
    got = sensor.received()
    assert [(m.topic, m.payload) for m in got] == [
        ("cmd/sensor/reboot", b"now"),
        ("cmd/other/reboot", b"later"),
    ]
    deliveries = sensor.deliveries()
    assert [d.qos for d in deliveries] == [1, 0]  # min(subscription QoS, message QoS)
    assert other.received() == []
    # Device publishes go through the message log like any other message.
    (logged,) = iot_mock.messages("cmd/other/reboot")
    assert logged.client_id == "other"


def test_qos_2_is_granted_as_1_and_invalid_filters_are_refused(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("d")
    assert device.subscribe("a/b", qos=2) == 1
    assert device.subscribe("a/#/b") == 0x80
    assert device.subscribe("a/b+") == 0x80
    assert [s.topic_filter for s in device.session.subscriptions.values()] == ["a/b"]


def test_subscribed_and_unsubscribed_lifecycle_events(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("d", principal="my-principal")
    device.subscribe("a/b")
    device.unsubscribe("a/b")
    device.unsubscribe("never/subscribed")
    (subscribed,) = iot_mock.messages("$aws/events/subscriptions/subscribed/d")
    (unsubscribed,) = iot_mock.messages("$aws/events/subscriptions/unsubscribed/d")
    assert subscribed.json()["topics"] == ["a/b"]
    assert subscribed.json()["principalIdentifier"] == "my-principal"
    assert unsubscribed.json()["eventType"] == "unsubscribed"
    assert unsubscribed.json()["topics"] == ["a/b"]
    assert unsubscribed.json()["sessionIdentifier"] == subscribed.json()["sessionIdentifier"]


def test_connected_and_disconnected_events_by_reason(iot_mock: IotMock) -> None:
    with freeze_time("2026-03-01 12:00:00"):
        device = iot_mock.devices.connect("d")
    device.disconnect()
    lost = iot_mock.devices.connect("d")
    lost.drop("MQTT_KEEP_ALIVE_TIMEOUT")
    events = [m.json() for m in iot_mock.messages("$aws/events/presence/+/d")]
    assert [(e["eventType"], e.get("disconnectReason")) for e in events] == [
        ("connected", None),
        ("disconnected", "CLIENT_INITIATED_DISCONNECT"),
        ("connected", None),
        ("disconnected", "MQTT_KEEP_ALIVE_TIMEOUT"),
    ]
    assert events[0]["timestamp"] == 1772366400000
    assert events[1]["clientInitiatedDisconnect"] is True
    assert events[3]["clientInitiatedDisconnect"] is False
    assert [e["versionNumber"] for e in events] == [0, 1, 2, 3]
    with pytest.raises(DeviceDisconnected):
        device.publish("a", b"x")


def test_retained_messages_arrive_on_subscribe(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="status/door", payload=b"open", qos=1, retain=True)
    iot_data.publish(topic="status/window", payload=b"shut", retain=True)
    publisher = iot_mock.devices.connect("publisher")
    publisher.publish("status/gate", b"ajar", qos=1, retain=True)
    device = iot_mock.devices.connect("d")
    device.subscribe("status/+", qos=1)
    got = {d.message.topic: d for d in device.deliveries()}
    assert sorted(got) == ["status/door", "status/gate", "status/window"]
    assert got["status/door"].retained and got["status/door"].message.retain
    assert got["status/door"].qos == 1
    assert got["status/window"].qos == 0
    assert iot_data.get_retained_message(topic="status/gate")["payload"] == b"ajar"


# --------------------------------------------------------------------------- takeover, will


def test_duplicate_client_id_takes_over_and_publishes_the_will(iot_mock: IotMock) -> None:
    watcher = iot_mock.devices.connect("watcher")
    watcher.subscribe("wills/#")
    first = iot_mock.devices.connect("d", will_topic="wills/d", will_payload="gone")
    second = iot_mock.devices.connect("d")
    assert not first.connected
    assert first.disconnect_reason == "DUPLICATE_CLIENTID"
    assert second.connected
    assert [m.payload for m in watcher.received("wills/#")] == [b"gone"]
    with pytest.raises(DeviceDisconnected) as exc:
        first.subscribe("a")
    assert exc.value.reason == "DUPLICATE_CLIENTID"


def test_will_is_published_on_connection_loss_not_on_disconnect(iot_mock: IotMock) -> None:
    polite = iot_mock.devices.connect("polite", will_topic="w/polite", will_payload="x")
    polite.disconnect()
    rude = iot_mock.devices.connect(
        "rude", will_topic="w/rude", will_payload="x", will_retain=True, will_qos=1
    )
    rude.drop()
    assert [m.topic for m in iot_mock.messages("w/+")] == ["w/rude"]
    late = iot_mock.devices.connect("late")
    late.subscribe("w/#")
    (retained,) = late.deliveries()
    assert retained.retained and retained.message.payload == b"x"


# --------------------------------------------------------------------------- persistent


def test_persistent_session_queues_qos1_messages_while_offline(
    iot_mock: IotMock, iot_data: Any
) -> None:
    device = iot_mock.devices.connect("d", clean_session=False)
    assert device.session_present is False
    device.subscribe("cmd/#", qos=1)
    device.subscribe("info/#", qos=0)
    device.drop()
    iot_data.publish(topic="cmd/1", payload=b"q1", qos=1)
    iot_data.publish(topic="cmd/2", payload=b"q0", qos=0)  # QoS 0: not queued
    iot_data.publish(topic="info/1", payload=b"sub0", qos=1)  # QoS 0 subscription
    back = iot_mock.devices.connect("d", clean_session=False)
    assert back.session_present is True
    assert [m.payload for m in back.received()] == [b"q1"]
    iot_data.publish(topic="cmd/3", payload=b"live", qos=1)
    assert [m.payload for m in back.received()] == [b"q1", b"live"]


def test_clean_session_discards_a_persistent_session(iot_mock: IotMock, iot_data: Any) -> None:
    device = iot_mock.devices.connect("d", clean_session=False)
    device.subscribe("cmd/#", qos=1)
    device.disconnect()
    iot_data.publish(topic="cmd/1", payload=b"q", qos=1)
    fresh = iot_mock.devices.connect("d", clean_session=True)
    assert fresh.session_present is False
    assert fresh.received() == []
    assert len(fresh.session.subscriptions) == 0


def test_persistent_session_expires(iot_mock: IotMock, iot_data: Any) -> None:
    with freeze_time("2026-03-01 12:00:00") as frozen:
        device = iot_mock.devices.connect("d", clean_session=False, session_expiry=60)
        device.subscribe("cmd/#", qos=1)
        device.drop()
        frozen.tick(61)
        iot_data.publish(topic="cmd/1", payload=b"late", qos=1)
        back = iot_mock.devices.connect("d", clean_session=False)
    assert back.session_present is False
    assert back.received() == []


# --------------------------------------------------------------------------- policies


def test_certificate_policies_govern_connect_publish_subscribe_receive(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    certificate_id = _certificate_with_policy(
        iot,
        "sensor-policy",
        [
            _allow("iot:Connect", f"{ARN}:client/sensor-*"),
            _allow("iot:Publish", f"{ARN}:topic/data/${{iot:ClientId}}"),
            _allow("iot:Subscribe", f"{ARN}:topicfilter/cmd/*"),
            _allow("iot:Receive", f"{ARN}:topic/cmd/allowed"),
        ],
    )
    device = iot_mock.devices.connect("sensor-1", certificate_id=certificate_id, protocol="mqtt5")
    (connected,) = iot_mock.messages("$aws/events/presence/connected/sensor-1")
    assert connected.json()["principalIdentifier"] == certificate_id
    assert device.publish("data/sensor-1", b"ok") == 0
    assert device.publish("data/sensor-2", b"no") == 0x87  # MQTT 5: refused, still connected
    assert device.connected
    assert device.subscribe("cmd/#") == 0
    assert device.subscribe("other/#") == 0x80
    iot_data.publish(topic="cmd/allowed", payload=b"1")
    iot_data.publish(topic="cmd/denied", payload=b"2")
    assert [m.topic for m in device.received()] == ["cmd/allowed"]
    assert [m.payload for m in iot_mock.messages("data/#")] == [b"ok"]
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("not-my-id", certificate_id=certificate_id)
    assert exc.value.reason == "NOT_AUTHORIZED"
    # An explicit deny attached later applies to the next action.
    iot.create_policy(
        policyName="deny-data",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}],
            }
        ),
    )
    iot.attach_policy(policyName="deny-data", target=f"{ARN}:cert/{certificate_id}")
    assert device.publish("data/sensor-1", b"denied now") == 0x87


def test_mqtt311_forbidden_publish_closes_the_connection(iot_mock: IotMock, iot: Any) -> None:
    certificate_id = _certificate_with_policy(
        iot, "connect-only", [_allow("iot:Connect", f"{ARN}:client/*")]
    )
    # The will is authorized with the connection: a will the policies do not let the
    # client publish refuses the CONNECT (and leaves a connect_failed event).
    with pytest.raises(ConnectionRefused) as refused:
        iot_mock.devices.connect(
            "d", certificate_id=certificate_id, will_topic="w", will_payload="x"
        )
    assert refused.value.reason == "NOT_AUTHORIZED"
    (failed,) = iot_mock.messages("$aws/events/presence/connect_failed/d")
    assert failed.json()["failureType"] == "AUTHORIZATION_FAILURE"
    device = iot_mock.devices.connect("d", certificate_id=certificate_id)
    assert device.publish("anything", b"x") == 0x87
    assert not device.connected
    # "AUTH_ERROR: the client failed to authenticate or authorization failed."
    assert device.disconnect_reason == "AUTH_ERROR"
    (event,) = iot_mock.messages("$aws/events/presence/disconnected/d")
    assert event.json()["disconnectReason"] == "AUTH_ERROR"


def test_inactive_or_unknown_certificates_cannot_connect(iot_mock: IotMock, iot: Any) -> None:
    certificate_id = _certificate_with_policy(iot, "p", [_allow("iot:*", "*")])
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("d", certificate_id=certificate_id)
    assert exc.value.reason == "CERTIFICATE_NOT_ACTIVE"
    with pytest.raises(ConnectionRefused) as exc:
        iot_mock.devices.connect("d", certificate_id="ab" * 32)
    assert exc.value.reason == "UNKNOWN_CERTIFICATE"
    assert iot_mock.messages("$aws/events/presence/#") == []


def test_reserved_topic_publish_is_a_client_error(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("d")
    device.publish("$aws/events/presence/connected/x", b"{}")
    assert device.disconnect_reason == "CLIENT_ERROR"


# --------------------------------------------------------------------------- DeleteConnection


def test_delete_connection_closes_a_simulated_device(iot_mock: IotMock, iot_data: Any) -> None:
    device = iot_mock.devices.connect("d", will_topic="w", will_payload="bye")
    iot_data.delete_connection(clientId="d")
    assert not device.connected
    assert device.disconnect_reason == "API_INITIATED_DISCONNECT"
    assert [m.payload for m in iot_mock.messages("w")] == [b"bye"]
    with pytest.raises(ClientError) as exc:
        iot_data.delete_connection(clientId="d")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_delete_connection_keeps_or_cleans_a_persistent_session(
    iot_mock: IotMock, iot_data: Any
) -> None:
    kept = iot_mock.devices.connect("kept", clean_session=False)
    kept.subscribe("cmd/#", qos=1)
    cleaned = iot_mock.devices.connect("cleaned", clean_session=False)
    cleaned.subscribe("cmd/#", qos=1)
    iot_data.delete_connection(clientId="kept")
    iot_data.delete_connection(clientId="cleaned", cleanSession=True)
    iot_data.publish(topic="cmd/x", payload=b"q", qos=1)
    kept_back = iot_mock.devices.connect("kept", clean_session=False)
    assert kept_back.session_present
    assert [m.payload for m in kept_back.received()] == [b"q"]
    cleaned_back = iot_mock.devices.connect("cleaned", clean_session=False)
    assert not cleaned_back.session_present
    assert cleaned_back.received() == []


def test_connectivity_indexing_sees_simulated_devices(iot_mock: IotMock, iot: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "thingConnectivityIndexingMode": "STATUS",
        }
    )
    iot.create_thing(thingName="lamp")
    device = iot_mock.devices.connect("lamp")
    found = iot.search_index(queryString="connectivity.connected:true")["things"]
    assert [t["thingName"] for t in found] == ["lamp"]
    device.drop()
    found = iot.search_index(queryString="connectivity.connected:false")["things"]
    assert found[0]["connectivity"]["disconnectReason"] == "CONNECTION_LOST"


def test_device_talks_to_its_shadow_over_mqtt(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    iot.create_thing(thingName="lamp")
    device = iot_mock.devices.connect("lamp")
    device.subscribe("$aws/things/lamp/shadow/update/accepted")
    device.subscribe("$aws/things/lamp/shadow/update/delta")
    device.publish(
        "$aws/things/lamp/shadow/update", json.dumps({"state": {"reported": {"on": False}}})
    )
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"desired": {"on": True}}})
    )
    accepted = device.received("$aws/things/lamp/shadow/update/accepted")
    assert [m.json()["state"] for m in accepted] == [
        {"reported": {"on": False}},
        {"desired": {"on": True}},
    ]
    (delta,) = device.received("$aws/things/lamp/shadow/update/delta")
    assert delta.json()["state"] == {"on": True}
