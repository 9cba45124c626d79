"""Test helpers for the identities the policy tests need: certificates made through the real
certificate operations, and the one record no operation creates yet (a dynamic thing group).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotmock import IotMock
from iotmock.registry.records import registry_of


@functools.cache
def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_certificate_pem(common_name: str = "sensor-1", organization: str = "Acme") -> str:
    """A self-signed device certificate with the given subject (issuer = subject), as a
    device maker would bring to RegisterCertificateWithoutCA."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_key().public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(_key(), hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def register_certificate(iot: Any, pem: str, status: str = "ACTIVE") -> str:
    """RegisterCertificateWithoutCA; returns the certificate ARN."""
    response = iot.register_certificate_without_ca(certificatePem=pem, status=status)
    return str(response["certificateArn"])


def new_certificate(iot: Any, active: bool = True) -> str:
    """CreateKeysAndCertificate; returns the certificate ARN."""
    return str(iot.create_keys_and_certificate(setAsActive=active)["certificateArn"])


def insert_dynamic_thing_group(iot: Any, mock: IotMock, name: str, query: str) -> str:
    """A dynamic thing group. CreateDynamicThingGroup (fleet indexing) is not implemented
    yet: the group is created with CreateThingGroup, then given its query directly in the
    mock's state, which is all that makes a group dynamic; returns its ARN."""
    arn = str(iot.create_thing_group(thingGroupName=name)["thingGroupArn"])
    registry_of(mock.backend()).thing_groups[name].query_string = query
    return arn
