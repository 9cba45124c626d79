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

import dataclasses
import json
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
from iotmock.devices import jitr, lifecycle, provisioning
from iotmock.devices.access import CONNECT, PUBLISH, RECEIVE, RETAIN_PUBLISH, SUBSCRIBE, Access
from iotmock.devices.errors import ConnectionRefused
from iotmock.identity import crypto
from iotmock.identity.ca_certificates import parse_certificate
from iotmock.identity.records import Certificate, cas_of, identity_of
from iotmock.messaging.handlers import (
    MAX_PAYLOAD_BYTES,
    MAX_TOPIC_SLASHES,
    check_publish_topic,
    counted_slashes,
    retain_message,
    retained_of,
)
from iotmock.messaging.log import Message, publish, topic_matches
from iotmock.messaging.topic_tree import FilterIndex

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
# AWS keeps an offline persistent session for 1 hour by default (an adjustable account
# quota): longer MQTT 5 session expiry intervals are lowered to it.
DEFAULT_SESSION_EXPIRY = 3600
# QoS 1 messages kept for an offline persistent session (AWS throttles queued messages
# per session; the mock bounds memory instead and drops the oldest).
MAX_QUEUED_MESSAGES = 10_000
# AWS IoT Core message broker quotas (AWS General Reference, "AWS IoT Core endpoints and
# quotas"): topic filters per SUBSCRIBE, and subscriptions per connection.
MAX_SUBSCRIPTIONS_PER_SUBSCRIBE = 8
MAX_SUBSCRIPTIONS_PER_CONNECTION = 50
# GetConnection answers for a disconnected client for 30 minutes.
DISCONNECTED_MEMORY_MS = 30 * 60 * 1000
# SUBACK / PUBACK reason codes the transport forwards.
SUBACK_FAILURE = 0x80
NOT_AUTHORIZED = 0x87
SUCCESS = 0
# Why a subscription was refused, as MQTT 5 SUBACK reason codes (Subscribed.reasons).
TOPIC_FILTER_INVALID = 0x8F
QUOTA_EXCEEDED = 0x97
SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E
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

    `retained` marks a retained message sent because of a new subscription; `retain` is
    the RETAIN flag the client sees (retained messages, and MQTT 5 "retain as
    published"). A transport delivering at QoS 1 calls `acknowledge()` when the client's
    PUBACK arrives (SendDirectMessage with confirmation waits for it); simulated devices
    acknowledge at once unless told not to. A QoS 1 delivery not acknowledged when a
    persistent session goes offline is queued again, and sent again on reconnection
    (`redelivery`: the transport sets MQTT's DUP flag).
    """

    message: Message
    qos: int
    retained: bool = False
    retain: bool = False
    # When it was queued for an offline session (ms), for MQTT 5 message expiry.
    queued_at_ms: int | None = None
    redelivery: bool = False
    # Acknowledged yet; the Event exists only once someone waits (most never do, and an
    # Event per message is a measurable part of a delivery's cost).
    done: bool = False
    _event: threading.Event | None = field(default=None, repr=False)

    def acknowledge(self) -> None:
        with _ACK_LOCK:
            self.done = True
            if self._event is not None:
                self._event.set()

    @property
    def acknowledged(self) -> threading.Event:
        """An Event set when the client acknowledges (wait on it)."""
        with _ACK_LOCK:
            if self._event is None:
                self._event = threading.Event()
                if self.done:
                    self._event.set()
            return self._event


# Guards Delivery's lazily made Event (acknowledge runs on the transport's thread).
_ACK_LOCK = threading.Lock()


Deliver = Callable[[Delivery], None]
Close = Callable[[str], None]


@dataclass(slots=True)
class Subscription:
    """A granted subscription, with MQTT 5's subscription options (defaults: MQTT 3.1.1
    behaviour): `no_local` (not the client's own messages), `retain_as_published` (keep
    the RETAIN flag), `retain_handling` (0: retained messages on every subscribe, 1: only
    for a new subscription, 2: never)."""

    topic_filter: str
    qos: int
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


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
    # The thing attached to the certificate as EXCLUSIVE_THING when it connected.
    exclusive_thing: str | None = None
    subscriptions: SortedIndex[Subscription] = field(default_factory=SortedIndex)
    # QoS 1 messages that arrived while a persistent session was offline.
    queued: list[Delivery] = field(default_factory=list)
    # QoS 1 deliveries handed to the live connection (acknowledged ones pruned lazily).
    unacked: list[Delivery] = field(default_factory=list)
    prune_at: int = 64
    connected: bool = True
    disconnected_at_ms: int | None = None
    disconnect_reason: str | None = None

    @property
    def persistent(self) -> bool:
        """Whether the session outlives the connection (MQTT 3.1.1 cleanSession=0, or an
        MQTT 5 session expiry interval above 0)."""
        return self.session_expiry > 0

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
    # Which clients subscribe with which filters: the broker's index (see _route).
    filters: FilterIndex = field(default_factory=FilterIndex)


def _forget(store: SessionStore, session: Session) -> None:
    """Take a session that is gone out of the broker's index."""
    for topic_filter in session.subscriptions:
        store.filters.remove(topic_filter, session.client_id)


@dataclass(slots=True)
class Connected:
    """What `connect` gives the transport: the session, MQTT's session-present flag, and
    the queued messages to deliver once the CONNACK is sent."""

    session: Session
    session_present: bool
    pending: list[Delivery]


@dataclass(slots=True)
class Subscribed:
    """SUBACK codes (granted QoS, or 0x80), the same as MQTT 5 reason codes (granted QoS,
    or why not: 0x87 not authorized, 0x8F invalid filter, 0x97 quota exceeded, 0x9E
    shared subscription) and the retained messages to deliver after the SUBACK."""

    granted: list[int]
    pending: list[Delivery]
    reasons: list[int] = field(default_factory=list)


def store_of(backend: Backend) -> SessionStore:
    return backend.store(SessionStore)


def _context(mock: IotMock, backend: Backend, operation: str) -> RequestContext:
    return RequestContext(mock, backend, "iot-data", operation, backend.account_id, backend.region)


def context_of(session: Session, operation: str) -> RequestContext:
    """A request context for work done on behalf of `session`."""
    return _context(session.mock, session.backend, operation)


def _presence_event(ctx: RequestContext, session: Session, event_type: str, **extra: Any) -> None:
    lifecycle.presence_event(ctx, session, store_of(ctx.backend).versions, event_type, **extra)


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
    ca = cas_of(ctx.backend).cas.get(record.ca_certificate_id or "")
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
        backend = mock._state(account_id, region)  # a connection is activity there
        ctx = _context(mock, backend, "Connect")
        certificate = _device_certificate(ctx, certificate_id, certificate_pem)
        access = Access(backend, certificate, client_id)
        if not access.allows(CONNECT, f"client/{client_id}"):
            lifecycle.connect_failed(ctx, client_id, certificate)
            raise ConnectionRefused(
                "NOT_AUTHORIZED",
                f"The policies of certificate {certificate.certificate_id if certificate else ''}"
                f" do not allow iot:Connect for client id {client_id}.",
            )
        if will is not None and not _will_allowed(access, will):
            # The will is authorized with the connection (DG:retained-message-policy-examples).
            lifecycle.connect_failed(ctx, client_id, certificate)
            raise ConnectionRefused(
                "NOT_AUTHORIZED",
                f"The policies do not allow client {client_id} to publish its will message "
                f"to {will.topic!r}.",
            )
        if session_expiry is None:
            session_expiry = 0 if clean_session else DEFAULT_SESSION_EXPIRY
        session_expiry = min(max(session_expiry, 0), DEFAULT_SESSION_EXPIRY)
        store = store_of(backend)
        previous = store.sessions.get(client_id)
        if previous is not None and previous.connected:
            # AWS disconnects the older connection of a client id that connects again.
            _end(ctx, previous, "DUPLICATE_CLIENTID", publish_will=True, keep_state=True)
        now = clock.now_millis()
        inherited = previous if store.sessions.get(client_id) is previous else None
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
            session_expiry=session_expiry,
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
            exclusive_thing=access.exclusive_thing(),
        )
        pending: list[Delivery] = []
        if inherited is not None:
            session.subscriptions = inherited.subscriptions
            pending = _unexpired(inherited.queued, now)
            inherited.queued = []
        else:
            replaced = store.sessions.get(client_id)
            if replaced is not None:  # an offline session a clean start discards
                _forget(store, replaced)
        store.sessions[client_id] = session
        store.last_seen.pop(client_id, None)
        _presence_event(ctx, session, "connected", ipAddress=session.source_ip)
        for delivery in pending:
            _track(session, delivery)
        return Connected(session, inherited is not None, pending)


