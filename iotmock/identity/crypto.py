"""Real X.509 for the mock: the per-(account, region) mock CA, the device-key pool,
certificate issuing, CSR and chain checks, and small helpers tests can use to build their
own CAs, CSRs and device certificates.

Why a key pool: generating an RSA-2048 key costs about 0.1 s, so a test suite that creates
hundreds of certificates would spend most of its time in key generation. CreateKeysAndCertificate
therefore hands out keys from a small process-wide pool (`KEY_POOL_SIZE` keys, generated on
first use) and issues a fresh certificate with a random 20-byte serial for each call. Every
certificate is unique (its id is the SHA-256 of its DER, and the serial differs), every key
is a genuine RSA-2048 key that matches its certificate, but certificates issued more than
`KEY_POOL_SIZE` calls apart may share a key pair. Tests should not rely on key pairs being
distinct; they can always rely on certificate ids being distinct.

The mock CA of an (account, region) has its own RSA-2048 key, made once per process (so a
fresh mock of the same account and region has the same CA, and a test can pin its PEM).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import NameOID

from iotmock.core import clock as _clock

KEY_POOL_SIZE = 2

# The issuer of AWS-issued device certificates is a single OU attribute holding the whole
# text (spec §4), and the subject is CN=AWS IoT Certificate.
AWS_ISSUER_TEXT = "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US"
AWS_ISSUER = x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, AWS_ISSUER_TEXT)])
AWS_DEVICE_SUBJECT = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AWS IoT Certificate")])
# AWS-issued device certificates expire at this instant whatever the issue date.
ISSUED_NOT_AFTER = dt.datetime(2049, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
# The mock CA's validity is fixed (not clock-driven) so the CA cached per process stays the
# same under freezegun, and it covers every certificate it issues.
CA_NOT_BEFORE = dt.datetime(2015, 1, 1, tzinfo=dt.timezone.utc)
CA_NOT_AFTER = dt.datetime(2050, 1, 1, tzinfo=dt.timezone.utc)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

# Keys AWS accepts in a CSR (API:CreateCertificateFromCsr).
_ACCEPTED_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
MIN_RSA_BITS = 2048


class CertificateError(ValueError):
    """A PEM that is not a usable certificate or CSR; the message says why."""


# --------------------------------------------------------------------------- keys


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def new_ec_key() -> ec.EllipticCurvePrivateKey:
    """A P-256 key: valid wherever AWS accepts a key, and fast to make (for tests)."""
    return ec.generate_private_key(ec.SECP256R1())


@dataclass(frozen=True, slots=True)
class PooledKey:
    """An RSA-2048 key pair with its PEMs serialized once."""

    key: rsa.RSAPrivateKey
    # PKCS#1 `-----BEGIN RSA PRIVATE KEY-----`, as AWS returns it.
    private_pem: str
    # SubjectPublicKeyInfo `-----BEGIN PUBLIC KEY-----`.
    public_pem: str


_POOL: list[PooledKey] = []
_POOL_TURN = itertools.count()
_POOL_LOCK = threading.Lock()


def pooled_key() -> PooledKey:
    """The next key of the process-wide pool (round robin, generated on first use)."""
    with _POOL_LOCK:
        slot = next(_POOL_TURN) % KEY_POOL_SIZE
        if slot == len(_POOL):
            key = new_rsa_key()
            _POOL.append(
                PooledKey(
                    key=key,
                    private_pem=key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.TraditionalOpenSSL,
                        serialization.NoEncryption(),
                    ).decode(),
                    public_pem=public_key_pem(key.public_key()),
                )
            )
        return _POOL[slot]


def public_key_pem(key: PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


# --------------------------------------------------------------------------- certificates


def to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def certificate_id(cert: x509.Certificate) -> str:
    """AWS's certificate id: the lowercase hex SHA-256 of the DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_certificate(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as error:
        raise CertificateError(
            f"The certificate is not a valid PEM X.509 certificate: {error}"
        ) from None


def validity(cert: x509.Certificate) -> tuple[float, float]:
    """(notBefore, notAfter) as epoch seconds."""
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


def _signing_hash(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def build_certificate(
    *,
    issuer_key: PrivateKey,
    issuer: x509.Name,
    subject: x509.Name,
    public_key: PublicKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    is_ca: bool = False,
    issuer_public_key: PublicKey | None = None,
) -> x509.Certificate:
    """A certificate for `public_key` signed by `issuer_key` (random 20-byte serial)."""
    authority = issuer_public_key or issuer_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=is_ca)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority), critical=False
        )
        # Both kinds sign (digital signature); only a CA signs certificates and CRLs.
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, _signing_hash(issuer_key))


def is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when `issuer`'s subject is `cert`'s issuer and its key signed `cert`."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """A certificate without basicConstraints is accepted as a CA (old self-made roots)."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return True
    return constraints.value.ca


def common_name(name: x509.Name) -> str | None:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else None


# --------------------------------------------------------------------------- CSRs


