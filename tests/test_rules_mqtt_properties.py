"""The IoT SQL functions reading MQTT 5 properties of the message: get_user_properties
and get_mqtt_property, fed by simulated devices, real MQTT 5 clients and iot-data
Publish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from mqtt_devices import Device, provision
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/rules"
EVERYTHING = (
    "SELECT get_user_properties('kind') AS kind, get_user_properties('none') AS none, "
    "get_user_properties() AS every, get_mqtt_property('content_type') AS contentType, "
    "get_mqtt_property('format_indicator') AS formatIndicator, "
    "get_mqtt_property('response_topic') AS responseTopic, "
    "get_mqtt_property('correlation_data') AS correlationData, "
    "get_mqtt_property('bogus') AS bogus, get_user_property('kind') AS singular "
    "FROM 'sensors/#'"
)


def _rule(iot: Any, name: str, sql: str) -> None:
    iot.create_topic_rule(
        ruleName=name,
        topicRulePayload={
            "sql": sql,
            "actions": [{"republish": {"roleArn": ROLE, "topic": f"out/{name}"}}],
        },
    )


def _outputs(mock: IotMock, name: str) -> list[Any]:
    return [invocation.json() for invocation in mock.rules.invocations(name)]


def test_a_simulated_mqtt5_publish_reaches_the_sql_functions(iot_mock: IotMock, iot: Any) -> None:
    _rule(iot, "props", EVERYTHING)
    device = iot_mock.devices.connect("sensor-1", protocol="mqtt5")
    device.publish(
        "sensors/1/temp",
        b'{"t": 21}',
        user_properties=[{"kind": "reading"}, {"site": "lab"}, {"kind": "hourly"}],
        content_type="application/json",
        response_topic="sensors/1/reply",
        correlation_data="Y29ycmVsYXRpb24=",
    )
    # A repeated key gives every value, in order; a missing one, or a function AWS does
    # not have (get_user_property), is Undefined and leaves its field out.
    assert _outputs(iot_mock, "props") == [
        {
            "kind": ["reading", "hourly"],
            "every": [{"kind": "reading"}, {"site": "lab"}, {"kind": "hourly"}],
            "contentType": "application/json",
            "responseTopic": "sensors/1/reply",
            "correlationData": "Y29ycmVsYXRpb24=",
        }
    ]
    (republished,) = iot_mock.messages("out/props")
    assert republished.json()["kind"] == ["reading", "hourly"]


def test_a_message_without_properties_has_none(iot_mock: IotMock, iot: Any) -> None:
    _rule(iot, "props", EVERYTHING)
    device = iot_mock.devices.connect("sensor-1")  # MQTT 3.1.1: no properties at all
    device.publish("sensors/1/temp", b'{"t": 21}')
    assert _outputs(iot_mock, "props") == [{}]


def test_properties_in_where_and_with_basic_ingest(iot_mock: IotMock, iot: Any) -> None:
    _rule(
        iot,
        "alerts",
        "SELECT t, get_mqtt_property('content_type') AS type FROM 'sensors/+/temp' "
        "WHERE 'alert' IN get_user_properties('kind')",
    )
    device = iot_mock.devices.connect("sensor-1", protocol="mqtt5")
    device.publish("sensors/1/temp", b'{"t": 1}', user_properties=[{"kind": "reading"}])
    device.publish(
        "sensors/1/temp",
        b'{"t": 2}',
        user_properties=[{"kind": "reading"}, {"kind": "alert"}],
        content_type="application/json",
    )
    # Basic Ingest goes to the rule directly, with the message's properties.
    device.publish(
        "$aws/rules/alerts/sensors/1/temp", b'{"t": 3}', user_properties=[{"kind": "alert"}]
    )
    assert _outputs(iot_mock, "alerts") == [{"t": 2, "type": "application/json"}, {"t": 3}]


def test_iot_data_publish_properties(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    _rule(iot, "props", EVERYTHING)
    iot_data.publish(
        topic="sensors/2/temp",
        payload=b'{"t": 22}',
        payloadFormatIndicator="UTF8_DATA",
        contentType="text/plain",
        correlationData="YWJj",
        userProperties=json.dumps([{"kind": "manual", "site": "roof"}]),
    )
    assert _outputs(iot_mock, "props") == [
        {
            "kind": ["manual"],
            "every": [{"kind": "manual"}, {"site": "roof"}],
            "contentType": "text/plain",
            "formatIndicator": "UTF8_DATA",
            "correlationData": "YWJj",
        }
    ]


@pytest.mark.parametrize(("indicator", "expected"), [(1, "UTF8_DATA"), (0, "UNSPECIFIED_BYTES")])
def test_a_real_mqtt5_client_publish(
    iot_mqtt: IotMock, tmp_path: Path, indicator: int, expected: str
) -> None:
    _rule(boto3.client("iot", region_name="us-east-1"), "props", EVERYTHING)
    device = Device(iot_mqtt, provision(tmp_path), "sensor-5")
    device.connect()
    properties = Properties(PacketTypes.PUBLISH)
    properties.PayloadFormatIndicator = indicator
    properties.ContentType = "application/json"
    properties.ResponseTopic = "sensors/5/reply"
    properties.CorrelationData = b"req-1"
    properties.UserProperty = [("kind", "reading"), ("kind", "hourly")]
    info = device.client.publish("sensors/5/temp", b'{"t": 5}', qos=1, properties=properties)
    info.wait_for_publish(timeout=5)
    device.close()
    assert _outputs(iot_mqtt, "props") == [
        {
            "kind": ["reading", "hourly"],
            "every": [{"kind": "reading"}, {"kind": "hourly"}],
            "contentType": "application/json",
            "formatIndicator": expected,
            "responseTopic": "sensors/5/reply",
            "correlationData": "cmVxLTE=",  # base64 of the bytes, as AWS gives it
        }
    ]
