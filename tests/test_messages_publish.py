"""iot-data Publish, topic validation and the message log (`iot_mock.messages`)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of

from iotmock import IotMock, IotMockWarning


def test_publish_records_the_message_with_mqtt5_properties(
    iot_mock: IotMock, iot_data: Any
) -> None:
    response = iot_data.publish(
        topic="sensors/kitchen/temp",
        qos=1,
        payload=b'{"t": 21}',
        contentType="application/json",
        responseTopic="sensors/kitchen/reply",
        correlationData="Y29ycg==",
        messageExpiry=60,
        payloadFormatIndicator="UTF8_DATA",
        userProperties=json.dumps([{"deviceName": "alpha"}]),
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    (message,) = iot_mock.messages("sensors/#")
    assert message.topic == "sensors/kitchen/temp"
    assert message.json() == {"t": 21}
    assert message.qos == 1
    assert message.retain is False
    assert message.source == "client"
    assert message.content_type == "application/json"
    assert message.response_topic == "sensors/kitchen/reply"
    assert message.correlation_data == "Y29ycg=="
    assert message.message_expiry == 60
    assert message.payload_format_indicator == "UTF8_DATA"
    assert message.user_properties == [{"deviceName": "alpha"}]


def test_publish_defaults_and_binary_payload(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="raw", payload=b"\x00\xff")
    iot_data.publish(topic="empty")
    raw, empty = iot_mock.messages()
    assert raw.payload == b"\x00\xff"
    assert (raw.qos, raw.retain) == (0, False)
    assert empty.payload == b""


def test_messages_filter_with_mqtt_wildcards(iot_mock: IotMock, iot_data: Any) -> None:
    for topic in ("a/b/c", "a/x/c", "a/b", "b/b/c"):
        iot_data.publish(topic=topic, payload=b"1")
    assert [m.topic for m in iot_mock.messages("a/+/c")] == ["a/b/c", "a/x/c"]
    assert [m.topic for m in iot_mock.messages("a/#")] == ["a/b/c", "a/x/c", "a/b"]
    assert [m.topic for m in iot_mock.messages("a/b")] == ["a/b"]
    assert len(iot_mock.messages()) == 4


def test_qos_above_one_is_rejected(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic="a", qos=2, payload=b"x")
    assert code_of(exc) == ("InvalidRequestException", 400)


@pytest.mark.parametrize(
    ("topic", "fragment"),
    [
        ("a/+/b", "wildcard"),
        ("a/#", "wildcard"),
        ("/".join("abcdefghi"), "forward slashes"),
        ("t" * 257, "longer than 256 bytes"),
        ("$aws/things/x/shadow/update/accepted", "reserved topic"),
        ("$SYS/broker", "reserved topic"),
        ("$aws/events/presence/connected/c1", "reserved topic"),
    ],
)
def test_invalid_topics_are_rejected(iot_data: Any, topic: str, fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic=topic, payload=b"x")
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert fragment in exc.value.response["Error"]["Message"]


def test_seven_slashes_are_allowed_and_basic_ingest_prefix_does_not_count(
    iot_mock: IotMock, iot_data: Any
) -> None:
    iot_data.publish(topic="/".join("abcdefgh"), payload=b"x")
    iot_data.publish(topic="$aws/rules/myRule/" + "/".join("abcdefgh"), payload=b"x")
    assert len(iot_mock.messages()) == 2


def test_client_may_publish_to_documented_reserved_request_topics(
    iot_mock: IotMock, iot_data: Any
) -> None:
    for topic in (
        "$aws/things/t/jobs/get",
        "$aws/things/t/jobs/job-1/update",
        "$aws/things/t/shadow/name/s/get",
        "$aws/rules/myRule",
        "$aws/commands/things/t/executions/e-1/response/json",
        "$aws/commands/clients/c-1/executions/e-2/response",
    ):
        iot_data.publish(topic=topic, payload=b"{}")
    # The jobs service answers the two jobs requests (on .../rejected: no thing "t").
    requests = [m for m in iot_mock.messages("$aws/things/t/jobs/#") if m.source == "client"]
    assert len(requests) == 2
    for topic in (
        "$aws/commands/things/t/executions/e-1/response/json",
        "$aws/commands/clients/c-1/executions/e-2/response",
    ):
        assert [m.payload for m in iot_mock.messages(topic)] == [b"{}"]
    # The service's answers on the same tree stay reserved.
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic="$aws/commands/things/t/executions/e-1/response/accepted/json")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_payload_above_128_kb_is_too_large(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic="big", payload=b"x" * (128 * 1024 + 1))
    assert code_of(exc) == ("RequestEntityTooLargeException", 413)


def test_malformed_user_properties_are_rejected(iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.publish(topic="a", payload=b"x", userProperties="not json")
    assert code_of(exc) == ("InvalidRequestException", 400)


def test_messages_are_per_account(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="a", payload=b"x")
    with pytest.warns(IotMockWarning, match="account 123456789012"):
        assert iot_mock.messages(account_id="999999999999") == []
