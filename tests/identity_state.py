"""Test helpers that put certificates, thing groups and thing attachments straight into the
mock's state.

The operations that create these records (certificates, thing groups, thing principals)
belong to other resource families that are built in parallel; until they are merged, the
policy tests set the records up here, exactly as those operations would.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from iotmock import IotMock
from iotmock._events import emit
from iotmock._registry import RequestContext
from iotmock.state import Certificate, Thing, ThingGroup, ThingType


@functools.cache
def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_certificate_pem(
    common_name: str = "sensor-1", organization: str = "Acme", serial: int | None = None
) -> str:
    """A self-signed certificate with the given subject (issuer = subject)."""
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
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(_key(), hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def insert_certificate(mock: IotMock, pem: str | None = None, status: str = "ACTIVE") -> str:
    """A certificate record as CreateKeysAndCertificate would store it; returns its ARN."""
    backend = mock.backend()
    pem = pem or make_certificate_pem(serial=int(uuid.uuid4().int >> 64))
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    certificate_id = hashlib.sha256(der).hexdigest()
    arn = backend.arn(f"cert/{certificate_id}")
    backend.certificates[certificate_id] = Certificate(
        certificate_id=certificate_id,
        arn=arn,
        pem=pem,
        status=status,
        created_at=0.0,
        last_modified_at=0.0,
        owned_by=backend.account_id,
    )
    return arn


def insert_thing_type(mock: IotMock, name: str) -> None:
    """A thing type record as CreateThingType would store it."""
    backend = mock.backend()
    backend.thing_types[name] = ThingType(
        name=name, thing_type_id=str(uuid.uuid4()), arn=backend.arn(f"thingtype/{name}")
    )


def insert_thing_group(
    mock: IotMock, name: str, parent: str | None = None, dynamic: bool = False
) -> str:
    """A thing group record as CreateThingGroup / CreateDynamicThingGroup would store it;
    returns its ARN."""
    backend = mock.backend()
    group = ThingGroup(
        name=name,
        group_id=str(uuid.uuid4()),
        arn=backend.arn(f"thinggroup/{name}"),
        parent_name=parent,
        query_string="attributes.kind:sensor" if dynamic else None,
    )
    backend.thing_groups[name] = group
    if parent is not None:
        backend.thing_groups[parent].child_names.add(name)
    return group.arn


def add_thing_to_group(mock: IotMock, thing_name: str, group_name: str) -> None:
    """What AddThingToThingGroup records."""
    backend = mock.backend()
    thing = backend.things[thing_name]
    assert isinstance(thing, Thing)
    thing.group_names.add(group_name)
    backend.thing_groups[group_name].thing_names.add(thing_name)


def attach_thing_principal(
    mock: IotMock, thing_name: str, principal: str, kind: str = "NON_EXCLUSIVE_THING"
) -> None:
    """What AttachThingPrincipal records."""
    backend = mock.backend()
    backend.thing_principals.setdefault(thing_name, {})[principal] = kind
    backend.principal_things.setdefault(principal, {})[thing_name] = kind


def emit_event(mock: IotMock, event: str, **details: object) -> None:
    """Emit an event the way another family's handler does (e.g. DeleteCertificate)."""
    backend = mock.backend()
    ctx = RequestContext(mock, backend, "iot", "Test", backend.account_id, backend.region)
    emit(ctx, event, **details)


def delete_certificate(mock: IotMock, certificate_arn: str) -> None:
    """What DeleteCertificate does to the state, events included."""
    certificate_id = certificate_arn.rsplit("/", 1)[1]
    mock.backend().certificates.pop(certificate_id)
    emit_event(mock, "certificate_deleted", certificate_id=certificate_id, arn=certificate_arn)


def delete_thing_group(mock: IotMock, name: str) -> None:
    """What DeleteThingGroup does to the state, events included."""
    group = mock.backend().thing_groups.pop(name)
    assert group is not None
    emit_event(mock, "thing_group_deleted", group_name=name, arn=group.arn)
