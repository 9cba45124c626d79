"""Logging options: v1 (Get/SetLoggingOptions), v2 options and v2 log levels per target."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from error_checks import error_of

from iotmock.logging.options import LOG_EVENT_TYPES, MAX_LOG_TARGETS

ROLE = "arn:aws:iam::123456789012:role/iot-logging"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"


def levels(iot: Any, **kwargs: Any) -> list[tuple[str, str | None, str]]:
    answer = iot.list_v2_logging_levels(**kwargs)
    return [
        (c["logTarget"]["targetType"], c["logTarget"].get("targetName"), c["logLevel"])
        for c in answer["logTargetConfigurations"]
    ]


@pytest.fixture
def configured(iot: Any) -> Any:
    """A client whose account has v2 logging configured (default level ERROR)."""
    iot.set_v2_logging_options(roleArn=ROLE, defaultLogLevel="ERROR")
    return iot


# ---------------------------------------------------------------- v1


def test_v1_options_are_empty_before_they_are_set(iot: Any) -> None:
    answer = iot.get_logging_options()
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "roleArn" not in answer and "logLevel" not in answer


def test_v1_set_then_get_round_trips_the_payload(iot: Any) -> None:
    answer = iot.set_logging_options(loggingOptionsPayload={"roleArn": ROLE, "logLevel": "INFO"})
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = iot.get_logging_options()
    assert (got["roleArn"], got["logLevel"]) == (ROLE, "INFO")


def test_v1_set_replaces_the_previous_options(iot: Any) -> None:
    iot.set_logging_options(loggingOptionsPayload={"roleArn": ROLE, "logLevel": "DEBUG"})
    iot.set_logging_options(loggingOptionsPayload={"roleArn": OTHER_ROLE})
    got = iot.get_logging_options()
    assert got["roleArn"] == OTHER_ROLE
    assert "logLevel" not in got


def test_v1_payload_requires_a_role_arn(iot: Any) -> None:
    # roleArn is required by the model: botocore refuses before the request is sent.
    with pytest.raises(ParamValidationError, match="roleArn"):
        iot.set_logging_options(loggingOptionsPayload={"logLevel": "INFO"})


def test_v1_rejects_an_unknown_log_level(iot_mock: Any, iot: Any) -> None:
    # botocore does not check enums client-side; the service does.
    with pytest.raises(ClientError) as exc:
        iot.set_logging_options(loggingOptionsPayload={"roleArn": ROLE, "logLevel": "LOUD"})
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "LOUD" in message


def test_v1_and_v2_options_are_independent(iot: Any) -> None:
    iot.set_logging_options(loggingOptionsPayload={"roleArn": ROLE, "logLevel": "INFO"})
    with pytest.raises(ClientError) as exc:
        iot.get_v2_logging_options()
    assert error_of(exc)[0] == "NotConfiguredException"
    iot.set_v2_logging_options(roleArn=OTHER_ROLE, defaultLogLevel="WARN")
    assert iot.get_logging_options()["logLevel"] == "INFO"


# ---------------------------------------------------------------- v2 options


def test_v2_options_are_not_configured_until_set(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.get_v2_logging_options()
    code, status, message = error_of(exc)
    assert (code, status) == ("NotConfiguredException", 404)
    assert "SetV2LoggingOptions" in message


def test_v2_set_then_get(iot: Any) -> None:
    answer = iot.set_v2_logging_options(roleArn=ROLE, defaultLogLevel="WARN", disableAllLogs=False)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = iot.get_v2_logging_options()
    assert (got["roleArn"], got["defaultLogLevel"], got["disableAllLogs"]) == (
        ROLE,
        "WARN",
        False,
    )
    assert "eventConfigurations" not in got


def test_v2_disable_all_logs_defaults_to_false_and_can_be_set(iot: Any) -> None:
    iot.set_v2_logging_options(roleArn=ROLE)
    got = iot.get_v2_logging_options()
    assert got["disableAllLogs"] is False
    assert "defaultLogLevel" not in got
    iot.set_v2_logging_options(disableAllLogs=True)
    got = iot.get_v2_logging_options()
    assert got["disableAllLogs"] is True
    # A set replaces the configuration: the role given before is gone.
    assert "roleArn" not in got


def test_v2_event_configurations_round_trip(iot: Any) -> None:
    events = [
        {"eventType": "Connect", "logLevel": "DEBUG", "logDestination": "/iot/connects"},
        {"eventType": "Publish-In", "logLevel": "DISABLED"},
    ]
    iot.set_v2_logging_options(roleArn=ROLE, defaultLogLevel="ERROR", eventConfigurations=events)
    assert iot.get_v2_logging_options()["eventConfigurations"] == events


def test_v2_verbose_lists_every_supported_event_type(iot: Any) -> None:
    iot.set_v2_logging_options(
        roleArn=ROLE,
        defaultLogLevel="ERROR",
        eventConfigurations=[{"eventType": "Connect", "logLevel": "DEBUG"}],
    )
    listed = iot.get_v2_logging_options(verbose=True)["eventConfigurations"]
    by_type = {c["eventType"]: c.get("logLevel") for c in listed}
    assert list(by_type) == list(LOG_EVENT_TYPES)
    assert by_type["Connect"] == "DEBUG"
    assert by_type["Disconnect"] == "ERROR"


def test_v2_event_type_may_appear_once(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.set_v2_logging_options(
            roleArn=ROLE,
            eventConfigurations=[
                {"eventType": "Connect", "logLevel": "DEBUG"},
                {"eventType": "Connect", "logLevel": "INFO"},
            ],
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "Connect" in message
    with pytest.raises(ClientError):
        iot.get_v2_logging_options()  # the refused set configured nothing


def test_v2_rejects_a_malformed_log_destination(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.set_v2_logging_options(
            roleArn=ROLE,
            eventConfigurations=[{"eventType": "Connect", "logDestination": "bad dest!"}],
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


# ---------------------------------------------------------------- v2 log levels


def test_levels_need_v2_logging_configured(iot: Any) -> None:
    target = {"targetType": "CLIENT_ID", "targetName": "sensor-1"}
    with pytest.raises(ClientError) as exc:
        iot.set_v2_logging_level(logTarget=target, logLevel="DEBUG")
    assert error_of(exc)[:2] == ("NotConfiguredException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_v2_logging_levels()
    assert error_of(exc)[:2] == ("NotConfiguredException", 404)


def test_default_target_is_the_default_log_level(configured: Any) -> None:
    iot = configured
    assert levels(iot) == [("DEFAULT", None, "ERROR")]
    iot.set_v2_logging_level(logTarget={"targetType": "DEFAULT"}, logLevel="INFO")
    assert iot.get_v2_logging_options()["defaultLogLevel"] == "INFO"
    assert levels(iot, targetType="DEFAULT") == [("DEFAULT", None, "INFO")]


def test_set_and_list_levels_of_every_target_type(configured: Any) -> None:
    iot = configured
    iot.create_thing_group(thingGroupName="lights")
    targets = [
        ("THING_GROUP", "lights", "DEBUG"),
        ("CLIENT_ID", "sensor-1", "INFO"),
        ("SOURCE_IP", "10.0.0.1", "WARN"),
        ("PRINCIPAL_ID", "abc123", "DISABLED"),
    ]
    for target_type, name, level in targets:
        answer = iot.set_v2_logging_level(
            logTarget={"targetType": target_type, "targetName": name}, logLevel=level
        )
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sorted(levels(iot), key=lambda t: t[0]) == sorted(
        [*targets, ("DEFAULT", None, "ERROR")], key=lambda t: t[0]
    )
    assert levels(iot, targetType="CLIENT_ID") == [("CLIENT_ID", "sensor-1", "INFO")]
    assert levels(iot, targetType="THING_GROUP") == [("THING_GROUP", "lights", "DEBUG")]


def test_setting_a_target_again_replaces_its_level(configured: Any) -> None:
    iot = configured
    target = {"targetType": "CLIENT_ID", "targetName": "c1"}
    iot.set_v2_logging_level(logTarget=target, logLevel="DEBUG")
    iot.set_v2_logging_level(logTarget=target, logLevel="WARN")
    assert levels(iot, targetType="CLIENT_ID") == [("CLIENT_ID", "c1", "WARN")]


@pytest.mark.parametrize(
    ("target", "said"),
    [
        # Named target types need a target name.
        ({"targetType": "CLIENT_ID"}, "targetName"),
        # A thing group target must exist.
        ({"targetType": "THING_GROUP", "targetName": "ghost"}, "ghost"),
        # An unknown target type is refused.
        ({"targetType": "THING", "targetName": "x"}, "THING"),
    ],
    ids=["no target name", "missing thing group", "unknown target type"],
)
def test_refused_log_targets(configured: Any, target: dict[str, str], said: str) -> None:
    with pytest.raises(ClientError) as exc:
        configured.set_v2_logging_level(logTarget=target, logLevel="INFO")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert said in message


def test_delete_level(configured: Any) -> None:
    iot = configured
    iot.set_v2_logging_level(
        logTarget={"targetType": "SOURCE_IP", "targetName": "10.0.0.1"}, logLevel="DEBUG"
    )
    answer = iot.delete_v2_logging_level(targetType="SOURCE_IP", targetName="10.0.0.1")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert levels(iot, targetType="SOURCE_IP") == []
    # Deleting a level that is not set succeeds (no not-found error is modelled).
    iot.delete_v2_logging_level(targetType="SOURCE_IP", targetName="10.0.0.1")


def test_default_level_cannot_be_deleted(configured: Any) -> None:
    with pytest.raises(ClientError) as exc:
        configured.delete_v2_logging_level(targetType="DEFAULT", targetName="DEFAULT")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "DEFAULT" in message
    assert levels(configured, targetType="DEFAULT") == [("DEFAULT", None, "ERROR")]


def test_set_v2_options_without_default_level_clears_the_default_target(configured: Any) -> None:
    configured.set_v2_logging_options(roleArn=ROLE)
    assert levels(configured) == []


def test_list_levels_pages_per_target_type(configured: Any) -> None:
    iot = configured
    for index in range(5):
        iot.set_v2_logging_level(
            logTarget={"targetType": "CLIENT_ID", "targetName": f"client-{index}"},
            logLevel="INFO",
        )
        iot.set_v2_logging_level(
            logTarget={"targetType": "SOURCE_IP", "targetName": f"10.0.0.{index}"},
            logLevel="WARN",
        )
    seen: list[str | None] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"targetType": "CLIENT_ID", "maxResults": 2}
        if token:
            kwargs["nextToken"] = token
        answer = iot.list_v2_logging_levels(**kwargs)
        seen += [c["logTarget"]["targetName"] for c in answer["logTargetConfigurations"]]
        pages += 1
        token = answer.get("nextToken")
        if not token:
            break
    assert seen == [f"client-{i}" for i in range(5)]
    assert pages == 3
    paginator = iot.get_paginator("list_v2_logging_levels")
    everything = [
        c
        for page in paginator.paginate(PaginationConfig={"PageSize": 3})
        for c in page["logTargetConfigurations"]
    ]
    assert len(everything) == 11  # 5 + 5 + DEFAULT


def test_list_levels_refuses_a_foreign_token(configured: Any) -> None:
    iot = configured
    for index in range(3):
        iot.set_v2_logging_level(
            logTarget={"targetType": "CLIENT_ID", "targetName": f"c{index}"}, logLevel="INFO"
        )
    token = iot.list_v2_logging_levels(targetType="CLIENT_ID", maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        iot.list_v2_logging_levels(targetType="SOURCE_IP", nextToken=token)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.list_v2_logging_levels(nextToken="not-a-token")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_log_target_limit(iot_mock: Any, configured: Any) -> None:
    from iotmock.logging.options import LoggingStore, LogTargetLevel

    # Fill the account to the quota directly: 1,000 API calls would slow the suite.
    store = iot_mock.backend().store(LoggingStore)
    for index in range(MAX_LOG_TARGETS - len(store.levels)):
        store.levels[f"CLIENT_ID\x00c{index:04d}"] = LogTargetLevel(
            "CLIENT_ID", f"c{index}", "INFO"
        )
    with pytest.raises(ClientError) as exc:
        configured.set_v2_logging_level(
            logTarget={"targetType": "CLIENT_ID", "targetName": "one-more"}, logLevel="INFO"
        )
    assert error_of(exc)[:2] == ("LimitExceededException", 410)
    # Changing the level of an existing target is still allowed.
    configured.set_v2_logging_level(logTarget={"targetType": "DEFAULT"}, logLevel="WARN")


def test_logging_is_per_account_and_region(iot_mock: Any, configured: Any) -> None:
    import boto3

    other = boto3.client("iot", region_name="eu-west-1")
    with pytest.raises(ClientError) as exc:
        other.get_v2_logging_options()
    assert error_of(exc)[0] == "NotConfiguredException"
    assert "roleArn" not in other.get_logging_options()
