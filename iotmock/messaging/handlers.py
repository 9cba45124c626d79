"""MQTT messaging over the data plane: Publish and retained messages (GetRetainedMessage,
ListRetainedMessages).

Client connections (simulated devices, the MQTT listener) and the operations on them
(DeleteConnection, GetConnection, ...) are the devices family's: see
`iotmock.devices.sessions`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.messaging.log import publish

MAX_TOPIC_BYTES = 256
MAX_TOPIC_SLASHES = 7
MAX_PAYLOAD_BYTES = 128 * 1024
_BASIC_INGEST = re.compile(r"\$aws/rules/[^/]+/")
_BASIC_INGEST_TOPIC = re.compile(r"\$aws/rules/[^/]+(?:/.*)?")

# The reserved topics of AWS IoT (developer guide, "Reserved topics"), level by level:
# `*` is a level the client names (a thing, a job, a stream, ...), `{a,b}` one of the
# literal levels a and b. PUB: clients may publish to it; SUB: the service publishes on
# it and clients may subscribe (`_PS`: both). Basic Ingest (`$aws/rules/<rule>/...`) is apart: its
# topics go on beyond the mandatory `$aws/rules/<rule>/`.
_PUB, _SUB = "publish", "subscribe"
_P, _S, _PS = frozenset({_PUB}), frozenset({_SUB}), frozenset({_PUB, _SUB})
_SHADOW_PREFIXES = ("$aws/things/*/shadow", "$aws/things/*/shadow/name/*")
_COMMANDS = "$aws/commands/{things,clients}/*/executions/*"
_RESERVED_TOPIC_SPECS: tuple[tuple[str, frozenset[str]], ...] = (
    # Device Shadow: a prefix for the classic and for named shadows.
    *(
        spec
        for prefix in _SHADOW_PREFIXES
        for spec in (
            (f"{prefix}/{{update,get,delete}}", _PS),
            (f"{prefix}/{{update,get,delete}}/{{accepted,rejected}}", _S),
            (f"{prefix}/update/{{delta,documents}}", _S),
        )
    ),
    # Jobs (notify, notify-next and their namespace variants are `jobs/*`).
    ("$aws/things/*/jobs/{get,start-next}", _P),
    ("$aws/things/*/jobs/*/{get,update}", _P),
    ("$aws/things/*/jobs/*", _S),
    ("$aws/things/*/jobs/{get,start-next}/{accepted,rejected}", _S),
    ("$aws/things/*/jobs/*/{get,update}/{accepted,rejected}", _S),
    # Device Defender metrics.
    ("$aws/things/*/defender/metrics/{json,cbor}", _P),
    ("$aws/things/*/defender/metrics/{json,cbor}/{accepted,rejected}", _S),
    # MQTT-based file delivery (streams).
    ("$aws/things/*/streams/*/{describe,get}/{json,cbor}", _P),
    ("$aws/things/*/streams/*/{description,data,rejected}/{json,cbor}", _S),
    # Secure tunneling.
    ("$aws/things/*/tunnels/notify", _S),
    # Fleet provisioning.
    ("$aws/certificates/{create,create-from-csr}/{json,cbor}", _P),
    ("$aws/certificates/{create,create-from-csr}/{json,cbor}/{accepted,rejected}", _S),
    ("$aws/provisioning-templates/*/provision/{json,cbor}", _P),
    ("$aws/provisioning-templates/*/provision/{json,cbor}/{accepted,rejected}", _S),
    # Device Location.
    ("$aws/device_location/*/get_position_estimate", _P),
    ("$aws/device_location/*/get_position_estimate/{accepted,rejected}", _S),
    # Commands.
    (f"{_COMMANDS}/request", _S),
    (f"{_COMMANDS}/request/{{json,cbor}}", _S),
    (f"{_COMMANDS}/response", _P),
    (f"{_COMMANDS}/response/{{json,cbor}}", _P),
    (f"{_COMMANDS}/response/{{accepted,rejected}}", _S),
    (f"{_COMMANDS}/response/{{accepted,rejected}}/{{json,cbor}}", _S),
    # Events.
    ("$aws/events/presence/{connected,disconnected,connect_failed}/*", _S),
    ("$aws/events/subscriptions/{subscribed,unsubscribed}/*", _S),
    ("$aws/events/certificates/registered/*", _S),
    ("$aws/events/{job,jobExecution,commandExecution}/*/*", _S),
    ("$aws/events/{thing,thingGroup,thingType}/*/{created,updated,deleted}", _S),
    ("$aws/events/thingTypeAssociation/thing/*/*", _S),
    ("$aws/events/thingGroupMembership/thingGroup/*/thing/*/{added,removed}", _S),
    (
        "$aws/events/thingGroupHierarchy/thingGroup/*/childThingGroup/*/{added,removed}",
        _S,
    ),
    # AWS IoT SiteWise asset property notifications.
    ("$aws/sitewise/asset-models/*/assets/*/properties/*", _S),
)

# One level of a reserved topic: the literal levels it may be, or None for any level.
_Level = frozenset[str] | None


def _levels(spec: str) -> tuple[_Level, ...]:
    def level(text: str) -> _Level:
        if text == "*":
            return None
        if text.startswith("{"):
            return frozenset(text[1:-1].split(","))
        return frozenset({text})

    return tuple(level(text) for text in spec.split("/"))


_Pattern = tuple[_Level, ...]
# The patterns by number of levels: a topic is compared with those of its own length.
_RESERVED_BY_LENGTH: dict[int, list[tuple[_Pattern, frozenset[str]]]] = {}
for _spec, _operations in _RESERVED_TOPIC_SPECS:
    _pattern = _levels(_spec)
    _RESERVED_BY_LENGTH.setdefault(len(_pattern), []).append((_pattern, _operations))
_NONE: frozenset[str] = frozenset()


def _fits(levels: list[str], pattern: _Pattern) -> bool:
    """Whether a topic (or topic filter) lies within a reserved topic pattern: each level
    is the pattern's (`+` standing for any one level, a last `#` for the rest)."""
    for index, level in enumerate(levels):
        if level == "#":
            return True
        if index >= len(pattern):
            return False
        allowed = pattern[index]
        if level == "+" or allowed is None:
            if not level:
                return False
            continue
        if level not in allowed:
            return False
    return len(levels) == len(pattern)


