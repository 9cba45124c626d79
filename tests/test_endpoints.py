"""DescribeEndpoint: stable, account-specific addresses for every endpoint type."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from iotmock import mock_iot


@pytest.mark.parametrize(
    ("endpoint_type", "shape"),
    [
        (None, r"[a-z0-9]{14}\.iot\.us-east-1\.amazonaws\.com"),
        ("iot:Data", r"[a-z0-9]{14}\.iot\.us-east-1\.amazonaws\.com"),
        ("iot:Data-ATS", r"[a-z0-9]{14}-ats\.iot\.us-east-1\.amazonaws\.com"),
        ("iot:Data-Beta", r"[a-z0-9]{14}\.beta\.iot\.us-east-1\.amazonaws\.com"),
        ("iot:CredentialProvider", r"[a-z0-9]{14}\.credentials\.iot\.us-east-1\.amazonaws\.com"),
        ("iot:Jobs", r"[a-z0-9]{14}\.jobs\.iot\.us-east-1\.amazonaws\.com"),
    ],
)
def test_every_endpoint_type_has_its_documented_form(
    iot: Any, endpoint_type: str | None, shape: str
) -> None:
    kwargs = {"endpointType": endpoint_type} if endpoint_type else {}
    address = iot.describe_endpoint(**kwargs)["endpointAddress"]
    assert re.fullmatch(shape, address), address
    assert iot.describe_endpoint(**kwargs)["endpointAddress"] == address  # stable


def test_data_and_ats_share_a_prefix_the_credentials_endpoint_does_not(iot: Any) -> None:
    def prefix(kind: str) -> str:
        return str(iot.describe_endpoint(endpointType=kind)["endpointAddress"])[:14]

    assert prefix("iot:Data") == prefix("iot:Data-ATS")
    assert prefix("iot:CredentialProvider") != prefix("iot:Data")


def test_prefix_is_account_and_region_specific() -> None:
    with mock_iot() as mock:
        iot = boto3.client("iot", region_name="us-east-1")
        first = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        with mock.as_account("111122223333"):
            other = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        europe = boto3.client("iot", region_name="eu-west-1").describe_endpoint(
            endpointType="iot:Data-ATS"
        )["endpointAddress"]
    assert first != other
    assert europe.endswith(".iot.eu-west-1.amazonaws.com")
    assert europe[:14] != first[:14]


def test_unknown_endpoint_type_is_refused(iot: Any) -> None:
    with pytest.raises(iot.exceptions.InvalidRequestException) as caught:
        iot.describe_endpoint(endpointType="iot:Nope")
    assert "iot:Nope" in caught.value.response["Error"]["Message"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
