"""The public API: every way to start the mock, state isolation, nesting, threads."""

from __future__ import annotations

import asyncio
import threading
import unittest
from typing import Any

import boto3
import botocore.endpoint
import pytest

from iotmock import IotMock, IotMockWarning, mock_iot
from iotmock.core.backend import Backend
from iotmock.core.intercept import active_mock
from iotmock.registry.records import registry_of


def _client() -> Any:
    return boto3.client("iot", region_name="us-east-1")


def _thing_names() -> list[str]:
    return [t["thingName"] for t in _client().list_things()["things"]]


@mock_iot
def test_bare_decorator() -> None:
    _client().create_thing(thingName="bare")
    assert _thing_names() == ["bare"]


@mock_iot()
def test_called_decorator() -> None:
    _client().create_thing(thingName="called")
    assert _thing_names() == ["called"]


@mock_iot(account_id="111122223333", region="eu-west-1")
def test_decorator_options_set_account_and_region() -> None:
    created = boto3.client("iot", region_name="eu-west-1").create_thing(thingName="t")
    assert created["thingArn"] == "arn:aws:iot:eu-west-1:111122223333:thing/t"


def test_context_manager_yields_the_mock_with_state_access() -> None:
    with mock_iot() as mock:
        assert isinstance(mock, IotMock)
        _client().create_thing(thingName="ctx", attributePayload={"attributes": {"a": "1"}})
        backend = mock.backend()
        assert isinstance(backend, Backend)
        assert registry_of(backend).things["ctx"].attributes == {"a": "1"}
        assert mock.backend("123456789012", "us-east-1") is backend


def test_state_is_per_account_and_region() -> None:
    with mock_iot() as mock:
        boto3.client("iot", region_name="eu-west-1").create_thing(thingName="eu")
        assert "eu" in registry_of(mock.backend(region="eu-west-1")).things
        with pytest.warns(IotMockWarning, match="region eu-west-1"):
            assert "eu" not in registry_of(mock.backend()).things
        with mock.as_account("444455556666"):
            _client().create_thing(thingName="other")
        assert "other" in registry_of(mock.backend("444455556666")).things
        assert _thing_names() == []


def test_reset_forgets_everything() -> None:
    with mock_iot() as mock:
        _client().create_thing(thingName="gone")
        mock.reset()
        assert _thing_names() == []


def test_async_context_manager_and_async_function() -> None:
    async def body() -> list[str]:
        async with mock_iot():
            _client().create_thing(thingName="async")
            return _thing_names()

    assert asyncio.run(body()) == ["async"]

    @mock_iot
    async def decorated() -> list[str]:
        _client().create_thing(thingName="adec")
        return _thing_names()

    assert asyncio.run(decorated()) == ["adec"]


def test_start_and_stop() -> None:
    original = botocore.endpoint.Endpoint.make_request
    mock = mock_iot()
    mock.start()
    try:
        assert mock.started
        _client().create_thing(thingName="started")
        assert _thing_names() == ["started"]
    finally:
        mock.stop()
    assert not mock.started
    assert botocore.endpoint.Endpoint.make_request is original
    with pytest.raises(RuntimeError, match="not started"):
        mock.stop()


def test_separate_with_blocks_share_nothing() -> None:
    mock = mock_iot()
    with mock:
        _client().create_thing(thingName="first")
    with mock:
        assert _thing_names() == []
    with mock_iot():
        assert _thing_names() == []


def test_nesting_serves_the_innermost_mock_and_restores_the_outer() -> None:
    original = botocore.endpoint.Endpoint.make_request
    with mock_iot() as outer:
        _client().create_thing(thingName="outer")
        with mock_iot() as inner:
            assert _thing_names() == []
            _client().create_thing(thingName="inner")
            with inner:  # re-entering the same mock keeps its state
                assert _thing_names() == ["inner"]
        assert _thing_names() == ["outer"]
        assert "inner" not in registry_of(outer.backend()).things
    assert botocore.endpoint.Endpoint.make_request is original


def test_many_threads_share_one_mock_safely() -> None:
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            client = _client()
            for n in range(25):
                client.create_thing(thingName=f"w{index}-{n}")
                client.update_thing(
                    thingName=f"w{index}-{n}", attributePayload={"attributes": {"n": str(n)}}
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with mock_iot() as mock:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        things = registry_of(mock.backend()).things
        assert len(things) == 200
        assert all(t.version == 2 for t in things.values())
        paginator = _client().get_paginator("list_things")
        listed = [t for page in paginator.paginate() for t in page["things"]]
        assert len(listed) == 200


@mock_iot
class DecoratedTestCase(unittest.TestCase):
    def setUp(self) -> None:
        # setUp runs inside the mock.
        _client().create_thing(thingName="from-setup")

    def test_one(self) -> None:
        _client().create_thing(thingName="one")
        assert _thing_names() == ["from-setup", "one"]

    def test_two_gets_fresh_state(self) -> None:
        assert _thing_names() == ["from-setup"]
        assert isinstance(self.iot_mock, IotMock)  # type: ignore[attr-defined]


@mock_iot
class DecoratedTestCaseWithClassSetup(unittest.TestCase):
    answered: list[str]

    @classmethod
    def setUpClass(cls) -> None:
        # Mocked too (never sent to AWS); the tests still start from empty state.
        _client().create_thing(thingName="from-class-setup")
        cls.answered = _thing_names()

    @classmethod
    def tearDownClass(cls) -> None:
        assert _thing_names() == ["from-class-setup"]

    def test_class_setup_was_mocked(self) -> None:
        assert self.answered == ["from-class-setup"]
        assert _thing_names() == []


@mock_iot
class TestPlainClassDecorated:
    """`@mock_iot` on a plain pytest class decorates each test method (fresh state)."""

    def helper(self) -> list[str]:
        return _thing_names()

    def test_first(self) -> None:
        assert active_mock() is not None
        _client().create_thing(thingName="first")
        assert self.helper() == ["first"]

    def test_second_starts_empty(self) -> None:
        assert self.helper() == []


def test_plain_class_helpers_are_not_decorated() -> None:
    assert active_mock() is None
    assert not hasattr(TestPlainClassDecorated.helper, "_iotmock_mock")


@pytest.fixture
@mock_iot
def seeded_things() -> Any:
    _client().create_thing(thingName="from-fixture")
    yield _client()
    # Teardown runs inside the same mock: the test's changes are visible here.
    assert sorted(_thing_names()) == ["from-fixture", "from-test"]


def test_decorated_yield_fixture_keeps_the_mock_active(seeded_things: Any) -> None:
    seeded_things.create_thing(thingName="from-test")
    assert sorted(_thing_names()) == ["from-fixture", "from-test"]


def test_decorated_generator_is_mocked_while_iterated() -> None:
    @mock_iot
    def counts() -> Any:
        _client().create_thing(thingName="g")
        sent = yield len(_thing_names())
        yield sent, len(_thing_names())

    steps = counts()
    assert next(steps) == 1
    assert steps.send("hello") == ("hello", 1)
    steps.close()
    assert active_mock() is None


def test_decorated_async_generator_is_mocked_while_iterated() -> None:
    @mock_iot
    async def names() -> Any:
        _client().create_thing(thingName="ag")
        yield _thing_names()

    async def body() -> list[list[str]]:
        return [item async for item in names()]

    assert asyncio.run(body()) == [["ag"]]
