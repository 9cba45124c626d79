"""The Device Shadow document model (AWS IoT developer guide, "Device Shadow service
documents"), independent of the wire.

A shadow keeps two sections, `desired` and `reported`, each with a parallel metadata tree
that holds `{"timestamp": t}` at every leaf (and per element of arrays). An update is a
deep merge: objects merge key by key, `null` deletes a key, arrays and scalars replace
the stored value whole. `delta` is computed on demand from desired vs reported.

Errors use the messages of the developer guide's "Shadow error messages" page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, conflict, invalid_request
from iotmock.core.paging import SortedIndex
from iotmock.core.protocol import json_deeper_than

SECTIONS = ("desired", "reported")
MAX_DEPTH = 6  # levels below desired / reported
MAX_STATE_BYTES = 8192  # desired + reported of the merged document, metadata excluded
MAX_CLIENT_TOKEN_BYTES = 64
# A deleted shadow keeps its version for 48 hours: re-creating it continues the numbering.
VERSION_RETENTION_SECONDS = 48 * 3600

JsonObject = dict[str, Any]


@dataclass(slots=True)
class ShadowDocument:
    """One shadow (classic or named) of one thing.

    `state` and `metadata` are never changed in place: an update builds new trees and
    swaps them in. Documents handed out (snapshots, topic messages) may therefore share
    the stored trees without copying them, as long as they do not change them either.
    """

    state: dict[str, JsonObject] = field(default_factory=dict)
    metadata: dict[str, JsonObject] = field(default_factory=dict)
    version: int = 0
    timestamp: int = 0


@dataclass(slots=True)
class ShadowStore:
    classic: dict[str, ShadowDocument] = field(default_factory=dict)
    # thing name -> named shadows by name (sorted: ListNamedShadowsForThing pages them).
    named: dict[str, SortedIndex[ShadowDocument]] = field(default_factory=dict)
    # (thing, shadow name or None) -> (last version, deleted at): deleted shadows keep
    # their version for 48 hours.
    deleted: dict[tuple[str, str | None], tuple[int, float]] = field(default_factory=dict)

    def get(self, thing: str, name: str | None) -> ShadowDocument | None:
        if name is None:
            return self.classic.get(thing)
        index = self.named.get(thing)
        return index.get(name) if index is not None else None

    def put(self, thing: str, name: str | None, shadow: ShadowDocument) -> None:
        if name is None:
            self.classic[thing] = shadow
        else:
            self.named.setdefault(thing, SortedIndex())[name] = shadow

    def remove(self, thing: str, name: str | None) -> None:
        if name is None:
            self.classic.pop(thing, None)
            return
        index = self.named.get(thing)
        if index is not None:
            index.pop(name)
            if not len(index):
                del self.named[thing]

    def base_version(self, thing: str, name: str | None, now: float) -> int:
        """The version a new update builds on (a recently deleted shadow's, else 0)."""
        tombstone = self.deleted.get((thing, name))
        if tombstone is None:
            return 0
        version, deleted_at = tombstone
        if now - deleted_at >= VERSION_RETENTION_SECONDS:
            del self.deleted[(thing, name)]
            return 0
        return version


def shadows_of(backend: Backend) -> ShadowStore:
    """The shadows of `backend` (fleet indexing and the rules engine read them; they
    change only through this family's updates)."""
    return backend.store(ShadowStore)


@dataclass(slots=True, frozen=True)
class UpdateResult:
    """What an accepted update produced: the response document, the previous and
    current full documents, and the delta message to publish (None when no delta)."""

    response: JsonObject
    previous: JsonObject
    current: JsonObject
    delta: JsonObject | None


def too_large() -> ServiceError:
    return ServiceError(
        "RequestEntityTooLargeException", "The payload exceeds the maximum size allowed"
    )


def parse_request(payload: bytes) -> JsonObject:
    """The request document, or the error AWS answers for a malformed one."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError(
            "UnsupportedDocumentEncodingException",
            "Unsupported documented encoding; supported encoding is UTF-8",
        ) from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise invalid_request("Invalid JSON") from None
    if not isinstance(document, dict):
        raise invalid_request("Invalid JSON")
    if "\\u" in text and not _encodable(document):
        raise invalid_request("Invalid JSON")  # a lone surrogate escape such as "\ud800"
    _check_request(document)
    return document


def _encodable(document: JsonObject) -> bool:
    """Whether the document has a UTF-8 form (JSON escapes can spell lone surrogates)."""
    try:
        json.dumps(document, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_request(document: JsonObject) -> None:
    if "state" not in document:
        raise invalid_request("Missing required node: state")
    state = document["state"]
    if state is not None and not isinstance(state, dict):
        raise invalid_request("State node must be an object")
    for key, value in (state or {}).items():
        if key not in SECTIONS:
            raise invalid_request("State contains an invalid node")
        if value is not None and not isinstance(value, dict):
            raise invalid_request(f"{key.capitalize()} node must be an object")
        if value is not None:
            if json_deeper_than(value, MAX_DEPTH):
                raise invalid_request(
                    f"JSON contains too many levels of nesting; maximum is {MAX_DEPTH}"
                )
            _check_arrays(value)
    version = document.get("version")
    if "version" in document and (
        not isinstance(version, int) or isinstance(version, bool) or version < 0
    ):
        raise invalid_request("Invalid version")
    token = document.get("clientToken")
    if "clientToken" in document and (
        not isinstance(token, str) or len(token.encode()) > MAX_CLIENT_TOKEN_BYTES
    ):
        raise invalid_request("Invalid clientToken")


def _check_arrays(value: Any) -> None:
    """Arrays are atomic values and may not contain null."""
    if isinstance(value, dict):
        for item in value.values():
            _check_arrays(item)
    elif isinstance(value, list):
        for item in value:
            if item is None:
                raise invalid_request("Array elements must not be null")
            _check_arrays(item)


def leaf_metadata(value: Any, timestamp: int) -> Any:
    """The metadata tree of a written value: `{"timestamp"}` per leaf and array element."""
    if isinstance(value, dict):
        return {k: leaf_metadata(v, timestamp) for k, v in value.items()}
    if isinstance(value, list):
        return [leaf_metadata(v, timestamp) for v in value]
    return {"timestamp": timestamp}


def _merge(target: JsonObject, meta: JsonObject, update: JsonObject, timestamp: int) -> None:
    """Merge `update` into `target` and `meta`, which the caller owns (fresh copies).
    Only the objects along the updated paths are copied; everything else stays shared
    with the previous document, which is never changed in place."""
    for key, value in update.items():
        if value is None:
            target.pop(key, None)
            meta.pop(key, None)
        elif isinstance(value, dict):
            child = target.get(key)
            child_meta = meta.get(key)
            if isinstance(child, dict):
                child = target[key] = dict(child)
                child_meta = meta[key] = dict(child_meta) if isinstance(child_meta, dict) else {}
            else:
                # An object replaces a scalar or array: its metadata starts afresh.
                child = target[key] = {}
                child_meta = meta[key] = {}
            _merge(child, child_meta, value, timestamp)
        else:
            # Request documents are parsed afresh for each call and never changed later.
            target[key] = value
            meta[key] = leaf_metadata(value, timestamp)


def compute_delta(desired: Any, reported: Any) -> Any:
    """Desired values that differ from reported: objects recursively, other values whole.
    Keys only in reported never appear. Returns None when nothing differs. The result
    shares subtrees with `desired` (stored documents are never changed in place)."""
    if isinstance(desired, dict) and isinstance(reported, dict):
        delta: JsonObject = {}
        for key, value in desired.items():
            if key not in reported:
                delta[key] = value
                continue
            child = compute_delta(value, reported[key])
            if child is not None:
                delta[key] = child
        return delta or None
    if desired == reported and isinstance(desired, bool) == isinstance(reported, bool):
        return None
    return desired


def _delta_metadata(delta: JsonObject, metadata: JsonObject) -> JsonObject:
    """The desired-section metadata of the delta's paths."""
    out: JsonObject = {}
    for key, value in delta.items():
        meta = metadata.get(key)
        if isinstance(value, dict) and isinstance(meta, dict):
            out[key] = _delta_metadata(value, meta)
        elif meta is not None:
            out[key] = meta
    return out


def delta_of(shadow: ShadowDocument) -> JsonObject | None:
    desired = shadow.state.get("desired")
    if desired is None:
        return None
    found = compute_delta(desired, shadow.state.get("reported", {}))
    return found if isinstance(found, dict) else None


def full_document(shadow: ShadowDocument, timestamp: int) -> JsonObject:
    """The document GetThingShadow returns: state with delta, metadata, version, and the
    `timestamp` of the response (AWS: "when the message was transmitted by AWS IoT"; the
    time of the last update is in the metadata)."""
    state: JsonObject = dict(shadow.state)  # the stored tree itself stays untouched
    delta = delta_of(shadow)
    if delta is not None:
        state["delta"] = delta
    return {
        "state": state,
        "metadata": shadow.metadata,
        "version": shadow.version,
        "timestamp": timestamp,
    }


def _snapshot(shadow: ShadowDocument) -> JsonObject:
    """A document for the `/update/documents` topic: state without delta (sharing the
    stored trees, which are never changed in place)."""
    return {
        "state": shadow.state,
        "metadata": shadow.metadata,
        "version": shadow.version,
    }


def _state_size(state: dict[str, JsonObject]) -> int:
    return len(json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode())


def apply_update(
    shadow: ShadowDocument, request: JsonObject, timestamp: int, base_version: int
) -> UpdateResult:
    """Apply an accepted request document to `shadow` in place.

    `base_version` is the version the shadow has (or, for a shadow deleted less than 48
    hours ago, had): a request `version` must equal it, and the update stores
    `base_version + 1`. Raises ConflictException or RequestEntityTooLargeException, and
    leaves `shadow` untouched when it does.
    """
    if "version" in request and request["version"] != base_version:
        raise conflict("Version conflict")
    previous = _snapshot(shadow)
    # Copy-on-write: new top-level dicts; _merge copies the sections and paths it changes.
    state = dict(shadow.state)
    metadata = dict(shadow.metadata)
    sent = request["state"]
    response_metadata: JsonObject
    if sent is None:
        state, metadata = {}, {}
        response_metadata = {"timestamp": timestamp}
    else:
        response_metadata = {}
        for section, update in sent.items():
            if update is None:
                state.pop(section, None)
                metadata.pop(section, None)
                response_metadata[section] = {"timestamp": timestamp}
                continue
            target = state[section] = dict(state.get(section) or {})
            section_meta = metadata[section] = dict(metadata.get(section) or {})
            _merge(target, section_meta, update, timestamp)
            if not target:
                # A section that becomes empty disappears.
                state.pop(section)
                metadata.pop(section, None)
            response_metadata[section] = leaf_metadata(update, timestamp)
    if _state_size(state) > MAX_STATE_BYTES:
        raise too_large()
    shadow.state, shadow.metadata = state, metadata
    shadow.version = base_version + 1
    shadow.timestamp = timestamp
    response: JsonObject = {
        "state": sent,
        "metadata": response_metadata,
        "version": shadow.version,
        "timestamp": timestamp,
    }
    token = request.get("clientToken")
    if token is not None:
        response["clientToken"] = token
    return UpdateResult(
        response=response,
        previous=previous,
        current=_snapshot(shadow),
        delta=_delta_message(shadow, sent, timestamp, token),
    )


def _delta_message(
    shadow: ShadowDocument, sent: JsonObject | None, timestamp: int, token: str | None
) -> JsonObject | None:
    """The `/update/delta` message: published when an update touched `desired` and
    desired still differs from reported."""
    if not sent or sent.get("desired") is None:
        return None
    delta = delta_of(shadow)
    if delta is None:
        return None
    message: JsonObject = {
        "version": shadow.version,
        "timestamp": timestamp,
        "state": delta,
        "metadata": _delta_metadata(delta, shadow.metadata.get("desired", {})),
    }
    if token is not None:
        message["clientToken"] = token
    return message
