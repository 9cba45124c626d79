"""The reserved MQTT topics of the Device Shadow service: what the mock publishes on
shadow changes, and shadow requests made by publishing to the request topics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iotmock import IotMock


def topics(iot_mock: IotMock, topic_filter: str) -> list[str]:
    return [m.topic for m in iot_mock.messages(topic_filter)]


def test_update_publishes_accepted_delta_and_documents(iot_mock: IotMock, iot_data: Any) -> None:
    response = iot_data.update_thing_shadow(
        thingName="lamp",
        payload=json.dumps({"state": {"desired": {"on": True}}, "clientToken": "c1"}),
    )["payload"].read()
    assert topics(iot_mock, "$aws/things/lamp/shadow/#") == [
        "$aws/things/lamp/shadow/update/accepted",
        "$aws/things/lamp/shadow/update/delta",
        "$aws/things/lamp/shadow/update/documents",
    ]
    accepted, delta, documents = iot_mock.messages("$aws/things/lamp/shadow/#")
    assert accepted.payload == response
    assert accepted.source == "shadow"
    assert delta.json()["state"] == {"on": True}
    assert delta.json()["version"] == 1
    assert delta.json()["clientToken"] == "c1"
    assert set(delta.json()["metadata"]["on"]) == {"timestamp"}
    assert documents.json()["current"]["state"] == {"desired": {"on": True}}
    assert "previous" not in documents.json()
    assert documents.json()["clientToken"] == "c1"


def test_documents_carry_previous_and_current(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"on": False}}})
    )
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"on": True}}})
    )
    last = iot_mock.messages("$aws/things/lamp/shadow/update/documents")[-1].json()
    assert last["previous"]["state"] == {"reported": {"on": False}}
    assert last["previous"]["version"] == 1
    assert last["current"]["state"] == {"reported": {"on": True}}
    assert last["current"]["version"] == 2


def test_no_delta_message_for_reported_only_updates(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"on": True}}})
    )
    assert iot_mock.messages("$aws/things/lamp/shadow/update/delta") == []


def test_named_shadow_topics(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="lamp",
        shadowName="cfg",
        payload=json.dumps({"state": {"reported": {"a": 1}}}),
    )
    iot_data.delete_thing_shadow(thingName="lamp", shadowName="cfg")
    assert topics(iot_mock, "$aws/things/lamp/shadow/name/cfg/#") == [
        "$aws/things/lamp/shadow/name/cfg/update/accepted",
        "$aws/things/lamp/shadow/name/cfg/update/documents",
        "$aws/things/lamp/shadow/name/cfg/delete/accepted",
    ]
    assert (
        iot_mock.messages("$aws/things/lamp/shadow/name/cfg/delete/accepted")[0].json()["version"]
        == 1
    )


def test_rejected_update_publishes_the_error_document(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.update_thing_shadow(
        thingName="lamp", payload=json.dumps({"state": {"reported": {"a": 1}}})
    )
    with pytest.raises(ClientError):
        iot_data.update_thing_shadow(
            thingName="lamp",
            payload=json.dumps({"state": {"reported": {"a": 2}}, "version": 9, "clientToken": "x"}),
        )
    (rejected,) = iot_mock.messages("$aws/things/lamp/shadow/update/rejected")
    document = rejected.json()
    assert document["code"] == 409
    assert document["message"] == "Version conflict"
    assert document["clientToken"] == "x"
    assert isinstance(document["timestamp"], int)


def test_delete_of_a_missing_shadow_publishes_rejected(iot_mock: IotMock, iot_data: Any) -> None:
    with pytest.raises(ClientError):
        iot_data.delete_thing_shadow(thingName="ghost")
    (rejected,) = iot_mock.messages("$aws/things/ghost/shadow/delete/rejected")
    assert rejected.json()["code"] == 404
    assert rejected.json()["message"] == "No shadow exists with name: 'ghost'"


def test_publishing_to_the_update_topic_updates_the_shadow(
    iot_mock: IotMock, iot_data: Any
) -> None:
    iot_data.publish(
        topic="$aws/things/lamp/shadow/update",
        payload=json.dumps({"state": {"reported": {"on": True}}, "clientToken": "mqtt"}),
    )
    accepted = iot_mock.messages("$aws/things/lamp/shadow/update/accepted")
    assert accepted[0].json()["clientToken"] == "mqtt"
    shadow = json.loads(iot_data.get_thing_shadow(thingName="lamp")["payload"].read())
    assert shadow["state"] == {"reported": {"on": True}}


def test_an_invalid_update_request_is_answered_on_rejected(
    iot_mock: IotMock, iot_data: Any
) -> None:
    iot_data.publish(topic="$aws/things/lamp/shadow/update", payload=b"{bad")
    (rejected,) = iot_mock.messages("$aws/things/lamp/shadow/update/rejected")
    assert rejected.json()["code"] == 400
    assert rejected.json()["message"] == "Invalid JSON"


def test_get_and_delete_request_topics(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(
        topic="$aws/things/lamp/shadow/name/cfg/get", payload=json.dumps({"clientToken": "g1"})
    )
    (rejected,) = iot_mock.messages("$aws/things/lamp/shadow/name/cfg/get/rejected")
    assert rejected.json()["code"] == 404
    assert rejected.json()["clientToken"] == "g1"
    iot_data.update_thing_shadow(
        thingName="lamp",
        shadowName="cfg",
        payload=json.dumps({"state": {"desired": {"a": 1}}}),
    )
    iot_data.publish(topic="$aws/things/lamp/shadow/name/cfg/get", payload=b"{}")
    (accepted,) = iot_mock.messages("$aws/things/lamp/shadow/name/cfg/get/accepted")
    assert accepted.json()["state"] == {"desired": {"a": 1}, "delta": {"a": 1}}
    iot_data.publish(topic="$aws/things/lamp/shadow/name/cfg/delete", payload=b"")
    assert len(iot_mock.messages("$aws/things/lamp/shadow/name/cfg/delete/accepted")) == 1
    with pytest.raises(ClientError):
        iot_data.get_thing_shadow(thingName="lamp", shadowName="cfg")
