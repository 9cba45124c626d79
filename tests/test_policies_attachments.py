"""Policy attachments through boto3: AttachPolicy and its deprecated Principal* aliases,
the lists of targets and policies, GetEffectivePolicies and the cleanup when a target is
deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from identity_state import insert_dynamic_thing_group, new_certificate

from iotmock import IotMock
from iotmock.identity.records import identity_of

COGNITO = "us-east-1:7b1a6e4c-0d2f-4e21-9b43-6c5b1f0a8e11"
DOC = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


def make_policies(iot: Any, *names: str) -> None:
    for name in names:
        iot.create_policy(policyName=name, policyDocument=DOC)


def make_group(iot: Any, name: str, parent: str | None = None) -> str:
    """CreateThingGroup; returns the group's ARN."""
    extra = {"parentGroupName": parent} if parent else {}
    return str(iot.create_thing_group(thingGroupName=name, **extra)["thingGroupArn"])


def attached(iot: Any, target: str, **kwargs: Any) -> list[str]:
    return [
        p["policyName"] for p in iot.list_attached_policies(target=target, **kwargs)["policies"]
    ]


# --------------------------------------------------------------------------- attach


def test_attach_to_certificate(iot: Any, iot_mock: IotMock) -> None:
    make_policies(iot, "p1", "p2")
    cert = new_certificate(iot)
    response = iot.attach_policy(policyName="p1", target=cert)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    iot.attach_policy(policyName="p2", target=cert)
    assert attached(iot, cert) == ["p1", "p2"]
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [cert]
    backend = iot_mock.backend()
    assert identity_of(backend).target_policies[cert] == {"p1": None, "p2": None}
    assert identity_of(backend).policy_targets["p1"] == {cert: None}


def test_attach_twice_is_a_no_op(iot: Any) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    iot.attach_policy(policyName="p1", target=cert)
    iot.attach_policy(policyName="p1", target=cert)
    assert attached(iot, cert) == ["p1"]
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [cert]


def test_attach_to_static_thing_group(iot: Any) -> None:
    make_policies(iot, "p1")
    group = make_group(iot, "fleet")
    iot.attach_policy(policyName="p1", target=group)
    assert attached(iot, group) == ["p1"]


def test_dynamic_thing_group_cannot_carry_policies(iot: Any, iot_mock: IotMock) -> None:
    make_policies(iot, "p1")
    group = insert_dynamic_thing_group(iot, iot_mock, "dyn", "attributes.kind:sensor")
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName="p1", target=group)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "dynamic thing group dyn" in message


def test_attach_to_cognito_identity(iot: Any) -> None:
    make_policies(iot, "p1")
    iot.attach_policy(policyName="p1", target=COGNITO)
    assert attached(iot, COGNITO) == ["p1"]
    assert iot.list_policy_principals(policyName="p1")["principals"] == [COGNITO]


def test_unknown_policy_or_target_is_404(iot: Any) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    missing_cert = "arn:aws:iot:us-east-1:123456789012:cert/" + "0" * 64
    missing_group = "arn:aws:iot:us-east-1:123456789012:thinggroup/none"
    other_account = cert.replace("123456789012", "210987654321")
    cases = [("nope", cert), ("p1", missing_cert), ("p1", missing_group), ("p1", other_account)]
    for policy, target in cases:
        with pytest.raises(ClientError) as exc:
            iot.attach_policy(policyName=policy, target=target)
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404), (policy, target)


def test_invalid_target_is_refused(iot: Any) -> None:
    make_policies(iot, "p1")
    for target in ["not-a-target", "arn:aws:iot:us-east-1:123456789012:thing/t1"]:
        with pytest.raises(ClientError) as exc:
            iot.attach_policy(policyName="p1", target=target)
        code, status, message = error_of(exc)
        assert (code, status) == ("InvalidRequestException", 400)
        assert "is not a valid policy target" in message


def test_at_most_ten_policies_per_target(iot: Any) -> None:
    names = [f"p{index:02d}" for index in range(11)]
    make_policies(iot, *names)
    cert = new_certificate(iot)
    for name in names[:10]:
        iot.attach_policy(policyName=name, target=cert)
    iot.attach_policy(policyName=names[0], target=cert)  # re-attaching is not an addition
    with pytest.raises(ClientError) as exc:
        iot.attach_policy(policyName=names[10], target=cert)
    assert error_of(exc)[:2] == ("LimitExceededException", 410)


