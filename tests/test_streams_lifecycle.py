"""Streams: create, describe, update (versions), delete, list, tags, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging

ROLE = "arn:aws:iam::123456789012:role/stream-role"
ARN_PREFIX = "arn:aws:iot:us-east-1:123456789012:stream/"


def _file(file_id: int, key: str = "firmware.bin", **extra: str) -> dict[str, Any]:
    return {"fileId": file_id, "s3Location": {"bucket": "my-bucket", "key": key, **extra}}


def _create(iot: Any, stream_id: str = "s1", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("files", [_file(0)])
    kwargs.setdefault("roleArn", ROLE)
    return iot.create_stream(streamId=stream_id, **kwargs)  # type: ignore[no-any-return]


def test_create_returns_identity_and_version_1(iot: Any) -> None:
    created = _create(iot, description="OTA image")
    assert created["streamId"] == "s1"
    assert created["streamArn"] == ARN_PREFIX + "s1"
    assert created["description"] == "OTA image"
    assert created["streamVersion"] == 1
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_describe_returns_files_role_and_timestamps(iot: Any) -> None:
    moment = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(moment, tick=False):
        _create(iot, files=[_file(0, version="v7"), _file(3, key="boot.bin")])
    info = iot.describe_stream(streamId="s1")["streamInfo"]
    assert info["streamId"] == "s1"
    assert info["streamArn"] == ARN_PREFIX + "s1"
    assert info["streamVersion"] == 1
    assert info["roleArn"] == ROLE
    assert info["files"] == [
        {
            "fileId": 0,
            "s3Location": {"bucket": "my-bucket", "key": "firmware.bin", "version": "v7"},
        },
        {"fileId": 3, "s3Location": {"bucket": "my-bucket", "key": "boot.bin"}},
    ]
    assert info["createdAt"] == moment
    assert info["lastUpdatedAt"] == moment
    assert "description" not in info


def test_update_increments_version_and_replaces_fields(iot: Any) -> None:
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        _create(iot, description="first")
    with time_machine.travel(start + dt.timedelta(hours=1), tick=False):
        updated = iot.update_stream(
            streamId="s1",
            description="second",
            files=[_file(9, key="v2.bin")],
            roleArn="arn:aws:iam::123456789012:role/other-role",
        )
    assert updated["streamVersion"] == 2
    assert updated["description"] == "second"
    info = iot.describe_stream(streamId="s1")["streamInfo"]
    assert info["files"] == [_file(9, key="v2.bin")]
    assert info["roleArn"] == "arn:aws:iam::123456789012:role/other-role"
    assert info["createdAt"] == start
    assert info["lastUpdatedAt"] == start + dt.timedelta(hours=1)


def test_update_without_changes_still_increments_version(iot: Any) -> None:
    _create(iot, description="kept")
    assert iot.update_stream(streamId="s1")["streamVersion"] == 2
    third = iot.update_stream(streamId="s1")
    assert third["streamVersion"] == 3
    assert third["description"] == "kept"


def test_duplicate_stream_id_is_resource_already_exists(iot: Any) -> None:
    _create(iot)
    with pytest.raises(ClientError) as exc:
        _create(iot)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == "s1"
    assert exc.value.response["resourceArn"] == ARN_PREFIX + "s1"


@pytest.mark.parametrize("operation", ["describe_stream", "update_stream", "delete_stream"])
def test_missing_stream_is_not_found(iot: Any, operation: str) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(iot, operation)(streamId="nope")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "nope" in message


def test_delete_removes_stream(iot: Any) -> None:
    _create(iot)
    assert iot.delete_stream(streamId="s1")["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError):
        iot.describe_stream(streamId="s1")
    assert iot.list_streams()["streams"] == []


def test_recreating_a_recently_deleted_stream_resurrects_its_version(iot: Any) -> None:
    _create(iot)
    iot.update_stream(streamId="s1")
    iot.delete_stream(streamId="s1")
    assert _create(iot)["streamVersion"] == 3


def test_recreating_after_90_days_starts_again(iot: Any) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        _create(iot)
        iot.update_stream(streamId="s1")
        iot.delete_stream(streamId="s1")
    with time_machine.travel(start + dt.timedelta(days=91), tick=False):
        assert _create(iot)["streamVersion"] == 1


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ([{"s3Location": {"bucket": "b", "key": "k"}}], "fileId"),
        ([{"fileId": 1}], "s3Location"),
        ([{"fileId": 1, "s3Location": {"bucket": "b"}}], "s3Location"),
        ([_file(1), _file(1, key="other")], "fileId 1"),
    ],
)
def test_invalid_files_are_invalid_request(iot: Any, files: Any, fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        _create(iot, files=files)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message
    with pytest.raises(ClientError):
        iot.describe_stream(streamId="s1")


def test_update_with_invalid_files_changes_nothing(iot: Any) -> None:
    _create(iot)
    with pytest.raises(ClientError) as exc:
        iot.update_stream(streamId="s1", files=[_file(1), _file(1)])
    assert error_of(exc)[0] == "InvalidRequestException"
    info = iot.describe_stream(streamId="s1")["streamInfo"]
    assert info["streamVersion"] == 1
    assert info["files"] == [_file(0)]


def test_model_constraints_are_invalid_request(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _create(iot, "bad id!")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "failed to satisfy constraint" in message
    with pytest.raises(ClientError) as exc:
        _create(iot, files=[_file(256)])
    assert "Member must have value less than or equal to 255" in error_of(exc)[2]


def test_list_is_newest_first_by_default_and_ascending_on_request(iot: Any) -> None:
    for name in ("b", "c", "a"):
        _create(iot, name, description=f"stream {name}")
    listed = iot.list_streams()["streams"]
    assert [s["streamId"] for s in listed] == ["a", "c", "b"]
    assert listed[0] == {
        "streamId": "a",
        "streamArn": ARN_PREFIX + "a",
        "streamVersion": 1,
        "description": "stream a",
    }
    ascending = iot.list_streams(ascendingOrder=True)["streams"]
    assert [s["streamId"] for s in ascending] == ["b", "c", "a"]


def test_list_pages(iot: Any) -> None:
    for index in range(5):
        _create(iot, f"s{index}")
    seen: list[str] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"maxResults": 2, "ascendingOrder": True}
        if token:
            kwargs["nextToken"] = token
        page = iot.list_streams(**kwargs)
        assert len(page["streams"]) <= 2
        seen += [s["streamId"] for s in page["streams"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == [f"s{i}" for i in range(5)]
    paginated = iot.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2})
    assert sum(len(p["streams"]) for p in paginated) == 5


def test_list_with_foreign_token_is_invalid_request(iot: Any) -> None:
    _create(iot, "a")
    _create(iot, "b")
    token = iot.list_streams(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        iot.list_streams(maxResults=1, nextToken=token, ascendingOrder=True)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_tags_on_create_are_kept_and_dropped_on_delete(iot: Any, iot_mock: IotMock) -> None:
    arn = _create(iot, tags=[{"Key": "team", "Value": "ota"}, {"Key": "empty"}])["streamArn"]
    backend = iot_mock.backend()
    assert tagging.tags_of(backend, arn) == {"team": "ota", "empty": ""}
    assert listed_tags(iot, arn) == {"empty": "", "team": "ota"}
    iot.delete_stream(streamId="s1")
    assert tagging.tags_of(backend, arn) == {}
    assert_untaggable(iot, arn)


def test_refused_tags_create_no_stream(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _create(iot, tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as missing:
        iot.describe_stream(streamId="s1")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert iot.list_streams()["streams"] == []
    assert _create(iot)["streamVersion"] == 1  # the id is free


def test_streams_are_per_region(iot: Any, iot_mock: IotMock) -> None:
    import boto3

    _create(iot)
    other = boto3.client("iot", region_name="eu-west-1")
    assert other.list_streams()["streams"] == []
    assert iot.list_streams()["streams"][0]["streamId"] == "s1"


def test_update_beyond_the_highest_version_is_limit_exceeded(iot: Any, iot_mock: IotMock) -> None:
    from iotmock.device_management.streams import MAX_VERSION, StreamStore

    _create(iot)
    # Reaching version 65535 through the API takes 65534 updates: set it on the record.
    iot_mock.backend().store(StreamStore).streams["s1"].version = MAX_VERSION
    with pytest.raises(ClientError) as exc:
        iot.update_stream(streamId="s1")
    code, status, message = error_of(exc)
    assert (code, status) == ("LimitExceededException", 410)
    assert "65535" in message
