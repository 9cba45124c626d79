"""CA certificates and the registration code: GetRegistrationCode, DeleteRegistrationCode,
RegisterCACertificate, DescribeCACertificate, UpdateCACertificate, DeleteCACertificate,
ListCACertificates."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import (
    ServiceError,
    already_exists,
    invalid_request,
    limit_exceeded,
    not_found,
)
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity import crypto
from iotmock.identity.records import CACertificate, CAStore, template_exists

MAX_CAS_PER_SUBJECT = 10


def certificate_validation_error(message: str) -> ServiceError:
    return ServiceError("CertificateValidationException", message)


def certificate_state_error(message: str) -> ServiceError:
    return ServiceError("CertificateStateException", message)


def parse_certificate(pem: str) -> x509.Certificate:
    """The parsed PEM, or CertificateValidationException saying what is wrong."""
    try:
        return crypto.load_certificate(pem)
    except crypto.CertificateError as error:
        raise certificate_validation_error(str(error)) from None


def registration_code(backend: Backend) -> str:
    """The account's current registration code (minted on first use)."""
    store = backend.store(CAStore)
    if store.registration_code is None:
        store.registration_code = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    return store.registration_code


def get_ca(backend: Backend, certificate_id: str) -> CACertificate:
    ca = backend.store(CAStore).cas.get(certificate_id)
    if ca is None:
        raise not_found(f"The CA certificate {certificate_id} does not exist.")
    return ca


def _subject_key(cert: x509.Certificate) -> bytes:
    return cert.subject.public_bytes()


def cas_named(backend: Backend, name: x509.Name) -> list[CACertificate]:
    """The registered CAs whose subject is `name` (the issuer of a device certificate)."""
    store = backend.store(CAStore)
    ids = store.by_subject.get(name.public_bytes(), {})
    return [store.cas[ca_id] for ca_id in ids]


def _check_registration_config(backend: Backend, config: dict[str, Any] | None) -> None:
    template_name = (config or {}).get("templateName")
    if template_name and not template_exists(backend, template_name):
        raise not_found(f"The provisioning template {template_name} does not exist.")


@tagging.taggable("cacert")
def _cacert_exists(backend: Backend, resource_id: str) -> bool:
    return resource_id in backend.store(CAStore).cas


