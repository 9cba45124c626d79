"""CA certificates: the registration code, RegisterCACertificate's proof of possession,
CA lifecycle and listing, and RegisterCertificate's chain checks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging
from iotmock.identity.crypto import (
    CertificateAuthority,
    make_ca,
    new_ec_key,
    to_pem,
    verification_certificate,
)

TEMPLATE_BODY = json.dumps(
    {"Resources": {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "x"}}}}
)


def register_ca(iot: Any, ca: CertificateAuthority, **extra: Any) -> str:
    code = iot.get_registration_code()["registrationCode"]
    return str(
        iot.register_ca_certificate(
            caCertificate=ca.pem,
            verificationCertificate=verification_certificate(ca, code),
            **extra,
        )["certificateId"]
    )


def device_pem(ca: CertificateAuthority, **extra: Any) -> str:
    return to_pem(ca.issue(new_ec_key().public_key(), **extra))


# --------------------------------------------------------------------------- registration code


def test_registration_code_is_stable_until_deleted(iot: Any) -> None:
    first = iot.get_registration_code()["registrationCode"]
    assert iot.get_registration_code()["registrationCode"] == first
    assert len(first) == 64

    iot.delete_registration_code()

    assert iot.get_registration_code()["registrationCode"] != first


# --------------------------------------------------------------------------- RegisterCACertificate


def test_register_ca_with_a_verification_certificate(iot: Any) -> None:
    ca = make_ca("Fleet CA")
    ca_id = register_ca(iot, ca, setAsActive=True, allowAutoRegistration=True)

    described = iot.describe_ca_certificate(certificateId=ca_id)
    description = described["certificateDescription"]
    assert description["certificateArn"] == f"arn:aws:iot:us-east-1:123456789012:cacert/{ca_id}"
    assert description["status"] == "ACTIVE"
    assert description["autoRegistrationStatus"] == "ENABLE"
    assert description["certificateMode"] == "DEFAULT"
    assert description["certificatePem"] == ca.pem
    assert description["ownedBy"] == "123456789012"
    assert description["customerVersion"] == 1
    assert description["validity"]["notAfter"].year == 2050
    assert "registrationConfig" not in described


def test_register_ca_defaults_to_inactive_without_auto_registration(iot: Any) -> None:
    ca_id = register_ca(iot, make_ca())

    description = iot.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert (description["status"], description["autoRegistrationStatus"]) == (
        "INACTIVE",
        "DISABLE",
    )


def test_verification_certificate_must_carry_the_registration_code(iot: Any) -> None:
    ca = make_ca()
    iot.get_registration_code()

    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(
            caCertificate=ca.pem, verificationCertificate=verification_certificate(ca, "wrong")
        )

    assert error_of(exc)[:2] == ("RegistrationCodeValidationException", 400)


def test_a_deleted_registration_code_no_longer_verifies(iot: Any) -> None:
    ca = make_ca()
    old_code = iot.get_registration_code()["registrationCode"]
    iot.delete_registration_code()

    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(
            caCertificate=ca.pem, verificationCertificate=verification_certificate(ca, old_code)
        )

    assert error_of(exc)[0] == "RegistrationCodeValidationException"


def test_verification_certificate_must_be_signed_by_the_ca(iot: Any) -> None:
    code = iot.get_registration_code()["registrationCode"]
    impostor = make_ca("Fleet CA")

    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(
            caCertificate=make_ca("Fleet CA").pem,
            verificationCertificate=verification_certificate(impostor, code),
        )

    code_, status, message = error_of(exc)
    assert (code_, status) == ("CertificateValidationException", 400)
    assert "not signed by the CA" in message


def test_default_mode_needs_a_verification_certificate(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(caCertificate=make_ca().pem)

    assert error_of(exc)[0] == "InvalidRequestException"
    assert "verificationCertificate is required" in error_of(exc)[2]


def test_sni_only_mode_takes_no_verification_certificate(iot: Any) -> None:
    ca = make_ca()
    ca_id = iot.register_ca_certificate(caCertificate=ca.pem, certificateMode="SNI_ONLY")[
        "certificateId"
    ]
    described = iot.describe_ca_certificate(certificateId=ca_id)["certificateDescription"]
    assert described["certificateMode"] == "SNI_ONLY"

    other = make_ca()
    code = iot.get_registration_code()["registrationCode"]
    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(
            caCertificate=other.pem,
            verificationCertificate=verification_certificate(other, code),
            certificateMode="SNI_ONLY",
        )
    assert error_of(exc)[0] == "InvalidRequestException"


def test_register_ca_refuses_non_ca_and_unparsable_certificates(iot: Any) -> None:
    leaf = device_pem(make_ca())
    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(caCertificate=leaf, certificateMode="SNI_ONLY")
    assert error_of(exc)[0] == "CertificateValidationException"

    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(caCertificate="garbage", certificateMode="SNI_ONLY")
    assert error_of(exc)[0] == "CertificateValidationException"


def test_the_same_ca_twice_already_exists(iot: Any) -> None:
    ca = make_ca()
    ca_id = register_ca(iot, ca)

    with pytest.raises(ClientError) as exc:
        register_ca(iot, ca)

    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceId"] == ca_id


def test_at_most_ten_cas_share_a_subject(iot: Any) -> None:
    for _ in range(10):
        iot.register_ca_certificate(caCertificate=make_ca("Same").pem, certificateMode="SNI_ONLY")

    with pytest.raises(ClientError) as exc:
        iot.register_ca_certificate(caCertificate=make_ca("Same").pem, certificateMode="SNI_ONLY")

    assert error_of(exc)[:2] == ("LimitExceededException", 410)
    iot.register_ca_certificate(caCertificate=make_ca("Other").pem, certificateMode="SNI_ONLY")


def test_registration_config_names_an_existing_template(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        register_ca(iot, make_ca(), registrationConfig={"templateName": "missing"})
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)

    iot.create_provisioning_template(
        templateName="jitp",
        templateBody=TEMPLATE_BODY,
        provisioningRoleArn="arn:aws:iam::123456789012:role/p",
        type="JITP",
    )
    ca_id = register_ca(iot, make_ca(), registrationConfig={"templateName": "jitp"})

    described = iot.describe_ca_certificate(certificateId=ca_id)
    assert described["registrationConfig"] == {"templateName": "jitp"}


def test_ca_certificates_take_tags(iot: Any, iot_mock: IotMock) -> None:
    ca_id = register_ca(iot, make_ca(), tags=[{"Key": "team", "Value": "fleet"}])
    arn = iot.describe_ca_certificate(certificateId=ca_id)["certificateDescription"][
        "certificateArn"
    ]

    assert tagging.tags_of(iot_mock.backend(), arn) == {"team": "fleet"}
    assert listed_tags(iot, arn) == {"team": "fleet"}

    iot.delete_ca_certificate(certificateId=ca_id)
    assert tagging.tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)


# --------------------------------------------------------------------------- CA lifecycle


def test_update_ca_certificate(iot: Any) -> None:
    iot.create_provisioning_template(
        templateName="jitp",
        templateBody=TEMPLATE_BODY,
        provisioningRoleArn="arn:aws:iam::123456789012:role/p",
        type="JITP",
    )
    ca_id = register_ca(iot, make_ca())

    iot.update_ca_certificate(
        certificateId=ca_id,
        newStatus="ACTIVE",
        newAutoRegistrationStatus="ENABLE",
        registrationConfig={"templateName": "jitp"},
    )
    described = iot.describe_ca_certificate(certificateId=ca_id)
    description = described["certificateDescription"]
    assert (description["status"], description["autoRegistrationStatus"]) == ("ACTIVE", "ENABLE")
    assert description["customerVersion"] == 2
    assert described["registrationConfig"] == {"templateName": "jitp"}

    iot.update_ca_certificate(certificateId=ca_id, removeAutoRegistration=True)
    assert "registrationConfig" not in iot.describe_ca_certificate(certificateId=ca_id)


def test_update_unknown_ca_is_not_found(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_ca_certificate(certificateId="d" * 64, newStatus="ACTIVE")

    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_ca_requires_inactive(iot: Any) -> None:
    ca_id = register_ca(iot, make_ca(), setAsActive=True)

    with pytest.raises(ClientError) as exc:
        iot.delete_ca_certificate(certificateId=ca_id)
    assert error_of(exc)[:2] == ("CertificateStateException", 406)

    iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
    iot.delete_ca_certificate(certificateId=ca_id)

    with pytest.raises(ClientError) as exc:
        iot.describe_ca_certificate(certificateId=ca_id)
    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert iot.list_ca_certificates()["certificates"] == []


def test_list_ca_certificates_pages_and_filters_by_template(iot: Any) -> None:
    iot.create_provisioning_template(
        templateName="jitp",
        templateBody=TEMPLATE_BODY,
        provisioningRoleArn="arn:aws:iam::123456789012:role/p",
        type="JITP",
    )
    ids = [register_ca(iot, make_ca(f"CA {n}")) for n in range(3)]
    with_template = register_ca(iot, make_ca("T"), registrationConfig={"templateName": "jitp"})

    first = iot.list_ca_certificates(pageSize=2, ascendingOrder=True)
    rest = iot.list_ca_certificates(pageSize=2, ascendingOrder=True, marker=first["nextMarker"])
    listed = [c["certificateId"] for c in first["certificates"] + rest["certificates"]]
    assert listed == [*ids, with_template]
    assert set(first["certificates"][0]) == {
        "certificateArn",
        "certificateId",
        "status",
        "creationDate",
    }

    filtered = iot.list_ca_certificates(templateName="jitp")["certificates"]
    assert [c["certificateId"] for c in filtered] == [with_template]


# --------------------------------------------------------------------------- RegisterCertificate


def test_register_certificate_signed_by_a_registered_active_ca(iot: Any) -> None:
    ca = make_ca()
    ca_id = register_ca(iot, ca, setAsActive=True)
    pem = device_pem(ca)

    registered = iot.register_certificate(certificatePem=pem, status="ACTIVE")

    description = iot.describe_certificate(certificateId=registered["certificateId"])[
        "certificateDescription"
    ]
    assert description["caCertificateId"] == ca_id
    assert description["status"] == "ACTIVE"
    assert description["certificateMode"] == "DEFAULT"
    listed = iot.list_certificates_by_ca(caCertificateId=ca_id)["certificates"]
    assert [c["certificateId"] for c in listed] == [registered["certificateId"]]


def test_register_certificate_set_as_active_flag_and_default(iot: Any) -> None:
    ca = make_ca()
    register_ca(iot, ca, setAsActive=True)

    flagged = iot.register_certificate(certificatePem=device_pem(ca), setAsActive=True)
    plain = iot.register_certificate(certificatePem=device_pem(ca))

    def status(cert_id: str) -> str:
        return str(
            iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["status"]
        )

    assert status(flagged["certificateId"]) == "ACTIVE"
    assert status(plain["certificateId"]) == "INACTIVE"


def test_register_certificate_mode_follows_the_ca(iot: Any) -> None:
    ca = make_ca()
    iot.register_ca_certificate(caCertificate=ca.pem, certificateMode="SNI_ONLY", setAsActive=True)

    cert_id = iot.register_certificate(certificatePem=device_pem(ca))["certificateId"]

    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["certificateMode"] == "SNI_ONLY"


def test_register_certificate_needs_a_registered_signer(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=device_pem(make_ca()))

    assert error_of(exc)[:2] == ("CertificateValidationException", 400)
    assert "not signed by a CA certificate registered" in error_of(exc)[2]


def test_register_certificate_refuses_a_forged_signer(iot: Any) -> None:
    register_ca(iot, make_ca("Fleet CA"), setAsActive=True)
    forged = device_pem(make_ca("Fleet CA"))  # same subject, other key

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=forged)

    assert error_of(exc)[0] == "CertificateValidationException"


def test_register_certificate_refuses_an_inactive_ca(iot: Any) -> None:
    ca = make_ca()
    register_ca(iot, ca)

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=device_pem(ca))

    assert error_of(exc)[:2] == ("CertificateStateException", 406)


def test_register_certificate_with_an_unregistered_ca_pem(iot: Any) -> None:
    ca = make_ca()

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=device_pem(ca), caCertificatePem=ca.pem)

    assert error_of(exc)[0] == "CertificateValidationException"
    assert "not registered" in error_of(exc)[2]


def test_cas_sharing_subject_and_key_need_the_ca_pem(iot: Any) -> None:
    key = new_ec_key()
    first, second = make_ca("Twin", key=key), make_ca("Twin", key=key)
    register_ca(iot, first, setAsActive=True)
    second_id = register_ca(iot, second, setAsActive=True)
    pem = device_pem(first)

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=pem)
    assert error_of(exc)[:2] == ("CertificateConflictException", 409)

    cert_id = iot.register_certificate(certificatePem=pem, caCertificatePem=second.pem)[
        "certificateId"
    ]
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["caCertificateId"] == second_id


def test_register_certificate_refuses_an_expired_certificate(iot: Any) -> None:
    ca = make_ca()
    register_ca(iot, ca, setAsActive=True)
    expired = device_pem(
        ca,
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        not_after=dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc),
    )

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=expired)

    assert error_of(exc)[0] == "CertificateValidationException"
    assert "expired" in error_of(exc)[2]


def test_register_the_same_device_certificate_twice(iot: Any) -> None:
    ca = make_ca()
    register_ca(iot, ca, setAsActive=True)
    pem = device_pem(ca)
    iot.register_certificate(certificatePem=pem)

    with pytest.raises(ClientError) as exc:
        iot.register_certificate(certificatePem=pem)

    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)


def test_a_device_certificate_cannot_be_activated_while_its_ca_is_inactive(iot: Any) -> None:
    ca = make_ca()
    ca_id = register_ca(iot, ca, setAsActive=True)
    cert_id = iot.register_certificate(certificatePem=device_pem(ca), status="ACTIVE")[
        "certificateId"
    ]
    iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")

    # Deactivating the CA leaves the device certificate's own status alone.
    description = iot.describe_certificate(certificateId=cert_id)["certificateDescription"]
    assert description["status"] == "ACTIVE"
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.update_certificate(certificateId=cert_id, newStatus="ACTIVE")
    assert error_of(exc)[0] == "CertificateStateException"


def test_list_certificates_by_ca_pages_and_ignores_unknown_cas(iot: Any) -> None:
    ca = make_ca()
    ca_id = register_ca(iot, ca, setAsActive=True)
    ids = [iot.register_certificate(certificatePem=device_pem(ca))["certificateId"] for _ in "abc"]
    iot.create_keys_and_certificate()  # not under the CA

    first = iot.list_certificates_by_ca(caCertificateId=ca_id, pageSize=2, ascendingOrder=True)
    rest = iot.list_certificates_by_ca(
        caCertificateId=ca_id, pageSize=2, ascendingOrder=True, marker=first["nextMarker"]
    )

    assert [c["certificateId"] for c in first["certificates"] + rest["certificates"]] == ids
    assert iot.list_certificates_by_ca(caCertificateId="e" * 64)["certificates"] == []


def test_device_certificates_chain_to_the_registered_ca(iot: Any) -> None:
    ca = make_ca()
    register_ca(iot, ca, setAsActive=True)
    cert_id = iot.register_certificate(certificatePem=device_pem(ca))["certificateId"]

    pem = iot.describe_certificate(certificateId=cert_id)["certificateDescription"][
        "certificatePem"
    ]
    x509.load_pem_x509_certificate(pem.encode()).verify_directly_issued_by(ca.certificate)


def test_update_ca_refuses_a_config_and_its_removal_together(iot: Any) -> None:
    ca_id = register_ca(iot, make_ca())

    with pytest.raises(ClientError) as exc:
        iot.update_ca_certificate(
            certificateId=ca_id,
            registrationConfig={"roleArn": "arn:aws:iam::123456789012:role/r"},
            removeAutoRegistration=True,
        )

    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_update_ca_checks_the_template_of_a_new_config(iot: Any) -> None:
    ca_id = register_ca(iot, make_ca())

    with pytest.raises(ClientError) as exc:
        iot.update_ca_certificate(certificateId=ca_id, registrationConfig={"templateName": "no"})

    assert error_of(exc)[0] == "ResourceNotFoundException"
    assert "registrationConfig" not in iot.describe_ca_certificate(certificateId=ca_id)
