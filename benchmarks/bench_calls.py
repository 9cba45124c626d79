"""Per-call cost of iotmock against the botocore floor, measured in one run.

The floor is a no-op stand-in patched at the same seam (`Endpoint.make_request`) that
returns canned responses (the very bytes iotmock produced for the same call) parsed by
botocore's own parser: it costs what botocore itself costs on the client side
(parameter validation, serialization, events, parsing) and nothing else. The ratio
iotmock / floor is what the mock adds on top of botocore.

    python benchmarks/bench_calls.py            # all measurements
    python benchmarks/bench_calls.py --quick    # fewer repetitions
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.endpoint import Endpoint

from iotmock import mock_iot
from iotmock.core import intercept
from iotmock.core.protocol import RawResponse
from iotmock.registry.records import registry_of

Call = Callable[[], Any]


def _mean_us(call: Call, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


def _compare_us(
    call: Call, canned: dict[str, RawResponse], calls: int, repeats: int
) -> tuple[float, float]:
    """Per-call cost (floor, iotmock) in microseconds: the fastest of `repeats` runs of
    each side, as timeit does (slower runs measure the machine's other work, not the
    code). Floor and mock runs alternate, so load changes affect both sides alike."""
    floors, mocked = [], []
    for _ in range(repeats):
        mocked.append(_mean_us(call, calls))
        with _floor(canned):
            floors.append(_mean_us(call, calls))
    return min(floors), min(mocked)


@contextmanager
def _recording() -> Iterator[dict[str, RawResponse]]:
    """Record the last response iotmock gave for each operation."""
    recorded: dict[str, RawResponse] = {}
    original = intercept.dispatch

    def record(*args: Any, **kwargs: Any) -> tuple[str, RawResponse]:
        operation, response = original(*args, **kwargs)
        recorded[operation] = response
        return operation, response

    intercept.dispatch = record  # type: ignore[assignment]
    try:
        yield recorded
    finally:
        intercept.dispatch = original  # type: ignore[assignment]


@contextmanager
def _floor(canned: dict[str, RawResponse]) -> Iterator[None]:
    """botocore alone: every call answered with its canned response, parsed by botocore."""
    original = Endpoint.make_request

    def make_request(self: Endpoint, model: Any, request_dict: dict[str, Any]) -> Any:
        return intercept._to_botocore(canned[model.name], model, request_dict["url"])

    Endpoint.make_request = make_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        Endpoint.make_request = original  # type: ignore[method-assign]


def _scenarios(iot: Any, data: Any) -> dict[str, Call]:
    counter = iter(range(10**9))
    shadow = b'{"state": {"desired": {"temp": 21}, "reported": {"temp": 20}}}'
    return {
        "CreateThing": lambda: iot.create_thing(thingName=f"bench-{next(counter)}"),
        "DescribeThing": lambda: iot.describe_thing(thingName="bench-fixed"),
        "UpdateThing": lambda: iot.update_thing(
            thingName="bench-fixed", attributePayload={"attributes": {"a": "1"}}
        ),
        "ListThings": lambda: iot.list_things(maxResults=10),
        "UpdateThingShadow": lambda: data.update_thing_shadow(
            thingName="bench-fixed", payload=shadow
        ),
        "GetThingShadow": lambda: data.get_thing_shadow(thingName="bench-fixed")["payload"].read(),
    }


def measure_calls(calls: int, repeats: int) -> list[tuple[str, float, float]]:
    rows = []
    with mock_iot():
        iot = boto3.client("iot", region_name="us-east-1")
        data = boto3.client("iot-data", region_name="us-east-1")
        iot.create_thing(thingName="bench-fixed")
        # Enough things that every ListThings page, recorded or measured, is full.
        for index in range(20):
            iot.create_thing(thingName=f"bench-seed-{index}")
        scenarios = _scenarios(iot, data)
        with _recording() as canned:
            for name, call in list(scenarios.items()):
                try:
                    call()
                except iot.exceptions.ClientError as error:
                    print(f"skipped {name}: {error}")
                    del scenarios[name]
        for name, call in scenarios.items():
            call()  # warm caches
            floor, mocked = _compare_us(call, canned, calls, repeats)
            rows.append((name, floor, mocked))
    return rows


def measure_pagination(counts: list[int]) -> list[tuple[int, float]]:
    rows = []
    for count in counts:
        with mock_iot() as mock:
            iot = boto3.client("iot", region_name="us-east-1")
            for index in range(count):
                iot.create_thing(thingName=f"page-{index:06d}")
            assert len(registry_of(mock.backend()).things) == count
            paginator = iot.get_paginator("list_things")
            start = time.perf_counter()
            listed = sum(
                len(page["things"])
                for page in paginator.paginate(PaginationConfig={"PageSize": 100})
            )
            elapsed = time.perf_counter() - start
            assert listed == count
            rows.append((count, elapsed))
    return rows


def measure_enter_exit(repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        with mock_iot():
            pass
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    calls, repeats = (100, 5) if args.quick else (200, 25)

    print(f"{'operation':<20}{'floor us':>10}{'iotmock us':>12}{'ratio':>8}")
    for name, floor, mocked in measure_calls(calls, repeats):
        print(f"{name:<20}{floor:>10.1f}{mocked:>12.1f}{mocked / floor:>8.2f}")

    print()
    print(f"{'things':<10}{'paginate s':>12}{'us/thing':>10}")
    for count, elapsed in measure_pagination([1000, 10000]):
        print(f"{count:<10}{elapsed:>12.3f}{elapsed / count * 1e6:>10.1f}")

    print()
    print(f"mock_iot() enter+exit, empty body: {measure_enter_exit(2000):.1f} us")


if __name__ == "__main__":
    main()
