"""Which mock answers a call: per thread, per asyncio task, worker threads, the fixture
and the decorator on one test, class scope (docs/usage.md, "Isolation")."""

from __future__ import annotations

import asyncio
import io
import os
import threading
import unittest
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from iotmock import IotMock, IotMockWarning, mock_iot
from iotmock.core.intercept import active_mock
from iotmock.registry.records import registry_of


def _client() -> Any:
    return boto3.client("iot", region_name="us-east-1")


def _thing_names() -> list[str]:
    return sorted(t["thingName"] for t in _client().list_things()["things"])


def test_mocks_started_in_two_threads_each_answer_their_own_thread() -> None:
    both_started = threading.Barrier(2, timeout=10)
    seen: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            with mock_iot():
                _client().create_thing(thingName=name)
                both_started.wait()  # both mocks active at once
                seen[name] = _thing_names()
                both_started.wait()  # neither stops before the other has read
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert seen == {"a": ["a"], "b": ["b"]}
    assert active_mock() is None


def test_worker_threads_without_a_mock_use_the_most_recent_mock() -> None:
    with mock_iot() as mock:
        # A pool of the code under test: its threads copy no context.
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: _client().create_thing(thingName=n), ["w1", "w2"]))
        assert _thing_names() == ["w1", "w2"]
        assert active_mock() is mock


def test_a_thread_that_started_a_mock_ignores_a_later_mock_of_another_thread() -> None:
    started = threading.Event()
    release = threading.Event()

    def later_mock() -> None:
        with mock_iot():
            _client().create_thing(thingName="other-thread")
            started.set()
            release.wait(10)

    with mock_iot():
        _client().create_thing(thingName="mine")
        thread = threading.Thread(target=later_mock)
        thread.start()
        started.wait(10)
        try:
            assert _thing_names() == ["mine"]
        finally:
            release.set()
            thread.join(10)


def test_mocks_started_in_two_tasks_each_answer_their_own_task() -> None:
    async def task(name: str, both: asyncio.Barrier) -> list[str]:
        async with mock_iot():
            _client().create_thing(thingName=name)
            await both.wait()
            names = _thing_names()
            await both.wait()
            return names

    async def main() -> tuple[list[str], list[str], IotMock | None]:
        both = asyncio.Barrier(2)
        first, second = await asyncio.gather(task("t1", both), task("t2", both))
        return first, second, active_mock()

    first, second, after = asyncio.run(main())
    assert (first, second) == (["t1"], ["t2"])
    assert after is None


def test_a_mock_started_in_a_task_does_not_leak_to_its_parent() -> None:
    async def child(started: asyncio.Event, release: asyncio.Event) -> None:
        async with mock_iot():
            _client().create_thing(thingName="child")
            started.set()
            await release.wait()

    async def main() -> list[str]:
        started, release = asyncio.Event(), asyncio.Event()
        with mock_iot():
            _client().create_thing(thingName="parent")
            running = asyncio.create_task(child(started, release))
            await started.wait()
            names = _thing_names()  # the child's mock is the most recent, not ours
            release.set()
            await running
            return names

    assert asyncio.run(main()) == ["parent"]


def test_a_task_sees_the_mock_of_the_code_that_created_it() -> None:
    async def child() -> list[str]:
        return _thing_names()

    async def main() -> list[str]:
        async with mock_iot():
            _client().create_thing(thingName="from-parent")
            return await asyncio.create_task(child())

    assert asyncio.run(main()) == ["from-parent"]


def test_a_mock_stopped_elsewhere_no_longer_answers_the_thread_that_started_it() -> None:
    outer = mock_iot().start()
    try:
        inner = mock_iot().start()
        _client().create_thing(thingName="inner")
        stopper = threading.Thread(target=inner.stop)  # stopped from another thread
        stopper.start()
        stopper.join(10)
        assert not inner.started
        assert _thing_names() == []  # the outer mock answers again
    finally:
        outer.stop()
    assert active_mock() is None


