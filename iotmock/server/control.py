"""The control API under `/_iotmock/`: what a test outside the process needs to see and
reset the mock's state. JSON in, JSON out; documented in docs/server.md.

    GET  /_iotmock/health                      liveness, defaults, services served
    POST /_iotmock/reset                       forget all state of every account and region
    GET  /_iotmock/messages?topicFilter=&account=&region=
                                               the recorded MQTT messages
    GET  /_iotmock/state                       a snapshot of the whole state
    PUT  /_iotmock/state                       restore a snapshot taken by GET

No IoT operation lives under this prefix, so these paths never shadow one, and the
control endpoints answer under this prefix only.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iotmock.core.protocol import RawResponse
from iotmock.messaging.log import Message

if TYPE_CHECKING:
    from iotmock._mock import IotMock

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


class Control:
    """Answers `/_iotmock/...` requests for one mock."""

    def __init__(self, mock: IotMock, services: tuple[str, ...]) -> None:
        self.mock = mock
        self.services = services
        self._routes: dict[str, dict[str, Callable[[dict[str, list[str]], bytes], RawResponse]]]
        self._routes = {
            "health": {"GET": self._health},
            "reset": {"POST": self._reset},
            "messages": {"GET": self._messages},
            "state": {"GET": self._snapshot, "PUT": self._restore},
        }

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes
    ) -> RawResponse:
        name = path[len(PREFIX) :].strip("/")
        methods = self._routes.get(name)
        if methods is None:
            return _error(
                404,
                f"No control endpoint {path}. The control API answers "
                + ", ".join(f"{m} {PREFIX}{n}" for n, ms in self._routes.items() for m in ms)
                + " (docs/server.md).",
            )
        handler = methods.get(method)
        if handler is None:
            allowed = ", ".join(methods)
            return _error(405, f"{PREFIX}{name} answers {allowed}, not {method}.", allow=allowed)
        return handler(query, body)

    def _health(self, query: dict[str, list[str]], body: bytes) -> RawResponse:
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

    def _reset(self, query: dict[str, list[str]], body: bytes) -> RawResponse:
        self.mock.reset()
        return _json(200, {"reset": True})

    def _messages(self, query: dict[str, list[str]], body: bytes) -> RawResponse:
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
    def _snapshot(self, query: dict[str, list[str]], body: bytes) -> RawResponse:
        with self.mock.lock:
            state = self.mock.snapshot()
        return _json(200, state)

    def _restore(self, query: dict[str, list[str]], body: bytes) -> RawResponse:
        try:
            state: Any = json.loads(body)
        except ValueError:
            return _error(400, "A snapshot is a JSON document (GET /_iotmock/state).")
        try:
            with self.mock.lock:
                self.mock.restore(state)
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, f"Could not restore this snapshot: {exc}")
        return _json(200, {"restored": True})
