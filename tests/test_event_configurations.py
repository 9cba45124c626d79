"""Event configurations (Describe/UpdateEventConfigurations) and the registry event
messages an enabled event type publishes on `$aws/events/...`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError

from iotmock import IotMock

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
START_MS = int(START.timestamp() * 1000)
ACCOUNT = "123456789012"
ARN = f"arn:aws:iot:us-east-1:{ACCOUNT}"
ALL_TYPES = [
    "THING",
    "THING_GROUP",
    "THING_TYPE",
    "THING_GROUP_MEMBERSHIP",
    "THING_GROUP_HIERARCHY",
    "THING_TYPE_ASSOCIATION",
    "JOB",
    "JOB_EXECUTION",
    "POLICY",
    "CERTIFICATE",
    "CA_CERTIFICATE",
]


def enable(iot: Any, *event_types: str, enabled: bool = True) -> None:
    iot.update_event_configurations(
        eventConfigurations={t: {"Enabled": enabled} for t in event_types}
    )


def events(iot_mock: IotMock, topic_filter: str = "$aws/events/#") -> list[tuple[str, Any]]:
    """(topic, payload) of the registry event messages published so far."""
    return [(m.topic, m.json()) for m in iot_mock.messages(topic_filter)]


def enabled_map(iot: Any) -> dict[str, bool]:
    configurations = iot.describe_event_configurations()["eventConfigurations"]
    return {t: c["Enabled"] for t, c in configurations.items()}


# ---------------------------------------------------------------- configurations


def test_every_event_type_starts_disabled(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        answer = iot.describe_event_configurations()
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert enabled_map(iot) == dict.fromkeys(ALL_TYPES, False)
    # Never updated: no dates, as AWS's example output (describe-event-configurations).
    assert "creationDate" not in answer
    assert "lastModifiedDate" not in answer


def test_update_enables_and_disables_types(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        iot.describe_event_configurations()
    later = START + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        answer = iot.update_event_configurations(
            eventConfigurations={"THING": {"Enabled": True}, "JOB": {"Enabled": True}}
        )
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    described = iot.describe_event_configurations()
    assert described["creationDate"] == START
    assert described["lastModifiedDate"] == later
    assert {t for t, on in enabled_map(iot).items() if on} == {"THING", "JOB"}
    enable(iot, "JOB", enabled=False)
    assert {t for t, on in enabled_map(iot).items() if on} == {"THING"}


def test_configuration_without_enabled_leaves_the_type_unchanged(iot: Any) -> None:
    enable(iot, "THING")
    iot.update_event_configurations(eventConfigurations={"THING": {}, "POLICY": {}})
    assert enabled_map(iot)["THING"] is True
    assert enabled_map(iot)["POLICY"] is False


def test_empty_update_changes_nothing(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        iot.describe_event_configurations()
    with time_machine.travel(START + dt.timedelta(days=1), tick=False):
        iot.update_event_configurations(eventConfigurations={})
        iot.update_event_configurations()
    assert "lastModifiedDate" not in iot.describe_event_configurations()


def test_unknown_event_type_is_refused(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_event_configurations(eventConfigurations={"SHADOW": {"Enabled": True}})
    response: Any = exc.value.response
    assert response["Error"]["Code"] == "InvalidRequestException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "SHADOW" in response["Error"]["Message"]
    assert not any(enabled_map(iot).values())


def test_configurations_are_per_region(iot: Any) -> None:
    enable(iot, *ALL_TYPES)
    other = boto3.client("iot", region_name="eu-west-1")
    assert not any(enabled_map(other).values())


# ---------------------------------------------------------------- publishing


def test_nothing_is_published_while_disabled(iot_mock: IotMock, iot: Any) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing(thingName="t1", thingTypeName="lamp")
    iot.create_thing_group(thingGroupName="g")
    iot.add_thing_to_thing_group(thingName="t1", thingGroupName="g")
    iot.delete_thing_group(thingGroupName="g")
    assert events(iot_mock) == []


def test_thing_created_updated_deleted(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING")
    with time_machine.travel(START, tick=False):
        created = iot.create_thing(thingName="lamp-1", attributePayload={"attributes": {"a": "1"}})
        iot.update_thing(
            thingName="lamp-1", attributePayload={"attributes": {"b": "2"}, "merge": True}
        )
        iot.delete_thing(thingName="lamp-1")
    expected_common = {
        "eventType": "THING_EVENT",
        "timestamp": START_MS,
        "accountId": ACCOUNT,
        "thingId": created["thingId"],
        "thingName": "lamp-1",
        "thingTypeName": None,
    }
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/thing/lamp-1/created",
        "$aws/events/thing/lamp-1/updated",
        "$aws/events/thing/lamp-1/deleted",
    ]
    (_, c), (_, u), (_, d) = published
    for payload, operation, version, attributes in (
        (c, "CREATED", 1, {"a": "1"}),
        (u, "UPDATED", 2, {"a": "1", "b": "2"}),
        (d, "DELETED", 2, {"a": "1", "b": "2"}),
    ):
        event_id = payload.pop("eventId")
        assert isinstance(event_id, str) and event_id
        assert payload == {
            **expected_common,
            "operation": operation,
            "versionNumber": version,
            "attributes": attributes,
        }
    ids = [m.json()["eventId"] for m in iot_mock.messages("$aws/events/#")]
    assert len(set(ids)) == 3


def test_event_messages_are_recorded_as_mock_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING")
    iot.create_thing(thingName="t")
    (message,) = iot_mock.messages("$aws/events/thing/+/created")
    assert message.source == "events"


def test_identical_create_thing_publishes_nothing_more(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING")
    iot.create_thing(thingName="t")
    iot.create_thing(thingName="t")  # idempotent: nothing was created
    iot.delete_thing(thingName="missing")  # nothing to delete
    assert len(events(iot_mock)) == 1


def test_thing_type_association_follows_the_type(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_TYPE_ASSOCIATION")
    iot.create_thing_type(thingTypeName="lamp")
    iot.create_thing_type(thingTypeName="fan")
    thing_id = iot.create_thing(thingName="t", thingTypeName="lamp")["thingId"]
    iot.update_thing(thingName="t", thingTypeName="fan")
    iot.update_thing(thingName="t", attributePayload={"attributes": {"x": "1"}})  # same type
    iot.update_thing(thingName="t", removeThingType=True)
    published = [
        (topic, payload["operation"], payload["thingTypeName"])
        for topic, payload in events(iot_mock)
    ]
    assert published == [
        ("$aws/events/thingTypeAssociation/thing/t/lamp", "ADDED", "lamp"),
        ("$aws/events/thingTypeAssociation/thing/t/lamp", "REMOVED", "lamp"),
        ("$aws/events/thingTypeAssociation/thing/t/fan", "ADDED", "fan"),
        ("$aws/events/thingTypeAssociation/thing/t/fan", "REMOVED", "fan"),
    ]
    payload = events(iot_mock)[0][1]
    assert payload["eventType"] == "THING_TYPE_ASSOCIATION_EVENT"
    assert (payload["thingId"], payload["thingName"]) == (thing_id, "t")


def test_thing_type_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_TYPE")
    with time_machine.travel(START, tick=False):
        type_id = iot.create_thing_type(
            thingTypeName="lamp",
            thingTypeProperties={
                "thingTypeDescription": "A lamp",
                "searchableAttributes": ["color"],
                "mqtt5Configuration": {
                    "propagatingAttributes": [
                        {"userPropertyKey": "serial", "thingAttribute": "serialNumber"}
                    ]
                },
            },
        )["thingTypeId"]
        iot.deprecate_thing_type(thingTypeName="lamp")
    with time_machine.travel(START + dt.timedelta(minutes=10), tick=False):
        iot.delete_thing_type(thingTypeName="lamp")
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/thingType/lamp/created",
        "$aws/events/thingType/lamp/updated",
        "$aws/events/thingType/lamp/deleted",
    ]
    created = published[0][1]
    created.pop("eventId")
    assert created == {
        "eventType": "THING_TYPE_EVENT",
        "timestamp": START_MS,
        "operation": "CREATED",
        "accountId": ACCOUNT,
        "thingTypeId": type_id,
        "thingTypeName": "lamp",
        "isDeprecated": False,
        "deprecationDate": None,
        "searchableAttributes": ["color"],
        "propagatingAttributes": [{"userPropertyKey": "serial", "thingAttribute": "serialNumber"}],
        "description": "A lamp",
    }
    deprecated = published[1][1]
    assert (deprecated["isDeprecated"], deprecated["deprecationDate"]) == (True, START_MS)
    assert published[2][1]["operation"] == "DELETED"


def test_update_and_undeprecate_thing_type_publish_updated(iot_mock: IotMock, iot: Any) -> None:
    iot.create_thing_type(thingTypeName="lamp")
    enable(iot, "THING_TYPE")
    iot.update_thing_type(
        thingTypeName="lamp",
        thingTypeProperties={"mqtt5Configuration": {"propagatingAttributes": []}},
    )
    iot.deprecate_thing_type(thingTypeName="lamp")
    iot.deprecate_thing_type(thingTypeName="lamp", undoDeprecate=True)
    published = events(iot_mock, "$aws/events/thingType/lamp/updated")
    assert [p["isDeprecated"] for _, p in published] == [False, True, False]


def test_thing_group_events_carry_the_hierarchy(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_GROUP")
    root_id = iot.create_thing_group(thingGroupName="root")["thingGroupId"]
    mid_id = iot.create_thing_group(thingGroupName="mid", parentGroupName="root")["thingGroupId"]
    with time_machine.travel(START, tick=False):
        leaf_id = iot.create_thing_group(
            thingGroupName="leaf",
            parentGroupName="mid",
            thingGroupProperties={
                "thingGroupDescription": "Leaf",
                "attributePayload": {"attributes": {"floor": "2"}},
            },
        )["thingGroupId"]
    iot.update_thing_group(
        thingGroupName="leaf", thingGroupProperties={"thingGroupDescription": "New leaf"}
    )
    iot.delete_thing_group(thingGroupName="leaf")
    leaf = events(iot_mock, "$aws/events/thingGroup/leaf/#")
    assert [topic for topic, _ in leaf] == [
        "$aws/events/thingGroup/leaf/created",
        "$aws/events/thingGroup/leaf/updated",
        "$aws/events/thingGroup/leaf/deleted",
    ]
    created = leaf[0][1]
    created.pop("eventId")
    chain = [
        {"groupArn": f"{ARN}:thinggroup/root", "groupId": root_id},
        {"groupArn": f"{ARN}:thinggroup/mid", "groupId": mid_id},
    ]
    assert created == {
        "eventType": "THING_GROUP_EVENT",
        "timestamp": START_MS,
        "operation": "CREATED",
        "accountId": ACCOUNT,
        "thingGroupId": leaf_id,
        "thingGroupName": "leaf",
        "versionNumber": 1,
        "parentGroupName": "mid",
        "parentGroupId": mid_id,
        "description": "Leaf",
        "rootToParentThingGroups": chain,
        "attributes": {"floor": "2"},
        "dynamicGroupMappingId": None,
    }
    updated, deleted = leaf[1][1], leaf[2][1]
    assert (updated["versionNumber"], updated["description"]) == (2, "New leaf")
    # The deleted group still reports where it was in the hierarchy.
    assert (deleted["operation"], deleted["rootToParentThingGroups"]) == ("DELETED", chain)
    (_, root) = events(iot_mock, "$aws/events/thingGroup/root/created")[0]
    assert root["parentGroupName"] is None and root["rootToParentThingGroups"] == []


def test_thing_group_hierarchy_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_GROUP_HIERARCHY")
    root_id = iot.create_thing_group(thingGroupName="root")["thingGroupId"]
    child_id = iot.create_thing_group(thingGroupName="child", parentGroupName="root")[
        "thingGroupId"
    ]
    iot.delete_thing_group(thingGroupName="child")
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/thingGroupHierarchy/thingGroup/root/childThingGroup/child/added",
        "$aws/events/thingGroupHierarchy/thingGroup/root/childThingGroup/child/removed",
    ]
    for (_, payload), operation in zip(published, ("ADDED", "REMOVED"), strict=True):
        payload.pop("eventId")
        payload.pop("timestamp")
        assert payload == {
            "eventType": "THING_GROUP_HIERARCHY_EVENT",
            "operation": operation,
            "accountId": ACCOUNT,
            "thingGroupId": root_id,
            "thingGroupName": "root",
            "childGroupId": child_id,
            "childGroupName": "child",
        }


def test_thing_group_membership_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_GROUP_MEMBERSHIP")
    thing_id = iot.create_thing(thingName="t")["thingId"]
    group_id = iot.create_thing_group(thingGroupName="g")["thingGroupId"]
    other_id = iot.create_thing_group(thingGroupName="h")["thingGroupId"]
    iot.add_thing_to_thing_group(thingName="t", thingGroupName="g")
    iot.add_thing_to_thing_group(thingName="t", thingGroupName="g")  # already a member
    iot.update_thing_groups_for_thing(
        thingName="t", thingGroupsToAdd=["h"], thingGroupsToRemove=["g"]
    )
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/thingGroupMembership/thingGroup/g/thing/t/added",
        "$aws/events/thingGroupMembership/thingGroup/g/thing/t/removed",
        "$aws/events/thingGroupMembership/thingGroup/h/thing/t/added",
    ]
    added, removed, other = (payload for _, payload in published)
    assert added["membershipId"] == removed["membershipId"] != other["membershipId"]
    added.pop("eventId")
    added.pop("timestamp")
    membership_id = added.pop("membershipId")
    assert isinstance(membership_id, str) and membership_id
    assert added == {
        "eventType": "THING_GROUP_MEMBERSHIP_EVENT",
        "operation": "ADDED",
        "accountId": ACCOUNT,
        "groupArn": f"{ARN}:thinggroup/g",
        "groupId": group_id,
        "thingArn": f"{ARN}:thing/t",
        "thingId": thing_id,
    }
    assert (other["groupId"], other["operation"]) == (other_id, "ADDED")


def test_only_enabled_types_publish(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING_GROUP")
    iot.create_thing(thingName="t")
    iot.create_thing_group(thingGroupName="g")
    iot.add_thing_to_thing_group(thingName="t", thingGroupName="g")
    assert [topic for topic, _ in events(iot_mock)] == ["$aws/events/thingGroup/g/created"]
    enable(iot, "THING_GROUP", enabled=False)
    iot.create_thing_group(thingGroupName="h")
    assert len(events(iot_mock)) == 1


def test_policy_and_certificate_types_publish_nothing(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "POLICY", "CERTIFICATE")
    iot.create_policy(
        policyName="p",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
            }
        ),
    )
    iot.create_keys_and_certificate(setAsActive=True)
    assert events(iot_mock) == []


def test_bulk_registration_publishes_thing_created(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING", "THING_GROUP_MEMBERSHIP")
    iot.create_thing_group(thingGroupName="fleet")
    template = {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "ThingName"}, "ThingGroups": ["fleet"]},
            }
        },
    }
    iot_mock.registration.put_input("bucket", "things.json", [{"ThingName": "bulk-1"}])
    iot.start_thing_registration_task(
        templateBody=json.dumps(template),
        inputFileBucket="bucket",
        inputFileKey="things.json",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/provisioning",
    )
    assert [topic for topic, _ in events(iot_mock)] == [
        "$aws/events/thing/bulk-1/created",
        "$aws/events/thingGroupMembership/thingGroup/fleet/thing/bulk-1/added",
    ]


def test_bulk_registration_override_publishes_thing_updated(iot_mock: IotMock, iot: Any) -> None:
    iot.create_thing(thingName="bulk-1", attributePayload={"attributes": {"old": "1"}})
    enable(iot, "THING")
    template = {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "AttributePayload": {"new": "2"},
                },
                "OverrideSettings": {"AttributePayload": "MERGE"},
            }
        },
    }
    iot_mock.registration.put_input("bucket", "things.json", [{"ThingName": "bulk-1"}])
    iot.start_thing_registration_task(
        templateBody=json.dumps(template),
        inputFileBucket="bucket",
        inputFileKey="things.json",
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/provisioning",
    )
    ((topic, payload),) = events(iot_mock)
    assert topic == "$aws/events/thing/bulk-1/updated"
    assert (payload["versionNumber"], payload["attributes"]) == (2, {"old": "1", "new": "2"})


def test_register_thing_override_publishes_thing_updated(iot_mock: IotMock, iot: Any) -> None:
    iot.create_thing(thingName="dev", attributePayload={"attributes": {"a": "1"}})
    enable(iot, "THING")
    template = {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {"ThingName": {"Ref": "ThingName"}, "AttributePayload": {"b": "2"}},
                "OverrideSettings": {"AttributePayload": "REPLACE"},
            }
        },
    }
    iot.register_thing(templateBody=json.dumps(template), parameters={"ThingName": "dev"})
    ((topic, payload),) = events(iot_mock)
    assert topic == "$aws/events/thing/dev/updated"
    assert (payload["versionNumber"], payload["attributes"]) == (2, {"b": "2"})


def test_a_topic_rule_receives_registry_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "THING")
    iot.create_topic_rule(
        ruleName="audit",
        topicRulePayload={
            "sql": "SELECT thingName, operation FROM '$aws/events/thing/+/created'",
            "actions": [
                {
                    "republish": {
                        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/rules",
                        "topic": "audit/things",
                    }
                }
            ],
        },
    )
    iot.create_thing(thingName="t")
    (audit,) = iot_mock.messages("audit/things")
    assert audit.json() == {"thingName": "t", "operation": "CREATED"}


# ---------------------------------------------------------------- jobs events

DOCUMENT = json.dumps({"operation": "reboot"})


def test_job_execution_and_job_completed_events(
    iot_mock: IotMock, iot: Any, jobs_data: Any
) -> None:
    enable(iot, "JOB", "JOB_EXECUTION")
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    targets = [f"{ARN}:thing/t1", f"{ARN}:thing/t2"]
    with time_machine.travel(START, tick=False):
        iot.create_job(jobId="reboot", targets=targets, document=DOCUMENT, description="Reboot")
        jobs_data.update_job_execution(
            jobId="reboot", thingName="t1", status="SUCCEEDED", statusDetails={"step": "done"}
        )
        jobs_data.update_job_execution(jobId="reboot", thingName="t2", status="FAILED")
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/jobExecution/reboot/succeeded",
        "$aws/events/jobExecution/reboot/failed",
        "$aws/events/job/reboot/completed",
    ]
    succeeded = published[0][1]
    succeeded.pop("eventId")
    assert succeeded == {
        "eventType": "JOB_EXECUTION",
        "timestamp": START_MS,
        "operation": "succeeded",
        "jobId": "reboot",
        "thingArn": f"{ARN}:thing/t1",
        "status": "SUCCEEDED",
        "statusDetails": {"step": "done"},
    }
    completed = published[2][1]
    completed.pop("eventId")
    assert completed == {
        "eventType": "JOB",
        "timestamp": START_MS,
        "operation": "completed",
        "jobId": "reboot",
        "status": "COMPLETED",
        "targetSelection": "SNAPSHOT",
        "targets": targets,
        "description": "Reboot",
        "completedAt": START_MS,
        "createdAt": START_MS,
        "lastUpdatedAt": START_MS,
        "jobProcessDetails": {
            "numberOfCanceledThings": 0,
            "numberOfSucceededThings": 1,
            "numberOfFailedThings": 1,
            "numberOfRejectedThings": 0,
            "numberOfRemovedThings": 0,
            "numberOfTimedOutThings": 0,
        },
    }


def test_job_canceled_and_deleted_events(iot_mock: IotMock, iot: Any) -> None:
    enable(iot, "JOB", "JOB_EXECUTION")
    iot.create_thing(thingName="t1")
    iot.create_job(jobId="j", targets=[f"{ARN}:thing/t1"], document=DOCUMENT)
    iot.cancel_job(jobId="j", reasonCode="OPS", comment="not needed")
    iot.cancel_job(jobId="j", force=True)  # already canceled: no second job event
    iot.delete_job_execution(jobId="j", thingName="t1", executionNumber=1)
    iot.delete_job(jobId="j")
    published = events(iot_mock)
    assert [topic for topic, _ in published] == [
        "$aws/events/jobExecution/j/canceled",
        "$aws/events/job/j/canceled",
        "$aws/events/jobExecution/j/deleted",
        "$aws/events/job/j/deleted",
    ]
    canceled = published[1][1]
    assert (canceled["status"], canceled["reasonCode"], canceled["comment"]) == (
        "CANCELED",
        "OPS",
        "not needed",
    )
    assert canceled["jobProcessDetails"]["numberOfCanceledThings"] == 1
    assert published[2][1]["status"] == "CANCELED"


def test_jobs_events_follow_their_own_configuration(
    iot_mock: IotMock, iot: Any, jobs_data: Any
) -> None:
    enable(iot, "JOB")
    iot.create_thing(thingName="t1")
    iot.create_job(jobId="j", targets=[f"{ARN}:thing/t1"], document=DOCUMENT)
    jobs_data.update_job_execution(jobId="j", thingName="t1", status="REJECTED")
    assert [topic for topic, _ in events(iot_mock)] == ["$aws/events/job/j/completed"]
