"""Audit tasks run their checks against the mock's state; findings and suppressions."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from error_checks import error_of

from iotmock import IotMock
from iotmock.identity.crypto import make_ca, new_ec_key, to_pem

ROLE = "arn:aws:iam::123456789012:role/audit"
TOPIC = "arn:aws:sns:us-east-1:123456789012:audits"
PAST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)

BROAD = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
)
NARROW = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Publish",
                "Resource": "arn:aws:iot:us-east-1:123456789012:topic/sensors/1",
            }
        ],
    }
)


def enable(iot: Any, *checks: str) -> None:
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={c: {"enabled": True} for c in checks}
    )


def audit(iot: Any, *checks: str) -> tuple[str, dict[str, Any]]:
    """Enable `checks`, run an on-demand audit of them, return its id and description."""
    enable(iot, *checks)
    task_id = iot.start_on_demand_audit_task(targetCheckNames=list(checks))["taskId"]
    return task_id, iot.describe_audit_task(taskId=task_id)


def findings_of(iot: Any, task_id: str, **filters: Any) -> list[dict[str, Any]]:
    return list(iot.list_audit_findings(taskId=task_id, **filters)["findings"])


def register_certificate(iot: Any, *, key: Any = None, days: int = 3650) -> str:
    """A device certificate (registered without CA) with the given key and validity."""
    ca = make_ca("Devices")
    subject_key = key or new_ec_key()
    not_after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
    pem = to_pem(ca.issue(subject_key.public_key(), not_after=not_after))
    return str(
        iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")["certificateId"]
    )


# --------------------------------------------------------------------------- tasks


def test_start_needs_enabled_checks(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    with pytest.raises(ClientError) as exc:
        iot.start_on_demand_audit_task(targetCheckNames=["DEVICE_CERTIFICATE_SHARED_CHECK"])
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "DEVICE_CERTIFICATE_SHARED_CHECK are not enabled" in message
    with pytest.raises(ClientError) as exc:
        iot.start_on_demand_audit_task(targetCheckNames=["NOT_A_CHECK"])
    assert "Unknown audit check" in error_of(exc)[2]


def test_compliant_audit_statistics(iot: Any) -> None:
    iot.create_policy(policyName="narrow", policyDocument=NARROW)
    task_id, described = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    assert described["taskStatus"] == "COMPLETED"
    assert described["taskType"] == "ON_DEMAND_AUDIT_TASK"
    assert described["taskStatistics"] == {
        "totalChecks": 1,
        "inProgressChecks": 0,
        "waitingForDataCollectionChecks": 0,
        "compliantChecks": 1,
        "nonCompliantChecks": 0,
        "failedChecks": 0,
        "canceledChecks": 0,
    }
    assert described["auditDetails"]["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"] == {
        "checkRunStatus": "COMPLETED_COMPLIANT",
        "checkCompliant": True,
        "totalResourcesCount": 1,
        "nonCompliantResourcesCount": 0,
        "suppressedNonCompliantResourcesCount": 0,
    }
    assert findings_of(iot, task_id) == []


def test_overly_permissive_policy_finding(iot: Any) -> None:
    iot.create_policy(policyName="broad", policyDocument=BROAD)
    iot.create_policy(policyName="narrow", policyDocument=NARROW)
    cert = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_policy(policyName="broad", target=cert["certificateArn"])
    task_id, described = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    details = described["auditDetails"]["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]
    assert details["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
    assert (details["totalResourcesCount"], details["nonCompliantResourcesCount"]) == (2, 1)
    [finding] = findings_of(iot, task_id)
    assert finding["severity"] == "CRITICAL"
    assert finding["taskId"] == task_id
    assert finding["nonCompliantResource"] == {
        "resourceType": "IOT_POLICY",
        "resourceIdentifier": {
            "policyVersionIdentifier": {"policyName": "broad", "policyVersionId": "1"}
        },
    }
    assert finding["reasonForNonComplianceCode"] == "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"
    assert finding["relatedResources"] == [
        {
            "resourceType": "DEVICE_CERTIFICATE",
            "resourceIdentifier": {
                "deviceCertificateId": cert["certificateId"],
                "deviceCertificateArn": cert["certificateArn"],
            },
        }
    ]
    assert finding["isSuppressed"] is False
    described_finding = iot.describe_audit_finding(findingId=finding["findingId"])["finding"]
    assert described_finding == finding
    related = iot.list_related_resources_for_audit_finding(findingId=finding["findingId"])
    assert related["relatedResources"] == finding["relatedResources"]


def test_unbounded_subscription_and_misconfigured_deny(iot: Any) -> None:
    subscribe_all = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Subscribe",
                "Resource": "arn:aws:iot:us-east-1:123456789012:topicfilter/#",
            },
            {
                "Effect": "Deny",
                "Action": "iot:Publish",
                "Resource": "arn:aws:iot:us-east-1:123456789012:topic/admin/+",
            },
        ],
    }
    iot.create_policy(policyName="subs", policyDocument=json.dumps(subscribe_all))
    task_id, _ = audit(
        iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK"
    )
    codes = {
        f["checkName"]: (f["reasonForNonComplianceCode"], f["severity"])
        for f in findings_of(iot, task_id)
    }
    assert codes == {
        "IOT_POLICY_OVERLY_PERMISSIVE_CHECK": ("ALLOWS_UNBOUNDED_SUBSCRIPTION", "CRITICAL"),
        "IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK": (
            "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
            "MEDIUM",
        ),
    }


def test_device_certificate_expiring_and_expired(iot: Any) -> None:
    fine = register_certificate(iot, days=3650)
    expiring = register_certificate(iot, days=10)
    task_id, described = audit(iot, "DEVICE_CERTIFICATE_EXPIRING_CHECK")
    details = described["auditDetails"]["DEVICE_CERTIFICATE_EXPIRING_CHECK"]
    assert (details["totalResourcesCount"], details["nonCompliantResourcesCount"]) == (2, 1)
    [finding] = findings_of(iot, task_id)
    assert finding["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] == expiring
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_APPROACHING_EXPIRATION"
    assert finding["severity"] == "MEDIUM"
    # Later, the mock clock says it has expired and the other one is expiring.
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3640)
    with time_machine.travel(later, tick=False):
        task_id = iot.start_on_demand_audit_task(
            targetCheckNames=["DEVICE_CERTIFICATE_EXPIRING_CHECK"]
        )["taskId"]
    codes = {
        f["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"]: f[
            "reasonForNonComplianceCode"
        ]
        for f in findings_of(iot, task_id)
    }
    assert codes == {
        expiring: "CERTIFICATE_PAST_EXPIRATION",
        fine: "CERTIFICATE_APPROACHING_EXPIRATION",
    }


def test_inactive_certificates_are_not_examined(iot: Any) -> None:
    certificate_id = register_certificate(iot, days=5)
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    _, described = audit(iot, "DEVICE_CERTIFICATE_EXPIRING_CHECK")
    details = described["auditDetails"]["DEVICE_CERTIFICATE_EXPIRING_CHECK"]
    assert details["totalResourcesCount"] == 0
    assert details["checkCompliant"] is True


def test_expiration_threshold_is_configurable(iot: Any) -> None:
    register_certificate(iot, days=100)
    iot.update_account_audit_configuration(
        roleArn=ROLE,
        auditCheckConfigurations={
            "DEVICE_CERTIFICATE_EXPIRING_CHECK": {
                "enabled": True,
                "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "120"},
            }
        },
    )
    task_id = iot.start_on_demand_audit_task(
        targetCheckNames=["DEVICE_CERTIFICATE_EXPIRING_CHECK"]
    )["taskId"]
    assert len(findings_of(iot, task_id)) == 1


def test_certificate_age_check(iot: Any) -> None:
    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        old = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    with time_machine.travel(start + dt.timedelta(days=300), tick=False):
        iot.create_keys_and_certificate(setAsActive=True)
    with time_machine.travel(start + dt.timedelta(days=400), tick=False):
        task_id, _ = audit(iot, "DEVICE_CERTIFICATE_AGE_CHECK")
    [finding] = findings_of(iot, task_id)
    assert finding["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] == old
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_PAST_AGE_THRESHOLD"
    assert finding["severity"] == "LOW"


def test_key_quality_of_device_and_ca_certificates(iot: Any) -> None:
    weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = register_certificate(iot, key=weak_key)
    register_certificate(iot)
    weak_ca = make_ca("Weak CA", key=rsa.generate_private_key(public_exponent=65537, key_size=1024))
    ca_id = iot.register_ca_certificate(
        caCertificate=weak_ca.pem, certificateMode="SNI_ONLY", setAsActive=True
    )["certificateId"]
    task_id, _ = audit(
        iot, "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", "CA_CERTIFICATE_KEY_QUALITY_CHECK"
    )
    by_check = {f["checkName"]: f for f in findings_of(iot, task_id)}
    device = by_check["DEVICE_CERTIFICATE_KEY_QUALITY_CHECK"]
    assert device["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] == weak
    assert device["reasonForNonComplianceCode"] == "CERTIFICATE_KEY_WEAK"
    assert "1024-bit" in device["reasonForNonCompliance"]
    ca = by_check["CA_CERTIFICATE_KEY_QUALITY_CHECK"]
    assert ca["nonCompliantResource"] == {
        "resourceType": "CA_CERTIFICATE",
        "resourceIdentifier": {"caCertificateId": ca_id},
    }
    assert len(findings_of(iot, task_id, checkName="DEVICE_CERTIFICATE_KEY_QUALITY_CHECK")) == 1


def test_ca_certificate_expiring(iot: Any) -> None:
    ca = make_ca("Expiring CA")
    ca_id = iot.register_ca_certificate(
        caCertificate=ca.pem, certificateMode="SNI_ONLY", setAsActive=True
    )["certificateId"]
    not_after = ca.certificate.not_valid_after_utc
    _, described = audit(iot, "CA_CERTIFICATE_EXPIRING_CHECK")
    assert described["auditDetails"]["CA_CERTIFICATE_EXPIRING_CHECK"]["checkCompliant"] is True
    with time_machine.travel(not_after - dt.timedelta(days=5), tick=False):
        task_id = iot.start_on_demand_audit_task(
            targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK"]
        )["taskId"]
        [finding] = findings_of(iot, task_id)
    assert finding["nonCompliantResource"]["resourceIdentifier"] == {"caCertificateId": ca_id}
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_APPROACHING_EXPIRATION"


def test_revoked_at_issuer_checks(iot: Any, iot_mock: IotMock) -> None:
    code = iot.get_registration_code()["registrationCode"]
    from iotmock.identity.crypto import verification_certificate

    ca = make_ca("Issuing CA")
    ca_id = iot.register_ca_certificate(
        caCertificate=ca.pem,
        verificationCertificate=verification_certificate(ca, code),
        setAsActive=True,
    )["certificateId"]
    device_pem = to_pem(ca.issue(new_ec_key().public_key()))
    device = iot.register_certificate(certificatePem=device_pem, status="ACTIVE")["certificateId"]
    checks = (
        "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
        "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
        "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK",
    )
    task_id, _ = audit(iot, *checks)
    assert findings_of(iot, task_id) == []
    iot_mock.audit.revoke_at_issuer(ca_id)
    iot_mock.audit.revoke_at_issuer(device)
    task_id = iot.start_on_demand_audit_task(targetCheckNames=list(checks))["taskId"]
    found = {f["checkName"]: f for f in findings_of(iot, task_id)}
    assert set(found) == set(checks)
    assert found["REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK"]["nonCompliantResource"][
        "resourceIdentifier"
    ] == {"caCertificateId": ca_id}
    assert (
        found["REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK"]["reasonForNonComplianceCode"]
        == "CERTIFICATE_REVOKED_BY_ISSUER"
    )
    intermediate = found["INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK"]
    assert intermediate["relatedResources"][0]["resourceIdentifier"] == {"caCertificateId": ca_id}


def test_connection_checks(iot: Any, iot_mock: IotMock) -> None:
    cert = iot.create_keys_and_certificate(setAsActive=True)
    other = iot.create_keys_and_certificate(setAsActive=True)
    iot_mock.devices.connect("sensor-1", principal=cert["certificateId"])
    iot_mock.devices.connect("sensor-2", principal=cert["certificateId"])
    iot_mock.devices.connect("sensor-2", principal=other["certificateId"])
    task_id, described = audit(
        iot, "DEVICE_CERTIFICATE_SHARED_CHECK", "CONFLICTING_CLIENT_IDS_CHECK"
    )
    found = {f["checkName"]: f for f in findings_of(iot, task_id)}
    shared = found["DEVICE_CERTIFICATE_SHARED_CHECK"]
    assert (
        shared["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"]
        == (cert["certificateId"])
    )
    # One related resource per connection, newest first (tests/test_audit_fidelity.py).
    assert [r["resourceIdentifier"] for r in shared["relatedResources"]] == [
        {"clientId": "sensor-2"},
        {"clientId": "sensor-1"},
    ]
    conflicting = found["CONFLICTING_CLIENT_IDS_CHECK"]
    assert conflicting["nonCompliantResource"] == {
        "resourceType": "CLIENT_ID",
        "resourceIdentifier": {"clientId": "sensor-2"},
    }
    assert conflicting["severity"] == "HIGH"
    assert len(conflicting["relatedResources"]) == 2
    details = described["auditDetails"]["CONFLICTING_CLIENT_IDS_CHECK"]
    assert (details["totalResourcesCount"], details["nonCompliantResourcesCount"]) == (2, 1)


def test_logging_disabled_and_unobservable_checks(iot: Any) -> None:
    task_id, described = audit(
        iot, "LOGGING_DISABLED_CHECK", "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
    )
    [finding] = findings_of(iot, task_id)
    assert finding["nonCompliantResource"] == {
        "resourceType": "ACCOUNT_SETTINGS",
        "resourceIdentifier": {"account": "123456789012"},
    }
    assert finding["reasonForNonComplianceCode"] == "LOGGING_DISABLED"
    cognito = described["auditDetails"]["UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"]
    assert cognito["checkRunStatus"] == "COMPLETED_COMPLIANT"
    assert cognito["totalResourcesCount"] == 0
    assert described["taskStatistics"]["nonCompliantChecks"] == 1


@pytest.mark.parametrize(
    ("configure", "compliant"),
    [
        (lambda iot: iot.set_logging_options(loggingOptionsPayload={"roleArn": ROLE}), False),
        (
            lambda iot: iot.set_logging_options(
                loggingOptionsPayload={"roleArn": ROLE, "logLevel": "INFO"}
            ),
            True,
        ),
        (lambda iot: iot.set_v2_logging_options(roleArn=ROLE, defaultLogLevel="WARN"), True),
        (
            lambda iot: iot.set_v2_logging_options(
                roleArn=ROLE, defaultLogLevel="WARN", disableAllLogs=True
            ),
            False,
        ),
    ],
)
def test_logging_check_reads_the_logging_options(iot: Any, configure: Any, compliant: bool) -> None:
    configure(iot)
    _, described = audit(iot, "LOGGING_DISABLED_CHECK")
    status = described["auditDetails"]["LOGGING_DISABLED_CHECK"]["checkRunStatus"]
    assert status == ("COMPLETED_COMPLIANT" if compliant else "COMPLETED_NON_COMPLIANT")


def test_audit_completion_notification(iot: Any, iot_mock: IotMock) -> None:
    iot.update_account_audit_configuration(
        roleArn=ROLE,
        auditNotificationTargetConfigurations={
            "SNS": {"targetArn": TOPIC, "roleArn": ROLE, "enabled": True}
        },
        auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}},
    )
    task_id = iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])["taskId"]
    [notification] = iot_mock.audit.notifications()
    assert notification["targetArn"] == TOPIC
    message = notification["message"]
    assert message["taskId"] == task_id
    assert message["nonCompliantChecksCount"] == 1
    assert message["auditDetails"] == [
        {
            "checkName": "LOGGING_DISABLED_CHECK",
            "checkRunStatus": "COMPLETED_NON_COMPLIANT",
            "nonCompliantResourcesCount": 1,
            "totalResourcesCount": 1,
        }
    ]


def test_cancel_audit_task(iot: Any, iot_mock: IotMock) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    iot_mock.audit.hold_tasks()
    task_id = iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])["taskId"]
    described = iot.describe_audit_task(taskId=task_id)
    assert described["taskStatus"] == "IN_PROGRESS"
    assert described["auditDetails"]["LOGGING_DISABLED_CHECK"] == {"checkRunStatus": "IN_PROGRESS"}
    iot.cancel_audit_task(taskId=task_id)
    described = iot.describe_audit_task(taskId=task_id)
    assert described["taskStatus"] == "CANCELED"
    assert described["taskStatistics"]["canceledChecks"] == 1
    with pytest.raises(ClientError) as exc:
        iot.cancel_audit_task(taskId=task_id)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "CANCELED" in message
    second = iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])["taskId"]
    assert iot_mock.audit.run_tasks() == [second]
    assert iot.describe_audit_task(taskId=second)["taskStatus"] == "COMPLETED"
    with pytest.raises(ClientError) as exc:
        iot.cancel_audit_task(taskId="0" * 32)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.describe_audit_task(taskId="0" * 32)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_audit_tasks_by_period_and_filters(iot: Any, iot_mock: IotMock) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    ids = []
    for day in range(3):
        with time_machine.travel(start + dt.timedelta(days=day), tick=False):
            ids.append(
                iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])[
                    "taskId"
                ]
            )
    with time_machine.travel(start + dt.timedelta(days=3), tick=False):
        iot.create_scheduled_audit(
            scheduledAuditName="d", frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
        )
        scheduled = iot_mock.audit.run_scheduled("d")
        everything = iot.list_audit_tasks(startTime=start, endTime=start + dt.timedelta(days=5))
        assert [t["taskId"] for t in everything["tasks"]] == [*ids, scheduled]
        middle = iot.list_audit_tasks(
            startTime=start + dt.timedelta(hours=12), endTime=start + dt.timedelta(days=2)
        )
        assert [t["taskId"] for t in middle["tasks"]] == ids[1:]
        only_scheduled = iot.list_audit_tasks(
            startTime=start, endTime=start + dt.timedelta(days=5), taskType="SCHEDULED_AUDIT_TASK"
        )
        assert only_scheduled["tasks"] == [
            {"taskId": scheduled, "taskStatus": "COMPLETED", "taskType": "SCHEDULED_AUDIT_TASK"}
        ]
        page = iot.list_audit_tasks(
            startTime=start, endTime=start + dt.timedelta(days=5), maxResults=3
        )
        rest = iot.list_audit_tasks(
            startTime=start,
            endTime=start + dt.timedelta(days=5),
            maxResults=3,
            nextToken=page["nextToken"],
        )
        assert [t["taskId"] for t in rest["tasks"]] == [scheduled]
        with pytest.raises(ClientError) as exc:
            iot.list_audit_tasks(startTime=start - dt.timedelta(days=100), endTime=start)
        assert "90 days" in error_of(exc)[2]


def test_list_findings_needs_task_or_period(iot: Any) -> None:
    task_id, _ = audit(iot, "LOGGING_DISABLED_CHECK")
    with pytest.raises(ClientError) as exc:
        iot.list_audit_findings()
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.list_audit_findings(taskId=task_id, startTime=PAST, endTime=FUTURE)
    assert "not both" in error_of(exc)[2]
    by_period = iot.list_audit_findings(startTime=PAST, endTime=FUTURE)["findings"]
    assert [f["taskId"] for f in by_period] == [task_id]
    assert iot.list_audit_findings(taskId="f" * 32)["findings"] == []
    with pytest.raises(ClientError) as exc:
        iot.describe_audit_finding(findingId="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_findings_filter_by_resource_and_page(iot: Any) -> None:
    for number in range(3):
        iot.create_policy(policyName=f"broad{number}", policyDocument=BROAD)
    task_id, _ = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    identifier = {"policyVersionIdentifier": {"policyName": "broad1", "policyVersionId": "1"}}
    [one] = findings_of(iot, task_id, resourceIdentifier=identifier)
    assert one["nonCompliantResource"]["resourceIdentifier"] == identifier
    first = iot.list_audit_findings(taskId=task_id, maxResults=2)
    second = iot.list_audit_findings(taskId=task_id, maxResults=2, nextToken=first["nextToken"])
    assert len(first["findings"]) == 2 and len(second["findings"]) == 1
    assert "nextToken" not in second


# --------------------------------------------------------------------------- suppressions


LOGGING_ACCOUNT = {"account": "123456789012"}
# The key of a suppression of the account's LOGGING_DISABLED_CHECK finding.
LOGGING_SUPPRESSION: dict[str, Any] = {
    "checkName": "LOGGING_DISABLED_CHECK",
    "resourceIdentifier": LOGGING_ACCOUNT,
}


def test_suppression_lifecycle(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    iot.create_audit_suppression(**LOGGING_SUPPRESSION, expirationDate=FUTURE, description="known")
    described = iot.describe_audit_suppression(**LOGGING_SUPPRESSION)
    assert described["expirationDate"] == FUTURE
    assert described["suppressIndefinitely"] is False
    assert described["description"] == "known"
    iot.update_audit_suppression(
        **LOGGING_SUPPRESSION, suppressIndefinitely=True, description="forever"
    )
    described = iot.describe_audit_suppression(**LOGGING_SUPPRESSION)
    assert described["suppressIndefinitely"] is True
    assert "expirationDate" not in described
    assert described["description"] == "forever"
    with pytest.raises(ClientError) as exc:
        iot.create_audit_suppression(**LOGGING_SUPPRESSION, suppressIndefinitely=True)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    iot.delete_audit_suppression(**LOGGING_SUPPRESSION)
    with pytest.raises(ClientError) as exc:
        iot.describe_audit_suppression(**LOGGING_SUPPRESSION)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.update_audit_suppression(**LOGGING_SUPPRESSION, description="x")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_same_client_token_is_idempotent(iot: Any) -> None:
    for _ in range(2):
        iot.create_audit_suppression(
            **LOGGING_SUPPRESSION, suppressIndefinitely=True, clientRequestToken="token-1"
        )
    assert len(iot.list_audit_suppressions()["suppressions"]) == 1


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"expirationDate": PAST}, "must be in the future"),
        ({"expirationDate": FUTURE, "suppressIndefinitely": True}, "not both"),
        ({"suppressIndefinitely": False}, "needs an expirationDate"),
    ],
)
def test_invalid_suppressions(iot: Any, fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_audit_suppression(**LOGGING_SUPPRESSION, **fields)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message


def test_suppressed_findings(iot: Any) -> None:
    iot.create_policy(policyName="broad", policyDocument=BROAD)
    iot.create_audit_suppression(**LOGGING_SUPPRESSION, expirationDate=FUTURE)
    task_id, described = audit(iot, "LOGGING_DISABLED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    logging = described["auditDetails"]["LOGGING_DISABLED_CHECK"]
    assert logging["nonCompliantResourcesCount"] == 1
    assert logging["suppressedNonCompliantResourcesCount"] == 1
    assert logging["checkRunStatus"] == "COMPLETED_COMPLIANT"
    [suppressed] = findings_of(iot, task_id, listSuppressedFindings=True)
    assert suppressed["checkName"] == "LOGGING_DISABLED_CHECK"
    assert suppressed["isSuppressed"] is True
    [shown] = findings_of(iot, task_id, listSuppressedFindings=False)
    assert shown["checkName"] == "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
    assert len(findings_of(iot, task_id)) == 2
    # An expired suppression no longer hides the finding.
    with time_machine.travel(FUTURE + dt.timedelta(days=1), tick=False):
        task_id = iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])[
            "taskId"
        ]
        [finding] = findings_of(iot, task_id)
    assert finding["isSuppressed"] is False


def test_list_suppressions_orders_by_expiration(iot: Any) -> None:
    soon = dt.datetime(2090, 1, 1, tzinfo=dt.timezone.utc)
    iot.create_audit_suppression(
        checkName="DEVICE_CERTIFICATE_EXPIRING_CHECK",
        resourceIdentifier={"deviceCertificateId": "b" * 64},
        expirationDate=FUTURE,
    )
    iot.create_audit_suppression(
        checkName="DEVICE_CERTIFICATE_EXPIRING_CHECK",
        resourceIdentifier={"deviceCertificateId": "a" * 64},
        expirationDate=soon,
    )
    iot.create_audit_suppression(**LOGGING_SUPPRESSION, suppressIndefinitely=True)
    ascending = iot.list_audit_suppressions()["suppressions"]
    assert [s.get("expirationDate") for s in ascending] == [soon, FUTURE, None]
    descending = iot.list_audit_suppressions(ascendingOrder=False)["suppressions"]
    assert [s["checkName"] for s in descending] == [
        "LOGGING_DISABLED_CHECK",
        "DEVICE_CERTIFICATE_EXPIRING_CHECK",
        "DEVICE_CERTIFICATE_EXPIRING_CHECK",
    ]
    by_check = iot.list_audit_suppressions(checkName="LOGGING_DISABLED_CHECK")["suppressions"]
    assert [s["resourceIdentifier"] for s in by_check] == [LOGGING_ACCOUNT]
    by_resource = iot.list_audit_suppressions(resourceIdentifier={"deviceCertificateId": "a" * 64})[
        "suppressions"
    ]
    assert [s["expirationDate"] for s in by_resource] == [soon]
    first = iot.list_audit_suppressions(maxResults=2)
    second = iot.list_audit_suppressions(maxResults=2, nextToken=first["nextToken"])
    assert len(second["suppressions"]) == 1 and "nextToken" not in second


def test_related_resources_page(iot: Any) -> None:
    iot.create_policy(policyName="broad", policyDocument=BROAD)
    arns = []
    for _ in range(12):
        arn = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
        iot.attach_policy(policyName="broad", target=arn)
        arns.append(arn)
    task_id, _ = audit(iot, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    [finding] = findings_of(iot, task_id)
    assert len(finding["relatedResources"]) == 10  # DescribeAuditFinding shows at most 10
    first = iot.list_related_resources_for_audit_finding(
        findingId=finding["findingId"], maxResults=8
    )
    second = iot.list_related_resources_for_audit_finding(
        findingId=finding["findingId"], maxResults=8, nextToken=first["nextToken"]
    )
    listed = first["relatedResources"] + second["relatedResources"]
    assert [r["resourceIdentifier"]["deviceCertificateArn"] for r in listed] == arns
    assert "nextToken" not in second
    with pytest.raises(ClientError) as exc:
        iot.list_related_resources_for_audit_finding(findingId="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
