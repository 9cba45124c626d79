"""Certificate providers: CRUD, the one-per-account quota, client tokens, tags, listing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from error_checks import error_of
from freezegun import freeze_time
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging
from iotmock.identity.crypto import make_csr, new_ec_key

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:sign"
TOKEN_1 = "11111111-1111-1111-1111-111111111111"
TOKEN_2 = "22222222-2222-2222-2222-222222222222"
OTHER_LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:sign-v2"


def create(iot: Any, name: str = "signer", **extra: Any) -> dict[str, Any]:
    return dict(
        iot.create_certificate_provider(
            certificateProviderName=name,
            lambdaFunctionArn=LAMBDA,
            accountDefaultForOperations=["CreateCertificateFromCsr"],
            **extra,
        )
    )


def test_create_and_describe(iot: Any) -> None:
    with freeze_time("2026-07-01 00:00:00"):
        created = create(iot)

    assert created["certificateProviderName"] == "signer"
    arn = "arn:aws:iot:us-east-1:123456789012:certificateprovider/signer"
    assert created["certificateProviderArn"] == arn
    described = iot.describe_certificate_provider(certificateProviderName="signer")
    assert described["lambdaFunctionArn"] == LAMBDA
    assert described["accountDefaultForOperations"] == ["CreateCertificateFromCsr"]
    assert described["creationDate"].timestamp() == 1782864000.0
    assert described["lastModifiedDate"] == described["creationDate"]


def test_one_provider_per_account(iot: Any) -> None:
    create(iot)

    with pytest.raises(ClientError) as exc:
        create(iot, "second")

    assert error_of(exc)[:2] == ("LimitExceededException", 410)


def test_same_name_already_exists_unless_the_client_token_repeats(iot: Any) -> None:
    first = create(iot, clientToken=TOKEN_1)

    again = create(iot, clientToken=TOKEN_1)
    assert again["certificateProviderArn"] == first["certificateProviderArn"]

    with pytest.raises(ClientError) as exc:
        create(iot, clientToken=TOKEN_2)
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    with pytest.raises(ClientError) as exc:
        create(iot)
    assert error_of(exc)[0] == "ResourceAlreadyExistsException"


def test_update(iot: Any) -> None:
    with freeze_time("2026-07-01"):
        create(iot)
    with freeze_time("2026-07-02"):
        updated = iot.update_certificate_provider(
            certificateProviderName="signer", lambdaFunctionArn=OTHER_LAMBDA
        )

    assert updated["certificateProviderName"] == "signer"
    described = iot.describe_certificate_provider(certificateProviderName="signer")
    assert described["lambdaFunctionArn"] == OTHER_LAMBDA
    assert described["lastModifiedDate"] > described["creationDate"]


def test_unknown_provider_is_not_found(iot: Any) -> None:
    for call in (
        lambda: iot.describe_certificate_provider(certificateProviderName="nope"),
        lambda: iot.update_certificate_provider(
            certificateProviderName="nope", lambdaFunctionArn=LAMBDA
        ),
        lambda: iot.delete_certificate_provider(certificateProviderName="nope"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_frees_the_quota_and_the_tags(iot: Any, iot_mock: IotMock) -> None:
    arn = create(iot, tags=[{"Key": "env", "Value": "test"}])["certificateProviderArn"]
    assert tagging.tags_of(iot_mock.backend(), arn) == {"env": "test"}
    assert listed_tags(iot, arn) == {"env": "test"}

    iot.delete_certificate_provider(certificateProviderName="signer")

    assert tagging.tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)
    assert iot.list_certificate_providers()["certificateProviders"] == []
    create(iot, "second")


def test_list_certificate_providers(iot: Any) -> None:
    assert iot.list_certificate_providers()["certificateProviders"] == []
    created = create(iot)

    for ascending in (True, False):
        listed = iot.list_certificate_providers(ascendingOrder=ascending)
        assert listed["certificateProviders"] == [
            {
                "certificateProviderName": "signer",
                "certificateProviderArn": created["certificateProviderArn"],
            }
        ]
        assert "nextToken" not in listed


def test_issuing_from_a_csr_still_uses_the_mock_ca(iot: Any, iot_mock: IotMock) -> None:
    create(iot)
    pem = iot.create_certificate_from_csr(certificateSigningRequest=make_csr(new_ec_key()))[
        "certificatePem"
    ]

    ca = x509.load_pem_x509_certificate(iot_mock.certificates.ca_pem().encode())
    x509.load_pem_x509_certificate(pem.encode()).verify_directly_issued_by(ca)