def reserved_operations(topic: str) -> frozenset[str]:
    """What clients may do with `topic` (or a topic filter) when it is one of AWS IoT's
    reserved topics, Basic Ingest aside: "publish", "subscribe", both; empty otherwise."""
    if not topic.startswith("$aws/"):
        return _NONE
    levels = topic.split("/")
    if levels[-1] == "#":  # a filter: any reserved topic at least as long as its prefix
        lengths = [n for n in _RESERVED_BY_LENGTH if n >= len(levels) - 1]
    else:
        lengths = [len(levels)]
    found = _NONE
    for length in lengths:
        for pattern, operations in _RESERVED_BY_LENGTH.get(length, ()):
            if not operations <= found and _fits(levels, pattern):
                found = found | operations
    return found


def counted_slashes(topic: str) -> int:
    """The forward slashes of a topic or topic filter that count toward AWS's limit of 7:
    the mandatory segments of reserved topics do not count (AWS IoT Core quotas,
    "Maximum number of slashes in topic and topic filter"), so a reserved topic counts
    none, and a Basic Ingest topic only what follows `$aws/rules/<rule>/`."""
    return _counted(topic, bool(reserved_operations(topic)))


def _counted(topic: str, reserved: bool) -> int:
    if _BASIC_INGEST.match(topic):
        return topic.count("/") - 3
    return 0 if reserved else topic.count("/")


@dataclass(slots=True)
class RetainedMessage:
    topic: str
    payload: bytes
    qos: int
    last_modified_ms: int
    user_properties: bytes | None = None


@dataclass(slots=True)
class MessagingStore:
    retained: SortedIndex[RetainedMessage] = field(default_factory=SortedIndex)


def retained_of(backend: Backend) -> MessagingStore:
    """The retained messages of `backend` (the device session layer delivers them on
    subscribe; they change only through this family's publishes)."""
    return backend.store(MessagingStore)


# --------------------------------------------------------------------------- topics