# --------------------------------------------------------------------------- detach


def test_detach_policy(iot: Any, iot_mock: IotMock) -> None:
    make_policies(iot, "p1", "p2")
    cert = new_certificate(iot)
    iot.attach_policy(policyName="p1", target=cert)
    iot.attach_policy(policyName="p2", target=cert)
    iot.detach_policy(policyName="p1", target=cert)
    assert attached(iot, cert) == ["p2"]
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []
    assert "p1" not in identity_of(iot_mock.backend()).policy_targets


def test_detach_not_attached_is_silent(iot: Any) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    iot.detach_policy(policyName="p1", target=cert)
    iot.detach_policy(policyName="unknown", target=cert)
    iot.detach_policy(policyName="p1", target=COGNITO)
    with pytest.raises(ClientError) as exc:
        iot.detach_policy(policyName="p1", target="garbage")
    assert error_of(exc)[0] == "InvalidRequestException"


def test_principal_variants_are_aliases(iot: Any) -> None:
    make_policies(iot, "p1", "p2")
    cert = new_certificate(iot)
    iot.attach_principal_policy(policyName="p1", principal=cert)
    iot.attach_principal_policy(policyName="p2", principal=cert)
    listed = iot.list_principal_policies(principal=cert, ascendingOrder=True)["policies"]
    assert [p["policyName"] for p in listed] == ["p1", "p2"]
    assert listed[0]["policyArn"].endswith(":policy/p1")
    assert iot.list_policy_principals(policyName="p1")["principals"] == [cert]
    assert attached(iot, cert) == ["p1", "p2"]
    iot.detach_principal_policy(policyName="p1", principal=cert)
    assert attached(iot, cert) == ["p2"]


