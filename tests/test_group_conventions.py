"""Conventions the family groups share, so a test writer guesses one group from another."""

from __future__ import annotations

import inspect

from iotmock import IotMock

GROUPS = ("registration", "defender", "audit")


def test_every_hold_switch_is_named_hold() -> None:
    mock = IotMock()
    holds = {
        f"m.{group}.{name}": inspect.signature(method)
        for group in GROUPS
        for name, method in inspect.getmembers(getattr(mock, group), inspect.ismethod)
        if name.startswith("hold")
    }
    assert sorted(holds) == [
        "m.audit.hold_tasks",
        "m.defender.hold_mitigation_tasks",
        "m.registration.hold",
    ]
    for name, signature in holds.items():
        first = next(iter(signature.parameters.values()))
        assert (first.name, first.default) == ("hold", True), name


def test_hold_switches_take_the_keyword(iot_mock: IotMock) -> None:
    iot_mock.audit.hold_tasks(hold=True)
    iot_mock.defender.hold_mitigation_tasks(hold=True)
    iot_mock.registration.hold(hold=True)
    iot_mock.audit.hold_tasks(hold=False)
