"""The MQTT endpoint devices connect to: MQTT 3.1.1 and 5 over TLS with client
certificates the mock knows, IoT policies enforced on the wire, and one message path
shared with iot-data (see docs/devices.md).

Modules: `codec` (packets), `limits` (AWS's broker limits), `tls` (server certificate,
accepted client certificates), `auth` (certificate lookup, policy decisions), `session`
(sessions, routing), `delivery` (QoS 1 packet ids, the in-flight window), `properties`
(MQTT 5 properties <-> message fields), `events` (connect-failure and subscription
lifecycle events), `connection` (the protocol of one connection), `listener` (the
asyncio server thread).
"""

from __future__ import annotations

from .listener import MqttListener, start_listener

__all__ = ["MqttListener", "start_listener"]
