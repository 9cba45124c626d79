"""HTTPS for the server: a certificate for the local host names, issued by the mock CA.

The CA is the one that signs the mock's AWS-issued device certificates
(`iotmock.identity.crypto.mock_ca`) for the server's default account and region. Its PEM is written
to a file (the "CA bundle") that clients trust through `AWS_CA_BUNDLE`, `--ca-bundle` or
`NODE_EXTRA_CA_CERTS`. The CA key is made once per process, so the bundle is valid for
servers of this process only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from iotmock.identity.crypto import mock_ca, new_ec_key, private_key_pem, to_pem

# Names every local client may use; the bound host is added when it is another one.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files of one HTTPS server; `remove()` deletes them."""

    directory: Path
    ca_bundle: Path
    certificate: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate, self.key)
        return context

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def _subject_names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for name in dict.fromkeys((*LOCAL_NAMES, host)):
        if name in ("", "0.0.0.0", "::"):
            continue  # a wildcard bind is reached through the local names
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    return names


def issue_server_files(host: str, account_id: str, region: str) -> TlsFiles:
    """Write a CA bundle, a server certificate for `host` and the local names, and its key."""
    ca = mock_ca(account_id, region)
    key = new_ec_key()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iotmock server")]))
        .issuer_name(ca.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(_subject_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    directory = Path(tempfile.mkdtemp(prefix="iotmock-tls-"))
    files = TlsFiles(
        directory, directory / "ca-bundle.pem", directory / "server.pem", directory / "server.key"
    )
    files.ca_bundle.write_text(ca.pem)
    files.certificate.write_text(to_pem(certificate))
    files.key.write_text(private_key_pem(key))
    files.key.chmod(0o600)
    return files
