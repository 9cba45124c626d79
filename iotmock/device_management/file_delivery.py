"""MQTT-based file delivery (DG: mqtt-based-file-delivery-in-devices): a device reads a
stream's description and the blocks of its files over MQTT.

A device publishes on `$aws/things/<thing>/streams/<streamId>/<request>/<fmt>` (`<fmt>`:
`json` or `cbor`, the format of the request and of its answers):

- `describe` (DescribeStream): answered on `.../description/<fmt>` with the stream
  version `s`, description `d` and files `r` (`f` file id, `z` size in bytes);
- `get` (GetStream): answered on `.../data/<fmt>`, one message per block (`f` file id,
  `l` payload size, `i` block id, `p` the block: base64 in JSON, a byte string in CBOR),
  at most 128 KB of blocks per request.

A refused request is answered on `.../rejected/<fmt>` with `o` (the error code), `m`
(a message) and `c` (the client token, when it was valid). Answers go to the requesting
connection only, when it subscribes to them (and may receive them): never to other
clients, the rules engine or the message log. A request published without a connection
(iot-data Publish) is not answered.

The files are the S3 objects the stream names, read as AWS IoT reads them (assuming the
stream's role) from moto's S3 when moto's `mock_aws` is active and the mock delivers to
moto; otherwise, or when the object is missing, the request is refused with
`ResourceNotFound`.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from botocore.exceptions import ClientError

from iotmock.core import clock, moto_bridge
from iotmock.core.events import subscribe
from iotmock.core.operations import RequestContext
from iotmock.device_management.streams import Stream, StreamStore
from iotmock.devices import cbor
from iotmock.devices.sessions import Session, deliver_to, live_session
from iotmock.jobs.mqtt import Rejected  # an MQTT API's error answer: code and message
from iotmock.messaging.log import Message

SOURCE = "streams"
MAX_TOKEN = 64  # bytes of a client token
MAX_FILE_ID = 255
MIN_BLOCK_SIZE = 256
MAX_BLOCK_SIZE = 128 * 1024
# Offsets and block counts: a 24 MB stream file in blocks of the minimum size.
MAX_OFFSET = MAX_BLOCK_COUNT = 98_304
MAX_BITMAP_BYTES = 12_288  # the bitmap must be smaller
# What one GetStream request is answered with at most; the device asks again for more.
MAX_DATA_PER_REQUEST = 128 * 1024

_REQUEST = re.compile(
    r"\$aws/things/(?P<thing>[^/]+)/streams/(?P<stream>[^/]+)/(?P<action>describe|get)"
    r"/(?P<fmt>json|cbor)"
)
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "404"})
_DENIED_CODES = frozenset({"AccessDenied", "403"})


# --------------------------------------------------------------------------- serving


@subscribe("message_published", topic_prefix="$aws/things/")
def _serve_stream_request(ctx: RequestContext, message: Message) -> None:
    """Answer a DescribeStream or GetStream request to the connection that sent it."""
    match = _REQUEST.fullmatch(message.topic)
    if match is None or message.source == SOURCE or message.client_id is None:
        return
    session = live_session(ctx.backend, message.client_id)
    if session is None:
        return
    fmt = match["fmt"]
    base = f"$aws/things/{match['thing']}/streams/{match['stream']}"
    token: str | None = None
    try:
        request = _decode(message.payload, fmt)
        token = request.get("c")
        stream = _stream(ctx, match["stream"])
        if match["action"] == "describe":
            answers = [("description", _describe(ctx, stream))]
        else:
            answers = [("data", block) for block in _blocks(ctx, stream, request)]
    except Rejected as rejected:
        answers = [("rejected", {"o": rejected.code, "m": rejected.message})]
    for suffix, document in answers:
        if token is not None:
            document = {"c": token, **document}
        _answer(ctx, session, f"{base}/{suffix}/{fmt}", document, fmt)


def _answer(
    ctx: RequestContext, session: Session, topic: str, document: dict[str, Any], fmt: str
) -> None:
    if fmt == "cbor":
        payload = cbor.encode(document)
    else:
        # JSON carries a block as base64 text; CBOR as a byte string.
        text = {
            k: base64.b64encode(v).decode() if isinstance(v, bytes) else v
            for k, v in document.items()
        }
        payload = json.dumps(text, separators=(",", ":")).encode()
    reply = Message(
        topic,
        payload,
        timestamp=clock.now(),
        source=SOURCE,
        account_id=ctx.backend.account_id,
        region=ctx.backend.region,
    )
    deliver_to(session, reply)


# --------------------------------------------------------------------------- requests


def _decode(payload: bytes, fmt: str) -> dict[str, Any]:
    """The request map, with its client token checked; an empty payload is an empty
    request (every DescribeStream member is optional)."""
    request: Any = {}
    if payload if fmt == "cbor" else payload.strip():
        try:
            request = cbor.decode(payload) if fmt == "cbor" else json.loads(payload)
        except ValueError:  # CborError, JSONDecodeError, UnicodeDecodeError
            code, name = ("InvalidCbor", "CBOR") if fmt == "cbor" else ("InvalidJson", "JSON")
            raise Rejected(code, f"The Stream request is not a valid {name} document.") from None
    if not isinstance(request, dict):
        raise Rejected("InvalidRequest", "The Stream request must be a map.")
    token = request.get("c")
    valid = token is None or (isinstance(token, str) and len(token.encode()) <= MAX_TOKEN)
    if not valid:
        raise Rejected(
            "InvalidRequest", f"The client token must be a string of at most {MAX_TOKEN} bytes."
        )
    return request


def _integer(request: dict[str, Any], key: str, meaning: str) -> int | None:
    value = request.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Rejected("InvalidRequest", f'"{key}" ({meaning}) must be an integer.')
    return value


def _stream(ctx: RequestContext, stream_id: str) -> Stream:
    stream = ctx.backend.store(StreamStore).streams.get(stream_id)
    if stream is None:
        raise Rejected("ResourceNotFound", f"The stream {stream_id} was not found.")
    return stream


def _describe(ctx: RequestContext, stream: Stream) -> dict[str, Any]:
    document: dict[str, Any] = {"s": stream.version}
    if stream.description is not None:
        document["d"] = stream.description
    document["r"] = [
        {"f": file["fileId"], "z": len(_content(ctx, stream, file))} for file in stream.files
    ]
    return document


def _blocks(ctx: RequestContext, stream: Stream, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The GetStream answers: one document per block sent."""
    version = _integer(request, "s", "the stream version")
    if version is not None and version != stream.version:
        raise Rejected(
            "VersionMismatch",
            f"The stream version {version} does not match the version of stream "
            f"{stream.stream_id}, {stream.version}.",
        )
    file_id = _integer(request, "f", "the stream file id")
    if file_id is None or not 0 <= file_id <= MAX_FILE_ID:
        raise Rejected(
            "InvalidRequest", f'"f", the stream file id, is required: 0 to {MAX_FILE_ID}.'
        )
    block_size = _integer(request, "l", "the block size")
    if block_size is None:
        raise Rejected("InvalidRequest", '"l", the block size, is required.')
    if not MIN_BLOCK_SIZE <= block_size <= MAX_BLOCK_SIZE:
        raise Rejected(
            "BlockSizeOutOfBounds",
            f"The block size is out of bounds: {MIN_BLOCK_SIZE} to {MAX_BLOCK_SIZE} bytes.",
        )
    offset = _integer(request, "o", "the block offset") or 0
    if not 0 <= offset <= MAX_OFFSET:
        raise Rejected("OffsetOutOfBounds", f"The offset is out of bounds: 0 to {MAX_OFFSET}.")
    count = _integer(request, "n", "the number of blocks")
    if count is not None and not 0 <= count <= MAX_BLOCK_COUNT:
        raise Rejected(
            "BlockCountLimitExceeded",
            f"The number of requested blocks is out of bounds: 0 to {MAX_BLOCK_COUNT}.",
        )
    bitmap = _bitmap(request.get("b"))
    per_request = MAX_DATA_PER_REQUEST // block_size
    limit = min(count or per_request, per_request)
    if bitmap is None:
        wanted = list(range(offset, offset + limit))
    else:
        wanted = [offset + bit for bit in _set_bits(bitmap, limit)]
    file = next((f for f in stream.files if f["fileId"] == file_id), None)
    if file is None:
        raise Rejected("ResourceNotFound", f"The stream {stream.stream_id} has no file {file_id}.")
    content = _content(ctx, stream, file)
    blocks_in_file = -(-len(content) // block_size)
    missing = [block for block in wanted if block >= blocks_in_file]
    if missing:
        raise Rejected(
            "ResourceNotFound",
            f"The file {file_id} of stream {stream.stream_id} has {blocks_in_file} blocks of "
            f"{block_size} bytes: block {missing[0]} was not found.",
        )
    answers: list[dict[str, Any]] = []
    for block in wanted:
        data = content[block * block_size : (block + 1) * block_size]
        answers.append({"f": file_id, "l": len(data), "i": block, "p": data})
    return answers


def _bitmap(value: Any) -> bytes | None:
    """The block bitmap: a hexadecimal string (`"0x130080"`) or, in CBOR, a byte string;
    its first byte holds blocks 0-7 (bit 0 the lowest), the next 8-15, and so on."""
    if value is None:
        return None
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        digits = value[2:] if value[:2].lower() == "0x" else value
        try:
            raw = bytes.fromhex(digits.rjust(len(digits) + len(digits) % 2, "0"))
        except ValueError:
            raise Rejected(
                "InvalidRequest", '"b", the block bitmap, must be a hexadecimal string.'
            ) from None
    else:
        raise Rejected("InvalidRequest", '"b", the block bitmap, must be a hexadecimal string.')
    if len(raw) >= MAX_BITMAP_BYTES:
        raise Rejected(
            "BlockBitmapLimitExceeded",
            f"The size of the block bitmap is out of bounds: less than {MAX_BITMAP_BYTES} bytes.",
        )
    return raw


def _set_bits(bitmap: bytes, limit: int) -> list[int]:
    """The first `limit` blocks the bitmap asks for, in order."""
    found: list[int] = []
    for index, byte in enumerate(bitmap):
        for bit in range(8):
            if byte >> bit & 1:
                found.append(index * 8 + bit)
                if len(found) == limit:
                    return found
    return found


# --------------------------------------------------------------------------- S3


def _content(ctx: RequestContext, stream: Stream, file: dict[str, Any]) -> bytes:
    """The bytes of a stream file: its S3 object, read from moto's S3 with the stream's
    role."""
    location = file["s3Location"]
    bucket, key, version = location["bucket"], location["key"], location.get("version")
    where = f"s3://{bucket}/{key}" + (f" (version {version})" if version else "")
    if not getattr(ctx.mock, "deliver_to_moto", True) or not moto_bridge.active():
        raise Rejected(
            "ResourceNotFound",
            f"The file {file['fileId']} of stream {stream.stream_id} ({where}) cannot be "
            "read: S3 is reached through moto's mock_aws, which is not active.",
        )
    client = moto_bridge.client("s3", ctx.region, stream.role_arn)
    arguments = {"Bucket": bucket, "Key": key}
    if version:
        arguments["VersionId"] = version
    try:
        body: bytes = client.get_object(**arguments)["Body"].read()
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
        text = f"The file {file['fileId']} of stream {stream.stream_id} ({where}): {code}."
        if code in _NOT_FOUND_CODES or status in _NOT_FOUND_CODES:
            raise Rejected("ResourceNotFound", text) from None
        if code in _DENIED_CODES or status in _DENIED_CODES:
            raise Rejected("Unauthorized", text) from None
        raise Rejected("InternalError", text) from None
    return body
