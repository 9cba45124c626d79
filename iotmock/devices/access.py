"""What a connected device may do: its certificate's IoT policies, evaluated the way the
device gateway does (the same engine and context as TestAuthorization).

A device connected with a certificate is held to the policies attached to the
certificate and to the thing groups of the thing it acts for; the policies are read at
each check, so attaching or detaching a policy takes effect on the next action. A
simulated device connected without a certificate is not checked (see docs/devices.md).
"""

from __future__ import annotations

from iotmock.core.backend import Backend
from iotmock.identity.authorization import EvaluationContext, NamedPolicy, authorize
from iotmock.identity.policies import Target
from iotmock.identity.policy_attachments import (
    connected_thing,
    context_values,
    effective_policies,
)
from iotmock.identity.records import Certificate
from iotmock.registry.records import Thing, registry_of

CONNECT = "iot:Connect"
PUBLISH = "iot:Publish"
SUBSCRIBE = "iot:Subscribe"
RECEIVE = "iot:Receive"
RETAIN_PUBLISH = "iot:RetainPublish"


class Access:
    """The authorization checks of one connection."""

    __slots__ = ("_backend", "_certificate", "_client_id")

    def __init__(self, backend: Backend, certificate: Certificate | None, client_id: str) -> None:
        self._backend = backend
        self._certificate = certificate
        self._client_id = client_id

    @property
    def enforced(self) -> bool:
        return self._certificate is not None

    def thing(self) -> Thing | None:
        """The thing the connection acts for (its certificate's exclusive thing, else the
        attached thing named like the client id)."""
        if self._certificate is None:
            return None
        return connected_thing(self._backend, self._certificate.arn, self._client_id)

    def exclusive_thing(self) -> str | None:
        """The thing attached to the certificate as EXCLUSIVE_THING (lifecycle events
        name it), if any."""
        if self._certificate is None:
            return None
        attached = registry_of(self._backend).principal_things.get(self._certificate.arn, {})
        return next((name for name, kind in attached.items() if kind == "EXCLUSIVE_THING"), None)

    def certificate_active(self) -> bool:
        """False once the certificate left ACTIVE (AWS then disconnects its devices)."""
        return self._certificate is None or self._certificate.status == "ACTIVE"

    def allows(self, action: str, resource: str) -> bool:
        """Whether `action` on the ARN suffix `resource` (`client/<id>`, `topic/<t>`,
        `topicfilter/<f>`) is allowed."""
        certificate = self._certificate
        if certificate is None:
            return True
        backend = self._backend
        target = Target(certificate.arn, "cert", certificate.certificate_id)
        thing = self.thing()
        policies = [
            NamedPolicy(p.name, p.arn, p.default_version.document)
            for p in effective_policies(backend, target, thing)
        ]
        values = context_values(backend, target, self._client_id, thing)
        decision = authorize(policies, action, [backend.arn(resource)], EvaluationContext(values))
        return decision.decision == "ALLOWED"
