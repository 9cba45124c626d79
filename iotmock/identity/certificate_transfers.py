"""Certificate transfers between accounts: TransferCertificate, AcceptCertificateTransfer,
RejectCertificateTransfer, CancelCertificateTransfer, ListOutgoingCertificates.

While a transfer is pending the certificate stays owned by the source account (status
PENDING_TRANSFER, listed by ListOutgoingCertificates) and is visible to the target account
through DescribeCertificate and ListCertificates. Accepting moves the record into the
target account (new ARN, ownedBy / previousOwnedBy); rejecting or cancelling leaves it with
the source as INACTIVE. The mock's lock is mock-wide, so touching both accounts' backends
in one call is safe.
"""

from __future__ import annotations

from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.ca_certificates import certificate_state_error
from iotmock.identity.certificates import (
    certificate_arn,
    detach_all_policies,
    get_certificate,
    index_certificate,
    touch,
    unindex_certificate,
)
from iotmock.identity.records import Certificate, CertificateStore, Incoming, identity_of
from iotmock.registry.records import registry_of
from iotmock.registry.thing_principals import detach


def _transfer_conflict(message: str) -> ServiceError:
    return ServiceError("TransferConflictException", message)


def _already_completed(certificate_id: str) -> ServiceError:
    return ServiceError(
        "TransferAlreadyCompletedException",
        f"The transfer of certificate {certificate_id} has already been completed.",
    )


def _not_pending(certificate_id: str) -> ServiceError:
    return invalid_request(f"The certificate {certificate_id} is not pending transfer.")


def _end_transfer(record: Certificate, source: Backend, target: Backend) -> None:
    """Forget the transfer in flight on both sides."""
    source_store = source.store(CertificateStore)
    source_store.outgoing.pop(record.certificate_id, None)
    source_store.outgoing_order.remove(record.certificate_id)
    target_store = target.store(CertificateStore)
    target_store.incoming.pop(record.certificate_id, None)
    target_store.order.remove(record.certificate_id)


@operation("iot", "TransferCertificate")
def transfer_certificate(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    record = get_certificate(backend, params["certificateId"])
    target_account = params["targetAwsAccount"]
    if target_account == ctx.account_id:
        raise invalid_request("A certificate cannot be transferred to the account that owns it.")
    if record.status == "ACTIVE":
        raise certificate_state_error(
            "Certificate must be deactivated (not ACTIVE) before transfer. "
            f"Id: {record.certificate_id}"
        )
    if record.status in ("PENDING_TRANSFER", "REVOKED"):
        raise certificate_state_error(
            f"The certificate {record.certificate_id} is {record.status} and cannot be transferred."
        )
    if identity_of(backend).target_policies.get(record.arn):
        raise _transfer_conflict(
            f"Certificate policies must be detached before transfer (arn: {record.arn})"
        )
    if registry_of(backend).principal_things.get(record.arn):
        raise _transfer_conflict(f"Things must be detached before transfer (arn: {record.arn})")
    target = ctx.mock._state(target_account, ctx.region)
    record.status = "PENDING_TRANSFER"
    record.transfer_data = {
        "transferMessage": params.get("transferMessage"),
        "transferDate": clock.now(),
    }
    touch(record)
    store = backend.store(CertificateStore)
    store.outgoing[record.certificate_id] = target_account
    store.outgoing_order.add(record.certificate_id, record.created_at, record)
    target_store = target.store(CertificateStore)
    target_store.incoming[record.certificate_id] = Incoming(record, ctx.account_id)
    target_store.order.add(record.certificate_id, record.created_at, record)
    return {"transferredCertificateArn": certificate_arn(target, record.certificate_id)}


def _incoming(ctx: RequestContext, certificate_id: str) -> Incoming:
    """The transfer to the caller's account, or the error AWS gives for why there is none."""
    store = ctx.backend.store(CertificateStore)
    found = store.incoming.get(certificate_id)
    if found is not None:
        return found
    if certificate_id in store.accepted:
        raise _already_completed(certificate_id)
    if certificate_id in store.outgoing:
        raise invalid_request(
            f"Only the transfer target can answer the transfer of certificate {certificate_id}; "
            "the source can cancel it with CancelCertificateTransfer."
        )
    if certificate_id in identity_of(ctx.backend).certificates:
        raise _not_pending(certificate_id)
    raise not_found(f"The certificate {certificate_id} does not exist.")


@operation("iot", "AcceptCertificateTransfer")
def accept_certificate_transfer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    incoming = _incoming(ctx, params["certificateId"])
    record = incoming.certificate
    source = ctx.mock._state(incoming.source_account, ctx.region)
    _end_transfer(record, source, ctx.backend)
    unindex_certificate(source, record)
    # The certificate leaves the source account: whatever was attached to it there while
    # the transfer was pending goes, or the source would keep attachments it cannot undo.
    detach_all_policies(source, record.arn)
    for thing_name in list(registry_of(source).principal_things.get(record.arn, {})):
        detach(source, thing_name, record.arn)
    source_store = source.store(CertificateStore)
    source_store.transferred_away[record.certificate_id] = ctx.account_id
    source_store.accepted.pop(record.certificate_id, None)
    target_store = ctx.backend.store(CertificateStore)
    target_store.accepted[record.certificate_id] = incoming.source_account
    target_store.transferred_away.pop(record.certificate_id, None)
    record.arn = certificate_arn(ctx.backend, record.certificate_id)
    record.owned_by = ctx.account_id
    record.previous_owned_by = incoming.source_account
    record.status = "ACTIVE" if params.get("setAsActive") else "INACTIVE"
    record.transfer_data = {**record.transfer_data, "acceptDate": clock.now()}
    touch(record)
    index_certificate(ctx.backend, record)
    return {}


@operation("iot", "RejectCertificateTransfer")
def reject_certificate_transfer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    incoming = _incoming(ctx, params["certificateId"])
    record = incoming.certificate
    source = ctx.mock._state(incoming.source_account, ctx.region)
    _end_transfer(record, source, ctx.backend)
    record.status = "INACTIVE"
    record.transfer_data = {
        **record.transfer_data,
        "rejectReason": params.get("rejectReason"),
        "rejectDate": clock.now(),
    }
    touch(record)
    return {}


@operation("iot", "CancelCertificateTransfer")
def cancel_certificate_transfer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    certificate_id = params["certificateId"]
    store = ctx.backend.store(CertificateStore)
    if certificate_id in store.transferred_away:
        raise _already_completed(certificate_id)
    if certificate_id in store.incoming:
        raise invalid_request(
            f"Only the transfer source can cancel the transfer of certificate {certificate_id}; "
            "the target can reject it with RejectCertificateTransfer."
        )
    record = get_certificate(ctx.backend, certificate_id)
    target_account = store.outgoing.get(certificate_id)
    if target_account is None:
        raise _not_pending(certificate_id)
    _end_transfer(record, ctx.backend, ctx.mock._state(target_account, ctx.region))
    record.status = "INACTIVE"
    touch(record)
    return {}


@operation("iot", "ListOutgoingCertificates")
def list_outgoing_certificates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(CertificateStore)
    page, marker = store.outgoing_order.page("ListOutgoingCertificates", params)
    return {
        "outgoingCertificates": [
            {
                "certificateArn": record.arn,
                "certificateId": record.certificate_id,
                "transferredTo": store.outgoing[record.certificate_id],
                "transferDate": record.transfer_data.get("transferDate"),
                "transferMessage": record.transfer_data.get("transferMessage"),
                "creationDate": record.created_at,
            }
            for record in page
        ],
        "nextMarker": marker,
    }
