"""AWS-issued certificates: CreateKeysAndCertificate and CreateCertificateFromCsr produce
real X.509 signed by the mock CA of the account and region."""

from __future__ import annotations

import datetime as dt
import hashlib
import pathlib
import subprocess
import sys
import textwrap
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from error_checks import error_of
from freezegun import freeze_time

from iotmock import IotMock, IotMockWarning, mock_iot
from iotmock.identity.crypto import make_csr, new_ec_key

ACCOUNT = "123456789012"
AWS_ISSUER = "OU=Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US"


def load(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_keys_and_certificate_are_a_real_rsa_2048_pair_signed_by_the_mock_ca(
    iot: Any, iot_mock: IotMock
) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)

    cert = load(created["certificatePem"])
    ca = load(iot_mock.certificates.ca_pem())
    cert.verify_directly_issued_by(ca)
    private_pem = created["keyPair"]["PrivateKey"]
    public_pem = created["keyPair"]["PublicKey"]
    assert private_pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 2048
    assert serialization.load_pem_public_key(public_pem.encode()) == cert.public_key()
    assert private_key.public_key() == cert.public_key()


def test_issued_certificate_has_the_documented_subject_issuer_and_validity(iot: Any) -> None:
    with freeze_time("2026-03-04 05:06:07"):
        cert = load(iot.create_keys_and_certificate()["certificatePem"])

    assert cert.subject.rfc4514_string() == "CN=AWS IoT Certificate"
    issuer = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    assert [a.value for a in issuer] == [AWS_ISSUER.removeprefix("OU=")]
    assert len(cert.issuer) == 1
    assert cert.not_valid_before_utc == dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    assert cert.not_valid_after_utc == dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert 0 < cert.serial_number < 2**160


def test_certificate_id_is_the_sha256_of_the_der_and_the_arn_names_it(iot: Any) -> None:
    created = iot.create_keys_and_certificate()

    der = load(created["certificatePem"]).public_bytes(serialization.Encoding.DER)
    assert created["certificateId"] == hashlib.sha256(der).hexdigest()
    assert (
        created["certificateArn"]
        == f"arn:aws:iot:us-east-1:{ACCOUNT}:cert/" + (created["certificateId"])
    )


def test_set_as_active_decides_the_status(iot: Any) -> None:
    active = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    inactive = iot.create_keys_and_certificate()["certificateId"]

    def status(cert_id: str) -> str:
        return str(
            iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["status"]
        )

    assert status(active) == "ACTIVE"
    assert status(inactive) == "INACTIVE"


def test_every_call_issues_a_distinct_certificate(iot: Any) -> None:
    created = [iot.create_keys_and_certificate() for _ in range(5)]

    assert len({c["certificateId"] for c in created}) == 5
    assert len({load(c["certificatePem"]).serial_number for c in created}) == 5
    assert len(iot.list_certificates()["certificates"]) == 5


def test_mock_ca_is_per_account_and_region(iot_mock: IotMock) -> None:
    assert iot_mock.certificates.ca_pem() == iot_mock.certificates.ca_pem(ACCOUNT, "us-east-1")
    assert iot_mock.certificates.ca_pem() != iot_mock.certificates.ca_pem(region="eu-west-1")
    other_account = iot_mock.certificates.ca_pem(account_id="210987654321")
    assert other_account != iot_mock.certificates.ca_pem()

    with mock_iot(region="eu-west-1") as mock:
        client = boto3.client("iot", region_name="eu-west-1")
        cert = load(client.create_keys_and_certificate()["certificatePem"])
        cert.verify_directly_issued_by(load(mock.certificates.ca_pem()))
        # Nothing happened in us-east-1 of this mock: the reader says where the state is.
        with pytest.warns(IotMockWarning, match="region eu-west-1"):
            other_region = mock.certificates.ca_pem(region="us-east-1")
        with pytest.raises(InvalidSignature):
            cert.verify_directly_issued_by(load(other_region))


