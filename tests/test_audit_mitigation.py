"""Audit mitigation actions tasks apply mitigation actions to audit findings, for real.

Mitigation actions are created with CreateMitigationAction (the Device Defender
mitigation actions family)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/audit"
TOPIC = "arn:aws:sns:us-east-1:123456789012:findings"
BROAD = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
)
EPOCH = 0
FAR = 4102444800  # 2100-01-01


def action(iot: Any, name: str, params: dict[str, Any]) -> None:
    iot.create_mitigation_action(actionName=name, roleArn=ROLE, actionParams=params)


def audit(iot: Any, *checks: str) -> str:
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={c: {"enabled": True} for c in checks}
    )
    return str(iot.start_on_demand_audit_task(targetCheckNames=list(checks))["taskId"])


def finding_ids(iot: Any, task_id: str) -> list[str]:
    return [f["findingId"] for f in iot.list_audit_findings(taskId=task_id)["findings"]]


@pytest.fixture
def shared_certificate(iot: Any, iot_mock: IotMock) -> dict[str, Any]:
    """An active certificate attached to thing `t1`, used by two client ids."""
    cert: dict[str, Any] = iot.create_keys_and_certificate(setAsActive=True)
    iot.create_thing(thingName="t1")
    iot.attach_thing_principal(thingName="t1", principal=cert["certificateArn"])
    iot_mock.devices.connect("c1", principal=cert["certificateId"])
    iot_mock.devices.connect("c2", principal=cert["certificateId"])
    return cert


def test_deactivate_certificate_and_quarantine_its_thing(
    iot: Any, shared_certificate: dict[str, Any]
) -> None:
    iot.create_thing_group(thingGroupName="quarantine")
    action(iot, "deactivate", {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}})
    action(iot, "isolate", {"addThingsToThingGroupParams": {"thingGroupNames": ["quarantine"]}})
    audit_id = audit(iot, "DEVICE_CERTIFICATE_SHARED_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    started = iot.start_audit_mitigation_actions_task(
        taskId="fix-1",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"DEVICE_CERTIFICATE_SHARED_CHECK": ["deactivate", "isolate"]},
    )
    assert started["taskId"] == "fix-1"
    certificate = iot.describe_certificate(certificateId=shared_certificate["certificateId"])
    assert certificate["certificateDescription"]["status"] == "INACTIVE"
    members = iot.list_things_in_thing_group(thingGroupName="quarantine")["things"]
    assert members == ["t1"]

    described = iot.describe_audit_mitigation_actions_task(taskId="fix-1")
    assert described["taskStatus"] == "COMPLETED"
    assert described["target"] == {"auditTaskId": audit_id}
    assert described["taskStatistics"] == {
        "DEVICE_CERTIFICATE_SHARED_CHECK": {
            "totalFindingsCount": 1,
            "failedFindingsCount": 0,
            "succeededFindingsCount": 1,
            "skippedFindingsCount": 0,
            "canceledFindingsCount": 0,
        }
    }
    assert [d["name"] for d in described["actionsDefinition"]] == ["deactivate", "isolate"]
    assert described["actionsDefinition"][0]["actionParams"] == {
        "updateDeviceCertificateParams": {"action": "DEACTIVATE"}
    }
    assert described["actionsDefinition"][0]["roleArn"] == ROLE

    executions = iot.list_audit_mitigation_actions_executions(taskId="fix-1", findingId=finding_id)[
        "actionsExecutions"
    ]
    assert [(e["actionName"], e["status"]) for e in executions] == [
        ("deactivate", "COMPLETED"),
        ("isolate", "COMPLETED"),
    ]
    assert all(e["findingId"] == finding_id and e["actionId"] for e in executions)
    failed = iot.list_audit_mitigation_actions_executions(
        taskId="fix-1", findingId=finding_id, actionStatus="FAILED"
    )
    assert failed["actionsExecutions"] == []


def test_execution_fails_when_the_resource_cannot_change(
    iot: Any, shared_certificate: dict[str, Any]
) -> None:
    action(iot, "deactivate", {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}})
    audit_id = audit(iot, "DEVICE_CERTIFICATE_SHARED_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    iot.update_certificate(certificateId=shared_certificate["certificateId"], newStatus="REVOKED")
    iot.start_audit_mitigation_actions_task(
        taskId="fix-2",
        target={"findingIds": [finding_id]},
        auditCheckToActionsMapping={"DEVICE_CERTIFICATE_SHARED_CHECK": ["deactivate"]},
    )
    [execution] = iot.list_audit_mitigation_actions_executions(
        taskId="fix-2", findingId=finding_id
    )["actionsExecutions"]
    assert execution["status"] == "FAILED"
    assert execution["errorCode"] == "CertificateStateException"
    assert "REVOKED" in execution["message"]
    statistics = iot.describe_audit_mitigation_actions_task(taskId="fix-2")["taskStatistics"]
    assert statistics["DEVICE_CERTIFICATE_SHARED_CHECK"]["failedFindingsCount"] == 1


def test_replace_default_policy_version_and_publish_to_sns(iot: Any, iot_mock: IotMock) -> None:
    iot.create_policy(policyName="broad", policyDocument=BROAD)
    action(iot, "blank", {"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    action(iot, "tell", {"publishFindingToSnsParams": {"topicArn": TOPIC}})
    audit_id = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    iot.start_audit_mitigation_actions_task(
        taskId="fix-3",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"IOT_POLICY_OVERLY_PERMISSIVE_CHECK": ["blank", "tell"]},
    )
    policy = iot.get_policy(policyName="broad")
    assert policy["defaultVersionId"] == "2"
    statement = json.loads(policy["policyDocument"])["Statement"][0]
    assert statement["Effect"] == "Deny"
    [notification] = iot_mock.audit.notifications()
    assert notification["targetArn"] == TOPIC
    assert notification["message"]["findingId"] == finding_id
    # The next audit finds the policy compliant.
    again = iot.start_on_demand_audit_task(targetCheckNames=["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"])
    assert finding_ids(iot, again["taskId"]) == []


def test_enable_logging_makes_the_logging_check_compliant(iot: Any) -> None:
    action(
        iot,
        "logging",
        {"enableIoTLoggingParams": {"roleArnForLogging": ROLE, "logLevel": "ERROR"}},
    )
    audit_id = audit(iot, "LOGGING_DISABLED_CHECK")
    iot.start_audit_mitigation_actions_task(
        taskId="fix-4",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"LOGGING_DISABLED_CHECK": ["logging"]},
    )
    again = iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])["taskId"]
    details = iot.describe_audit_task(taskId=again)["auditDetails"]["LOGGING_DISABLED_CHECK"]
    assert details["checkRunStatus"] == "COMPLETED_COMPLIANT"
    # The action set the account's (v1) logging options, as SetLoggingOptions would.
    options = iot.get_logging_options()
    assert (options["roleArn"], options["logLevel"]) == (ROLE, "ERROR")


def test_deactivate_ca_certificate(iot: Any, iot_mock: IotMock) -> None:
    from iotmock.identity.crypto import make_ca

    ca_id = iot.register_ca_certificate(
        caCertificate=make_ca("Revoked CA").pem, certificateMode="SNI_ONLY", setAsActive=True
    )["certificateId"]
    iot_mock.audit.revoke_at_issuer(ca_id)
    action(iot, "ca-off", {"updateCACertificateParams": {"action": "DEACTIVATE"}})
    audit_id = audit(iot, "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK")
    iot.start_audit_mitigation_actions_task(
        taskId="fix-5",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK": ["ca-off"]},
    )
    described = iot.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert described["status"] == "INACTIVE"


def test_reason_code_filter_skips_findings(iot: Any, shared_certificate: dict[str, Any]) -> None:
    action(iot, "tell", {"publishFindingToSnsParams": {"topicArn": TOPIC}})
    audit_id = audit(iot, "DEVICE_CERTIFICATE_SHARED_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    iot.start_audit_mitigation_actions_task(
        taskId="fix-6",
        target={
            "auditTaskId": audit_id,
            "auditCheckToReasonCodeFilter": {"DEVICE_CERTIFICATE_SHARED_CHECK": ["OTHER_CODE"]},
        },
        auditCheckToActionsMapping={"DEVICE_CERTIFICATE_SHARED_CHECK": ["tell"]},
    )
    statistics = iot.describe_audit_mitigation_actions_task(taskId="fix-6")["taskStatistics"]
    assert statistics["DEVICE_CERTIFICATE_SHARED_CHECK"]["skippedFindingsCount"] == 1
    assert statistics["DEVICE_CERTIFICATE_SHARED_CHECK"]["succeededFindingsCount"] == 0
    executions = iot.list_audit_mitigation_actions_executions(taskId="fix-6", findingId=finding_id)
    assert executions["actionsExecutions"] == []


@pytest.mark.parametrize(
    ("target", "mapping", "fragment"),
    [
        ({}, {"LOGGING_DISABLED_CHECK": ["tell"]}, "either auditTaskId or findingIds"),
        ({"findingIds": ["nope"]}, {"LOGGING_DISABLED_CHECK": ["tell"]}, "finding nope"),
        ({"auditTaskId": "a" * 32}, {"LOGGING_DISABLED_CHECK": ["tell"]}, "audit task"),
        ({"auditTaskId": "AUDIT"}, {"LOGGING_DISABLED_CHECK": ["missing"]}, "missing does not"),
        (
            {"auditTaskId": "AUDIT"},
            {"LOGGING_DISABLED_CHECK": ["deactivate"]},
            "cannot be applied to findings of LOGGING_DISABLED_CHECK",
        ),
        ({"auditTaskId": "AUDIT"}, {"NOT_A_CHECK": ["tell"]}, "Unknown audit check"),
    ],
)
def test_invalid_tasks(
    iot: Any, target: dict[str, Any], mapping: dict[str, list[str]], fragment: str
) -> None:
    action(iot, "tell", {"publishFindingToSnsParams": {"topicArn": TOPIC}})
    action(iot, "deactivate", {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}})
    audit_id = audit(iot, "LOGGING_DISABLED_CHECK")
    if target.get("auditTaskId") == "AUDIT":
        target = {"auditTaskId": audit_id}
    with pytest.raises(ClientError) as exc:
        iot.start_audit_mitigation_actions_task(
            taskId="bad", target=target, auditCheckToActionsMapping=mapping
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message
    with pytest.raises(ClientError) as exc:
        iot.describe_audit_mitigation_actions_task(taskId="bad")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_task_id_is_unique_and_token_idempotent(iot: Any) -> None:
    action(iot, "tell", {"publishFindingToSnsParams": {"topicArn": TOPIC}})
    audit_id = audit(iot, "LOGGING_DISABLED_CHECK")
    arguments: dict[str, Any] = {
        "taskId": "once",
        "target": {"auditTaskId": audit_id},
        "auditCheckToActionsMapping": {"LOGGING_DISABLED_CHECK": ["tell"]},
    }
    iot.start_audit_mitigation_actions_task(clientRequestToken="t1", **arguments)
    again = iot.start_audit_mitigation_actions_task(clientRequestToken="t1", **arguments)
    assert again["taskId"] == "once"
    with pytest.raises(ClientError) as exc:
        iot.start_audit_mitigation_actions_task(clientRequestToken="t2", **arguments)
    assert error_of(exc)[0] == "TaskAlreadyExistsException"


def test_cancel_and_list_tasks(iot: Any, iot_mock: IotMock) -> None:
    action(iot, "tell", {"publishFindingToSnsParams": {"topicArn": TOPIC}})
    audit_id = audit(iot, "LOGGING_DISABLED_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    iot_mock.audit.hold_tasks()
    for task_id in ("held-1", "held-2"):
        iot.start_audit_mitigation_actions_task(
            taskId=task_id,
            target={"findingIds": [finding_id]},
            auditCheckToActionsMapping={"LOGGING_DISABLED_CHECK": ["tell"]},
        )
    assert iot.describe_audit_mitigation_actions_task(taskId="held-1")["taskStatus"] == (
        "IN_PROGRESS"
    )
    iot.cancel_audit_mitigation_actions_task(taskId="held-1")
    described = iot.describe_audit_mitigation_actions_task(taskId="held-1")
    assert described["taskStatus"] == "CANCELED"
    assert described["taskStatistics"]["LOGGING_DISABLED_CHECK"]["canceledFindingsCount"] == 1
    with pytest.raises(ClientError) as exc:
        iot.cancel_audit_mitigation_actions_task(taskId="held-1")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.cancel_audit_mitigation_actions_task(taskId="unknown")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert iot_mock.audit.run_tasks() == ["held-2"]
    assert len(iot_mock.audit.notifications()) == 1

    listed = iot.list_audit_mitigation_actions_tasks(startTime=EPOCH, endTime=FAR)["tasks"]
    assert [(t["taskId"], t["taskStatus"]) for t in listed] == [
        ("held-1", "CANCELED"),
        ("held-2", "COMPLETED"),
    ]
    completed = iot.list_audit_mitigation_actions_tasks(
        startTime=EPOCH, endTime=FAR, taskStatus="COMPLETED"
    )["tasks"]
    assert [t["taskId"] for t in completed] == ["held-2"]
    by_finding = iot.list_audit_mitigation_actions_tasks(
        startTime=EPOCH, endTime=FAR, findingId=finding_id, maxResults=1
    )
    assert [t["taskId"] for t in by_finding["tasks"]] == ["held-1"]
    assert "nextToken" in by_finding
    by_audit = iot.list_audit_mitigation_actions_tasks(
        startTime=EPOCH, endTime=FAR, auditTaskId=audit_id
    )
    assert by_audit["tasks"] == []  # these tasks targeted findings, not the audit


def test_missing_group_and_full_policy_fail_their_executions(
    iot: Any, shared_certificate: dict[str, Any]
) -> None:
    iot.create_policy(policyName="broad", policyDocument=BROAD)
    iot.attach_policy(policyName="broad", target=shared_certificate["certificateArn"])
    for _ in range(4):
        iot.create_policy_version(policyName="broad", policyDocument=BROAD)
    action(iot, "blank", {"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    action(iot, "isolate", {"addThingsToThingGroupParams": {"thingGroupNames": ["missing"]}})
    audit_id = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    [finding_id] = finding_ids(iot, audit_id)
    iot.start_audit_mitigation_actions_task(
        taskId="fix-7",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"IOT_POLICY_OVERLY_PERMISSIVE_CHECK": ["blank", "isolate"]},
    )
    executions = iot.list_audit_mitigation_actions_executions(taskId="fix-7", findingId=finding_id)[
        "actionsExecutions"
    ]
    assert [(e["actionName"], e["status"], e["errorCode"]) for e in executions] == [
        ("blank", "FAILED", "VersionsLimitExceededException"),
        ("isolate", "FAILED", "ResourceNotFoundException"),
    ]
    assert iot.get_policy(policyName="broad")["defaultVersionId"] == "1"
    statistics = iot.describe_audit_mitigation_actions_task(taskId="fix-7")["taskStatistics"]
    assert statistics["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]["failedFindingsCount"] == 1
