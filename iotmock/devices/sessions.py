"""Device sessions: the one registry of MQTT connections of an account and region, and
what the message broker does for them, whatever carries the bytes.

A transport (a simulated device of `m.devices`, or the MQTT listener) calls `connect`
with two callbacks: `deliver(Delivery)` hands a message to the client, `close(reason)`
ends the client's network connection when the service does (takeover, DeleteConnection,
a forbidden publish over MQTT 3.1.1). The transport then calls `subscribe`,
`unsubscribe`, `publish` and `disconnect` as packets arrive. This layer runs the rest:
certificate checks and just-in-time registration, policy checks (iot:Connect, Publish,
Subscribe, Receive), lifecycle events, takeover of a duplicate client id, the last will,
retained messages on subscribe, persistent sessions that queue QoS 1 messages while the
client is offline, and the fleet provisioning topics. Every function takes the mock's
lock; callbacks run under it, so they must not block (queue the bytes and return).

Messages reach sessions from the message log's "message_published" event, so a message
published by anyone (iot-data Publish, a shadow update, a rule's republish, another
device) reaches every subscribed device.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError
from iotmock.core.events import subscribe as on_event
from iotmock.core.operations import RequestContext
from iotmock.core.paging import SortedIndex
from iotmock.devices import jitr, provisioning
from iotmock.devices.access import CONNECT, PUBLISH, RECEIVE, SUBSCRIBE, Access
from iotmock.devices.errors import ConnectionRefused
from iotmock.identity import crypto
from iotmock.identity.ca_certificates import parse_certificate
from iotmock.identity.records import CAStore, Certificate, identity_of
from iotmock.messaging.handlers import (
    MAX_PAYLOAD_BYTES,
    MessagingStore,
    check_publish_topic,
    retain_message,
)
from iotmock.messaging.log import Message, publish, topic_matches

if TYPE_CHECKING:
    from iotmock._mock import IotMock

CLIENT_INITIATED_DISCONNECT = "CLIENT_INITIATED_DISCONNECT"
# The disconnectReason values of the lifecycle events (DG:life-cycle-events) and the
# API-initiated one of DeleteConnection.
DISCONNECT_REASONS = frozenset(
    {
        "AUTH_ERROR",
        CLIENT_INITIATED_DISCONNECT,
        "CLIENT_ERROR",
        "CONNECTION_LOST",
        "DUPLICATE_CLIENTID",
        "FORBIDDEN_ACCESS",
        "MQTT_KEEP_ALIVE_TIMEOUT",
        "SERVER_ERROR",
        "SERVER_INITIATED_DISCONNECT",
        "THROTTLED",
        "WEBSOCKET_TTL_EXPIRATION",
        "CUSTOMAUTH_TTL_EXPIRATION",
        "API_INITIATED_DISCONNECT",
        "UNKNOWN",
    }
)
PROTOCOLS = ("mqtt311", "mqtt5")
DEFAULT_KEEP_ALIVE = 1200
# AWS keeps an offline persistent session for 1 hour by default (adjustable quota).
DEFAULT_SESSION_EXPIRY = 3600
# GetConnection answers for a disconnected client for 30 minutes.
DISCONNECTED_MEMORY_MS = 30 * 60 * 1000
# SUBACK / PUBACK reason codes the transport forwards.
SUBACK_FAILURE = 0x80
NOT_AUTHORIZED = 0x87
SUCCESS = 0
MAX_TOPIC_FILTER_BYTES = 256
MAX_CLIENT_ID_BYTES = 128


@dataclass(slots=True, frozen=True)
class Will:
    """The last will: published when the connection ends other than by the client's
    own DISCONNECT."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False


@dataclass(slots=True, eq=False)
class Delivery:
    """A message handed to a client, at the QoS it is delivered with.

    `retained` marks a retained message sent because of a new subscription. A transport
    delivering at QoS 1 calls `acknowledge()` when the client's PUBACK arrives
    (SendDirectMessage with confirmation waits for it); simulated devices acknowledge
    at once unless told not to.
    """

    message: Message
    qos: int
    retained: bool = False
    acknowledged: threading.Event = field(default_factory=threading.Event)

    def acknowledge(self) -> None:
        self.acknowledged.set()


Deliver = Callable[[Delivery], None]
Close = Callable[[str], None]


@dataclass(slots=True)
class Subscription:
    topic_filter: str
    qos: int


