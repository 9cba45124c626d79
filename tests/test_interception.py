"""What iotmock intercepts, and what it leaves alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.endpoint
import pytest

from iotmock import mock_iot

# A client made at import time, before any mock starts (a module-level client).
EARLY_CLIENT = boto3.client(
    "iot",
    region_name="us-east-1",
    aws_access_key_id="early",
    aws_secret_access_key="early",
)


def test_client_created_before_the_mock_is_mocked() -> None:
    with mock_iot():
        EARLY_CLIENT.create_thing(thingName="early")
        assert EARLY_CLIENT.describe_thing(thingName="early")["thingName"] == "early"


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("iot", lambda c: c.list_things()["things"]),
        ("iot-data", lambda c: c.list_named_shadows_for_thing(thingName="t")),
        ("iot-jobs-data", lambda c: c.get_pending_job_executions(thingName="t")),
    ],
)
def test_all_three_services_are_intercepted(service: str, call: Any) -> None:
    with mock_iot():
        client = boto3.client(service, region_name="us-east-1")
        try:
            call(client)
        except client.exceptions.ClientError as error:
            # Not a network error: iotmock answered with a modeled AWS error.
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)


def test_custom_endpoint_url_from_describe_endpoint_is_mocked() -> None:
    with mock_iot():
        iot = boto3.client("iot", region_name="us-east-1")
        address = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        data = boto3.client("iot-data", region_name="us-east-1", endpoint_url=f"https://{address}")
        custom_iot = boto3.client(
            "iot", region_name="us-east-1", endpoint_url="https://example.invalid"
        )
        custom_iot.create_thing(thingName="custom")
        assert iot.describe_thing(thingName="custom")["thingName"] == "custom"
        with pytest.raises(data.exceptions.ClientError):
            data.get_thing_shadow(thingName="custom")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("iotmock test: the network is off")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type, misc]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a))  # type: ignore[arg-type, misc]
    yield attempts


def test_no_iot_request_reaches_the_network(no_network: list[Any]) -> None:
    with mock_iot():
        for service in ("iot", "iot-data", "iot-jobs-data"):
            client = boto3.client(service, region_name="us-east-1")
            for name in client.meta.service_model.operation_names:
                method = getattr(client, botocore.xform_name(name))
                try:
                    method(**_minimal(client, name))
                except client.exceptions.ClientError:
                    pass
                except botocore.exceptions.ParamValidationError:
                    pass
    assert no_network == []


def _minimal(client: Any, operation: str) -> dict[str, Any]:
    from modelgen import valid_value

    shape = client.meta.service_model.operation_model(operation).input_shape
    return valid_value(shape, full=False) if shape is not None else {}


def test_other_services_are_left_untouched(no_network: list[Any]) -> None:
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )
    with mock_iot(), pytest.raises(botocore.exceptions.EndpointConnectionError):
        s3.list_buckets()
    assert no_network  # S3 really tried to connect: iotmock did not answer it


def test_works_beside_moto_when_moto_is_outside() -> None:
    moto = pytest.importorskip("moto")
    with moto.mock_aws(), mock_iot():
        _use_s3_and_iot()


def test_works_beside_moto_when_moto_is_inside() -> None:
    moto = pytest.importorskip("moto")
    with mock_iot(), moto.mock_aws():
        _use_s3_and_iot()


def _use_s3_and_iot() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="iotmock-side-by-side")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["iotmock-side-by-side"]
    iot = boto3.client("iot", region_name="us-east-1")
    iot.create_thing(thingName="beside-moto")
    # iotmock answered: its validation and its thing ids, not moto's.
    assert iot.describe_thing(thingName="beside-moto")["defaultClientId"] == "beside-moto"
    with pytest.raises(iot.exceptions.InvalidRequestException):
        iot.describe_thing(thingName="bad name")


def test_botocore_is_restored_exactly_after_stop() -> None:
    before = botocore.endpoint.Endpoint.make_request
    environment = dict(os.environ)
    mock = mock_iot()
    mock.start()
    assert botocore.endpoint.Endpoint.make_request is not before
    mock.stop()
    assert botocore.endpoint.Endpoint.make_request is before
    assert dict(os.environ) == environment


def test_works_with_no_aws_configuration_at_all(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import boto3
        from iotmock import mock_iot
        with mock_iot():
            iot = boto3.client("iot")
            print(iot.create_thing(thingName="bare-machine")["thingArn"])
        """
    )
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("HOME",)
    }
    environment.update(
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "arn:aws:iot:us-east-1:123456789012:thing/bare-machine"
