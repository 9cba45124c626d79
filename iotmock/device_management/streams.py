"""Streams (files delivered in chunks over MQTT): CreateStream, DescribeStream,
UpdateStream, DeleteStream, ListStreams.

A stream keeps the S3 locations it is given; the operations never read them. Devices
read the files over MQTT (`iotmock.device_management.file_delivery`), from moto's S3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, crud
from iotmock.core.backend import Backend
from iotmock.core.crud import CreationOrder
from iotmock.core.errors import invalid_request, limit_exceeded
from iotmock.core.operations import Params, RequestContext, operation

# A stream re-created with the id of one deleted less than 90 days ago is resurrected
# with the old version + 1 (API:CreateStream).
RESURRECTION_SECONDS = 90 * 24 * 3600
FIRST_VERSION = 1
MAX_VERSION = 65535  # the StreamVersion shape's range


@dataclass(slots=True)
class Stream:
    stream_id: str
    arn: str
    files: list[dict[str, Any]]
    role_arn: str
    description: str | None
    version: int
    created_at: float
    last_updated_at: float


@dataclass(slots=True)
class StreamStore:
    # In creation order: ListStreams is newest first unless ascendingOrder is set.
    streams: CreationOrder[Stream] = field(default_factory=CreationOrder)
    # Deleted stream id -> (its last version, deletion time), for resurrection.
    deleted: dict[str, tuple[int, float]] = field(default_factory=dict)


def _checked_files(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each file needs a fileId, unique in the stream, and an S3 bucket and key."""
    seen: set[int] = set()
    checked: list[dict[str, Any]] = []
    for file in files:
        file_id = file.get("fileId")
        location = file.get("s3Location") or {}
        if file_id is None:
            raise invalid_request("Each stream file must have a fileId.")
        if not location.get("bucket") or not location.get("key"):
            raise invalid_request(
                f"The file {file_id} of the stream must have an s3Location with a bucket and a key."
            )
        if file_id in seen:
            raise invalid_request(f"The fileId {file_id} is used by more than one file.")
        seen.add(file_id)
        checked.append({"fileId": file_id, "s3Location": dict(location)})
    return checked


def _identity(stream: Stream) -> dict[str, Any]:
    return {
        "streamId": stream.stream_id,
        "streamArn": stream.arn,
        "description": stream.description,
        "streamVersion": stream.version,
    }


def _description(stream: Stream) -> dict[str, Any]:
    return {
        "streamInfo": {
            **_identity(stream),
            "files": [
                {"fileId": f["fileId"], "s3Location": dict(f["s3Location"])} for f in stream.files
            ],
            "createdAt": stream.created_at,
            "lastUpdatedAt": stream.last_updated_at,
            "roleArn": stream.role_arn,
        }
    }


STREAMS: crud.ResourceKind[Stream] = crud.ResourceKind(
    label="Stream",
    arn_type="stream",
    index=lambda backend: backend.store(StreamStore).streams,
    describe=_description,
    summary=_identity,
    list_member="streams",
)
get_stream = STREAMS.get


def create_stream(
    backend: Backend,
    stream_id: str,
    files: list[dict[str, Any]],
    role_arn: str,
    description: str | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> Stream:
    """Create a stream: the CreateStream operation, callable by other families too."""
    deleted = backend.store(StreamStore).deleted

    def build(arn: str, now: float) -> Stream:
        version = FIRST_VERSION
        previous = deleted.get(stream_id)
        if previous is not None and now - previous[1] < RESURRECTION_SECONDS:
            version = min(previous[0] + 1, MAX_VERSION)
        return Stream(
            stream_id=stream_id,
            arn=arn,
            files=_checked_files(files),
            role_arn=role_arn,
            description=description,
            version=version,
            created_at=now,
            last_updated_at=now,
        )

    stream = crud.create(STREAMS, backend, stream_id, build, tags)
    deleted.pop(stream_id, None)
    return stream


@operation("iot", "CreateStream")
def create_stream_handler(ctx: RequestContext, params: Params) -> dict[str, Any]:
    stream = create_stream(
        ctx.backend,
        params["streamId"],
        params["files"],
        params["roleArn"],
        params.get("description"),
        params.get("tags"),
    )
    return _identity(stream)


@operation("iot", "DescribeStream")
def describe_stream(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(STREAMS, ctx.backend, params["streamId"])


@operation("iot", "UpdateStream")
def update_stream(ctx: RequestContext, params: Params) -> dict[str, Any]:
    stream = get_stream(ctx.backend, params["streamId"])
    if stream.version >= MAX_VERSION:
        raise limit_exceeded(
            f"Stream {stream.stream_id} reached its maximum version {MAX_VERSION}."
        )
    changed = crud.changes(
        params, {"files": "files", "description": "description", "roleArn": "role_arn"}
    )
    if "files" in changed:
        changed["files"] = _checked_files(changed["files"])
    # Every update increments the version (API:UpdateStream), changed or not.
    stream.version += 1
    crud.apply(stream, changed, stamp="last_updated_at")
    return _identity(stream)


@operation("iot", "DeleteStream")
def delete_stream(ctx: RequestContext, params: Params) -> dict[str, Any]:
    stream = crud.delete(STREAMS, ctx.backend, params["streamId"])
    ctx.backend.store(StreamStore).deleted[stream.stream_id] = (stream.version, clock.now())
    return {}


@operation("iot", "ListStreams")
def list_streams(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Newest first unless ascendingOrder is set, like the other ascendingOrder lists.
    ascending = bool(params.get("ascendingOrder"))
    return crud.list_page(STREAMS, ctx, params, descending=not ascending)
