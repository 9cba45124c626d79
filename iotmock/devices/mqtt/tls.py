"""TLS for the MQTT endpoint: the server certificate, the CA file clients trust, and which
client certificates the handshake accepts.

The server certificate is issued by a process-wide mock root ("iotmock Root CA", playing
Amazon Root CA 1) for `localhost`, `127.0.0.1`, the listener's host, the `iot:Data-ATS`
and legacy `iot:Data` addresses `DescribeEndpoint` answers for every account and region
the mock holds when the listener starts, and `*.iot.<region>.<suffix>` for every region
of botocore's partitions (the suffix `DescribeEndpoint` uses, `amazonaws.com`, and the
partition's own, e.g. `amazonaws.com.cn`), so a device of any account or region verifies
the server against its endpoint address; `ca_file` is that root's PEM.

Client certificates: the stdlib `ssl` module has no verification callback, so the server
cannot "accept anything and decide later". It verifies with `CERT_REQUIRED` against a trust
store holding every certificate the mock knows when the connection arrives: each device
certificate itself (trusted as a partial chain, which covers certificates registered
without a CA), the mock CAs that issue AWS certificates, and every registered CA
certificate (so a device certificate signed by a registered CA but unknown to the mock
reaches the MQTT layer, where just-in-time registration can see it). The store is topped
up before each handshake; certificates are never removed from it, because the
authoritative check (known to the mock and ACTIVE) runs after the handshake, on the DER
the client presented (`iotmock.devices.mqtt.auth`).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import re
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from iotmock.core.backend import Backend
from iotmock.identity.crypto import (
    CA_NOT_AFTER,
    CA_NOT_BEFORE,
    CertificateAuthority,
    make_ca,
    private_key_pem,
    to_pem,
)
from iotmock.identity.endpoints import endpoint_address

if TYPE_CHECKING:
    from iotmock._mock import IotMock

SERVER_ROOT_NAME = "iotmock Root CA 1"
# The DNS suffix of the addresses DescribeEndpoint answers (iotmock.identity.endpoints).
ENDPOINT_SUFFIX = "amazonaws.com"
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")


@functools.lru_cache(maxsize=1)
def server_root() -> CertificateAuthority:
    """The root the server certificates chain to (one per process)."""
    return make_ca(SERVER_ROOT_NAME)


@dataclass(slots=True)
class ServerIdentity:
    """The server's certificate and key as files `ssl` can load, and the CA file."""

    directory: tempfile.TemporaryDirectory[str]
    certificate_file: str
    key_file: str
    ca_file: str


@functools.lru_cache(maxsize=1)
def regional_wildcards() -> tuple[str, ...]:
    """`*.iot.<region>.<suffix>` for every region of botocore's partitions: the data
    endpoints (`<prefix>-ats.iot.<region>...`, legacy `<prefix>.iot.<region>...`) of
    any account there."""
    from botocore.loaders import create_loader

    names: list[str] = []
    for partition in create_loader().load_data("partitions")["partitions"]:
        suffix = partition.get("outputs", {}).get("dnsSuffix", ENDPOINT_SUFFIX)
        for region in partition.get("regions", {}):
            if _REGION.fullmatch(region):
                names.append(f"*.iot.{region}.{ENDPOINT_SUFFIX}")
                if suffix != ENDPOINT_SUFFIX:
                    names.append(f"*.iot.{region}.{suffix}")
    return tuple(names)


def server_names(mock: IotMock, host: str) -> list[str]:
    """The names the server certificate is valid for (see the module docstring)."""
    names = ["localhost", "127.0.0.1", host]
    accounts = {(mock.account_id, mock.region)}
    accounts.update((backend.account_id, backend.region) for backend in mock.backends())
    for account_id, region in sorted(accounts):
        address = Backend(account_id, region)  # only its account and region are read
        names.append(endpoint_address(address, "iot:Data-ATS"))
        names.append(endpoint_address(address, "iot:Data"))
    names.extend(regional_wildcards())
    return names


def server_identity(hostnames: Iterable[str]) -> ServerIdentity:
    """A fresh server certificate for `hostnames` (DNS names or IP addresses)."""
    root = server_root()
    key = make_ca("unused").key  # a fresh EC P-256 key
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hostnames):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(max(now - dt.timedelta(days=1), CA_NOT_BEFORE))
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Key identifiers: clients verifying strictly (Python 3.13's default context,
        # VERIFY_X509_STRICT) refuse a certificate without an Authority Key Identifier.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(root.key, hashes.SHA256())
    )
    directory = tempfile.TemporaryDirectory(prefix="iotmock-mqtt-")
    paths = {
        name: os.path.join(directory.name, name) for name in ("server.pem", "server.key", "ca.pem")
    }
    for name, text in (
        ("server.pem", to_pem(certificate)),
        ("server.key", private_key_pem(key)),
        ("ca.pem", root.pem),
    ):
        with open(paths[name], "w", encoding="ascii") as handle:
            handle.write(text)
    return ServerIdentity(directory, paths["server.pem"], paths["server.key"], paths["ca.pem"])


@dataclass(slots=True)
class TrustStore:
    """The server `SSLContext` and the certificates already loaded into its trust store."""

    context: ssl.SSLContext
    loaded: set[str] = field(default_factory=set)

    def add(self, pems: Iterable[str]) -> None:
        """Trust these certificates from the next handshake on (loading each once)."""
        fresh = [pem for pem in pems if pem not in self.loaded]
        if fresh:
            self.context.load_verify_locations(cadata="\n".join(fresh))
            self.loaded.update(fresh)


def server_context(identity: ServerIdentity) -> TrustStore:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # AWS IoT Core speaks TLS 1.2 and 1.3.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(identity.certificate_file, identity.key_file)
    context.verify_mode = ssl.CERT_REQUIRED
    # A device certificate in the store is a trust anchor by itself (registered without
    # a CA, or self-signed).
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    # The mock server root is loaded so the store is never empty (OpenSSL then sends an
    # empty list of acceptable CAs, which every client accepts).
    context.load_verify_locations(cadata=server_root().pem)
    return TrustStore(context)
