"""MQTT 5 PUBLISH properties and the message fields the mock records (the ones iot-data
Publish takes: user properties, content type, response topic, correlation data, message
expiry, payload format indicator), both ways."""

from __future__ import annotations

import base64
from typing import Any

from iotmock.messaging.log import Message


def message_details(properties: dict[str, Any]) -> dict[str, Any]:
    """MQTT 5 PUBLISH properties as the message fields iot-data Publish records."""
    details: dict[str, Any] = {}
    if not properties:
        return details
    if "user_property" in properties:
        details["user_properties"] = [{k: v} for k, v in properties["user_property"]]
    if "content_type" in properties:
        details["content_type"] = properties["content_type"]
    if "response_topic" in properties:
        details["response_topic"] = properties["response_topic"]
    if "correlation_data" in properties:
        details["correlation_data"] = base64.b64encode(properties["correlation_data"]).decode()
    if "message_expiry_interval" in properties:
        details["message_expiry"] = properties["message_expiry_interval"]
    if "payload_format_indicator" in properties:
        indicator = properties["payload_format_indicator"]
        details["payload_format_indicator"] = "UTF8_DATA" if indicator else "UNSPECIFIED_BYTES"
    return details


def publish_properties(message: Message) -> dict[str, Any]:
    """The MQTT 5 properties a subscriber receives with `message`."""
    properties: dict[str, Any] = {}
    if message.payload_format_indicator == "UTF8_DATA":
        properties["payload_format_indicator"] = 1
    if message.message_expiry is not None:
        properties["message_expiry_interval"] = int(message.message_expiry)
    if message.content_type:
        properties["content_type"] = message.content_type
    if message.response_topic:
        properties["response_topic"] = message.response_topic
    if message.correlation_data:
        try:
            properties["correlation_data"] = base64.b64decode(message.correlation_data)
        except ValueError:
            properties["correlation_data"] = message.correlation_data.encode()
    if message.user_properties:
        pairs: list[tuple[str, str]] = []
        for item in message.user_properties:
            if isinstance(item, dict):
                pairs.extend((str(k), str(v)) for k, v in item.items())
        if pairs:
            properties["user_property"] = pairs
    return properties
