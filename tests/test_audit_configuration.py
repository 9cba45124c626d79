"""Device Defender Audit settings: the account audit configuration and scheduled audits."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/audit"
TOPIC = "arn:aws:sns:us-east-1:123456789012:audits"


def enable(iot: Any, *checks: str) -> None:
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={c: {"enabled": True} for c in checks}
    )


def test_fresh_account_lists_every_check_disabled(iot: Any) -> None:
    described = iot.describe_account_audit_configuration()
    checks = described["auditCheckConfigurations"]
    assert "roleArn" not in described
    assert "LOGGING_DISABLED_CHECK" in checks
    assert "DEVICE_CERTIFICATE_EXPIRING_CHECK" in checks
    assert len(checks) == 17
    assert all(entry == {"enabled": False} for entry in checks.values())


def test_first_update_needs_a_role_arn(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_account_audit_configuration(
            auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}}
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "roleArn is required" in message
    enable(iot, "LOGGING_DISABLED_CHECK")
    # Later updates keep the role.
    iot.update_account_audit_configuration(
        auditCheckConfigurations={"CONFLICTING_CLIENT_IDS_CHECK": {"enabled": True}}
    )
    described = iot.describe_account_audit_configuration()
    assert described["roleArn"] == ROLE
    checks = described["auditCheckConfigurations"]
    assert checks["LOGGING_DISABLED_CHECK"] == {"enabled": True}
    assert checks["CONFLICTING_CLIENT_IDS_CHECK"] == {"enabled": True}
    assert checks["DEVICE_CERTIFICATE_SHARED_CHECK"] == {"enabled": False}


def test_update_sets_notification_targets_and_check_settings(iot: Any) -> None:
    iot.update_account_audit_configuration(
        roleArn=ROLE,
        auditNotificationTargetConfigurations={
            "SNS": {"targetArn": TOPIC, "roleArn": ROLE, "enabled": True}
        },
        auditCheckConfigurations={
            "DEVICE_CERTIFICATE_AGE_CHECK": {
                "enabled": True,
                "configuration": {"CERT_AGE_THRESHOLD_IN_DAYS": "90"},
            }
        },
    )
    described = iot.describe_account_audit_configuration()
    assert described["auditNotificationTargetConfigurations"] == {
        "SNS": {"targetArn": TOPIC, "roleArn": ROLE, "enabled": True}
    }
    assert described["auditCheckConfigurations"]["DEVICE_CERTIFICATE_AGE_CHECK"] == {
        "enabled": True,
        "configuration": {"CERT_AGE_THRESHOLD_IN_DAYS": "90"},
    }


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ({"auditCheckConfigurations": {"NO_SUCH_CHECK": {"enabled": True}}}, "NO_SUCH_CHECK"),
        (
            {
                "auditCheckConfigurations": {
                    "LOGGING_DISABLED_CHECK": {
                        "enabled": True,
                        "configuration": {"CERT_AGE_THRESHOLD_IN_DAYS": "3"},
                    }
                }
            },
            "has no configuration",
        ),
        (
            {"auditNotificationTargetConfigurations": {"SNS": {"enabled": True}}},
            "needs a targetArn and a roleArn",
        ),
        ({"roleArn": "arn:aws:iam::123456789012:user/someone"}, "not an IAM role ARN"),
    ],
)
def test_invalid_updates_are_refused_and_change_nothing(
    iot: Any, update: dict[str, Any], fragment: str
) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    before = iot.describe_account_audit_configuration()
    with pytest.raises(ClientError) as exc:
        iot.update_account_audit_configuration(**update)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message
    after = iot.describe_account_audit_configuration()
    assert after["auditCheckConfigurations"] == before["auditCheckConfigurations"]
    assert after["roleArn"] == before["roleArn"]


def test_delete_configuration_resets_checks(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.delete_account_audit_configuration()
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    enable(iot, "LOGGING_DISABLED_CHECK")
    iot.delete_account_audit_configuration()
    described = iot.describe_account_audit_configuration()
    assert "roleArn" not in described
    assert described["auditCheckConfigurations"]["LOGGING_DISABLED_CHECK"] == {"enabled": False}


def test_delete_configuration_refuses_while_scheduled_audits_exist(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    iot.create_scheduled_audit(
        scheduledAuditName="daily",
        frequency="DAILY",
        targetCheckNames=["LOGGING_DISABLED_CHECK"],
        tags=[{"Key": "team", "Value": "sec"}],
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_account_audit_configuration()
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "deleteScheduledAudits" in message
    iot.delete_account_audit_configuration(deleteScheduledAudits=True)
    assert iot.list_scheduled_audits()["scheduledAudits"] == []
    arn = "arn:aws:iot:us-east-1:123456789012:scheduledaudit/daily"
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(exc)[0] == "ResourceNotFoundException"


# --------------------------------------------------------------------------- scheduled audits


def test_scheduled_audit_lifecycle(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK", "CONFLICTING_CLIENT_IDS_CHECK")
    created = iot.create_scheduled_audit(
        scheduledAuditName="weekly",
        frequency="WEEKLY",
        dayOfWeek="MON",
        targetCheckNames=["LOGGING_DISABLED_CHECK"],
        tags=[{"Key": "team", "Value": "sec"}],
    )
    arn = "arn:aws:iot:us-east-1:123456789012:scheduledaudit/weekly"
    assert created["scheduledAuditArn"] == arn
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "sec"}]
    described = iot.describe_scheduled_audit(scheduledAuditName="weekly")
    assert described["frequency"] == "WEEKLY"
    assert described["dayOfWeek"] == "MON"
    assert "dayOfMonth" not in described
    assert described["targetCheckNames"] == ["LOGGING_DISABLED_CHECK"]

    updated = iot.update_scheduled_audit(
        scheduledAuditName="weekly",
        frequency="MONTHLY",
        dayOfMonth="LAST",
        targetCheckNames=["CONFLICTING_CLIENT_IDS_CHECK", "LOGGING_DISABLED_CHECK"],
    )
    assert updated["scheduledAuditArn"] == arn
    described = iot.describe_scheduled_audit(scheduledAuditName="weekly")
    assert (described["frequency"], described["dayOfMonth"]) == ("MONTHLY", "LAST")
    assert "dayOfWeek" not in described  # the weekly day no longer applies
    assert described["targetCheckNames"] == [
        "CONFLICTING_CLIENT_IDS_CHECK",
        "LOGGING_DISABLED_CHECK",
    ]
    assert iot.list_scheduled_audits()["scheduledAudits"] == [
        {
            "scheduledAuditName": "weekly",
            "scheduledAuditArn": arn,
            "frequency": "MONTHLY",
            "dayOfMonth": "LAST",
        }
    ]
    iot.delete_scheduled_audit(scheduledAuditName="weekly")
    for call in (iot.describe_scheduled_audit, iot.delete_scheduled_audit):
        with pytest.raises(ClientError) as exc:
            call(scheduledAuditName="weekly")
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("schedule", "fragment"),
    [
        ({"frequency": "MONTHLY"}, "dayOfMonth is required"),
        ({"frequency": "BIWEEKLY"}, "dayOfWeek is required"),
        ({"frequency": "DAILY", "dayOfWeek": "SUN"}, "dayOfWeek cannot be set"),
        ({"frequency": "WEEKLY", "dayOfWeek": "SUN", "dayOfMonth": "3"}, "dayOfMonth cannot"),
    ],
)
def test_schedule_must_fit_the_frequency(iot: Any, schedule: dict[str, str], fragment: str) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    with pytest.raises(ClientError) as exc:
        iot.create_scheduled_audit(
            scheduledAuditName="s", targetCheckNames=["LOGGING_DISABLED_CHECK"], **schedule
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message


def test_scheduled_audit_checks_must_be_enabled(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    with pytest.raises(ClientError) as exc:
        iot.create_scheduled_audit(
            scheduledAuditName="s",
            frequency="DAILY",
            targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK"],
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "CA_CERTIFICATE_EXPIRING_CHECK are not enabled" in message
    iot.create_scheduled_audit(
        scheduledAuditName="s", frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
    )
    with pytest.raises(ClientError) as exc:
        iot.update_scheduled_audit(
            scheduledAuditName="s", targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK"]
        )
    assert error_of(exc)[0] == "InvalidRequestException"
    assert iot.describe_scheduled_audit(scheduledAuditName="s")["targetCheckNames"] == [
        "LOGGING_DISABLED_CHECK"
    ]


def test_duplicate_name_and_limit(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    for number in range(5):
        iot.create_scheduled_audit(
            scheduledAuditName=f"a{number}",
            frequency="DAILY",
            targetCheckNames=["LOGGING_DISABLED_CHECK"],
        )
    with pytest.raises(ClientError) as exc:
        iot.create_scheduled_audit(
            scheduledAuditName="a0", frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
        )
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"].endswith(":scheduledaudit/a0")
    with pytest.raises(ClientError) as exc:
        iot.create_scheduled_audit(
            scheduledAuditName="a5", frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
        )
    assert error_of(exc)[:2] == ("LimitExceededException", 410)


def test_list_scheduled_audits_pages(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    for name in ("c", "a", "b"):
        iot.create_scheduled_audit(
            scheduledAuditName=name, frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
        )
    first = iot.list_scheduled_audits(maxResults=2)
    assert [a["scheduledAuditName"] for a in first["scheduledAudits"]] == ["a", "b"]
    second = iot.list_scheduled_audits(maxResults=2, nextToken=first["nextToken"])
    assert [a["scheduledAuditName"] for a in second["scheduledAudits"]] == ["c"]
    assert "nextToken" not in second
    with pytest.raises(ClientError) as exc:
        iot.list_scheduled_audits(nextToken="garbage")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_run_scheduled_audit_now(iot: Any, iot_mock: IotMock) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    iot.create_scheduled_audit(
        scheduledAuditName="nightly",
        frequency="DAILY",
        targetCheckNames=["LOGGING_DISABLED_CHECK"],
    )
    task_id = iot_mock.audit.run_scheduled("nightly")
    described = iot.describe_audit_task(taskId=task_id)
    assert described["taskType"] == "SCHEDULED_AUDIT_TASK"
    assert described["scheduledAuditName"] == "nightly"
    assert described["taskStatus"] == "COMPLETED"
    assert list(described["auditDetails"]) == ["LOGGING_DISABLED_CHECK"]


def test_scheduled_audits_are_taggable(iot: Any) -> None:
    enable(iot, "LOGGING_DISABLED_CHECK")
    arn = iot.create_scheduled_audit(
        scheduledAuditName="tagged", frequency="DAILY", targetCheckNames=["LOGGING_DISABLED_CHECK"]
    )["scheduledAuditArn"]
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "env", "Value": "prod"}])
    iot.untag_resource(resourceArn=arn, tagKeys=["env"])
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "owner", "Value": "me"}])
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "owner", "Value": "me"}]
