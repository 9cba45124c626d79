"""ValidateSecurityProfileBehaviors answers as AWS's own example output shows it (issue 10):
200 with `valid: false` and "Behavior <name> is malformed. ..." for behaviors AWS judges
invalid, where the same behaviors sent to CreateSecurityProfile are a 400."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def _behaviors(alarm: int, clear: int = 1) -> list[dict[str, Any]]:
    # The AWS CLI example validate-security-profile-behaviors, verbatim.
    return [
        {
            "name": "CellularBandwidth",
            "metric": "aws:message-byte-size",
            "criteria": {
                "comparisonOperator": "greater-than",
                "value": {"count": 128},
                "consecutiveDatapointsToAlarm": 1,
                "consecutiveDatapointsToClear": 1,
            },
        },
        {
            "name": "Authorization",
            "metric": "aws:num-authorization-failures",
            "criteria": {
                "comparisonOperator": "greater-than",
                "value": {"count": 12},
                "durationSeconds": 300,
                "consecutiveDatapointsToAlarm": alarm,
                "consecutiveDatapointsToClear": clear,
            },
        },
    ]


def _answer(iot: Any, behaviors: list[dict[str, Any]]) -> dict[str, Any]:
    answer = iot.validate_security_profile_behaviors(behaviors=behaviors)
    answer.pop("ResponseMetadata")
    return dict(answer)


def test_well_formed_behaviors_are_valid(iot: Any) -> None:
    assert _answer(iot, _behaviors(1)) == {"valid": True, "validationErrors": []}


def test_datapoints_out_of_range_are_a_validation_error_not_a_400(iot: Any) -> None:
    assert _answer(iot, _behaviors(100000)) == {
        "valid": False,
        "validationErrors": [
            {
                "errorMessage": "Behavior Authorization is malformed. "
                "consecutiveDatapointsToAlarm 100000 should be in range[1,10]"
            }
        ],
    }
    messages = [e["errorMessage"] for e in _answer(iot, _behaviors(11, 12))["validationErrors"]]
    assert messages == [
        "Behavior Authorization is malformed. consecutiveDatapointsToAlarm 11 should be in "
        "range[1,10]",
        "Behavior Authorization is malformed. consecutiveDatapointsToClear 12 should be in "
        "range[1,10]",
    ]


def test_create_security_profile_still_refuses_them_at_the_request(iot: Any) -> None:
    with pytest.raises(ClientError) as caught:
        iot.create_security_profile(securityProfileName="sp", behaviors=_behaviors(100000))
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidRequestException"
    assert error["Error"]["Message"] == (
        "1 validation error detected: Value '100000' at "
        "'behaviors.2.member.criteria.consecutiveDatapointsToAlarm' failed to satisfy "
        "constraint: Member must have value less than or equal to 10"
    )


def test_other_behavior_problems_use_the_malformed_form(iot: Any) -> None:
    behaviors = _behaviors(1)
    behaviors[1]["metric"] = "aws:no-such-metric"
    [error] = _answer(iot, behaviors)["validationErrors"]
    assert error["errorMessage"].startswith("Behavior Authorization is malformed. ")
    assert "aws:no-such-metric" in error["errorMessage"]


def test_other_model_constraints_stay_request_level(iot: Any) -> None:
    behaviors = _behaviors(1)
    behaviors[0]["name"] = "bad name!"
    with pytest.raises(ClientError) as caught:
        iot.validate_security_profile_behaviors(behaviors=behaviors)
    assert caught.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "behaviors.1.member.name" in caught.value.response["Error"]["Message"]


def test_a_wrongly_typed_count_from_a_raw_caller_is_malformed(iot_mock: Any) -> None:
    raw = boto3.client("iot", region_name="us-east-1", config=Config(parameter_validation=False))
    behaviors = _behaviors(1)
    behaviors[1]["criteria"]["consecutiveDatapointsToAlarm"] = "3"
    answer = raw.validate_security_profile_behaviors(behaviors=behaviors)
    assert answer["valid"] is False
    assert answer["validationErrors"] == [
        {
            "errorMessage": "Behavior Authorization is malformed. "
            "consecutiveDatapointsToAlarm 3 should be in range[1,10]"
        }
    ]
