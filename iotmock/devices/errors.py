"""What a device is told when the service refuses or ends its connection."""

from __future__ import annotations


class ConnectionRefused(Exception):
    """The service refused a connection: the transport answers the CONNECT with a
    refusal (or closes the TLS connection) and the client is not connected.

    `reason` is one of: INVALID_CLIENT_ID (empty, over 128 bytes or starting with $),
    NOT_AUTHORIZED (the policies do not allow iot:Connect),
    UNKNOWN_CERTIFICATE, CERTIFICATE_NOT_ACTIVE (not ACTIVE, expired, or its CA not
    ACTIVE), CERTIFICATE_AUTO_REGISTERED (JITR registered it PENDING_ACTIVATION),
    CERTIFICATE_PROVISIONED (JITP provisioned it: connect again).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


class DeviceDisconnected(Exception):
    """A simulated device was asked to act after its connection ended; `reason` is the
    disconnect reason (CLIENT_INITIATED_DISCONNECT, DUPLICATE_CLIENTID, ...)."""

    def __init__(self, client_id: str, reason: str) -> None:
        super().__init__(f"The device {client_id} is disconnected ({reason}).")
        self.client_id = client_id
        self.reason = reason