@mock_iot
def test_decorator_and_fixture_share_one_mock(iot_mock: IotMock) -> None:
    assert active_mock() is iot_mock
    _client().create_thing(thingName="shared")
    assert list(registry_of(iot_mock.backend()).things) == ["shared"]


@mock_iot(region="eu-west-1")
def test_the_decorators_options_win_over_the_fixtures(iot_mock: IotMock) -> None:
    assert iot_mock.region == "eu-west-1"
    assert active_mock() is iot_mock


@mock_iot(scope="class")
class ClassScoped(unittest.TestCase):
    """scope="class": setUpClass's state is seen by every test of the class."""

    iot_mock: IotMock

    @classmethod
    def setUpClass(cls) -> None:
        _client().create_thing(thingName="from-setup-class")

    def test_sees_setup_class_state(self) -> None:
        assert "from-setup-class" in _thing_names()
        assert active_mock() is self.iot_mock

    def test_tests_share_the_mock(self) -> None:
        _client().create_thing(thingName=f"from-{self._testMethodName}")
        assert "from-setup-class" in _thing_names()


def test_class_scope_runs_every_test_in_the_class_mock() -> None:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(ClassScoped)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    assert result.wasSuccessful(), result.errors + result.failures
    assert result.testsRun == 2
    assert active_mock() is None


def test_class_scope_on_a_function_still_starts_fresh_at_each_call() -> None:
    # scope only changes classes; a function gets a fresh mock per call.
    calls: list[IotMock | None] = []

    @mock_iot(scope="class")
    def body() -> None:
        calls.append(active_mock())
        _client().create_thing(thingName="x")
        assert _thing_names() == ["x"]

    body()
    body()
    assert calls[0] is not calls[1]


# --------------------------------------------------------------------------- decorated calls
# Each call of a decorated function runs in a fresh mock of its own, however many run at
# once (docs/usage.md, "Starting the mock").


def test_two_threads_calling_one_decorated_function_each_get_their_own_mock() -> None:
    barrier = threading.Barrier(2)
    seen: dict[str, list[str]] = {}

    @mock_iot
    def work(name: str) -> None:
        barrier.wait()  # both calls are active at once
        _client().create_thing(thingName=name)
        barrier.wait()
        seen[name] = _thing_names()
        barrier.wait()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": ["a"], "b": ["b"]}
    assert active_mock() is None


def test_tasks_gathering_one_decorated_coroutine_each_get_their_own_mock() -> None:
    @mock_iot
    async def work(name: str, mine: asyncio.Event, other: asyncio.Event) -> list[str]:
        _client().create_thing(thingName=name)
        mine.set()
        await other.wait()  # both calls are active at once
        return _thing_names()

    async def main() -> list[list[str]]:
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(work("a", a, b), work("b", b, a))

    assert asyncio.run(main()) == [["a"], ["b"]]
    assert active_mock() is None


def test_two_generators_of_one_decorated_function_each_get_their_own_mock() -> None:
    @mock_iot
    def steps(name: str) -> Iterator[list[str]]:
        _client().create_thing(thingName=name)
        yield _thing_names()
        yield _thing_names()

    first = steps("a")
    assert next(first) == ["a"]
    second = steps("b")  # started while the first one's mock is active
    assert next(second) == ["b"]
    second.close()
    assert next(first) == ["a"]
    first.close()
    assert active_mock() is None


def test_a_decorated_call_runs_in_its_mock_when_that_mock_is_active() -> None:
    mock = mock_iot()

    @mock
    def body() -> None:
        assert active_mock() is mock
        _client().create_thing(thingName="inside")

    with mock:
        body()
        assert _thing_names() == ["inside"]


