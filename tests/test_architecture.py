"""The shape of the package: a core that knows no family, families that register their
handlers, and a mock object whose test-facing API is grouped by family."""

from __future__ import annotations

import ast
import inspect
import pathlib

import pytest

import iotmock
from iotmock import IotMock
from iotmock.core.mock_api import FamilyApi, LazyGroup
from iotmock.core.operations import HANDLERS
from iotmock.devices.mqtt.group import MqttGroup
from iotmock.families import FAMILIES, load_all
from iotmock.server.group import ServerGroup

PACKAGE = pathlib.Path(iotmock.__file__).parent

LIFECYCLE = {
    "start",
    "stop",
    "started",
    "backend",
    "backends",
    "reset",
    "as_account",
    "messages",
    "clear_messages",
    "shadow",
    "snapshot",
    "restore",
    "mqtt",  # a property: the MQTT endpoint's part is created on first use (cross-cutting)
}
GROUPS = {
    "rules",
    "authorizers",
    "certificates",
    "registration",
    "defender",
    "audit",
    "commands",
    "devices",
    "shadows",
    "jobs",
    "faults",
    "calls",
}


def _imported_modules(path: pathlib.Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").glob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_family(path: pathlib.Path) -> None:
    families = {f"iotmock.{family}" for family in FAMILIES}
    reached = {
        module
        for module in _imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in families)
    }
    assert reached == set(), f"{path.name} imports family modules {sorted(reached)}"


def test_every_handler_lives_in_a_family_package_or_core() -> None:
    load_all()
    assert len(HANDLERS) > 280
    allowed = tuple(f"iotmock.{family}." for family in (*FAMILIES, "core"))
    misplaced = {
        key: handler.__module__
        for key, handler in HANDLERS.items()
        if not handler.__module__.startswith(allowed)
    }
    assert misplaced == {}


def test_the_mock_keeps_only_lifecycle_and_cross_cutting_members() -> None:
    public = {name for name in vars(IotMock) if not name.startswith("_")}
    assert public == LIFECYCLE | GROUPS


# Cross-cutting parts serve every family, so they are instance attributes the mock starts
# and stops with itself (not family groups): `m.server` (HTTP), `m.mqtt` (MQTT endpoint).
CROSS_CUTTING = {"server": ServerGroup, "mqtt": MqttGroup}


@pytest.mark.parametrize("name", sorted(CROSS_CUTTING))
def test_cross_cutting_parts_start_and_stop_with_the_mock(name: str) -> None:
    idle = getattr(IotMock(), name)
    assert isinstance(idle, CROSS_CUTTING[name])
    with IotMock() as mock:
        assert not getattr(mock, name).running, "off unless asked for"
    enabled = IotMock(**{name: True})
    with enabled:
        assert getattr(enabled, name).running
    assert not getattr(enabled, name).running


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_group_is_a_typed_documented_family_api(group: str) -> None:
    descriptor = vars(IotMock)[group]
    assert isinstance(descriptor, LazyGroup)
    mock = IotMock()
    api = getattr(mock, group)
    assert isinstance(api, FamilyApi)
    assert getattr(mock, group) is api, "a group is created once per mock"
    assert type(api).__module__.startswith("iotmock."), type(api).__module__
    methods = [
        member
        for name, member in inspect.getmembers(type(api), inspect.isfunction)
        if not name.startswith("_")
    ]
    assert methods, f"m.{group} offers nothing"
    for method in methods:
        assert inspect.getdoc(method), f"m.{group}.{method.__name__} has no docstring"
        signature = inspect.signature(method)
        assert signature.return_annotation is not inspect.Signature.empty
        for parameter in list(signature.parameters.values())[1:]:
            assert parameter.annotation is not inspect.Parameter.empty, (
                f"m.{group}.{method.__name__}({parameter.name}) is untyped"
            )


def test_groups_of_two_mocks_are_separate() -> None:
    first, second = IotMock(), IotMock()
    assert first.rules is not second.rules
