"""The pytest plugin, run in an isolated pytest session (pytester)."""

from __future__ import annotations

import pytest


def test_iot_mock_fixture_gives_fresh_state_per_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        from iotmock import IotMock
        from iotmock.registry.records import registry_of

        def test_first(iot_mock):
            assert isinstance(iot_mock, IotMock)
            boto3.client("iot", region_name="us-east-1").create_thing(thingName="one")
            assert "one" in registry_of(iot_mock.backend()).things

        def test_second_sees_nothing_of_the_first(iot_mock):
            things = boto3.client("iot", region_name="us-east-1").list_things()["things"]
            assert things == []
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("iotmock") == "iotmock.plugin"


def test_fixture_is_available_without_any_import(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_uses_fixture(iot_mock):
            assert iot_mock.started
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