# --------------------------------------------------------------------------- from a CSR


def test_certificate_from_csr_certifies_the_csrs_own_key(iot: Any, iot_mock: IotMock) -> None:
    key = new_ec_key()
    created = iot.create_certificate_from_csr(
        certificateSigningRequest=make_csr(key, "sensor-7"), setAsActive=True
    )

    cert = load(created["certificatePem"])
    cert.verify_directly_issued_by(load(iot_mock.certificates.ca_pem()))
    assert cert.public_key() == key.public_key()
    assert cert.subject.rfc4514_string() == "CN=sensor-7"
    assert "keyPair" not in created
    described = iot.describe_certificate(certificateId=created["certificateId"])
    assert described["certificateDescription"]["status"] == "ACTIVE"
    assert described["certificateDescription"]["certificatePem"] == created["certificatePem"]


def test_certificate_from_csr_accepts_rsa_keys(iot: Any) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    created = iot.create_certificate_from_csr(certificateSigningRequest=make_csr(key))

    assert load(created["certificatePem"]).public_key() == key.public_key()


def test_the_same_csr_twice_gives_two_certificates(iot: Any) -> None:
    csr = make_csr(new_ec_key())
    first = iot.create_certificate_from_csr(certificateSigningRequest=csr)
    second = iot.create_certificate_from_csr(certificateSigningRequest=csr)

    assert first["certificateId"] != second["certificateId"]


@pytest.mark.parametrize(
    "csr",
    [
        "not a csr at all",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    ],
)
def test_garbage_csr_is_an_invalid_request(iot: Any, csr: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_certificate_from_csr(certificateSigningRequest=csr)

    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "not a valid PEM CSR" in message


def test_csr_with_a_broken_signature_is_refused(iot: Any) -> None:
    good = x509.load_pem_x509_csr(make_csr(new_ec_key()).encode())
    der = bytearray(good.public_bytes(serialization.Encoding.DER))
    der[-3] ^= 0xFF  # flip bits inside the signature
    tampered = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)

    with pytest.raises(ClientError) as exc:
        iot.create_certificate_from_csr(certificateSigningRequest=tampered.decode())

    assert error_of(exc)[0] == "InvalidRequestException"
    assert "signature" in error_of(exc)[2]


def test_csr_keys_aws_does_not_accept_are_refused(iot: Any) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ClientError) as exc:
        iot.create_certificate_from_csr(certificateSigningRequest=make_csr(small))
    assert "1024 bits" in error_of(exc)[2]

    curve = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(ClientError) as exc:
        iot.create_certificate_from_csr(certificateSigningRequest=make_csr(curve))
    assert "secp256k1" in error_of(exc)[2]
    assert iot.list_certificates()["certificates"] == []


# --------------------------------------------------------------------------- clocks


def test_time_machine_drives_the_validity(iot: Any) -> None:
    moment = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with time_machine.travel(moment, tick=False):
        created = iot.create_keys_and_certificate()

    assert load(created["certificatePem"]).not_valid_before_utc == moment


def test_a_first_certificate_issued_under_freezegun_leaves_real_time_working() -> None:
    # cryptography resolves its datetime class on first use; iotmock pins the real one at
    # import, so issuing first under freezegun and then without it must both work.
    script = textwrap.dedent(
        """
        import boto3
        from freezegun import freeze_time
        from iotmock import mock_iot

        with mock_iot():
            iot = boto3.client("iot", region_name="us-east-1")
            with freeze_time("2026-01-01"):
                iot.create_keys_and_certificate()
            iot.create_keys_and_certificate()
            with freeze_time("2027-01-01"):
                iot.create_certificate_from_csr(certificateSigningRequest=open(0).read())
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        input=make_csr(new_ec_key()),
        capture_output=True,
        text=True,
        cwd=pathlib.Path(__file__).parent.parent,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
