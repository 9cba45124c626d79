"""`m.devices`: simulated MQTT devices, connected in-process to the mock's broker.

A simulated device is a transport of the session layer (`iotmock.devices.sessions`)
like the MQTT listener: it gets the same lifecycle events, policy checks, takeover,
will, retained messages, persistent sessions and device protocols (fleet provisioning,
JITR/JITP), and iot-data GetConnection, ListSubscriptions, SendDirectMessage and
DeleteConnection see it.
"""

from __future__ import annotations

from dataclasses import dataclass

from iotmock.core.mock_api import FamilyApi
from iotmock.devices import sessions
from iotmock.devices.errors import DeviceDisconnected
from iotmock.devices.provisioning import PreProvisioningHook, register_hook
from iotmock.devices.sessions import Delivery, Session, Will
from iotmock.messaging.log import Message, topic_matches


@dataclass(slots=True)
class _Inbox:
    deliveries: list[Delivery]
    auto_acknowledge: bool
    closed_reason: str | None = None

    def deliver(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if self.auto_acknowledge:
            delivery.acknowledge()

    def close(self, reason: str) -> None:
        self.closed_reason = reason


class SimulatedDevice:
    """One MQTT client connection of a simulated device (`m.devices.connect`)."""

    def __init__(self, connected: sessions.Connected, inbox: _Inbox) -> None:
        self._session = connected.session
        self._inbox = inbox
        self.session_present = connected.session_present
        for delivery in connected.pending:
            inbox.deliver(delivery)

    @property
    def client_id(self) -> str:
        return self._session.client_id

    @property
    def session(self) -> Session:
        """The session record (subscriptions, principal, thing name, ...)."""
        return self._session

    @property
    def connected(self) -> bool:
        return self._session.connected

    @property
    def disconnect_reason(self) -> str | None:
        """Why the connection ended (DUPLICATE_CLIENTID, API_INITIATED_DISCONNECT,
        AUTH_ERROR, CLIENT_INITIATED_DISCONNECT, ...); None while connected."""
        return self._session.disconnect_reason

    def _live(self) -> Session:
        if not self._session.connected:
            raise DeviceDisconnected(self.client_id, self._session.disconnect_reason or "")
        return self._session

    def subscribe(self, topic_filter: str, qos: int = 0) -> int:
        """Subscribe; the SUBACK code: the granted QoS (0 or 1), or 0x80 when the filter
        is invalid or the certificate's policies deny iot:Subscribe. Retained messages
        matching the filter arrive at once."""
        result = sessions.subscribe(self._live(), [(topic_filter, qos)])
        for delivery in result.pending:
            self._inbox.deliver(delivery)
        return result.granted[0]

    def unsubscribe(self, topic_filter: str) -> None:
        sessions.unsubscribe(self._live(), [topic_filter])

    def publish(
        self,
        topic: str,
        payload: bytes | str = b"",
        qos: int = 0,
        retain: bool = False,
        *,
        user_properties: list[dict[str, str]] | None = None,
        content_type: str | None = None,
        response_topic: str | None = None,
        correlation_data: str | None = None,
    ) -> int:
        """Publish; the PUBACK reason code: 0, or 0x87 when the policies deny
        iot:Publish. Over MQTT 3.1.1 a denied publish, and for every protocol a topic
        clients cannot publish to, also ends the connection (see `connected`)."""
        raw = payload.encode() if isinstance(payload, str) else bytes(payload)
        properties = {
            "user_properties": user_properties,
            "content_type": content_type,
            "response_topic": response_topic,
            "correlation_data": correlation_data,
        }
        return sessions.publish_from(
            self._live(),
            topic,
            raw,
            qos=qos,
            retain=retain,
            **{k: v for k, v in properties.items() if v is not None},
        )

    def received(self, topic_filter: str = "#") -> list[Message]:
        """The messages delivered to this connection whose topic matches `topic_filter`
        (`#` alone: all of them, reserved `$aws/...` topics included), oldest first."""
        return [d.message for d in self.deliveries(topic_filter)]

    def deliveries(self, topic_filter: str = "#") -> list[Delivery]:
        """Like `received`, with the delivery QoS and the retained flag."""
        return [
            d
            for d in self._inbox.deliveries
            if topic_filter == "#" or topic_matches(topic_filter, d.message.topic)
        ]

    def disconnect(self, *, publish_will: bool = False) -> None:
        """Send DISCONNECT (the will is not published unless `publish_will`, MQTT 5's
        "disconnect with will message")."""
        sessions.disconnect(self._live(), publish_will=publish_will)

    def drop(self, reason: str = "CONNECTION_LOST") -> None:
        """Lose the connection without DISCONNECT (CONNECTION_LOST,
        MQTT_KEEP_ALIVE_TIMEOUT, ...): the will is published."""
        sessions.disconnect(self._live(), reason)


class DevicesApi(FamilyApi):
    """Simulated devices: what a device does on the wire, done in-process."""

    def connect(
        self,
        client_id: str,
        *,
        certificate_id: str | None = None,
        certificate_pem: str | None = None,
        principal: str | None = None,
        clean_session: bool = True,
        session_expiry: int | None = None,
        keep_alive: int = sessions.DEFAULT_KEEP_ALIVE,
        will_topic: str | None = None,
        will_payload: bytes | str = b"",
        will_qos: int = 0,
        will_retain: bool = False,
        protocol: str = "mqtt311",
        auto_acknowledge: bool = True,
        account_id: str | None = None,
        region: str | None = None,
    ) -> SimulatedDevice:
        """Connect a simulated device; raises `iotmock.devices.errors.ConnectionRefused`
        when the service refuses the connection.

        With `certificate_id` (a registered certificate) or `certificate_pem` (what the
        device presents in TLS: an unregistered one signed by a CA allowing
        auto-registration goes through JITR/JITP, which refuses that first connection),
        the certificate must be ACTIVE and its policies are enforced for iot:Connect,
        Publish, Subscribe and Receive. Without a certificate nothing is checked and
        `principal` only names the principal in the lifecycle events.

        Connecting publishes `$aws/events/presence/connected/<clientId>`; a client id
        already connected is taken over (DUPLICATE_CLIENTID, its will published). With
        `clean_session=False` the session outlives the connection for `session_expiry`
        seconds (default 3600) and queues QoS 1 messages meanwhile. `protocol` is
        "mqtt311" or "mqtt5". With `auto_acknowledge=False` the device never PUBACKs
        (SendDirectMessage with confirmation then times out).
        """
        inbox = _Inbox([], auto_acknowledge)
        with self._mock.lock:
            self._act(account_id, region)  # connecting is activity there
        if will_topic is not None:
            raw = will_payload.encode() if isinstance(will_payload, str) else will_payload
            will: Will | None = Will(will_topic, raw, will_qos, will_retain)
        else:
            will = None
        connected = sessions.connect(
            self._mock,
            client_id,
            deliver=inbox.deliver,
            close=inbox.close,
            certificate_id=certificate_id,
            certificate_pem=certificate_pem,
            principal=principal,
            clean_session=clean_session,
            session_expiry=session_expiry,
            keep_alive=keep_alive,
            will=will,
            protocol=protocol,
            account_id=account_id,
            region=region,
        )
        return SimulatedDevice(connected, inbox)

    def register_pre_provisioning_hook(
        self,
        function_arn: str,
        hook: PreProvisioningHook,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Stand `hook` in for the Lambda function `function_arn` of provisioning
        templates' pre-provisioning hooks. It receives AWS's event (`claimCertificateId`,
        `certificateId`, `certificatePem`, `templateArn`, `clientId`, `parameters`) and
        returns `{"allowProvisioning": bool, "parameterOverrides": {...}}`. It serves the
        templates of the account and region the ARN names, unless `account_id` /
        `region` are given."""
        with self._mock.lock:
            backend = self._setup_for_function(function_arn, account_id, region)
            register_hook(self._context("RegisterThing", backend), function_arn, hook)
