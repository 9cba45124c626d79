"""The pytest plugin (entry point `pytest11`): the `iot_mock` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._mock import IotMock


@pytest.fixture
def iot_mock() -> Iterator[IotMock]:
    """An active IoT mock with fresh state for this test."""
    with IotMock() as mock:
        yield mock


@pytest.fixture
def iot_mqtt() -> Iterator[IotMock]:
    """An active IoT mock with fresh state and its MQTT endpoint started for this test
    (`iot_mqtt.mqtt.port`, `iot_mqtt.mqtt.ca_file`; see docs/devices.md)."""
    with IotMock(mqtt=True) as mock:
        yield mock
