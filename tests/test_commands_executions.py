"""Command executions: iot-jobs-data StartCommandExecution, the request published to the
device, device status updates, timeouts, Get/List/DeleteCommandExecution."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock, ServiceError

ACCOUNT_ARN = "arn:aws:iot:us-east-1:123456789012:"
THING = ACCOUNT_ARN + "thing/dev1"
CLIENT = ACCOUNT_ARN + "client/mqtt-client-7"
VEHICLE = "arn:aws:iotfleetwise:us-east-1:123456789012:vehicle/car1"
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.timezone.utc)
STATIC = {"content": b'{"action":"reboot"}', "contentType": "application/json"}


@pytest.fixture
def clock() -> Any:
    """The mock clock frozen at START; move it with `clock.move_to(...)`."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _at(clock: Any, **delta: float) -> None:
    clock.move_to(START + dt.timedelta(**delta))


@pytest.fixture
def reboot(iot: Any, clock: Any) -> str:
    """A thing `dev1` and a static JSON command `reboot`; returns the command ARN."""
    iot.create_thing(thingName="dev1")
    return iot.create_command(commandId="reboot", payload=STATIC)["commandArn"]  # type: ignore[no-any-return]


def _start(jobs_data: Any, command_arn: str, target: str = THING, **kwargs: Any) -> str:
    return jobs_data.start_command_execution(  # type: ignore[no-any-return]
        targetArn=target, commandArn=command_arn, **kwargs
    )["executionId"]


def _get(iot: Any, execution_id: str, target: str = THING, **kwargs: Any) -> Any:
    return iot.get_command_execution(executionId=execution_id, targetArn=target, **kwargs)


def _device_publish(iot_data: Any, topic: str, payload: Any) -> None:
    """Publish as a device would, with the iot-data Publish operation (JSON-encoding
    anything that is not already bytes or text)."""
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    iot_data.publish(topic=topic, qos=1, payload=body)


# --------------------------------------------------------------------------- start


def test_start_creates_execution_and_publishes_request(
    clock: Any, iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str
) -> None:
    _at(clock)
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=60)
    sent = iot_mock.messages(f"$aws/commands/things/dev1/executions/{execution_id}/request/json")
    assert len(sent) == 1
    assert sent[0].payload == STATIC["content"]
    assert sent[0].source == "commands"
    got = _get(iot, execution_id)
    assert got["executionId"] == execution_id
    assert got["commandArn"] == reboot
    assert got["targetArn"] == THING
    assert got["status"] == "CREATED"
    assert got["executionTimeoutSeconds"] == 60
    assert got["createdAt"] == START
    assert got["lastUpdatedAt"] == START
    assert got["timeToLive"] == dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)
    for absent in ("startedAt", "completedAt", "result", "statusReason", "parameters"):
        assert absent not in got


def test_client_target_and_payload_format_from_content_type(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    cbor = iot.create_command(
        commandId="cbor", payload={"content": b"\xa0", "contentType": "application/cbor"}
    )["commandArn"]
    text = iot.create_command(
        commandId="text", payload={"content": b"hello", "contentType": "text/plain"}
    )["commandArn"]
    first = _start(jobs_data, cbor, CLIENT)
    second = _start(jobs_data, text, CLIENT)
    base = "$aws/commands/clients/mqtt-client-7/executions/"
    assert [m.topic for m in iot_mock.messages("$aws/commands/#")] == [
        f"{base}{first}/request/cbor",
        f"{base}{second}/request",
    ]
    assert _get(iot, first, CLIENT)["targetArn"] == CLIENT


def test_default_timeout_is_10_seconds_and_maximum_12_hours(
    iot: Any, jobs_data: Any, reboot: str
) -> None:
    assert _get(iot, _start(jobs_data, reboot))["executionTimeoutSeconds"] == 10
    assert (
        _get(iot, _start(jobs_data, reboot, executionTimeoutSeconds=43200))[
            "executionTimeoutSeconds"
        ]
        == 43200
    )
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, reboot, executionTimeoutSeconds=43201)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "12 hours" in message


