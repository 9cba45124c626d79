"""Device certificates: CreateKeysAndCertificate, CreateCertificateFromCsr,
RegisterCertificate, RegisterCertificateWithoutCA, DescribeCertificate, UpdateCertificate,
DeleteCertificate, ListCertificates, ListCertificatesByCA.

Certificates are real X.509 (see `iotmock.identity.crypto`): AWS-issued ones are signed by the
mock CA of the account and region; the id is the SHA-256 of the DER.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from cryptography import x509

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    not_found,
)
from iotmock.core.events import emit
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity import crypto
from iotmock.identity.ca_certificates import (
    cas_named,
    certificate_state_error,
    certificate_validation_error,
    parse_certificate,
)
from iotmock.identity.records import (
    CACertificate,
    CAStore,
    Certificate,
    CertificateStore,
    CreationOrder,
    identity_of,
)
from iotmock.registry.records import registry_of
from iotmock.registry.thing_principals import detach_principal

# Statuses a caller may set; PENDING_TRANSFER and PENDING_ACTIVATION are IoT's own
# (API:UpdateCertificate), REGISTER_INACTIVE is deprecated but still accepted.
SETTABLE_STATUSES = frozenset({"ACTIVE", "INACTIVE", "REVOKED", "REGISTER_INACTIVE"})
# Statuses a certificate can be registered with (API:RegisterCertificate).
REGISTRATION_STATUSES = frozenset({"ACTIVE", "INACTIVE", "REVOKED"})


# --------------------------------------------------------------------------- records


def certificate_arn(backend: Backend, certificate_id: str) -> str:
    return backend.arn(f"cert/{certificate_id}")


def index_certificate(backend: Backend, record: Certificate) -> None:
    """Make `record` an owned certificate of `backend`, in every index."""
    store = backend.store(CertificateStore)
    identity_of(backend).certificates[record.certificate_id] = record
    store.order.add(record.certificate_id, record.created_at, record)
    if record.ca_certificate_id:
        by_ca = store.by_ca.setdefault(record.ca_certificate_id, CreationOrder())
        by_ca.add(record.certificate_id, record.created_at, record)


def unindex_certificate(backend: Backend, record: Certificate) -> None:
    store = backend.store(CertificateStore)
    identity_of(backend).certificates.pop(record.certificate_id)
    store.order.remove(record.certificate_id)
    if record.ca_certificate_id and record.ca_certificate_id in store.by_ca:
        store.by_ca[record.ca_certificate_id].remove(record.certificate_id)


def add_certificate(
    backend: Backend,
    cert: x509.Certificate,
    status: str,
    *,
    ca_certificate_id: str | None = None,
    mode: str = "DEFAULT",
) -> Certificate:
    """Store a new certificate of this account; an id already known is refused."""
    certificate_id = crypto.certificate_id(cert)
    arn = certificate_arn(backend, certificate_id)
    store = backend.store(CertificateStore)
    if certificate_id in identity_of(backend).certificates or certificate_id in store.incoming:
        raise already_exists(
            "The certificate is already provisioned or registered", certificate_id, arn
        )
    now = clock.now()
    not_before, not_after = crypto.validity(cert)
    record = Certificate(
        certificate_id=certificate_id,
        arn=arn,
        pem=crypto.to_pem(cert),
        status=status,
        created_at=now,
        last_modified_at=now,
        ca_certificate_id=ca_certificate_id,
        owned_by=backend.account_id,
        generation_id=str(uuid.uuid4()),
        not_before=not_before,
        not_after=not_after,
        certificate_mode=mode,
    )
    index_certificate(backend, record)
    return record


def touch(record: Certificate) -> None:
    """Record a change: AWS bumps customerVersion and generationId on every update."""
    record.last_modified_at = clock.now()
    record.customer_version += 1
    record.generation_id = str(uuid.uuid4())


def get_certificate(backend: Backend, certificate_id: str) -> Certificate:
    """An owned certificate, else ResourceNotFoundException."""
    record = identity_of(backend).certificates.get(certificate_id)
    if record is None:
        raise not_found(f"The certificate {certificate_id} does not exist.")
    return record


def visible_certificate(backend: Backend, certificate_id: str) -> Certificate:
    """An owned certificate or one being transferred to this account."""
    record = identity_of(backend).certificates.get(certificate_id)
    if record is None:
        incoming = backend.store(CertificateStore).incoming.get(certificate_id)
        if incoming is None:
            raise not_found(f"The certificate {certificate_id} does not exist.")
        record = incoming.certificate
    return record


def issue_certificate(
    ctx: RequestContext,
    public_key: crypto.PublicKey,
    status: str,
    *,
    subject: x509.Name | None = None,
    not_after: dt.datetime | None = None,
) -> Certificate:
    """A certificate for `public_key` signed by the mock CA of the caller's account."""
    ca = crypto.mock_ca(ctx.account_id, ctx.region)
    cert = ca.issue(public_key, subject=subject, not_after=not_after)
    return add_certificate(ctx.backend, cert, status)


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    try:
        return crypto.load_csr(pem)
    except crypto.CertificateError as error:
        raise invalid_request(str(error)) from None


