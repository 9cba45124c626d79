"""Connectivity status of MQTT clients, learnt from the lifecycle events the data plane
publishes (`$aws/events/presence/connected|disconnected/<clientId>`, sent by
`IotMock.devices.connect` and iot-data DeleteConnection).

As in AWS, a thing's connectivity is the status of the client whose client id is the
thing's name. The session details (keep-alive, clean session, session expiry, socket
addresses) come from the device session layer, while it remembers the session.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iotmock.core.backend import Backend
from iotmock.core.events import subscribe
from iotmock.core.operations import RequestContext
from iotmock.messaging.log import Message

if TYPE_CHECKING:
    from iotmock.devices.sessions import Session

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


def _last_session(backend: Backend, client_id: str) -> Session | None:
    # Imported here: the device session layer imports identity and registry modules
    # that import this package (dynamic thing groups).
    from iotmock.devices.sessions import last_session

    return last_session(backend, client_id)


def session_details(backend: Backend, client_id: str, *, socket: bool = False) -> dict[str, Any]:
    """The session information of the client's live or last session (botocore 1.44+
    GetThingConnectivityData and ThingConnectivity members), with `socket` also its
    socket information (no VPC endpoints in the mock); empty when the session layer no
    longer remembers the session."""
    session = _last_session(backend, client_id)
    if session is None:
        return {}
    found: dict[str, Any] = {
        "clientId": session.client_id,
        "keepAliveDuration": session.keep_alive,
        "cleanSession": session.clean_session,
        "sessionExpiry": session.session_expiry,
    }
    if socket:
        found.update(
            sourceIp=session.source_ip,
            sourcePort=session.source_port,
            targetIp=session.target_ip,
            targetPort=session.target_port,
        )
    return found
