"""TestInvokeAuthorizer through boto3, answered by a handler the test registers."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from error_checks import error_of

from iotmock import IotMock

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:my-authorizer"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def rsa_signature(token: str) -> str:
    signature = rsa_key().sign(token.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def allow(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "isAuthenticated": True,
        "principalId": "device42",
        "disconnectAfterInSeconds": 3600,
        "refreshAfterInSeconds": 600,
        "policyDocuments": [POLICY],
    }


@pytest.fixture
def signed(iot: Any) -> str:
    iot.create_authorizer(
        authorizerName="signed",
        authorizerFunctionArn=FUNCTION,
        tokenKeyName="token",
        tokenSigningPublicKeys={"ec": public_pem(ec_key()), "rsa": public_pem(rsa_key())},
    )
    return "signed"


@pytest.fixture
def unsigned(iot: Any) -> str:
    iot.create_authorizer(
        authorizerName="unsigned", authorizerFunctionArn=FUNCTION, signingDisabled=True
    )
    return "unsigned"


def test_handler_answers_with_the_lambda_response(iot: Any, iot_mock: IotMock, signed: str) -> None:
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return allow(event)

    iot_mock.authorizers.register(signed, handler)
    response = iot.test_invoke_authorizer(
        authorizerName=signed, token="abc", tokenSignature=rsa_signature("abc")
    )
    assert response["isAuthenticated"] is True
    assert response["principalId"] == "device42"
    assert response["policyDocuments"] == [POLICY]
    assert response["disconnectAfterInSeconds"] == 3600
    assert response["refreshAfterInSeconds"] == 600
    [event] = events
    assert event["token"] == "abc"
    assert event["signatureVerified"] is True
    assert event["protocols"] == []
    assert event["connectionMetadata"]["id"]


def test_ec_signatures_verify_too(iot: Any, iot_mock: IotMock, signed: str) -> None:
    iot_mock.authorizers.register(signed, allow)
    signature = ec_key().sign(b"tok", ec.ECDSA(hashes.SHA256()))
    response = iot.test_invoke_authorizer(
        authorizerName=signed, token="tok", tokenSignature=base64.b64encode(signature).decode()
    )
    assert response["isAuthenticated"] is True


def test_bad_signature_is_refused(iot: Any, iot_mock: IotMock, signed: str) -> None:
    iot_mock.authorizers.register(signed, allow)
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(
            authorizerName=signed, token="abc", tokenSignature=rsa_signature("other")
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "does not verify" in message
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(authorizerName=signed, token="abc")
    assert "tokenSignature are required" in error_of(exc)[2]


def test_protocol_data_reaches_the_handler(iot: Any, iot_mock: IotMock, unsigned: str) -> None:
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return allow(event)

    iot_mock.authorizers.register(FUNCTION, handler)  # by function ARN
    iot.test_invoke_authorizer(
        authorizerName=unsigned,
        mqttContext={"username": "user", "password": b"secret", "clientId": "c1"},
        tlsContext={"serverName": "example.com"},
        httpContext={"headers": {"x-token": "t"}, "queryString": "a=b"},
    )
    [event] = events
    assert event["signatureVerified"] is False
    assert "token" not in event
    assert event["protocols"] == ["tls", "http", "mqtt"]
    assert event["protocolData"] == {
        "tls": {"serverName": "example.com"},
        "http": {"headers": {"x-token": "t"}, "queryString": "a=b"},
        "mqtt": {
            "username": "user",
            "password": base64.b64encode(b"secret").decode(),
            "clientId": "c1",
        },
    }


def test_name_registration_wins_over_function_arn(
    iot: Any, iot_mock: IotMock, unsigned: str
) -> None:
    def deny(event: dict[str, Any]) -> dict[str, Any]:
        return {**allow(event), "isAuthenticated": False, "policyDocuments": []}

    iot_mock.authorizers.register(FUNCTION, allow)
    iot_mock.authorizers.register(unsigned, deny)
    response = iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    assert response["isAuthenticated"] is False
    assert response["policyDocuments"] == []


def test_policy_documents_may_be_objects(iot: Any, iot_mock: IotMock, unsigned: str) -> None:
    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {**allow(event), "policyDocuments": [json.loads(POLICY)]}

    iot_mock.authorizers.register(unsigned, handler)
    response = iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    assert json.loads(response["policyDocuments"][0]) == json.loads(POLICY)


def test_no_registered_handler(iot: Any, unsigned: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    code, _, message = error_of(exc)
    assert code == "InvalidResponseException"
    assert "authorizers.register('unsigned', handler)" in message


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"isAuthenticated": "yes"}, "isAuthenticated"),
        ({"principalId": "not valid!"}, "principalId"),
        ({"refreshAfterInSeconds": 10}, "refreshAfterInSeconds"),
        ({"disconnectAfterInSeconds": 100000}, "disconnectAfterInSeconds"),
        ({"policyDocuments": ["{}"]}, "Policy document is Malformed"),
        ({"policyDocuments": [POLICY] * 11}, "at most 10"),
    ],
)
def test_invalid_lambda_responses(
    iot: Any, iot_mock: IotMock, unsigned: str, change: dict[str, Any], fragment: str
) -> None:
    iot_mock.authorizers.register(unsigned, lambda event: {**allow(event), **change})
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    code, _, message = error_of(exc)
    assert code == "InvalidResponseException"
    assert fragment in message


def test_handler_exception_is_an_invalid_response(
    iot: Any, iot_mock: IotMock, unsigned: str
) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    iot_mock.authorizers.register(unsigned, broken)
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    code, _, message = error_of(exc)
    assert code == "InvalidResponseException"
    assert "boom" in message


def test_inactive_authorizer_cannot_be_invoked(iot: Any, iot_mock: IotMock, unsigned: str) -> None:
    iot_mock.authorizers.register(unsigned, allow)
    iot.update_authorizer(authorizerName=unsigned, status="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.test_invoke_authorizer(authorizerName=unsigned, token="t")
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)
