"""Thing principals: certificates and Cognito identities, exclusivity, V2 lists."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import code_of
from identity_state import new_certificate

from iotmock import IotMock
from iotmock.registry.records import registry_of

COGNITO = "us-east-1:11111111-2222-3333-4444-555555555555"


def message_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


@pytest.fixture
def cert(iot: Any) -> str:
    return new_certificate(iot)


def test_attach_certificate_and_list_both_ways(iot: Any, iot_mock: IotMock, cert: str) -> None:
    iot.create_thing(thingName="t")
    response = iot.attach_thing_principal(thingName="t", principal=cert)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert iot.list_thing_principals(thingName="t")["principals"] == [cert]
    assert iot.list_principal_things(principal=cert)["things"] == ["t"]
    assert iot.list_thing_principals_v2(thingName="t")["thingPrincipalObjects"] == [
        {"principal": cert, "thingPrincipalType": "NON_EXCLUSIVE_THING"}
    ]
    assert iot.list_principal_things_v2(principal=cert)["principalThingObjects"] == [
        {"thingName": "t", "thingPrincipalType": "NON_EXCLUSIVE_THING"}
    ]
    backend = iot_mock.backend()
    assert registry_of(backend).thing_principals == {"t": {cert: "NON_EXCLUSIVE_THING"}}
    assert registry_of(backend).principal_things == {cert: {"t": "NON_EXCLUSIVE_THING"}}


def test_reattach_is_a_no_op(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="t")
    iot.attach_thing_principal(thingName="t", principal=cert)
    iot.attach_thing_principal(thingName="t", principal=cert)
    assert iot.list_thing_principals(thingName="t")["principals"] == [cert]


def test_non_exclusive_principal_serves_many_things(iot: Any, cert: str) -> None:
    for name in ("t1", "t2", "t3"):
        iot.create_thing(thingName=name)
        iot.attach_thing_principal(thingName=name, principal=cert)
    assert iot.list_principal_things(principal=cert)["things"] == ["t1", "t2", "t3"]


def test_exclusive_attachment_blocks_other_things(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    iot.attach_thing_principal(thingName="t1", principal=cert, thingPrincipalType="EXCLUSIVE_THING")
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(thingName="t2", principal=cert)
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "exclusively (EXCLUSIVE_THING) to thing t1" in message_of(exc)
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(
            thingName="t2", principal=cert, thingPrincipalType="EXCLUSIVE_THING"
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert iot.list_principal_things_v2(principal=cert)["principalThingObjects"] == [
        {"thingName": "t1", "thingPrincipalType": "EXCLUSIVE_THING"}
    ]
    # After detaching, the certificate is free again.
    iot.detach_thing_principal(thingName="t1", principal=cert)
    iot.attach_thing_principal(thingName="t2", principal=cert)


def test_exclusive_attach_refused_when_attached_elsewhere(iot: Any, cert: str) -> None:
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(
            thingName="t2", principal=cert, thingPrincipalType="EXCLUSIVE_THING"
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "already attached to other things (t1)" in message_of(exc)
    # Upgrading the only attachment to exclusive is allowed.
    iot.attach_thing_principal(thingName="t1", principal=cert, thingPrincipalType="EXCLUSIVE_THING")
    assert iot.list_thing_principals_v2(thingName="t1")["thingPrincipalObjects"] == [
        {"principal": cert, "thingPrincipalType": "EXCLUSIVE_THING"}
    ]


def test_v2_lists_filter_by_type(iot: Any) -> None:
    exclusive = new_certificate(iot)
    shared = new_certificate(iot)
    iot.create_thing(thingName="t")
    iot.attach_thing_principal(
        thingName="t", principal=exclusive, thingPrincipalType="EXCLUSIVE_THING"
    )
    iot.attach_thing_principal(thingName="t", principal=shared)
    iot.attach_thing_principal(thingName="t", principal=COGNITO)
    only = iot.list_thing_principals_v2(thingName="t", thingPrincipalType="EXCLUSIVE_THING")
    assert only["thingPrincipalObjects"] == [
        {"principal": exclusive, "thingPrincipalType": "EXCLUSIVE_THING"}
    ]
    others = iot.list_thing_principals_v2(thingName="t", thingPrincipalType="NON_EXCLUSIVE_THING")
    assert sorted(o["principal"] for o in others["thingPrincipalObjects"]) == sorted(
        [shared, COGNITO]
    )
    none = iot.list_principal_things_v2(principal=shared, thingPrincipalType="EXCLUSIVE_THING")
    assert none["principalThingObjects"] == []


def test_cognito_identity_needs_no_existence_check(iot: Any) -> None:
    iot.create_thing(thingName="t")
    iot.attach_thing_principal(thingName="t", principal=COGNITO)
    assert iot.list_principal_things(principal=COGNITO)["things"] == ["t"]
    assert iot.list_principal_things(principal="us-east-1:unknown")["things"] == []
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(
            thingName="t", principal=COGNITO, thingPrincipalType="EXCLUSIVE_THING"
        )
    assert code_of(exc) == ("InvalidRequestException", 400)
    assert "X.509 certificates only" in message_of(exc)


def test_missing_thing_or_certificate_is_not_found(iot: Any, iot_mock: IotMock, cert: str) -> None:
    missing_cert = iot_mock.backend().arn("cert/" + "f" * 64)
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(thingName="ghost", principal=cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    iot.create_thing(thingName="t")
    with pytest.raises(ClientError) as exc:
        iot.attach_thing_principal(thingName="t", principal=missing_cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.detach_thing_principal(thingName="t", principal=missing_cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.detach_thing_principal(thingName="ghost", principal=cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_principal_things(principal=missing_cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_thing_principals(thingName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)
    assert message_of(exc) == (
        "Failed to list principals for thing ghost because the thing does not exist in your account"
    )
    with pytest.raises(ClientError) as exc:
        iot.list_thing_principals_v2(thingName="ghost")
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_detach_keeps_indexes_consistent(iot: Any, iot_mock: IotMock, cert: str) -> None:
    iot.create_thing(thingName="t1")
    iot.create_thing(thingName="t2")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    iot.attach_thing_principal(thingName="t2", principal=cert)
    iot.detach_thing_principal(thingName="t1", principal=cert)
    iot.detach_thing_principal(thingName="t1", principal=cert)  # already detached: no-op
    backend = iot_mock.backend()
    assert registry_of(backend).thing_principals == {"t2": {cert: "NON_EXCLUSIVE_THING"}}
    assert registry_of(backend).principal_things == {cert: {"t2": "NON_EXCLUSIVE_THING"}}
    iot.detach_thing_principal(thingName="t2", principal=cert)
    assert registry_of(backend).thing_principals == {}
    assert registry_of(backend).principal_things == {}
    iot.delete_thing(thingName="t1")


def test_certificate_with_things_cannot_be_deleted(iot: Any, iot_mock: IotMock, cert: str) -> None:
    iot.create_thing(thingName="t")
    iot.attach_thing_principal(thingName="t", principal=cert)
    certificate_id = cert.rsplit("/", 1)[1]
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    for force in (False, True):
        with pytest.raises(ClientError) as exc:
            iot.delete_certificate(certificateId=certificate_id, forceDelete=force)
        assert code_of(exc) == ("DeleteConflictException", 409)
        assert message_of(exc) == f"Things must be detached before deletion (arn: {cert})"
    assert iot.list_thing_principals(thingName="t")["principals"] == [cert]
    iot.detach_thing_principal(thingName="t", principal=cert)
    iot.delete_certificate(certificateId=certificate_id)
    assert iot.list_thing_principals(thingName="t")["principals"] == []
    assert registry_of(iot_mock.backend()).principal_things == {}
    with pytest.raises(ClientError) as exc:
        iot.list_principal_things(principal=cert)
    assert code_of(exc) == ("ResourceNotFoundException", 404)


def test_list_thing_principals_pages(iot: Any) -> None:
    iot.create_thing(thingName="t")
    arns = sorted(new_certificate(iot) for _ in range(5))
    for arn in arns:
        iot.attach_thing_principal(thingName="t", principal=arn)
    first = iot.list_thing_principals(thingName="t", maxResults=2)
    second = iot.list_thing_principals(thingName="t", maxResults=2, nextToken=first["nextToken"])
    third = iot.list_thing_principals(thingName="t", maxResults=2, nextToken=second["nextToken"])
    assert first["principals"] + second["principals"] + third["principals"] == arns
    assert "nextToken" not in third
    with pytest.raises(ClientError) as exc:
        iot.list_thing_principals(thingName="t", nextToken="garbage")
    assert code_of(exc) == ("InvalidRequestException", 400)
