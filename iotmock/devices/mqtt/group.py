"""`m.mqtt`: the MQTT endpoint of `mock_iot(mqtt=True)`.

Like `m.server`, it is cross-cutting (it serves every family's topics), so it is an
instance attribute the mock starts and stops with itself rather than a family group.
While the mock is active, real device clients connect over TLS to `host`:`port`
trusting `ca_file` (docs/devices.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from iotmock._mock import IotMock
    from iotmock.devices.mqtt.listener import MqttListener


class MqttGroup:
    """The MQTT listener of one mock; running while the mock is active if it was created
    with `mqtt=True`. Set `handshake_timeout` / `connect_timeout` (seconds allowed for
    the TLS handshake, then for CONNECT) before the mock starts to change them."""

    def __init__(self, mock: IotMock, enabled: bool = False) -> None:
        self._mock = mock
        self.enabled = enabled
        self.handshake_timeout: float | None = None
        self.connect_timeout: float | None = None
        self._listener: MqttListener | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start the listener (no-op unless enabled or already running)."""
        if not self.enabled or self._listener is not None:
            return
        from iotmock.devices.mqtt.listener import MqttListener

        listener = MqttListener(self._mock, host, port)
        if self.handshake_timeout is not None:
            listener.handshake_timeout = self.handshake_timeout
        if self.connect_timeout is not None:
            listener.connect_timeout = self.connect_timeout
        self._listener = listener.start()

    def stop(self) -> None:
        """Close every device connection and the socket. Call it without holding the
        mock's lock: connections take it as they close."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()

    @property
    def running(self) -> bool:
        return self._listener is not None

    @property
    def listener(self) -> MqttListener:
        if self._listener is None:
            raise RuntimeError(
                "iotmock: this mock has no MQTT endpoint: create it with mock_iot(mqtt=True) "
                "(fixture: iot_mqtt, or @pytest.mark.iot_mock(mqtt=True)) and start it"
            )
        return self._listener

    @property
    def host(self) -> str:
        return self.listener.host

    @property
    def port(self) -> int:
        return self.listener.port

    @property
    def ca_file(self) -> str:
        """Path of the PEM root CA the server certificate chains to (pass it to clients)."""
        return self.listener.ca_file

    @property
    def connections(self) -> int:
        """How many device connections are open."""
        return self.listener.connections
