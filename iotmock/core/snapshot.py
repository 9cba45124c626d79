"""Snapshots: the whole state of a mock as a versioned JSON document, and back.

The serializer knows no family: it walks every `Backend` (account, region, tags and the
family stores keyed by store class) and every object reachable from them generically:
dataclasses and slotted or plain classes of iotmock (named by their qualified name), the
builtin containers, bytes, datetimes, enums, X.509 certificates and keys. Objects shared
between indexes (one `Certificate` held by three indexes) stay shared after a restore:
an object or container reached twice is written once with an `"$id"` and referenced
later with `{"$ref": id}`. Nothing is pickled; a document names only classes of iotmock,
and restoring refuses any other.

Process-wide state that restored records depend on (the mock CA signing AWS-issued
certificates) is saved by hooks families register with `process_state`. Callables
(registered Lambda functions, authorizer handlers) cannot be serialized: they are left
out, and a test re-registers them after a restore.

Timestamps are stored as recorded, so a restored state answers with the same dates
whenever it is restored, and restoring does not read the clock.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import enum
import importlib
import json
import os
import re
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from iotmock.core.backend import Backend

if TYPE_CHECKING:
    from iotmock._mock import IotMock

FORMAT = "iotmock-snapshot"
VERSION = 1

_PRIVATE_KEYS = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
_PUBLIC_KEYS = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey)
_CALLABLES = (
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.LambdaType,
)
_SKIPPED = object()  # a decoded callable: dropped from its container


class SnapshotError(ValueError):
    """A state that cannot be saved, or a document that cannot be restored."""


# --------------------------------------------------------------------------- process state

Dump = Callable[[list[tuple[str, str]]], Any]
Load = Callable[[Any], None]
_PROCESS_STATE: dict[str, tuple[Dump, Load]] = {}


def process_state(module: str, dump: Dump, load: Load) -> None:
    """Register process-wide state a snapshot must carry, under the name of the module
    registering it (imported again on restore to find `load`). `dump` receives the
    (account, region) pairs of the snapshot; its result must be JSON-serializable."""
    _PROCESS_STATE[module] = (dump, load)


_TRANSIENT: set[type] = set()


def transient(kind: type) -> None:
    """Leave the family store `kind` out of snapshots: it holds live things (device
    connections) rather than state, and a restored mock starts without it."""
    _TRANSIENT.add(kind)


# --------------------------------------------------------------------------- public API


def snapshot_of(mock: IotMock) -> dict[str, Any]:
    """The state of every account and region of `mock` as a JSON-serializable document."""
    with mock.lock:
        backends = list(mock._backends.values())
        keys = [(b.account_id, b.region) for b in backends]
        encoder = _Encoder()
        encoder.count(backends)
        return {
            "format": FORMAT,
            "version": VERSION,
            "account_id": mock.account_id,
            "region": mock.region,
            "backends": [encoder.backend(backend) for backend in backends],
            "process": {module: dump(keys) for module, (dump, _) in sorted(_PROCESS_STATE.items())},
        }


def restore_into(mock: IotMock, document: dict[str, Any]) -> None:
    """Replace the state of `mock` (every account and region) by the snapshot's."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError("iotmock: not an iotmock snapshot (no 'format': 'iotmock-snapshot')")
    version = document.get("version")
    if version != VERSION:
        raise SnapshotError(
            f"iotmock: snapshot version {version!r} is not supported (this iotmock reads "
            f"version {VERSION}); take the snapshot again with this version"
        )
    # Everything is decoded and checked before anything changes, so a snapshot that
    # fails leaves the mock (and the process-wide state) as it was.
    process = document.get("process", {})
    backends_data = document.get("backends")
    if not isinstance(process, dict) or not isinstance(backends_data, list):
        raise SnapshotError("iotmock: a snapshot has a 'process' object and a 'backends' list")
    restorers = []
    for module, state in process.items():
        _import(module)
        hooks = _PROCESS_STATE.get(module)
        if hooks is None:
            raise SnapshotError(f"iotmock: {module} registers no process state to restore")
        restorers.append((hooks[1], state))
    decoder = _Decoder()
    try:
        backends = [decoder.backend(data) for data in backends_data]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, SnapshotError):
            raise
        raise SnapshotError(f"iotmock: a malformed snapshot ({type(exc).__name__}: {exc})") from exc
    for restore, state in restorers:
        restore(state)
    with mock.lock:
        mock._backends.clear()
        for backend in backends:
            mock._backends[(backend.account_id, backend.region)] = backend


