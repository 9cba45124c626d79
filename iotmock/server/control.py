"""The control API under `/_iotmock/`: what a test outside the process needs to see and
reset the mock's state. JSON in, JSON out; documented in docs/server.md.

    GET  /_iotmock/health                      liveness, defaults, services served
    POST /_iotmock/reset                       forget all state of every account and region
    GET  /_iotmock/messages?topicFilter=&account=&region=
                                               the recorded MQTT messages
    GET  /_iotmock/state                       a snapshot of the whole state
    PUT  /_iotmock/state                       restore a snapshot taken by GET
    POST   /_iotmock/faults                    inject a fault (m.faults.inject's arguments)
    GET    /_iotmock/faults                    the active faults
    DELETE /_iotmock/faults                    remove every fault
    DELETE /_iotmock/faults/<id>               remove one

No IoT operation lives under this prefix, so these paths never shadow one, and the
control endpoints answer under this prefix only. Paths are not normalised: a `.` or `..`
segment, or an empty one (`//`, a trailing `/`), names no endpoint (404).
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iotmock.core.protocol import RawResponse
from iotmock.messaging.log import Message

if TYPE_CHECKING:
    from iotmock._mock import IotMock
    from iotmock.core.faults import Fault

# A control endpoint: (query, body, the <id> of /_iotmock/<name>/<id> or None) -> answer.
Handler = Callable[[dict[str, list[str]], bytes, str | None], RawResponse]

PREFIX = "/_iotmock/"


def _json(status: int, document: Any, **headers: str) -> RawResponse:
    body = json.dumps(document).encode()
    return RawResponse(
        status,
        {"content-type": "application/json", "content-length": str(len(body)), **headers},
        body,
    )


def _error(status: int, message: str, **headers: str) -> RawResponse:
    return _json(status, {"message": message}, **headers)


def message_document(message: Message) -> dict[str, Any]:
    """A recorded message as JSON: the payload as text when it is UTF-8, always base64."""
    payload = message.payload
    try:
        text: str | None = payload.decode()
    except UnicodeDecodeError:
        text = None
    document: dict[str, Any] = {
        "topic": message.topic,
        "payload": text,
        "payloadBase64": base64.b64encode(payload).decode(),
        "qos": message.qos,
        "retain": message.retain,
        "timestamp": message.timestamp,
        "source": message.source,
        "clientId": message.client_id,
        "accountId": message.account_id,
        "region": message.region,
    }
    extras = {
        "userProperties": message.user_properties,
        "contentType": message.content_type,
        "correlationData": message.correlation_data,
        "messageExpiry": message.message_expiry,
        "responseTopic": message.response_topic,
        "payloadFormatIndicator": message.payload_format_indicator,
    }
    document.update({k: v for k, v in extras.items() if v is not None})
    return document


# The arguments of POST /_iotmock/faults: m.faults.inject's (but `match`, a Python
# predicate) and the seed of `probability`'s generator: (JSON types, what they are).
_FAULT_ARGUMENTS: dict[str, tuple[tuple[type, ...], str]] = {
    "operation": ((str,), "a string"),
    "error": ((str,), "a string"),
    "service": ((str,), "a string"),
    "message": ((str,), "a string"),
    "times": ((int,), "an integer"),
    "probability": ((int, float), "a number"),
    "latency": ((int, float), "a number"),
    "seed": ((int,), "an integer"),
}


class Control:
    """Answers `/_iotmock/...` requests for one mock."""

    def __init__(self, mock: IotMock, services: tuple[str, ...]) -> None:
        self.mock = mock
        self.services = services
        # endpoint name -> (methods of /_iotmock/<name>, methods of /_iotmock/<name>/<id>)
        self._routes: dict[str, tuple[dict[str, Handler], dict[str, Handler]]] = {
            "health": ({"GET": self._health}, {}),
            "reset": ({"POST": self._reset}, {}),
            "messages": ({"GET": self._messages}, {}),
            "state": ({"GET": self._snapshot, "PUT": self._restore}, {}),
            "faults": (
                {"POST": self._inject, "GET": self._faults, "DELETE": self._clear_faults},
                {"DELETE": self._remove_fault},
            ),
        }
        # Ids of the faults seen over HTTP (injected here, or in-process by the test).
        self._fault_lock = threading.Lock()
        self._fault_ids: dict[Fault, str] = {}
        self._fault_numbers = itertools.count(1)

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> RawResponse:
        rest = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
        if not rest:
            return self._not_found(path)
        segments = rest.split("/")
        # Nothing is normalised: "..", "." and empty segments name no endpoint, so
        # /_iotmock/../things/t never reaches an operation and /_iotmock//health is no alias.
        if any(segment in ("", ".", "..") for segment in segments):
            return self._not_found(
                path, "Control paths are not normalised: no empty, '.' or '..' segments. "
            )
        routes = self._routes.get(segments[0])
        if routes is None or len(segments) > 2 or (len(segments) == 2 and not routes[1]):
            return self._not_found(path)
        methods = routes[len(segments) - 1]
        handler = methods.get(method)
        if handler is None:
            allowed = ", ".join(methods)
            name = "/".join([segments[0], "<id>"] if len(segments) == 2 else segments)
            return _error(405, f"{PREFIX}{name} answers {allowed}, not {method}.", allow=allowed)
        try:
            return handler(query, body, segments[1] if len(segments) == 2 else None)
        except _BadRequest as error:
            return _error(400, str(error))

    def _not_found(self, path: str, why: str = "") -> RawResponse:
        endpoints = [
            f"{method} {PREFIX}{name}{suffix}"
            for name, routes in self._routes.items()
            for suffix, methods in zip(("", "/<id>"), routes, strict=True)
            for method in methods
        ]
        return _error(
            404,
            f"No control endpoint {path}. {why}The control API answers "
            + ", ".join(endpoints)
            + " (docs/server.md).",
        )

    def _health(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        from iotmock import __version__

        return _json(
            200,
            {
                "status": "ok",
                "version": __version__,
                "services": list(self.services),
                "accountId": self.mock.account_id,
                "region": self.mock.region,
            },
        )

    def _reset(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        self.mock.reset()
        return _json(200, {"reset": True})

    def _messages(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        def one(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        with self.mock.lock:
            found = self.mock.messages(
                one("topicFilter") or "#", account_id=one("account"), region=one("region")
            )
            documents = [message_document(m) for m in found]
        return _json(200, {"messages": documents})

    # Snapshots: IotMock.snapshot() / restore() (docs/snapshots.md).
    def _snapshot(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        with self.mock.lock:
            state = self.mock.snapshot()
        return _json(200, state)

    def _restore(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        from iotmock.core.snapshot import restore_into

        # Never IotMock.restore(<a JSON string>): it would read that file of the server.
        state = _json_object(
            body,
            "PUT /_iotmock/state takes a snapshot document: the JSON object "
            "GET /_iotmock/state answers.",
        )
        try:
            with self.mock.lock:
                restore_into(self.mock, state)
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
            # A document shaped otherwise than a snapshot (SnapshotError is a ValueError).
            message = f"Could not restore this snapshot: {type(exc).__name__}: {exc}"
            raise _BadRequest(message) from None
        return _json(200, {"restored": True})

    # Faults: m.faults (docs/testing-failures.md) for processes other than the test.
    def _inject(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        arguments = _json_object(
            body,
            "POST /_iotmock/faults takes a JSON object: operation, error, times, "
            "probability, latency, service, message, seed.",
        )
        _check_fault_arguments(arguments)
        seed = arguments.pop("seed", None)
        try:
            fault = self.mock.faults.inject(**arguments)
        except ValueError as exc:
            raise _BadRequest(str(exc).removeprefix("iotmock: ")) from None
        if seed is not None:
            self.mock.faults.seed(seed)
        return _json(200, self._fault_document(fault))

    def _faults(self, query: dict[str, list[str]], body: bytes, item: str | None) -> RawResponse:
        return _json(200, {"faults": [self._fault_document(f) for f in self._active_faults()]})

    def _clear_faults(
        self, query: dict[str, list[str]], body: bytes, item: str | None
    ) -> RawResponse:
        removed = len(self._active_faults())
        self.mock.faults.clear()
        with self._fault_lock:
            self._fault_ids.clear()
        return _json(200, {"removed": removed})

    def _remove_fault(
        self, query: dict[str, list[str]], body: bytes, item: str | None
    ) -> RawResponse:
        self._active_faults()
        with self._fault_lock:
            found = next((f for f, i in self._fault_ids.items() if i == item), None)
            if found is not None:
                del self._fault_ids[found]
        if found is None:
            return _error(
                404, f"No active fault {item} (GET {PREFIX}faults lists the active ones)."
            )
        found.remove()
        return _json(200, {"removed": 1})

    def _active_faults(self) -> list[Fault]:
        """The active faults, oldest first, each given an id; forgets spent faults' ids."""
        active = self.mock.faults.active()
        with self._fault_lock:
            self._fault_ids = {fault: self._fault_id(fault) for fault in active}
        return active

    def _fault_id(self, fault: Fault) -> str:
        found = self._fault_ids.get(fault)
        return found if found is not None else f"fault-{next(self._fault_numbers)}"

    def _fault_document(self, fault: Fault) -> dict[str, Any]:
        with self._fault_lock:
            fault_id = self._fault_ids[fault] = self._fault_id(fault)
        return {
            "id": fault_id,
            "operation": fault.operation,
            "error": fault.error,
            "services": sorted(fault.services),
            "remaining": fault.remaining,
            "fired": fault.fired,
            "probability": fault.probability,
            "latency": fault.latency,
            "message": fault.message,
            "match": fault.match is not None,  # a predicate of the test (in-process only)
        }


class _BadRequest(Exception):
    """A request a control endpoint refuses: 400 with this message."""


def _json_object(body: bytes, expected: str) -> dict[str, Any]:
    """The body as a JSON object; `_BadRequest(expected)` when it is no JSON or another
    JSON value."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise _BadRequest(expected) from None
    if not isinstance(document, dict):
        raise _BadRequest(expected)
    return document


def _check_fault_arguments(arguments: dict[str, Any]) -> None:
    """Refuse arguments of POST /_iotmock/faults that m.faults.inject would not take."""
    if "match" in arguments:
        raise _BadRequest(
            "'match' is a Python predicate of m.faults.inject, not available over HTTP; "
            "narrow the fault with operation and service."
        )
    for name, value in arguments.items():
        spec = _FAULT_ARGUMENTS.get(name)
        if spec is None:
            raise _BadRequest(
                f"Unknown fault argument {name!r}; use " + ", ".join(_FAULT_ARGUMENTS) + "."
            )
        kinds, expected = spec
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise _BadRequest(
                f"Fault argument {name!r} must be {expected}, not {json.dumps(value)}."
            )
