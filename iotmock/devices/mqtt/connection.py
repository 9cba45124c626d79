"""One device connection: the MQTT protocol between a client and the mock.

Runs on the listener's event loop. This module is the MQTT transport of the device
session layer (`iotmock.devices.sessions`): it decodes packets and calls `connect`,
`subscribe`, `unsubscribe`, `publish_from` and `disconnect`; the session layer runs the
broker (certificates, policies, lifecycle events, takeover, will, retained messages,
persistent sessions) and hands messages back through the `deliver` and `close`
callbacks, which only queue work on this loop (they run under the mock's lock, on any
thread).

How AWS's answers map onto the two protocol versions (docs/devices.md):
- connect refused by policy: MQTT 3.1.1 closes the connection, MQTT 5 answers CONNACK
  0x87 (Not authorized) then closes; an unknown or inactive certificate, or one that
  just-in-time registration registered, gets no MQTT answer (the connection closes); an
  invalid client id gets CONNACK 0x02 (3.1.1) or 0x85 (5);
- subscribe refused: SUBACK 0x80 (3.1.1) or the MQTT 5 reason (0x87, 0x8F, 0x97, 0x9E);
- publish denied: 3.1.1 closes the connection, MQTT 5 answers PUBACK 0x87 (QoS 1) or drops
  the message (QoS 0);
- QoS 2: 3.1.1 gets no PUBACK/SUBACK (the connection is closed), MQTT 5 learns Maximum QoS
  1 from CONNACK, has QoS 2 subscriptions granted QoS 1, and is disconnected with 0x9B
  for a QoS 2 PUBLISH;
- a slow consumer (delivery.py): QoS 0 messages are discarded while more than
  `MAX_UNSENT_BYTES` are unsent, its packets are not read until it catches up, and more
  than `MAX_WAITING_MESSAGES` QoS 1 messages waiting behind the in-flight window end
  the connection (THROTTLED; MQTT 5 DISCONNECT 0x97 Quota exceeded).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iotmock.core.errors import ServiceError
from iotmock.devices import sessions
from iotmock.devices.errors import ConnectionRefused
from iotmock.devices.mqtt import codec, limits
from iotmock.devices.mqtt.codec import MQTT_5, ProtocolError
from iotmock.devices.mqtt.delivery import Outgoing
from iotmock.devices.mqtt.properties import message_details
from iotmock.messaging.handlers import check_publish_topic

if TYPE_CHECKING:
    from iotmock.devices.mqtt.listener import MqttListener


@dataclass(slots=True, frozen=True)
class PeerCertificate:
    """The client certificate of the TLS handshake and the account it connects to."""

    pem: str
    account_id: str
    region: str


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
    "FORBIDDEN_ACCESS": codec.NOT_AUTHORIZED,
    "CLIENT_ERROR": codec.PROTOCOL_ERROR,
    "THROTTLED": codec.QUOTA_EXCEEDED,
}
# ConnectionRefused.reason -> (MQTT 3.1.1 CONNACK code, MQTT 5 CONNACK reason); None: the
# connection is closed without CONNACK.
_REFUSALS: dict[str, tuple[int | None, int | None]] = {
    "INVALID_CLIENT_ID": (codec.V3_IDENTIFIER_REJECTED, codec.CLIENT_ID_NOT_VALID),
    "NOT_AUTHORIZED": (None, codec.NOT_AUTHORIZED),
}


class DeviceConnection:
    """The server side of one TLS connection."""

    def __init__(
        self,
        listener: MqttListener,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: PeerCertificate | None,
    ) -> None:
        self.listener = listener
        self.mock = listener.mock
        self.loop = listener.loop
        self.reader = reader
        self.writer = writer
        self.peer = peer
        address = writer.get_extra_info("peername")
        self.source: tuple[str, int] = (address[0], address[1]) if address else ("127.0.0.1", 0)
        self.version = codec.MQTT_311
        self.session: sessions.Session | None = None
        self.keep_alive = 0.0
        self.last_activity = time.monotonic()
        self.closed = False
        self.close_reason: str | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        self._outgoing = Outgoing(self._write, self.unsent, self._throttled)
        self._aliases: dict[int, str] = {}
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ session callbacks

    def _on_loop(self, callback: Any, *args: Any) -> None:
        if threading.get_ident() == self.listener.thread_id:
            self.loop.call_soon(callback, *args)
        else:
            self.loop.call_soon_threadsafe(callback, *args)

    def deliver(self, delivery: sessions.Delivery) -> None:
        """The session layer hands the client a message (any thread, under the lock)."""
        self._on_loop(self._send, delivery)

    def close(self, reason: str) -> None:
        """End the connection for `reason` (the service's decision, or the listener's);
        idempotent, any thread."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        self._on_loop(self._server_close, reason)

    # ------------------------------------------------------------------ main loop

    async def run(self) -> None:
        lifecycle = "CONNECTION_LOST"
        publish_will: bool | None = None
        expiry: int | None = None
        self._task = asyncio.current_task()
        self._arm_watchdog(self.listener.connect_timeout)
        try:
            await self._handshake()
            while True:
                packet_type, flags, body = await self._read_packet()
                packet = codec.decode(packet_type, flags, body, self.version)
                if isinstance(packet, codec.Disconnect):
                    # MQTT 5 "disconnect with will message" still publishes the will.
                    publish_will = packet.reason == codec.DISCONNECT_WITH_WILL
                    expiry = packet.properties.get("session_expiry_interval")
                    lifecycle = sessions.CLIENT_INITIATED_DISCONNECT
                    break
                self._handle(packet)
                if self.unsent() > limits.MAX_UNSENT_BYTES:
                    # The client does not take what it is sent: read nothing more from
                    # it until it does (a silent client then times out).
                    await self.writer.drain()
        except Closing as closing:
            lifecycle = closing.lifecycle
            if closing.reason is not None:
                self._send_disconnect(closing.reason)
        except ProtocolError as error:
            lifecycle = "CLIENT_ERROR"
            if self.session is not None:
                self._send_disconnect(error.reason)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            lifecycle = self.close_reason or "CONNECTION_LOST"
        except asyncio.CancelledError:
            # `_server_close`, or the listener stopping: the connection ends here.
            lifecycle = self.close_reason or "SERVER_INITIATED_DISCONNECT"
        finally:
            if self.close_reason is not None:
                lifecycle = self.close_reason
            self._finish(lifecycle, publish_will, expiry)

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
        self._out_bytes += len(data)

    def _flush(self, closing: bool = False) -> None:
        if self.close_reason is not None and not closing:
            return  # a server-side close sends its DISCONNECT once `run` has finished
        if self._out and not self.closed:
            self.writer.write(b"".join(self._out))
        self._out.clear()
        self._out_bytes = 0

    def unsent(self) -> int:
        """Bytes written to the client and not sent yet (queued here or in the transport)."""
        transport = self.writer.transport
        return self._out_bytes + (0 if transport is None else transport.get_write_buffer_size())

    @property
    def backlog(self) -> tuple[int, int, int]:
        """(QoS 1 messages in flight, QoS 1 messages waiting, bytes unsent)."""
        return self._outgoing.in_flight, self._outgoing.waiting, self.unsent()

    @property
    def dropped(self) -> int:
        """QoS 0 messages discarded because the client did not read them."""
        return self._outgoing.dropped

    def _throttled(self) -> None:
        self.close("THROTTLED")

    def _send_disconnect(self, reason: int) -> None:
        if self.version == MQTT_5:
            self._write(codec.encode_disconnect(reason))

    def _server_close(self, reason: str) -> None:
        code = _DISCONNECT_CODES.get(reason)
        if code is not None and self.session is not None:
            self._send_disconnect(code)
        # End the read loop: `run` then reports the end to the session layer before the
        # socket closes.
        if self._task is not None and not self._task.done():
            self._task.cancel()
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        if not self.closed:
            self._flush(closing=True)
            self.closed = True
            if self.unsent() > limits.MAX_UNSENT_BYTES:
                # A client that does not read would hold the buffer until it does.
                self.writer.transport.abort()
            else:
                self.writer.close()
        if self._watchdog is not None:
            self._watchdog.cancel()

    # ------------------------------------------------------------------ keep-alive

    def _arm_watchdog(self, allowed: float) -> None:
        self._watchdog = self.loop.call_later(allowed, self._check_idle, allowed)

    def _check_idle(self, allowed: float) -> None:
        idle = time.monotonic() - self.last_activity
        if idle >= allowed:
            reason = "MQTT_KEEP_ALIVE_TIMEOUT" if self.session is not None else "CONNECTION_LOST"
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
        self.version = self._outgoing.version = connect.version
        if self.peer is None:
            # No client certificate: AWS closes the connection without an MQTT answer.
            raise Closing("AUTH_ERROR")
        self._accept(connect, self.peer)

    def _refuse(self, reason: str) -> Closing:
        v3_code, v5_code = _REFUSALS.get(reason, (None, None))
        code = v5_code if self.version == MQTT_5 else v3_code
        if code is not None:
            self._write(codec.encode_connack(self.version, False, code))
        return Closing("AUTH_ERROR" if reason != "INVALID_CLIENT_ID" else "CLIENT_ERROR")

    def _accept(self, connect: codec.Connect, peer: PeerCertificate) -> None:
        v5 = self.version == MQTT_5
        client_id = connect.client_id
        assigned = None
        if not client_id:
            if not connect.clean_start and not v5:
                self._write(codec.encode_connack(self.version, False, codec.V3_IDENTIFIER_REJECTED))
                raise Closing("CLIENT_ERROR")
            # MQTT lets the server assign a client id to a client that sends none.
            client_id = assigned = f"iotmock-{uuid.uuid4().hex}"
        if v5 and "authentication_method" in connect.properties:
            self._write(codec.encode_connack(self.version, False, codec.BAD_AUTHENTICATION_METHOD))
            raise Closing("CLIENT_ERROR")
        keep_alive = limits.keep_alive_seconds(connect.keep_alive)
        requested = connect.properties.get("session_expiry_interval", 0) if v5 else None
        will = connect.will
        target = self.writer.get_extra_info("sockname") or ("127.0.0.1", self.listener.port)
        try:
            connected = sessions.connect(
                self.mock,
                client_id,
                deliver=self.deliver,
                close=self.close,
                certificate_pem=peer.pem,
                clean_session=connect.clean_start,
                session_expiry=requested,
                keep_alive=keep_alive,
                will=sessions.Will(will.topic, will.payload, min(will.qos, 1), will.retain)
                if will is not None
                else None,
                protocol="mqtt5" if v5 else "mqtt311",
                transport="mqtt",
                source=self.source,
                target=(target[0], target[1]),
                account_id=peer.account_id,
                region=peer.region,
            )
        except ConnectionRefused as refused:
            raise self._refuse(refused.reason) from None
        session = self.session = connected.session
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
            if session.session_expiry != requested:
                properties["session_expiry_interval"] = session.session_expiry
            self._outgoing.quota = min(
                limits.MAX_INFLIGHT, connect.properties.get("receive_maximum", 65535)
            )
        self._write(codec.encode_connack(self.version, connected.session_present, 0, properties))
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._arm_watchdog(self.keep_alive)
        for delivery in connected.pending:  # what the session kept while the client was away
            self._send(delivery)

    # ------------------------------------------------------------------ packets

    def _handle(self, packet: codec.Packet) -> None:
        if isinstance(packet, codec.Publish):
            self._on_publish(packet)
        elif isinstance(packet, codec.PubAck):
            self._outgoing.acknowledge(packet.packet_id)
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

    def _on_publish(self, packet: codec.Publish) -> None:
        session = self.session
        assert session is not None
        if packet.qos == 2:
            raise Closing("CLIENT_ERROR", codec.QOS_NOT_SUPPORTED)
        topic = self._resolve_alias(packet)
        # Checked here too (the session layer would end the session the same way) to give
        # an MQTT 5 client the precise DISCONNECT reason.
        if len(packet.payload) > limits.MAX_PAYLOAD_BYTES:
            raise Closing("CLIENT_ERROR", codec.PACKET_TOO_LARGE)
        try:
            check_publish_topic(topic, retain=packet.retain)
        except ServiceError:
            raise Closing("CLIENT_ERROR", codec.TOPIC_NAME_INVALID) from None
        code = sessions.publish_from(
            session,
            topic,
            packet.payload,
            qos=packet.qos,
            retain=packet.retain,
            **message_details(packet.properties),
        )
        if not session.connected:
            return  # the service ended the session: `close` is on its way
        if packet.qos == 1 and packet.packet_id is not None:
            self._write(codec.encode_puback(self.version, packet.packet_id, code))

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
        session = self.session
        assert session is not None
        if "subscription_identifier" in packet.properties:
            raise Closing("CLIENT_ERROR", codec.SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED)
        if self.version != MQTT_5 and any(request.qos == 2 for request in packet.requests):
            # AWS sends no SUBACK for QoS 2 (3.1.1): the connection ends.
            raise Closing("CLIENT_ERROR")
        requests = [
            sessions.Subscription(
                r.topic_filter, r.qos, r.no_local, r.retain_as_published, r.retain_handling
            )
            for r in packet.requests
        ]
        result = sessions.subscribe(session, requests)
        if not session.connected:
            return
        codes = result.reasons if self.version == MQTT_5 else result.granted
        self._write(codec.encode_suback(self.version, packet.packet_id, codes))
        for delivery in result.pending:  # retained messages, after the SUBACK
            self._send(delivery)

    def _on_unsubscribe(self, packet: codec.Unsubscribe) -> None:
        session = self.session
        assert session is not None
        found = sessions.unsubscribe(session, packet.topic_filters)
        codes = [codec.SUCCESS if was else codec.NO_SUBSCRIPTION_EXISTED for was in found]
        self._write(codec.encode_unsuback(self.version, packet.packet_id, codes))

    # ------------------------------------------------------------------ outgoing

    def _send(self, delivery: sessions.Delivery) -> None:
        # Once the connection ends, the session layer keeps what a persistent session
        # missed.
        if not self.closed and self.close_reason is None:
            self._outgoing.send(delivery)

    # ------------------------------------------------------------------ end

    def _finish(self, lifecycle: str, publish_will: bool | None, expiry: int | None) -> None:
        """Report the end of the connection to the session layer (a session the service
        already ended is left alone there), then close the socket."""
        if self.session is not None:
            sessions.disconnect(
                self.session, lifecycle, publish_will=publish_will, session_expiry=expiry
            )
        self._shutdown()