def test_detach_principal_policy_unknown_policy_or_principal(iot: Any) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    with pytest.raises(ClientError) as exc:
        iot.detach_principal_policy(policyName="nope", principal=cert)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.detach_principal_policy(
            policyName="p1", principal="arn:aws:iot:us-east-1:123456789012:cert/" + "1" * 64
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- lists


def test_list_targets_for_policy_pages(iot: Any) -> None:
    make_policies(iot, "p1")
    certs = sorted(new_certificate(iot) for _ in range(5))
    for cert in certs:
        iot.attach_policy(policyName="p1", target=cert)
    first = iot.list_targets_for_policy(policyName="p1", pageSize=2)
    second = iot.list_targets_for_policy(policyName="p1", pageSize=2, marker=first["nextMarker"])
    third = iot.list_targets_for_policy(policyName="p1", pageSize=2, marker=second["nextMarker"])
    assert first["targets"] + second["targets"] + third["targets"] == certs
    assert "nextMarker" not in third
    with pytest.raises(ClientError) as exc:
        iot.list_targets_for_policy(policyName="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_policy_principals_excludes_thing_groups(iot: Any) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    group = make_group(iot, "fleet")
    for target in (cert, group, COGNITO):
        iot.attach_policy(policyName="p1", target=target)
    assert sorted(iot.list_policy_principals(policyName="p1")["principals"]) == sorted(
        [cert, COGNITO]
    )
    assert sorted(iot.list_targets_for_policy(policyName="p1")["targets"]) == sorted(
        [cert, group, COGNITO]
    )
    with pytest.raises(ClientError) as exc:
        iot.list_policy_principals(policyName="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_principal_policies_order_and_paging(iot: Any) -> None:
    make_policies(iot, "a", "b", "c")
    cert = new_certificate(iot)
    for name in ("b", "c", "a"):
        iot.attach_policy(policyName=name, target=cert)
    page = iot.list_principal_policies(principal=cert, pageSize=2, ascendingOrder=True)
    assert [p["policyName"] for p in page["policies"]] == ["a", "b"]
    rest = iot.list_principal_policies(
        principal=cert, marker=page["nextMarker"], ascendingOrder=True
    )
    assert [p["policyName"] for p in rest["policies"]] == ["c"]
    descending = iot.list_principal_policies(principal=cert, ascendingOrder=False)
    assert [p["policyName"] for p in descending["policies"]] == ["c", "b", "a"]
    # ascendingOrder defaults to false (model: "if true, ascending order").
    default = iot.list_principal_policies(principal=cert)
    assert [p["policyName"] for p in default["policies"]] == ["c", "b", "a"]


def test_list_attached_policies_unknown_target(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.list_attached_policies(target="arn:aws:iot:us-east-1:123456789012:thinggroup/x")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.list_principal_policies(principal="arn:aws:iot:us-east-1:123456789012:cert/abc")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_attached_policies_recursive_includes_ancestors(iot: Any) -> None:
    make_policies(iot, "root-p", "mid-p", "leaf-p")
    root = make_group(iot, "root")
    mid = make_group(iot, "mid", parent="root")
    leaf = make_group(iot, "leaf", parent="mid")
    iot.attach_policy(policyName="root-p", target=root)
    iot.attach_policy(policyName="mid-p", target=mid)
    iot.attach_policy(policyName="leaf-p", target=leaf)
    assert attached(iot, leaf) == ["leaf-p"]
    assert attached(iot, leaf, recursive=True) == ["leaf-p", "mid-p", "root-p"]


# --------------------------------------------------------------------------- effective


def test_effective_policies_of_principal_and_thing_groups(iot: Any) -> None:
    make_policies(iot, "cert-p", "root-p", "child-p", "other-p")
    cert = new_certificate(iot)
    root = make_group(iot, "root")
    child = make_group(iot, "child", parent="root")
    other = make_group(iot, "other")
    iot.create_thing(thingName="t1")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="t1")
    iot.attach_policy(policyName="cert-p", target=cert)
    iot.attach_policy(policyName="root-p", target=root)
    iot.attach_policy(policyName="child-p", target=child)
    iot.attach_policy(policyName="other-p", target=other)

    only_principal = iot.get_effective_policies(principal=cert)["effectivePolicies"]
    assert [p["policyName"] for p in only_principal] == ["cert-p"]
    assert only_principal[0]["policyDocument"] == DOC
    assert only_principal[0]["policyArn"].endswith(":policy/cert-p")

    both = iot.get_effective_policies(principal=cert, thingName="t1")["effectivePolicies"]
    assert [p["policyName"] for p in both] == ["cert-p", "child-p", "root-p"]

    thing_only = iot.get_effective_policies(thingName="t1")["effectivePolicies"]
    assert [p["policyName"] for p in thing_only] == ["child-p", "root-p"]


def test_effective_policies_use_the_default_version(iot: Any) -> None:
    make_policies(iot, "p")
    cert = new_certificate(iot)
    iot.attach_policy(policyName="p", target=cert)
    new = DOC.replace("iot:Connect", "iot:Publish")
    iot.create_policy_version(policyName="p", policyDocument=new, setAsDefault=True)
    effective = iot.get_effective_policies(principal=cert)["effectivePolicies"]
    assert effective[0]["policyDocument"] == new


def test_effective_policies_errors(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.get_effective_policies(thingName="ghost")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.get_effective_policies(principal="arn:aws:iot:us-east-1:123456789012:cert/ab")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        iot.get_effective_policies()
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


# --------------------------------------------------------------------------- cleanup


def test_deleting_a_certificate_drops_its_attachments(iot: Any, iot_mock: IotMock) -> None:
    make_policies(iot, "p1")
    cert = new_certificate(iot)
    keep = new_certificate(iot)
    iot.attach_policy(policyName="p1", target=cert)
    iot.attach_policy(policyName="p1", target=keep)
    certificate_id = cert.rsplit("/", 1)[1]
    iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    with pytest.raises(ClientError) as exc:
        iot.delete_certificate(certificateId=certificate_id)
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        f"Certificate policies must be detached before deletion (arn: {cert})",
    )
    iot.delete_certificate(certificateId=certificate_id, forceDelete=True)
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == [keep]
    assert cert not in identity_of(iot_mock.backend()).target_policies
    with pytest.raises(ClientError) as exc:
        iot.list_attached_policies(target=cert)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    iot.detach_policy(policyName="p1", target=keep)
    iot.delete_policy(policyName="p1")


def test_deleting_a_thing_group_drops_its_attachments(iot: Any) -> None:
    make_policies(iot, "p1")
    group = make_group(iot, "fleet")
    iot.attach_policy(policyName="p1", target=group)
    iot.delete_thing_group(thingGroupName="fleet")
    assert iot.list_targets_for_policy(policyName="p1")["targets"] == []
    with pytest.raises(ClientError) as exc:
        iot.list_attached_policies(target=group)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    iot.delete_policy(policyName="p1")
