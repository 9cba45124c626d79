"""Certificate statuses and transitions, DeleteCertificate's checks, ListCertificates,
RegisterCertificateWithoutCA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from freezegun import freeze_time

from iotmock import IotMock
from iotmock.core import events
from iotmock.identity.crypto import make_ca, new_ec_key, to_pem
from iotmock.identity.records import identity_of

POLICY_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


def attach_policy(iot: Any, policy_name: str, target: str) -> None:
    """CreatePolicy, then AttachPolicy to `target`."""
    iot.create_policy(policyName=policy_name, policyDocument=POLICY_DOCUMENT)
    iot.attach_policy(policyName=policy_name, target=target)


def attach_thing(iot: Any, thing_name: str, principal: str) -> None:
    """CreateThing, then AttachThingPrincipal."""
    iot.create_thing(thingName=thing_name)
    iot.attach_thing_principal(thingName=thing_name, principal=principal)


def describe(iot: Any, cert_id: str) -> dict[str, Any]:
    return dict(iot.describe_certificate(certificateId=cert_id)["certificateDescription"])


@pytest.fixture
def deleted_events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def record(ctx: Any, **details: Any) -> None:
        seen.append(details)

    subscribers = events._SUBSCRIBERS["certificate_deleted"]
    monkeypatch.setitem(events._SUBSCRIBERS, "certificate_deleted", [*subscribers, record])
    yield seen


# --------------------------------------------------------------------------- describe


def test_describe_certificate_reports_every_field(iot: Any) -> None:
    with freeze_time("2026-01-02 03:04:05"):
        created = iot.create_keys_and_certificate(setAsActive=True)
    description = describe(iot, created["certificateId"])

    assert description["certificateArn"] == created["certificateArn"]
    assert description["certificatePem"] == created["certificatePem"]
    assert description["ownedBy"] == "123456789012"
    assert description["customerVersion"] == 1
    assert description["certificateMode"] == "DEFAULT"
    assert description["creationDate"].timestamp() == 1767323045.0
    assert description["lastModifiedDate"] == description["creationDate"]
    assert description["validity"]["notBefore"].timestamp() == 1767323045.0
    assert description["validity"]["notAfter"].year == 2049
    assert description["generationId"]
    assert "caCertificateId" not in description
    assert description["transferData"] == {}  # never transferred (AWS CLI example)


def test_describe_unknown_certificate_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.describe_certificate(certificateId="a" * 64)

    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- update


def test_active_and_inactive_switch_freely_and_bump_the_version(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    generation = describe(iot, cert_id)["generationId"]

    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    assert describe(iot, cert_id)["status"] == "INACTIVE"
    iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")

    after = describe(iot, cert_id)
    assert after["status"] == "ACTIVE"
    assert after["customerVersion"] == 3
    assert after["generationId"] != generation


def test_update_is_idempotent(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]

    iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")

    assert describe(iot, cert_id)["customerVersion"] == 1


def test_revoked_is_final(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    iot.update_certificate(certificateId=cert_id, newStatus="REVOKED")
    iot.update_certificate(certificateId=cert_id, newStatus="REVOKED")

    for status in ("ACTIVE", "INACTIVE"):
        with pytest.raises(ClientError) as exc:
            iot.update_certificate(certificateId=cert_id, newStatus=status)
        code, http, message = error_of(exc)
        assert (code, http) == ("CertificateStateException", 406)
        assert "REVOKED" in message
    assert describe(iot, cert_id)["status"] == "REVOKED"


@pytest.mark.parametrize("status", ["PENDING_TRANSFER", "PENDING_ACTIVATION"])
def test_internal_statuses_cannot_be_set(iot: Any, status: str) -> None:
    cert_id = iot.create_keys_and_certificate()["certificateId"]

    with pytest.raises(ClientError) as exc:
        iot.update_certificate(certificateId=cert_id, newStatus=status)

    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
    assert describe(iot, cert_id)["status"] == "INACTIVE"


def test_update_unknown_certificate_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_certificate(certificateId="b" * 64, newStatus="ACTIVE")

    assert error_of(exc)[0] == "ResourceNotFoundException"


# --------------------------------------------------------------------------- delete


def test_delete_inactive_certificate(iot: Any, deleted_events: list[dict[str, Any]]) -> None:
    created = iot.create_keys_and_certificate()

    iot.delete_certificate(certificateId=created["certificateId"])

    assert iot.list_certificates()["certificates"] == []
    assert deleted_events == [
        {"certificate_id": created["certificateId"], "arn": created["certificateArn"]}
    ]
    with pytest.raises(ClientError) as exc:
        iot.describe_certificate(certificateId=created["certificateId"])
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_delete_active_certificate_is_a_state_error(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]

    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=cert_id, forceDelete=True)

    assert error_of(exc) == (
        "CertificateStateException",
        406,
        f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {cert_id}",
    )


def test_the_active_check_comes_before_the_attachment_checks(iot: Any) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)
    attach_thing(iot, "thing-1", created["certificateArn"])
    attach_policy(iot, "p", created["certificateArn"])

    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=created["certificateId"])

    assert error_of(exc)[0] == "CertificateStateException"


def test_attached_things_block_deletion_even_with_force(iot: Any) -> None:
    created = iot.create_keys_and_certificate()
    arn = created["certificateArn"]
    attach_thing(iot, "thing-1", arn)

    for force in (False, True):
        with pytest.raises(ClientError) as exc:
            iot.delete_certificate(certificateId=created["certificateId"], forceDelete=force)
        assert error_of(exc) == (
            "DeleteConflictException",
            409,
            f"Things must be detached before deletion (arn: {arn})",
        )
    iot.detach_thing_principal(thingName="thing-1", principal=arn)
    iot.delete_certificate(certificateId=created["certificateId"])
    assert iot.list_certificates()["certificates"] == []


def test_attached_policies_block_deletion_unless_forced(iot: Any, iot_mock: IotMock) -> None:
    created = iot.create_keys_and_certificate()
    arn = created["certificateArn"]
    attach_policy(iot, "p", arn)

    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=created["certificateId"])
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        f"Certificate policies must be detached before deletion (arn: {arn})",
    )

    iot.delete_certificate(certificateId=created["certificateId"], forceDelete=True)

    assert iot.list_targets_for_policy(policyName="p")["targets"] == []
    backend = iot_mock.backend()
    assert arn not in identity_of(backend).target_policies
    assert created["certificateId"] not in identity_of(backend).certificates
    iot.delete_policy(policyName="p")  # no longer attached to anything


def test_delete_unknown_certificate_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId="c" * 64)

    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- list


def test_list_certificates_pages_newest_first_by_default(iot: Any) -> None:
    ids = []
    for day in range(1, 6):
        with freeze_time(f"2026-01-0{day}"):
            ids.append(iot.create_keys_and_certificate()["certificateId"])

    first = iot.list_certificates(pageSize=2)
    second = iot.list_certificates(pageSize=2, marker=first["nextMarker"])
    third = iot.list_certificates(pageSize=2, marker=second["nextMarker"])

    listed = [c["certificateId"] for page in (first, second, third) for c in page["certificates"]]
    assert listed == ids[::-1]
    assert "nextMarker" not in third
    summary = first["certificates"][0]
    assert set(summary) == {
        "certificateArn",
        "certificateId",
        "status",
        "certificateMode",
        "creationDate",
    }


def test_list_certificates_ascending_order(iot: Any) -> None:
    ids = []
    for day in range(1, 4):
        with freeze_time(f"2026-02-0{day}"):
            ids.append(iot.create_keys_and_certificate()["certificateId"])

    page = iot.list_certificates(ascendingOrder=True)

    assert [c["certificateId"] for c in page["certificates"]] == ids


def test_list_certificates_paginator_and_default_page_of_25(iot: Any) -> None:
    for _ in range(27):
        iot.create_keys_and_certificate()

    assert len(iot.list_certificates()["certificates"]) == 25
    pages = list(iot.get_paginator("list_certificates").paginate())
    assert sum(len(p["certificates"]) for p in pages) == 27


def test_list_certificates_refuses_a_foreign_marker(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.list_certificates(marker="garbage")

    assert error_of(exc)[0] == "InvalidRequestException"


# --------------------------------------------------------------------------- without CA


def test_register_certificate_without_ca(iot: Any) -> None:
    pem = to_pem(make_ca("Unregistered").issue(new_ec_key().public_key()))

    registered = iot.register_certificate_without_ca(certificatePem=pem, status="ACTIVE")

    description = describe(iot, registered["certificateId"])
    assert description["status"] == "ACTIVE"
    assert description["certificateMode"] == "SNI_ONLY"
    assert description["certificatePem"] == pem
    assert "caCertificateId" not in description


def test_register_without_ca_defaults_to_inactive_and_refuses_duplicates(iot: Any) -> None:
    pem = to_pem(make_ca().issue(new_ec_key().public_key()))
    registered = iot.register_certificate_without_ca(certificatePem=pem)
    assert describe(iot, registered["certificateId"])["status"] == "INACTIVE"

    with pytest.raises(ClientError) as exc:
        iot.register_certificate_without_ca(certificatePem=pem)

    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert message == "The certificate is already provisioned or registered"
    assert exc.value.response["resourceId"] == registered["certificateId"]


def test_register_without_ca_refuses_garbage_and_internal_statuses(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.register_certificate_without_ca(certificatePem="-----BEGIN CERTIFICATE-----")
    assert error_of(exc)[:2] == ("CertificateValidationException", 400)

    pem = to_pem(make_ca().issue(new_ec_key().public_key()))
    with pytest.raises(ClientError) as exc:
        iot.register_certificate_without_ca(certificatePem=pem, status="PENDING_TRANSFER")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_a_certificate_registered_revoked_can_never_be_activated(iot: Any) -> None:
    pem = to_pem(make_ca().issue(new_ec_key().public_key()))
    cert_id = iot.register_certificate_without_ca(certificatePem=pem, status="REVOKED")[
        "certificateId"
    ]

    with pytest.raises(ClientError) as exc:
        iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")

    assert error_of(exc)[0] == "CertificateStateException"


def test_register_an_aws_issued_certificate_again_is_a_duplicate(iot: Any) -> None:
    created = iot.create_keys_and_certificate()

    with pytest.raises(ClientError) as exc:
        iot.register_certificate_without_ca(certificatePem=created["certificatePem"])

    assert error_of(exc)[0] == "ResourceAlreadyExistsException"


def test_deprecated_register_inactive_is_still_accepted(iot: Any) -> None:
    cert_id = iot.create_keys_and_certificate()["certificateId"]

    iot.update_certificate(certificateId=cert_id, newStatus="REGISTER_INACTIVE")

    assert describe(iot, cert_id)["status"] == "REGISTER_INACTIVE"
    iot.delete_certificate(certificateId=cert_id)
