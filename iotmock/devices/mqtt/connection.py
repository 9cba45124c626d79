"""One device connection: the MQTT protocol between a client and the mock.

Runs on the listener's event loop. Everything that touches the mock's state (the
connection registry, publishing, sessions) happens under the mock's lock, inside a
RequestContext of the account the client's certificate belongs to.

How AWS's behaviour maps onto the two protocol versions (docs/devices.md):
- connect denied by policy: MQTT 3.1.1 closes the connection, MQTT 5 answers CONNACK
  0x87 (Not authorized) then closes;
- subscribe denied: SUBACK 0x80 (3.1.1) or 0x87 (5);
- publish denied: 3.1.1 closes the connection, MQTT 5 answers PUBACK 0x87 (QoS 1) or drops
  the message (QoS 0);
- QoS 2: 3.1.1 gets no PUBACK/SUBACK (the connection is closed), MQTT 5 learns Maximum QoS
  1 from CONNACK, has QoS 2 subscriptions granted QoS 1, and is disconnected with 0x9B
  for a QoS 2 PUBLISH.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from ... import _clock
from ..._errors import ServiceError
from ..._registry import RequestContext
from ...handlers.iot_data.messaging import (
    Connection,
    MessagingStore,
    check_publish_topic,
    close_connection,
    open_connection,
    publish_from_client,
)
from ...messages import Message, topic_matches
from . import codec, events, limits
from .auth import Authorizer, CertificateRefused, Principal
from .codec import MQTT_5, ProtocolError
from .delivery import Outgoing
from .properties import message_details
from .session import DEFAULT_SESSION_EXPIRY_SECONDS, Session

if TYPE_CHECKING:
    from .listener import MqttListener


class Closing(Exception):
    """End the connection: MQTT 5 clients get DISCONNECT `reason` (when not None) first;
    `lifecycle` is the disconnectReason of the lifecycle event."""

    def __init__(self, lifecycle: str, reason: int | None = None) -> None:
        super().__init__(lifecycle)
        self.lifecycle = lifecycle
        self.reason = reason


# Lifecycle disconnect reason -> MQTT 5 DISCONNECT reason code, for server-side closes.
_DISCONNECT_CODES = {
    "DUPLICATE_CLIENTID": codec.SESSION_TAKEN_OVER,
    "API_INITIATED_DISCONNECT": codec.ADMINISTRATIVE_ACTION,
    "SERVER_INITIATED_DISCONNECT": codec.ADMINISTRATIVE_ACTION,
    "MQTT_KEEP_ALIVE_TIMEOUT": codec.KEEP_ALIVE_TIMEOUT,
    "AUTH_ERROR": codec.NOT_AUTHORIZED,
}


class DeviceConnection:
    """The server side of one TLS connection."""

    def __init__(
        self,
        listener: MqttListener,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        principal: Principal | CertificateRefused,
    ) -> None:
        self.listener = listener
        self.mock = listener.mock
        self.loop = listener.loop
        self.reader = reader
        self.writer = writer
        self.principal = principal
        peer = writer.get_extra_info("peername")
        self.ip_address: str = peer[0] if peer else "127.0.0.1"
        self.version = codec.MQTT_311
        self.client_id = ""
        self.record: Connection | None = None
        self.session: Session | None = None
        self.authorizer: Authorizer | None = None
        self.keep_alive = 0.0
        self.last_activity = time.monotonic()
        self.closed = False
        self.close_reason: str | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self.outgoing = Outgoing(self._write)
        self._aliases: dict[int, str] = {}
        self._out: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ thread-safe API

    def deliver(self, message: Message, qos: int, retain: bool) -> None:
        """Queue `message` for the client (from any thread; called under the mock lock)."""
        if threading.get_ident() == self.listener.thread_id:
            self.loop.call_soon(self._send_message, message, qos, retain)
        else:
            self.loop.call_soon_threadsafe(self._send_message, message, qos, retain)

    def close(self, reason: str) -> None:
        """End the connection for `reason` (DeleteConnection, takeover); idempotent."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        with self.mock.lock:  # sessions change under the lock only
            session = self.session
            if session is not None and session.outbox is self:
                session.outbox = None
                session.disconnected_at = time.monotonic()
        if threading.get_ident() == self.listener.thread_id:
            self._server_close(reason)
        else:
            self.loop.call_soon_threadsafe(self._server_close, reason)

    def discard_session(self) -> None:
        if self.session is not None:
            self.session.persistent = False

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        lifecycle, publish_will, by_client = "CONNECTION_LOST", True, False
        self._task = asyncio.current_task()
        self._arm_watchdog(self.listener.connect_timeout)
        try:
            await self._handshake()
            while True:
                packet_type, flags, body = await self._read_packet()
                packet = codec.decode(packet_type, flags, body, self.version)
                if isinstance(packet, codec.Disconnect):
                    publish_will = packet.reason == codec.DISCONNECT_WITH_WILL
                    if "session_expiry_interval" in packet.properties and self.session:
                        self.session.expiry_seconds = min(
                            packet.properties["session_expiry_interval"],
                            DEFAULT_SESSION_EXPIRY_SECONDS,
                        )
                        self.session.persistent = self.session.expiry_seconds > 0
                    lifecycle, by_client = "CLIENT_INITIATED_DISCONNECT", True
                    break
                self._handle(packet)
        except Closing as closing:
            lifecycle = closing.lifecycle
            if closing.reason is not None:
                self._send_disconnect(closing.reason)
        except ProtocolError as error:
            lifecycle = "CLIENT_ERROR"
            if self.record is not None:
                self._send_disconnect(error.reason)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            lifecycle = self.close_reason or "CONNECTION_LOST"
        except asyncio.CancelledError:
            # `_server_close`, or the listener stopping: the connection ends here.
            lifecycle = self.close_reason or "SERVER_INITIATED_DISCONNECT"
        finally:
            if self.close_reason is not None:
                lifecycle = self.close_reason
            self._finish(lifecycle, publish_will, by_client)

    async def _read_packet(self) -> tuple[int, int, bytes]:
        head = await self.reader.readexactly(2)
        length_bytes = bytearray(head[1:])
        while length_bytes[-1] & 0x80:
            if len(length_bytes) == 4:
                raise ProtocolError("The remaining length is longer than four bytes.")
            length_bytes += await self.reader.readexactly(1)
        decoded = codec.decode_varint_prefix(bytes(length_bytes))
        assert decoded is not None  # the loop above read until the last length byte
        length = decoded[0]
        if length > limits.MAX_PACKET_BYTES:
            raise Closing("CLIENT_ERROR", codec.PACKET_TOO_LARGE)
        body = await self.reader.readexactly(length) if length else b""
        self.last_activity = time.monotonic()
        return head[0] >> 4, head[0] & 0x0F, body

    def _write(self, data: bytes) -> None:
        # Packets written in one turn of the event loop (a PUBACK and the deliveries it
        # caused) leave in one TLS record and one send: fewer syscalls per message.
        if self.closed:
            return
        if not self._out:
            self.loop.call_soon(self._flush)
        self._out.append(data)

    def _flush(self, closing: bool = False) -> None:
        if self.close_reason is not None and not closing:
            return  # a server-side close sends its DISCONNECT once `run` has finished
        if self._out and not self.closed:
            self.writer.write(b"".join(self._out))
        self._out.clear()

    def _send_disconnect(self, reason: int) -> None:
        if self.version == MQTT_5:
            self._write(codec.encode_disconnect(reason))

    def _server_close(self, reason: str) -> None:
        code = _DISCONNECT_CODES.get(reason)
        if code is not None and self.record is not None:
            self._send_disconnect(code)
        # End the read loop: `run` then records the disconnection (will, lifecycle
        # event) before the socket closes, so the client never sees it closed earlier.
        if self._task is not None and not self._task.done():
            self._task.cancel()
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        if not self.closed:
            self._flush(closing=True)
            self.closed = True
            self.writer.close()
        if self._watchdog is not None:
            self._watchdog.cancel()

    # ------------------------------------------------------------------ keep-alive

    def _arm_watchdog(self, allowed: float) -> None:
        self._watchdog = self.loop.call_later(allowed, self._check_idle, allowed)

    def _check_idle(self, allowed: float) -> None:
        idle = time.monotonic() - self.last_activity
        if idle >= allowed:
            reason = "MQTT_KEEP_ALIVE_TIMEOUT" if self.record is not None else "CONNECTION_LOST"
            self.close(reason)
            return
        self._watchdog = self.loop.call_later(allowed - idle, self._check_idle, allowed)

    # ------------------------------------------------------------------ CONNECT

    async def _handshake(self) -> None:
        packet_type, flags, body = await self._read_packet()
        if packet_type != codec.CONNECT:
            raise ProtocolError("The first packet is not CONNECT.", codec.PROTOCOL_ERROR)
        try:
            connect = codec.decode_connect(flags, body)
        except ProtocolError as error:
            if error.reason == codec.UNSUPPORTED_PROTOCOL_VERSION:
                self._write(codec.encode_connack(codec.MQTT_311, False, 0x01))
            raise Closing("CLIENT_ERROR") from None
        self.version = self.outgoing.version = connect.version
        if isinstance(self.principal, CertificateRefused):
            # AWS refuses the connection of an unknown or inactive certificate without
            # an MQTT answer.
            raise Closing("AUTH_ERROR")
        self._accept(connect, self.principal)

    def _refuse(self, v3_code: int, v5_code: int, lifecycle: str) -> Closing:
        code = v5_code if self.version == MQTT_5 else v3_code
        self._write(codec.encode_connack(self.version, False, code))
        return Closing(lifecycle)

    def _accept(self, connect: codec.Connect, principal: Principal) -> None:
        v5 = self.version == MQTT_5
        client_id = connect.client_id
        assigned = None
        if not client_id:
            if not connect.clean_start and not v5:
                raise self._refuse(codec.V3_IDENTIFIER_REJECTED, 0, "CLIENT_ERROR")
            client_id = assigned = f"iotmock-{uuid.uuid4().hex}"
        if len(client_id.encode()) > limits.MAX_CLIENT_ID_BYTES:
            raise self._refuse(
                codec.V3_IDENTIFIER_REJECTED, codec.CLIENT_ID_NOT_VALID, "CLIENT_ERROR"
            )
        if v5 and "authentication_method" in connect.properties:
            raise self._refuse(0, codec.BAD_AUTHENTICATION_METHOD, "CLIENT_ERROR")
        self.client_id = client_id
        authorizer = self.authorizer = Authorizer(principal, client_id)
        backend = principal.backend
        with self.mock.lock:
            will = connect.will
            if not authorizer.allowed("iot:Connect", "client/" + client_id) or (
                will is not None and not self._will_allowed(will)
            ):
                self._connect_failed_event(principal)
                # MQTT 3.1.1 gets no CONNACK: AWS closes the connection.
                if v5:
                    raise self._refuse(0, codec.NOT_AUTHORIZED, "AUTH_ERROR")
                raise Closing("AUTH_ERROR")
            ctx = self._context()
            record = Connection(
                client_id=client_id,
                session_id=str(uuid.uuid4()),
                connected_at_ms=_clock.now_millis(),
                principal=principal.certificate.certificate_id,
                will_topic=will.topic if will is not None else None,
                will_payload=will.payload if will is not None else b"",
                will_qos=min(will.qos, 1) if will is not None else 0,
                will_retain=will.retain if will is not None else False,
                ip_address=self.ip_address,
                transport=self,
                thing_name=authorizer.exclusive_thing(),
            )
            # Registering closes an older connection with this client id (takeover).
            open_connection(ctx, record)
            self.record = record
            session_present, expiry = self._attach_session(connect, authorizer, backend)
        keep_alive = limits.keep_alive_seconds(connect.keep_alive)
        self.keep_alive = keep_alive * 1.5
        properties: dict[str, Any] = {}
        if v5:
            properties = {
                "maximum_qos": 1,
                "retain_available": 1,
                "maximum_packet_size": limits.MAX_PACKET_BYTES,
                "topic_alias_maximum": limits.MAX_TOPIC_ALIASES,
                "receive_maximum": limits.MAX_INFLIGHT,
                "wildcard_subscription_available": 1,
                "subscription_identifier_available": 0,
                "shared_subscription_available": 0,
            }
            if keep_alive != connect.keep_alive:
                properties["server_keep_alive"] = keep_alive
            if assigned is not None:
                properties["assigned_client_identifier"] = assigned
            requested = connect.properties.get("session_expiry_interval", 0)
            if expiry != requested:
                properties["session_expiry_interval"] = expiry
            self.outgoing.quota = min(
                limits.MAX_INFLIGHT, connect.properties.get("receive_maximum", 65535)
            )
        self._write(codec.encode_connack(self.version, session_present, 0, properties))
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._arm_watchdog(self.keep_alive)
        self._resume()

    def _will_allowed(self, will: codec.Will) -> bool:
        try:
            check_publish_topic(will.topic, retain=will.retain)
        except ServiceError:
            return False
        return self._may_publish(will.topic, will.retain)

    def _attach_session(
        self, connect: codec.Connect, authorizer: Authorizer, backend: Any
    ) -> tuple[bool, int]:
        """Resume or start the client's session; (session present, expiry seconds)."""
        broker = self.listener.broker
        if self.version == MQTT_5:
            expiry = min(
                connect.properties.get("session_expiry_interval", 0),
                DEFAULT_SESSION_EXPIRY_SECONDS,
            )
        else:
            expiry = 0 if connect.clean_start else DEFAULT_SESSION_EXPIRY_SECONDS
        found = broker.find(backend, self.client_id)
        resumable = (
            found is not None
            and not connect.clean_start
            and (found.persistent or found.outbox is not None)
        )
        if found is not None and resumable:
            session = found
            session.authorizer = authorizer
        else:
            if found is not None:
                broker.remove(found)
            session = Session(self.client_id, backend, authorizer, persistent=False)
            broker.sessions(backend)[self.client_id] = session
        session.expiry_seconds = expiry
        session.persistent = expiry > 0
        session.outbox = self
        self.session = session
        return found is not None and resumable, expiry

    def _resume(self) -> None:
        """Send what the session kept while the client was away."""
        session = self.session
        if session is None:
            return
        with self.mock.lock:
            queued = list(session.queue)
            session.queue.clear()
        now = time.monotonic()
        for message, qos, queued_at in queued:
            expiry = message.message_expiry
            if expiry is not None:
                # MQTT 5 message expiry: drop what expired while waiting, and tell the
                # client how long the rest has left.
                remaining = int(expiry - (now - queued_at))
                if remaining <= 0:
                    continue
                message = dataclasses.replace(message, message_expiry=remaining)
            self._send_message(message, qos, False, dup=True)

    def _context(self) -> RequestContext:
        assert self.authorizer is not None
        backend = self.authorizer.backend
        return RequestContext(
            self.mock, backend, "iot-data", "Publish", backend.account_id, backend.region
        )

    # ------------------------------------------------------------------ packets

    def _handle(self, packet: codec.Packet) -> None:
        assert self.authorizer is not None
        if self.authorizer.principal.certificate.status != "ACTIVE":
            # AWS disconnects the devices of a certificate that leaves ACTIVE.
            raise Closing("AUTH_ERROR", codec.NOT_AUTHORIZED)
        if isinstance(packet, codec.Publish):
            self._on_publish(packet)
        elif isinstance(packet, codec.PubAck):
            self._on_puback(packet)
        elif isinstance(packet, codec.Subscribe):
            self._on_subscribe(packet)
        elif isinstance(packet, codec.Unsubscribe):
            self._on_unsubscribe(packet)
        elif isinstance(packet, codec.PingReq):
            self._write(codec.encode_pingresp())
        elif isinstance(packet, codec.Unsupported):
            # QoS 2 flows and AUTH exchanges are not served.
            raise Closing("CLIENT_ERROR", codec.PROTOCOL_ERROR)
        else:  # a second CONNECT
            raise Closing("CLIENT_ERROR", codec.PROTOCOL_ERROR)

    def _may_publish(self, topic: str, retain: bool) -> bool:
        assert self.authorizer is not None
        resource = "topic/" + topic
        if not self.authorizer.allowed("iot:Publish", resource):
            return False
        return not retain or self.authorizer.allowed("iot:RetainPublish", resource)

    def _on_publish(self, packet: codec.Publish) -> None:
        v5 = self.version == MQTT_5
        if packet.qos == 2:
            raise Closing("CLIENT_ERROR", codec.QOS_NOT_SUPPORTED)
        topic = self._resolve_alias(packet)
        if len(packet.payload) > limits.MAX_PAYLOAD_BYTES:
            raise Closing("CLIENT_ERROR", codec.PACKET_TOO_LARGE)
        try:
            check_publish_topic(topic, retain=packet.retain)
        except ServiceError:
            raise Closing("CLIENT_ERROR", codec.TOPIC_NAME_INVALID) from None
        with self.mock.lock:
            allowed = self._may_publish(topic, packet.retain)
            if allowed:
                publish_from_client(
                    self._context(),
                    topic,
                    packet.payload,
                    qos=packet.qos,
                    retain=packet.retain,
                    client_id=self.client_id,
                    **message_details(packet.properties),
                )
        if not allowed:
            if not v5:
                raise Closing("AUTH_ERROR")
            if packet.qos == 1 and packet.packet_id is not None:
                self._write(codec.encode_puback(self.version, packet.packet_id, 0x87))
            return
        if packet.qos == 1 and packet.packet_id is not None:
            self._write(codec.encode_puback(self.version, packet.packet_id))

    def _resolve_alias(self, packet: codec.Publish) -> str:
        alias = packet.properties.get("topic_alias")
        if alias is None:
            if not packet.topic:
                raise Closing("CLIENT_ERROR", codec.TOPIC_NAME_INVALID)
            return packet.topic
        if not 1 <= alias <= limits.MAX_TOPIC_ALIASES:
            raise Closing("CLIENT_ERROR", codec.TOPIC_ALIAS_INVALID)
        if packet.topic:
            self._aliases[alias] = packet.topic
            return packet.topic
        known = self._aliases.get(alias)
        if known is None:
            raise Closing("CLIENT_ERROR", codec.PROTOCOL_ERROR)
        return known

    def _on_subscribe(self, packet: codec.Subscribe) -> None:
        v5 = self.version == MQTT_5
        if "subscription_identifier" in packet.properties:
            raise Closing("CLIENT_ERROR", codec.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED)
        if not v5 and any(request.qos == 2 for request in packet.requests):
            # AWS sends no SUBACK for QoS 2 (3.1.1): the connection ends.
            raise Closing("CLIENT_ERROR")
        session = self.session
        assert session is not None and self.authorizer is not None
        codes: list[int] = []
        granted: list[tuple[codec.SubscriptionRequest, bool]] = []
        failure = codec.V3_SUBACK_FAILURE
        with self.mock.lock:
            for index, request in enumerate(packet.requests):
                topic_filter = request.topic_filter
                code = self._subscription_refusal(index, topic_filter, session)
                if code is not None:
                    codes.append(code if v5 else failure)
                    continue
                qos = min(request.qos, 1)
                is_new = topic_filter not in session.subscriptions
                # The session keeps the request with the QoS granted.
                session.subscriptions[topic_filter] = dataclasses.replace(request, qos=qos)
                codes.append(qos)
                granted.append((request, is_new))
            self._write(codec.encode_suback(self.version, packet.packet_id, codes))
            if granted:
                self._subscription_event("subscribed", [r.topic_filter for r, _ in granted])
                self._send_retained(granted)

    def _subscription_refusal(self, index: int, topic_filter: str, session: Session) -> int | None:
        """The MQTT 5 reason a subscription is refused, or None when granted."""
        assert self.authorizer is not None
        if topic_filter.startswith("$share/"):
            return codec.SHARED_SUBSCRIPTIONS_NOT_SUPPORTED
        if limits.check_topic_filter(topic_filter) is not None:
            return codec.TOPIC_FILTER_INVALID
        over_request = index >= limits.MAX_SUBSCRIPTIONS_PER_SUBSCRIBE
        over_connection = (
            topic_filter not in session.subscriptions
            and len(session.subscriptions) >= limits.MAX_SUBSCRIPTIONS_PER_CONNECTION
        )
        if over_request or over_connection:
            return 0x97  # Quota exceeded
        if not self.authorizer.allowed("iot:Subscribe", "topicfilter/" + topic_filter):
            return codec.NOT_AUTHORIZED
        return None

    def _send_retained(self, granted: list[tuple[codec.SubscriptionRequest, bool]]) -> None:
        """Retained messages matching new subscriptions (MQTT retain handling)."""
        assert self.authorizer is not None
        retained = self.authorizer.backend.store(MessagingStore).retained
        for request, is_new in granted:
            if request.retain_handling == 2 or (request.retain_handling == 1 and not is_new):
                continue
            for item in retained.values():
                if not topic_matches(request.topic_filter, item.topic):
                    continue
                if not self.authorizer.allowed("iot:Receive", "topic/" + item.topic):
                    continue
                message = Message(
                    item.topic,
                    item.payload,
                    qos=item.qos,
                    retain=True,
                    user_properties=(
                        json.loads(item.user_properties) if item.user_properties else None
                    ),
                )
                self.deliver(message, min(request.qos, 1, item.qos), True)

    def _on_unsubscribe(self, packet: codec.Unsubscribe) -> None:
        session = self.session
        assert session is not None
        codes = []
        with self.mock.lock:
            for topic_filter in packet.topic_filters:
                found = session.subscriptions.pop(topic_filter, None)
                codes.append(codec.SUCCESS if found else codec.NO_SUBSCRIPTION_EXISTED)
            self._write(codec.encode_unsuback(self.version, packet.packet_id, codes))
            self._subscription_event("unsubscribed", packet.topic_filters)

    def _connect_failed_event(self, principal: Principal) -> None:
        events.connect_failed(self._context(), self.client_id, principal.certificate.certificate_id)

    def _subscription_event(self, event_type: str, topics: list[str]) -> None:
        assert self.record is not None
        events.subscription_changed(self._context(), self.record, event_type, topics)

    # ------------------------------------------------------------------ outgoing

    def _send_message(self, message: Message, qos: int, retain: bool, dup: bool = False) -> None:
        if self.closed:
            self.outgoing.hold(message, qos, retain)
        else:
            self.outgoing.send(message, qos, retain, dup)

    def _on_puback(self, packet: codec.PubAck) -> None:
        self.outgoing.acknowledge(packet.packet_id)

    # ------------------------------------------------------------------ end

    def _finish(self, lifecycle: str, publish_will: bool, by_client: bool) -> None:
        if not self.listener.stopping:
            with self.mock.lock:
                if self.record is not None:
                    close_connection(
                        self._context(),
                        self.record,
                        lifecycle,
                        publish_will=publish_will,
                        client_initiated=by_client,
                    )
                self._release_session()
        self._shutdown()

    def _release_session(self) -> None:
        """Keep a persistent session (with the unacknowledged messages) for later."""
        session = self.session
        if session is None:
            return
        now = time.monotonic()
        unacked = [(m, q, now) for m, q in self.outgoing.unacknowledged()]
        if session.outbox is not None and session.outbox is not self:
            for message, qos, _ in unacked:  # taken over by a client resuming the session
                session.outbox.deliver(message, qos, False)
            return
        session.outbox = None
        session.disconnected_at = time.monotonic()
        if session.persistent:
            session.queue.extendleft(reversed(unacked))
        else:
            self.listener.broker.remove(session)
