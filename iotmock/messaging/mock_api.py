"""`m.devices`: simulated MQTT clients (the mock has no broker unless asked for one)."""

from __future__ import annotations

from iotmock.core.mock_api import FamilyApi
from iotmock.messaging.handlers import connect_client


class DevicesApi(FamilyApi):
    """What a device does on the wire, done in-process."""

    def connect(
        self,
        client_id: str,
        *,
        principal: str | None = None,
        will_topic: str | None = None,
        will_payload: bytes | str = b"",
    ) -> None:
        """Declare an MQTT client connected: publishes its
        `$aws/events/presence/connected/<clientId>` lifecycle event, and makes
        iot-data DeleteConnection find it (which publishes the will message, unless
        `preventWillMessage`, and the `disconnected` event). A second connection with the
        same client id takes over the first, as in AWS."""
        connect_client(
            self._mock,
            client_id,
            principal=principal,
            will_topic=will_topic,
            will_payload=will_payload,
        )
