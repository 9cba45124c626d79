"""The pytest plugin, run in an isolated pytest session (pytester)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from iotmock.families import load_all

ROOT = Path(__file__).resolve().parent.parent

# pytester's in-process runs drop the modules they imported when they end: load the
# families here, once, or the handlers registered by a first run would keep classes of
# modules that a second run imports anew.
load_all()


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


def test_marker_sets_the_fixtures_options_and_activates_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client without a region takes the mock's only when the environment names none.
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    pytester.makepyfile(
        """
        import boto3
        import pytest
        from iotmock.core.intercept import active_mock

        @pytest.mark.iot_mock(region="eu-west-1", account_id="111122223333")
        def test_fixture_options(iot_mock):
            arn = boto3.client("iot").create_thing(thingName="t")["thingArn"]
            assert arn == "arn:aws:iot:eu-west-1:111122223333:thing/t"

        @pytest.mark.iot_mock
        def test_marker_alone_activates_the_mock():
            assert active_mock() is not None
            boto3.client("iot", region_name="us-east-1").create_thing(thingName="m")

        @pytest.mark.iot_mock(max_messages=1)
        def test_any_iotmock_option(iot_mock):
            assert iot_mock.max_messages == 1

        def test_unmarked_tests_get_no_mock():
            assert active_mock() is None

        @pytest.mark.parametrize(
            "mocked", [pytest.param(True, marks=pytest.mark.iot_mock), False]
        )
        def test_marker_on_one_parameter_only(mocked):
            assert (active_mock() is not None) is mocked
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=6)


