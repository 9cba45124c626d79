"""Cross-family flows, end to end through boto3: each test drives several resource families
the way an application would, with no state set up behind the API's back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock

ARN = "arn:aws:iot:us-east-1:123456789012"
ALLOW_CONNECT = {"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decision(iot: Any, principal: str, client_id: str, action: str, resource: str) -> str:
    """The authDecision TestAuthorization gives for one action on one resource."""
    response = iot.test_authorization(
        principal=principal,
        clientId=client_id,
        authInfos=[{"actionType": action, "resources": [resource]}],
    )
    [result] = response["authResults"]
    return str(result["authDecision"])


# --------------------------------------------------------------------------- onboarding


def test_device_onboarding_and_offboarding(iot: Any) -> None:
    cert = iot.create_keys_and_certificate(setAsActive=True)
    cert_arn, cert_id = cert["certificateArn"], cert["certificateId"]
    iot.create_policy(
        policyName="device",
        policyDocument=document(
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": f"{ARN}:client/${{iot:Connection.Thing.ThingName}}",
            },
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": f"{ARN}:topic/devices/${{iot:Connection.Thing.ThingName}}/*",
            },
        ),
    )
    iot.attach_policy(policyName="device", target=cert_arn)
    thing_arn = iot.create_thing(thingName="sensor-7")["thingArn"]
    iot.attach_thing_principal(thingName="sensor-7", principal=cert_arn)

    own_topic = f"{ARN}:topic/devices/sensor-7/telemetry"
    assert decision(iot, cert_arn, "sensor-7", "CONNECT", f"{ARN}:client/sensor-7") == "ALLOWED"
    assert decision(iot, cert_arn, "sensor-7", "PUBLISH", own_topic) == "ALLOWED"
    other_topic = f"{ARN}:topic/devices/sensor-8/telemetry"
    assert decision(iot, cert_arn, "sensor-7", "PUBLISH", other_topic) == "IMPLICIT_DENY"
    # A client id that is not the attached thing's name resolves no thing variable.
    assert decision(iot, cert_arn, "intruder", "PUBLISH", own_topic) == "IMPLICIT_DENY"
    assert iot.list_principal_things(principal=cert_arn)["things"] == ["sensor-7"]
    assert iot.describe_thing(thingName="sensor-7")["thingArn"] == thing_arn

    # Offboarding, in the wrong order first: every step is refused with AWS's reason.
    with pytest.raises(ClientError) as exc:
        iot.delete_thing(thingName="sensor-7")
    assert error_of(exc) == (
        "InvalidRequestException",
        400,
        "Cannot delete. Thing sensor-7 is still attached to one or more principals",
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=cert_id)
    assert error_of(exc) == (
        "CertificateStateException",
        406,
        f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {cert_id}",
    )
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=cert_id)
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        f"Things must be detached before deletion (arn: {cert_arn})",
    )
    iot.detach_thing_principal(thingName="sensor-7", principal=cert_arn)
    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=cert_id)
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        f"Certificate policies must be detached before deletion (arn: {cert_arn})",
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_policy(policyName="device")
    assert error_of(exc)[:2] == ("DeleteConflictException", 409)

    # ...then in the right order, everything goes.
    iot.detach_policy(policyName="device", target=cert_arn)
    assert (
        iot.delete_certificate(certificateId=cert_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    )
    iot.delete_thing(thingName="sensor-7")
    iot.delete_policy(policyName="device")
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_things()["things"] == []
    assert iot.list_policies()["policies"] == []
    with pytest.raises(ClientError) as exc:
        iot.test_authorization(
            principal=cert_arn, authInfos=[{"actionType": "PUBLISH", "resources": [own_topic]}]
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- group jobs


def test_continuous_job_on_a_parent_group_reaches_a_thing_joining_a_child_group(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    fleet = iot.create_thing_group(thingGroupName="fleet")
    iot.create_thing_group(thingGroupName="building-1", parentGroupName="fleet")
    job_document = {"operation": "firmware", "version": "2.1"}
    iot.create_job(
        jobId="fw-2-1",
        targets=[fleet["thingGroupArn"]],
        document=json.dumps(job_document),
        targetSelection="CONTINUOUS",
    )
    iot.create_thing(thingName="dev-1")
    assert jobs_data.get_pending_job_executions(thingName="dev-1")["queuedJobs"] == []

    iot.add_thing_to_thing_group(thingGroupName="building-1", thingName="dev-1")

    pending = jobs_data.get_pending_job_executions(thingName="dev-1")
    assert pending["inProgressJobs"] == []
    [queued] = pending["queuedJobs"]
    assert (queued["jobId"], queued["executionNumber"], queued["versionNumber"]) == (
        "fw-2-1",
        1,
        1,
    )
    [notify] = iot_mock.messages("$aws/things/dev-1/jobs/notify")
    assert [j["jobId"] for j in notify.json()["jobs"]["QUEUED"]] == ["fw-2-1"]
    [next_message] = iot_mock.messages("$aws/things/dev-1/jobs/notify-next")
    assert next_message.json()["execution"]["jobId"] == "fw-2-1"
    assert next_message.json()["execution"]["status"] == "QUEUED"
    assert next_message.json()["execution"]["jobDocument"] == job_document

    started = jobs_data.start_next_pending_job_execution(thingName="dev-1")["execution"]
    assert (started["jobId"], started["status"]) == ("fw-2-1", "IN_PROGRESS")
    assert json.loads(started["jobDocument"]) == job_document
    updated = jobs_data.update_job_execution(
        jobId="fw-2-1",
        thingName="dev-1",
        status="SUCCEEDED",
        statusDetails={"installed": "2.1"},
        expectedVersion=2,
        includeJobExecutionState=True,
    )
    assert updated["executionState"]["status"] == "SUCCEEDED"

    execution = iot.describe_job_execution(jobId="fw-2-1", thingName="dev-1")["execution"]
    assert execution["status"] == "SUCCEEDED"
    assert execution["statusDetails"] == {"detailsMap": {"installed": "2.1"}}
    job = iot.describe_job(jobId="fw-2-1")["job"]
    assert job["status"] == "IN_PROGRESS"  # a continuous job never completes by itself
    assert job["jobProcessDetails"]["numberOfSucceededThings"] == 1
    pending = jobs_data.get_pending_job_executions(thingName="dev-1")
    assert (pending["inProgressJobs"], pending["queuedJobs"]) == ([], [])
    # notify tells of the execution joining, then leaving, the pending list (starting it
    # changed nothing there); notify-next ends with no execution.
    notices = [n.json()["jobs"] for n in iot_mock.messages("$aws/things/dev-1/jobs/notify")]
    assert [list(jobs) for jobs in notices] == [["QUEUED"], []]
    assert "execution" not in iot_mock.messages("$aws/things/dev-1/jobs/notify-next")[-1].json()


# --------------------------------------------------------------------------- shadow to rule


def test_shadow_update_triggers_a_rule_that_republishes(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    iot.create_thing(thingName="boiler")
    iot.create_topic_rule(
        ruleName="overheat",
        topicRulePayload={
            "sql": (
                "SELECT state.reported.temp AS temp, topic(3) AS thing "
                "FROM '$aws/things/+/shadow/update/accepted' WHERE state.reported.temp > 30"
            ),
            "awsIotSqlVersion": "2016-03-23",
            "actions": [
                {
                    "republish": {
                        "roleArn": "arn:aws:iam::123456789012:role/republish",
                        "topic": "alerts/${topic(3)}",
                        "qos": 1,
                    }
                }
            ],
        },
    )

    for temp in (21, 35):
        iot_data.update_thing_shadow(
            thingName="boiler",
            payload=json.dumps({"state": {"reported": {"temp": temp}}}).encode(),
        )

    [alert] = iot_mock.messages("alerts/#")
    assert alert.topic == "alerts/boiler"
    assert alert.json() == {"temp": 35, "thing": "boiler"}
    assert alert.qos == 1
    [invocation] = iot_mock.rules.invocations("overheat")
    assert invocation.action_type == "republish"
    assert invocation.topic == "$aws/things/boiler/shadow/update/accepted"
    shadow = json.loads(iot_data.get_thing_shadow(thingName="boiler")["payload"].read())
    assert shadow["state"] == {"reported": {"temp": 35}}


# --------------------------------------------------------------------------- effective policies


def test_effective_policies_follow_the_thing_group_ancestry(iot: Any) -> None:
    cert_arn = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    names = ("cert-p", "root-p", "mid-p", "leaf-p", "side-p")
    for name in names:
        iot.create_policy(policyName=name, policyDocument=document(ALLOW_CONNECT))
    groups = {}
    for group, parent in (("root", None), ("mid", "root"), ("leaf", "mid"), ("side", None)):
        extra = {"parentGroupName": parent} if parent else {}
        groups[group] = iot.create_thing_group(thingGroupName=group, **extra)["thingGroupArn"]
        iot.attach_policy(policyName=f"{group}-p", target=groups[group])
    iot.attach_policy(policyName="cert-p", target=cert_arn)
    iot.create_thing(thingName="lamp")
    iot.attach_thing_principal(thingName="lamp", principal=cert_arn)

    def effective(**kwargs: str) -> list[str]:
        policies = iot.get_effective_policies(**kwargs)["effectivePolicies"]
        return [p["policyName"] for p in policies]

    assert effective(principal=cert_arn, thingName="lamp") == ["cert-p"]
    iot.add_thing_to_thing_group(thingGroupName="leaf", thingName="lamp")
    assert effective(principal=cert_arn, thingName="lamp") == [
        "cert-p",
        "leaf-p",
        "mid-p",
        "root-p",
    ]
    assert effective(thingName="lamp") == ["leaf-p", "mid-p", "root-p"]
    [leaf_policy] = iot.get_effective_policies(thingName="lamp")["effectivePolicies"][:1]
    assert leaf_policy["policyArn"] == f"{ARN}:policy/leaf-p"
    assert json.loads(leaf_policy["policyDocument"])["Statement"] == [ALLOW_CONNECT]

    # Moving the thing up one level and into another hierarchy, in one call.
    iot.update_thing_groups_for_thing(
        thingName="lamp", thingGroupsToAdd=["mid", "side"], thingGroupsToRemove=["leaf"]
    )
    assert effective(principal=cert_arn, thingName="lamp") == [
        "cert-p",
        "mid-p",
        "root-p",
        "side-p",
    ]
    # The group policies authorize the thing's connection through its certificate.
    iot.detach_policy(policyName="cert-p", target=cert_arn)
    client = f"{ARN}:client/lamp"
    assert decision(iot, cert_arn, "lamp", "CONNECT", client) == "ALLOWED"
    iot.remove_thing_from_thing_group(thingGroupName="mid", thingName="lamp")
    iot.remove_thing_from_thing_group(thingGroupName="side", thingName="lamp")
    assert effective(principal=cert_arn, thingName="lamp") == []
    assert decision(iot, cert_arn, "lamp", "CONNECT", client) == "IMPLICIT_DENY"
