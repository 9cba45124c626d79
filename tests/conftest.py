"""Shared fixtures: boto3 clients of the three services inside a fresh mock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from iotmock import IotMock

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def iot(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot", region_name=REGION)


@pytest.fixture
def iot_data(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot-data", region_name=REGION)


@pytest.fixture
def jobs_data(iot_mock: IotMock) -> Iterator[Any]:
    yield boto3.client("iot-jobs-data", region_name=REGION)