@pytest.mark.parametrize("fixture", ["iot_mock", "iot_mqtt"])
def test_ini_options_set_the_fixtures_defaults(pytester: pytest.Pytester, fixture: str) -> None:
    pytester.makeini(
        """
        [pytest]
        iot_mock_region = ap-south-1
        iot_mock_account_id = 444455556666
        """
    )
    pytester.makepyfile(
        f"""
        import pytest

        def test_defaults({fixture}):
            mock = {fixture}
            assert (mock.region, mock.account_id) == ("ap-south-1", "444455556666")
            assert mock.mqtt.running is ({fixture!r} == "iot_mqtt")

        @pytest.mark.iot_mock(region="eu-west-1")
        def test_marker_wins({fixture}):
            mock = {fixture}
            assert (mock.region, mock.account_id) == ("eu-west-1", "444455556666")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)


def test_decorator_and_fixture_on_one_test_share_one_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        from iotmock import mock_iot
        from iotmock.core.intercept import active_mock
        from iotmock.registry.records import registry_of

        @mock_iot
        def test_shared(iot_mock):
            assert active_mock() is iot_mock
            boto3.client("iot", region_name="us-east-1").create_thing(thingName="x")
            assert list(registry_of(iot_mock.backend()).things) == ["x"]

        class TestInAClass:
            @mock_iot
            def test_method(self, iot_mock):
                assert active_mock() is iot_mock

        @mock_iot
        class TestDecoratedClass:
            def test_method(self, iot_mock):
                assert active_mock() is iot_mock
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=3)


SESSION_ENVIRONMENT_TEST = """
import os

import boto3

# Created at import time, on a machine with no AWS configuration.
IOT = boto3.client("iot")


def test_module_level_client(iot_mock):
    assert IOT.meta.region_name == "{region}"
    IOT.create_thing(thingName="early")
    assert IOT.describe_thing(thingName="early")["thingName"] == "early"
    assert os.environ["AWS_REGION"] == "{region}"
"""


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_session_environment_option_makes_module_level_clients_work(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's iotmock
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "no-credentials"))
    pytester.makepyfile(SESSION_ENVIRONMENT_TEST.format(region=region))
    # Without the option the module-level client cannot be created at all.
    without = pytester.runpytest_subprocess()
    assert without.ret != 0
    without.stdout.fnmatch_lines(["*NoRegionError*"])
    pytester.makeini(
        f"""
        [pytest]
        iot_mock_aws_environment = true
        iot_mock_region = {region}
        """
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_the_plugin_imports_nothing_heavy_until_used() -> None:
    probe = (
        "import sys, time\n"
        "import pytest  # loaded before any plugin in a pytest session\n"
        "started = time.process_time()\n"
        "import iotmock.plugin\n"
        "elapsed = time.process_time() - started\n"
        "prefixes = ('iotmock', 'botocore', 'boto3')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(prefixes))\n"
        "print(loaded, elapsed)\n"
    )
    # CPU time, the best of three: other processes share the machine (its wall-clock
    # figure is in benchmarks/bench_import.py and docs/performance.md).
    timings = []
    for _ in range(3):
        output = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        loaded, elapsed = output.rsplit(" ", 1)
        assert loaded == "['iotmock', 'iotmock.plugin']"
        timings.append(float(elapsed))
    assert min(timings) < 0.010, timings


def test_a_session_not_using_iotmock_loads_none_of_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's iotmock
    pytester.makepyfile(
        """
        import sys

        def test_plain():
            heavy = [m for m in sys.modules if m.startswith(("iotmock.", "botocore"))]
            assert heavy == ["iotmock.plugin"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:randomly")
    result.assert_outcomes(passed=1)


def test_a_decorated_test_shares_its_mock_with_fixtures_set_up_before_it(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import boto3
        import pytest
        from iotmock import mock_iot
        from iotmock.core.intercept import active_mock

        def names():
            things = boto3.client("iot", region_name="us-east-1").list_things()["things"]
            return [t["thingName"] for t in things]

        @pytest.fixture
        def thing(iot_mock):
            boto3.client("iot", region_name="us-east-1").create_thing(thingName="early")

        @mock_iot
        def test_through_another_fixture(thing):
            assert names() == ["early"]

        @mock_iot(account_id="111122223333")
        def test_with_the_fixture_too(thing, iot_mock):
            assert active_mock() is iot_mock and iot_mock.account_id == "111122223333"
            assert names() == ["early"]

        @mock_iot
        def test_the_next_test_starts_empty(iot_mock):
            assert names() == []
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=3)


def test_class_scope_on_a_plain_class_shares_one_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3
        from iotmock import mock_iot
        from iotmock.core.intercept import active_mock

        def names():
            things = boto3.client("iot", region_name="us-east-1").list_things()["things"]
            return sorted(t["thingName"] for t in things)

        @mock_iot(scope="class", account_id="111122223333")
        class TestShared:
            @classmethod
            def setup_class(cls):
                boto3.client("iot", region_name="us-east-1").create_thing(thingName="setup")

            @classmethod
            def teardown_class(cls):
                assert names() == ["first", "second", "setup"]  # still in the mock

            def test_first(self, iot_mock):
                assert iot_mock is type(self).iot_mock is active_mock()
                assert iot_mock.account_id == "111122223333"
                boto3.client("iot", region_name="us-east-1").create_thing(thingName="first")

            def test_second(self):
                assert names() == ["first", "setup"]
                boto3.client("iot", region_name="us-east-1").create_thing(thingName="second")

            @mock_iot
            def test_a_decorated_test_has_its_own(self, iot_mock):
                assert active_mock() is iot_mock is not type(self).iot_mock
                assert names() == []

        @mock_iot(scope="class")
        class TestWithoutSetup:
            def test_active(self):
                assert active_mock() is type(self).iot_mock
                assert names() == []

            def test_iot_mqtt_is_the_class_mock_with_its_endpoint(self, iot_mqtt):
                assert iot_mqtt is type(self).iot_mock
                assert iot_mqtt.mqtt.running and iot_mqtt.mqtt.port > 0
                boto3.client("iot", region_name="us-east-1").create_thing(thingName="m")

            def test_the_class_state_stays(self):
                assert names() == ["m"]

        def test_after_the_classes():
            assert active_mock() is None
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=7)


def test_iot_mqtt_is_the_mock_of_iot_mock_and_takes_the_decorators_options(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from iotmock import mock_iot

        @pytest.mark.iot_mock(account_id="111122223333")
        def test_both(iot_mqtt, iot_mock):
            assert iot_mock is iot_mqtt, "one mock for both fixtures"
            assert iot_mqtt.account_id == "111122223333" and iot_mqtt.mqtt.running

        @mock_iot(region="ap-south-1")
        def test_decorated(iot_mqtt):
            assert iot_mqtt.region == "ap-south-1" and iot_mqtt.mqtt.running
        """
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)


MOCK_REGION_TEST = """
import os

import boto3
import pytest
from iotmock import mock_iot


@pytest.mark.iot_mock(region="ap-south-1")
def test_marker_region(iot_mock):
    assert boto3.client("iot").meta.region_name == "ap-south-1"
    boto3.client("iot").create_thing(thingName="t")
    assert iot_mock.backend().region == "ap-south-1"


def test_mock_region():
    with mock_iot(region="ap-northeast-1"):
        assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "ap-northeast-1"
        with mock_iot(region="sa-east-1"):
            assert boto3.client("iot").meta.region_name == "sa-east-1"
        assert boto3.client("iot").meta.region_name == "ap-northeast-1"
    assert os.environ["AWS_REGION"] == os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_a_region_the_user_sets_wins(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    with mock_iot(region="ap-northeast-1"):
        assert boto3.client("iot").meta.region_name == "us-west-2"
"""


def test_with_the_session_environment_a_mocks_region_reaches_clients(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's iotmock
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "no-config"))
    pytester.makeini(
        """
        [pytest]
        iot_mock_aws_environment = true
        iot_mock_region = eu-west-1
        """
    )
    pytester.makepyfile(MOCK_REGION_TEST)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=3)