def _unexpired(queued: list[Delivery], now_ms: int) -> list[Delivery]:
    """The queued deliveries still to send: MQTT 5 message expiry drops those that
    expired while waiting and tells the client how long the others have left."""
    kept = []
    for delivery in queued:
        expiry = delivery.message.message_expiry
        if expiry is not None and delivery.queued_at_ms is not None:
            remaining = int(expiry - (now_ms - delivery.queued_at_ms) / 1000)
            if remaining <= 0:
                continue
            delivery.message = dataclasses.replace(delivery.message, message_expiry=remaining)
        kept.append(delivery)
    return kept


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
    dropped = not session.persistent or not keep_state
    if dropped and store.sessions.get(session.client_id) is session:
        del store.sessions[session.client_id]
        _forget(store, session)
    elif not dropped:
        # QoS 1 messages the client did not acknowledge are sent again when it returns.
        unacked = [d for d in session.unacked if not d.done]
        for delivery in unacked:
            delivery.redelivery = True
            delivery.queued_at_ms = session.disconnected_at_ms
        session.queued[:0] = unacked
    session.unacked = []
    store.last_seen[session.client_id] = session
    will = session.will
    if publish_will and will is not None and _may_publish(session.access, will.topic, will.retain):
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
    if by_service:
        # Last: a client that sees its connection end finds the will and event published.
        session.close(reason)


