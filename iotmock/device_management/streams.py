"""Streams (files delivered in chunks over MQTT): CreateStream, DescribeStream,
UpdateStream, DeleteStream, ListStreams.

S3 is not served, so a stream keeps the S3 locations it is given without reading them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, paginate

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
    # Creation order, for ListStreams' (descending by default) ordering.
    sequence: int = 0


@dataclass(slots=True)
class StreamStore:
    streams: dict[str, Stream] = field(default_factory=dict)
    # Creation order, oldest first and newest first; keys are zero-padded sequences.
    oldest_first: SortedIndex[Stream] = field(default_factory=SortedIndex)
    newest_first: SortedIndex[Stream] = field(default_factory=SortedIndex)
    # Deleted stream id -> (its last version, deletion time), for resurrection.
    deleted: dict[str, tuple[int, float]] = field(default_factory=dict)
    sequence: int = 0


_SEQUENCE_SPAN = 10**15


def _age_keys(stream: Stream) -> tuple[str, str]:
    return f"{stream.sequence:016d}", f"{_SEQUENCE_SPAN - stream.sequence:016d}"


@tagging.taggable("stream")
def _stream_exists(backend: Backend, stream_id: str) -> bool:
    return stream_id in backend.store(StreamStore).streams


def get_stream(backend: Backend, stream_id: str) -> Stream:
    stream = backend.store(StreamStore).streams.get(stream_id)
    if stream is None:
        raise not_found(f"Stream {stream_id} does not exist.")
    return stream


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


def create_stream(
    backend: Backend,
    stream_id: str,
    files: list[dict[str, Any]],
    role_arn: str,
    description: str | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> Stream:
    """Create a stream (also used by OTA updates that stream their files)."""
    store = backend.store(StreamStore)
    existing = store.streams.get(stream_id)
    if existing is not None:
        raise already_exists(f"Stream {stream_id} already exists.", stream_id, existing.arn)
    checked = _checked_files(files)
    arn = backend.arn(f"stream/{stream_id}")
    tagging.tag_on_create(backend, arn, tags)  # may refuse the tags: before anything is stored
    now = clock.now()
    version = FIRST_VERSION
    previous = store.deleted.pop(stream_id, None)
    if previous is not None and now - previous[1] < RESURRECTION_SECONDS:
        version = min(previous[0] + 1, MAX_VERSION)
    store.sequence += 1
    stream = Stream(
        stream_id=stream_id,
        arn=arn,
        files=checked,
        role_arn=role_arn,
        description=description,
        version=version,
        created_at=now,
        last_updated_at=now,
        sequence=store.sequence,
    )
    store.streams[stream_id] = stream
    oldest, newest = _age_keys(stream)
    store.oldest_first[oldest] = stream
    store.newest_first[newest] = stream
    return stream


def _identity(stream: Stream) -> dict[str, Any]:
    return {
        "streamId": stream.stream_id,
        "streamArn": stream.arn,
        "description": stream.description,
        "streamVersion": stream.version,
    }


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
    stream = get_stream(ctx.backend, params["streamId"])
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


@operation("iot", "UpdateStream")
def update_stream(ctx: RequestContext, params: Params) -> dict[str, Any]:
    stream = get_stream(ctx.backend, params["streamId"])
    if stream.version >= MAX_VERSION:
        raise limit_exceeded(
            f"Stream {stream.stream_id} reached its maximum version {MAX_VERSION}."
        )
    files = params.get("files")
    if files is not None:
        stream.files = _checked_files(files)
    if params.get("description") is not None:
        stream.description = params["description"]
    if params.get("roleArn") is not None:
        stream.role_arn = params["roleArn"]
    # Every update increments the version (API:UpdateStream), changed or not.
    stream.version += 1
    stream.last_updated_at = clock.now()
    return _identity(stream)


@operation("iot", "DeleteStream")
def delete_stream(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    stream = get_stream(backend, params["streamId"])
    store = backend.store(StreamStore)
    del store.streams[stream.stream_id]
    oldest, newest = _age_keys(stream)
    store.oldest_first.pop(oldest)
    store.newest_first.pop(newest)
    store.deleted[stream.stream_id] = (stream.version, clock.now())
    tagging.drop(backend, stream.arn)
    return {}


@operation("iot", "ListStreams")
def list_streams(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(StreamStore)
    ascending = bool(params.get("ascendingOrder"))
    # Newest first unless ascendingOrder is set, like the other ascendingOrder lists.
    index = store.oldest_first if ascending else store.newest_first
    page, token = paginate(
        f"ListStreams:{ascending}",
        index.items_after,
        params.get("nextToken"),
        params.get("maxResults"),
    )
    return {
        "streams": [
            {
                "streamId": s.stream_id,
                "streamArn": s.arn,
                "streamVersion": s.version,
                "description": s.description,
            }
            for s in page
        ],
        "nextToken": token,
    }
