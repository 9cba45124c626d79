"""Fault injection through aiobotocore and aioboto3 clients: injected errors reach the
client's own async retry handler (`needs-retry`, awaited), whose backoff sleeps with the
endpoint's non-blocking sleep, exactly as for boto3 clients (tests/test_faults.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.retryhandler
import pytest

from iotmock import IotMock
from iotmock.registry.records import registry_of

aiobotocore_session = pytest.importorskip("aiobotocore.session")
AioConfig = pytest.importorskip("aiobotocore.config").AioConfig
AioEndpoint = pytest.importorskip("aiobotocore.endpoint").AioEndpoint

REGION = "us-east-1"
# Three attempts in all (`total_max_attempts` counts attempts, `max_attempts` retries).
STANDARD_3 = {"mode": "standard", "total_max_attempts": 3}


class _AsyncSleeps:
    """Stands in for AioEndpoint._sleep: records the backoff aiobotocore's retry handler
    asked for, and yields to the event loop instead of waiting it."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def async_backoff(monkeypatch: pytest.MonkeyPatch, backoff: Any) -> Iterator[_AsyncSleeps]:
    """Retries without waiting; botocore's blocking sleep (`backoff`) must stay unused."""
    recorded = _AsyncSleeps()

    async def sleep(endpoint: Any, seconds: float) -> None:
        await recorded.sleep(seconds)

    monkeypatch.setattr(AioEndpoint, "_sleep", sleep)
    yield recorded
    assert backoff.sleeps == [], "an async call slept with time.sleep"


def run(
    body: Callable[[Any], Awaitable[Any]],
    service: str = "iot",
    retries: dict[str, Any] | None = None,
) -> Any:
    """`body(client)` with an aiobotocore client of `service` (retry config `retries`)."""

    async def main() -> Any:
        session = aiobotocore_session.get_session()
        config = AioConfig(retries=retries) if retries is not None else None
        async with session.create_client(service, region_name=REGION, config=config) as client:
            return await body(client)

    return asyncio.run(main())


