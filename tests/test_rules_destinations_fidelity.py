"""A topic rule destination awaiting confirmation says so, as AWS shows it (issue 10)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine

from iotmock import IotMock

SENT = dt.datetime(2020, 7, 9, 22, 47, 54, 154000, tzinfo=dt.timezone.utc)
REASON = (
    "Awaiting confirmation. Confirmation message sent on 2020-07-09T22:47:54.154Z; "
    "no response received from the endpoint."
)


def test_new_http_destination_has_the_awaiting_confirmation_reason(iot: Any) -> None:
    with time_machine.travel(SENT, tick=False):
        created = iot.create_topic_rule_destination(
            destinationConfiguration={
                "httpUrlConfiguration": {"confirmationUrl": "https://example.com"}
            }
        )["topicRuleDestination"]
    assert created["status"] == "IN_PROGRESS"
    assert created["statusReason"] == REASON
    fetched = iot.get_topic_rule_destination(arn=created["arn"])["topicRuleDestination"]
    assert fetched["statusReason"] == REASON
    [summary] = iot.list_topic_rule_destinations()["destinationSummaries"]
    assert summary["statusReason"] == REASON


def test_the_reason_goes_once_the_destination_leaves_in_progress(
    iot: Any, iot_mock: IotMock
) -> None:
    arn = iot.create_topic_rule_destination(
        destinationConfiguration={
            "httpUrlConfiguration": {"confirmationUrl": "https://example.com"}
        }
    )["topicRuleDestination"]["arn"]
    token = iot_mock.rules.destination_token(arn)
    iot.confirm_topic_rule_destination(confirmationToken=token)
    assert "statusReason" not in iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]
    iot.update_topic_rule_destination(arn=arn, status="DISABLED")
    assert "statusReason" not in iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]
    # Restarting the confirmation sends a new message: a new reason with the new time.
    later = dt.datetime(2021, 1, 2, 3, 4, 5, 6000, tzinfo=dt.timezone.utc)
    with time_machine.travel(later, tick=False):
        iot.update_topic_rule_destination(arn=arn, status="IN_PROGRESS")
    reason = iot.get_topic_rule_destination(arn=arn)["topicRuleDestination"]["statusReason"]
    assert "sent on 2021-01-02T03:04:05.006Z;" in reason


def test_vpc_destination_has_no_reason(iot: Any) -> None:
    vpc = {
        "subnetIds": ["subnet-1"],
        "vpcId": "vpc-1",
        "roleArn": "arn:aws:iam::123456789012:role/r",
    }
    created = iot.create_topic_rule_destination(destinationConfiguration={"vpcConfiguration": vpc})
    assert "statusReason" not in created["topicRuleDestination"]
