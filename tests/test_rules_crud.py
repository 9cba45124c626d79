"""Topic rules CRUD: create, get, list, replace, enable/disable, delete, tags (spec §12)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock

ROLE = "arn:aws:iam::123456789012:role/iot-rules"
REPUBLISH = {"republish": {"roleArn": ROLE, "topic": "out/topic"}}


def payload(sql: str = "SELECT * FROM 'in/#'", **extra: Any) -> dict[str, Any]:
    return {"sql": sql, "actions": [REPUBLISH], **extra}


def test_create_and_get_rule_with_defaults(iot: Any) -> None:
    iot.create_topic_rule(ruleName="my_rule", topicRulePayload=payload(description="d"))
    response = iot.get_topic_rule(ruleName="my_rule")
    assert response["ruleArn"] == "arn:aws:iot:us-east-1:123456789012:rule/my_rule"
    rule = response["rule"]
    assert rule["ruleName"] == "my_rule"
    assert rule["sql"] == "SELECT * FROM 'in/#'"
    assert rule["description"] == "d"
    assert rule["actions"] == [REPUBLISH]
    assert rule["ruleDisabled"] is False
    assert rule["awsIotSqlVersion"] == "2015-10-08"
    assert "errorAction" not in rule
    assert rule["createdAt"] is not None


def test_create_keeps_sql_version_disabled_flag_and_error_action(iot: Any) -> None:
    error_action = {"republish": {"roleArn": ROLE, "topic": "errors"}}
    iot.create_topic_rule(
        ruleName="r",
        topicRulePayload=payload(
            awsIotSqlVersion="2016-03-23", ruleDisabled=True, errorAction=error_action
        ),
    )
    rule = iot.get_topic_rule(ruleName="r")["rule"]
    assert rule["awsIotSqlVersion"] == "2016-03-23"
    assert rule["ruleDisabled"] is True
    assert rule["errorAction"] == error_action


def test_unknown_sql_version_is_rejected(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(ruleName="r", topicRulePayload=payload(awsIotSqlVersion="2020"))
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_rule_name_pattern_is_enforced(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(ruleName="bad-name", topicRulePayload=payload())
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "ruleName" in message
    assert "^[a-zA-Z0-9_]+$" in message


def test_duplicate_rule_is_409(iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"].endswith(":rule/r")


@pytest.mark.parametrize(
    "sql",
    [
        "SELEC * FROM 'a'",
        "SELECT * FROM a",
        "SELECT FROM 'a'",
        "SELECT * FROM 'a' WHERE",
        "SELECT a.. FROM 'a'",
        "SELECT * FROM 'a/#/b'",
        "SELECT * FROM 'a/b+'",
        "SELECT cast(a AS Widget) FROM 'a'",
        "SELECT * FROM 'a' extra",
        "SELECT (1 FROM 'a'",
    ],
)
def test_unparsable_sql_is_a_sql_parse_exception(iot: Any, sql: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(ruleName="r", topicRulePayload=payload(sql))
    assert error_of(exc)[:2] == ("SqlParseException", 400)


def test_action_must_name_exactly_one_type(iot: Any) -> None:
    two = {**REPUBLISH, "lambda": {"functionArn": "arn:aws:lambda:us-east-1:1:function:f"}}
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(
            ruleName="r", topicRulePayload={"sql": "SELECT * FROM 'a'", "actions": [two]}
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_missing_rule_answers_unauthorized_401(iot: Any) -> None:
    for call in (
        lambda: iot.get_topic_rule(ruleName="ghost"),
        lambda: iot.delete_topic_rule(ruleName="ghost"),
        lambda: iot.enable_topic_rule(ruleName="ghost"),
        lambda: iot.disable_topic_rule(ruleName="ghost"),
        lambda: iot.replace_topic_rule(ruleName="ghost", topicRulePayload=payload()),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == (
            "UnauthorizedException",
            401,
            "Access to topic rule 'ghost' was denied",
        )


def test_enable_and_disable_flip_rule_disabled(iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    iot.disable_topic_rule(ruleName="r")
    assert iot.get_topic_rule(ruleName="r")["rule"]["ruleDisabled"] is True
    iot.enable_topic_rule(ruleName="r")
    assert iot.get_topic_rule(ruleName="r")["rule"]["ruleDisabled"] is False


def test_replace_topic_rule_swaps_the_payload_and_keeps_creation_time(iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    created = iot.get_topic_rule(ruleName="r")["rule"]["createdAt"]
    iot.replace_topic_rule(ruleName="r", topicRulePayload=payload("SELECT a FROM 'other/+'"))
    rule = iot.get_topic_rule(ruleName="r")["rule"]
    assert rule["sql"] == "SELECT a FROM 'other/+'"
    assert rule["createdAt"] == created
    listed = iot.list_topic_rules()["rules"]
    assert listed[0]["topicPattern"] == "other/+"


def test_replace_with_bad_sql_keeps_the_old_rule(iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    with pytest.raises(ClientError) as exc:
        iot.replace_topic_rule(ruleName="r", topicRulePayload=payload("SELECT"))
    assert error_of(exc)[0] == "SqlParseException"
    assert iot.get_topic_rule(ruleName="r")["rule"]["sql"] == "SELECT * FROM 'in/#'"


def test_delete_topic_rule(iot_mock: IotMock, iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload(), tags="team=a")
    arn = iot.get_topic_rule(ruleName="r")["ruleArn"]
    iot.delete_topic_rule(ruleName="r")
    with pytest.raises(ClientError):
        iot.get_topic_rule(ruleName="r")
    assert iot.list_topic_rules()["rules"] == []
    assert arn not in iot_mock.backend().tags
    assert_untaggable(iot, arn)


def test_list_topic_rules_items_filters_and_paging(iot: Any) -> None:
    iot.create_topic_rule(ruleName="b_rule", topicRulePayload=payload("SELECT * FROM 'x/y'"))
    iot.create_topic_rule(
        ruleName="a_rule", topicRulePayload=payload("SELECT * FROM 'in/#'", ruleDisabled=True)
    )
    iot.create_topic_rule(ruleName="c_rule", topicRulePayload=payload("SELECT * FROM 'in/#'"))
    everything = iot.list_topic_rules()["rules"]
    assert [r["ruleName"] for r in everything] == ["a_rule", "b_rule", "c_rule"]
    assert set(everything[0]) == {
        "ruleArn",
        "ruleName",
        "topicPattern",
        "createdAt",
        "ruleDisabled",
    }
    assert everything[0]["topicPattern"] == "in/#"
    by_topic = iot.list_topic_rules(topic="in/#")["rules"]
    assert [r["ruleName"] for r in by_topic] == ["a_rule", "c_rule"]
    enabled = iot.list_topic_rules(ruleDisabled=False)["rules"]
    assert [r["ruleName"] for r in enabled] == ["b_rule", "c_rule"]
    first = iot.list_topic_rules(maxResults=2)
    assert len(first["rules"]) == 2
    second = iot.list_topic_rules(maxResults=2, nextToken=first["nextToken"])
    assert [r["ruleName"] for r in second["rules"]] == ["c_rule"]
    assert "nextToken" not in second


def test_tags_at_creation_come_from_the_tagging_header(iot_mock: IotMock, iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload(), tags="team=blue&env=")
    arn = iot.get_topic_rule(ruleName="r")["ruleArn"]
    assert iot_mock.backend().tags[arn] == {"team": "blue", "env": ""}
    assert listed_tags(iot, arn) == {"env": "", "team": "blue"}


def test_reserved_tag_keys_are_refused(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule(ruleName="r", topicRulePayload=payload(), tags="aws:x=1")
    assert error_of(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError):
        iot.get_topic_rule(ruleName="r")


def test_rules_are_taggable_resources(iot_mock: IotMock, iot: Any) -> None:
    iot.create_topic_rule(ruleName="r", topicRulePayload=payload())
    arn = iot.get_topic_rule(ruleName="r")["ruleArn"]
    assert listed_tags(iot, arn) == {}
    iot.tag_resource(resourceArn=arn, tags=[{"Key": "team", "Value": "red"}])
    assert iot_mock.backend().tags[arn] == {"team": "red"}
    assert listed_tags(iot, arn) == {"team": "red"}