def load_csr(pem: str) -> x509.CertificateSigningRequest:
    """A CSR whose signature verifies and whose key AWS accepts, else CertificateError."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError as error:
        raise CertificateError(
            f"The certificate signing request is not a valid PEM CSR: {error}"
        ) from None
    _verify_self_signature(csr)
    csr_public_key(csr)
    return csr


# The CSR signature hashes AWS IoT accepts ("Certificate signing algorithms supported by
# AWS IoT": SHA256/384/512 with RSA or ECDSA).
_ACCEPTED_CSR_HASHES = ("sha256", "sha384", "sha512")


def _verify_self_signature(csr: x509.CertificateSigningRequest) -> None:
    """Verify the CSR's signature with its own public key and its own hash algorithm.

    `is_signature_valid` is not enough: cryptography answers False for a correct SHA-1
    signature, which is a refused algorithm, not a bad signature. So the signature is
    checked first (a corrupted one is "invalid" whatever the algorithm), then the
    algorithm, whose refusal names it.
    """
    oid = csr.signature_algorithm_oid
    algorithm = getattr(oid, "_name", None) or oid.dotted_string
    try:
        digest = csr.signature_hash_algorithm
        parameters = csr.signature_algorithm_parameters
    except Exception:  # unknown algorithm OID: cryptography cannot even name its hash
        digest = None
    if digest is None:
        raise CertificateError(
            f"The certificate signing request is signed with {algorithm}, which AWS IoT "
            "does not support."
        )
    key = csr.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            # PSS parameters when the CSR says so, else PKCS#1 v1.5.
            scheme = (
                parameters
                if isinstance(parameters, padding.AsymmetricPadding)
                else padding.PKCS1v15()
            )
            key.verify(csr.signature, csr.tbs_certrequest_bytes, scheme, digest)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(csr.signature, csr.tbs_certrequest_bytes, ec.ECDSA(digest))
        elif not csr.is_signature_valid:
            raise InvalidSignature
    except (InvalidSignature, ValueError, TypeError):
        raise CertificateError(
            "The signature of the certificate signing request is invalid."
        ) from None
    if digest.name not in _ACCEPTED_CSR_HASHES:
        raise CertificateError(
            f"The certificate signing request is signed with {algorithm} ({digest.name}), "
            "which AWS IoT does not support; use SHA-256, SHA-384 or SHA-512 with RSA or ECDSA."
        )


def csr_public_key(csr: x509.CertificateSigningRequest) -> PublicKey:
    """The CSR's key if AWS accepts it (RSA of 2048 bits or more, EC P-256/384/521), else
    CertificateError."""
    key = csr.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CertificateError(
                f"The CSR's RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are needed."
            )
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, _ACCEPTED_CURVES):
            raise CertificateError(
                f"The CSR's EC key uses curve {key.curve.name}; use P-256, P-384 or P-521."
            )
        return key
    raise CertificateError("The CSR's key must be RSA (2048 bits or more) or EC.")


def make_csr(key: PrivateKey, common_name: str = "device") -> str:
    """A PEM CSR for `key` with subject CN=`common_name` (a test helper)."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, _signing_hash(key))
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


# --------------------------------------------------------------------------- authorities


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA: its key, its certificate and the certificate's PEM."""

    key: PrivateKey
    certificate: x509.Certificate
    pem: str

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    def issue(
        self,
        public_key: PublicKey,
        *,
        subject: x509.Name | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        is_ca: bool = False,
    ) -> x509.Certificate:
        """A certificate for `public_key` signed by this CA (valid from now by default)."""
        start = not_before or _clock.now_datetime().replace(microsecond=0)
        return build_certificate(
            issuer_key=self.key,
            issuer=self.name,
            subject=subject or AWS_DEVICE_SUBJECT,
            public_key=public_key,
            not_before=start,
            not_after=not_after or ISSUED_NOT_AFTER,
            is_ca=is_ca,
        )


def make_ca(common_name: str = "Test CA", key: PrivateKey | None = None) -> CertificateAuthority:
    """A self-signed CA for tests (an EC P-256 key unless `key` is given): register it with
    RegisterCACertificate and issue device certificates with `.issue(...)`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return _self_signed_ca(key or new_ec_key(), name)


def _self_signed_ca(key: PrivateKey, name: x509.Name) -> CertificateAuthority:
    """A CA whose certificate `key` signs for itself, valid CA_NOT_BEFORE..CA_NOT_AFTER."""
    cert = build_certificate(
        issuer_key=key,
        issuer=name,
        subject=name,
        public_key=key.public_key(),
        not_before=CA_NOT_BEFORE,
        not_after=CA_NOT_AFTER,
        is_ca=True,
    )
    return CertificateAuthority(key=key, certificate=cert, pem=to_pem(cert))


def verification_certificate(
    ca: CertificateAuthority, registration_code: str, key: PrivateKey | None = None
) -> str:
    """The PEM RegisterCACertificate wants: CN=<registration code>, signed by `ca`."""
    subject_key = key or new_ec_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, registration_code)])
    return to_pem(ca.issue(subject_key.public_key(), subject=subject, not_after=CA_NOT_AFTER))


_MOCK_CAS: dict[tuple[str, str], CertificateAuthority] = {}
_MOCK_CA_LOCK = threading.Lock()


def mock_ca(account_id: str, region: str) -> CertificateAuthority:
    """The CA that signs the AWS-issued certificates of an account and region."""
    with _MOCK_CA_LOCK:
        found = _MOCK_CAS.get((account_id, region))
        if found is None:
            found = _MOCK_CAS[(account_id, region)] = _self_signed_ca(new_rsa_key(), AWS_ISSUER)
        return found


def _pin_datetime_class() -> None:
    """Make cryptography look up `datetime.datetime` now, at import.

    cryptography resolves the datetime class once, on first use, and from then on accepts
    instances of that class (and its subclasses) only. Were the first use under freezegun,
    it would keep freezegun's FakeDatetime and refuse every real datetime afterwards;
    resolved here it keeps the real class, of which FakeDatetime is a subclass.
    """
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotmock")])
    cert = _self_signed_ca(ed25519.Ed25519PrivateKey.generate(), name).certificate
    validity(cert)  # reading the dates resolves the class on that path too


_pin_datetime_class()