@dataclass(slots=True, eq=False)
class Session:
    """One client's session: live while `connected`, kept offline when persistent."""

    mock: IotMock
    backend: Backend
    client_id: str
    session_id: str
    # principalIdentifier of the lifecycle events: the certificate id, or what a
    # simulated device declared (default: the account id).
    principal: str
    certificate: Certificate | None
    access: Access
    protocol: str
    clean_session: bool
    session_expiry: int
    keep_alive: int
    will: Will | None
    deliver: Deliver
    close: Close
    transport: str
    source_ip: str
    source_port: int
    target_ip: str
    target_port: int
    connected_at_ms: int
    subscriptions: SortedIndex[Subscription] = field(default_factory=SortedIndex)
    # QoS 1 messages that arrived while a persistent session was offline.
    queued: list[Delivery] = field(default_factory=list)
    connected: bool = True
    disconnected_at_ms: int | None = None
    disconnect_reason: str | None = None

    @property
    def thing_name(self) -> str | None:
        thing = self.access.thing()
        return thing.name if thing is not None else None

    def expired(self, now_ms: int) -> bool:
        """An offline session past its expiry is gone."""
        if self.connected or self.disconnected_at_ms is None:
            return False
        return now_ms > self.disconnected_at_ms + self.session_expiry * 1000


@dataclass(slots=True)
class SessionStore:
    """The connection registry: every session, whatever its transport."""

    # Connected sessions and offline persistent ones, by client id.
    sessions: dict[str, Session] = field(default_factory=dict)
    # The last session of each client that disconnected (GetConnection).
    last_seen: dict[str, Session] = field(default_factory=dict)
    # Lifecycle events carry a per-client version number, +1 at each connect/disconnect.
    versions: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Connected:
    """What `connect` gives the transport: the session, MQTT's session-present flag, and
    the queued messages to deliver once the CONNACK is sent."""

    session: Session
    session_present: bool
    pending: list[Delivery]


@dataclass(slots=True)
class Subscribed:
    """SUBACK codes (granted QoS, or 0x80) and the retained messages to deliver after
    the SUBACK."""

    granted: list[int]
    pending: list[Delivery]


def store_of(backend: Backend) -> SessionStore:
    return backend.store(SessionStore)


def _context(mock: IotMock, backend: Backend, operation: str) -> RequestContext:
    return RequestContext(mock, backend, "iot-data", operation, backend.account_id, backend.region)


def context_of(session: Session, operation: str) -> RequestContext:
    """A request context for work done on behalf of `session`."""
    return _context(session.mock, session.backend, operation)


# --------------------------------------------------------------------------- lifecycle


def _event(session: Session, event_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "clientId": session.client_id,
        "timestamp": clock.now_millis(),
        "eventType": event_type,
        "sessionIdentifier": session.session_id,
        "principalIdentifier": session.principal,
        **extra,
    }


def _presence_event(ctx: RequestContext, session: Session, event_type: str, **extra: Any) -> None:
    store = store_of(ctx.backend)
    version = store.versions.get(session.client_id, -1) + 1
    store.versions[session.client_id] = version
    event = _event(session, event_type, **extra, versionNumber=version)
    topic = f"$aws/events/presence/{event_type}/{session.client_id}"
    publish(ctx, topic, event, source="lifecycle")


def _subscription_event(
    ctx: RequestContext, session: Session, event_type: str, topics: list[str]
) -> None:
    topic = f"$aws/events/subscriptions/{event_type}/{session.client_id}"
    publish(ctx, topic, _event(session, event_type, topics=topics), source="lifecycle")


# --------------------------------------------------------------------------- connect


def _device_certificate(
    ctx: RequestContext, certificate_id: str | None, certificate_pem: str | None
) -> Certificate | None:
    """The registered certificate a device presents; an unknown one signed by a CA
    with auto-registration goes through JITR/JITP (which refuses this connection)."""
    certificates = identity_of(ctx.backend).certificates
    record: Certificate | None = None
    if certificate_pem is not None:
        try:
            cert = parse_certificate(certificate_pem)
        except ServiceError as error:
            raise ConnectionRefused("UNKNOWN_CERTIFICATE", error.message) from None
        record = certificates.get(crypto.certificate_id(cert))
        if record is None:
            jitr.on_unknown_certificate(ctx, cert)
    elif certificate_id is not None:
        record = certificates.get(certificate_id.rpartition("/")[2])
    else:
        return None
    if record is None:
        raise ConnectionRefused(
            "UNKNOWN_CERTIFICATE",
            f"The certificate {certificate_id} is not registered in account "
            f"{ctx.account_id} ({ctx.region}).",
        )
    _check_usable(ctx, record)
    return record