def test_start_with_missing_command_or_thing_is_not_found(
    iot: Any, jobs_data: Any, reboot: str
) -> None:
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, ACCOUNT_ARN + "command/nope")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "nope" in message
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, reboot, ACCOUNT_ARN + "thing/ghost")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_start_with_a_bad_target_is_validation_error(jobs_data: Any, reboot: str) -> None:
    for target in (VEHICLE, "arn:aws:iot:eu-west-1:123456789012:thing/dev1", "dev1"):
        with pytest.raises(ClientError) as exc:
            _start(jobs_data, reboot, target)
        assert error_of(exc)[:2] == ("ValidationException", 400)


def test_deprecated_or_deleted_command_cannot_start(iot: Any, jobs_data: Any, reboot: str) -> None:
    iot.update_command(commandId="reboot", deprecated=True)
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, reboot)
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "deprecated" in message
    iot.update_command(commandId="reboot", deprecated=False)
    iot.delete_command(commandId="reboot")
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, reboot)
    assert "pending deletion" in error_of(exc)[2]


def test_client_token_is_idempotent(iot: Any, jobs_data: Any, reboot: str) -> None:
    first = _start(jobs_data, reboot, clientToken="token-1")
    assert _start(jobs_data, reboot, clientToken="token-1") == first
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, reboot, clientToken="token-1", executionTimeoutSeconds=99)
    assert error_of(exc)[:2] == ("ConflictException", 409)
    assert len(iot.list_command_executions(commandArn=reboot)["commandExecutions"]) == 1


def test_fleetwise_command_targets_a_vehicle_and_publishes_nothing(
    iot: Any, jobs_data: Any, iot_mock: IotMock
) -> None:
    arn = iot.create_command(
        commandId="door",
        namespace="AWS-IoT-FleetWise",
        roleArn="arn:aws:iam::123456789012:role/fleetwise",
        mandatoryParameters=[{"name": "$actuatorPath.Vehicle.Door", "defaultValue": {"B": True}}],
    )["commandArn"]
    execution_id = _start(jobs_data, arn, VEHICLE)
    got = _get(iot, execution_id, VEHICLE)
    assert got["parameters"] == {"$actuatorPath.Vehicle.Door": {"B": True}}
    assert iot_mock.messages("$aws/commands/#") == []
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, arn, THING)
    assert error_of(exc)[0] == "ValidationException"


# --------------------------------------------------------------------------- parameters


@pytest.fixture
def thermostat(iot: Any, clock: Any) -> str:
    iot.create_thing(thingName="dev1")
    return iot.create_command(  # type: ignore[no-any-return]
        commandId="set-temp",
        payloadTemplate=(
            '{"temp": "${aws:iot:commandexecution::parameter:temp}", '
            '"note": "mode ${aws:iot:commandexecution::parameter:mode}"}'
        ),
        preprocessor={"awsJsonSubstitution": {"outputFormat": "JSON"}},
        mandatoryParameters=[
            {
                "name": "temp",
                "type": "DOUBLE",
                "valueConditions": [
                    {
                        "comparisonOperator": "IN_RANGE",
                        "operand": {"numberRange": {"min": "10", "max": "30"}},
                    }
                ],
            },
            {
                "name": "mode",
                "type": "STRING",
                "defaultValue": {"S": "eco"},
                "valueConditions": [
                    {"comparisonOperator": "IN_SET", "operand": {"strings": ["eco", "boost"]}}
                ],
            },
        ],
    )["commandArn"]


def test_dynamic_payload_substitutes_parameters(
    iot: Any, jobs_data: Any, iot_mock: IotMock, thermostat: str
) -> None:
    execution_id = _start(jobs_data, thermostat, parameters={"temp": {"D": 21.5}})
    (sent,) = iot_mock.messages(f"$aws/commands/things/dev1/executions/{execution_id}/request/json")
    assert sent.json() == {"temp": 21.5, "note": "mode eco"}
    assert _get(iot, execution_id)["parameters"] == {"temp": {"D": 21.5}, "mode": {"S": "eco"}}


def test_boundaries_are_inside_a_range(jobs_data: Any, thermostat: str) -> None:
    _start(jobs_data, thermostat, parameters={"temp": {"D": 30.0}, "mode": {"S": "boost"}})


