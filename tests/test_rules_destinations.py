"""Topic rule destinations: status lifecycle, confirmation token, HTTP actions."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

from iotmock import IotMock

URL = "https://example.com/iot"
VPC = {
    "subnetIds": ["subnet-1"],
    "securityGroups": ["sg-1"],
    "vpcId": "vpc-1",
    "roleArn": "arn:aws:iam::123456789012:role/vpc",
}


def create_http(iot: Any, url: str = URL) -> dict[str, Any]:
    return iot.create_topic_rule_destination(  # type: ignore[no-any-return]
        destinationConfiguration={"httpUrlConfiguration": {"confirmationUrl": url}}
    )["topicRuleDestination"]


def status_of(iot: Any, arn: str) -> str:
    return iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]["status"]  # type: ignore[no-any-return]


def test_http_destination_starts_in_progress(iot: Any) -> None:
    destination = create_http(iot)
    assert destination["arn"].startswith("arn:aws:iot:us-east-1:123456789012:ruledestination/http/")
    assert destination["status"] == "IN_PROGRESS"
    assert destination["httpUrlProperties"] == {"confirmationUrl": URL}
    assert destination["createdAt"] == destination["lastUpdatedAt"]


def test_confirm_with_the_token_enables_the_destination(iot_mock: IotMock, iot: Any) -> None:
    arn = create_http(iot)["arn"]
    token = iot_mock.rules.destination_token(arn)
    assert token
    iot.confirm_topic_rule_destination(confirmationToken=token)
    assert status_of(iot, arn) == "ENABLED"
    assert iot_mock.rules.destination_token(arn) is None
    with pytest.raises(ClientError) as exc:
        iot.confirm_topic_rule_destination(confirmationToken=token)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_unknown_token_is_invalid(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.confirm_topic_rule_destination(confirmationToken="nope")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_update_status_lifecycle(iot_mock: IotMock, iot: Any) -> None:
    arn = create_http(iot)["arn"]
    with pytest.raises(ClientError) as exc:
        iot.update_topic_rule_destination(arn=arn, status="ENABLED")
    assert error_of(exc)[0] == "InvalidRequestException"
    iot.confirm_topic_rule_destination(confirmationToken=iot_mock.rules.destination_token(arn))
    iot.update_topic_rule_destination(arn=arn, status="DISABLED")
    assert status_of(iot, arn) == "DISABLED"
    iot.update_topic_rule_destination(arn=arn, status="ENABLED")
    assert status_of(iot, arn) == "ENABLED"
    # IN_PROGRESS sends a new confirmation challenge.
    iot.update_topic_rule_destination(arn=arn, status="IN_PROGRESS")
    assert status_of(iot, arn) == "IN_PROGRESS"
    token = iot_mock.rules.destination_token(arn)
    assert token
    iot.confirm_topic_rule_destination(confirmationToken=token)
    assert status_of(iot, arn) == "ENABLED"


def test_a_new_challenge_invalidates_the_old_token(iot_mock: IotMock, iot: Any) -> None:
    arn = create_http(iot)["arn"]
    old = iot_mock.rules.destination_token(arn)
    iot.update_topic_rule_destination(arn=arn, status="IN_PROGRESS")
    with pytest.raises(ClientError):
        iot.confirm_topic_rule_destination(confirmationToken=old)


@pytest.mark.parametrize("status", ["ERROR", "DELETING"])
def test_service_owned_statuses_cannot_be_set(iot: Any, status: str) -> None:
    arn = create_http(iot)["arn"]
    with pytest.raises(ClientError) as exc:
        iot.update_topic_rule_destination(arn=arn, status=status)
    assert error_of(exc)[0] == "InvalidRequestException"


def test_duplicate_confirmation_url_is_409(iot: Any) -> None:
    create_http(iot)
    with pytest.raises(ClientError) as exc:
        create_http(iot)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)


def test_confirmation_url_must_be_https(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create_http(iot, "http://example.com/")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_configuration_needs_exactly_one_kind(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_topic_rule_destination(destinationConfiguration={})
    assert error_of(exc)[0] == "InvalidRequestException"


def test_vpc_destination_is_enabled_at_once(iot: Any) -> None:
    destination = iot.create_topic_rule_destination(
        destinationConfiguration={"vpcConfiguration": VPC}
    )["topicRuleDestination"]
    assert destination["arn"].split(":")[5].startswith("ruledestination/vpc/")
    assert destination["status"] == "ENABLED"
    assert destination["vpcProperties"] == VPC
    with pytest.raises(ClientError):
        iot.update_topic_rule_destination(arn=destination["arn"], status="IN_PROGRESS")


def test_list_destinations_pages_summaries(iot: Any) -> None:
    arns = sorted(create_http(iot, f"https://example.com/{i}")["arn"] for i in range(3))
    first = iot.list_topic_rule_destinations(maxResults=2)
    assert [d["arn"] for d in first["destinationSummaries"]] == arns[:2]
    assert "httpUrlSummary" in first["destinationSummaries"][0]
    second = iot.list_topic_rule_destinations(maxResults=2, nextToken=first["nextToken"])
    assert [d["arn"] for d in second["destinationSummaries"]] == arns[2:]


def test_missing_destination_is_unauthorized(iot: Any) -> None:
    arn = "arn:aws:iot:us-east-1:123456789012:ruledestination/http/missing"
    for call in (
        lambda: iot.get_topic_rule_destination(arn=arn),
        lambda: iot.update_topic_rule_destination(arn=arn, status="ENABLED"),
        lambda: iot.delete_topic_rule_destination(arn=arn),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == (
            "UnauthorizedException",
            401,
            f"Access to TopicRuleDestination '{arn}' was denied",
        )


def test_delete_destination_frees_its_url(iot: Any) -> None:
    arn = create_http(iot)["arn"]
    iot.delete_topic_rule_destination(arn=arn)
    assert iot.list_topic_rule_destinations()["destinationSummaries"] == []
    create_http(iot)


# --------------------------------------------------------------------------- http actions


def http_rule(iot: Any, url: str, **http: Any) -> None:
    iot.create_topic_rule(
        ruleName="to_http",
        topicRulePayload={
            "sql": "SELECT * FROM 'in'",
            "actions": [{"http": {"url": url, **http}}],
            "errorAction": {"republish": {"roleArn": "arn:aws:iam::1:role/r", "topic": "err"}},
        },
    )


def test_http_action_creates_its_destination(iot: Any) -> None:
    http_rule(iot, "https://api.example.com/ingest")
    (summary,) = iot.list_topic_rule_destinations()["destinationSummaries"]
    assert summary["httpUrlSummary"] == {"confirmationUrl": "https://api.example.com/ingest"}
    assert summary["status"] == "IN_PROGRESS"


def test_http_action_confirmation_url_must_prefix_the_url(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        http_rule(iot, "https://api.example.com/ingest", confirmationUrl="https://other.com/")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_http_action_templated_url_is_checked_on_its_literal_prefix(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        http_rule(iot, "https://api.example.com/${topic()}", confirmationUrl="https://x.org/")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_http_action_template_url_requires_confirmation_url(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        http_rule(iot, "https://api.example.com/${topic()}")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_http_traffic_needs_an_enabled_destination(
    iot_mock: IotMock, iot: Any, iot_data: Any
) -> None:
    http_rule(
        iot,
        "https://api.example.com/ingest/${topic()}",
        confirmationUrl="https://api.example.com/ingest",
    )
    (summary,) = iot.list_topic_rule_destinations()["destinationSummaries"]
    arn = summary["arn"]
    iot_data.publish(topic="in", payload=b"{}")
    (failed, error_action) = iot_mock.rules.invocations("to_http")
    assert failed.action_type == "http"
    assert failed.error is not None and "IN_PROGRESS" in failed.error
    assert error_action.is_error_action
    iot.confirm_topic_rule_destination(confirmationToken=iot_mock.rules.destination_token(arn))
    iot_data.publish(topic="in", payload=b"{}")
    last = iot_mock.rules.invocations("to_http")[-1]
    assert last.action_type == "http"
    assert last.error is None