def check_publish_topic(topic: str, *, retain: bool) -> None:
    """Refuse topics a client cannot publish to (spec §9, MQTT topic rules)."""
    if len(topic.encode()) > MAX_TOPIC_BYTES:
        raise invalid_request(
            f"The topic {topic!r} is longer than {MAX_TOPIC_BYTES} bytes (UTF-8)."
        )
    if "+" in topic or "#" in topic:
        raise invalid_request(
            f"The topic {topic!r} contains a wildcard (+ or #): "
            "wildcards are allowed in topic filters, not in the topic of a message."
        )
    operations = reserved_operations(topic)
    slashes = _counted(topic, bool(operations))
    if slashes > MAX_TOPIC_SLASHES:
        raise invalid_request(
            f"The topic {topic!r} has {slashes} forward slashes; "
            f"at most {MAX_TOPIC_SLASHES} are allowed."
        )
    if topic.startswith("$"):
        if retain:
            raise invalid_request(
                f"The topic {topic!r} is reserved: messages to topics starting with $ "
                "cannot be retained."
            )
        if _PUB not in operations and not _BASIC_INGEST_TOPIC.fullmatch(topic):
            raise invalid_request(
                f"The topic {topic!r} is a reserved topic that clients cannot publish to."
            )


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- Publish


@operation("iot-data", "Publish")
def publish_message(ctx: RequestContext, params: Params) -> dict[str, Any]:
    topic = params["topic"]
    retain = bool(params.get("retain", False))
    qos = int(params.get("qos", 0))
    payload: bytes = params.get("payload") or b""
    check_publish_topic(topic, retain=retain)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ServiceError(
            "RequestEntityTooLargeException", "The payload exceeds the maximum size allowed"
        )
    user_properties = parse_user_properties(params.get("userProperties"))
    if retain:
        retain_message(ctx, topic, payload, qos, user_properties)
    publish(
        ctx,
        topic,
        payload,
        qos=qos,
        retain=retain,
        source="client",
        user_properties=user_properties,
        content_type=params.get("contentType"),
        correlation_data=params.get("correlationData"),
        message_expiry=params.get("messageExpiry"),
        response_topic=params.get("responseTopic"),
        payload_format_indicator=params.get("payloadFormatIndicator"),
    )
    return {}


def parse_user_properties(value: Any) -> Any:
    """userProperties is "a JSON string that contains an array of JSON objects"; boto3
    passes it as a JSON value, so a caller's JSON string arrives double-encoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise invalid_request(
                "userProperties must be a JSON array of JSON objects, "
                'e.g. [{"deviceName": "alpha"}].'
            ) from None
    return value


def retain_message(
    ctx: RequestContext, topic: str, payload: bytes, qos: int, user_properties: Any
) -> None:
    """Keep the last retained message of `topic`; an empty payload clears it."""
    retained = ctx.backend.store(MessagingStore).retained
    if not payload:
        retained.pop(topic)
        return
    retained[topic] = RetainedMessage(
        topic=topic,
        payload=payload,
        qos=qos,
        last_modified_ms=clock.now_millis(),
        user_properties=_encode_json(user_properties) if user_properties is not None else None,
    )


@operation("iot-data", "GetRetainedMessage")
def get_retained_message(ctx: RequestContext, params: Params) -> dict[str, Any]:
    topic = params["topic"]
    found = ctx.backend.store(MessagingStore).retained.get(topic)
    if found is None:
        raise not_found(f"No retained message exists for topic: '{topic}'")
    return {
        "topic": found.topic,
        "payload": found.payload,
        "qos": found.qos,
        "lastModifiedTime": found.last_modified_ms,
        "userProperties": found.user_properties,
    }


@operation("iot-data", "ListRetainedMessages")
def list_retained_messages(ctx: RequestContext, params: Params) -> dict[str, Any]:
    retained = ctx.backend.store(MessagingStore).retained
    page, token = page_of("ListRetainedMessages", retained, params)
    return {
        "retainedTopics": [
            {
                "topic": item.topic,
                "payloadSize": len(item.payload),
                "qos": item.qos,
                "lastModifiedTime": item.last_modified_ms,
            }
            for item in page
        ],
        "nextToken": token,
    }
