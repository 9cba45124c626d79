"""The rules engine end to end: matching, actions, republish chains, Lambda callables,
errorAction, Basic Ingest and the `rules.invocations` record."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from iotmock import IotMock
from iotmock.rules.engine import MAX_REPUBLISH_DEPTH

ROLE = "arn:aws:iam::123456789012:role/rules"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:handle"


def republish(topic: str, **extra: Any) -> dict[str, Any]:
    return {"republish": {"roleArn": ROLE, "topic": topic, **extra}}


def create_rule(iot: Any, name: str, sql: str, *actions: Any, **payload: Any) -> None:
    iot.create_topic_rule(
        ruleName=name, topicRulePayload={"sql": sql, "actions": list(actions), **payload}
    )


def test_shadow_update_triggers_a_rule_that_republishes(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    """The end-to-end scenario of the issue."""
    create_rule(
        iot,
        "overheat",
        "SELECT state.reported.temp AS temp, topic(3) AS thing "
        "FROM '$aws/things/+/shadow/update/accepted' WHERE state.reported.temp > 30",
        republish("alerts/${topic(3)}/overheat", qos=1),
    )
    for thing, temp in (("cool-one", 20), ("hot-one", 45)):
        iot_data.update_thing_shadow(
            thingName=thing, payload=json.dumps({"state": {"reported": {"temp": temp}}})
        )
    (alert,) = iot_mock.messages("alerts/#")
    assert alert.topic == "alerts/hot-one/overheat"
    assert alert.json() == {"temp": 45, "thing": "hot-one"}
    assert alert.qos == 1
    assert alert.source == "rule:overheat"
    (invocation,) = iot_mock.rules.invocations("overheat")
    assert invocation.action_type == "republish"
    assert invocation.topic == "$aws/things/hot-one/shadow/update/accepted"
    assert invocation.target_topic == "alerts/hot-one/overheat"
    assert invocation.json() == {"temp": 45, "thing": "hot-one"}
    assert invocation.error is None
    assert invocation.is_error_action is False


def test_every_action_is_recorded_including_non_executable_ones(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    sqs = {"sqs": {"roleArn": ROLE, "queueUrl": "https://sqs.us-east-1.amazonaws.com/1/q"}}
    dynamo = {"dynamoDBv2": {"roleArn": ROLE, "putItem": {"tableName": "t"}}}
    create_rule(iot, "fan_out", "SELECT v FROM 'in/+'", sqs, dynamo)
    iot_data.publish(topic="in/a", payload=json.dumps({"v": 1, "w": 2}))
    recorded = iot_mock.rules.invocations("fan_out")
    assert [i.action_type for i in recorded] == ["sqs", "dynamoDBv2"]
    assert recorded[0].action == sqs["sqs"]
    assert all(i.json() == {"v": 1} for i in recorded)
    assert iot_mock.rules.invocations(action_type="sqs") == recorded[:1]
    assert iot_mock.rules.invocations("other") == []


def test_changing_a_recorded_invocation_changes_nothing_in_the_mock(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "relay", "SELECT * FROM 'in/+'", republish("out"))
    iot_data.publish(topic="in/a", payload=b"{}")
    (recorded,) = iot_mock.rules.invocations("relay")
    recorded.action["topic"] = "elsewhere"
    assert iot_mock.rules.invocations("relay")[0].action["topic"] == "out"
    rule = iot.get_topic_rule(ruleName="relay")["rule"]
    assert rule["actions"][0]["republish"]["topic"] == "out"
    iot_data.publish(topic="in/b", payload=b"{}")
    assert len(iot_mock.messages("out")) == 2
    assert iot_mock.messages("elsewhere") == []


def test_disabled_rules_do_not_fire_until_enabled(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "r", "SELECT * FROM 'in'", republish("out"), ruleDisabled=True)
    iot_data.publish(topic="in", payload=b"{}")
    assert iot_mock.rules.invocations() == []
    iot.enable_topic_rule(ruleName="r")
    iot_data.publish(topic="in", payload=b"{}")
    assert len(iot_mock.rules.invocations("r")) == 1
    iot.disable_topic_rule(ruleName="r")
    iot_data.publish(topic="in", payload=b"{}")
    assert len(iot_mock.rules.invocations("r")) == 1


def test_replaced_and_deleted_rules_stop_matching_the_old_topic(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "r", "SELECT * FROM 'old'", republish("out"))
    iot.replace_topic_rule(
        ruleName="r", topicRulePayload={"sql": "SELECT * FROM 'new'", "actions": [republish("o")]}
    )
    iot_data.publish(topic="old", payload=b"{}")
    assert iot_mock.rules.invocations() == []
    iot_data.publish(topic="new", payload=b"{}")
    assert len(iot_mock.rules.invocations("r")) == 1
    iot.delete_topic_rule(ruleName="r")
    iot_data.publish(topic="new", payload=b"{}")
    assert len(iot_mock.rules.invocations("r")) == 1


def test_republish_triggers_other_rules(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    create_rule(iot, "first", "SELECT n + 1 AS n FROM 'step/1'", republish("step/2"))
    create_rule(iot, "second", "SELECT n * 10 AS n FROM 'step/2'", republish("step/3"))
    iot_data.publish(topic="step/1", payload=json.dumps({"n": 1}))
    assert [m.json() for m in iot_mock.messages("step/3")] == [{"n": 20}]
    assert [i.rule_name for i in iot_mock.rules.invocations()] == ["first", "second"]


def test_republish_loop_is_cut_and_reported_to_the_error_action(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(
        iot,
        "loop",
        "SELECT * FROM 'loop'",
        republish("loop"),
        errorAction=republish("loop/errors"),
    )
    iot_data.publish(topic="loop", payload=b"{}")
    assert len(iot_mock.messages("loop")) == MAX_REPUBLISH_DEPTH + 1
    failed = [i for i in iot_mock.rules.invocations("loop") if i.error]
    assert len(failed) == 1
    assert "chained republish" in (failed[0].error or "")
    (error_message,) = iot_mock.messages("loop/errors")
    assert error_message.json()["failures"][0]["failedAction"] == "RepublishAction"


def test_republish_with_mqtt5_headers(iot_mock: IotMock, iot: Any, iot_data: Any) -> None:
    headers = {
        "contentType": "application/json",
        "responseTopic": "reply",
        "correlationData": "Y29y",
        "messageExpiry": "${ttl}",
        "payloadFormatIndicator": "UTF8_DATA",
        "userProperties": [{"key": "k", "value": "v-${topic()}"}],
    }
    create_rule(iot, "r", "SELECT * FROM 'in'", republish("out", headers=headers))
    iot_data.publish(topic="in", payload=b'{"ttl": 30}')
    (out,) = iot_mock.messages("out")
    assert out.content_type == "application/json"
    assert out.response_topic == "reply"
    assert out.correlation_data == "Y29y"
    assert out.message_expiry == 30
    assert out.payload_format_indicator == "UTF8_DATA"
    assert out.user_properties == [{"k": "v-in"}]


def test_republish_to_a_shadow_update_topic_updates_the_shadow(iot: Any, iot_data: Any) -> None:
    create_rule(
        iot,
        "to_shadow",
        "SELECT {'reported': {'temp': temp}} AS state FROM 'sensors/+'",
        republish("$aws/things/${topic(2)}/shadow/update"),
    )
    iot_data.publish(topic="sensors/probe", payload=json.dumps({"temp": 7}))
    shadow = json.loads(iot_data.get_thing_shadow(thingName="probe")["payload"].read())
    assert shadow["state"] == {"reported": {"temp": 7}}


def test_republish_topic_escapes_a_reserved_topic_with_two_dollars(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    # AWS's republish action: "to republish to a reserved topic, which begins with $,
    # use $$ instead", e.g. $$aws/things/MyThing/shadow/update.
    create_rule(
        iot,
        "escaped",
        "SELECT {'reported': {'temp': temp}} AS state FROM 'sensors/+'",
        republish("$$aws/things/${topic(2)}/shadow/update"),
    )
    iot_data.publish(topic="sensors/probe", payload=json.dumps({"temp": 8}))
    (invocation,) = iot_mock.rules.invocations("escaped")
    assert invocation.target_topic == "$aws/things/probe/shadow/update"
    assert invocation.error is None
    shadow = json.loads(iot_data.get_thing_shadow(thingName="probe")["payload"].read())
    assert shadow["state"] == {"reported": {"temp": 8}}


def test_lambda_action_calls_the_registered_callable(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    calls: list[tuple[Any, Any]] = []
    iot_mock.rules.register_lambda(FUNCTION, lambda event, context: calls.append((event, context)))
    create_rule(
        iot,
        "to_lambda",
        "SELECT temp, clientid() AS c FROM 'in'",
        {"lambda": {"functionArn": FUNCTION}},
    )
    iot_data.publish(topic="in", payload=json.dumps({"temp": 3}))
    ((event, context),) = calls
    assert event == {"temp": 3, "c": "n/a"}
    assert context.invoked_function_arn == FUNCTION
    assert context.function_name == "handle"
    (invocation,) = iot_mock.rules.invocations("to_lambda")
    assert invocation.action_type == "lambda"
    assert invocation.error is None


def test_lambda_without_a_registered_callable_fails_as_a_missing_function(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(
        iot,
        "r",
        "SELECT * FROM 'in'",
        {"lambda": {"functionArn": FUNCTION}},
        errorAction=republish("errors/r"),
    )
    iot_data.publish(topic="in", payload=b"{}")
    failed, error_action = iot_mock.rules.invocations("r")
    assert failed.error is not None
    assert "ResourceNotFoundException" in failed.error and FUNCTION in failed.error
    assert error_action.is_error_action
    (error_message,) = iot_mock.messages("errors/r")
    assert error_message.json()["failures"] == [
        {"failedAction": "LambdaAction", "failedResource": FUNCTION, "errorMessage": failed.error}
    ]


def test_a_raising_lambda_fires_the_error_action(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    def broken(event: Any, context: Any) -> None:
        raise RuntimeError("database down")

    iot_mock.rules.register_lambda(FUNCTION, broken)
    create_rule(
        iot,
        "fragile",
        "SELECT * FROM 'in'",
        {"lambda": {"functionArn": FUNCTION}},
        republish("ok"),
        errorAction=republish("errors/fragile"),
    )
    iot_data.publish(topic="in", payload=b'{"x": 1}')
    failed, ok, error_action = iot_mock.rules.invocations("fragile")
    assert failed.action_type == "lambda"
    assert failed.error is not None and "database down" in failed.error
    assert ok.error is None
    assert error_action.is_error_action
    assert error_action.action_type == "republish"
    (error_message,) = iot_mock.messages("errors/fragile")
    document = error_message.json()
    assert document["ruleName"] == "fragile"
    assert document["topic"] == "in"
    assert document["clientId"] == "n/a"
    assert base64.b64decode(document["base64OriginalPayload"]) == b'{"x": 1}'
    assert document["failures"] == [
        {
            "failedAction": "LambdaAction",
            "failedResource": FUNCTION,
            "errorMessage": failed.error,
        }
    ]
    assert document["cloudwatchTraceId"]
    assert len(iot_mock.messages("ok")) == 1


def test_no_error_action_means_failures_are_only_recorded(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    iot_mock.rules.register_lambda(FUNCTION, lambda e, c: 1 / 0)
    create_rule(iot, "r", "SELECT * FROM 'in'", {"lambda": {"functionArn": FUNCTION}})
    iot_data.publish(topic="in", payload=b"{}")
    (invocation,) = iot_mock.rules.invocations("r")
    assert "ZeroDivisionError" in (invocation.error or "")


def test_basic_ingest_goes_to_the_named_rule_only(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "ingest", "SELECT *, topic() AS t FROM 'ignored/topic'", republish("out"))
    create_rule(iot, "other", "SELECT * FROM 'fleet/#'", republish("elsewhere"))
    iot_data.publish(topic="$aws/rules/ingest/fleet/7", payload=json.dumps({"v": 1}))
    (invocation,) = iot_mock.rules.invocations("ingest")
    assert invocation.json() == {"v": 1, "t": "fleet/7"}
    assert iot_mock.rules.invocations("other") == []


def test_messages_published_by_the_mock_trigger_rules(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(
        iot, "watch", "SELECT * FROM '$aws/things/+/shadow/delete/accepted'", republish("deleted")
    )
    iot_data.update_thing_shadow(thingName="t", payload=json.dumps({"state": {}}))
    iot_data.delete_thing_shadow(thingName="t")
    assert len(iot_mock.rules.invocations("watch")) == 1


def test_wildcard_first_filters_do_not_match_reserved_topics(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "all", "SELECT * FROM '#' WHERE topic() <> 'copy'", republish("copy"))
    iot_data.update_thing_shadow(thingName="t", payload=json.dumps({"state": {}}))
    assert iot_mock.rules.invocations("all") == []
    iot_data.publish(topic="plain", payload=b"{}")
    assert len(iot_mock.rules.invocations("all")) == 1


def test_invalid_substitution_template_fails_the_action(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "r", "SELECT * FROM 'in'", republish("out/${topic(}"))
    iot_data.publish(topic="in", payload=b"{}")
    (invocation,) = iot_mock.rules.invocations("r")
    assert "substitution template" in (invocation.error or "")
    assert iot_mock.messages("out/#") == []


def test_substitution_templates_read_the_incoming_payload(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "r", "SELECT temp FROM 'in'", republish("out/${lower(device)}/${temp}"))
    iot_data.publish(topic="in", payload=json.dumps({"device": "AB", "temp": 5}))
    assert [m.topic for m in iot_mock.messages("out/#")] == ["out/ab/5"]


@pytest.mark.parametrize("account", ["111111111111"])
def test_rules_are_per_account(iot_mock: IotMock, iot: Any, iot_data: Any, account: str) -> None:
    create_rule(iot, "r", "SELECT * FROM 'in'", republish("out"))
    with iot_mock.as_account(account):
        iot_data.publish(topic="in", payload=b"{}")
    assert iot_mock.rules.invocations("r") == []
    assert iot_mock.rules.invocations("r", account_id=account) == []


def test_an_error_action_feeding_its_own_rule_terminates(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(
        iot, "snake", "SELECT * FROM 'loop'", republish("loop"), errorAction=republish("loop")
    )
    iot_data.publish(topic="loop", payload=b"{}")
    invocations = iot_mock.rules.invocations("snake")
    assert any(i.error for i in invocations)
    assert len(invocations) < 100


def test_invalid_message_expiry_fails_the_republish(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    create_rule(iot, "r", "SELECT * FROM 'in'", republish("out", headers={"messageExpiry": "${x}"}))
    iot_data.publish(topic="in", payload=b'{"x": "soon"}')
    (invocation,) = iot_mock.rules.invocations("r")
    assert "messageExpiry" in (invocation.error or "")
    assert iot_mock.messages("out") == []


def test_a_lambda_callable_may_call_the_mocked_apis(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    def forward(event: Any, context: Any) -> None:
        iot_data.update_thing_shadow(
            thingName=event["device"],
            payload=json.dumps({"state": {"reported": {"temp": event["temp"]}}}),
        )

    iot_mock.rules.register_lambda(FUNCTION, forward)
    create_rule(iot, "r", "SELECT * FROM 'telemetry'", {"lambda": {"functionArn": FUNCTION}})
    iot_data.publish(topic="telemetry", payload=json.dumps({"device": "d1", "temp": 9}))
    shadow = json.loads(iot_data.get_thing_shadow(thingName="d1")["payload"].read())
    assert shadow["state"]["reported"] == {"temp": 9}


def test_a_lambda_changing_its_event_changes_neither_the_shadow_nor_other_actions(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    # AWS delivers each invocation its own deserialized event.
    events: list[Any] = []

    def mutate(event: Any, context: Any) -> None:
        events.append(json.loads(json.dumps(event)))
        event["state"]["reported"]["temp"] = -1

    iot_mock.rules.register_lambda(FUNCTION, mutate)
    iot_data.update_thing_shadow(thingName="d1", payload=b'{"state":{"reported":{"temp":9}}}')
    create_rule(
        iot,
        "r",
        "SELECT VALUE get_thing_shadow('d1', 'arn:aws:iam::123456789012:role/r') FROM 'in'",
        {"lambda": {"functionArn": FUNCTION}},
        {"lambda": {"functionArn": FUNCTION}},
    )
    iot_data.publish(topic="in", payload=b"{}")
    assert [e["state"]["reported"]["temp"] for e in events] == [9, 9]
    shadow = json.loads(iot_data.get_thing_shadow(thingName="d1")["payload"].read())
    assert shadow["state"]["reported"] == {"temp": 9}


def test_a_payload_nested_deeper_than_the_parser_goes_is_binary_to_the_rules(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    # 60,000 levels fit in a 128 KB payload; the rules see it as binary, as a payload
    # that is not JSON, and the Publish answers 200 instead of failing in the engine.
    create_rule(iot, "all", "SELECT * FROM 'in/#'", republish("out"))
    create_rule(iot, "field", "SELECT a FROM 'in/#' WHERE a = 1", republish("fields"))
    deep = b"[" * 60000 + b"]" * 60000
    iot_data.publish(topic="in/deep", payload=deep)
    (copied,) = iot_mock.messages("out")
    assert copied.payload == deep
    assert iot_mock.messages("fields") == []
    assert [i.error for i in iot_mock.rules.invocations()] == [None]
