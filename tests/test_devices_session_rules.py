"""Broker rules of the session layer that both transports share, shown with simulated
devices (tests/test_devices_mqtt_*.py show them on the wire): connect_failed events, the
exclusive thing in lifecycle events, wildcard client ids, certificates leaving ACTIVE,
the session expiry cap, MQTT 5 message expiry of queued messages, redelivery,
subscription quotas and options, iot:RetainPublish."""

from __future__ import annotations

import json
from typing import Any

import pytest
from freezegun import freeze_time

from iotmock import IotMock
from iotmock.devices import sessions
from iotmock.devices.errors import ConnectionRefused, DeviceDisconnected

ARN = "arn:aws:iot:us-east-1:123456789012"


def _certificate(iot: Any, statements: list[dict[str, Any]], name: str = "p") -> dict[str, Any]:
    created: dict[str, Any] = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(
        policyName=name,
        policyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    iot.attach_policy(policyName=name, target=created["certificateArn"])
    return created


def _allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def test_a_refused_connect_publishes_connect_failed(iot_mock: IotMock, iot: Any) -> None:
    created = _certificate(iot, [_allow("iot:Connect", f"{ARN}:client/ok-*")])
    with pytest.raises(ConnectionRefused):
        iot_mock.devices.connect("nope", certificate_id=created["certificateId"])
    (failed,) = iot_mock.messages("$aws/events/presence/+/nope")
    assert failed.topic == "$aws/events/presence/connect_failed/nope"
    assert failed.json()["failureType"] == "AUTHORIZATION_FAILURE"
    assert failed.json()["principalIdentifier"] == created["certificateId"]
    iot_mock.devices.connect("ok-1", certificate_id=created["certificateId"])
    assert iot_mock.messages("$aws/events/presence/connect_failed/ok-1") == []


def test_lifecycle_events_name_only_the_exclusive_thing(iot_mock: IotMock, iot: Any) -> None:
    solo = _certificate(iot, [_allow("iot:*")])
    iot.create_thing(thingName="solo")
    iot.attach_thing_principal(
        thingName="solo", principal=solo["certificateArn"], thingPrincipalType="EXCLUSIVE_THING"
    )
    shared = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_policy(policyName="p", target=shared["certificateArn"])
    iot.create_thing(thingName="plain")
    iot.attach_thing_principal(thingName="plain", principal=shared["certificateArn"])
    device = iot_mock.devices.connect("client-a", certificate_id=solo["certificateId"])
    device.subscribe("x/y")
    iot_mock.devices.connect("plain", certificate_id=shared["certificateId"])
    events = [m.json() for m in iot_mock.messages("$aws/events/#")]
    assert [(e["clientId"], e["eventType"], e.get("thingName")) for e in events] == [
        ("client-a", "connected", "solo"),
        ("client-a", "subscribed", "solo"),
        ("plain", "connected", None),  # attached non-exclusively: not named
    ]


def test_client_ids_with_wildcards_get_no_lifecycle_events(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("odd+id")
    device.subscribe("a/b")
    device.disconnect()
    assert iot_mock.messages("$aws/events/#") == []


def test_a_certificate_leaving_active_disconnects_its_devices(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    created = _certificate(iot, [_allow("iot:*")])
    device = iot_mock.devices.connect(
        "meter",
        certificate_id=created["certificateId"],
        will_topic="status/meter",
        will_payload="x",
    )
    device.subscribe("news/#", qos=1)
    iot.update_certificate(certificateId=created["certificateId"], newStatus="INACTIVE")
    iot_data.publish(topic="news/1", payload=b"hello", qos=1)
    assert device.received() == []
    assert device.disconnect_reason == "AUTH_ERROR"
    (event,) = iot_mock.messages("$aws/events/presence/disconnected/meter")
    assert event.json()["disconnectReason"] == "AUTH_ERROR"
    assert [m.payload for m in iot_mock.messages("status/meter")] == [b"x"]
    with pytest.raises(DeviceDisconnected):
        device.publish("news/2", b"late")


def test_session_expiry_is_capped_at_an_hour(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("d", protocol="mqtt5", session_expiry=7200)
    assert device.session.session_expiry == sessions.DEFAULT_SESSION_EXPIRY == 3600
    # MQTT 5: a clean start with an expiry still keeps the session after it ends.
    device.drop()
    assert sessions.known_session(iot_mock.backend(), "d") is device.session


def test_queued_messages_expire_and_unacknowledged_ones_come_again(
    iot_mock: IotMock, iot_data: Any
) -> None:
    with freeze_time("2026-06-01 08:00:00") as clock:
        device = iot_mock.devices.connect(
            "d", clean_session=False, protocol="mqtt5", auto_acknowledge=False
        )
        device.subscribe("cfg/#", qos=1)
        iot_data.publish(topic="cfg/sent", payload=b"unacked", qos=1)
        device.drop()
        iot_data.publish(topic="cfg/short", payload=b"1", qos=1, messageExpiry=60)
        iot_data.publish(topic="cfg/long", payload=b"2", qos=1, messageExpiry=600)
        clock.tick(120)
        back = iot_mock.devices.connect("d", clean_session=False, protocol="mqtt5")
    got = [(d.message.topic, d.message.message_expiry, d.redelivery) for d in back.deliveries()]
    assert got == [("cfg/sent", None, True), ("cfg/long", 480, False)]


def test_subscription_quotas_shared_filters_and_options(iot_mock: IotMock) -> None:
    device = iot_mock.devices.connect("d", protocol="mqtt5")
    session = device.session
    result = sessions.subscribe(session, [(f"q/{n}", 1) for n in range(9)])
    assert result.granted == [1] * 8 + [0x80]
    assert result.reasons == [1] * 8 + [sessions.QUOTA_EXCEEDED]
    shared = sessions.subscribe(session, [("$share/g/a", 1), ("a/#/b", 0)])
    assert shared.reasons == [sessions.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, 0x8F]
    for batch in range(5):
        sessions.subscribe(session, [(f"more/{batch}/{n}", 0) for n in range(8)])
    assert len(session.subscriptions) == 48
    over = sessions.subscribe(session, [("last/1", 0), ("last/2", 0), ("last/3", 0)])
    assert over.reasons == [0, 0, sessions.QUOTA_EXCEEDED]  # 50 per connection
    assert sessions.unsubscribe(session, ["last/1", "never"]) == [True, False]


def test_no_local_retain_as_published_and_retain_handling(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="cfg/a", payload=b"kept", retain=True)
    device = iot_mock.devices.connect("d", protocol="mqtt5")
    session = device.session
    first = sessions.subscribe(session, [sessions.Subscription("cfg/#", 1, retain_handling=1)])
    assert [d.message.payload for d in first.pending] == [b"kept"]
    again = sessions.subscribe(session, [sessions.Subscription("cfg/#", 1, retain_handling=1)])
    assert again.pending == []  # 1: only for a new subscription
    never = sessions.subscribe(session, [sessions.Subscription("cfg/+", 1, retain_handling=2)])
    assert never.pending == []
    sessions.subscribe(
        session, [sessions.Subscription("own/#", 1, no_local=True, retain_as_published=True)]
    )
    device.publish("own/x", b"mine")
    other = iot_mock.devices.connect("other")
    other.publish("own/y", b"theirs", retain=True)
    (delivery,) = device.deliveries("own/#")
    assert delivery.message.payload == b"theirs" and delivery.retain is True


def test_retained_publish_and_retained_will_need_retain_publish(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    created = _certificate(iot, [_allow(["iot:Connect", "iot:Publish"])])
    with pytest.raises(ConnectionRefused) as refused:
        iot_mock.devices.connect(
            "d", certificate_id=created["certificateId"], will_topic="w", will_retain=True
        )
    assert refused.value.reason == "NOT_AUTHORIZED"
    device = iot_mock.devices.connect(
        "d", certificate_id=created["certificateId"], protocol="mqtt5"
    )
    assert device.publish("status/d", b"up", retain=True) == 0x87
    assert device.publish("status/d", b"up") == 0
    assert iot_data.list_retained_messages()["retainedTopics"] == []