def _may_publish(access: Access, topic: str, retain: bool) -> bool:
    resource = f"topic/{topic}"
    if not access.allows(PUBLISH, resource):
        return False
    return not retain or access.allows(RETAIN_PUBLISH, resource)


def _will_allowed(access: Access, will: Will) -> bool:
    try:
        check_publish_topic(will.topic, retain=will.retain)
    except ServiceError:
        return False
    return _may_publish(access, will.topic, will.retain)


def _check_certificate(ctx: RequestContext, session: Session) -> bool:
    """AWS disconnects the devices of a certificate that leaves ACTIVE (AUTH_ERROR): the
    mock notices at the session's next action or message."""
    if session.access.certificate_active():
        return True
    _end(ctx, session, "AUTH_ERROR", publish_will=True, keep_state=True)
    return False


def disconnect(
    session: Session,
    reason: str = CLIENT_INITIATED_DISCONNECT,
    *,
    publish_will: bool | None = None,
    clean_state: bool = False,
    session_expiry: int | None = None,
) -> None:
    """The transport reports that the connection of `session` ended (its `close`
    callback is not called): by the client's DISCONNECT
    (CLIENT_INITIATED_DISCONNECT: no will, unless `publish_will`, MQTT 5's "disconnect
    with will message"), or otherwise (CONNECTION_LOST, MQTT_KEEP_ALIVE_TIMEOUT, ...: the
    will is published). `clean_state` drops a persistent session too; `session_expiry`
    is a new expiry interval (MQTT 5 DISCONNECT). A session already ended (taken over,
    deleted) is left alone."""
    if reason not in DISCONNECT_REASONS:
        raise ValueError(f"unknown disconnect reason {reason!r}")
    with session.mock.lock:
        if not session.connected:
            return
        will = reason != CLIENT_INITIATED_DISCONNECT if publish_will is None else publish_will
        if session_expiry is not None:
            session.session_expiry = min(max(session_expiry, 0), DEFAULT_SESSION_EXPIRY)
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
        _forget(store, found)
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


def topic_filter_problem(topic_filter: str) -> str | None:
    """Why `topic_filter` is not a valid subscription, or None when it is: MQTT's
    wildcard rules (`#` only as the whole last level, `+` only as a whole level) and
    AWS's limits (256 bytes, 7 slashes not counting the mandatory segments of reserved
    topics: a `$aws/rules/<rule>/` prefix, a whole `$aws/...` reserved topic)."""
    if not topic_filter:
        return "the topic filter is empty"
    if len(topic_filter.encode()) > MAX_TOPIC_FILTER_BYTES:
        return f"the topic filter is longer than {MAX_TOPIC_FILTER_BYTES} bytes"
    levels = topic_filter.split("/")
    if counted_slashes(topic_filter) > MAX_TOPIC_SLASHES:
        return f"the topic filter has more than {MAX_TOPIC_SLASHES} forward slashes"
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "'#' must be the last level, alone"
        if "+" in level and level != "+":
            return "'+' must be a whole level"
    return None