@operation("iot", "GetRegistrationCode")
def get_registration_code(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return {"registrationCode": registration_code(ctx.backend)}


@operation("iot", "DeleteRegistrationCode")
def delete_registration_code(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The next GetRegistrationCode mints a new code (API:GetRegistrationCode).
    ctx.backend.store(CAStore).registration_code = None
    return {}


def _check_verification(
    backend: Backend, ca: x509.Certificate, verification_pem: str | None, mode: str
) -> None:
    """DEFAULT mode proves possession of the CA key: a certificate whose CN is the
    registration code, signed by the CA (DG:register-CA-cert). SNI_ONLY takes none."""
    if mode == "SNI_ONLY":
        if verification_pem:
            raise invalid_request(
                "The verificationCertificate must be empty when certificateMode is SNI_ONLY."
            )
        return
    if not verification_pem:
        raise invalid_request(
            "The verificationCertificate is required when certificateMode is DEFAULT "
            "(or not given). Use SNI_ONLY to register a CA without one."
        )
    verification = parse_certificate(verification_pem)
    code = registration_code(backend)
    if crypto.common_name(verification.subject) != code:
        raise ServiceError(
            "RegistrationCodeValidationException",
            "The verification certificate's common name does not match the registration "
            "code of this account (see GetRegistrationCode).",
        )
    if not crypto.is_issued_by(verification, ca):
        raise certificate_validation_error(
            "The verification certificate is not signed by the CA certificate's private key."
        )


@operation("iot", "RegisterCACertificate")
def register_ca_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = backend.store(CAStore)
    cert = parse_certificate(params["caCertificate"])
    if not crypto.is_ca_certificate(cert):
        raise certificate_validation_error(
            "The certificate is not a CA certificate (basicConstraints CA is false)."
        )
    mode = params.get("certificateMode") or "DEFAULT"
    _check_verification(backend, cert, params.get("verificationCertificate"), mode)
    ca_id = crypto.certificate_id(cert)
    arn = backend.arn(f"cacert/{ca_id}")
    if ca_id in store.cas:
        raise already_exists("The CA certificate is already registered.", ca_id, arn)
    same_subject = store.by_subject.setdefault(_subject_key(cert), {})
    if len(same_subject) >= MAX_CAS_PER_SUBJECT:
        raise limit_exceeded(
            f"An account can register at most {MAX_CAS_PER_SUBJECT} CA certificates with "
            f"the same subject ({cert.subject.rfc4514_string()})."
        )
    config = params.get("registrationConfig")
    _check_registration_config(backend, config)
    now = clock.now()
    not_before, not_after = crypto.validity(cert)
    ca = CACertificate(
        certificate_id=ca_id,
        arn=arn,
        pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        certificate=cert,
        status="ACTIVE" if params.get("setAsActive") else "INACTIVE",
        auto_registration_status="ENABLE" if params.get("allowAutoRegistration") else "DISABLE",
        owned_by=backend.account_id,
        created_at=now,
        last_modified_at=now,
        not_before=not_before,
        not_after=not_after,
        generation_id=str(uuid.uuid4()),
        certificate_mode=mode,
        registration_config=dict(config) if config else None,
    )
    tagging.tag_on_create(backend, arn, params.get("tags"))
    store.cas[ca_id] = ca
    store.order.add(ca_id, now, ca)
    same_subject[ca_id] = None
    return {"certificateArn": arn, "certificateId": ca_id}


@operation("iot", "DescribeCACertificate")
def describe_ca_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    ca = get_ca(ctx.backend, params["certificateId"])
    return {
        "certificateDescription": {
            "certificateArn": ca.arn,
            "certificateId": ca.certificate_id,
            "status": ca.status,
            "certificatePem": ca.pem,
            "ownedBy": ca.owned_by,
            "creationDate": ca.created_at,
            "autoRegistrationStatus": ca.auto_registration_status,
            "lastModifiedDate": ca.last_modified_at,
            "customerVersion": ca.customer_version,
            "generationId": ca.generation_id,
            "validity": {"notBefore": ca.not_before, "notAfter": ca.not_after},
            "certificateMode": ca.certificate_mode,
        },
        "registrationConfig": dict(ca.registration_config) if ca.registration_config else None,
    }


@operation("iot", "UpdateCACertificate")
def update_ca_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    ca = get_ca(backend, params["certificateId"])
    config = params.get("registrationConfig")
    if config and params.get("removeAutoRegistration"):
        raise invalid_request("You cannot give both registrationConfig and removeAutoRegistration.")
    _check_registration_config(backend, config)
    if params.get("newStatus"):
        ca.status = params["newStatus"]
    if params.get("newAutoRegistrationStatus"):
        ca.auto_registration_status = params["newAutoRegistrationStatus"]
    if config:
        ca.registration_config = {**(ca.registration_config or {}), **config}
    if params.get("removeAutoRegistration"):
        ca.registration_config = None
    _touch(ca)
    return {}


def _touch(ca: CACertificate) -> None:
    """Record a change: every UpdateCACertificate bumps customerVersion and generationId."""
    ca.last_modified_at = clock.now()
    ca.customer_version += 1
    ca.generation_id = str(uuid.uuid4())


def change_ca_status(ca: CACertificate, new_status: str) -> None:
    """Set a CA certificate's status as UpdateCACertificate's newStatus does (audit
    mitigation actions too); a change bumps customerVersion and generationId. Device
    certificates of a CA that is not ACTIVE cannot connect (iotmock.devices.sessions)."""
    if ca.status != new_status:
        ca.status = new_status
        _touch(ca)


@operation("iot", "DeleteCACertificate")
def delete_ca_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = backend.store(CAStore)
    ca = get_ca(backend, params["certificateId"])
    if ca.status == "ACTIVE":
        raise certificate_state_error(
            f"A CA certificate must be deactivated (INACTIVE) before deletion. "
            f"Id: {ca.certificate_id}"
        )
    store.cas.pop(ca.certificate_id)
    store.order.remove(ca.certificate_id)
    same_subject = store.by_subject.get(_subject_key(ca.certificate), {})
    same_subject.pop(ca.certificate_id, None)
    tagging.drop(backend, ca.arn)
    return {}


def _uses_template(template_name: str) -> Callable[[CACertificate], bool]:
    def keep(ca: CACertificate) -> bool:
        return bool((ca.registration_config or {}).get("templateName") == template_name)

    return keep


@operation("iot", "ListCACertificates")
def list_ca_certificates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template_name = params.get("templateName")
    store = ctx.backend.store(CAStore)
    keep = _uses_template(template_name) if template_name else None
    page, marker = store.order.page(f"ListCACertificates:{template_name}", params, keep=keep)
    return {
        "certificates": [
            {
                "certificateArn": ca.arn,
                "certificateId": ca.certificate_id,
                "status": ca.status,
                "creationDate": ca.created_at,
            }
            for ca in page
        ],
        "nextMarker": marker,
    }
