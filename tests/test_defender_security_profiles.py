"""Device Defender security profiles through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of

ACCOUNT_ARN = "arn:aws:iot:us-east-1:123456789012"
REGISTERED = f"{ACCOUNT_ARN}:all/registered-things"
UNREGISTERED = f"{ACCOUNT_ARN}:all/unregistered-things"
ROLE = "arn:aws:iam::123456789012:role/defender"


def behavior(
    name: str = "few-messages", metric: str = "aws:num-messages-sent", **criteria: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "metric": metric,
        "criteria": criteria or {"comparisonOperator": "less-than", "value": {"count": 100}},
    }


def test_create_describe(iot: Any) -> None:
    created = iot.create_security_profile(
        securityProfileName="sp",
        securityProfileDescription="normal devices",
        behaviors=[behavior()],
        alertTargets={
            "SNS": {"alertTargetArn": "arn:aws:sns:us-east-1:123456789012:t", "roleArn": ROLE}
        },
        additionalMetricsToRetainV2=[{"metric": "aws:num-disconnects"}],
        metricsExportConfig={"mqttTopic": "$aws/things/x/metrics", "roleArn": ROLE},
        tags=[{"Key": "k", "Value": "v"}],
    )
    assert created["securityProfileArn"] == f"{ACCOUNT_ARN}:securityprofile/sp"
    described = iot.describe_security_profile(securityProfileName="sp")
    assert described["securityProfileDescription"] == "normal devices"
    assert described["behaviors"] == [behavior()]
    assert described["alertTargets"]["SNS"]["roleArn"] == ROLE
    assert described["additionalMetricsToRetainV2"] == [{"metric": "aws:num-disconnects"}]
    assert described["metricsExportConfig"]["mqttTopic"] == "$aws/things/x/metrics"
    assert described["version"] == 1
    assert described["creationDate"] == described["lastModifiedDate"]
    assert iot.list_tags_for_resource(resourceArn=created["securityProfileArn"])["tags"] == [
        {"Key": "k", "Value": "v"}
    ]


def test_create_errors(iot: Any) -> None:
    iot.create_security_profile(securityProfileName="sp")
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(securityProfileName="sp")
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(securityProfileName="bad name")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(
            securityProfileName="x", behaviors=[behavior(metric="aws:nope")]
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "aws:nope is not a Device Defender metric" in message
    with pytest.raises(ClientError):
        iot.describe_security_profile(securityProfileName="x")


def test_describe_missing(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.describe_security_profile(securityProfileName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


@pytest.mark.parametrize(
    ("behaviors", "fragment"),
    [
        ([behavior(metric="aws:unknown")], "not a Device Defender metric"),
        ([behavior(metric="my-metric")], "custom metric my-metric does not exist"),
        (
            [behavior(comparisonOperator="in-cidr-set", value={"cidrs": ["10.0.0.0/8"]})],
            "comparisonOperator in-cidr-set is not valid for metric aws:num-messages-sent",
        ),
        (
            [
                behavior(
                    metric="aws:source-ip-address",
                    comparisonOperator="less-than",
                    value={"count": 1},
                )
            ],
            "not valid for metric aws:source-ip-address",
        ),
        (
            [behavior(comparisonOperator="less-than", value={"ports": [1]})],
            "needs a criteria value with count",
        ),
        ([behavior(value={"count": 1})], "must have a comparisonOperator"),
        ([behavior(), behavior()], "behavior names must be unique"),
        ([{"name": "b"}], "metric must be specified"),
        (
            [
                behavior(
                    metric="aws:source-ip-address",
                    comparisonOperator="in-cidr-set",
                    value={"cidrs": ["1.2.3.4/99"]},
                )
            ],
            "IP addresses or CIDR blocks",
        ),
        (
            [
                behavior(
                    metric="aws:listening-tcp-ports",
                    comparisonOperator="in-port-set",
                    statisticalThreshold={"statistic": "p90"},
                )
            ],
            "does not support a statisticalThreshold",
        ),
        (
            [
                behavior(
                    comparisonOperator="greater-than",
                    value={"count": 1},
                    statisticalThreshold={"statistic": "p90"},
                )
            ],
            "either a value or a statisticalThreshold",
        ),
        (
            [
                behavior(
                    mlDetectionConfig={"confidenceLevel": "HIGH"}, comparisonOperator="less-than"
                )
            ],
            "ML Detect behavior takes no comparisonOperator",
        ),
        (
            [
                behavior(
                    metric="aws:source-ip-address", mlDetectionConfig={"confidenceLevel": "LOW"}
                )
            ],
            "not supported by ML Detect",
        ),
        (
            [{**behavior(), "metricDimension": {"dimensionName": "missing"}}],
            "dimension missing does not exist",
        ),
        (
            [{**behavior(metric="aws:num-disconnects"), "metricDimension": {"dimensionName": "d"}}],
            "cannot be scoped by a dimension",
        ),
    ],
)
def test_validate_behaviors_errors(
    iot: Any, behaviors: list[dict[str, Any]], fragment: str
) -> None:
    iot.create_dimension(
        name="d", type="TOPIC_FILTER", stringValues=["a/#"], clientRequestToken="t"
    )
    result = iot.validate_security_profile_behaviors(behaviors=behaviors)
    assert result["valid"] is False
    assert any(fragment in e["errorMessage"] for e in result["validationErrors"]), result
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(securityProfileName="sp", behaviors=behaviors)
    code, _, message = error_of(exc)
    assert code == "InvalidRequestException" and fragment in message


def test_validate_valid_behaviors(iot: Any) -> None:
    iot.create_custom_metric(metricName="tags", metricType="string-list", clientRequestToken="t")
    iot.create_custom_metric(metricName="temp", metricType="number", clientRequestToken="t")
    iot.create_dimension(
        name="d", type="TOPIC_FILTER", stringValues=["a/#"], clientRequestToken="t"
    )
    behaviors = [
        behavior(),
        {**behavior("scoped"), "metricDimension": {"dimensionName": "d", "operator": "NOT_IN"}},
        behavior(
            "ports",
            "aws:listening-tcp-ports",
            comparisonOperator="in-port-set",
            value={"ports": [443]},
        ),
        behavior(
            "ips",
            "aws:destination-ip-addresses",
            comparisonOperator="not-in-cidr-set",
            value={"cidrs": ["10.0.0.0/8"]},
        ),
        behavior("tags", "tags", comparisonOperator="in-set", value={"strings": ["a"]}),
        behavior("temp", "temp", comparisonOperator="less-than", value={"number": 40.5}),
        behavior(
            "stat",
            "aws:all-bytes-out",
            comparisonOperator="less-than",
            statisticalThreshold={"statistic": "p99"},
            durationSeconds=300,
        ),
        behavior(
            "ml", "aws:num-connection-attempts", mlDetectionConfig={"confidenceLevel": "HIGH"}
        ),
        {"name": "retain-only", "metric": "aws:num-disconnects"},
    ]
    result = iot.validate_security_profile_behaviors(behaviors=behaviors)
    assert result["valid"] is True
    assert result["validationErrors"] == []
    iot.create_security_profile(securityProfileName="sp", behaviors=behaviors)
    assert len(iot.describe_security_profile(securityProfileName="sp")["behaviors"]) == 9


def test_update_versions_and_delete_flags(iot: Any) -> None:
    iot.create_security_profile(
        securityProfileName="sp",
        behaviors=[behavior()],
        additionalMetricsToRetainV2=[{"metric": "aws:num-disconnects"}],
        metricsExportConfig={"mqttTopic": "export", "roleArn": ROLE},
    )
    updated = iot.update_security_profile(
        securityProfileName="sp", securityProfileDescription="v2", expectedVersion=1
    )
    assert updated["version"] == 2
    assert updated["securityProfileDescription"] == "v2"
    assert updated["behaviors"] == [behavior()]
    with pytest.raises(ClientError) as exc:
        iot.update_security_profile(securityProfileName="sp", expectedVersion=1)
    code, status, _ = error_of(exc)
    assert (code, status) == ("VersionConflictException", 409)
    updated = iot.update_security_profile(
        securityProfileName="sp",
        deleteBehaviors=True,
        deleteAdditionalMetricsToRetain=True,
        deleteMetricsExportConfig=True,
    )
    assert updated["version"] == 3
    described = iot.describe_security_profile(securityProfileName="sp")
    assert described["behaviors"] == []
    assert "additionalMetricsToRetainV2" not in described
    assert "metricsExportConfig" not in described
    with pytest.raises(ClientError) as exc:
        iot.update_security_profile(
            securityProfileName="sp", behaviors=[behavior()], deleteBehaviors=True
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.update_security_profile(securityProfileName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete(iot: Any) -> None:
    arn = iot.create_security_profile(securityProfileName="sp", tags=[{"Key": "k", "Value": "v"}])[
        "securityProfileArn"
    ]
    with pytest.raises(ClientError) as exc:
        iot.delete_security_profile(securityProfileName="sp", expectedVersion=7)
    assert error_of(exc)[:2] == ("VersionConflictException", 409)
    iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=REGISTERED)
    iot.delete_security_profile(securityProfileName="sp", expectedVersion=1)
    iot.delete_security_profile(securityProfileName="sp")  # missing: succeeds
    assert iot.list_security_profiles()["securityProfileIdentifiers"] == []
    mappings = iot.list_security_profiles_for_target(securityProfileTargetArn=REGISTERED)
    assert mappings["securityProfileTargetMappings"] == []
    with pytest.raises(ClientError) as exc:
        iot.list_tags_for_resource(resourceArn=arn)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_and_filters(iot: Any) -> None:
    iot.create_custom_metric(metricName="temp", metricType="number", clientRequestToken="t")
    iot.create_dimension(
        name="d", type="TOPIC_FILTER", stringValues=["a/#"], clientRequestToken="t"
    )
    for index in range(4):
        iot.create_security_profile(securityProfileName=f"sp{index}")
    iot.create_security_profile(
        securityProfileName="uses-metric",
        behaviors=[behavior("t", "temp", comparisonOperator="less-than", value={"number": 1})],
    )
    iot.create_security_profile(
        securityProfileName="uses-dimension",
        behaviors=[{**behavior(), "metricDimension": {"dimensionName": "d"}}],
    )
    page = iot.list_security_profiles(maxResults=4)
    assert [p["name"] for p in page["securityProfileIdentifiers"]] == ["sp0", "sp1", "sp2", "sp3"]
    rest = iot.list_security_profiles(nextToken=page["nextToken"])
    assert [p["name"] for p in rest["securityProfileIdentifiers"]] == [
        "uses-dimension",
        "uses-metric",
    ]
    by_metric = iot.list_security_profiles(metricName="temp")["securityProfileIdentifiers"]
    assert by_metric == [
        {"name": "uses-metric", "arn": f"{ACCOUNT_ARN}:securityprofile/uses-metric"}
    ]
    by_dimension = iot.list_security_profiles(dimensionName="d")["securityProfileIdentifiers"]
    assert [p["name"] for p in by_dimension] == ["uses-dimension"]
    with pytest.raises(ClientError) as exc:
        iot.list_security_profiles(metricName="temp", dimensionName="d")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(ClientError) as exc:
        iot.list_security_profiles(metricName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    iot.update_security_profile(securityProfileName="uses-metric", deleteBehaviors=True)
    assert iot.list_security_profiles(metricName="temp")["securityProfileIdentifiers"] == []


def test_attach_detach_targets(iot: Any) -> None:
    iot.create_security_profile(securityProfileName="sp")
    group_arn = iot.create_thing_group(thingGroupName="fleet")["thingGroupArn"]
    for target in (group_arn, REGISTERED, UNREGISTERED):
        iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=target)
    iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=REGISTERED)
    targets = iot.list_targets_for_security_profile(securityProfileName="sp")
    assert sorted(t["arn"] for t in targets["securityProfileTargets"]) == sorted(
        [group_arn, REGISTERED, UNREGISTERED]
    )
    mappings = iot.list_security_profiles_for_target(securityProfileTargetArn=group_arn)
    assert mappings["securityProfileTargetMappings"] == [
        {
            "securityProfileIdentifier": {"name": "sp", "arn": f"{ACCOUNT_ARN}:securityprofile/sp"},
            "target": {"arn": group_arn},
        }
    ]
    iot.detach_security_profile(securityProfileName="sp", securityProfileTargetArn=group_arn)
    with pytest.raises(ClientError) as exc:
        iot.detach_security_profile(securityProfileName="sp", securityProfileTargetArn=group_arn)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert (
        len(
            iot.list_targets_for_security_profile(securityProfileName="sp")[
                "securityProfileTargets"
            ]
        )
        == 2
    )


def test_attach_errors_and_limit(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.attach_security_profile(
            securityProfileName="missing", securityProfileTargetArn=REGISTERED
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    iot.create_security_profile(securityProfileName="sp")
    with pytest.raises(ClientError) as exc:
        iot.attach_security_profile(
            securityProfileName="sp", securityProfileTargetArn=f"{ACCOUNT_ARN}:thinggroup/none"
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.attach_security_profile(
            securityProfileName="sp", securityProfileTargetArn=f"{ACCOUNT_ARN}:thing/t"
        )
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    for index in range(5):
        iot.create_security_profile(securityProfileName=f"p{index}")
        iot.attach_security_profile(
            securityProfileName=f"p{index}", securityProfileTargetArn=REGISTERED
        )
    with pytest.raises(ClientError) as exc:
        iot.attach_security_profile(securityProfileName="sp", securityProfileTargetArn=REGISTERED)
    code, status, _ = error_of(exc)
    assert (code, status) == ("LimitExceededException", 410)
    with pytest.raises(ClientError) as exc:
        iot.list_targets_for_security_profile(securityProfileName="missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_security_profiles_for_target_recursive_and_group_deletion(iot: Any) -> None:
    parent = iot.create_thing_group(thingGroupName="parent")["thingGroupArn"]
    child = iot.create_thing_group(thingGroupName="child", parentGroupName="parent")[
        "thingGroupArn"
    ]
    for name, target in (("a", parent), ("b", child), ("c", child)):
        iot.create_security_profile(securityProfileName=name)
        iot.attach_security_profile(securityProfileName=name, securityProfileTargetArn=target)
    flat = iot.list_security_profiles_for_target(securityProfileTargetArn=parent)
    assert [
        m["securityProfileIdentifier"]["name"] for m in flat["securityProfileTargetMappings"]
    ] == ["a"]
    first = iot.list_security_profiles_for_target(
        securityProfileTargetArn=parent, recursive=True, maxResults=2
    )
    rest = iot.list_security_profiles_for_target(
        securityProfileTargetArn=parent, recursive=True, nextToken=first["nextToken"]
    )
    mappings = first["securityProfileTargetMappings"] + rest["securityProfileTargetMappings"]
    assert [(m["securityProfileIdentifier"]["name"], m["target"]["arn"]) for m in mappings] == [
        ("a", parent),
        ("b", child),
        ("c", child),
    ]
    iot.delete_thing_group(thingGroupName="child")
    targets = iot.list_targets_for_security_profile(securityProfileName="b")
    assert targets["securityProfileTargets"] == []


def test_security_profiles_for_target_errors(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.list_security_profiles_for_target(
            securityProfileTargetArn=f"{ACCOUNT_ARN}:thinggroup/missing"
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_security_profiles_for_target(securityProfileTargetArn=f"{ACCOUNT_ARN}:thing/t")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    empty = iot.list_security_profiles_for_target(securityProfileTargetArn=UNREGISTERED)
    assert empty["securityProfileTargetMappings"] == []


def test_limits_and_retained_metric_errors(iot: Any) -> None:
    too_many = [behavior(f"b{index}") for index in range(101)]
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(securityProfileName="sp", behaviors=too_many)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "behaviors" in message
    iot.create_security_profile(securityProfileName="sp", behaviors=too_many[:100])
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(
            securityProfileName="retains",
            additionalMetricsToRetainV2=[{"metric": "aws:nothing"}],
        )
    assert error_of(exc)[2] == (
        "additionalMetricsToRetainV2: metric aws:nothing is not a Device Defender metric."
    )
    with pytest.raises(ClientError) as exc:
        iot.create_security_profile(
            securityProfileName="retains", additionalMetricsToRetain=["gone"]
        )
    assert error_of(exc)[2] == "additionalMetricsToRetain: custom metric gone does not exist."