def valid_topic_filter(topic_filter: str) -> bool:
    return topic_filter_problem(topic_filter) is None


def _refusal(session: Session, index: int, topic_filter: str) -> int | None:
    """The MQTT 5 reason a subscription is refused, or None when it is granted."""
    if topic_filter.startswith("$share/"):
        # Shared subscriptions are not served by the mock (see docs/devices.md).
        return SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
    if not valid_topic_filter(topic_filter):
        return TOPIC_FILTER_INVALID
    over_connection = (
        topic_filter not in session.subscriptions
        and len(session.subscriptions) >= MAX_SUBSCRIPTIONS_PER_CONNECTION
    )
    if index >= MAX_SUBSCRIPTIONS_PER_SUBSCRIBE or over_connection:
        return QUOTA_EXCEEDED
    if not session.access.allows(SUBSCRIBE, f"topicfilter/{topic_filter}"):
        return NOT_AUTHORIZED
    return None


def subscribe(session: Session, filters: Sequence[tuple[str, int] | Subscription]) -> Subscribed:
    """SUBSCRIBE: each filter is granted (QoS 0 or 1: AWS IoT has no QoS 2) when valid,
    within the quotas and allowed by iot:Subscribe on `topicfilter/<filter>`, else
    refused (0x80; `reasons` says why). The retained messages matching a granted filter
    come back in `pending` (as its retain handling says). A `Subscription` carries MQTT 5
    subscription options; a (filter, qos) pair has MQTT 3.1.1's."""
    with session.mock.lock:
        ctx = context_of(session, "Subscribe")
        if not session.connected or not _check_certificate(ctx, session):
            return Subscribed([SUBACK_FAILURE] * len(filters), [], [NOT_AUTHORIZED] * len(filters))
        granted: list[int] = []
        reasons: list[int] = []
        accepted: list[str] = []
        pending: list[Delivery] = []
        for index, item in enumerate(filters):
            request = item if isinstance(item, Subscription) else Subscription(*item)
            topic_filter = request.topic_filter
            refused = _refusal(session, index, topic_filter)
            if refused is not None:
                granted.append(SUBACK_FAILURE)
                reasons.append(refused)
                continue
            level = min(max(request.qos, 0), 1)
            is_new = topic_filter not in session.subscriptions
            session.subscriptions[topic_filter] = dataclasses.replace(request, qos=level)
            store_of(session.backend).filters.add(topic_filter, session.client_id)
            granted.append(level)
            reasons.append(level)
            accepted.append(topic_filter)
            handling = request.retain_handling
            if handling == 0 or (handling == 1 and is_new):
                pending.extend(_retained_for(ctx, session, topic_filter, level))
        if accepted:
            lifecycle.subscription_event(ctx, session, "subscribed", accepted)
        return Subscribed(granted, pending, reasons)


def _retained_for(
    ctx: RequestContext, session: Session, topic_filter: str, qos: int
) -> list[Delivery]:
    found = []
    for retained in retained_of(ctx.backend).retained.values():
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
            user_properties=json.loads(retained.user_properties)
            if retained.user_properties
            else None,
        )
        delivery = Delivery(message, min(qos, retained.qos), retained=True, retain=True)
        _track(session, delivery)
        found.append(delivery)
    return found


