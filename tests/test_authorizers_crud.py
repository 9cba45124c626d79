"""Custom authorizers through boto3: create, describe, update, list, delete, default."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:my-authorizer"


@functools.cache
def public_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def create(iot: Any, name: str = "auth", **kwargs: Any) -> Any:
    arguments: dict[str, Any] = {
        "authorizerName": name,
        "authorizerFunctionArn": FUNCTION,
        "tokenKeyName": "token",
        "tokenSigningPublicKeys": {"key1": public_key_pem()},
    }
    arguments.update(kwargs)
    return iot.create_authorizer(**arguments)


def test_create_and_describe(iot: Any) -> None:
    created = create(iot)
    assert created == {
        "authorizerName": "auth",
        "authorizerArn": "arn:aws:iot:us-east-1:123456789012:authorizer/auth",
        "ResponseMetadata": created["ResponseMetadata"],
    }
    described = iot.describe_authorizer(authorizerName="auth")["authorizerDescription"]
    assert described["authorizerFunctionArn"] == FUNCTION
    assert described["tokenKeyName"] == "token"
    assert described["tokenSigningPublicKeys"] == {"key1": public_key_pem()}
    assert described["status"] == "ACTIVE"
    assert described["signingDisabled"] is False
    assert described["enableCachingForHttp"] is False
    assert described["creationDate"] == described["lastModifiedDate"]


def test_create_with_signing_disabled_needs_no_keys(iot: Any) -> None:
    iot.create_authorizer(
        authorizerName="open",
        authorizerFunctionArn=FUNCTION,
        signingDisabled=True,
        status="INACTIVE",
        enableCachingForHttp=True,
    )
    described = iot.describe_authorizer(authorizerName="open")["authorizerDescription"]
    assert described["signingDisabled"] is True
    assert described["status"] == "INACTIVE"
    assert described["enableCachingForHttp"] is True
    assert described["tokenSigningPublicKeys"] == {}


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"tokenKeyName": None}, "tokenKeyName is required"),
        ({"tokenSigningPublicKeys": {}}, "tokenSigningPublicKeys must hold"),
        ({"tokenSigningPublicKeys": {"k": "not a key"}}, "not a PEM-encoded public key"),
        ({"authorizerFunctionArn": "arn:aws:sns:us-east-1:1:x"}, "not a Lambda function ARN"),
    ],
)
def test_create_validation(iot: Any, overrides: dict[str, Any], fragment: str) -> None:
    arguments = {k: v for k, v in overrides.items() if v is not None}
    removed = [k for k, v in overrides.items() if v is None]
    base: dict[str, Any] = {
        "authorizerName": "auth",
        "authorizerFunctionArn": FUNCTION,
        "tokenKeyName": "token",
        "tokenSigningPublicKeys": {"key1": public_key_pem()},
    }
    for key in removed:
        del base[key]
    base.update(arguments)
    with pytest.raises(ClientError) as exc:
        iot.create_authorizer(**base)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message


def test_duplicate_name(iot: Any) -> None:
    create(iot)
    with pytest.raises(ClientError) as exc:
        create(iot)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"].endswith(":authorizer/auth")


def test_limit_of_32_authorizers(iot: Any) -> None:
    for index in range(32):
        create(iot, f"a{index}")
    with pytest.raises(ClientError) as exc:
        create(iot, "one-too-many")
    assert error_of(exc)[:2] == ("LimitExceededException", 410)


def test_tags_on_create(iot: Any, iot_mock: IotMock) -> None:
    arn = create(iot, tags=[{"Key": "env", "Value": "test"}])["authorizerArn"]
    assert iot_mock.backend().tags[arn] == {"env": "test"}
    assert listed_tags(iot, arn) == {"env": "test"}
    iot.update_authorizer(authorizerName="auth", status="INACTIVE")
    iot.delete_authorizer(authorizerName="auth")
    assert arn not in iot_mock.backend().tags
    assert_untaggable(iot, arn)


def test_unknown_authorizer_is_404(iot: Any) -> None:
    for call in (
        lambda: iot.describe_authorizer(authorizerName="nope"),
        lambda: iot.update_authorizer(authorizerName="nope", status="INACTIVE"),
        lambda: iot.delete_authorizer(authorizerName="nope"),
        lambda: iot.set_default_authorizer(authorizerName="nope"),
        lambda: iot.test_invoke_authorizer(authorizerName="nope", token="t"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_update(iot: Any) -> None:
    create(iot)
    before = iot.describe_authorizer(authorizerName="auth")["authorizerDescription"]
    other_function = FUNCTION.replace("my-authorizer", "other")
    response = iot.update_authorizer(
        authorizerName="auth",
        authorizerFunctionArn=other_function,
        tokenKeyName="x-token",
        status="INACTIVE",
        enableCachingForHttp=True,
    )
    assert response["authorizerArn"].endswith(":authorizer/auth")
    after = iot.describe_authorizer(authorizerName="auth")["authorizerDescription"]
    assert after["authorizerFunctionArn"] == other_function
    assert after["tokenKeyName"] == "x-token"
    assert after["status"] == "INACTIVE"
    assert after["enableCachingForHttp"] is True
    assert after["tokenSigningPublicKeys"] == before["tokenSigningPublicKeys"]
    assert after["creationDate"] == before["creationDate"]
    assert after["lastModifiedDate"] >= before["lastModifiedDate"]


def test_update_validation(iot: Any) -> None:
    create(iot)
    with pytest.raises(ClientError) as exc:
        iot.update_authorizer(authorizerName="auth", tokenSigningPublicKeys={})
    assert error_of(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.update_authorizer(authorizerName="auth", tokenSigningPublicKeys={"k": "junk"})
    assert error_of(exc)[0] == "InvalidRequestException"
    described = iot.describe_authorizer(authorizerName="auth")["authorizerDescription"]
    assert described["tokenSigningPublicKeys"] == {"key1": public_key_pem()}


def test_delete_needs_an_inactive_authorizer(iot: Any) -> None:
    create(iot)
    with pytest.raises(ClientError) as exc:
        iot.delete_authorizer(authorizerName="auth")
    code, status, message = error_of(exc)
    assert (code, status) == ("DeleteConflictException", 409)
    assert "INACTIVE" in message
    iot.update_authorizer(authorizerName="auth", status="INACTIVE")
    iot.delete_authorizer(authorizerName="auth")
    assert iot.list_authorizers()["authorizers"] == []


def test_list_authorizers_filters_orders_and_pages(iot: Any) -> None:
    for name in ["c", "a", "b", "d"]:
        create(iot, name)
    iot.update_authorizer(authorizerName="b", status="INACTIVE")
    all_names = [a["authorizerName"] for a in iot.list_authorizers()["authorizers"]]
    assert all_names == ["a", "b", "c", "d"]
    first = iot.list_authorizers(pageSize=3)
    assert [a["authorizerName"] for a in first["authorizers"]] == ["a", "b", "c"]
    rest = iot.list_authorizers(pageSize=3, marker=first["nextMarker"])
    assert [a["authorizerName"] for a in rest["authorizers"]] == ["d"]
    assert "nextMarker" not in rest
    active = iot.list_authorizers(status="ACTIVE")["authorizers"]
    assert [a["authorizerName"] for a in active] == ["a", "c", "d"]
    assert active[0]["authorizerArn"].endswith(":authorizer/a")
    descending = iot.list_authorizers(ascendingOrder=False, status="INACTIVE")
    assert [a["authorizerName"] for a in descending["authorizers"]] == ["b"]
    backwards = iot.list_authorizers(ascendingOrder=False)["authorizers"]
    assert [a["authorizerName"] for a in backwards] == ["d", "c", "b", "a"]


# --------------------------------------------------------------------------- default


def test_default_authorizer_lifecycle(iot: Any) -> None:
    create(iot)
    with pytest.raises(ClientError) as exc:
        iot.describe_default_authorizer()
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    response = iot.set_default_authorizer(authorizerName="auth")
    assert response["authorizerName"] == "auth"
    assert response["authorizerArn"].endswith(":authorizer/auth")
    described = iot.describe_default_authorizer()["authorizerDescription"]
    assert described["authorizerName"] == "auth"
    assert iot.set_default_authorizer(authorizerName="auth")["authorizerName"] == "auth"
    iot.clear_default_authorizer()
    with pytest.raises(ClientError) as exc:
        iot.describe_default_authorizer()
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_clear_without_default_is_404(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.clear_default_authorizer()
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_second_default_authorizer_is_refused(iot: Any) -> None:
    create(iot, "one")
    create(iot, "two")
    iot.set_default_authorizer(authorizerName="one")
    with pytest.raises(ClientError) as exc:
        iot.set_default_authorizer(authorizerName="two")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert "one is already the default authorizer" in message
    iot.clear_default_authorizer()
    iot.set_default_authorizer(authorizerName="two")


def test_inactive_authorizer_cannot_be_default(iot: Any) -> None:
    create(iot, status="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.set_default_authorizer(authorizerName="auth")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_default_authorizer_cannot_be_deleted(iot: Any) -> None:
    create(iot)
    iot.set_default_authorizer(authorizerName="auth")
    iot.update_authorizer(authorizerName="auth", status="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.delete_authorizer(authorizerName="auth")
    code, _, message = error_of(exc)
    assert code == "DeleteConflictException"
    assert "default authorizer" in message
    iot.clear_default_authorizer()
    iot.delete_authorizer(authorizerName="auth")


def test_authorizer_used_by_a_domain_configuration_cannot_be_deleted(iot: Any) -> None:
    create(iot)
    iot.create_domain_configuration(
        domainConfigurationName="dc", authorizerConfig={"defaultAuthorizerName": "auth"}
    )
    iot.update_authorizer(authorizerName="auth", status="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.delete_authorizer(authorizerName="auth")
    code, _, message = error_of(exc)
    assert code == "DeleteConflictException"
    assert "domain configuration(s) dc" in message
    iot.update_domain_configuration(domainConfigurationName="dc", removeAuthorizerConfig=True)
    iot.delete_authorizer(authorizerName="auth")
