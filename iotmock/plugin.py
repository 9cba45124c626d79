"""The pytest plugin (entry point `pytest11`): the `iot_mock` fixture and marker.

Loaded in every pytest session of an environment where iotmock is installed, so it
imports nothing of iotmock until a test asks for the fixture or carries the marker.

- `iot_mock`: an active mock with fresh state for the test. Its options come from the
  closest `@pytest.mark.iot_mock(**options)` marker (any `IotMock` keyword), then the ini
  options `iot_mock_region` / `iot_mock_account_id`. On a test decorated with
  `@mock_iot(...)`, the fixture starts a mock with the decorator's options and the test's
  call runs in it: one mock per test. In a `@mock_iot(scope="class")` class it yields
  the class's mock.
- `iot_mqtt`: the same with the MQTT endpoint started (`mqtt=True`); a test asking for
  both gets one mock.
- `@pytest.mark.iot_mock(...)` alone activates the fixture for the test (added to its
  fixtures at collection).
- `iot_mock_aws_environment = true` (ini) gives the whole session fake credentials and a
  region before conftest and test modules are imported, so module-level
  `boto3.client("iot")` works on a machine with no AWS configuration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from iotmock._mock import IotMock
    from iotmock.environment import Patch

MARKER = "iot_mock"
_SAVED_ENVIRONMENT: pytest.StashKey[Patch] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("iot_mock_region", "iotmock: default region of the iot_mock fixture")
    parser.addini("iot_mock_account_id", "iotmock: default account of the iot_mock fixture")
    parser.addini(
        "iot_mock_aws_environment",
        "iotmock: set fake AWS credentials and a region for the whole session, before "
        "test modules are imported",
        type="bool",
        default=False,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    _patch_session_environment(early_config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): run the test in an active iotmock mock (the iot_mock "
        "fixture); options are IotMock's (region=, account_id=, server=True, mqtt=True, "
        "state=..., deliver_to_moto=False, ...)",
    )
    _patch_session_environment(config)  # for sessions that skip initial conftests


def pytest_unconfigure(config: pytest.Config) -> None:
    saved = config.stash.get(_SAVED_ENVIRONMENT, None)
    if saved is not None:
        from iotmock import environment

        environment.restore(saved)
        del config.stash[_SAVED_ENVIRONMENT]


def _patch_session_environment(config: pytest.Config) -> None:
    if _SAVED_ENVIRONMENT in config.stash or not config.getini("iot_mock_aws_environment"):
        return
    from iotmock import environment  # light: os only

    region = config.getini("iot_mock_region") or "us-east-1"
    config.stash[_SAVED_ENVIRONMENT] = environment.patch(str(region))


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, key in (("iot_mock_region", "region"), ("iot_mock_account_id", "account_id")):
        value = request.config.getini(name)
        if value:
            options[key] = str(value)
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword options only")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def iot_mock(request: pytest.FixtureRequest) -> Iterator[IotMock]:
    """An active IoT mock with fresh state for this test: with the test's
    `@mock_iot(...)` options on a decorated test (the test's call then runs in this very
    mock), the class's mock in a `@mock_iot(scope="class")` class, `iot_mqtt`'s mock when
    the test also asks for that one."""
    if "iot_mqtt" in request.fixturenames:
        yield request.getfixturevalue("iot_mqtt")
        return
    with _mock_for(request, mqtt=False) as mock:
        yield mock


@pytest.fixture
def iot_mqtt(request: pytest.FixtureRequest) -> Iterator[IotMock]:
    """An active IoT mock with fresh state and its MQTT endpoint started for this test
    (`iot_mqtt.mqtt.port`, `iot_mqtt.mqtt.ca_file`; see docs/devices.md); options as
    for `iot_mock` (marker, ini options, the `@mock_iot(...)` decorator)."""
    with _mock_for(request, mqtt=True) as mock:
        yield mock


@contextlib.contextmanager
def _mock_for(request: pytest.FixtureRequest, *, mqtt: bool) -> Iterator[IotMock]:
    from iotmock._mock import DECORATOR_ATTRIBUTE, IotMock

    # A decorated test: a mock with the decorator's options, which the test's call uses.
    decorator = getattr(getattr(request, "function", None), DECORATOR_ATTRIBUTE, None)
    if isinstance(decorator, IotMock):
        with decorator._shared_with_calls(mqtt=mqtt) as mock:
            yield mock
        return
    # @mock_iot(scope="class") on a plain class: its mock, started in setup_class (and
    # for `iot_mqtt` its MQTT endpoint, started now if the class's options did not, and
    # running until the class's mock stops).
    class_mock = getattr(getattr(request, "cls", None), "iot_mock", None)
    if isinstance(class_mock, IotMock) and class_mock.started:
        with class_mock:
            if mqtt and not class_mock.mqtt.running:
                class_mock.mqtt.enabled = True
                class_mock.mqtt.start()
            yield class_mock
        return
    options = _options(request)
    if mqtt:
        options["mqtt"] = True
    with IotMock(**options) as mock:
        yield mock


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests carrying the marker get the fixture, set up before their other
    function-scoped fixtures. A hook rather than an autouse fixture: a fixture would
    cost every test of every session, this costs one marker lookup per test, once."""
    for item in items:
        if not isinstance(item, pytest.Function) or item.get_closest_marker(MARKER) is None:
            continue
        if "iot_mock" not in item.fixturenames and "iot_mqtt" not in item.fixturenames:
            # A new list: parametrized tests share the one pytest built.
            item.fixturenames = ["iot_mock", *item.fixturenames]
