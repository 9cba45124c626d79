"""Just-in-time registration (JITR) and provisioning (JITP) of device certificates.

A device presenting a certificate that is not registered, signed by a registered ACTIVE
CA certificate whose auto-registration is enabled, is registered on its first connection
(DG:auto-register-device-cert):

- JITR (the CA has no provisioning template): the certificate is registered as
  PENDING_ACTIVATION, `$aws/events/certificates/registered/<caCertificateId>` is
  published, and the connection is closed; something (a rule and a Lambda, the test)
  activates the certificate and attaches a policy, and the device connects again.
- JITP (the CA's `registrationConfig` has a `templateBody`, or names a JITP
  provisioning template): the template runs with the certificate's subject fields as
  `AWS::IoT::Certificate::*` parameters, creating the thing, the policy and the
  attachments and setting the certificate's status (ACTIVE in AWS's examples). The
  first connection is closed too: the device connects again with its provisioned
  certificate.
"""

from __future__ import annotations

import json
from typing import NoReturn

from cryptography import x509

from iotmock.core import clock
from iotmock.core.errors import ServiceError
from iotmock.core.operations import RequestContext
from iotmock.devices.errors import ConnectionRefused
from iotmock.identity import crypto
from iotmock.identity.authorization import certificate_variables
from iotmock.identity.ca_certificates import cas_named
from iotmock.identity.certificates import add_certificate
from iotmock.identity.provisioning import REGISTER_THING_FAILURES
from iotmock.identity.provisioning_engine import provision
from iotmock.identity.provisioning_templates import parse_template
from iotmock.identity.records import CACertificate, templates_of
from iotmock.messaging.log import publish

_SUBJECT = "iot:Certificate.Subject."
# JITP names the subject's stateOrProvinceName StateName; the other fields keep the
# names of the iot:Certificate.Subject.* policy variables (DG:jit-provisioning).
_JITP_NAMES = {"State": "StateName"}


def _unknown(cert: x509.Certificate, why: str) -> ConnectionRefused:
    return ConnectionRefused(
        "UNKNOWN_CERTIFICATE",
        f"The certificate {crypto.certificate_id(cert)} is not registered and {why}.",
    )


def _issuing_ca(ctx: RequestContext, cert: x509.Certificate) -> CACertificate:
    signers = [
        ca
        for ca in cas_named(ctx.backend, cert.issuer)
        if crypto.is_issued_by(cert, ca.certificate)
    ]
    if not signers:
        raise _unknown(cert, "no registered CA certificate signed it")
    for ca in signers:
        if ca.status == "ACTIVE" and ca.auto_registration_status == "ENABLE":
            return ca
    raise _unknown(
        cert, "the CA certificate that signed it is not ACTIVE with auto-registration enabled"
    )


def on_unknown_certificate(ctx: RequestContext, cert: x509.Certificate) -> NoReturn:
    """Register (and provision) an unknown device certificate; the connection that
    presented it is always refused."""
    ca = _issuing_ca(ctx, cert)
    if cert.not_valid_after_utc.timestamp() < clock.now():
        raise _unknown(cert, "it has expired")
    record = add_certificate(
        ctx.backend,
        cert,
        "PENDING_ACTIVATION",
        ca_certificate_id=ca.certificate_id,
        mode=ca.certificate_mode,
    )
    body = _template_body(ctx, ca)
    if body is None:
        now = clock.now_millis()
        publish(
            ctx,
            f"$aws/events/certificates/registered/{ca.certificate_id}",
            {
                "certificateId": record.certificate_id,
                "caCertificateId": ca.certificate_id,
                "timestamp": now,
                "certificateStatus": record.status,
                "awsAccountId": ctx.account_id,
                "certificateRegistrationTimestamp": now,
            },
            source="jitr",
        )
        raise ConnectionRefused(
            "CERTIFICATE_AUTO_REGISTERED",
            f"The certificate {record.certificate_id} was registered as PENDING_ACTIVATION "
            f"(just-in-time registration with CA {ca.certificate_id}); activate it and "
            "connect again.",
        )
    parameters: dict[str, str] = {"AWS::IoT::Certificate::Id": record.certificate_id}
    for variable, value in certificate_variables(record.pem).items():
        label = variable[len(_SUBJECT) :]
        # Only the subject's own fields (first values), not its alternative names.
        if variable.startswith(_SUBJECT) and "." not in label:
            parameters[f"AWS::IoT::Certificate::{_JITP_NAMES.get(label, label)}"] = value
    try:
        provision(ctx, parse_template(body), parameters, REGISTER_THING_FAILURES)
    except ServiceError as error:
        raise ConnectionRefused(
            "CERTIFICATE_NOT_ACTIVE",
            f"Just-in-time provisioning of certificate {record.certificate_id} failed: "
            f"{error.message}",
        ) from None
    raise ConnectionRefused(
        "CERTIFICATE_PROVISIONED",
        f"The certificate {record.certificate_id} was provisioned just in time with the "
        f"template of CA {ca.certificate_id}; connect again.",
    )


def _template_body(ctx: RequestContext, ca: CACertificate) -> str | None:
    """The JITP template of a CA: its registrationConfig's templateBody, or the JITP
    provisioning template it names; None for plain JITR."""
    config = ca.registration_config or {}
    body = config.get("templateBody")
    if body:
        return str(body) if isinstance(body, str) else json.dumps(body)
    name = config.get("templateName")
    if name:
        template = templates_of(ctx.backend).templates.get(name)
        if template is not None:
            return template.body
    return None
