"""aiobotocore clients are intercepted and answered like boto3's: same parsed responses,
same modeled errors, aiobotocore's streaming bodies. aioboto3 creates its clients with
aiobotocore, so it goes through the same path; its releases pin an aiobotocore that does
not support the botocore this suite pins, so CI installs it with `--no-deps` (.ci/run)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import boto3
import botocore.exceptions
import pytest

from iotmock import IotMock, mock_iot
from iotmock.registry.records import registry_of

aiobotocore_session = pytest.importorskip("aiobotocore.session")
AioConfig = pytest.importorskip("aiobotocore.config").AioConfig

REGION = "us-east-1"


def run(body: Callable[[Any], Awaitable[Any]], service: str = "iot") -> Any:
    async def main() -> Any:
        session = aiobotocore_session.get_session()
        async with session.create_client(service, region_name=REGION) as client:
            return await body(client)

    return asyncio.run(main())


def test_calls_are_answered_with_the_same_responses_as_boto3(iot_mock: IotMock) -> None:
    async def body(iot: Any) -> Any:
        created = await iot.create_thing(thingName="async-thing")
        described = await iot.describe_thing(thingName="async-thing")
        return created, described

    created, described = run(body)
    synced = boto3.client("iot", region_name=REGION).describe_thing(thingName="async-thing")
    assert created["thingArn"] == f"arn:aws:iot:{REGION}:123456789012:thing/async-thing"
    for key in ("thingName", "thingId", "thingArn", "version", "attributes"):
        assert described[key] == synced[key]
    assert described["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert described["ResponseMetadata"]["RetryAttempts"] == 0
    assert [c.attempt for c in iot_mock.calls] == [1, 1, 1]


def test_errors_are_the_modeled_exceptions(iot_mock: IotMock) -> None:
    async def body(iot: Any) -> Any:
        with pytest.raises(iot.exceptions.ResourceNotFoundException) as raised:
            await iot.describe_thing(thingName="missing")
        with pytest.raises(iot.exceptions.InvalidRequestException):
            await iot.create_thing(thingName="bad name!")
        return raised.value.response

    response = run(body)
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_shadow_payload_is_an_async_streaming_body(iot_mock: IotMock) -> None:
    async def body(data: Any) -> Any:
        await data.update_thing_shadow(
            thingName="t", payload=json.dumps({"state": {"reported": {"on": True}}}).encode()
        )
        answer = await data.get_thing_shadow(thingName="t")
        first = await answer["payload"].read(5)
        rest = await answer["payload"].read()
        return first + rest

    document = json.loads(run(body, "iot-data"))
    assert document["state"] == {"reported": {"on": True}}
    assert iot_mock.shadow("t") is not None


def test_paginators_work(iot_mock: IotMock) -> None:
    async def body(iot: Any) -> list[str]:
        for n in range(5):
            await iot.create_thing(thingName=f"p{n}")
        names: list[str] = []
        async for page in iot.get_paginator("list_things").paginate(
            PaginationConfig={"PageSize": 2}
        ):
            names += [t["thingName"] for t in page["things"]]
        return names

    assert sorted(run(body)) == [f"p{n}" for n in range(5)]


def test_a_mock_started_inside_the_coroutine_answers_it() -> None:
    async def main() -> list[str]:
        async with mock_iot(region="eu-west-1") as mock:
            session = aiobotocore_session.get_session()
            async with session.create_client("iot", region_name="eu-west-1") as iot:
                await iot.create_thing(thingName="inside")
            return list(registry_of(mock.backend(region="eu-west-1")).things)

    assert asyncio.run(main()) == ["inside"]


def test_other_services_are_left_to_aiobotocore() -> None:
    # A closed local port: a request that is really sent fails to connect.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        session = aiobotocore_session.get_session()
        async with session.create_client(
            "sts",
            region_name=REGION,
            endpoint_url=f"http://127.0.0.1:{port}",
            config=AioConfig(retries={"max_attempts": 1}),
        ) as sts:
            await sts.get_caller_identity()

    with mock_iot(), pytest.raises(botocore.exceptions.EndpointConnectionError):
        asyncio.run(main())


def test_aioboto3_clients_are_answered_too(iot_mock: IotMock) -> None:
    # aioboto3's releases pin aiobotocore 2.x (botocore 1.40), so pip cannot install it
    # with this suite's botocore; `pip install --no-deps aioboto3 aiofiles` runs this test.
    aioboto3 = pytest.importorskip(
        "aioboto3", reason="aioboto3 needs `pip install --no-deps aioboto3 aiofiles` here"
    )

    async def main() -> tuple[str, str]:
        async with aioboto3.Session().client("iot", region_name=REGION) as iot:
            arn = (await iot.create_thing(thingName="from-aioboto3"))["thingArn"]
            with pytest.raises(iot.exceptions.ResourceNotFoundException) as raised:
                await iot.describe_thing(thingName="missing")
            return arn, raised.value.response["Error"]["Code"]

    arn, code = asyncio.run(main())
    assert arn.endswith(":thing/from-aioboto3")
    assert code == "ResourceNotFoundException"
    assert "from-aioboto3" in registry_of(iot_mock.backend()).things
