"""iot-data GetConnection, ListSubscriptions and SendDirectMessage over the session
registry. These operations exist only in botocore's newest iot-data model: under the
pinned botocore the tests skip; the newest-botocore CI step runs them
(`-m newest_botocore`)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from freezegun import freeze_time

from iotmock import IotMock
from iotmock.core.model import operation_names
from iotmock.devices.handlers import NEWER_OPERATIONS

ARN = "arn:aws:iot:us-east-1:123456789012"

pytestmark = [
    pytest.mark.newest_botocore,
    pytest.mark.skipif(
        not {op for _, op in NEWER_OPERATIONS} <= set(operation_names("iot-data")),
        reason="the installed botocore's iot-data model has no GetConnection / "
        "ListSubscriptions / SendDirectMessage (botocore 1.44+ has them)",
    ),
]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------- GetConnection


def test_get_connection_of_a_connected_client(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(
        policyName="all",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
            }
        ),
    )
    iot.attach_policy(policyName="all", target=created["certificateArn"])
    iot.create_thing(thingName="lamp")
    iot.attach_thing_principal(thingName="lamp", principal=created["certificateArn"])
    with freeze_time("2026-06-01 08:00:00"):
        iot_mock.devices.connect(
            "lamp",
            certificate_id=created["certificateId"],
            clean_session=False,
            session_expiry=1800,
            keep_alive=60,
        )
    found = iot_data.get_connection(clientId="lamp")
    assert found["connected"] is True
    assert found["clientId"] == "lamp"
    assert found["thingName"] == "lamp"
    assert found["cleanSession"] is False
    assert found["sessionExpiry"] == 1800
    assert found["keepAliveDuration"] == 60
    assert found["connectedSince"] == 1780300800000
    assert "sourceIp" not in found
    with_socket = iot_data.get_connection(clientId="lamp", includeSocketInformation=True)
    assert with_socket["sourceIp"] == "127.0.0.1"
    assert with_socket["targetPort"] == 8883


def test_get_connection_after_disconnect_and_unknown_clients(
    iot_mock: IotMock, iot_data: Any
) -> None:
    with freeze_time("2026-06-01 08:00:00") as frozen:
        device = iot_mock.devices.connect("d")
        frozen.tick(10)
        device.drop("MQTT_KEEP_ALIVE_TIMEOUT")
        found = iot_data.get_connection(clientId="d")
        assert found["connected"] is False
        assert found["disconnectReason"] == "MQTT_KEEP_ALIVE_TIMEOUT"
        assert found["disconnectedSince"] == 1780300810000
        assert "connectedSince" not in found
        frozen.tick(31 * 60)  # AWS remembers a disconnected client for 30 minutes
        with pytest.raises(ClientError) as exc:
            iot_data.get_connection(clientId="d")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot_data.get_connection(clientId="never-connected")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot_data.get_connection(clientId="$reserved")
    assert _error(exc) == ("InvalidRequestException", 400)


# --------------------------------------------------------------------------- ListSubscriptions


def test_list_subscriptions_pages_in_filter_order(iot_mock: IotMock, iot_data: Any) -> None:
    device = iot_mock.devices.connect("d", clean_session=False)
    filters = [f"room/{n:02d}/#" for n in range(25)]
    for topic_filter in reversed(filters):
        device.subscribe(topic_filter, qos=1)
    device.subscribe("alerts", qos=0)
    first = iot_data.list_subscriptions(clientId="d")
    assert len(first["subscriptions"]) == 20  # the documented default page size
    assert first["subscriptions"][0] == {"topicFilter": "alerts", "qos": 0}
    assert first["subscriptions"][1] == {"topicFilter": "room/00/#", "qos": 1}
    paginator = iot_data.get_paginator("list_subscriptions")
    pages = list(paginator.paginate(clientId="d", PaginationConfig={"PageSize": 7}))
    listed = [s["topicFilter"] for page in pages for s in page["subscriptions"]]
    assert listed == ["alerts", *filters]
    assert [len(p["subscriptions"]) for p in pages] == [7, 7, 7, 5]
    # An offline persistent session still has its subscriptions.
    device.drop()
    assert len(iot_data.list_subscriptions(clientId="d", maxResults=200)["subscriptions"]) == 26
    clean = iot_mock.devices.connect("c")
    clean.subscribe("x")
    clean.disconnect()
    with pytest.raises(ClientError) as exc:
        iot_data.list_subscriptions(clientId="c")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot_data.list_subscriptions(clientId="d", maxResults=201)
    assert _error(exc) == ("InvalidRequestException", 400)


# --------------------------------------------------------------------------- SendDirectMessage


def test_send_direct_message_reaches_only_that_client(iot_mock: IotMock, iot_data: Any) -> None:
    target = iot_mock.devices.connect("target", protocol="mqtt5")
    bystander = iot_mock.devices.connect("bystander")
    bystander.subscribe("#")
    answer = iot_data.send_direct_message(
        clientId="target",
        topic="commands/reboot",
        payload=b'{"at":"now"}',
        contentType="application/json",
        responseTopic="commands/reboot/done",
        userProperties=json.dumps([{"k": "v"}]),
    )
    assert answer["message"] and answer["traceId"]
    (delivery,) = target.deliveries()
    assert delivery.message.topic == "commands/reboot"
    assert delivery.message.json() == {"at": "now"}
    assert delivery.qos == 0
    assert delivery.message.content_type == "application/json"
    assert delivery.message.response_topic == "commands/reboot/done"
    assert delivery.message.user_properties == [{"k": "v"}]
    # Not a publish: no subscriber, no rule, no message log sees it.
    assert bystander.received("commands/#") == []
    assert iot_mock.messages("commands/#") == []


def test_send_direct_message_with_confirmation(iot_mock: IotMock, iot_data: Any) -> None:
    iot_mock.devices.connect("acks")
    iot_data.send_direct_message(clientId="acks", topic="t", payload=b"1", confirmation=True)
    silent = iot_mock.devices.connect("silent", auto_acknowledge=False)
    # botocore retries a 504 as it would AWS's: one attempt, so one delivery.
    once = boto3.client(
        "iot-data", region_name="us-east-1", config=Config(retries={"total_max_attempts": 1})
    )
    with pytest.raises(ClientError) as exc:
        once.send_direct_message(
            clientId="silent", topic="t", payload=b"2", confirmation=True, timeout=1
        )
    assert _error(exc) == ("GatewayTimeoutException", 504)
    (delivery,) = silent.deliveries()
    assert delivery.qos == 1  # confirmation delivers at QoS 1
    with pytest.raises(ClientError) as exc:
        iot_data.send_direct_message(clientId="acks", topic="t", confirmation=True, timeout=16)
    assert _error(exc) == ("InvalidRequestException", 400)


def test_send_direct_message_errors(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot_data.send_direct_message(clientId="nobody", topic="t", payload=b"x")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    offline = iot_mock.devices.connect("offline", clean_session=False)
    offline.drop()
    with pytest.raises(ClientError) as exc:  # never queued for an offline session
        iot_data.send_direct_message(clientId="offline", topic="t", payload=b"x")
    assert _error(exc) == ("ResourceNotFoundException", 404)
    iot_mock.devices.connect("d")
    with pytest.raises(ClientError) as exc:
        iot_data.send_direct_message(clientId="d", topic="a/+/b", payload=b"x")
    assert _error(exc) == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot_data.send_direct_message(clientId="d", topic="t", payload=b"x" * (128 * 1024 + 1))
    assert _error(exc) == ("RequestEntityTooLargeException", 413)
    # The receiver's policy must allow iot:Receive on the topic.
    created = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_policy(
        policyName="narrow",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
                    {"Effect": "Allow", "Action": "iot:Receive", "Resource": f"{ARN}:topic/ok"},
                ],
            }
        ),
    )
    iot.attach_policy(policyName="narrow", target=created["certificateArn"])
    device = iot_mock.devices.connect("cert-device", certificate_id=created["certificateId"])
    iot_data.send_direct_message(clientId="cert-device", topic="ok", payload=b"1")
    with pytest.raises(ClientError) as exc:
        iot_data.send_direct_message(clientId="cert-device", topic="not-ok", payload=b"2")
    assert _error(exc) == ("ForbiddenException", 403)
    assert [m.topic for m in device.received()] == ["ok"]
