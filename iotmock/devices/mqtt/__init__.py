"""The MQTT endpoint devices connect to: MQTT 3.1.1 and 5 over TLS with client
certificates the mock knows, one transport of the device session layer
(`iotmock.devices.sessions`, which runs the broker and enforces the policies); see
docs/devices.md.

Modules: `codec` (packets), `limits` (packet and keep-alive limits), `tls` (server
certificate, accepted client certificates), `auth` (which account a client certificate
belongs to), `delivery` (QoS 1 packet ids, the in-flight window), `properties` (MQTT 5
properties <-> message fields), `connection` (the protocol of one connection),
`listener` (the asyncio server thread), `group` (`m.mqtt`). Importing this package starts nothing.
"""
