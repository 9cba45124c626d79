"""Default order of the lists that take `ascendingOrder` (issue 10), as each operation's
model documentation and AWS's example outputs (awscli/examples/iot) show it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import botocore.session
import time_machine

from iotmock.identity.crypto import (
    CertificateAuthority,
    make_ca,
    new_ec_key,
    to_pem,
    verification_certificate,
)

DOC = (
    '{"Version": "2012-10-17", '
    '"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}'
)
ROLE = "arn:aws:iam::123456789012:role/r"


def test_list_policies_defaults_to_descending_name_order(iot: Any) -> None:
    # CLI example: UpdateDeviceCertPolicy, PlantIoTPolicy, MyPiGroup_Core-policy.
    for name in ("PlantIoTPolicy", "MyPiGroup_Core-policy", "UpdateDeviceCertPolicy"):
        iot.create_policy(policyName=name, policyDocument=DOC)
    names = [p["policyName"] for p in iot.list_policies()["policies"]]
    assert names == ["UpdateDeviceCertPolicy", "PlantIoTPolicy", "MyPiGroup_Core-policy"]
    ascending = iot.list_policies(ascendingOrder=True)["policies"]
    assert [p["policyName"] for p in ascending] == sorted(names)


def test_list_policy_principals_defaults_to_descending(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    arns = sorted(
        iot.create_keys_and_certificate(setAsActive=True)["certificateArn"] for _ in range(3)
    )
    for arn in arns:
        iot.attach_policy(policyName="p", target=arn)
    assert iot.list_policy_principals(policyName="p")["principals"] == arns[::-1]
    assert iot.list_policy_principals(policyName="p", ascendingOrder=True)["principals"] == arns
    first = iot.list_policy_principals(policyName="p", pageSize=2)
    assert first["principals"] == arns[:0:-1]
    rest = iot.list_policy_principals(policyName="p", marker=first["nextMarker"])
    assert rest["principals"] == arns[:1]


def test_list_authorizers_stays_ascending(iot: Any) -> None:
    # CLI example list-authorizers: CustomAuthorizer, CustomAuthorizer2, CustomAuthorizer3.
    function = "arn:aws:lambda:us-east-1:123456789012:function:auth"
    for name in ("CustomAuthorizer3", "CustomAuthorizer", "CustomAuthorizer2"):
        iot.create_authorizer(
            authorizerName=name, authorizerFunctionArn=function, signingDisabled=True
        )
    names = [a["authorizerName"] for a in iot.list_authorizers()["authorizers"]]
    assert names == ["CustomAuthorizer", "CustomAuthorizer2", "CustomAuthorizer3"]


def test_list_role_aliases_defaults_to_descending_name_order(iot: Any) -> None:
    # CLI example list-role-aliases: ResidentAlias, ElectricianAlias.
    for alias in ("ElectricianAlias", "ResidentAlias"):
        iot.create_role_alias(roleAlias=alias, roleArn=ROLE)
    assert iot.list_role_aliases()["roleAliases"] == ["ResidentAlias", "ElectricianAlias"]
    assert iot.list_role_aliases(ascendingOrder=True)["roleAliases"] == [
        "ElectricianAlias",
        "ResidentAlias",
    ]


# The other operations whose input has `ascendingOrder` (botocore model): each default
# checked against the model documentation, AWS's example outputs where they show an order,
# and the choices recorded in the family docs.

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def _at(seconds: int) -> Any:
    """Distinct creation dates, a second apart."""
    return time_machine.travel(T0 + dt.timedelta(seconds=seconds), tick=False)


def test_every_ascending_order_operation_is_covered() -> None:
    model = botocore.session.get_session().get_service_model("iot")
    with_order = {
        name
        for name in model.operation_names
        if "ascendingOrder" in (model.operation_model(name).input_shape.members or {})
    }
    assert with_order == COVERED


COVERED = {
    "ListAuditSuppressions",
    "ListAuthorizers",
    "ListCACertificates",
    "ListCertificateProviders",
    "ListCertificates",
    "ListCertificatesByCA",
    "ListOutgoingCertificates",
    "ListPolicies",
    "ListPolicyPrincipals",
    "ListPrincipalPolicies",
    "ListRoleAliases",
    "ListStreams",
}


def test_list_principal_policies_defaults_to_descending_name_order(iot: Any) -> None:
    # model: "If true, results are returned in ascending creation order" (docs/identity-policies.md)
    arn = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    for name in ("b-policy", "c-policy", "a-policy"):
        iot.create_policy(policyName=name, policyDocument=DOC)
        iot.attach_policy(policyName=name, target=arn)
    listed = [p["policyName"] for p in iot.list_principal_policies(principal=arn)["policies"]]
    assert listed == ["c-policy", "b-policy", "a-policy"]
    ascending = iot.list_principal_policies(principal=arn, ascendingOrder=True)["policies"]
    assert [p["policyName"] for p in ascending] == ["a-policy", "b-policy", "c-policy"]


def _certificate_ids(iot: Any, count: int) -> list[str]:
    ids = []
    for second in range(count):
        with _at(second):
            ids.append(iot.create_keys_and_certificate(setAsActive=True)["certificateId"])
    return ids


def test_list_certificates_defaults_to_newest_first(iot: Any) -> None:
    # model: "If True, ... ascending order, based on the creation date"; CLI example
    # list-certificates lists its six certificates newest first.
    created = _certificate_ids(iot, 3)
    listed = [c["certificateId"] for c in iot.list_certificates()["certificates"]]
    assert listed == created[::-1]
    ascending = iot.list_certificates(ascendingOrder=True)["certificates"]
    assert [c["certificateId"] for c in ascending] == created


def _registered_ca(iot: Any, second: int) -> tuple[CertificateAuthority, str]:
    ca = make_ca(f"CA {second}")
    with _at(second):
        code = iot.get_registration_code()["registrationCode"]
        registered = iot.register_ca_certificate(
            caCertificate=ca.pem,
            verificationCertificate=verification_certificate(ca, code),
            setAsActive=True,
        )
    return ca, str(registered["certificateId"])


def test_list_ca_certificates_defaults_to_newest_first(iot: Any) -> None:
    created = [_registered_ca(iot, second)[1] for second in range(3)]
    listed = [c["certificateId"] for c in iot.list_ca_certificates()["certificates"]]
    assert listed == created[::-1]
    ascending = iot.list_ca_certificates(ascendingOrder=True)["certificates"]
    assert [c["certificateId"] for c in ascending] == created


def test_list_certificates_by_ca_defaults_to_newest_first(iot: Any) -> None:
    ca, ca_id = _registered_ca(iot, 0)
    created = []
    for second in range(1, 4):
        with _at(second):
            pem = to_pem(ca.issue(new_ec_key().public_key()))
            created.append(iot.register_certificate(certificatePem=pem)["certificateId"])
    listed = iot.list_certificates_by_ca(caCertificateId=ca_id)["certificates"]
    assert [c["certificateId"] for c in listed] == created[::-1]
    ascending = iot.list_certificates_by_ca(caCertificateId=ca_id, ascendingOrder=True)
    assert [c["certificateId"] for c in ascending["certificates"]] == created


def test_list_outgoing_certificates_defaults_to_newest_first(iot: Any) -> None:
    created = []
    for second in range(3):
        with _at(second):
            certificate_id = iot.create_keys_and_certificate()["certificateId"]
            iot.transfer_certificate(certificateId=certificate_id, targetAwsAccount="030714055129")
        created.append(certificate_id)
    listed = iot.list_outgoing_certificates()["outgoingCertificates"]
    assert [c["certificateId"] for c in listed] == created[::-1]
    ascending = iot.list_outgoing_certificates(ascendingOrder=True)["outgoingCertificates"]
    assert [c["certificateId"] for c in ascending] == created


def test_list_certificate_providers_order_cannot_show(iot: Any) -> None:
    # model: "Returns the list of certificate providers in ascending alphabetical order";
    # an account has at most one provider (docs/identity-certificates.md), so the order
    # never shows: the one provider is listed either way.
    iot.create_certificate_provider(
        certificateProviderName="provider",
        lambdaFunctionArn="arn:aws:lambda:us-east-1:123456789012:function:provider",
        accountDefaultForOperations=["CreateCertificateFromCsr"],
    )
    for params in ({}, {"ascendingOrder": True}, {"ascendingOrder": False}):
        listed = iot.list_certificate_providers(**params)["certificateProviders"]
        assert [p["certificateProviderName"] for p in listed] == ["provider"]


def test_list_streams_defaults_to_newest_first(iot: Any) -> None:
    # model: "Set to true to return the list of streams in ascending order"
    # (docs/device-management.md: newest first, like the other ascendingOrder lists)
    files = [{"fileId": 1, "s3Location": {"bucket": "b", "key": "k"}}]
    for second, stream in enumerate(("stream-b", "stream-c", "stream-a")):
        with _at(second):
            iot.create_stream(streamId=stream, files=files, roleArn=ROLE)
    listed = [s["streamId"] for s in iot.list_streams()["streams"]]
    assert listed == ["stream-a", "stream-c", "stream-b"]
    ascending = [s["streamId"] for s in iot.list_streams(ascendingOrder=True)["streams"]]
    assert ascending == ["stream-b", "stream-c", "stream-a"]


def test_list_audit_suppressions_defaults_to_ascending_expiration(iot: Any) -> None:
    # model: "If parameter isn't provided, ascendingOrder=true"; indefinite ones last
    # (docs/audit.md)
    check = "DEVICE_CERTIFICATE_EXPIRING_CHECK"
    iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={check: {"enabled": True}}
    )
    ids = [iot.create_keys_and_certificate()["certificateId"] for _ in range(3)]
    now = dt.datetime.now(dt.timezone.utc)
    for certificate_id, days in zip(ids, (20, None, 10), strict=True):
        extra: dict[str, Any] = (
            {"suppressIndefinitely": True}
            if days is None
            else {"expirationDate": now + dt.timedelta(days=days)}
        )
        iot.create_audit_suppression(
            checkName=check,
            resourceIdentifier={"deviceCertificateId": certificate_id},
            clientRequestToken=certificate_id[:60],
            **extra,
        )

    def order(**params: Any) -> list[str]:
        listed = iot.list_audit_suppressions(**params)["suppressions"]
        return [s["resourceIdentifier"]["deviceCertificateId"] for s in listed]

    assert order() == [ids[2], ids[0], ids[1]]
    assert order(ascendingOrder=False) == [ids[1], ids[0], ids[2]]