def test_two_throttles_are_retried_and_the_third_attempt_succeeds(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    iot_mock.faults.inject(operation="CreateThing", error="ThrottlingException", times=2)

    async def body(iot: Any) -> Any:
        return await iot.create_thing(thingName="sensor-1")

    response = run(body, retries=STANDARD_3)

    assert response["thingName"] == "sensor-1"
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(async_backoff.sleeps) == 2, "aiobotocore's standard backoff ran between attempts"
    assert [(c.attempt, c.error, c.injected) for c in iot_mock.calls.filter("CreateThing")] == [
        (1, "ThrottlingException", True),
        (2, "ThrottlingException", True),
        (3, None, False),
    ]
    assert "sensor-1" in registry_of(iot_mock.backend()).things


def test_three_throttles_exhaust_three_attempts_and_raise(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    fault = iot_mock.faults.inject(operation="CreateThing", error="ThrottlingException", times=3)

    async def body(iot: Any) -> Any:
        with pytest.raises(iot.exceptions.ThrottlingException) as caught:
            await iot.create_thing(thingName="sensor-1")
        return caught.value.response, (await iot.list_things())["things"]

    response, things = run(body, retries=STANDARD_3)

    metadata = response["ResponseMetadata"]
    assert metadata["RetryAttempts"] == 2
    assert metadata["MaxAttemptsReached"] is True
    assert metadata["HTTPStatusCode"] == 400
    assert response["Error"]["Message"] == "Rate exceeded"
    assert fault.fired == 3 and not fault.active
    assert len(async_backoff.sleeps) == 2
    assert [c.attempt for c in iot_mock.calls.filter("CreateThing")] == [1, 2, 3]
    assert things == [], "no attempt reached the handler"


async def meets_the_retry_contract(
    mock: IotMock,
    client: Any,
    operation: str,
    call: Callable[[], Awaitable[Any]],
    *,
    attempts: int,
    error: str = "ThrottlingException",
) -> None:
    """With a client of `attempts` attempts in all, `call()` facing `attempts - 1` injected
    `error`s succeeds on its last attempt, and facing `attempts` of them raises; both
    count the retries, and `m.calls` records every attempt with its number."""
    mock.faults.inject(operation, error, times=attempts - 1)
    succeeded = await call()
    mock.faults.inject(operation, error, times=attempts)
    with pytest.raises(client.exceptions.from_code(error)) as caught:
        await call()
    failed = caught.value.response
    assert failed["Error"]["Code"] == error
    assert succeeded["ResponseMetadata"]["RetryAttempts"] == attempts - 1
    assert failed["ResponseMetadata"]["RetryAttempts"] == attempts - 1
    assert [c.attempt for c in mock.calls.filter(operation)] == [*range(1, attempts + 1)] * 2


def test_legacy_mode_default_retries_a_throttle_four_times_and_raises_the_fifth(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    # aiobotocore's default, as botocore's: legacy mode, 5 attempts.
    run(
        lambda iot: meets_the_retry_contract(
            iot_mock, iot, "ListThings", iot.list_things, attempts=5
        )
    )
    assert len(async_backoff.sleeps) == 8


def test_legacy_mode_with_three_attempts_follows_the_same_contract(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    def body(iot: Any) -> Awaitable[None]:
        create = partial(iot.create_thing, thingName="a")
        return meets_the_retry_contract(iot_mock, iot, "CreateThing", create, attempts=3)

    run(body, retries={"mode": "legacy", "total_max_attempts": 3})
    assert list(registry_of(iot_mock.backend()).things) == ["a"]


def test_an_internal_failure_500_is_retried(iot_mock: IotMock, async_backoff: _AsyncSleeps) -> None:
    def body(iot: Any) -> Awaitable[None]:
        create = partial(iot.create_thing, thingName="after-500")
        return meets_the_retry_contract(
            iot_mock, iot, "CreateThing", create, attempts=3, error="InternalFailureException"
        )

    run(body, retries=STANDARD_3)
    assert {c.status for c in iot_mock.calls.filter("CreateThing", ok=False)} == {500}
    assert len(async_backoff.sleeps) == 4


def test_a_500_on_an_operation_that_does_not_model_it_in_legacy_mode(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    boto3.client("iot", region_name=REGION).create_thing(thingName="t")
    iot_mock.faults.inject("GetPendingJobExecutions", "InternalFailureException", times=2)

    async def body(jobs: Any) -> Any:
        return await jobs.get_pending_job_executions(thingName="t")

    response = run(body, "iot-jobs-data", retries={"mode": "legacy"})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert response["queuedJobs"] == []


def test_a_data_plane_throttle_is_retried_and_the_streaming_answer_reads(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    document = {"state": {"reported": {"on": True}}}

    async def body(data: Any) -> Any:
        await data.update_thing_shadow(thingName="lamp", payload=json.dumps(document).encode())
        iot_mock.faults.inject("GetThingShadow", "ThrottlingException", times=2)
        answer = await data.get_thing_shadow(thingName="lamp")
        return answer["ResponseMetadata"], json.loads(await answer["payload"].read())

    metadata, shadow = run(body, "iot-data", retries=STANDARD_3)

    assert metadata["RetryAttempts"] == 2
    assert shadow["state"] == document["state"]
    assert [c.status for c in iot_mock.calls.filter("GetThingShadow")] == [429, 429, 200]


def test_concurrent_calls_each_count_their_own_attempts(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    fault = iot_mock.faults.inject("CreateThing", "ThrottlingException", times=2)

    async def body(iot: Any) -> Any:
        names = ("a", "b", "c")
        created = await asyncio.gather(*(iot.create_thing(thingName=n) for n in names))
        return {
            name: response["ResponseMetadata"]["RetryAttempts"]
            for name, response in zip(names, created, strict=True)
        }

    retries = run(body, retries=STANDARD_3)

    assert fault.fired == 2
    for name, retried in retries.items():
        calls = iot_mock.calls.filter("CreateThing", params={"thingName": name})
        assert [c.attempt for c in calls] == list(range(1, retried + 2))
        assert [c.ok for c in calls] == [False] * retried + [True]
    assert sum(retries.values()) == 2
    assert sorted(registry_of(iot_mock.backend()).things) == ["a", "b", "c"]


def test_a_modeled_error_is_not_retried(iot_mock: IotMock, async_backoff: _AsyncSleeps) -> None:
    async def body(iot: Any) -> Any:
        with pytest.raises(iot.exceptions.ResourceNotFoundException) as caught:
            await iot.describe_thing(thingName="missing")
        return caught.value.response, await iot.list_things()

    failed, listed = run(body, retries=STANDARD_3)

    assert failed["ResponseMetadata"]["RetryAttempts"] == 0
    assert listed["ResponseMetadata"]["RetryAttempts"] == 0
    assert async_backoff.sleeps == []
    assert [c.attempt for c in iot_mock.calls] == [1, 1]


def test_adaptive_mode_retries_too(iot_mock: IotMock, async_backoff: _AsyncSleeps) -> None:
    iot_mock.faults.inject("ListThings", "ThrottlingException", times=2)

    async def body(iot: Any) -> Any:
        return await iot.list_things()

    response = run(body, retries={"mode": "adaptive", "total_max_attempts": 3})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2


def test_the_backoff_sleeps_without_blocking_the_event_loop(
    iot_mock: IotMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The endpoint's own sleep (asyncio.sleep) runs for real here, with legacy mode's
    # random base fixed at 0.1 s: 0.1 s, then 0.2 s, which a blocking sleep would stop the
    # loop for. The loop keeps serving another task while the retried call waits.
    monkeypatch.setattr(botocore.retryhandler, "random", SimpleNamespace(random=lambda: 0.1))
    iot_mock.faults.inject("ListThings", "ThrottlingException", times=2)
    ticks: list[float] = []

    async def ticker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.005)

    async def body(iot: Any) -> Any:
        stop = asyncio.Event()
        ticking = asyncio.create_task(ticker(stop))
        start = time.perf_counter()
        response = await iot.list_things()
        elapsed = time.perf_counter() - start
        stop.set()
        await ticking
        return response, elapsed

    response, elapsed = run(body, retries={"mode": "legacy", "total_max_attempts": 3})
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert elapsed >= 0.3, "the backoff was waited"
    longest_gap = max(b - a for a, b in itertools.pairwise(ticks))
    assert longest_gap < 0.15, f"the event loop stood still for {longest_gap:.3f} s"


def test_latency_does_not_block_the_loop_two_slowed_calls_overlap(iot_mock: IotMock) -> None:
    fault = iot_mock.faults.inject("ListThings", latency=0.3, times=2)

    async def body(iot: Any) -> Any:
        async def timed() -> float:
            start = time.perf_counter()
            assert (await iot.list_things())["things"] == []
            return time.perf_counter() - start

        start = time.perf_counter()
        each = await asyncio.gather(timed(), timed())
        return each, time.perf_counter() - start

    each, total = run(body)
    assert all(seconds >= 0.3 for seconds in each), each
    assert total < 0.55, f"the two delayed calls ran one after the other ({total:.2f} s)"
    assert fault.fired == 2 and not fault.active


def test_latency_with_an_error_is_waited_on_every_attempt_then_retried(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    iot_mock.faults.inject("CreateThing", "ServiceUnavailableException", latency=0.1, times=2)

    async def body(iot: Any) -> Any:
        start = time.perf_counter()
        response = await iot.create_thing(thingName="slow")
        return response, time.perf_counter() - start

    response, elapsed = run(body, retries=STANDARD_3)
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert elapsed >= 0.2
    assert [(c.attempt, c.status) for c in iot_mock.calls.filter("CreateThing")] == [
        (1, 503),
        (2, 503),
        (3, 200),
    ]


def test_aioboto3_clients_retry_the_same_way(
    iot_mock: IotMock, async_backoff: _AsyncSleeps
) -> None:
    aioboto3 = pytest.importorskip(
        "aioboto3", reason="aioboto3 needs `pip install --no-deps aioboto3 aiofiles` here"
    )

    async def main() -> None:
        config = AioConfig(retries=STANDARD_3)
        async with aioboto3.Session().client("iot", region_name=REGION, config=config) as iot:
            create = partial(iot.create_thing, thingName="from-aioboto3")
            await meets_the_retry_contract(iot_mock, iot, "CreateThing", create, attempts=3)

    asyncio.run(main())
    assert len(async_backoff.sleeps) == 4
    assert list(registry_of(iot_mock.backend()).things) == ["from-aioboto3"]
