"""The pytest plugin (entry point `pytest11`): the `iot_mock` and `iot_mqtt` fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iotmock._mock import IotMock


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "iot_mock(account_id=..., region=..., server=False, mqtt=False): options of the "
        "iot_mock fixture; server=True also serves the mock over HTTP (iot_mock.server.url), "
        "mqtt=True starts its MQTT endpoint (iot_mock.mqtt.port)",
    )


@pytest.fixture
def iot_mock(request: pytest.FixtureRequest) -> Iterator[IotMock]:
    """An active IoT mock with fresh state for this test; options from the `iot_mock`
    marker (`@pytest.mark.iot_mock(server=True)`)."""
    marker = request.node.get_closest_marker("iot_mock")
    options = dict(marker.kwargs) if marker is not None else {}
    with IotMock(**options) as mock:
        yield mock


@pytest.fixture
def iot_mqtt() -> Iterator[IotMock]:
    """An active IoT mock with fresh state and its MQTT endpoint started for this test
    (`iot_mqtt.mqtt.port`, `iot_mqtt.mqtt.ca_file`; see docs/devices.md)."""
    with IotMock(mqtt=True) as mock:
        yield mock