def issue_for_csr(
    ctx: RequestContext, csr: x509.CertificateSigningRequest, status: str
) -> Certificate:
    """A certificate for the CSR's own key (`load_csr` checked it); AWS keeps the CSR's
    subject."""
    subject = csr.subject if len(csr.subject) else None
    return issue_certificate(ctx, crypto.csr_public_key(csr), status, subject=subject)


def _check_not_expired(cert: x509.Certificate) -> None:
    if cert.not_valid_after_utc.timestamp() < clock.now():
        raise certificate_validation_error(
            f"The certificate expired on {cert.not_valid_after_utc.isoformat()}."
        )


def registration_status(params: Params) -> str:
    """`status` wins over the older `setAsActive` flag; INACTIVE when neither is given."""
    status: str | None = params.get("status")
    if status is None:
        return "ACTIVE" if params.get("setAsActive") else "INACTIVE"
    if status not in REGISTRATION_STATUSES:
        raise invalid_request(
            f"A certificate cannot be registered with status {status}; "
            "use ACTIVE, INACTIVE or REVOKED."
        )
    return status


def find_issuing_ca(backend: Backend, cert: x509.Certificate, ca_pem: str | None) -> CACertificate:
    """The registered CA that signed `cert` (RegisterCertificate's chain check)."""
    if ca_pem:
        ca_id = crypto.certificate_id(parse_certificate(ca_pem))
        named = backend.store(CAStore).cas.get(ca_id)
        if named is None:
            raise certificate_validation_error(
                f"The CA certificate {ca_id} is not registered in this account. "
                "Register it with RegisterCACertificate first."
            )
        candidates = [named]
    else:
        candidates = cas_named(backend, cert.issuer)
    signers = [ca for ca in candidates if crypto.is_issued_by(cert, ca.certificate)]
    if not signers:
        raise certificate_validation_error(
            "The certificate is not signed by a CA certificate registered in this account "
            f"(issuer {cert.issuer.rfc4514_string()})."
        )
    if len(signers) > 1:
        raise ServiceError(
            "CertificateConflictException",
            f"{len(signers)} registered CA certificates share this certificate's issuer "
            "and key; pass caCertificatePem to say which one signed it.",
        )
    ca = signers[0]
    if ca.status != "ACTIVE":
        raise certificate_state_error(
            f"The CA certificate {ca.certificate_id} is {ca.status}; activate it with "
            "UpdateCACertificate before registering device certificates."
        )
    return ca


def register_with_ca(
    backend: Backend, certificate_pem: str, ca_pem: str | None, status: str
) -> Certificate:
    cert = parse_certificate(certificate_pem)
    _check_not_expired(cert)
    ca = find_issuing_ca(backend, cert, ca_pem)
    return add_certificate(
        backend, cert, status, ca_certificate_id=ca.certificate_id, mode=ca.certificate_mode
    )


def register_without_ca(backend: Backend, certificate_pem: str, status: str) -> Certificate:
    cert = parse_certificate(certificate_pem)
    _check_not_expired(cert)
    return add_certificate(backend, cert, status, mode="SNI_ONLY")


def _identity(record: Certificate) -> dict[str, Any]:
    return {"certificateArn": record.arn, "certificateId": record.certificate_id}


# --------------------------------------------------------------------------- operations


@operation("iot", "CreateKeysAndCertificate")
def create_keys_and_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    key = crypto.pooled_key()
    status = "ACTIVE" if params.get("setAsActive") else "INACTIVE"
    record = issue_certificate(ctx, key.key.public_key(), status)
    return {
        **_identity(record),
        "certificatePem": record.pem,
        "keyPair": {"PublicKey": key.public_pem, "PrivateKey": key.private_pem},
    }


