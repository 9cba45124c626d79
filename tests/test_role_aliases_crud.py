"""Role aliases through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/device-role"


def test_create_and_describe(iot: Any) -> None:
    created = iot.create_role_alias(roleAlias="ra", roleArn=ROLE)
    assert created["roleAlias"] == "ra"
    assert created["roleAliasArn"] == "arn:aws:iot:us-east-1:123456789012:rolealias/ra"
    described = iot.describe_role_alias(roleAlias="ra")["roleAliasDescription"]
    assert described["roleAlias"] == "ra"
    assert described["roleAliasArn"] == created["roleAliasArn"]
    assert described["roleArn"] == ROLE
    assert described["owner"] == "123456789012"
    assert described["credentialDurationSeconds"] == 3600
    assert described["creationDate"] == described["lastModifiedDate"]


def test_credential_duration(iot: Any) -> None:
    iot.create_role_alias(roleAlias="ra", roleArn=ROLE, credentialDurationSeconds=900)
    described = iot.describe_role_alias(roleAlias="ra")["roleAliasDescription"]
    assert described["credentialDurationSeconds"] == 900
    for bad in (43201, 86400):  # botocore itself refuses values under 900
        with pytest.raises(ClientError) as exc:
            iot.create_role_alias(roleAlias="x", roleArn=ROLE, credentialDurationSeconds=bad)
        code, _, message = error_of(exc)
        assert code == "InvalidRequestException"
        assert "credentialDurationSeconds" in message


def test_role_arn_must_be_an_iam_role(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_role_alias(roleAlias="ra", roleArn="arn:aws:iam::123456789012:user/bob")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "is not an IAM role ARN" in message


def test_duplicate(iot: Any) -> None:
    iot.create_role_alias(roleAlias="ra", roleArn=ROLE)
    with pytest.raises(ClientError) as exc:
        iot.create_role_alias(roleAlias="ra", roleArn=ROLE)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == "ra"


def test_limit_of_100(iot: Any) -> None:
    for index in range(100):
        iot.create_role_alias(roleAlias=f"ra{index}", roleArn=ROLE)
    with pytest.raises(ClientError) as exc:
        iot.create_role_alias(roleAlias="extra", roleArn=ROLE)
    assert error_of(exc)[:2] == ("LimitExceededException", 410)


def test_update(iot: Any) -> None:
    iot.create_role_alias(roleAlias="ra", roleArn=ROLE)
    other = "arn:aws:iam::123456789012:role/other"
    response = iot.update_role_alias(roleAlias="ra", roleArn=other, credentialDurationSeconds=7200)
    assert response["roleAliasArn"].endswith(":rolealias/ra")
    described = iot.describe_role_alias(roleAlias="ra")["roleAliasDescription"]
    assert (described["roleArn"], described["credentialDurationSeconds"]) == (other, 7200)
    iot.update_role_alias(roleAlias="ra", credentialDurationSeconds=1800)
    described = iot.describe_role_alias(roleAlias="ra")["roleAliasDescription"]
    assert (described["roleArn"], described["credentialDurationSeconds"]) == (other, 1800)
    with pytest.raises(ClientError) as exc:
        iot.update_role_alias(roleAlias="ra", roleArn="arn:aws:s3:::bucket/role/x")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_unknown_alias_is_404(iot: Any) -> None:
    for call in (
        lambda: iot.describe_role_alias(roleAlias="nope"),
        lambda: iot.update_role_alias(roleAlias="nope", roleArn=ROLE),
        lambda: iot.delete_role_alias(roleAlias="nope"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_and_tags(iot: Any, iot_mock: IotMock) -> None:
    arn = iot.create_role_alias(roleAlias="ra", roleArn=ROLE, tags=[{"Key": "k", "Value": "v"}])[
        "roleAliasArn"
    ]
    assert iot_mock.backend().tags[arn] == {"k": "v"}
    assert listed_tags(iot, arn) == {"k": "v"}
    iot.delete_role_alias(roleAlias="ra")
    assert arn not in iot_mock.backend().tags
    assert_untaggable(iot, arn)
    assert iot.list_role_aliases()["roleAliases"] == []


def test_list_pages_and_orders(iot: Any) -> None:
    for name in ["b", "d", "a", "c"]:
        iot.create_role_alias(roleAlias=name, roleArn=ROLE)
    first = iot.list_role_aliases(pageSize=3, ascendingOrder=True)
    assert first["roleAliases"] == ["a", "b", "c"]
    rest = iot.list_role_aliases(pageSize=3, ascendingOrder=True, marker=first["nextMarker"])
    assert rest["roleAliases"] == ["d"]
    assert "nextMarker" not in rest
    assert iot.list_role_aliases(ascendingOrder=False)["roleAliases"] == ["d", "c", "b", "a"]


def test_list_is_descending_by_default(iot: Any) -> None:
    # The AWS CLI example of list-role-aliases: ResidentAlias before ElectricianAlias.
    for name in ["ElectricianAlias", "ResidentAlias", "MeterAlias"]:
        iot.create_role_alias(roleAlias=name, roleArn=ROLE)
    assert iot.list_role_aliases()["roleAliases"] == [
        "ResidentAlias",
        "MeterAlias",
        "ElectricianAlias",
    ]
    first = iot.list_role_aliases(pageSize=2)
    assert first["roleAliases"] == ["ResidentAlias", "MeterAlias"]
    rest = iot.list_role_aliases(pageSize=2, marker=first["nextMarker"])
    assert rest["roleAliases"] == ["ElectricianAlias"]
    assert "nextMarker" not in rest
    # A marker of the descending list does not page the ascending one.
    with pytest.raises(ClientError) as exc:
        iot.list_role_aliases(pageSize=2, ascendingOrder=True, marker=first["nextMarker"])
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_invalid_tags_leave_no_alias(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_role_alias(
            roleAlias="ra", roleArn=ROLE, tags=[{"Key": "aws:reserved", "Value": "v"}]
        )
    assert error_of(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.describe_role_alias(roleAlias="ra")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
