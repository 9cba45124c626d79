"""Certificate transfers between two accounts of one mock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from freezegun import freeze_time

from iotmock import IotMock
from iotmock.identity.records import identity_of

SOURCE = "123456789012"
TARGET = "210987654321"


def describe(iot: Any, cert_id: str) -> dict[str, Any]:
    return dict(iot.describe_certificate(certificateId=cert_id)["certificateDescription"])


@pytest.fixture
def pending(iot: Any) -> dict[str, Any]:
    """An inactive certificate of SOURCE being transferred to TARGET."""
    with freeze_time("2026-05-01 10:00:00"):
        created = iot.create_keys_and_certificate()
    with freeze_time("2026-05-02 10:00:00"):
        transferred = iot.transfer_certificate(
            certificateId=created["certificateId"],
            targetAwsAccount=TARGET,
            transferMessage="yours now",
        )
    return {**created, **transferred}


def test_transfer_marks_the_certificate_pending(iot: Any, pending: dict[str, Any]) -> None:
    assert pending["transferredCertificateArn"] == (
        f"arn:aws:iot:us-east-1:{TARGET}:cert/{pending['certificateId']}"
    )
    description = describe(iot, pending["certificateId"])
    assert description["status"] == "PENDING_TRANSFER"
    assert description["transferData"]["transferMessage"] == "yours now"
    assert description["transferData"]["transferDate"].timestamp() == 1777716000.0

    outgoing = iot.list_outgoing_certificates()["outgoingCertificates"]
    assert len(outgoing) == 1
    assert outgoing[0]["certificateId"] == pending["certificateId"]
    assert outgoing[0]["certificateArn"] == pending["certificateArn"]
    assert outgoing[0]["transferredTo"] == TARGET
    assert outgoing[0]["transferMessage"] == "yours now"
    assert outgoing[0]["transferDate"].timestamp() == 1777716000.0
    assert outgoing[0]["creationDate"].timestamp() == 1777629600.0


def test_the_target_sees_the_pending_certificate(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    with iot_mock.as_account(TARGET):
        listed = iot.list_certificates()["certificates"]
        assert [(c["certificateId"], c["status"]) for c in listed] == [
            (pending["certificateId"], "PENDING_TRANSFER")
        ]
        assert describe(iot, pending["certificateId"])["ownedBy"] == SOURCE
        assert iot.list_outgoing_certificates()["outgoingCertificates"] == []


def test_accept_moves_the_certificate_to_the_target(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    with iot_mock.as_account(TARGET):
        iot.accept_certificate_transfer(certificateId=cert_id, setAsActive=True)
        description = describe(iot, cert_id)
        assert description["status"] == "ACTIVE"
        assert description["ownedBy"] == TARGET
        assert description["previousOwnedBy"] == SOURCE
        assert description["certificateArn"] == pending["transferredCertificateArn"]
        assert "acceptDate" in description["transferData"]
        assert [c["certificateId"] for c in iot.list_certificates()["certificates"]] == [cert_id]

    with pytest.raises(ClientError) as exc:
        iot.describe_certificate(certificateId=cert_id)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_outgoing_certificates()["outgoingCertificates"] == []
    assert cert_id in identity_of(iot_mock.backend(TARGET)).certificates
    assert cert_id not in identity_of(iot_mock.backend(SOURCE)).certificates


def test_accept_without_set_as_active_gives_inactive(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    with iot_mock.as_account(TARGET):
        iot.accept_certificate_transfer(certificateId=pending["certificateId"])
        assert describe(iot, pending["certificateId"])["status"] == "INACTIVE"


def test_after_acceptance_cancel_and_reject_are_too_late(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    with iot_mock.as_account(TARGET):
        iot.accept_certificate_transfer(certificateId=cert_id)
        with pytest.raises(ClientError) as exc:
            iot.reject_certificate_transfer(certificateId=cert_id)
        assert error_of(exc)[:2] == ("TransferAlreadyCompletedException", 410)
        with pytest.raises(ClientError) as exc:
            iot.accept_certificate_transfer(certificateId=cert_id)
        assert error_of(exc)[0] == "TransferAlreadyCompletedException"

    with pytest.raises(ClientError) as exc:
        iot.cancel_certificate_transfer(certificateId=cert_id)
    assert error_of(exc)[:2] == ("TransferAlreadyCompletedException", 410)


def test_reject_returns_the_certificate_inactive(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    with iot_mock.as_account(TARGET):
        iot.reject_certificate_transfer(certificateId=cert_id, rejectReason="not ours")
        assert iot.list_certificates()["certificates"] == []

    description = describe(iot, cert_id)
    assert description["status"] == "INACTIVE"
    assert description["ownedBy"] == SOURCE
    assert description["transferData"]["rejectReason"] == "not ours"
    assert "rejectDate" in description["transferData"]
    assert iot.list_outgoing_certificates()["outgoingCertificates"] == []


def test_cancel_returns_the_certificate_inactive(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    iot.cancel_certificate_transfer(certificateId=cert_id)

    assert describe(iot, cert_id)["status"] == "INACTIVE"
    assert iot.list_outgoing_certificates()["outgoingCertificates"] == []
    with iot_mock.as_account(TARGET):
        assert iot.list_certificates()["certificates"] == []
        with pytest.raises(ClientError) as exc:
            iot.accept_certificate_transfer(certificateId=cert_id)
        assert error_of(exc)[0] == "ResourceNotFoundException"


def test_only_the_target_answers_and_only_the_source_cancels(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    for answer in (iot.accept_certificate_transfer, iot.reject_certificate_transfer):
        with pytest.raises(ClientError) as exc:
            answer(certificateId=cert_id)
        assert error_of(exc)[:2] == ("InvalidRequestException", 400)

    with iot_mock.as_account(TARGET), pytest.raises(ClientError) as exc:
        iot.cancel_certificate_transfer(certificateId=cert_id)
    assert error_of(exc)[0] == "InvalidRequestException"


def test_a_pending_certificate_cannot_be_updated_deleted_or_transferred_again(
    iot: Any, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    calls = [
        lambda: iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE"),
        lambda: iot.delete_certificate(certificateId=cert_id),
        lambda: iot.transfer_certificate(certificateId=cert_id, targetAwsAccount="111122223333"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("CertificateStateException", 406)


def test_an_active_certificate_cannot_be_transferred(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]

    with pytest.raises(ClientError) as exc:
        iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=TARGET)

    assert error_of(exc) == (
        "CertificateStateException",
        406,
        f"Certificate must be deactivated (not ACTIVE) before transfer. Id: {cert_id}",
    )


def test_attached_policies_and_things_block_a_transfer(iot: Any) -> None:
    created = iot.create_keys_and_certificate()
    arn = created["certificateArn"]
    iot.create_policy(
        policyName="p",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
            }
        ),
    )
    iot.attach_policy(policyName="p", target=arn)

    with pytest.raises(ClientError) as exc:
        iot.transfer_certificate(certificateId=created["certificateId"], targetAwsAccount=TARGET)
    assert error_of(exc)[:2] == ("TransferConflictException", 409)
    assert "policies" in error_of(exc)[2]

    other = iot.create_keys_and_certificate()
    iot.create_thing(thingName="thing-1")
    iot.attach_thing_principal(thingName="thing-1", principal=other["certificateArn"])
    with pytest.raises(ClientError) as exc:
        iot.transfer_certificate(certificateId=other["certificateId"], targetAwsAccount=TARGET)
    assert error_of(exc)[:2] == ("TransferConflictException", 409)
    assert "Things" in error_of(exc)[2]

    # Once detached, both certificates can be transferred.
    iot.detach_policy(policyName="p", target=arn)
    iot.detach_thing_principal(thingName="thing-1", principal=other["certificateArn"])
    for certificate in (created, other):
        iot.transfer_certificate(
            certificateId=certificate["certificateId"], targetAwsAccount=TARGET
        )
        assert describe(iot, certificate["certificateId"])["status"] == "PENDING_TRANSFER"


def test_attachments_made_while_pending_do_not_outlive_the_acceptance(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    arn = pending["certificateArn"]
    iot.create_policy(
        policyName="p",
        policyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
            }
        ),
    )
    iot.attach_policy(policyName="p", target=arn)
    iot.create_thing(thingName="thing-1")
    iot.attach_thing_principal(thingName="thing-1", principal=arn)

    with iot_mock.as_account(TARGET):
        iot.accept_certificate_transfer(certificateId=pending["certificateId"])

    # The source no longer has the certificate, so nothing of it stays attached there.
    assert iot.list_targets_for_policy(policyName="p")["targets"] == []
    assert iot.list_thing_principals(thingName="thing-1")["principals"] == []
    iot.delete_thing(thingName="thing-1")
    iot.delete_policy(policyName="p")


def test_a_transfer_to_the_owner_is_invalid(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate()["certificateId"]

    with pytest.raises(ClientError) as exc:
        iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=SOURCE)

    assert error_of(exc)[0] == "InvalidRequestException"


def test_unknown_certificates_are_not_found(iot: Any) -> None:
    for call in (
        lambda: iot.transfer_certificate(certificateId="f" * 64, targetAwsAccount=TARGET),
        lambda: iot.accept_certificate_transfer(certificateId="f" * 64),
        lambda: iot.reject_certificate_transfer(certificateId="f" * 64),
        lambda: iot.cancel_certificate_transfer(certificateId="f" * 64),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_answering_a_certificate_that_is_not_pending_is_invalid(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate()["certificateId"]

    for call in (iot.accept_certificate_transfer, iot.cancel_certificate_transfer):
        with pytest.raises(ClientError) as exc:
            call(certificateId=cert_id)
        assert error_of(exc)[0] == "InvalidRequestException"


def test_a_certificate_can_travel_back(
    iot: Any, iot_mock: IotMock, pending: dict[str, Any]
) -> None:
    cert_id = pending["certificateId"]
    with iot_mock.as_account(TARGET):
        iot.accept_certificate_transfer(certificateId=cert_id)
        iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=SOURCE)

    iot.accept_certificate_transfer(certificateId=cert_id, setAsActive=True)

    description = describe(iot, cert_id)
    assert (description["ownedBy"], description["previousOwnedBy"]) == (SOURCE, TARGET)
    assert description["certificateArn"] == pending["certificateArn"]


def test_list_outgoing_certificates_pages(iot: Any) -> None:
    ids = []
    for day in range(1, 4):
        with freeze_time(f"2026-06-0{day}"):
            cert_id = iot.create_keys_and_certificate()["certificateId"]
        iot.transfer_certificate(certificateId=cert_id, targetAwsAccount=TARGET)
        ids.append(cert_id)

    first = iot.list_outgoing_certificates(pageSize=2, ascendingOrder=True)
    rest = iot.list_outgoing_certificates(
        pageSize=2, ascendingOrder=True, marker=first["nextMarker"]
    )
    listed = first["outgoingCertificates"] + rest["outgoingCertificates"]
    assert [c["certificateId"] for c in listed] == ids
    newest_first = iot.list_outgoing_certificates()["outgoingCertificates"]
    assert [c["certificateId"] for c in newest_first] == ids[::-1]