def unsubscribe(session: Session, filters: Sequence[str]) -> list[bool]:
    """UNSUBSCRIBE: forget the filters (unknown ones are ignored, as MQTT says); for
    each filter, whether the session had it (MQTT 5 UNSUBACK reason codes)."""
    with session.mock.lock:
        found = [session.subscriptions.pop(f) is not None for f in filters]
        removed = [f for f, was in zip(filters, found, strict=True) if was]
        for topic_filter in removed:
            store_of(session.backend).filters.remove(topic_filter, session.client_id)
        if removed and session.connected:
            ctx = context_of(session, "Unsubscribe")
            lifecycle.subscription_event(ctx, session, "unsubscribed", removed)
        return found


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
    """PUBLISH from the client; the PUBACK reason code (0, or 0x87 when iot:Publish, or
    iot:RetainPublish for a retained message, is denied). A topic the client may not
    publish to, or too large a payload, ends the connection (CLIENT_ERROR); a denied
    publish ends an MQTT 3.1.1 connection (AUTH_ERROR), while MQTT 5 only answers 0x87.
    `properties` are the MQTT 5 properties of the message log (user_properties, ...)."""
    with session.mock.lock:
        if not session.connected:
            return NOT_AUTHORIZED
        ctx = context_of(session, "Publish")
        if not _check_certificate(ctx, session):
            return NOT_AUTHORIZED
        try:
            check_publish_topic(topic, retain=retain)
        except ServiceError:
            _end(ctx, session, "CLIENT_ERROR", publish_will=True, keep_state=True)
            return NOT_AUTHORIZED
        if len(payload) > MAX_PAYLOAD_BYTES:
            _end(ctx, session, "CLIENT_ERROR", publish_will=True, keep_state=True)
            return NOT_AUTHORIZED
        if not _may_publish(session.access, topic, retain):
            if session.protocol == "mqtt311":
                # "AUTH_ERROR: the client failed to authenticate or authorization failed".
                _end(ctx, session, "AUTH_ERROR", publish_will=True, keep_state=True)
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


def _published_qos(message: Message) -> int:
    """The QoS a message was published with. The service's own messages (shadow and
    jobs replies, lifecycle events, provisioning replies) go out at up to QoS 1, so the
    subscriber's granted QoS decides."""
    if message.source in ("client", "will", "retained") or message.source.startswith("rule:"):
        return message.qos
    return 1


def _matching(session: Session, message: Message) -> tuple[int, bool] | None:
    """The highest QoS of the session's filters matching the message's topic and whether
    one of them keeps its RETAIN flag (None: no filter matches)."""
    best: int | None = None
    keep_retain = False
    own = message.client_id == session.client_id
    for subscription in session.subscriptions.values():
        if subscription.no_local and own:
            continue
        if topic_matches(subscription.topic_filter, message.topic):
            best = subscription.qos if best is None else max(best, subscription.qos)
            keep_retain = keep_retain or (subscription.retain_as_published and message.retain)
    return None if best is None else (best, keep_retain)


def _track(session: Session, delivery: Delivery) -> None:
    """Remember a QoS 1 delivery until acknowledged (pruned lazily: `acknowledge` runs
    without the lock)."""
    if delivery.qos < 1:
        return
    unacked = session.unacked
    if len(unacked) >= session.prune_at:
        unacked[:] = [d for d in unacked if not d.done]
        # Amortized: the next pruning waits until the list has doubled.
        session.prune_at = max(64, 2 * len(unacked))
    unacked.append(delivery)


def deliver_to(session: Session, message: Message, *, qos: int | None = None) -> Delivery | None:
    """Deliver `message` to `session` when it subscribes to the topic (or, with `qos`
    given, unconditionally: direct messages) and may receive it; queue QoS 1 messages
    of an offline persistent session. The Delivery handed over, or None."""
    retain = False
    if qos is None:
        matched = _matching(session, message)
        if matched is None:
            return None
        qos = min(matched[0], _published_qos(message))
        retain = matched[1]
    if not session.access.allows(RECEIVE, f"topic/{message.topic}"):
        return None
    delivery = Delivery(message, qos, retain=retain)
    if session.connected:
        _track(session, delivery)
        session.deliver(delivery)
        return delivery
    if qos >= 1:
        delivery.queued_at_ms = clock.now_millis()
        session.queued.append(delivery)
        if len(session.queued) > MAX_QUEUED_MESSAGES:
            del session.queued[0]
    return None


@on_event("message_published")
def _route(ctx: RequestContext, message: Message) -> None:
    """The broker: every published message goes to every session subscribed to it,
    found through the subscription index rather than by visiting every session."""
    store = store_of(ctx.backend)
    if not store.sessions:
        return
    now = clock.now_millis()
    # Only the clients whose filters may match, in a stable order (the index's answer is
    # a set); each candidate's own filters decide below.
    for client_id in sorted(store.filters.clients(message.topic)):
        session = store.sessions.get(client_id)
        if session is None:
            continue
        if session.expired(now):
            del store.sessions[client_id]
            _forget(store, session)
            continue
        if (
            session.connected
            and not session.access.certificate_active()
            and _matching(session, message) is not None
        ):
            # A message for the device of a certificate no longer ACTIVE ends it instead.
            _check_certificate(ctx, session)
            continue
        deliver_to(session, message)
