"""CreateCertificateFromCsr verifies the CSR's self-signature with the CSR's own key and
hash algorithm (issue 10): a correct SHA-1 signature is a refused algorithm, named as
such, never "an invalid signature"."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

# AlgorithmIdentifier DER of the signature algorithms the CSRs below claim.
SHA1_RSA = bytes.fromhex("300d06092a864886f70d0101050500")
SHA384_RSA = bytes.fromhex("300d06092a864886f70d01010c0500")
ECDSA_SHA1 = bytes.fromhex("300906072a8648ce3d0401")


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 128:
        return bytes([tag, size]) + body
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def _csr_signed_with(key: Any, digest: hashes.HashAlgorithm, algorithm_id: bytes) -> str:
    """A CSR whose signature is computed with `digest`, which cryptography's builder no
    longer does for SHA-1: the DER is assembled by hand around a real signature."""
    built = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
        .sign(key, hashes.SHA256())
    )
    tbs = built.tbs_certrequest_bytes
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), digest)
    else:
        signature = key.sign(tbs, ec.ECDSA(digest))
    der = _der(0x30, tbs + algorithm_id + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _refusal(iot: Any, pem: str) -> str:
    with pytest.raises(ClientError) as caught:
        iot.create_certificate_from_csr(certificateSigningRequest=pem)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        "InvalidRequestException",
        400,
    )
    return str(error["Error"]["Message"])


def test_a_valid_sha1_rsa_signature_is_refused_by_algorithm_not_as_invalid(
    iot: Any, rsa_key: rsa.RSAPrivateKey
) -> None:
    pem = _csr_signed_with(rsa_key, hashes.SHA1(), SHA1_RSA)
    assert not x509.load_pem_x509_csr(pem.encode()).is_signature_valid  # the old check
    message = _refusal(iot, pem)
    assert "sha1WithRSAEncryption" in message
    assert "invalid" not in message
    assert iot.list_certificates()["certificates"] == []


def test_a_valid_sha1_ecdsa_signature_names_its_algorithm(iot: Any) -> None:
    pem = _csr_signed_with(ec.generate_private_key(ec.SECP256R1()), hashes.SHA1(), ECDSA_SHA1)
    message = _refusal(iot, pem)
    assert "ecdsa-with-SHA1" in message
    assert "invalid" not in message


def test_a_corrupted_sha1_signature_is_invalid(iot: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    der = bytearray(
        x509.load_pem_x509_csr(
            _csr_signed_with(rsa_key, hashes.SHA1(), SHA1_RSA).encode()
        ).public_bytes(serialization.Encoding.DER)
    )
    der[-5] ^= 0xFF
    pem = x509.load_der_x509_csr(bytes(der)).public_bytes(serialization.Encoding.PEM)
    assert "signature of the certificate signing request is invalid" in _refusal(iot, pem.decode())


def test_hand_assembled_sha384_csr_is_accepted(iot: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    pem = _csr_signed_with(rsa_key, hashes.SHA384(), SHA384_RSA)
    issued = iot.create_certificate_from_csr(certificateSigningRequest=pem, setAsActive=True)
    certificate = x509.load_pem_x509_certificate(issued["certificatePem"].encode())
    assert certificate.public_key().public_numbers() == rsa_key.public_key().public_numbers()
    described = iot.describe_certificate(certificateId=issued["certificateId"])
    assert described["certificateDescription"]["status"] == "ACTIVE"


def test_rsa_pss_csr_is_verified_with_its_padding(iot: Any, rsa_key: rsa.RSAPrivateKey) -> None:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pss")]))
        .sign(rsa_key, hashes.SHA256(), rsa_padding=pss)
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    assert iot.create_certificate_from_csr(certificateSigningRequest=pem)["certificateId"]
