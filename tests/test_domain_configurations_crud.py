"""Domain configurations through boto3."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock

ACM = "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:auth"
DEFAULTS = ["iot:CredentialProvider", "iot:Data-ATS", "iot:Jobs"]


def names(iot: Any, **kwargs: Any) -> list[str]:
    listed = iot.list_domain_configurations(**kwargs)["domainConfigurations"]
    return [c["domainConfigurationName"] for c in listed]


def make_authorizer(iot: Any, name: str = "auth") -> None:
    iot.create_authorizer(authorizerName=name, authorizerFunctionArn=FUNCTION, signingDisabled=True)


def test_default_endpoints_are_listed_and_described(iot: Any) -> None:
    assert names(iot) == DEFAULTS
    data = iot.describe_domain_configuration(domainConfigurationName="iot:Data-ATS")
    assert data["domainType"] == "ENDPOINT"
    assert data["serviceType"] == "DATA"
    assert data["domainConfigurationStatus"] == "ENABLED"
    endpoint = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    assert data["domainName"] == endpoint
    assert names(iot, serviceType="JOBS") == ["iot:Jobs"]


def test_default_endpoints_cannot_be_updated(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_domain_configuration(
            domainConfigurationName="iot:Data-ATS", domainConfigurationStatus="DISABLED"
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "can't be updated" in message


def test_aws_managed_domain(iot: Any) -> None:
    created = iot.create_domain_configuration(domainConfigurationName="managed")
    assert created["domainConfigurationName"] == "managed"
    assert re.fullmatch(
        r"arn:aws:iot:us-east-1:123456789012:domainconfiguration/managed/[A-Za-z0-9]{5}",
        created["domainConfigurationArn"],
    )
    described = iot.describe_domain_configuration(domainConfigurationName="managed")
    assert described["domainConfigurationArn"] == created["domainConfigurationArn"]
    assert described["domainType"] == "AWS_MANAGED"
    assert re.fullmatch(
        r"[a-z0-9]{14}-ats\.iot\.us-east-1\.amazonaws\.com", described["domainName"]
    )
    assert described["serviceType"] == "DATA"
    assert described["domainConfigurationStatus"] == "ENABLED"
    assert described["serverCertificates"] == []
    assert described["tlsConfig"] == {"securityPolicy": "IoTSecurityPolicy_TLS13_1_2_2022_10"}
    assert described["authenticationType"] == "DEFAULT"
    assert described["applicationProtocol"] == "DEFAULT"
    assert "lastStatusChangeDate" in described
    assert "authorizerConfig" not in described


def test_customer_managed_domain(iot: Any) -> None:
    make_authorizer(iot)
    iot.create_domain_configuration(
        domainConfigurationName="custom",
        domainName="iot.example.com",
        serverCertificateArns=[ACM],
        validationCertificateArn=ACM,
        authorizerConfig={"defaultAuthorizerName": "auth"},
        tlsConfig={"securityPolicy": "IoTSecurityPolicy_TLS13_1_3_2022_10"},
        authenticationType="CUSTOM_AUTH",
        applicationProtocol="HTTPS",
        serverCertificateConfig={"enableOCSPCheck": True},
        clientCertificateConfig={"clientCertificateCallbackArn": FUNCTION},
    )
    described = iot.describe_domain_configuration(domainConfigurationName="custom")
    assert described["domainType"] == "CUSTOMER_MANAGED"
    assert described["domainName"] == "iot.example.com"
    assert described["serverCertificates"] == [
        {
            "serverCertificateArn": ACM,
            "serverCertificateStatus": "VALID",
            "serverCertificateStatusDetail": "",
        }
    ]
    assert described["authorizerConfig"] == {
        "defaultAuthorizerName": "auth",
        "allowAuthorizerOverride": False,
    }
    assert described["tlsConfig"]["securityPolicy"] == "IoTSecurityPolicy_TLS13_1_3_2022_10"
    assert described["authenticationType"] == "CUSTOM_AUTH"
    assert described["applicationProtocol"] == "HTTPS"
    assert described["serverCertificateConfig"] == {"enableOCSPCheck": True}
    assert described["clientCertificateConfig"] == {"clientCertificateCallbackArn": FUNCTION}


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"domainName": "iot.example.com"}, "needs its server certificate"),
        ({"serverCertificateArns": [ACM]}, "apply only to customer-managed domains"),
        ({"authorizerConfig": {"defaultAuthorizerName": "ghost"}}, "ghost is not an authorizer"),
        ({"tlsConfig": {"securityPolicy": "TLS_ANYTHING"}}, "not a supported security policy"),
        ({"validationCertificateArn": "arn:aws:s3:::x"}, "validationCertificateArn"),
    ],
)
def test_create_validation(iot: Any, arguments: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_domain_configuration(domainConfigurationName="dc", **arguments)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert fragment in message
    assert names(iot) == DEFAULTS


def test_duplicate_and_limit(iot: Any) -> None:
    iot.create_domain_configuration(domainConfigurationName="dc0")
    with pytest.raises(ClientError) as exc:
        iot.create_domain_configuration(domainConfigurationName="dc0")
    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    for index in range(1, 10):
        iot.create_domain_configuration(domainConfigurationName=f"dc{index}")
    with pytest.raises(ClientError) as exc:
        iot.create_domain_configuration(domainConfigurationName="dc10")
    assert error_of(exc)[:2] == ("LimitExceededException", 410)


def test_update(iot: Any) -> None:
    make_authorizer(iot)
    iot.create_domain_configuration(domainConfigurationName="dc")
    before = iot.describe_domain_configuration(domainConfigurationName="dc")
    response = iot.update_domain_configuration(
        domainConfigurationName="dc",
        domainConfigurationStatus="DISABLED",
        authorizerConfig={"defaultAuthorizerName": "auth", "allowAuthorizerOverride": True},
        tlsConfig={"securityPolicy": "IoTSecurityPolicy_TLS12_1_2_2022_10"},
        authenticationType="AWS_X509",
        applicationProtocol="SECURE_MQTT",
    )
    assert response["domainConfigurationArn"] == before["domainConfigurationArn"]
    after = iot.describe_domain_configuration(domainConfigurationName="dc")
    assert after["domainConfigurationStatus"] == "DISABLED"
    assert after["lastStatusChangeDate"] >= before["lastStatusChangeDate"]
    assert after["authorizerConfig"] == {
        "defaultAuthorizerName": "auth",
        "allowAuthorizerOverride": True,
    }
    assert after["tlsConfig"]["securityPolicy"] == "IoTSecurityPolicy_TLS12_1_2_2022_10"
    assert (after["authenticationType"], after["applicationProtocol"]) == (
        "AWS_X509",
        "SECURE_MQTT",
    )
    iot.update_domain_configuration(domainConfigurationName="dc", removeAuthorizerConfig=True)
    assert "authorizerConfig" not in iot.describe_domain_configuration(domainConfigurationName="dc")


def test_update_validation(iot: Any) -> None:
    make_authorizer(iot)
    iot.create_domain_configuration(domainConfigurationName="dc")
    with pytest.raises(ClientError) as exc:
        iot.update_domain_configuration(
            domainConfigurationName="dc",
            removeAuthorizerConfig=True,
            authorizerConfig={"defaultAuthorizerName": "auth"},
        )
    assert error_of(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.update_domain_configuration(
            domainConfigurationName="dc", authorizerConfig={"defaultAuthorizerName": "x"}
        )
    assert error_of(exc)[0] == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        iot.update_domain_configuration(
            domainConfigurationName="nope", domainConfigurationStatus="DISABLED"
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_needs_a_disabled_configuration(iot: Any, iot_mock: IotMock) -> None:
    arn = iot.create_domain_configuration(
        domainConfigurationName="dc", tags=[{"Key": "k", "Value": "v"}]
    )["domainConfigurationArn"]
    assert iot_mock.backend().tags[arn] == {"k": "v"}
    assert listed_tags(iot, arn) == {"k": "v"}
    with pytest.raises(ClientError) as exc:
        iot.delete_domain_configuration(domainConfigurationName="dc")
    code, _, message = error_of(exc)
    assert code == "InvalidRequestException"
    assert "Disable it" in message
    iot.update_domain_configuration(
        domainConfigurationName="dc", domainConfigurationStatus="DISABLED"
    )
    iot.delete_domain_configuration(domainConfigurationName="dc")
    assert names(iot) == DEFAULTS
    assert arn not in iot_mock.backend().tags
    assert_untaggable(iot, arn)
    for call in (
        lambda: iot.delete_domain_configuration(domainConfigurationName="dc"),
        lambda: iot.describe_domain_configuration(domainConfigurationName="dc"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_pages_and_filters(iot: Any) -> None:
    iot.create_domain_configuration(domainConfigurationName="a")
    iot.create_domain_configuration(domainConfigurationName="b", serviceType="JOBS")
    first = iot.list_domain_configurations(pageSize=2)
    second = iot.list_domain_configurations(pageSize=2, marker=first["nextMarker"])
    third = iot.list_domain_configurations(pageSize=2, marker=second["nextMarker"])
    listed = first["domainConfigurations"] + second["domainConfigurations"]
    listed += third["domainConfigurations"]
    assert [c["domainConfigurationName"] for c in listed] == ["a", "b", *DEFAULTS]
    assert "nextMarker" not in third
    jobs = iot.list_domain_configurations(serviceType="JOBS")["domainConfigurations"]
    assert [(c["domainConfigurationName"], c["serviceType"]) for c in jobs] == [
        ("b", "JOBS"),
        ("iot:Jobs", "JOBS"),
    ]
    assert jobs[0]["domainConfigurationArn"].startswith(
        "arn:aws:iot:us-east-1:123456789012:domainconfiguration/b/"
    )