@pytest.mark.parametrize(
    ("parameters", "fragment"),
    [
        ({}, "temp"),
        ({"temp": {"D": 30.5}}, "IN_RANGE"),
        ({"temp": {"D": 20.0}, "mode": {"S": "turbo"}}, "IN_SET"),
        ({"temp": {"S": "20"}}, "must be given as D"),
        ({"temp": {"D": 20.0}, "extra": {"S": "x"}}, "no parameter extra"),
    ],
)
def test_parameter_violations_are_validation_errors(
    jobs_data: Any, iot_mock: IotMock, thermostat: str, parameters: Any, fragment: str
) -> None:
    with pytest.raises(ClientError) as exc:
        _start(jobs_data, thermostat, **({"parameters": parameters} if parameters else {}))
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert fragment in message
    assert iot_mock.messages("$aws/commands/#") == []


def test_cbor_output_format(iot: Any, jobs_data: Any, iot_mock: IotMock) -> None:
    iot.create_thing(thingName="dev1")
    arn = iot.create_command(
        commandId="cbor-dyn",
        payloadTemplate='{"on": "${aws:iot:commandexecution::parameter:on}", "n": [1, -2]}',
        preprocessor={"awsJsonSubstitution": {"outputFormat": "CBOR"}},
        mandatoryParameters=[{"name": "on", "type": "BOOLEAN"}],
    )["commandArn"]
    execution_id = _start(jobs_data, arn, parameters={"on": {"B": True}})
    (sent,) = iot_mock.messages(f"$aws/commands/things/dev1/executions/{execution_id}/request/cbor")
    # {"on": true, "n": [1, -2]} in CBOR (RFC 8949).
    assert sent.payload == b"\xa2bon\xf5an\x82\x01\x21"


# --------------------------------------------------------------------------- device updates


def test_device_runs_execution_to_success(
    clock: Any, iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str
) -> None:
    _at(clock)
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=300)
    _at(clock, seconds=5)
    iot_mock.commands.update_execution(execution_id, THING, "IN_PROGRESS")
    got = _get(iot, execution_id)
    assert got["status"] == "IN_PROGRESS"
    assert got["startedAt"] == START + dt.timedelta(seconds=5)
    assert "completedAt" not in got
    _at(clock, seconds=9)
    iot_mock.commands.update_execution(
        execution_id,
        THING,
        "SUCCEEDED",
        status_reason={"reasonCode": "DONE", "reasonDescription": "rebooted"},
        result={"uptime": {"S": "0s"}, "ok": {"B": True}, "log": {"BIN": b"\x00\x01"}},
    )
    got = _get(iot, execution_id, includeResult=True)
    assert got["status"] == "SUCCEEDED"
    assert got["startedAt"] == START + dt.timedelta(seconds=5)
    assert got["completedAt"] == START + dt.timedelta(seconds=9)
    assert got["lastUpdatedAt"] == START + dt.timedelta(seconds=9)
    assert got["statusReason"] == {"reasonCode": "DONE", "reasonDescription": "rebooted"}
    assert got["result"] == {"uptime": {"S": "0s"}, "ok": {"B": True}, "log": {"BIN": b"\x00\x01"}}
    assert "result" not in _get(iot, execution_id)
    assert "result" not in _get(iot, execution_id, includeResult=False)


def test_final_status_cannot_change(iot_mock: IotMock, jobs_data: Any, reboot: str) -> None:
    execution_id = _start(jobs_data, reboot)
    iot_mock.commands.update_execution(execution_id, THING, "FAILED")
    with pytest.raises(ServiceError) as exc:
        iot_mock.commands.update_execution(execution_id, THING, "SUCCEEDED")
    assert exc.value.code == "ConflictException"
    with pytest.raises(ServiceError) as exc:
        iot_mock.commands.update_execution(_start(jobs_data, reboot), THING, "CREATED")
    assert exc.value.code == "ValidationException"


def test_execution_times_out_lazily(
    clock: Any, iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str
) -> None:
    _at(clock)
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=30)
    iot_mock.commands.update_execution(execution_id, THING, "IN_PROGRESS")
    _at(clock, seconds=29)
    assert _get(iot, execution_id)["status"] == "IN_PROGRESS"
    _at(clock, minutes=5)
    got = _get(iot, execution_id)
    assert got["status"] == "TIMED_OUT"
    assert got["completedAt"] == START + dt.timedelta(seconds=30)
    listed = iot.list_command_executions(status="TIMED_OUT")["commandExecutions"]
    assert [e["executionId"] for e in listed] == [execution_id]
    # A device's late final answer is still accepted; IN_PROGRESS is not.
    with pytest.raises(ServiceError):
        iot_mock.commands.update_execution(execution_id, THING, "IN_PROGRESS")
    iot_mock.commands.update_execution(execution_id, THING, "SUCCEEDED")
    assert _get(iot, execution_id)["status"] == "SUCCEEDED"


