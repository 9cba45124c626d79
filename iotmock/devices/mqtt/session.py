"""MQTT sessions and message routing.

A `Session` is what the server keeps for a client id: its subscriptions and, for a
persistent session while the client is offline, the QoS 1 messages waiting for it. The
`Broker` holds the sessions of one listener and routes every message the mock publishes
to the sessions subscribed to its topic whose policy allows `iot:Receive`.

Threads: sessions are read and changed under the mock's lock only (routing runs inside
`publish`, which every caller holds the lock for); the network side of a session (its
live connection) is handed messages through `Outbox.deliver`, which is thread-safe.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from ...messages import Message, topic_matches
from ...state import Backend
from .auth import Authorizer
from .codec import SubscriptionRequest as Subscription

# AWS keeps a persistent session one hour after the client disconnects (the default of
# the account-level "persistent session expiry period").
DEFAULT_SESSION_EXPIRY_SECONDS = 3600
# QoS 1 messages kept for an offline persistent session (AWS throttles queued messages
# per session; the mock bounds memory instead and drops the oldest).
MAX_QUEUED_MESSAGES = 10_000


class Outbox(Protocol):
    """A live connection, as the broker sees it."""

    def deliver(self, message: Message, qos: int, retain: bool) -> None:
        """Send `message` to the client (any thread)."""

    def close(self, reason: str) -> None:
        """End the connection for `reason` (any thread)."""


@dataclass(slots=True, eq=False)
class Session:
    client_id: str
    backend: Backend
    authorizer: Authorizer
    persistent: bool
    expiry_seconds: float = 0
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    # (message, qos, when queued) waiting for the client to come back (persistent
    # sessions only); `when` is time.monotonic(), for MQTT 5 message expiry.
    queue: deque[tuple[Message, int, float]] = field(default_factory=deque)
    outbox: Outbox | None = None
    disconnected_at: float = 0.0

    def expired(self, now: float) -> bool:
        return self.outbox is None and now - self.disconnected_at > self.expiry_seconds


def _published_qos(message: Message) -> int:
    """The QoS a message was published with. Messages of the service itself (shadow and
    jobs replies, lifecycle events, rule republish of QoS 1) go out at up to QoS 1, so a
    subscriber's granted QoS decides."""
    if message.source in ("client", "will") or message.source.startswith("rule:"):
        return message.qos
    return 1


class Broker:
    """The sessions of one MQTT listener, by (account, region) and client id."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[str, str], dict[str, Session]] = {}

    def sessions(self, backend: Backend) -> dict[str, Session]:
        key = (backend.account_id, backend.region)
        found = self._sessions.get(key)
        if found is None:
            found = self._sessions[key] = {}
        return found

    def find(self, backend: Backend, client_id: str) -> Session | None:
        """The live or unexpired session of `client_id` (expired ones are dropped)."""
        sessions = self.sessions(backend)
        session = sessions.get(client_id)
        if session is not None and session.expired(time.monotonic()):
            del sessions[client_id]
            return None
        return session

    def remove(self, session: Session) -> None:
        sessions = self.sessions(session.backend)
        if sessions.get(session.client_id) is session:
            del sessions[session.client_id]

    def route(self, backend: Backend, message: Message) -> None:
        """Hand `message` to every session subscribed to its topic that may receive it."""
        sessions = self._sessions.get((backend.account_id, backend.region))
        if not sessions:
            return
        topic = message.topic
        now = time.monotonic()
        for client_id, session in list(sessions.items()):
            qos = -1
            retain = False
            for subscription in session.subscriptions.values():
                if subscription.no_local and message.client_id == client_id:
                    continue
                if topic_matches(subscription.topic_filter, topic):
                    qos = max(qos, subscription.qos)
                    retain = retain or (subscription.retain_as_published and message.retain)
            if qos < 0:
                continue
            if session.outbox is None and session.expired(now):
                del sessions[client_id]
                continue
            if session.authorizer.principal.certificate.status != "ACTIVE":
                # AWS disconnects the devices of a certificate that leaves ACTIVE.
                if session.outbox is not None:
                    session.outbox.close("AUTH_ERROR")
                continue
            if not session.authorizer.allowed("iot:Receive", "topic/" + topic):
                continue
            qos = min(qos, _published_qos(message))
            if session.outbox is not None:
                session.outbox.deliver(message, qos, retain)
            elif qos == 1:
                session.queue.append((message, qos, now))
                if len(session.queue) > MAX_QUEUED_MESSAGES:
                    session.queue.popleft()

    def clear(self) -> None:
        self._sessions.clear()
