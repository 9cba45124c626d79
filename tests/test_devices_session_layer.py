"""The session layer as a transport (the MQTT listener) uses it: callbacks, pending
deliveries after CONNACK / SUBACK, service-initiated closes, acknowledgements."""

from __future__ import annotations

from typing import Any

import pytest

from iotmock import IotMock
from iotmock.devices import sessions
from iotmock.devices.errors import ConnectionRefused
from iotmock.devices.sessions import Delivery, Will


class Transport:
    """What a network transport keeps per connection: outgoing deliveries, closes."""

    def __init__(self) -> None:
        self.sent: list[Delivery] = []
        self.closed: list[str] = []

    def connect(self, mock: IotMock, client_id: str, **options: Any) -> sessions.Connected:
        return sessions.connect(
            mock,
            client_id,
            deliver=self.sent.append,
            close=self.closed.append,
            transport="mqtt",
            source=("127.0.0.1", 50123),
            target=("127.0.0.1", 8883),
            **options,
        )


def test_a_transport_drives_a_session(iot_mock: IotMock, iot_data: Any) -> None:
    iot_data.publish(topic="cfg/a", payload=b"retained", retain=True)
    first = Transport()
    connected = first.connect(iot_mock, "c1", clean_session=False, protocol="mqtt5")
    assert connected.session_present is False and connected.pending == []
    session = connected.session
    assert session.transport == "mqtt" and session.source_port == 50123
    subscribed = sessions.subscribe(session, [("cfg/#", 1), ("bad/#/x", 0)])
    assert subscribed.granted == [1, 0x80]
    # Retained messages are handed back, for the transport to send after its SUBACK.
    assert [d.message.payload for d in subscribed.pending] == [b"retained"]
    assert first.sent == []
    iot_data.publish(topic="cfg/b", payload=b"live", qos=1)
    (live,) = first.sent
    assert live.qos == 1 and not live.acknowledged.is_set()
    live.acknowledge()  # the transport calls this when the PUBACK arrives
    assert sessions.publish_from(session, "cfg/c", b"from device", qos=1) == 0
    assert [d.message.payload for d in first.sent] == [b"live", b"from device"]
    # The connection is lost: the session stays, offline, and queues QoS 1 messages.
    sessions.disconnect(session, "CONNECTION_LOST")
    assert first.closed == []  # the transport itself saw the connection go
    iot_data.publish(topic="cfg/d", payload=b"queued", qos=1)
    second = Transport()
    back = second.connect(iot_mock, "c1", clean_session=False)
    assert back.session_present is True
    # The unacknowledged QoS 1 delivery comes again (MQTT's DUP flag), then the queued one.
    assert [(d.message.payload, d.redelivery) for d in back.pending] == [
        (b"from device", True),
        (b"queued", False),
    ]
    # A takeover closes the live connection through its close callback.
    third = Transport()
    third.connect(iot_mock, "c1", will=Will("wills/c1", b"gone"))
    assert second.closed == ["DUPLICATE_CLIENTID"]
    # Ending an ended session again is a no-op (the transport may report it late).
    sessions.disconnect(back.session, "CONNECTION_LOST")
    events = [m.json()["eventType"] for m in iot_mock.messages("$aws/events/presence/+/c1")]
    assert events == ["connected", "disconnected", "connected", "disconnected", "connected"]


def test_invalid_client_ids_reasons_and_protocols_are_refused(
    iot_mock: IotMock,
) -> None:
    transport = Transport()
    with pytest.raises(ValueError, match="protocol"):
        transport.connect(iot_mock, "c", protocol="mqtt3")
    for bad in ("", "$aws", "x" * 129):
        with pytest.raises(ConnectionRefused) as exc:
            transport.connect(iot_mock, bad)
        assert exc.value.reason == "INVALID_CLIENT_ID"
    session = transport.connect(iot_mock, "c").session
    with pytest.raises(ValueError, match="disconnect reason"):
        sessions.disconnect(session, "BORED")
