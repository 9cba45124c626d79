"""Device Defender mitigation actions through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock
from iotmock.defender.mitigation_actions import get_mitigation_action

ROLE = "arn:aws:iam::123456789012:role/defender"
QUARANTINE = {"addThingsToThingGroupParams": {"thingGroupNames": ["quarantine"]}}


def test_create_describe(iot: Any) -> None:
    created = iot.create_mitigation_action(
        actionName="quarantine", roleArn=ROLE, actionParams=QUARANTINE
    )
    assert created["actionArn"] == "arn:aws:iot:us-east-1:123456789012:mitigationaction/quarantine"
    described = iot.describe_mitigation_action(actionName="quarantine")
    assert described["actionName"] == "quarantine"
    assert described["actionType"] == "ADD_THINGS_TO_THING_GROUP"
    assert described["actionId"] == created["actionId"]
    assert described["roleArn"] == ROLE
    assert described["actionParams"] == QUARANTINE
    assert described["creationDate"] == described["lastModifiedDate"]


@pytest.mark.parametrize(
    ("params", "action_type"),
    [
        ({"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}, "UPDATE_DEVICE_CERTIFICATE"),
        ({"updateCACertificateParams": {"action": "DEACTIVATE"}}, "UPDATE_CA_CERTIFICATE"),
        (
            {"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}},
            "REPLACE_DEFAULT_POLICY_VERSION",
        ),
        (
            {"enableIoTLoggingParams": {"roleArnForLogging": ROLE, "logLevel": "DEBUG"}},
            "ENABLE_IOT_LOGGING",
        ),
        (
            {"publishFindingToSnsParams": {"topicArn": "arn:aws:sns:us-east-1:123456789012:t"}},
            "PUBLISH_FINDING_TO_SNS",
        ),
    ],
)
def test_action_types(iot: Any, params: dict[str, Any], action_type: str) -> None:
    iot.create_mitigation_action(actionName="a", roleArn=ROLE, actionParams=params)
    assert iot.describe_mitigation_action(actionName="a")["actionType"] == action_type


def test_exactly_one_action_type(iot: Any) -> None:
    both = {**QUARANTINE, "updateDeviceCertificateParams": {"action": "DEACTIVATE"}}
    for params in (both, {}):
        with pytest.raises(ClientError) as exc:
            iot.create_mitigation_action(actionName="a", roleArn=ROLE, actionParams=params)
        code, status, message = error_of(exc)
        assert (code, status) == ("InvalidRequestException", 400)
        assert "exactly one type of action" in message


def test_duplicate_and_bad_role(iot: Any) -> None:
    iot.create_mitigation_action(actionName="a", roleArn=ROLE, actionParams=QUARANTINE)
    with pytest.raises(ClientError) as exc:
        iot.create_mitigation_action(actionName="a", roleArn=ROLE, actionParams=QUARANTINE)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"].endswith("mitigationaction/a")
    with pytest.raises(ClientError) as exc:
        iot.create_mitigation_action(
            actionName="b", roleArn="arn:aws:s3:::bucket-name-long", actionParams=QUARANTINE
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_update(iot: Any, iot_mock: IotMock) -> None:
    iot.create_mitigation_action(actionName="a", roleArn=ROLE, actionParams=QUARANTINE)
    other_role = "arn:aws:iam::123456789012:role/other"
    updated = iot.update_mitigation_action(
        actionName="a",
        roleArn=other_role,
        actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}},
    )
    described = iot.describe_mitigation_action(actionName="a")
    assert updated["actionId"] == described["actionId"]
    assert described["roleArn"] == other_role
    assert described["actionType"] == "UPDATE_DEVICE_CERTIFICATE"
    assert get_mitigation_action(iot_mock.backend(), "a").role_arn == other_role
    with pytest.raises(ClientError) as exc:
        iot.update_mitigation_action(actionName="missing", roleArn=ROLE)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_and_tags(iot: Any) -> None:
    arn = iot.create_mitigation_action(
        actionName="a", roleArn=ROLE, actionParams=QUARANTINE, tags=[{"Key": "k", "Value": "v"}]
    )["actionArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "k", "Value": "v"}]
    iot.delete_mitigation_action(actionName="a")
    iot.delete_mitigation_action(actionName="a")  # deleting a missing action succeeds
    with pytest.raises(ClientError) as exc:
        iot.describe_mitigation_action(actionName="a")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_filter_and_paging(iot: Any) -> None:
    for index in range(30):
        iot.create_mitigation_action(
            actionName=f"q{index:02d}", roleArn=ROLE, actionParams=QUARANTINE
        )
    iot.create_mitigation_action(
        actionName="deactivate",
        roleArn=ROLE,
        actionParams={"updateDeviceCertificateParams": {"action": "DEACTIVATE"}},
    )
    first = iot.list_mitigation_actions()
    assert len(first["actionIdentifiers"]) == 25  # documented default page size
    second = iot.list_mitigation_actions(nextToken=first["nextToken"])
    assert "nextToken" not in second
    names = [a["actionName"] for a in first["actionIdentifiers"] + second["actionIdentifiers"]]
    assert names == sorted(names) and len(names) == 31
    only = iot.list_mitigation_actions(actionType="UPDATE_DEVICE_CERTIFICATE")
    assert [a["actionName"] for a in only["actionIdentifiers"]] == ["deactivate"]
    assert only["actionIdentifiers"][0]["actionArn"].endswith("mitigationaction/deactivate")
