"""The pytest plugin (entry point `pytest11`): the `iot_mock` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iotmock._mock import IotMock


@pytest.fixture
def iot_mock() -> Iterator[IotMock]:
    """An active IoT mock with fresh state for this test."""
    with IotMock() as mock:
        yield mock