def test_device_update_over_mqtt_topic(
    iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str, iot_data: Any
) -> None:
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=600)
    base = f"$aws/commands/things/dev1/executions/{execution_id}/response"
    _device_publish(
        iot_data,
        f"{base}/json",
        {
            "status": "SUCCEEDED",
            "result": {"code": {"s": "ok"}, "raw": {"bin": base64.b64encode(b"hi").decode()}},
        },
    )
    got = _get(iot, execution_id, includeResult=True)
    assert got["status"] == "SUCCEEDED"
    assert got["result"] == {"code": {"S": "ok"}, "raw": {"BIN": b"hi"}}
    (accepted,) = iot_mock.messages(f"{base}/accepted/json")
    assert accepted.json() == {"executionId": execution_id, "status": "SUCCEEDED"}
    _device_publish(iot_data, f"{base}/json", {"status": "FAILED"})
    (rejected,) = iot_mock.messages(f"{base}/rejected/json")
    assert rejected.json()["error"] == "ConflictException"
    assert _get(iot, execution_id)["status"] == "SUCCEEDED"


def test_malformed_device_update_is_rejected(
    jobs_data: Any, iot_mock: IotMock, reboot: str, iot_data: Any
) -> None:
    execution_id = _start(jobs_data, reboot)
    base = f"$aws/commands/things/dev1/executions/{execution_id}/response"
    _device_publish(iot_data, f"{base}/json", b"not json")
    _device_publish(iot_data, f"{base}/json", json.dumps({"status": "DONE"}))
    _device_publish(
        iot_data, f"{base}/json", {"status": "FAILED", "statusReason": {"reasonCode": "bad code"}}
    )
    rejected = iot_mock.messages(f"{base}/rejected/json")
    assert [m.json()["error"] for m in rejected] == ["ValidationException"] * 3


# --------------------------------------------------------------------------- get / list / delete


def test_get_with_another_target_is_not_found(iot: Any, jobs_data: Any, reboot: str) -> None:
    execution_id = _start(jobs_data, reboot)
    with pytest.raises(ClientError) as exc:
        _get(iot, execution_id, CLIENT)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        _get(iot, "no-such-execution")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_filters_by_command_target_status_and_namespace(
    iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str
) -> None:
    other = iot.create_command(commandId="other", payload=STATIC)["commandArn"]
    a = _start(jobs_data, reboot)
    b = _start(jobs_data, reboot, CLIENT)
    c = _start(jobs_data, other)
    iot_mock.commands.update_execution(b, CLIENT, "SUCCEEDED")

    def ids(**kwargs: Any) -> set[str]:
        return {
            e["executionId"] for e in iot.list_command_executions(**kwargs)["commandExecutions"]
        }

    assert ids(commandArn=reboot) == {a, b}
    assert ids(targetArn=THING) == {a, c}
    assert ids(status="SUCCEEDED") == {b}
    assert ids(namespace="AWS-IoT") == {a, b, c}
    assert ids(namespace="AWS-IoT-FleetWise") == set()
    summary = iot.list_command_executions(targetArn=CLIENT)["commandExecutions"][0]
    assert summary["commandArn"] == reboot
    assert summary["status"] == "SUCCEEDED"
    assert set(summary) == {
        "commandArn",
        "executionId",
        "targetArn",
        "status",
        "createdAt",
        "startedAt",
        "completedAt",
    }


