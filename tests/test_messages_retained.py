"""Retained messages (GetRetainedMessage, ListRetainedMessages) and DeleteConnection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from iotmock import IotMock


def test_retained_message_is_kept_per_topic(iot_data: Any) -> None:
    with freeze_time("2026-01-01 00:00:00"):
        iot_data.publish(
            topic="status/door",
            payload=b"open",
            qos=1,
            retain=True,
            userProperties=json.dumps([{"k": "v"}]),
        )
    found = iot_data.get_retained_message(topic="status/door")
    assert found["topic"] == "status/door"
    assert found["payload"] == b"open"
    assert found["qos"] == 1
    assert found["lastModifiedTime"] == 1767225600000  # epoch milliseconds
    assert json.loads(found["userProperties"]) == [{"k": "v"}]


def test_a_new_retained_publish_replaces_the_old_one(iot_data: Any) -> None:
    iot_data.publish(topic="status/door", payload=b"open", retain=True)
    iot_data.publish(topic="status/door", payload=b"closed", retain=True)
    iot_data.publish(topic="status/door", payload=b"not retained")
    assert iot_data.get_retained_message(topic="status/door")["payload"] == b"closed"


def test_empty_retained_payload_clears_the_topic(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="status/door", payload=b"open", retain=True)
    iot_data.publish(topic="status/door", payload=b"", retain=True)
    with pytest.raises(ClientError) as exc:
        iot_data.get_retained_message(topic="status/door")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert len(iot_mock.messages("status/door")) == 2


def test_missing_retained_message_is_404(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.get_retained_message(topic="nothing/here")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "nothing/here" in exc.value.response["Error"]["Message"]


def test_reserved_topics_cannot_be_retained(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic="$aws/things/t/shadow/update", payload=b"{}", retain=True)
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"


def test_list_retained_messages_pages_with_summaries(iot_data: Any) -> None:
    for topic in ("c", "a", "b/x"):
        iot_data.publish(topic=topic, payload=b"12345", retain=True)
    first = iot_data.list_retained_messages(maxResults=2)
    assert [t["topic"] for t in first["retainedTopics"]] == ["a", "b/x"]
    assert set(first["retainedTopics"][0]) == {"topic", "payloadSize", "qos", "lastModifiedTime"}
    assert first["retainedTopics"][0]["payloadSize"] == 5
    second = iot_data.list_retained_messages(maxResults=2, nextToken=first["nextToken"])
    assert [t["topic"] for t in second["retainedTopics"]] == ["c"]
    assert "nextToken" not in second


def test_list_retained_messages_rejects_a_bad_token(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.list_retained_messages(nextToken="garbage")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"


# --------------------------------------------------------------------------- connections


def test_delete_connection_of_unknown_client_is_404(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.delete_connection(clientId="nobody")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_client_id_starting_with_dollar_is_invalid(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.delete_connection(clientId="$bad")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"


def test_delete_connection_disconnects_and_publishes_lifecycle_events(
    iot_mock: IotMock, iot_data: Any
) -> None:
    iot_mock.devices.connect("device-1", will_topic="devices/device-1/will", will_payload="bye")
    (connected,) = iot_mock.messages("$aws/events/presence/connected/device-1")
    assert connected.json()["eventType"] == "connected"
    assert connected.json()["clientId"] == "device-1"
    iot_data.delete_connection(clientId="device-1")
    (disconnected,) = iot_mock.messages("$aws/events/presence/disconnected/device-1")
    event = disconnected.json()
    assert event["disconnectReason"] == "API_INITIATED_DISCONNECT"
    assert event["clientInitiatedDisconnect"] is False
    assert event["sessionIdentifier"] == connected.json()["sessionIdentifier"]
    assert event["versionNumber"] == connected.json()["versionNumber"] + 1
    (will,) = iot_mock.messages("devices/device-1/will")
    assert will.payload == b"bye"
    assert will.client_id == "device-1"
    with pytest.raises(ClientError):
        iot_data.delete_connection(clientId="device-1")


def test_prevent_will_message(iot_mock: IotMock, iot_data: Any) -> None:
    iot_mock.devices.connect("device-1", will_topic="w", will_payload=b"bye")
    iot_data.delete_connection(clientId="device-1", preventWillMessage=True, cleanSession=True)
    assert iot_mock.messages("w") == []


def test_reconnecting_client_id_drops_the_old_session(iot_mock: IotMock) -> None:
    iot_mock.devices.connect("device-1")
    iot_mock.devices.connect("device-1")
    (disconnected,) = iot_mock.messages("$aws/events/presence/disconnected/device-1")
    assert disconnected.json()["disconnectReason"] == "DUPLICATE_CLIENTID"
