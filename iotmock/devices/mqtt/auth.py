"""Which account a client certificate belongs to, and which certificates the TLS layer
accepts. Whether the certificate may connect (registered, ACTIVE, its CA ACTIVE, JITR,
the policies) is the session layer's decision (`iotmock.devices.sessions.connect`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from cryptography import x509

from iotmock.core.backend import Backend
from iotmock.identity.ca_certificates import cas_named
from iotmock.identity.crypto import mock_ca
from iotmock.identity.records import cas_of, identity_of

if TYPE_CHECKING:
    from iotmock._mock import IotMock


def account_of(mock: IotMock, der: bytes) -> Backend:
    """The account and region a client certificate (DER) connects to: the one where it
    is registered (the mock's own first), else one that registered the CA that issued it
    (just-in-time registration happens there), else the mock's own (which refuses it)."""
    certificate_id = hashlib.sha256(der).hexdigest()
    backends = _backends_default_first(mock)
    for backend in backends:
        if certificate_id in identity_of(backend).certificates:
            return backend
    issuer = x509.load_der_x509_certificate(der).issuer
    for backend in backends:
        if cas_named(backend, issuer):
            return backend
    return mock._state(use="setup")  # the mock's own: no reason to warn, nothing happened yet


def _backends_default_first(mock: IotMock) -> list[Backend]:
    """The accounts and regions holding state, the mock's own first (read without
    creating it: a device of another account is no reason to warn about an empty one)."""
    default = (mock.account_id, mock.region)
    backends = mock.backends()
    return sorted(backends, key=lambda b: (b.account_id, b.region) != default)


def trusted_pems(mock: IotMock) -> list[str]:
    """Every certificate the TLS layer should accept a client chain to (see tls.py)."""
    pems: list[str] = []
    for backend in mock.backends():
        pems.append(mock_ca(backend.account_id, backend.region).pem)
        pems.extend(ca.pem for ca in cas_of(backend).cas.values())
        pems.extend(certificate.pem for certificate in identity_of(backend).certificates.values())
    return pems