def test_list_rejects_conflicting_filters(iot: Any, reboot: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.list_command_executions(commandArn=reboot, targetArn=THING)
    assert error_of(exc)[:2] == ("ValidationException", 400)
    window = {"after": "2026-01-01T00:00"}
    with pytest.raises(ClientError) as exc:
        iot.list_command_executions(startedTimeFilter=window, completedTimeFilter=window)
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        iot.list_command_executions(startedTimeFilter={"after": "yesterday"})
    assert "yyyy-MM-dd'T'HH:mm" in error_of(exc)[2]
    with pytest.raises(ClientError) as exc:
        iot.list_command_executions(commandArn=ACCOUNT_ARN + "command/nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_sorts_and_pages(clock: Any, iot: Any, jobs_data: Any, reboot: str) -> None:
    started = []
    for minute in range(5):
        _at(clock, minutes=minute)
        started.append(_start(jobs_data, reboot))
    _at(clock, minutes=6)
    newest_first = iot.list_command_executions(commandArn=reboot, maxResults=2)
    assert [e["executionId"] for e in newest_first["commandExecutions"]] == started[:-3:-1]
    rest = iot.list_command_executions(
        commandArn=reboot, maxResults=2, nextToken=newest_first["nextToken"]
    )
    assert [e["executionId"] for e in rest["commandExecutions"]] == [started[2], started[1]]
    ascending = iot.list_command_executions(commandArn=reboot, sortOrder="ASCENDING")
    assert [e["executionId"] for e in ascending["commandExecutions"]] == started
    with pytest.raises(ClientError) as exc:
        iot.list_command_executions(
            commandArn=reboot, sortOrder="ASCENDING", nextToken=newest_first["nextToken"]
        )
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_time_filters(clock: Any, iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str) -> None:
    _at(clock)
    early = _start(jobs_data, reboot, executionTimeoutSeconds=3600)
    late = _start(jobs_data, reboot, executionTimeoutSeconds=3600)
    never = _start(jobs_data, reboot, executionTimeoutSeconds=3600)
    _at(clock, minutes=2)
    iot_mock.commands.update_execution(early, THING, "IN_PROGRESS")
    _at(clock, minutes=10)
    iot_mock.commands.update_execution(early, THING, "SUCCEEDED")
    _at(clock, minutes=30)
    iot_mock.commands.update_execution(late, THING, "IN_PROGRESS")
    _at(clock, minutes=40)

    def ids(**kwargs: Any) -> list[str]:
        listed = iot.list_command_executions(commandArn=reboot, **kwargs)
        return [e["executionId"] for e in listed["commandExecutions"]]

    assert ids(startedTimeFilter={"after": "2026-06-01T08:05"}) == [late]
    assert ids(startedTimeFilter={"before": "2026-06-01T08:20"}) == [early]
    assert ids(startedTimeFilter={"after": "2026-06-01T07:00"}) == [late, early]
    assert ids(completedTimeFilter={"after": "2026-06-01T08:00"}) == [early]
    assert never not in ids(startedTimeFilter={"after": "2026-01-01T00:00"})


def test_delete_only_terminal_executions(
    iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str
) -> None:
    execution_id = _start(jobs_data, reboot)
    with pytest.raises(ClientError) as exc:
        iot.delete_command_execution(executionId=execution_id, targetArn=THING)
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "terminal" in message
    iot_mock.commands.update_execution(execution_id, THING, "REJECTED")
    iot.delete_command_execution(executionId=execution_id, targetArn=THING)
    with pytest.raises(ClientError):
        _get(iot, execution_id)
    assert iot.list_command_executions(commandArn=reboot)["commandExecutions"] == []
    # Deleting what is not there succeeds.
    iot.delete_command_execution(executionId=execution_id, targetArn=THING)


def test_timed_out_execution_can_be_deleted(
    clock: Any, iot: Any, jobs_data: Any, reboot: str
) -> None:
    _at(clock)
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=1)
    _at(clock, seconds=2)
    iot.delete_command_execution(executionId=execution_id, targetArn=THING)


def test_executions_expire_after_their_time_to_live(
    clock: Any, iot: Any, jobs_data: Any, reboot: str
) -> None:
    _at(clock)
    execution_id = _start(jobs_data, reboot)
    clock.move_to(dt.datetime(2026, 12, 1, 8, 1, tzinfo=dt.timezone.utc))
    with pytest.raises(ClientError):
        _get(iot, execution_id)
    assert iot.list_command_executions()["commandExecutions"] == []


def test_end_to_end_start_report_list_delete(
    iot: Any, jobs_data: Any, iot_mock: IotMock, reboot: str, iot_data: Any
) -> None:
    execution_id = _start(jobs_data, reboot, executionTimeoutSeconds=120)
    (request,) = iot_mock.messages("$aws/commands/things/dev1/executions/+/request/json")
    assert request.json() == {"action": "reboot"}
    response_topic = request.topic.replace("/request/json", "/response/json")
    _device_publish(iot_data, response_topic, {"status": "IN_PROGRESS"})
    _device_publish(iot_data, response_topic, {"status": "SUCCEEDED"})
    assert _get(iot, execution_id)["status"] == "SUCCEEDED"
    assert len(iot_mock.messages(response_topic.replace("/json", "/accepted/json"))) == 2
    iot.delete_command_execution(executionId=execution_id, targetArn=THING)


def test_template_substitutes_every_value_type(iot: Any, jobs_data: Any, iot_mock: IotMock) -> None:
    names = ("s", "b", "i", "l", "d", "ul", "bin")
    template = json.dumps({n: f"${{aws:iot:commandexecution::parameter:{n}}}" for n in names})
    template = template[:-1] + ', "text": "i=${aws:iot:commandexecution::parameter:i}"}'
    arn = iot.create_command(
        commandId="all-types",
        payloadTemplate=template,
        preprocessor={"awsJsonSubstitution": {"outputFormat": "JSON"}},
        mandatoryParameters=[{"name": n} for n in names],
    )["commandArn"]
    execution_id = _start(
        jobs_data,
        arn,
        CLIENT,
        parameters={
            "s": {"S": "hi"},
            "b": {"B": False},
            "i": {"I": 7},
            "l": {"L": 2**40},
            "d": {"D": 1.5},
            "ul": {"UL": "18446744073709551615"},
            "bin": {"BIN": b"\x01\x02"},
        },
    )
    (sent,) = iot_mock.messages(f"$aws/commands/clients/+/executions/{execution_id}/request/json")
    assert sent.json() == {
        "s": "hi",
        "b": False,
        "i": 7,
        "l": 2**40,
        "d": 1.5,
        "ul": 18446744073709551615,
        "bin": base64.b64encode(b"\x01\x02").decode(),
        "text": "i=7",
    }


def test_numeric_conditions(iot: Any, jobs_data: Any) -> None:
    def command(command_id: str, condition: dict[str, Any]) -> str:
        return iot.create_command(  # type: ignore[no-any-return]
            commandId=command_id,
            payload=STATIC,
            mandatoryParameters=[{"name": "n", "type": "LONG", "valueConditions": [condition]}],
        )["commandArn"]

    below = command("below", {"comparisonOperator": "LESS_THAN", "operand": {"number": "10"}})
    outside = command(
        "outside",
        {"comparisonOperator": "NOT_IN_SET", "operand": {"numbers": ["1", "2"]}},
    )
    _start(jobs_data, below, CLIENT, parameters={"n": {"L": 9}})
    _start(jobs_data, outside, CLIENT, parameters={"n": {"L": 3}})
    for arn, value in ((below, 10), (outside, 2)):
        with pytest.raises(ClientError) as exc:
            _start(jobs_data, arn, CLIENT, parameters={"n": {"L": value}})
        assert error_of(exc)[0] == "ValidationException"


def test_client_response_topic_without_format(
    iot: Any, jobs_data: Any, iot_mock: IotMock, clock: Any, iot_data: Any
) -> None:
    arn = iot.create_command(commandId="raw", payload={"content": b"go"})["commandArn"]
    execution_id = _start(jobs_data, arn, CLIENT)
    (request,) = iot_mock.messages("$aws/commands/clients/mqtt-client-7/executions/+/request")
    assert request.payload == b"go"
    base = f"$aws/commands/clients/mqtt-client-7/executions/{execution_id}/response"
    _device_publish(iot_data, base, {"status": "REJECTED", "statusReason": {"reasonCode": "BUSY"}})
    assert [m.json()["status"] for m in iot_mock.messages(f"{base}/accepted")] == ["REJECTED"]
    got = _get(iot, execution_id, CLIENT)
    assert got["status"] == "REJECTED"
    assert got["statusReason"] == {"reasonCode": "BUSY"}


def test_update_for_unknown_execution_is_rejected(
    iot_mock: IotMock, reboot: str, iot_data: Any
) -> None:
    base = "$aws/commands/things/dev1/executions/unknown/response/json"
    _device_publish(iot_data, base, {"status": "SUCCEEDED"})
    (rejected,) = iot_mock.messages(
        "$aws/commands/things/dev1/executions/unknown/response/rejected/json"
    )
    assert rejected.json()["error"] == "ResourceNotFoundException"
    with pytest.raises(ServiceError) as exc:
        iot_mock.commands.update_execution("unknown", THING, "SUCCEEDED")
    assert exc.value.code == "ResourceNotFoundException"
