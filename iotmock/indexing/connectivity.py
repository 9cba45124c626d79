"""Connectivity status of MQTT clients, learnt from the lifecycle events the data plane
publishes (`$aws/events/presence/connected|disconnected/<clientId>`, sent by
`IotMock.devices.connect` and iot-data DeleteConnection).

As in AWS, a thing's connectivity is the status of the client whose client id is the
thing's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from iotmock.core.events import subscribe
from iotmock.core.operations import RequestContext
from iotmock.messaging.log import Message

_PRESENCE_TOPIC = re.compile(r"\$aws/events/presence/(connected|disconnected)/(.+)")


@dataclass(slots=True)
class ClientStatus:
    connected: bool
    timestamp_ms: int
    version: int
    disconnect_reason: str | None = None


@dataclass(slots=True)
class ConnectivityStore:
    clients: dict[str, ClientStatus] = field(default_factory=dict)


@subscribe("message_published", topic_prefix="$aws/events/presence/")
def _on_lifecycle_event(ctx: RequestContext, message: Message) -> None:
    if message.source != "lifecycle":
        return
    found = _PRESENCE_TOPIC.fullmatch(message.topic)
    if found is None:
        return
    event = message.json()
    connected = found.group(1) == "connected"
    ctx.backend.store(ConnectivityStore).clients[found.group(2)] = ClientStatus(
        connected=connected,
        timestamp_ms=int(event.get("timestamp", 0)),
        version=int(event.get("versionNumber", 0)),
        disconnect_reason=None if connected else event.get("disconnectReason"),
    )


def status_of(store: ConnectivityStore, client_id: str) -> ClientStatus | None:
    """The last known status of a client (None: it never connected)."""
    return store.clients.get(client_id)
