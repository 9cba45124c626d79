"""Policies and policy versions through boto3: create, read, list, versions, delete."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from error_checks import error_of
from identity_state import new_certificate

from iotmock import IotMock
from iotmock.core.tagging import check_taggable

ACCOUNT = "123456789012"
REGION = "us-east-1"


def document(*actions: str, resource: str = "*", effect: str = "Allow") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": list(actions), "Resource": resource}],
        }
    )


DOC = document("iot:Connect")


# --------------------------------------------------------------------------- create / get


def test_create_policy_returns_version_1(iot: Any) -> None:
    created = iot.create_policy(policyName="p1", policyDocument=DOC)
    assert created["policyName"] == "p1"
    assert created["policyArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/p1"
    assert created["policyDocument"] == DOC
    assert created["policyVersionId"] == "1"


def test_get_policy_returns_default_version_and_dates(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOC)
    got = iot.get_policy(policyName="p1")
    assert got["policyName"] == "p1"
    assert got["defaultVersionId"] == "1"
    assert got["policyDocument"] == DOC
    assert got["creationDate"] <= got["lastModifiedDate"]
    assert len(got["generationId"]) == 64


def test_duplicate_policy_name_is_refused(iot: Any) -> None:
    iot.create_policy(policyName="p1", policyDocument=DOC)
    with pytest.raises(ClientError) as exc:
        iot.create_policy(policyName="p1", policyDocument=DOC)
    assert error_of(exc) == (
        "ResourceAlreadyExistsException",
        409,
        "Policy cannot be created - name already exists (name=p1)",
    )
    assert exc.value.response["resourceId"] == "p1"
    assert exc.value.response["resourceArn"].endswith(":policy/p1")


def test_unknown_policy_is_404(iot: Any) -> None:
    for call in (
        lambda: iot.get_policy(policyName="nope"),
        lambda: iot.delete_policy(policyName="nope"),
        lambda: iot.list_policy_versions(policyName="nope"),
        lambda: iot.create_policy_version(policyName="nope", policyDocument=DOC),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_create_policy_with_tags(iot: Any, iot_mock: IotMock) -> None:
    arn = iot.create_policy(
        policyName="p1", policyDocument=DOC, tags=[{"Key": "team", "Value": "x"}]
    )["policyArn"]
    assert iot_mock.backend().tags[arn] == {"team": "x"}
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "team", "Value": "x"}]
    check_taggable(iot_mock.backend(), arn)


def test_tags_are_dropped_with_the_policy(iot: Any, iot_mock: IotMock) -> None:
    arn = iot.create_policy(
        policyName="p1", policyDocument=DOC, tags=[{"Key": "team", "Value": "x"}]
    )["policyArn"]
    iot.delete_policy(policyName="p1")
    assert arn not in iot_mock.backend().tags
    # A new policy of the same name (same ARN) does not inherit the old tags.
    iot.create_policy(policyName="p1", policyDocument=DOC)
    assert iot.list_tags_for_resource(resourceArn=arn)["tags"] == []


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("doc", "detail"),
    [
        ("not json", "Invalid policy syntax."),
        ("[1, 2]", "must be a JSON object"),
        ('{"Statement": []}', "Version element is missing"),
        ('{"Version": "2012-10-17"}', "Statement element is missing"),
        ('{"Version": "2012-10-17", "Statement": []}', "Statement element is missing"),
        (
            '{"Version": "2012-10-17", "Statement": {"Action": "iot:*", "Resource": "*"}}',
            "needs Effect Allow or Deny",
        ),
        (
            '{"Version": "2012-10-17", "Statement": '
            '{"Effect": "Permit", "Action": "iot:*", "Resource": "*"}}',
            "needs Effect Allow or Deny",
        ),
        (
            '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Resource": "*"}}',
            "exactly one of Action or NotAction",
        ),
        (
            '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*"}}',
            "exactly one of Resource or NotResource",
        ),
        (
            '{"Version": "2012-10-17", "Statement": '
            '{"Effect": "Allow", "Action": [], "Resource": "*"}}',
            "non-empty string or list",
        ),
        (
            '{"Version": "2012-10-17", "Statement": '
            '{"Effect": "Allow", "Action": "iot:*", "Resource": "topic/x"}}',
            "The following resources are invalid : topic/x",
        ),
        ('{"Version": "1999-01-01", "Statement": {}}', "Unsupported Version"),
        (
            '{"Version": "2012-10-17", "Statement": '
            '{"Effect": "Allow", "Action": "iot:*", "Resource": "*", "Principal": "*"}}',
            "unknown element(s): Principal",
        ),
        (
            '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*", '
            '"Resource": "*", "Condition": {"Bogus": {"iot:ClientId": "x"}}}}',
            "invalid Condition operator",
        ),
    ],
)
def test_malformed_documents(iot: Any, doc: str, detail: str) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_policy(policyName="bad", policyDocument=doc)
    code, status, message = error_of(exc)
    assert (code, status) == ("MalformedPolicyException", 400)
    assert message.startswith("Policy document is Malformed")
    assert detail in message
    assert iot.list_policies()["policies"] == []


def test_statement_may_be_an_object_and_values_strings(iot: Any) -> None:
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Deny", "NotAction": "iot:Publish", "NotResource": "*"},
        }
    )
    assert iot.create_policy(policyName="p", policyDocument=doc)["policyVersionId"] == "1"


def test_document_size_limit_excludes_whitespace(iot: Any) -> None:
    def sized(length: int, padding: str) -> str:
        base = document("iot:Connect", resource="arn:aws:iot:us-east-1:1:client/")
        base = base.replace(" ", "")
        filler = "x" * (length - len(base))
        return base.replace("client/", f"client/{filler}").replace(",", "," + padding)

    exactly = sized(2048, " " * 50)
    assert len(exactly) > 2048
    iot.create_policy(policyName="fits", policyDocument=exactly)
    with pytest.raises(ClientError) as exc:
        iot.create_policy(policyName="too-big", policyDocument=sized(2049, ""))
    code, _, message = error_of(exc)
    assert code == "MalformedPolicyException"
    assert "2049 characters excluding whitespace" in message


def test_malformed_new_version_is_refused(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    with pytest.raises(ClientError) as exc:
        iot.create_policy_version(policyName="p", policyDocument="{")
    assert error_of(exc)[0] == "MalformedPolicyException"
    assert [v["versionId"] for v in iot.list_policy_versions(policyName="p")["policyVersions"]] == [
        "1"
    ]


# --------------------------------------------------------------------------- versions


def test_versions_without_set_as_default_keep_the_default(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    doc2 = document("iot:Publish")
    created = iot.create_policy_version(policyName="p", policyDocument=doc2)
    assert created["policyVersionId"] == "2"
    assert created["isDefaultVersion"] is False
    assert created["policyDocument"] == doc2
    assert created["policyArn"].endswith(":policy/p")
    got = iot.get_policy(policyName="p")
    assert (got["defaultVersionId"], got["policyDocument"]) == ("1", DOC)


def test_set_as_default_switches_the_operative_version(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    doc2 = document("iot:Publish")
    created = iot.create_policy_version(policyName="p", policyDocument=doc2, setAsDefault=True)
    assert created["isDefaultVersion"] is True
    got = iot.get_policy(policyName="p")
    assert (got["defaultVersionId"], got["policyDocument"]) == ("2", doc2)
    versions = iot.list_policy_versions(policyName="p")["policyVersions"]
    assert [(v["versionId"], v["isDefaultVersion"]) for v in versions] == [
        ("2", True),
        ("1", False),
    ]
    assert all("createDate" in v for v in versions)


def test_get_policy_version(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    iot.create_policy_version(policyName="p", policyDocument=document("iot:Publish"))
    got = iot.get_policy_version(policyName="p", policyVersionId="1")
    assert got["policyName"] == "p"
    assert got["policyVersionId"] == "1"
    assert got["isDefaultVersion"] is True
    assert got["policyDocument"] == DOC
    assert "creationDate" in got and "lastModifiedDate" in got and got["generationId"]
    with pytest.raises(ClientError) as exc:
        iot.get_policy_version(policyName="p", policyVersionId="9")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_at_most_five_versions(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    for _ in range(4):
        iot.create_policy_version(policyName="p", policyDocument=DOC)
    with pytest.raises(ClientError) as exc:
        iot.create_policy_version(policyName="p", policyDocument=DOC)
    assert error_of(exc) == (
        "VersionsLimitExceededException",
        409,
        "The policy p already has the maximum number of versions (5)",
    )


def test_version_ids_are_never_reused(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    iot.create_policy_version(policyName="p", policyDocument=DOC)  # 2
    iot.create_policy_version(policyName="p", policyDocument=DOC)  # 3
    iot.delete_policy_version(policyName="p", policyVersionId="3")
    iot.delete_policy_version(policyName="p", policyVersionId="2")
    created = iot.create_policy_version(policyName="p", policyDocument=DOC)
    assert created["policyVersionId"] == "4"
    versions = iot.list_policy_versions(policyName="p")["policyVersions"]
    assert [v["versionId"] for v in versions] == ["4", "1"]


def test_deleting_a_version_frees_a_slot(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    for _ in range(4):
        iot.create_policy_version(policyName="p", policyDocument=DOC)
    iot.delete_policy_version(policyName="p", policyVersionId="2")
    assert iot.create_policy_version(policyName="p", policyDocument=DOC)["policyVersionId"] == "6"


def test_set_default_policy_version(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    doc2 = document("iot:Publish")
    iot.create_policy_version(policyName="p", policyDocument=doc2)
    before = iot.get_policy(policyName="p")["generationId"]
    response = iot.set_default_policy_version(policyName="p", policyVersionId="2")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    got = iot.get_policy(policyName="p")
    assert (got["defaultVersionId"], got["policyDocument"]) == ("2", doc2)
    assert got["generationId"] != before
    assert iot.get_policy_version(policyName="p", policyVersionId="1")["isDefaultVersion"] is False
    with pytest.raises(ClientError) as exc:
        iot.set_default_policy_version(policyName="p", policyVersionId="7")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_default_version_cannot_be_deleted(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    with pytest.raises(ClientError) as exc:
        iot.delete_policy_version(policyName="p", policyVersionId="1")
    code, status, message = error_of(exc)
    assert (code, status) == ("DeleteConflictException", 409)
    assert "default version 1 of policy p" in message
    with pytest.raises(ClientError) as exc:
        iot.delete_policy_version(policyName="p", policyVersionId="5")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


# --------------------------------------------------------------------------- delete / list


def test_delete_policy_with_versions_is_refused(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    iot.create_policy_version(policyName="p", policyDocument=DOC)
    with pytest.raises(ClientError) as exc:
        iot.delete_policy(policyName="p")
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        "The policy cannot be deleted as versions other than than default version exist",
    )
    iot.delete_policy_version(policyName="p", policyVersionId="2")
    iot.delete_policy(policyName="p")
    assert iot.list_policies()["policies"] == []


def test_delete_attached_policy_is_refused(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    cert = new_certificate(iot)
    iot.attach_policy(policyName="p", target=cert)
    with pytest.raises(ClientError) as exc:
        iot.delete_policy(policyName="p")
    assert error_of(exc) == (
        "DeleteConflictException",
        409,
        "The policy cannot be deleted as the policy is attached to one or more principals (name=p)",
    )
    iot.detach_policy(policyName="p", target=cert)
    iot.delete_policy(policyName="p")
    with pytest.raises(ClientError) as exc:
        iot.get_policy(policyName="p")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_deleted_name_can_be_reused(iot: Any) -> None:
    iot.create_policy(policyName="p", policyDocument=DOC)
    iot.delete_policy(policyName="p")
    assert iot.create_policy(policyName="p", policyDocument=DOC)["policyVersionId"] == "1"


def test_list_policies_pages_in_name_order(iot: Any) -> None:
    for name in ["c", "a", "e", "b", "d"]:
        iot.create_policy(policyName=name, policyDocument=DOC)
    first = iot.list_policies(pageSize=2, ascendingOrder=True)
    assert [p["policyName"] for p in first["policies"]] == ["a", "b"]
    assert first["policies"][0]["policyArn"].endswith(":policy/a")
    second = iot.list_policies(pageSize=2, marker=first["nextMarker"], ascendingOrder=True)
    assert [p["policyName"] for p in second["policies"]] == ["c", "d"]
    third = iot.list_policies(pageSize=2, marker=second["nextMarker"], ascendingOrder=True)
    assert [p["policyName"] for p in third["policies"]] == ["e"]
    assert "nextMarker" not in third


def test_list_policies_descending(iot: Any) -> None:
    for name in ["a", "b", "c"]:
        iot.create_policy(policyName=name, policyDocument=DOC)
    first = iot.list_policies(ascendingOrder=False, pageSize=2)
    assert [p["policyName"] for p in first["policies"]] == ["c", "b"]
    second = iot.list_policies(ascendingOrder=False, pageSize=2, marker=first["nextMarker"])
    assert [p["policyName"] for p in second["policies"]] == ["a"]


def test_list_policies_paginator(iot: Any) -> None:
    for index in range(7):
        iot.create_policy(policyName=f"p{index}", policyDocument=DOC)
    names = [
        p["policyName"]
        for page in iot.get_paginator("list_policies").paginate(PaginationConfig={"PageSize": 3})
        for p in page["policies"]
    ]
    # Without ascendingOrder, descending name order (AWS CLI example list-policies).
    assert names == [f"p{index}" for index in reversed(range(7))]


def test_foreign_marker_is_refused(iot: Any) -> None:
    for name in ["a", "b"]:
        iot.create_policy(policyName=name, policyDocument=DOC)
        iot.create_role_alias(roleAlias=name, roleArn="arn:aws:iam::123456789012:role/r")
    marker = iot.list_role_aliases(pageSize=1)["nextMarker"]
    with pytest.raises(ClientError) as exc:
        iot.list_policies(marker=marker)
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)


def test_policy_name_constraint(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_policy(policyName="bad name", policyDocument=DOC)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "policyName" in message