def save_state(mock: IotMock, path: str | os.PathLike[str]) -> None:
    """Write `mock`'s snapshot to the JSON file `path` (the server's save on exit)."""
    document = snapshot_of(mock)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, separators=(",", ":"))


def load_state(mock: IotMock, path: str | os.PathLike[str]) -> None:
    """Restore `mock` from the JSON snapshot file `path` (the server's `--state FILE`)."""
    with open(path, encoding="utf-8") as file:
        restore_into(mock, json.load(file))


def read_document(state: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    """A snapshot given as a document or as the path of a JSON file."""
    if isinstance(state, dict):
        return state
    with open(state, encoding="utf-8") as file:
        document: dict[str, Any] = json.load(file)
    return document


# --------------------------------------------------------------------------- encoding


def _qualified_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _attributes(obj: Any) -> list[str]:
    """The names of an object's state: its dataclass fields, or its slots and dict."""
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj)]
    else:
        names = []
        for klass in type(obj).__mro__:
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in ("__dict__", "__weakref__") and name not in names:
                    names.append(name)
    if hasattr(obj, "__dict__"):
        names.extend(name for name in vars(obj) if name not in names)
    return names


class _Encoder:
    """Writes values; containers and objects reached more than once get an id."""

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}  # id(obj) -> times reached
        self._ids: dict[int, int] = {}  # id(obj) -> assigned id, once written
        self._keep: list[Any] = []  # keeps counted objects alive while ids are in use

    # Pass 1: count how often each mutable container or object is reached.
    def count(self, value: Any) -> None:
        stack = [value]
        while stack:
            item = stack.pop()
            if item is None or isinstance(item, (str, int, float, bytes, dt.date, enum.Enum)):
                continue
            if isinstance(item, (tuple, frozenset)):
                stack.extend(item)
                continue
            if isinstance(item, (*_CALLABLES, x509.Certificate, *_PRIVATE_KEYS, *_PUBLIC_KEYS)):
                continue
            key = id(item)
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            if seen:
                continue
            self._keep.append(item)
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, (list, set, bytearray, collections.deque)):
                stack.extend(item)
            elif isinstance(item, type):
                continue
            else:
                stack.extend(
                    getattr(item, name, None) for name in _attributes(item) if name != "_stores"
                )
                if isinstance(item, Backend):
                    stack.extend(
                        store for kind, store in item._stores.items() if kind not in _TRANSIENT
                    )

    def backend(self, backend: Backend) -> dict[str, Any]:
        return {
            "account_id": backend.account_id,
            "region": backend.region,
            "tags": self.value(backend.tags, "tags"),
            "stores": {
                _qualified_name(kind): self.value(store, kind.__name__)
                for kind, store in backend._stores.items()
                if kind not in _TRANSIENT
            },
        }

    def _shared(self, value: Any, body: dict[str, Any]) -> dict[str, Any] | None:
        """`{"$ref": id}` when `value` was written already; else registers its id in
        `body` when it is reached more than once."""
        key = id(value)
        found = self._ids.get(key)
        if found is not None:
            return {"$ref": found}
        if self._seen.get(key, 0) > 1:
            self._ids[key] = body["$id"] = len(self._ids)
        return None

    def value(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        if isinstance(value, enum.Enum):
            return {"$enum": _qualified_name(type(value)), "v": self.value(value.value, path)}
        if isinstance(value, bytes):
            return {"$b": base64.b64encode(value).decode()}
        if isinstance(value, dt.datetime):
            return {"$dt": value.isoformat()}
        if isinstance(value, dt.date):
            return {"$date": value.isoformat()}
        if isinstance(value, tuple):
            return {"$t": [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, frozenset):
            return {"$fs": [self.value(v, f"{path}{{}}") for v in value]}
        if isinstance(value, x509.Certificate):
            return {"$x509": value.public_bytes(serialization.Encoding.PEM).decode()}
        if isinstance(value, _PRIVATE_KEYS):
            return {"$key": private_pem(value)}
        if isinstance(value, _PUBLIC_KEYS):
            pem = value.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            return {"$pub": pem.decode()}
        if isinstance(value, re.Pattern):
            return {"$re": value.pattern, "flags": value.flags}
        if isinstance(value, (_CALLABLES, type)):
            return {"$skip": getattr(value, "__qualname__", repr(value))}
        body: dict[str, Any] = {}
        ref = self._shared(value, body)
        if ref is not None:
            return ref
        kind = type(value)
        if kind is list:
            items = [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]
            if not body:
                return items
            body["$l"] = items
        elif kind is collections.deque:
            body["$q"] = [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]
        elif kind is bytearray:
            body["$ba"] = base64.b64encode(bytes(value)).decode()
        elif kind is set:
            body["$s"] = [self.value(v, f"{path}{{}}") for v in value]
        elif kind is dict:
            if all(type(k) is str for k in value):
                body["$m"] = {k: self.value(v, f"{path}.{k}") for k, v in value.items()}
            else:
                body["$d"] = [
                    [self.value(k, f"{path}<key>"), self.value(v, f"{path}[{k!r}]")]
                    for k, v in value.items()
                ]
        elif kind.__module__.startswith("iotmock."):
            body["$o"] = _qualified_name(type(value))
            missing = object()
            fields = {}
            for name in _attributes(value):
                attribute = getattr(value, name, missing)
                if attribute is not missing:
                    fields[name] = self.value(attribute, f"{path}.{name}")
            body["f"] = fields
        elif callable(value):
            return {"$skip": repr(value)}
        else:
            raise SnapshotError(
                f"iotmock: cannot snapshot {type(value).__module__}.{type(value).__qualname__} "
                f"at {path}"
            )
        return body


def private_pem(key: Any) -> str:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


# --------------------------------------------------------------------------- decoding


def _import(module: str) -> types.ModuleType:
    if module != "iotmock" and not module.startswith("iotmock."):
        raise SnapshotError(f"iotmock: a snapshot may only name iotmock modules, not {module}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SnapshotError(f"iotmock: snapshot names unknown module {module}") from exc


def _class(name: str) -> Any:
    module, _, qualname = name.partition(":")
    found: Any = _import(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise SnapshotError(f"iotmock: snapshot names unknown class {name}")
    return found


def _fill_new_fields(obj: Any, saved: dict[str, Any]) -> None:
    """Fields a record gained after the snapshot was taken get their defaults, so a
    snapshot of an earlier iotmock of the same format version still restores."""
    for found in dataclasses.fields(obj):
        if found.name in saved:
            continue
        if found.default is not dataclasses.MISSING:
            object.__setattr__(obj, found.name, found.default)
        elif found.default_factory is not dataclasses.MISSING:
            object.__setattr__(obj, found.name, found.default_factory())


class _Decoder:
    def __init__(self) -> None:
        self._objects: dict[int, Any] = {}
        self._classes: dict[str, Any] = {}

    def backend(self, data: dict[str, Any]) -> Backend:
        if not isinstance(data, dict) or not isinstance(data.get("stores"), dict):
            raise SnapshotError("iotmock: a snapshot backend is an object with 'stores'")
        account_id, region = data.get("account_id"), data.get("region")
        if not isinstance(account_id, str) or not isinstance(region, str):
            raise SnapshotError("iotmock: a snapshot backend names its account_id and region")
        backend = Backend(account_id, region)
        tags = self.value(data.get("tags", {"$m": {}}))
        if not isinstance(tags, dict):
            raise SnapshotError(f"iotmock: the tags of {account_id}/{region} are not a map")
        backend.tags = tags
        for name, store in data["stores"].items():
            kind = self._class(name)
            decoded = self.value(store)
            if not isinstance(kind, type) or not isinstance(decoded, kind):
                raise SnapshotError(f"iotmock: the snapshot's {name} store is not one")
            backend._stores[kind] = decoded
        return backend

    def _class(self, name: str) -> Any:
        found = self._classes.get(name)
        if found is None:
            found = self._classes[name] = _class(name)
        return found

    def _register(self, data: dict[str, Any], value: Any) -> None:
        ident = data.get("$id")
        if ident is not None:
            self._objects[ident] = value

    def value(self, data: Any) -> Any:
        if data is None or isinstance(data, (str, bool, int, float)):
            return data
        if isinstance(data, list):
            return [v for v in (self.value(item) for item in data) if v is not _SKIPPED]
        if "$ref" in data:
            return self._objects[data["$ref"]]
        if "$m" in data:
            mapping: dict[Any, Any] = {}
            self._register(data, mapping)
            for key, item in data["$m"].items():
                decoded = self.value(item)
                if decoded is not _SKIPPED:
                    mapping[key] = decoded
            return mapping
        if "$o" in data:
            return self._object(data)
        if "$l" in data:
            items: list[Any] = []
            self._register(data, items)
            items.extend(v for v in (self.value(i) for i in data["$l"]) if v is not _SKIPPED)
            return items
        if "$q" in data:
            queue: collections.deque[Any] = collections.deque()
            self._register(data, queue)
            queue.extend(v for v in (self.value(i) for i in data["$q"]) if v is not _SKIPPED)
            return queue
        if "$d" in data:
            pairs: dict[Any, Any] = {}
            self._register(data, pairs)
            for key, item in data["$d"]:
                decoded = self.value(item)
                if decoded is not _SKIPPED:
                    pairs[self.value(key)] = decoded
            return pairs
        if "$s" in data:
            members: set[Any] = set()
            self._register(data, members)
            members.update(self.value(v) for v in data["$s"])
            return members
        return self._scalar(data)

    def _object(self, data: dict[str, Any]) -> Any:
        kind = self._class(data["$o"])
        obj = kind.__new__(kind)
        self._register(data, obj)
        for name, item in data["f"].items():
            decoded = self.value(item)
            object.__setattr__(obj, name, None if decoded is _SKIPPED else decoded)
        if dataclasses.is_dataclass(kind):
            _fill_new_fields(obj, data["f"])
        return obj

    def _scalar(self, data: dict[str, Any]) -> Any:
        if "$b" in data:
            return base64.b64decode(data["$b"])
        if "$ba" in data:
            array = bytearray(base64.b64decode(data["$ba"]))
            self._register(data, array)
            return array
        if "$t" in data:
            return tuple(self.value(v) for v in data["$t"])
        if "$fs" in data:
            return frozenset(self.value(v) for v in data["$fs"])
        if "$dt" in data:
            return dt.datetime.fromisoformat(data["$dt"])
        if "$date" in data:
            return dt.date.fromisoformat(data["$date"])
        if "$enum" in data:
            return self._class(data["$enum"])(self.value(data["v"]))
        if "$x509" in data:
            return x509.load_pem_x509_certificate(data["$x509"].encode())
        if "$key" in data:
            return serialization.load_pem_private_key(data["$key"].encode(), None)
        if "$pub" in data:
            return serialization.load_pem_public_key(data["$pub"].encode())
        if "$re" in data:
            return re.compile(data["$re"], data["flags"])
        if "$skip" in data:
            return _SKIPPED
        raise SnapshotError(f"iotmock: unreadable snapshot value {str(data)[:80]}")
