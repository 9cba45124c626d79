"""Who a device is and what it may do: the client certificate presented in the TLS
handshake, looked up in the mock's state, and the IoT policies evaluated by the same
engine as TestAuthorization (`iotmock.authorization`, with the effective policies and
policy variables of `handlers/iot/policy_attachments`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...authorization import EvaluationContext, NamedPolicy, authorize
from ...crypto import mock_ca
from ...handlers.iot.identity_state import CAStore
from ...handlers.iot.policies import Target
from ...handlers.iot.policy_attachments import (
    _connected_thing,
    context_values,
    effective_policies,
)
from ...state import Backend, Certificate

if TYPE_CHECKING:
    from ..._mock import IotMock


@dataclass(slots=True)
class Principal:
    """The certificate a connection authenticated with, and the account it belongs to."""

    backend: Backend
    certificate: Certificate

    @property
    def target(self) -> Target:
        return Target(self.certificate.arn, "cert", self.certificate.certificate_id)


class CertificateRefused(Exception):
    """The certificate cannot connect; the message says why (for the server log)."""


def identify(mock: IotMock, der: bytes) -> Principal:
    """The principal of a client certificate (DER), else CertificateRefused: the
    certificate must be known to an account of the mock (its default account and region
    first) and ACTIVE, and so must the CA it was registered with."""
    certificate_id = hashlib.sha256(der).hexdigest()
    for backend in _backends_default_first(mock):
        found = backend.certificates.get(certificate_id)
        if found is None:
            continue
        if found.status != "ACTIVE":
            raise CertificateRefused(f"certificate {certificate_id} is {found.status}")
        if found.ca_certificate_id is not None:
            ca = backend.store(CAStore).cas.get(found.ca_certificate_id)
            if ca is not None and ca.status != "ACTIVE":
                raise CertificateRefused(f"the CA of certificate {certificate_id} is {ca.status}")
        return Principal(backend, found)
    raise CertificateRefused(f"certificate {certificate_id} is not registered")


def _backends_default_first(mock: IotMock) -> list[Backend]:
    default = mock.backend()
    return [default, *(b for b in mock.backends() if b is not default)]


def trusted_pems(mock: IotMock) -> list[str]:
    """Every certificate the TLS layer should accept a client chain to (see tls.py)."""
    pems: list[str] = []
    for backend in mock.backends():
        pems.append(mock_ca(backend.account_id, backend.region).pem)
        pems.extend(ca.pem for ca in backend.store(CAStore).cas.values())
        pems.extend(certificate.pem for certificate in backend.certificates.values())
    return pems


class Authorizer:
    """Policy decisions for one connection (client id + certificate), evaluated on every
    call, so policy and attachment changes apply to connected devices at once."""

    __slots__ = ("_arn_prefix", "backend", "client_id", "principal")

    def __init__(self, principal: Principal, client_id: str) -> None:
        self.principal = principal
        self.backend = principal.backend
        self.client_id = client_id
        self._arn_prefix = self.backend.arn("")

    def exclusive_thing(self) -> str | None:
        """The thing attached to the certificate as EXCLUSIVE_THING, if any."""
        attached = self.backend.principal_things.get(self.principal.certificate.arn, {})
        for thing_name, kind in attached.items():
            if kind == "EXCLUSIVE_THING":
                return thing_name
        return None

    def allowed(self, action: str, resource: str) -> bool:
        """Whether `action` (iot:Connect, ...) is ALLOWED on `resource` ("client/x",
        "topic/a/b", "topicfilter/a/#")."""
        backend = self.backend
        target = self.principal.target
        thing = _connected_thing(backend, target.value, self.client_id)
        policies = [
            NamedPolicy(p.name, p.arn, p.default_version.document)
            for p in effective_policies(backend, target, thing)
        ]
        if not policies:
            return False
        values = context_values(backend, target, self.client_id, thing)
        decision = authorize(
            policies, action, [self._arn_prefix + resource], EvaluationContext(values)
        )
        return decision.decision == "ALLOWED"
