"""Device Defender custom metrics and dimensions through boto3."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of


def metric(iot: Any, name: str = "temperature", metric_type: str = "number", **kw: Any) -> Any:
    return iot.create_custom_metric(
        metricName=name, metricType=metric_type, clientRequestToken=kw.pop("token", "t1"), **kw
    )


def dimension(iot: Any, name: str = "admin", values: list[str] | None = None, **kw: Any) -> Any:
    return iot.create_dimension(
        name=name,
        type="TOPIC_FILTER",
        stringValues=values or ["admin/#"],
        clientRequestToken=kw.pop("token", "t1"),
        **kw,
    )


def test_custom_metric_crud(iot: Any) -> None:
    created = metric(iot, displayName="Temperature")
    assert created == {
        "metricName": "temperature",
        "metricArn": "arn:aws:iot:us-east-1:123456789012:custommetric/temperature",
        "ResponseMetadata": created["ResponseMetadata"],
    }
    described = iot.describe_custom_metric(metricName="temperature")
    assert described["metricType"] == "number"
    assert described["displayName"] == "Temperature"
    updated = iot.update_custom_metric(metricName="temperature", displayName="Temp (C)")
    assert updated["displayName"] == "Temp (C)"
    assert updated["metricType"] == "number"
    assert updated["lastModifiedDate"] >= updated["creationDate"]
    iot.delete_custom_metric(metricName="temperature")
    iot.delete_custom_metric(metricName="temperature")  # missing: succeeds
    with pytest.raises(ClientError) as exc:
        iot.describe_custom_metric(metricName="temperature")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.update_custom_metric(metricName="temperature", displayName="x")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_custom_metric_token_idempotency(iot: Any) -> None:
    first = metric(iot)
    assert metric(iot)["metricArn"] == first["metricArn"]
    with pytest.raises(ClientError) as exc:
        metric(iot, token="t2")
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    with pytest.raises(ClientError) as exc:
        metric(iot, metric_type="string-list")
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)


def test_custom_metric_name_cannot_start_with_aws(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        metric(iot, name="aws:mine")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "aws:" in message


def test_custom_metric_list_and_tags(iot: Any) -> None:
    for index in range(27):
        metric(iot, name=f"m{index:02d}", tags=[{"Key": "team", "Value": "a"}])
    page = iot.list_custom_metrics()
    assert len(page["metricNames"]) == 25
    rest = iot.list_custom_metrics(nextToken=page["nextToken"])
    assert rest["metricNames"] == ["m25", "m26"]
    arn = iot.describe_custom_metric(metricName="m00")["metricArn"]
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "a"}]


def test_custom_metric_in_use_cannot_be_deleted(iot: Any) -> None:
    metric(iot)
    iot.create_security_profile(
        securityProfileName="sp",
        behaviors=[
            {
                "name": "hot",
                "metric": "temperature",
                "criteria": {"comparisonOperator": "less-than", "value": {"number": 50}},
            }
        ],
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_custom_metric(metricName="temperature")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "sp" in message
    iot.update_security_profile(securityProfileName="sp", deleteBehaviors=True)
    iot.delete_custom_metric(metricName="temperature")


def test_dimension_crud(iot: Any) -> None:
    created = dimension(iot, tags=[{"Key": "k", "Value": "v"}])
    assert created["arn"] == "arn:aws:iot:us-east-1:123456789012:dimension/admin"
    described = iot.describe_dimension(name="admin")
    assert described["type"] == "TOPIC_FILTER"
    assert described["stringValues"] == ["admin/#"]
    updated = iot.update_dimension(name="admin", stringValues=["admin/+/cmd", "ops/#"])
    assert updated["stringValues"] == ["admin/+/cmd", "ops/#"]
    assert iot.list_tags_for_resource(resourceArn=created["arn"])["tags"] == [
        {"Key": "k", "Value": "v"}
    ]
    iot.delete_dimension(name="admin")
    iot.delete_dimension(name="admin")
    with pytest.raises(ClientError) as exc:
        iot.describe_dimension(name="admin")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.update_dimension(name="admin", stringValues=["x"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_dimension_duplicates_and_bad_filters(iot: Any) -> None:
    dimension(iot)
    assert dimension(iot)["name"] == "admin"  # same token and definition: idempotent
    with pytest.raises(ClientError) as exc:
        dimension(iot, token="other")
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    for bad in (["a/#/b"], ["a+/b"], ["a/b#"]):
        with pytest.raises(ClientError) as exc:
            dimension(iot, name="bad", values=bad)
        code, _, message = error_of(exc)
        assert code == "InvalidRequestException" and "topic filter" in message


def test_dimension_in_use_and_list(iot: Any) -> None:
    for index in range(3):
        dimension(iot, name=f"d{index}")
    iot.create_security_profile(
        securityProfileName="sp",
        additionalMetricsToRetainV2=[
            {"metric": "aws:num-messages-sent", "metricDimension": {"dimensionName": "d1"}}
        ],
    )
    with pytest.raises(ClientError) as exc:
        iot.delete_dimension(name="d1")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    page = iot.list_dimensions(maxResults=2)
    assert page["dimensionNames"] == ["d0", "d1"]
    assert iot.list_dimensions(nextToken=page["nextToken"])["dimensionNames"] == ["d2"]
    iot.delete_security_profile(securityProfileName="sp")
    iot.delete_dimension(name="d1")