def _check_usable(ctx: RequestContext, record: Certificate) -> None:
    if record.status != "ACTIVE":
        raise ConnectionRefused(
            "CERTIFICATE_NOT_ACTIVE",
            f"The certificate {record.certificate_id} is {record.status}; only ACTIVE "
            "certificates can connect.",
        )
    if record.not_after and record.not_after < clock.now():
        raise ConnectionRefused(
            "CERTIFICATE_NOT_ACTIVE", f"The certificate {record.certificate_id} has expired."
        )
    ca = ctx.backend.store(CAStore).cas.get(record.ca_certificate_id or "")
    if ca is not None and ca.status != "ACTIVE":
        raise ConnectionRefused(
            "CERTIFICATE_NOT_ACTIVE",
            f"The CA certificate {ca.certificate_id} that signed certificate "
            f"{record.certificate_id} is {ca.status}.",
        )


def connect(
    mock: IotMock,
    client_id: str,
    *,
    deliver: Deliver,
    close: Close,
    certificate_id: str | None = None,
    certificate_pem: str | None = None,
    principal: str | None = None,
    clean_session: bool = True,
    session_expiry: int | None = None,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    will: Will | None = None,
    protocol: str = "mqtt311",
    transport: str = "simulated",
    source: tuple[str, int] = ("127.0.0.1", 0),
    target: tuple[str, int] = ("127.0.0.1", 8883),
    account_id: str | None = None,
    region: str | None = None,
) -> Connected:
    """Connect `client_id` (ConnectionRefused when the service refuses it).

    With `certificate_id` or `certificate_pem` the certificate must be registered and
    ACTIVE (an unknown PEM signed by a CA that allows auto-registration runs JITR or
    JITP and is refused) and the policies must allow iot:Connect on `client/<clientId>`;
    every later action is checked against the policies. Without a certificate nothing is
    checked and `principal` is only the principalIdentifier of the lifecycle events.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
    if not client_id or client_id.startswith("$") or len(client_id.encode()) > MAX_CLIENT_ID_BYTES:
        raise ConnectionRefused(
            "INVALID_CLIENT_ID",
            f"The client id {client_id!r} is invalid: it must have 1 to "
            f"{MAX_CLIENT_ID_BYTES} bytes and must not start with $.",
        )
    with mock.lock:
        backend = mock.backend(account_id, region)
        ctx = _context(mock, backend, "Connect")
        certificate = _device_certificate(ctx, certificate_id, certificate_pem)
        access = Access(backend, certificate, client_id)
        if not access.allows(CONNECT, f"client/{client_id}"):
            raise ConnectionRefused(
                "NOT_AUTHORIZED",
                f"The policies of certificate {certificate.certificate_id if certificate else ''}"
                f" do not allow iot:Connect for client id {client_id}.",
            )
        store = store_of(backend)
        previous = store.sessions.get(client_id)
        if previous is not None and previous.connected:
            # AWS disconnects the older connection of a client id that connects again.
            _end(ctx, previous, "DUPLICATE_CLIENTID", publish_will=True, keep_state=True)
        now = clock.now_millis()
        inherited = previous if previous is not None and not previous.clean_session else None
        if inherited is not None and (clean_session or inherited.expired(now)):
            inherited = None
        session = Session(
            mock=mock,
            backend=backend,
            client_id=client_id,
            session_id=str(uuid.uuid4()),
            principal=certificate.certificate_id
            if certificate is not None
            else principal or backend.account_id,
            certificate=certificate,
            access=access,
            protocol=protocol,
            clean_session=clean_session,
            session_expiry=DEFAULT_SESSION_EXPIRY if session_expiry is None else session_expiry,
            keep_alive=keep_alive,
            will=will,
            deliver=deliver,
            close=close,
            transport=transport,
            source_ip=source[0],
            source_port=source[1],
            target_ip=target[0],
            target_port=target[1],
            connected_at_ms=now,
        )
        pending: list[Delivery] = []
        if inherited is not None:
            session.subscriptions = inherited.subscriptions
            pending, inherited.queued = inherited.queued, []
        store.sessions[client_id] = session
        store.last_seen.pop(client_id, None)
        _presence_event(ctx, session, "connected", ipAddress=session.source_ip)
        return Connected(session, inherited is not None, pending)


# --------------------------------------------------------------------------- disconnect


def _end(
    ctx: RequestContext,
    session: Session,
    reason: str,
    *,
    publish_will: bool,
    keep_state: bool,
    by_service: bool = True,
) -> None:
    """End a live session: when the service ends it, the transport's `close` callback
    runs; the will is published, the disconnected event follows; a persistent session
    stays (offline) unless `keep_state` is False."""
    session.connected = False
    session.disconnected_at_ms = clock.now_millis()
    session.disconnect_reason = reason
    store = store_of(ctx.backend)
    dropped = session.clean_session or not keep_state
    if dropped and store.sessions.get(session.client_id) is session:
        del store.sessions[session.client_id]
    store.last_seen[session.client_id] = session
    if by_service:
        session.close(reason)
    will = session.will
    if publish_will and will is not None and session.access.allows(PUBLISH, f"topic/{will.topic}"):
        if will.retain:
            retain_message(ctx, will.topic, will.payload, will.qos, None)
        publish(
            ctx,
            will.topic,
            will.payload,
            qos=will.qos,
            retain=will.retain,
            source="will",
            client_id=session.client_id,
        )
    _presence_event(
        ctx,
        session,
        "disconnected",
        clientInitiatedDisconnect=reason == CLIENT_INITIATED_DISCONNECT,
        disconnectReason=reason,
    )


def disconnect(
    session: Session,
    reason: str = CLIENT_INITIATED_DISCONNECT,
    *,
    publish_will: bool | None = None,
    clean_state: bool = False,
) -> None:
    """The transport reports that the connection of `session` ended (its `close`
    callback is not called): by the client's DISCONNECT
    (CLIENT_INITIATED_DISCONNECT: no will, unless `publish_will`, MQTT 5's "disconnect
    with will message"), or otherwise (CONNECTION_LOST, MQTT_KEEP_ALIVE_TIMEOUT, ...: the
    will is published). `clean_state` drops a persistent session too. A session already
    ended (taken over, deleted) is left alone."""
    if reason not in DISCONNECT_REASONS:
        raise ValueError(f"unknown disconnect reason {reason!r}")
    with session.mock.lock:
        if not session.connected:
            return
        will = reason != CLIENT_INITIATED_DISCONNECT if publish_will is None else publish_will
        ctx = context_of(session, "Disconnect")
        _end(ctx, session, reason, publish_will=will, keep_state=not clean_state, by_service=False)


def end_by_service(
    ctx: RequestContext,
    session: Session,
    reason: str,
    *,
    publish_will: bool = True,
    clean_state: bool = False,
) -> None:
    """The service ends a live session (DeleteConnection, a JITR refusal, ...)."""
    _end(ctx, session, reason, publish_will=publish_will, keep_state=not clean_state)


def live_session(backend: Backend, client_id: str) -> Session | None:
    found = store_of(backend).sessions.get(client_id)
    return found if found is not None and found.connected else None


def known_session(backend: Backend, client_id: str) -> Session | None:
    """The session of `client_id`: live, offline persistent (not expired), or None."""
    store = store_of(backend)
    found = store.sessions.get(client_id)
    if found is not None and found.expired(clock.now_millis()):
        del store.sessions[client_id]
        return None
    return found


def last_session(backend: Backend, client_id: str) -> Session | None:
    """The live session of `client_id`, else its last one if it disconnected less than
    30 minutes ago (what GetConnection reports)."""
    live = live_session(backend, client_id)
    if live is not None:
        return live
    store = store_of(backend)
    found = store.last_seen.get(client_id)
    if found is None or found.disconnected_at_ms is None:
        return None
    if clock.now_millis() - found.disconnected_at_ms > DISCONNECTED_MEMORY_MS:
        del store.last_seen[client_id]
        return None
    return found


# --------------------------------------------------------------------------- subscribe


def valid_topic_filter(topic_filter: str) -> bool:
    """MQTT topic filter rules: `#` only as the whole last level, `+` only as a whole
    level; at most 256 bytes."""
    if not topic_filter or len(topic_filter.encode()) > MAX_TOPIC_FILTER_BYTES:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def subscribe(session: Session, filters: Sequence[tuple[str, int]]) -> Subscribed:
    """SUBSCRIBE: each filter is granted (QoS 0 or 1: AWS IoT has no QoS 2) when valid
    and allowed by iot:Subscribe on `topicfilter/<filter>`, else refused (0x80). The
    retained messages matching a granted filter come back in `pending`."""
    with session.mock.lock:
        ctx = context_of(session, "Subscribe")
        granted: list[int] = []
        accepted: list[str] = []
        pending: list[Delivery] = []
        for topic_filter, qos in filters:
            if not valid_topic_filter(topic_filter) or not session.access.allows(
                SUBSCRIBE, f"topicfilter/{topic_filter}"
            ):
                granted.append(SUBACK_FAILURE)
                continue
            level = min(max(qos, 0), 1)
            session.subscriptions[topic_filter] = Subscription(topic_filter, level)
            granted.append(level)
            accepted.append(topic_filter)
            pending.extend(_retained_for(ctx, session, topic_filter, level))
        if accepted:
            _subscription_event(ctx, session, "subscribed", accepted)
        return Subscribed(granted, pending)


def _retained_for(
    ctx: RequestContext, session: Session, topic_filter: str, qos: int
) -> list[Delivery]:
    found = []
    for retained in ctx.backend.store(MessagingStore).retained.values():
        if not topic_matches(topic_filter, retained.topic):
            continue
        if not session.access.allows(RECEIVE, f"topic/{retained.topic}"):
            continue
        message = Message(
            retained.topic,
            retained.payload,
            qos=retained.qos,
            retain=True,
            timestamp=retained.last_modified_ms / 1000,
            source="retained",
        )
        found.append(Delivery(message, min(qos, retained.qos), retained=True))
    return found


def unsubscribe(session: Session, filters: Sequence[str]) -> None:
    """UNSUBSCRIBE: forget the filters (unknown ones are ignored, as MQTT says)."""
    with session.mock.lock:
        removed = [f for f in filters if session.subscriptions.pop(f) is not None]
        if removed:
            ctx = context_of(session, "Unsubscribe")
            _subscription_event(ctx, session, "unsubscribed", removed)


# --------------------------------------------------------------------------- publish


def publish_from(
    session: Session,
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    retain: bool = False,
    **properties: Any,
) -> int:
    """PUBLISH from the client; the PUBACK reason code (0, or 0x87 when iot:Publish is
    denied). A topic the client may not publish to, or too large a payload, ends the
    connection (CLIENT_ERROR); a denied publish ends an MQTT 3.1.1 connection
    (FORBIDDEN_ACCESS), while MQTT 5 only answers 0x87. `properties` are the MQTT 5
    properties of the message log (user_properties, content_type, ...)."""
    with session.mock.lock:
        if not session.connected:
            return NOT_AUTHORIZED
        ctx = context_of(session, "Publish")
        try:
            check_publish_topic(topic, retain=retain)
        except ServiceError:
            _end(ctx, session, "CLIENT_ERROR", publish_will=True, keep_state=True)
            return NOT_AUTHORIZED
        if len(payload) > MAX_PAYLOAD_BYTES:
            _end(ctx, session, "CLIENT_ERROR", publish_will=True, keep_state=True)
            return NOT_AUTHORIZED
        if not session.access.allows(PUBLISH, f"topic/{topic}"):
            if session.protocol == "mqtt311":
                _end(ctx, session, "FORBIDDEN_ACCESS", publish_will=True, keep_state=True)
            return NOT_AUTHORIZED

        def reply(reply_topic: str, reply_payload: bytes) -> None:
            deliver_to(session, Message(reply_topic, reply_payload, source="provisioning"))

        if provisioning.handle(ctx, session.client_id, session.certificate, topic, payload, reply):
            return SUCCESS
        if retain:
            retain_message(ctx, topic, payload, qos, properties.get("user_properties"))
        publish(
            ctx,
            topic,
            payload,
            qos=min(qos, 1),
            retain=retain,
            source="client",
            client_id=session.client_id,
            **properties,
        )
        return SUCCESS


# --------------------------------------------------------------------------- delivery


def _subscribed_qos(session: Session, topic: str) -> int | None:
    """The highest QoS of the session's filters matching `topic` (None: none match)."""
    best: int | None = None
    for subscription in session.subscriptions.values():
        if topic_matches(subscription.topic_filter, topic):
            best = subscription.qos if best is None else max(best, subscription.qos)
    return best


def deliver_to(session: Session, message: Message, *, qos: int | None = None) -> Delivery | None:
    """Deliver `message` to `session` when it subscribes to the topic (or, with `qos`
    given, unconditionally: direct messages) and may receive it; queue QoS 1 messages
    of an offline persistent session. The Delivery handed over, or None."""
    if qos is None:
        subscribed = _subscribed_qos(session, message.topic)
        if subscribed is None:
            return None
        qos = min(subscribed, message.qos)
    if not session.access.allows(RECEIVE, f"topic/{message.topic}"):
        return None
    delivery = Delivery(message, qos)
    if session.connected:
        session.deliver(delivery)
        return delivery
    if qos >= 1:
        session.queued.append(delivery)
    return None


@on_event("message_published")
def _route(ctx: RequestContext, message: Message) -> None:
    """The broker: every published message goes to every session subscribed to it."""
    store = store_of(ctx.backend)
    if not store.sessions:
        return
    now = clock.now_millis()
    for client_id, session in list(store.sessions.items()):
        if session.expired(now):
            del store.sessions[client_id]
            continue
        deliver_to(session, message)
