"""Default order of the lists that take `ascendingOrder` (issue 10), as each operation's
model documentation and AWS's example outputs (awscli/examples/iot) show it."""

from __future__ import annotations

from typing import Any

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
