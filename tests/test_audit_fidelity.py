"""DEVICE_CERTIFICATE_SHARED_CHECK findings as AWS's example output shows them (issue 10):
one CLIENT_ID related resource per connection, with CONNECTION_TIME and, for a closed
connection, DISCONNECTION_TIME (epoch milliseconds, as strings)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import time_machine

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/audit"
CHECK = "DEVICE_CERTIFICATE_SHARED_CHECK"
T0 = dt.datetime(2019, 6, 9, 12, 0, 0, tzinfo=dt.timezone.utc)


def _at(seconds: float) -> Any:
    return time_machine.travel(T0 + dt.timedelta(seconds=seconds), tick=False)


def _ms(seconds: float) -> str:
    return str(int((T0 + dt.timedelta(seconds=seconds)).timestamp() * 1000))


def _finding(iot: Any) -> dict[str, Any]:
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={CHECK: {"enabled": True}}
    )
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[CHECK])["taskId"]
    [finding] = iot.list_audit_findings(taskId=task_id)["findings"]
    return dict(finding)


def test_each_connection_is_a_related_resource_with_its_times(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    cert = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    with _at(0):
        iot_mock.devices.connect("ZipxgAIl", principal=cert)
    with _at(10):
        iot_data.delete_connection(clientId="ZipxgAIl")
    with _at(20):
        iot_mock.devices.connect("ZipxgAIl", principal=cert)
    with _at(30):
        iot_mock.devices.connect("xShGENLW", principal=cert)
    finding = _finding(iot)
    assert finding["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] == cert
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES"
    assert finding["reasonForNonCompliance"] == "Certificate shared by one or more devices."
    assert finding["relatedResources"] == [
        {
            "resourceType": "CLIENT_ID",
            "resourceIdentifier": {"clientId": "xShGENLW"},
            "additionalInfo": {"CONNECTION_TIME": _ms(30)},
        },
        {
            "resourceType": "CLIENT_ID",
            "resourceIdentifier": {"clientId": "ZipxgAIl"},
            "additionalInfo": {"CONNECTION_TIME": _ms(20)},
        },
        {
            "resourceType": "CLIENT_ID",
            "resourceIdentifier": {"clientId": "ZipxgAIl"},
            "additionalInfo": {"CONNECTION_TIME": _ms(0), "DISCONNECTION_TIME": _ms(10)},
        },
    ]


def test_one_client_id_reconnecting_is_not_sharing(
    iot: Any, iot_data: Any, iot_mock: IotMock
) -> None:
    cert = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    iot_mock.devices.connect("only", principal=cert)
    iot_data.delete_connection(clientId="only")
    iot_mock.devices.connect("only", principal=cert)
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={CHECK: {"enabled": True}}
    )
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[CHECK])["taskId"]
    assert iot.list_audit_findings(taskId=task_id)["findings"] == []


def _broad_policy_finding(iot: Any) -> dict[str, Any]:
    """The finding of an audit that finds a policy allowing iot:* on *, attached to nothing."""
    broad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
    iot.create_policy(policyName="broad", policyDocument=json.dumps(broad))
    check = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={check: {"enabled": True}}
    )
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[check])["taskId"]
    [finding] = iot.list_audit_findings(taskId=task_id)["findings"]
    return dict(finding)


def test_a_finding_without_related_resources_has_no_related_resources_key(iot: Any) -> None:
    # AWS's CLI example describe-audit-finding: an overly permissive policy attached to
    # nothing has no relatedResources, rather than an empty list.
    listed = _broad_policy_finding(iot)
    assert "relatedResources" not in listed
    described = iot.describe_audit_finding(findingId=listed["findingId"])["finding"]
    assert "relatedResources" not in described


def test_shared_certificate_reason_is_aws_wording_whatever_the_client_count(
    iot: Any, iot_mock: IotMock
) -> None:
    # AWS's CLI example list-audit-findings: "Certificate shared by one or more devices."
    cert = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    for client in ("one", "two", "three"):
        iot_mock.devices.connect(client, principal=cert)
    finding = _finding(iot)
    assert finding["reasonForNonCompliance"] == "Certificate shared by one or more devices."
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES"


def test_overly_permissive_reason_lists_the_actions_in_brackets(iot: Any) -> None:
    # AWS's CLI example describe-audit-finding: "Policy allows broad access to IoT data
    # plane actions: [iot:Subscribe, iot:Connect, ...]."
    finding = _broad_policy_finding(iot)
    assert finding["reasonForNonComplianceCode"] == "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"
    assert finding["reasonForNonCompliance"] == (
        "Policy allows broad access to IoT data plane actions: "
        "[iot:Connect, iot:Publish, iot:Subscribe, iot:Receive]."
    )
