"""An audit mitigation action that deactivates a certificate changes it the way
UpdateCertificate does (both go through `iotmock.identity.certificates.change_status`):
the same status, customerVersion and generationId, and the devices connected with it are
disconnected (AUTH_ERROR) at their next action."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/audit"
ALLOW_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
)


def _deactivate_by_update(iot: Any, certificate_id: str) -> None:
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")


def _deactivate_by_mitigation(iot: Any, certificate_id: str) -> None:
    iot.create_mitigation_action(
        actionName="deactivate",
        roleArn=ROLE,
        actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}},
    )
    iot.update_account_audit_configuration(
        roleArn=ROLE,
        auditCheckConfigurations={"DEVICE_CERTIFICATE_SHARED_CHECK": {"enabled": True}},
    )
    audit_id = iot.start_on_demand_audit_task(targetCheckNames=["DEVICE_CERTIFICATE_SHARED_CHECK"])[
        "taskId"
    ]
    iot.start_audit_mitigation_actions_task(
        taskId="fix",
        target={"auditTaskId": audit_id},
        auditCheckToActionsMapping={"DEVICE_CERTIFICATE_SHARED_CHECK": ["deactivate"]},
    )
    executions = iot.list_audit_mitigation_actions_executions(
        taskId="fix", findingId=iot.list_audit_findings(taskId=audit_id)["findings"][0]["findingId"]
    )["actionsExecutions"]
    assert [e["status"] for e in executions] == ["COMPLETED"]


@pytest.mark.parametrize(
    "deactivate", [_deactivate_by_update, _deactivate_by_mitigation], ids=["update", "mitigation"]
)
def test_deactivating_a_certificate_disconnects_its_devices_either_way(
    iot: Any, iot_data: Any, iot_mock: IotMock, deactivate: Any
) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    certificate_id = created["certificateId"]
    iot.create_policy(policyName="all", policyDocument=ALLOW_ALL)
    iot.attach_policy(policyName="all", target=created["certificateArn"])
    # Two client ids on one certificate: what DEVICE_CERTIFICATE_SHARED_CHECK finds.
    devices = [iot_mock.devices.connect(c, certificate_id=certificate_id) for c in ("d1", "d2")]
    for device in devices:
        device.subscribe("news/#")
    before = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]

    deactivate(iot, certificate_id)

    after = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
    assert after["status"] == "INACTIVE"
    assert after["customerVersion"] == before["customerVersion"] + 1
    assert after["generationId"] != before["generationId"]
    iot_data.publish(topic="news/1", payload=b"hello")
    assert [d.received() for d in devices] == [[], []]
    assert [d.disconnect_reason for d in devices] == ["AUTH_ERROR", "AUTH_ERROR"]
    events = iot_mock.messages("$aws/events/presence/disconnected/#")
    assert [e.json()["disconnectReason"] for e in events] == ["AUTH_ERROR", "AUTH_ERROR"]
