"""MQTT-based file delivery: devices describe a stream and get its files' blocks over
MQTT (DescribeStream / GetStream, JSON and CBOR), the files read from moto's S3."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from mqtt_devices import provision, subscribed_device

from iotmock import IotMock, mock_iot
from iotmock.devices import cbor
from iotmock.devices.mock_api import SimulatedDevice

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/stream-access"
BUCKET = "firmware"
STREAMS = "$aws/things/lamp/streams"
# 11,000 bytes: 43 blocks of 256 bytes, the last one 248 bytes long.
FIRMWARE = bytes(range(256)) * 42 + bytes(248)
CONFIG = b'{"mode": "eco"}'


@pytest.fixture
def aws() -> Iterator[IotMock]:
    with mock_aws(), mock_iot() as iot_mock:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="lamp/v2.bin", Body=FIRMWARE)
        s3.put_object(Bucket=BUCKET, Key="lamp/config.json", Body=CONFIG)
        yield iot_mock


def _create_stream(
    stream_id: str = "ota-1",
    files: list[tuple[int, str]] | None = None,
    description: str | None = "Lamp firmware 2.0",
) -> None:
    entries = files if files is not None else [(0, "lamp/v2.bin"), (1, "lamp/config.json")]
    arguments: dict[str, Any] = {
        "streamId": stream_id,
        "files": [
            {"fileId": file_id, "s3Location": {"bucket": BUCKET, "key": key}}
            for file_id, key in entries
        ],
        "roleArn": ROLE,
    }
    if description is not None:
        arguments["description"] = description
    boto3.client("iot", region_name=REGION).create_stream(**arguments)


def _device(mock: IotMock, fmt: str = "json", stream_id: str = "ota-1") -> SimulatedDevice:
    device = mock.devices.connect("lamp")
    for answer in ("description", "data", "rejected"):
        assert device.subscribe(f"{STREAMS}/{stream_id}/{answer}/{fmt}", qos=1) == 1
    return device


def _request(device: SimulatedDevice, action: str, body: Any, stream_id: str = "ota-1") -> None:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert device.publish(f"{STREAMS}/{stream_id}/{action}/json", payload) == 0
    assert device.connected


def _answers(device: SimulatedDevice, answer: str, stream_id: str = "ota-1") -> list[Any]:
    return [m.json() for m in device.received(f"{STREAMS}/{stream_id}/{answer}/json")]


def _rejection(device: SimulatedDevice, stream_id: str = "ota-1") -> Any:
    *_, last = _answers(device, "rejected", stream_id)
    return last


# --------------------------------------------------------------------------- DescribeStream


def test_describe_stream_lists_the_files_and_their_sizes(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    _request(device, "describe", {"c": "ec944cfb-1e3c-49ac-97de-9dc4aaad0039"})
    assert _answers(device, "description") == [
        {
            "c": "ec944cfb-1e3c-49ac-97de-9dc4aaad0039",
            "s": 1,
            "d": "Lamp firmware 2.0",
            "r": [{"f": 0, "z": len(FIRMWARE)}, {"f": 1, "z": len(CONFIG)}],
        }
    ]
    # Without a client token, an empty payload, and after an update (the version grows).
    boto3.client("iot", region_name=REGION).update_stream(streamId="ota-1", description="v2.1")
    _request(device, "describe", b"")
    assert _answers(device, "description")[1] == {
        "s": 2,
        "d": "v2.1",
        "r": [{"f": 0, "z": len(FIRMWARE)}, {"f": 1, "z": len(CONFIG)}],
    }
    assert _answers(device, "rejected") == []


def test_describe_an_unknown_stream_is_rejected(aws: IotMock) -> None:
    device = _device(aws, stream_id="nope")
    _request(device, "describe", {"c": "t1"}, stream_id="nope")
    assert _rejection(device, "nope") == {
        "o": "ResourceNotFound",
        "m": "The stream nope was not found.",
        "c": "t1",
    }


# --------------------------------------------------------------------------- GetStream


def _blocks(device: SimulatedDevice) -> list[Any]:
    return _answers(device, "data")


def test_get_stream_sends_one_message_per_block(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    _request(device, "get", {"c": "1", "s": 1, "f": 0, "l": 256, "o": 40, "n": 3})
    blocks = _blocks(device)
    assert [(b["c"], b["f"], b["i"], b["l"]) for b in blocks] == [
        ("1", 0, 40, 256),
        ("1", 0, 41, 256),
        ("1", 0, 42, 248),  # the last block of the file is shorter
    ]
    data = b"".join(base64.b64decode(b["p"]) for b in blocks)
    assert data == FIRMWARE[40 * 256 :]


def test_a_whole_file_in_blocks_reassembles(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    _request(device, "get", {"f": 1, "l": 256, "n": 1})
    (block,) = _blocks(device)
    assert "c" not in block
    assert base64.b64decode(block["p"]) == CONFIG
    assert (block["i"], block["l"]) == (0, len(CONFIG))


def test_the_bitmap_selects_blocks_from_the_offset(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    # The developer guide's example: blocks 20, 21, 24 and 43 - 1 (the file has 43).
    _request(device, "get", {"c": "1", "s": 1, "l": 256, "f": 0, "o": 19, "n": 32, "b": "0x130080"})
    blocks = _blocks(device)
    assert [b["i"] for b in blocks] == [19, 20, 23, 42]
    for block in blocks:
        start = block["i"] * 256
        assert base64.b64decode(block["p"]) == FIRMWARE[start : start + 256]
    # "n" caps how many of the bitmap's blocks come back; "0x" is optional.
    _request(device, "get", {"l": 256, "f": 0, "n": 2, "b": "ff"})
    assert [b["i"] for b in _blocks(device)[4:]] == [0, 1]


def test_one_request_is_answered_with_at_most_128_kb(aws: IotMock) -> None:
    big = bytes(300 * 1024)
    boto3.client("s3", region_name=REGION).put_object(Bucket=BUCKET, Key="big.bin", Body=big)
    _create_stream("big", [(0, "big.bin")])
    device = _device(aws, stream_id="big")
    # 5 blocks of 64 KB asked, 2 sent: the device asks again for the rest.
    _request(device, "get", {"f": 0, "l": 65536, "n": 5}, stream_id="big")
    assert [b["i"] for b in _answers(device, "data", "big")] == [0, 1]
    # Without "n", the default is as many blocks as fit in 128 KB.
    _request(device, "get", {"f": 0, "l": 32768, "o": 4}, stream_id="big")
    assert [b["i"] for b in _answers(device, "data", "big")[2:]] == [4, 5, 6, 7]


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"f": 0, "l": 256, "s": 2}, "VersionMismatch"),
        ({"f": 7, "l": 256, "n": 1}, "ResourceNotFound"),  # no such file in the stream
        ({"f": 0, "l": 255, "n": 1}, "BlockSizeOutOfBounds"),
        ({"f": 0, "l": 131073, "n": 1}, "BlockSizeOutOfBounds"),
        ({"f": 0, "l": 256, "o": 98305, "n": 1}, "OffsetOutOfBounds"),
        ({"f": 0, "l": 256, "o": -1, "n": 1}, "OffsetOutOfBounds"),
        ({"f": 0, "l": 256, "n": 98305}, "BlockCountLimitExceeded"),
        ({"f": 0, "l": 256, "b": "ff" * 12288}, "BlockBitmapLimitExceeded"),
        ({"f": 0, "l": 256, "b": "xyz"}, "InvalidRequest"),
        ({"l": 256, "n": 1}, "InvalidRequest"),  # "f" is required
        ({"f": 256, "l": 256, "n": 1}, "InvalidRequest"),  # file ids are 0 to 255
        ({"f": 0, "n": 1}, "InvalidRequest"),  # "l" is required
        ({"f": "0", "l": 256, "n": 1}, "InvalidRequest"),
        ([0, 256], "InvalidRequest"),
    ],
)
def test_get_stream_rejections(iot_mock: IotMock, request_body: Any, code: str) -> None:
    # Refused before any file is read: no S3 needed.
    _create_stream()
    device = _device(iot_mock)
    body = {"c": "tok", **request_body} if isinstance(request_body, dict) else request_body
    _request(device, "get", body)
    (rejection,) = _answers(device, "rejected")
    assert rejection["o"] == code
    assert rejection["m"]
    assert rejection.get("c") == ("tok" if isinstance(request_body, dict) else None)
    assert _blocks(device) == []


def test_blocks_beyond_the_file_are_not_found(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    for request in [
        {"f": 0, "l": 256, "o": 43, "n": 1},  # the file has blocks 0 to 42
        {"f": 0, "l": 256, "o": 40, "n": 4},  # block 43
        {"f": 0, "l": 256, "b": "0x" + "00" * 6 + "01"},  # block 48
        {"f": 0, "l": 256},  # 512 blocks by default: give "n" or "b" for small files
    ]:
        _request(device, "get", {"c": "tok", **request})
        rejection = _rejection(device)
        assert (rejection["o"], rejection["c"]) == ("ResourceNotFound", "tok")
        assert "was not found" in rejection["m"]
    assert len(_answers(device, "rejected")) == 4
    assert _blocks(device) == []


def test_malformed_requests_and_client_tokens(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    _request(device, "describe", b"{not json")
    assert _rejection(device)["o"] == "InvalidJson"
    # A client token over 64 bytes is refused, and not echoed back.
    _request(device, "describe", {"c": "x" * 65})
    assert _rejection(device) == {
        "o": "InvalidRequest",
        "m": "The client token must be a string of at most 64 bytes.",
    }
    _request(device, "describe", {"c": "x" * 64})
    assert _answers(device, "description")[0]["c"] == "x" * 64


def test_missing_s3_objects_are_rejected(aws: IotMock) -> None:
    _create_stream("gone", [(0, "lamp/none.bin")])
    device = _device(aws, stream_id="gone")
    _request(device, "describe", {"c": "1"}, stream_id="gone")
    rejection = _rejection(device, "gone")
    assert rejection["o"] == "ResourceNotFound"
    assert "NoSuchKey" in rejection["m"]
    _request(device, "get", {"f": 0, "l": 256, "n": 1}, stream_id="gone")
    assert _rejection(device, "gone")["o"] == "ResourceNotFound"
    assert _answers(device, "data", "gone") == []


def test_without_moto_the_files_cannot_be_read(iot_mock: IotMock) -> None:
    _create_stream()
    device = _device(iot_mock)
    _request(device, "get", {"c": "1", "f": 0, "l": 256, "n": 1})
    rejection = _rejection(device)
    assert (rejection["o"], rejection["c"]) == ("ResourceNotFound", "1")
    assert "mock_aws" in rejection["m"]


# --------------------------------------------------------------------------- CBOR


def test_cbor_requests_are_answered_in_cbor(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws, "cbor")
    topic = f"{STREAMS}/ota-1"
    assert device.publish(f"{topic}/describe/cbor", cbor.encode({"c": "d1"})) == 0
    (description,) = device.received(f"{topic}/description/cbor")
    assert cbor.decode(description.payload) == {
        "c": "d1",
        "s": 1,
        "d": "Lamp firmware 2.0",
        "r": [{"f": 0, "z": len(FIRMWARE)}, {"f": 1, "z": len(CONFIG)}],
    }
    # A device (FreeRTOS OTA) sends the bitmap as a byte string; blocks come as bytes.
    request = {"c": "g1", "f": 0, "l": 1024, "o": 0, "n": 3, "b": bytes([0b101])}
    assert device.publish(f"{topic}/get/cbor", cbor.encode(request)) == 0
    blocks = [cbor.decode(m.payload) for m in device.received(f"{topic}/data/cbor")]
    assert [(b["c"], b["f"], b["i"], b["l"]) for b in blocks] == [
        ("g1", 0, 0, 1024),
        ("g1", 0, 2, 1024),
    ]
    assert blocks[1]["p"] == FIRMWARE[2048:3072]
    assert device.publish(f"{topic}/get/cbor", b"\xff\x00") == 0
    (rejected,) = device.received(f"{topic}/rejected/cbor")
    assert cbor.decode(rejected.payload)["o"] == "InvalidCbor"
    assert device.received(f"{topic}/+/json") == []


# --------------------------------------------------------------------------- who hears


def test_only_the_requester_receives_the_answers(aws: IotMock) -> None:
    _create_stream()
    device = _device(aws)
    other = aws.devices.connect("other")
    assert other.subscribe("$aws/things/+/streams/#", qos=1) == 1
    _request(device, "describe", {"c": "1"})
    _request(device, "get", {"f": 1, "l": 256, "n": 1})
    assert len(_answers(device, "description")) == 1
    assert len(_blocks(device)) == 1
    # The other device sees the requests (it subscribed to them), never the answers.
    assert [m.topic.rsplit("/", 2)[1] for m in other.received()] == ["describe", "get"]
    # Answers are not in the message log (nor seen by rules); the requests are.
    assert [m.topic for m in aws.messages(f"{STREAMS}/#")] == [
        f"{STREAMS}/ota-1/describe/json",
        f"{STREAMS}/ota-1/get/json",
    ]
    # A request without a connection (iot-data Publish) has no one to answer.
    iot_data = boto3.client("iot-data", region_name=REGION)
    iot_data.publish(topic=f"{STREAMS}/ota-1/describe/json", payload=b"{}")
    assert len(_answers(device, "description")) == 1


def test_answers_need_a_subscription(aws: IotMock) -> None:
    _create_stream()
    device = aws.devices.connect("lamp")
    _request(device, "describe", {})
    assert device.received() == []
    assert device.connected


# --------------------------------------------------------------------------- MQTT endpoint


def test_a_real_device_downloads_a_file_over_the_mqtt_endpoint(tmp_path: Path) -> None:
    with mock_aws(), mock_iot(mqtt=True) as iot_mock:
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="lamp/v2.bin", Body=FIRMWARE)
        _create_stream(files=[(0, "lamp/v2.bin")])
        credentials = provision(tmp_path, thing="lamp")
        topic = f"{STREAMS}/ota-1"
        device = subscribed_device(
            iot_mock,
            credentials,
            "lamp",
            f"{topic}/description/json",
            f"{topic}/data/json",
            f"{topic}/rejected/json",
        )
        try:
            assert device.publish(f"{topic}/describe/json", {"c": "d"}) == 0
            description = json.loads(device.expect(f"{topic}/description/json").payload)
            assert description["r"] == [{"f": 0, "z": len(FIRMWARE)}]
            received = b""
            for offset in range(0, 43, 16):
                request = {"c": f"g{offset}", "s": description["s"], "f": 0, "l": 256}
                request.update(o=offset, n=min(16, 43 - offset))
                assert device.publish(f"{topic}/get/json", request) == 0
                for _ in range(request["n"]):
                    block = json.loads(device.expect(f"{topic}/data/json").payload)
                    received += base64.b64decode(block["p"])
            assert received == FIRMWARE
            assert device.publish(f"{topic}/get/json", {"c": "bad", "f": 0, "l": 1}) == 0
            rejected = json.loads(device.expect(f"{topic}/rejected/json").payload)
            assert rejected["o"] == "BlockSizeOutOfBounds"
            device.expect_nothing()
        finally:
            device.close()