@operation("iot", "CreateCertificateFromCsr")
def create_certificate_from_csr(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = "ACTIVE" if params.get("setAsActive") else "INACTIVE"
    record = issue_for_csr(ctx, load_csr(params["certificateSigningRequest"]), status)
    return {**_identity(record), "certificatePem": record.pem}


@operation("iot", "RegisterCertificate")
def register_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = registration_status(params)
    record = register_with_ca(
        ctx.backend, params["certificatePem"], params.get("caCertificatePem"), status
    )
    return _identity(record)


@operation("iot", "RegisterCertificateWithoutCA")
def register_certificate_without_ca(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = registration_status(params)
    return _identity(register_without_ca(ctx.backend, params["certificatePem"], status))


@operation("iot", "DescribeCertificate")
def describe_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    record = visible_certificate(ctx.backend, params["certificateId"])
    return {
        "certificateDescription": {
            "certificateArn": record.arn,
            "certificateId": record.certificate_id,
            "caCertificateId": record.ca_certificate_id,
            "status": record.status,
            "certificatePem": record.pem,
            "ownedBy": record.owned_by,
            "previousOwnedBy": record.previous_owned_by,
            "creationDate": record.created_at,
            "lastModifiedDate": record.last_modified_at,
            "customerVersion": record.customer_version,
            # `{}` for a certificate never transferred, as AWS shows it (CLI example).
            "transferData": dict(record.transfer_data or {}),
            "generationId": record.generation_id,
            "validity": {"notBefore": record.not_before, "notAfter": record.not_after},
            "certificateMode": record.certificate_mode,
        }
    }


def check_status_change(record: Certificate, new_status: str) -> None:
    """The transitions of spec §4: REVOKED is final, a transfer in flight freezes the
    certificate, IoT's internal statuses cannot be set."""
    if new_status not in SETTABLE_STATUSES:
        raise invalid_request(
            f"The status {new_status} is used internally by IoT and cannot be set; "
            "use ACTIVE, INACTIVE or REVOKED."
        )
    if record.status == "PENDING_TRANSFER":
        raise certificate_state_error(
            f"The certificate {record.certificate_id} is pending transfer and cannot be "
            "updated; cancel or complete the transfer first."
        )
    if record.status == "REVOKED" and new_status != "REVOKED":
        raise certificate_state_error(
            f"The certificate {record.certificate_id} is REVOKED and can never be "
            f"set to {new_status}."
        )


def _check_ca_active(backend: Backend, record: Certificate) -> None:
    """A device certificate cannot be activated while its CA is deactivated."""
    ca = backend.store(CAStore).cas.get(record.ca_certificate_id or "")
    if ca is not None and ca.status != "ACTIVE":
        raise certificate_state_error(
            f"The CA certificate {ca.certificate_id} of certificate {record.certificate_id} "
            f"is {ca.status}; activate the CA first."
        )


def change_status(ctx: RequestContext, record: Certificate, new_status: str) -> None:
    """Set a certificate's status as UpdateCertificate does (audit mitigation actions
    too): the transitions of `check_status_change`, no activation under an inactive CA,
    and a change bumps customerVersion and generationId. Devices connected with a
    certificate that leaves ACTIVE are disconnected when they next act (the device session
    layer reads the status, iotmock.devices.sessions)."""
    check_status_change(record, new_status)
    if new_status == "ACTIVE" and record.status != "ACTIVE":
        _check_ca_active(ctx.backend, record)
    if record.status != new_status:
        record.status = new_status
        touch(record)


@operation("iot", "UpdateCertificate")
def update_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    record = visible_certificate(ctx.backend, params["certificateId"])
    change_status(ctx, record, params["newStatus"])
    return {}


def detach_all_policies(backend: Backend, arn: str) -> None:
    for policy_name in identity_of(backend).target_policies.pop(arn, {}):
        targets = identity_of(backend).policy_targets.get(policy_name)
        if targets is not None:
            targets.pop(arn, None)


@operation("iot", "DeleteCertificate")
def delete_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    record = visible_certificate(backend, params["certificateId"])
    # Order of the checks: state first, then things (force does not help), then policies.
    if record.status == "ACTIVE":
        raise certificate_state_error(
            "Certificate must be deactivated (not ACTIVE) before deletion. "
            f"Id: {record.certificate_id}"
        )
    if record.status == "PENDING_TRANSFER":
        raise certificate_state_error(
            f"The certificate {record.certificate_id} is pending transfer; cancel or "
            "complete the transfer before deleting it."
        )
    if registry_of(backend).principal_things.get(record.arn):
        raise delete_conflict(f"Things must be detached before deletion (arn: {record.arn})")
    if identity_of(backend).target_policies.get(record.arn) and not params.get("forceDelete"):
        raise delete_conflict(
            f"Certificate policies must be detached before deletion (arn: {record.arn})"
        )
    detach_all_policies(backend, record.arn)
    detach_principal(backend, record.arn)
    unindex_certificate(backend, record)
    emit(ctx, "certificate_deleted", certificate_id=record.certificate_id, arn=record.arn)
    return {}


def _summary(record: Certificate) -> dict[str, Any]:
    return {
        "certificateArn": record.arn,
        "certificateId": record.certificate_id,
        "status": record.status,
        "certificateMode": record.certificate_mode,
        "creationDate": record.created_at,
    }


@operation("iot", "ListCertificates")
def list_certificates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, marker = ctx.backend.store(CertificateStore).order.page("ListCertificates", params)
    return {"certificates": [_summary(c) for c in page], "nextMarker": marker}


@operation("iot", "ListCertificatesByCA")
def list_certificates_by_ca(ctx: RequestContext, params: Params) -> dict[str, Any]:
    ca_id = params["caCertificateId"]
    # An unknown CA lists nothing: the operation models no ResourceNotFoundException.
    by_ca = ctx.backend.store(CertificateStore).by_ca.get(ca_id)
    if by_ca is None:
        return {"certificates": []}
    page, marker = by_ca.page(f"ListCertificatesByCA:{ca_id}", params)
    return {"certificates": [_summary(c) for c in page], "nextMarker": marker}