@pytest.mark.parametrize("region", ["eu-central-1"])
def test_environment_region_variables_are_exported(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    with mock_iot(region=region):
        assert os.environ["AWS_DEFAULT_REGION"] == region
        assert os.environ["AWS_REGION"] == region
        assert boto3.client("iot").meta.region_name == region
    assert "AWS_REGION" not in os.environ
    assert "AWS_DEFAULT_REGION" not in os.environ


@pytest.mark.parametrize("stop_order", ["first_started_first", "last_started_first"])
def test_mocks_in_two_threads_share_the_process_environment(
    stop_order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment is the process's: while either mock is active, region-less clients
    # and subprocesses see fake credentials and the most recent active mock's region;
    # after both, exactly what was there before.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    first, second = mock_iot(region="eu-west-1"), mock_iot(region="ap-south-1")
    seen: dict[str, dict[str, str | None]] = {}
    names = ("AWS_ACCESS_KEY_ID", "AWS_REGION", "AWS_DEFAULT_REGION")

    def look(label: str) -> None:
        seen[label] = {name: os.environ.get(name) for name in names}

    def in_thread(action: Any) -> None:
        worker = threading.Thread(target=action)
        worker.start()
        worker.join()

    in_thread(first.start)
    in_thread(second.start)
    look("both")
    ends = [first, second] if stop_order == "first_started_first" else [second, first]
    in_thread(ends[0].stop)
    look("one left")
    in_thread(ends[1].stop)
    look("none")
    assert seen["both"] == {
        "AWS_ACCESS_KEY_ID": "iotmock-testing",
        "AWS_REGION": "ap-south-1",
        "AWS_DEFAULT_REGION": "ap-south-1",
    }
    left = "eu-west-1" if stop_order == "last_started_first" else "ap-south-1"
    assert seen["one left"] == {
        "AWS_ACCESS_KEY_ID": "iotmock-testing",
        "AWS_REGION": left,
        "AWS_DEFAULT_REGION": left,
    }
    assert seen["none"] == dict.fromkeys(names)


def test_a_region_the_user_sets_while_mocks_are_active_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # monkeypatch puts back what was there before the test; the value the test sets while
    # a mock is active is removed by the test itself (monkeypatch would restore the mock's).
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    try:
        with mock_iot(region="eu-west-1"):
            os.environ["AWS_REGION"] = "sa-east-1"  # the user's own, set meanwhile
            with mock_iot(region="ap-south-1"):
                assert os.environ["AWS_REGION"] == "sa-east-1"
            assert os.environ["AWS_REGION"] == "sa-east-1"
        assert os.environ["AWS_REGION"] == "sa-east-1"
        assert "AWS_DEFAULT_REGION" not in os.environ
    finally:
        os.environ.pop("AWS_REGION", None)


def test_decorated_functions_calling_each_other_share_the_callers_mock() -> None:
    # A helper decorated by the same mock object, called inside a decorated call, runs
    # in that call's mock (as re-entering an active mock keeps its state).
    iot = mock_iot()

    @iot
    def make_fleet() -> None:
        boto3.client("iot", region_name="us-east-1").create_thing(thingName="from-helper")

    @iot
    def test() -> list[str]:
        make_fleet()
        return _thing_names()

    @iot
    async def test_async() -> list[str]:
        make_fleet()
        return _thing_names()

    assert test() == ["from-helper"]
    assert asyncio.run(test_async()) == ["from-helper"]

    async def gathered() -> list[list[str]]:
        return list(await asyncio.gather(test_async(), test_async()))

    assert asyncio.run(gathered()) == [["from-helper"], ["from-helper"]]


def test_reading_a_mock_object_that_only_decorates_warns() -> None:
    iot = mock_iot()

    @iot
    def test() -> None:
        boto3.client("iot-data", region_name="us-east-1").publish(topic="t", payload=b"x")

    test()
    with pytest.warns(IotMockWarning, match="only decorates"):
        assert iot.messages() == []
    with pytest.warns(IotMockWarning, match="only decorates"):
        assert iot.shadow("lamp") is None
    with pytest.warns(IotMockWarning, match="only decorates"):
        iot.backend()  # a reader that creates an (idle) backend: later reads still warn
    with pytest.warns(IotMockWarning, match="only decorates"):
        assert iot.messages() == []
    with iot:  # started by hand: its own state, nothing to warn about
        boto3.client("iot-data", region_name="us-east-1").publish(topic="t", payload=b"y")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert [m.payload for m in iot.messages()] == [b"y"]
