"""Commands: CreateCommand, GetCommand, UpdateCommand, DeleteCommand, ListCommands."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging

ARN = "arn:aws:iot:us-east-1:123456789012:command/"
ROLE = "arn:aws:iam::123456789012:role/fleetwise-role"
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone.utc)
STATIC = {"content": b'{"action":"reboot"}', "contentType": "application/json"}
TEMPLATE = '{"temp": "${aws:iot:commandexecution::parameter:temp}"}'
PREPROCESSOR = {"awsJsonSubstitution": {"outputFormat": "JSON"}}


def _static(iot: Any, command_id: str = "reboot", **kwargs: Any) -> Any:
    kwargs.setdefault("payload", STATIC)
    return iot.create_command(commandId=command_id, **kwargs)


def _invalid(iot: Any, fragment: str, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_command(commandId="bad", **kwargs)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message
    with pytest.raises(ClientError):
        iot.get_command(commandId="bad")


# --------------------------------------------------------------------------- create / get


def test_create_static_command_and_get_it(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        created = _static(iot, displayName="Reboot", description="Reboots the device")
    assert created["commandId"] == "reboot"
    assert created["commandArn"] == ARN + "reboot"
    got = iot.get_command(commandId="reboot")
    assert got["commandId"] == "reboot"
    assert got["commandArn"] == ARN + "reboot"
    assert got["namespace"] == "AWS-IoT"
    assert got["displayName"] == "Reboot"
    assert got["description"] == "Reboots the device"
    assert got["payload"] == STATIC
    assert got["createdAt"] == START
    assert got["lastUpdatedAt"] == START
    assert got["deprecated"] is False
    assert got["pendingDeletion"] is False
    assert "roleArn" not in got
    assert "mandatoryParameters" not in got


def test_create_dynamic_command(iot: Any) -> None:
    parameters = [
        {
            "name": "temp",
            "type": "INTEGER",
            "defaultValue": {"I": 20},
            "description": "Target temperature",
            "valueConditions": [
                {
                    "comparisonOperator": "IN_RANGE",
                    "operand": {"numberRange": {"min": "10", "max": "30"}},
                }
            ],
        }
    ]
    iot.create_command(
        commandId="set-temp",
        payloadTemplate=TEMPLATE,
        preprocessor=PREPROCESSOR,
        mandatoryParameters=parameters,
    )
    got = iot.get_command(commandId="set-temp")
    assert got["payloadTemplate"] == TEMPLATE
    assert got["preprocessor"] == PREPROCESSOR
    assert got["mandatoryParameters"] == parameters
    assert "payload" not in got


def test_create_fleetwise_command(iot: Any) -> None:
    iot.create_command(
        commandId="fw",
        namespace="AWS-IoT-FleetWise",
        roleArn=ROLE,
        mandatoryParameters=[{"name": "$actuatorPath.Vehicle.Door", "defaultValue": {"B": True}}],
    )
    got = iot.get_command(commandId="fw")
    assert got["namespace"] == "AWS-IoT-FleetWise"
    assert got["roleArn"] == ROLE


def test_duplicate_command_is_conflict(iot: Any) -> None:
    _static(iot)
    with pytest.raises(ClientError) as exc:
        _static(iot)
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "reboot" in message
    assert exc.value.response["resourceId"] == "reboot"


def test_get_missing_command_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.get_command(commandId="nope")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "nope" in message


def test_aws_iot_command_needs_payload_or_template(iot: Any) -> None:
    _invalid(iot, "payload")
    _invalid(iot, "not both", payload=STATIC, payloadTemplate=TEMPLATE, preprocessor=PREPROCESSOR)


def test_aws_iot_command_refuses_role_arn(iot: Any) -> None:
    _invalid(iot, "roleArn is not supported", payload=STATIC, roleArn=ROLE)


def test_static_payload_needs_content_and_at_most_32kb(iot: Any) -> None:
    _invalid(iot, "payload.content", payload={"contentType": "application/json"})
    _invalid(iot, "32 KB", payload={"content": b"x" * (32 * 1024 + 1)})


def test_dynamic_command_rules(iot: Any) -> None:
    parameter = [{"name": "temp", "type": "INTEGER"}]
    _invalid(iot, "preprocessor", payloadTemplate=TEMPLATE, mandatoryParameters=parameter)
    _invalid(iot, "temp", payloadTemplate=TEMPLATE, preprocessor=PREPROCESSOR)
    _invalid(iot, "preprocessor is only used", payload=STATIC, preprocessor=PREPROCESSOR)


def test_fleetwise_rules(iot: Any) -> None:
    parameters = [{"name": "p", "defaultValue": {"S": "x"}}]
    fleetwise = {"namespace": "AWS-IoT-FleetWise"}
    _invalid(iot, "roleArn is required", mandatoryParameters=parameters, **fleetwise)
    _invalid(iot, "mandatoryParameters is required", roleArn=ROLE, **fleetwise)
    _invalid(iot, "not supported", roleArn=ROLE, payload=STATIC, **fleetwise)


def test_parameter_rules(iot: Any) -> None:
    _invalid(
        iot,
        "more than once",
        payload=STATIC,
        mandatoryParameters=[{"name": "a"}, {"name": "a"}],
    )
    _invalid(
        iot,
        "must be given as I",
        payload=STATIC,
        mandatoryParameters=[{"name": "a", "type": "INTEGER", "defaultValue": {"S": "1"}}],
    )
    _invalid(
        iot,
        "exactly one",
        payload=STATIC,
        mandatoryParameters=[{"name": "a", "defaultValue": {"S": "1", "I": 1}}],
    )


def test_model_constraints_are_validation_exception(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _static(iot, "bad id!")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "failed to satisfy constraint" in message


def test_tags_list_applies_and_command_arn_is_taggable(iot: Any, iot_mock: IotMock) -> None:
    arn = _static(iot, tags=[{"Key": "team", "Value": "ops"}])["commandArn"]
    backend = iot_mock.backend()
    assert tagging.tags_of(backend, arn) == {"team": "ops"}
    assert listed_tags(iot, arn) == {"team": "ops"}


# --------------------------------------------------------------------------- update


def test_update_display_name_description_and_deprecation(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        _static(iot, displayName="old")
    later = START + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        updated = iot.update_command(
            commandId="reboot", displayName="new", description="d", deprecated=True
        )
    assert updated["commandId"] == "reboot"
    assert updated["displayName"] == "new"
    assert updated["description"] == "d"
    assert updated["deprecated"] is True
    assert updated["lastUpdatedAt"] == later
    got = iot.get_command(commandId="reboot")
    assert (got["displayName"], got["deprecated"], got["lastUpdatedAt"]) == ("new", True, later)
    assert got["createdAt"] == START
    # A deprecated command can be restored.
    assert iot.update_command(commandId="reboot", deprecated=False)["deprecated"] is False


def test_update_needs_a_change(iot: Any) -> None:
    _static(iot)
    with pytest.raises(ClientError) as exc:
        iot.update_command(commandId="reboot")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_update_missing_command_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_command(commandId="nope", displayName="x")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- delete


def test_delete_active_command_is_scheduled_202(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        _static(iot)
        response = iot.delete_command(commandId="reboot")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert response["statusCode"] == 202
    with time_machine.travel(START + dt.timedelta(hours=11), tick=False):
        got = iot.get_command(commandId="reboot")
        assert got["pendingDeletion"] is True
        assert iot.list_commands()["commands"][0]["pendingDeletion"] is True
        # Deleting again while pending answers 202 again.
        assert iot.delete_command(commandId="reboot")["statusCode"] == 202
    with time_machine.travel(START + dt.timedelta(hours=12, seconds=1), tick=False):
        with pytest.raises(ClientError) as exc:
            iot.get_command(commandId="reboot")
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
        assert iot.list_commands()["commands"] == []


def test_command_deprecated_for_over_12_hours_is_deleted_at_once_204(
    iot: Any, iot_mock: IotMock
) -> None:
    with time_machine.travel(START, tick=False):
        arn = _static(iot, tags=[{"Key": "k", "Value": "v"}])["commandArn"]
        iot.update_command(commandId="reboot", deprecated=True)
    with time_machine.travel(START + dt.timedelta(hours=12, minutes=1), tick=False):
        response = iot.delete_command(commandId="reboot")
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ClientError):
            iot.get_command(commandId="reboot")
    assert tagging.tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)
    # The id is free again.
    _static(iot)


def test_recently_deprecated_command_waits_until_12_hours_after_deprecation(iot: Any) -> None:
    with time_machine.travel(START, tick=False):
        _static(iot)
        iot.update_command(commandId="reboot", deprecated=True)
    with time_machine.travel(START + dt.timedelta(hours=2), tick=False):
        assert iot.delete_command(commandId="reboot")["statusCode"] == 202
    with (
        time_machine.travel(START + dt.timedelta(hours=12, seconds=1), tick=False),
        pytest.raises(ClientError),
    ):
        iot.get_command(commandId="reboot")


def test_pending_deletion_blocks_update_and_recreation(iot: Any) -> None:
    _static(iot)
    iot.delete_command(commandId="reboot")
    with pytest.raises(ClientError) as exc:
        iot.update_command(commandId="reboot", displayName="x")
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "pending deletion" in message
    with pytest.raises(ClientError) as exc:
        _static(iot)
    assert error_of(exc)[0] == "ConflictException"


def test_delete_missing_command_answers_204(iot: Any) -> None:
    response = iot.delete_command(commandId="ghost")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204


# --------------------------------------------------------------------------- list


def test_list_commands_newest_first_with_summaries(iot: Any) -> None:
    for minute, name in enumerate(("a", "b", "c")):
        with time_machine.travel(START + dt.timedelta(minutes=minute), tick=False):
            _static(iot, name, displayName=name.upper())
    listed = iot.list_commands()["commands"]
    assert [c["commandId"] for c in listed] == ["c", "b", "a"]
    assert listed[0] == {
        "commandArn": ARN + "c",
        "commandId": "c",
        "displayName": "C",
        "deprecated": False,
        "createdAt": START + dt.timedelta(minutes=2),
        "lastUpdatedAt": START + dt.timedelta(minutes=2),
        "pendingDeletion": False,
    }
    ascending = iot.list_commands(sortOrder="ASCENDING")["commands"]
    assert [c["commandId"] for c in ascending] == ["a", "b", "c"]


def test_list_commands_filters(iot: Any) -> None:
    _static(iot, "plain")
    _static(iot, "with-param", mandatoryParameters=[{"name": "speed", "defaultValue": {"I": 1}}])
    iot.create_command(
        commandId="fw",
        namespace="AWS-IoT-FleetWise",
        roleArn=ROLE,
        mandatoryParameters=[{"name": "speed", "defaultValue": {"I": 1}}],
    )
    by_namespace = iot.list_commands(namespace="AWS-IoT")["commands"]
    assert sorted(c["commandId"] for c in by_namespace) == ["plain", "with-param"]
    by_parameter = iot.list_commands(commandParameterName="speed")["commands"]
    assert sorted(c["commandId"] for c in by_parameter) == ["fw", "with-param"]
    both = iot.list_commands(namespace="AWS-IoT-FleetWise", commandParameterName="speed")
    assert [c["commandId"] for c in both["commands"]] == ["fw"]


def test_list_commands_pages_25_by_default(iot: Any) -> None:
    for index in range(27):
        _static(iot, f"c{index:02d}")
    first = iot.list_commands()
    assert len(first["commands"]) == 25
    second = iot.list_commands(nextToken=first["nextToken"])
    assert len(second["commands"]) == 2
    assert "nextToken" not in second
    names = [c["commandId"] for c in first["commands"] + second["commands"]]
    assert len(set(names)) == 27
    with pytest.raises(ClientError) as exc:
        iot.list_commands(nextToken="not-a-token")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_more_than_50_tags_is_service_quota_exceeded(iot: Any) -> None:
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    with pytest.raises(ClientError) as exc:
        _static(iot, tags=tags)
    assert error_of(exc)[:2] == ("ServiceQuotaExceededException", 402)
    with pytest.raises(ClientError):
        iot.get_command(commandId="reboot")
