"""The reserved `$aws/...` topics and AWS's limit of 7 forward slashes: the mandatory
segments of reserved topics do not count (AWS IoT Core quotas), so every documented
reserved topic can be subscribed to (or published to, where clients may), even the
Commands replies with 8 slashes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iotmock import IotMock

TOPIC_FILTER_INVALID = 0x80  # the SUBACK code of a refused filter (MQTT 5 reason 0x8F)

# One example of every reserved topic family a client may subscribe to (DG: reserved
# topics), with the slashes each has.
SUBSCRIBABLE = [
    # Device Shadow, classic and named.
    "$aws/things/t/shadow/update",
    "$aws/things/t/shadow/get/accepted",
    "$aws/things/t/shadow/delete/rejected",
    "$aws/things/t/shadow/update/delta",
    "$aws/things/t/shadow/update/documents",
    "$aws/things/t/shadow/name/n/update/accepted",
    "$aws/things/t/shadow/name/n/get/rejected",
    "$aws/things/t/shadow/name/n/update/delta",
    "$aws/things/t/shadow/name/n/update/documents",  # 7 slashes
    # Jobs.
    "$aws/things/t/jobs/notify",
    "$aws/things/t/jobs/notify-next",
    "$aws/things/t/jobs/get/accepted",
    "$aws/things/t/jobs/start-next/rejected",
    "$aws/things/t/jobs/job-1/get/accepted",
    "$aws/things/t/jobs/job-1/update/rejected",
    # Device Defender.
    "$aws/things/t/defender/metrics/json/accepted",
    "$aws/things/t/defender/metrics/cbor/rejected",
    # MQTT-based file delivery.
    "$aws/things/t/streams/s1/description/json",
    "$aws/things/t/streams/s1/data/cbor",
    "$aws/things/t/streams/s1/rejected/json",
    # Secure tunneling.
    "$aws/things/t/tunnels/notify",
    # Fleet provisioning.
    "$aws/certificates/create/json/accepted",
    "$aws/certificates/create-from-csr/cbor/rejected",
    "$aws/provisioning-templates/tpl/provision/json/accepted",
    # Device Location.
    "$aws/device_location/d1/get_position_estimate/accepted",
    # Commands: the replies to a device's response have 8 slashes.
    "$aws/commands/things/t/executions/e1/request",
    "$aws/commands/things/t/executions/e1/request/json",
    "$aws/commands/clients/c/executions/e1/request/cbor",
    "$aws/commands/things/t/executions/e1/response/accepted",
    "$aws/commands/things/t/executions/e1/response/accepted/json",  # 8 slashes
    "$aws/commands/clients/c/executions/e1/response/rejected/cbor",  # 8 slashes
    # Events.
    "$aws/events/presence/connected/c",
    "$aws/events/presence/disconnected/c",
    "$aws/events/presence/connect_failed/c",
    "$aws/events/subscriptions/subscribed/c",
    "$aws/events/certificates/registered/ca1",
    "$aws/events/job/job-1/completed",
    "$aws/events/jobExecution/job-1/succeeded",
    "$aws/events/commandExecution/cmd/SUCCEEDED",
    "$aws/events/thing/t/created",
    "$aws/events/thingGroup/g/updated",
    "$aws/events/thingType/tt/deleted",
    "$aws/events/thingTypeAssociation/thing/t/tt",
    "$aws/events/thingGroupMembership/thingGroup/g/thing/t/added",  # 7 slashes
    "$aws/events/thingGroupHierarchy/thingGroup/p/childThingGroup/c/removed",  # 7 slashes
    # AWS IoT SiteWise.
    "$aws/sitewise/asset-models/m/assets/a/properties/p",  # 7 slashes
]

# Filters with wildcards over reserved topics: within a reserved topic, whatever the
# number of slashes.
RESERVED_FILTERS = [
    "$aws/commands/things/t/executions/+/response/accepted/json",
    "$aws/commands/things/t/executions/+/response/+/json",
    "$aws/commands/clients/+/executions/+/response/rejected/cbor",
    "$aws/commands/things/t/executions/e1/response/accepted/#",
    "$aws/things/+/shadow/name/+/update/documents",
    "$aws/things/t/shadow/name/n/update/documents/#",
    "$aws/things/t/streams/+/data/json",
    "$aws/events/thingGroupHierarchy/thingGroup/+/childThingGroup/+/#",
]

# Topics clients may publish to, one of each family.
PUBLISHABLE = [
    "$aws/things/t/shadow/update",
    "$aws/things/t/shadow/get",
    "$aws/things/t/shadow/delete",
    "$aws/things/t/shadow/name/n/update",  # 6 slashes
    "$aws/things/t/jobs/get",
    "$aws/things/t/jobs/start-next",
    "$aws/things/t/jobs/job-1/get",
    "$aws/things/t/jobs/job-1/update",
    "$aws/things/t/defender/metrics/json",
    "$aws/things/t/defender/metrics/cbor",
    "$aws/things/t/streams/s1/describe/json",
    "$aws/things/t/streams/s1/get/cbor",
    "$aws/provisioning-templates/tpl/provision/json",
    "$aws/device_location/d1/get_position_estimate",
    "$aws/commands/things/t/executions/e1/response",
    "$aws/commands/clients/c/executions/e1/response/json",  # 7 slashes
    "$aws/rules/myRule",
    "$aws/rules/myRule/a/b/c/d/e/f/g/h",  # 10 slashes, 7 after $aws/rules/myRule/
]


def _slashes(topic: str) -> int:
    return topic.count("/")


def test_the_examples_cover_topics_beyond_seven_slashes() -> None:
    assert max(map(_slashes, SUBSCRIBABLE)) == 8
    assert max(map(_slashes, RESERVED_FILTERS)) == 8


@pytest.mark.parametrize("topic_filter", SUBSCRIBABLE + RESERVED_FILTERS)
def test_every_reserved_topic_can_be_subscribed_to(iot_mock: IotMock, topic_filter: str) -> None:
    device = iot_mock.devices.connect("subscriber")
    assert device.subscribe(topic_filter, qos=1) == 1
    assert [s.topic_filter for s in device.session.subscriptions.values()] == [topic_filter]


@pytest.mark.parametrize(
    "topic_filter",
    [
        "a/b/c/d/e/f/g/h/i",  # 8 slashes
        "$aws/a/b/c/d/e/f/g/h",  # not a reserved topic: its slashes count
        "$aws/things/t/shadow/name/n/update/documents/x",  # beyond a reserved topic
        "$aws/commands/things/t/executions/e1/response/accepted/json/x",
        "$aws/things/t/shadow/name/n/update/documents/x/#",
        "$aws/rules/myRule/a/b/c/d/e/f/g/h/i",  # 8 slashes after $aws/rules/myRule/
    ],
)
def test_slashes_outside_reserved_segments_still_count(
    iot_mock: IotMock, topic_filter: str
) -> None:
    device = iot_mock.devices.connect("subscriber")
    assert device.subscribe(topic_filter) == TOPIC_FILTER_INVALID
    assert device.connected
    assert len(device.session.subscriptions) == 0


@pytest.mark.parametrize("topic", PUBLISHABLE)
def test_clients_publish_to_every_reserved_topic_they_may(iot_mock: IotMock, topic: str) -> None:
    device = iot_mock.devices.connect("publisher")
    assert device.publish(topic, b"{}") == 0
    assert device.connected
    # Fleet provisioning requests are answered to the device alone, never logged.
    logged = [] if topic.startswith("$aws/provisioning-templates/") else [topic]
    assert [m.topic for m in iot_mock.messages(topic)] == logged


@pytest.mark.parametrize("topic", PUBLISHABLE)
def test_iot_data_publishes_to_every_reserved_topic_clients_may(
    iot_mock: IotMock, iot_data: Any, topic: str
) -> None:
    iot_data.publish(topic=topic, payload=b"{}")
    assert [m.topic for m in iot_mock.messages(topic)] == [topic]


@pytest.mark.parametrize(
    "topic",
    [
        "a/b/c/d/e/f/g/h/i",  # 8 slashes
        "$aws/rules/myRule/a/b/c/d/e/f/g/h/i",  # 8 slashes after the Basic Ingest prefix
        # Reserved topics the service publishes on, whatever their slashes.
        "$aws/commands/things/t/executions/e1/response/accepted/json",
        "$aws/things/t/shadow/name/n/update/documents",
        "$aws/things/t/streams/s1/data/json",
        # Beyond a reserved topic.
        "$aws/things/t/streams/s1/get/json/x",
    ],
)
def test_topics_clients_may_not_publish_to_end_the_connection(
    iot_mock: IotMock, topic: str
) -> None:
    device = iot_mock.devices.connect("publisher")
    device.publish(topic, b"{}")
    assert not device.connected
    assert device.disconnect_reason == "CLIENT_ERROR"
    assert iot_mock.messages(topic) == []


def test_device_receives_the_commands_replies_to_its_responses(
    iot_mock: IotMock, iot: Any, jobs_data: Any
) -> None:
    thing_arn = iot.create_thing(thingName="dev1")["thingArn"]
    command_arn = iot.create_command(
        commandId="reboot",
        payload={"content": b'{"action": "reboot"}', "contentType": "application/json"},
    )["commandArn"]
    device = iot_mock.devices.connect("dev1")
    executions = "$aws/commands/things/dev1/executions"
    assert device.subscribe(f"{executions}/+/request/json", qos=1) == 1
    assert device.subscribe(f"{executions}/+/response/accepted/json", qos=1) == 1
    assert device.subscribe(f"{executions}/+/response/rejected/json", qos=1) == 1

    execution_id = jobs_data.start_command_execution(targetArn=thing_arn, commandArn=command_arn)[
        "executionId"
    ]
    (request,) = device.received(f"{executions}/+/request/json")
    assert request.json() == {"action": "reboot"}

    response = f"{executions}/{execution_id}/response/json"
    assert device.publish(response, json.dumps({"status": "IN_PROGRESS"})) == 0
    assert device.publish(response, json.dumps({"status": "SUCCEEDED"})) == 0
    assert device.publish(response, json.dumps({"status": "FAILED"})) == 0  # already final
    accepted = device.received(f"{executions}/{execution_id}/response/accepted/json")
    assert [m.json() for m in accepted] == [
        {"executionId": execution_id, "status": "IN_PROGRESS"},
        {"executionId": execution_id, "status": "SUCCEEDED"},
    ]
    (rejected,) = device.received(f"{executions}/{execution_id}/response/rejected/json")
    assert rejected.json()["error"] == "ConflictException"
    assert device.connected
    execution = iot.get_command_execution(executionId=execution_id, targetArn=thing_arn)
    assert execution["status"] == "SUCCEEDED"
