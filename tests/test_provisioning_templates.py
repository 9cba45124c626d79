"""Provisioning templates, their versions, and provisioning claims."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from error_checks import error_of
from freezegun import freeze_time
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging

ROLE = "arn:aws:iam::123456789012:role/provisioning"
HOOK = {"targetArn": "arn:aws:lambda:us-east-1:123456789012:function:hook"}


def body(thing_name: str = "device") -> str:
    return json.dumps(
        {
            "Parameters": {"SerialNumber": {"Type": "String"}},
            "Resources": {
                "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": thing_name}}
            },
        }
    )


def create(iot: Any, name: str = "fleet", **extra: Any) -> dict[str, Any]:
    extra.setdefault("templateBody", body())
    return dict(
        iot.create_provisioning_template(templateName=name, provisioningRoleArn=ROLE, **extra)
    )


# --------------------------------------------------------------------------- templates


def test_create_and_describe(iot: Any) -> None:
    with freeze_time("2026-08-01"):
        created = create(iot, description="fleet devices", enabled=True, preProvisioningHook=HOOK)

    assert created["templateArn"] == (
        "arn:aws:iot:us-east-1:123456789012:provisioningtemplate/fleet"
    )
    assert created["defaultVersionId"] == 1
    described = iot.describe_provisioning_template(templateName="fleet")
    assert described["templateBody"] == body()
    assert described["description"] == "fleet devices"
    assert described["enabled"] is True
    assert described["provisioningRoleArn"] == ROLE
    assert described["preProvisioningHook"] == HOOK
    assert described["type"] == "FLEET_PROVISIONING"
    assert described["defaultVersionId"] == 1
    assert described["creationDate"].timestamp() == 1785542400.0


def test_templates_are_disabled_by_default(iot: Any) -> None:
    create(iot)

    assert iot.describe_provisioning_template(templateName="fleet")["enabled"] is False


def test_duplicate_name_already_exists(iot: Any) -> None:
    arn = create(iot)["templateArn"]

    with pytest.raises(ClientError) as exc:
        create(iot)

    assert error_of(exc)[:2] == ("ResourceAlreadyExistsException", 409)
    assert exc.value.response["resourceArn"] == arn


@pytest.mark.parametrize(
    ("template_body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "Resources section is missing"),
        ('{"Resources": {"x": {"Type": "AWS::S3::Bucket"}}}', "unsupported Type"),
        ('{"Resources": {}, "Outputs": {}}', "unknown section"),
        ('{"Parameters": {"p": {"Type": "Blob"}}, "Resources": {}}', "parameter p"),
        (
            '{"Resources": {"a": {"Type": "AWS::IoT::Thing"}, "b": {"Type": "AWS::IoT::Thing"}}}',
            "at most one AWS::IoT::Thing",
        ),
        ('{"Resources": {"a": {"Type": "AWS::IoT::Thing", "Condition": "c"}}}', "condition"),
    ],
)
def test_a_bad_body_is_an_invalid_request(iot: Any, template_body: str, fragment: str) -> None:
    with pytest.raises(ClientError) as exc:
        create(iot, templateBody=template_body)

    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert message.startswith("The provisioning template is invalid")
    assert fragment in message


def test_jitp_templates_take_no_pre_provisioning_hook(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        create(iot, type="JITP", preProvisioningHook=HOOK)
    assert error_of(exc)[0] == "InvalidRequestException"

    create(iot, type="JITP")
    assert iot.describe_provisioning_template(templateName="fleet")["type"] == "JITP"


def test_update_template(iot: Any) -> None:
    create(iot, preProvisioningHook=HOOK)

    iot.update_provisioning_template(
        templateName="fleet",
        description="new",
        enabled=True,
        provisioningRoleArn=ROLE + "-2",
        removePreProvisioningHook=True,
    )

    described = iot.describe_provisioning_template(templateName="fleet")
    assert described["description"] == "new"
    assert described["enabled"] is True
    assert described["provisioningRoleArn"] == ROLE + "-2"
    assert "preProvisioningHook" not in described


def test_update_refuses_hook_and_remove_together(iot: Any) -> None:
    create(iot)

    with pytest.raises(ClientError) as exc:
        iot.update_provisioning_template(
            templateName="fleet", preProvisioningHook=HOOK, removePreProvisioningHook=True
        )

    assert error_of(exc)[0] == "InvalidRequestException"


def test_unknown_template_is_not_found(iot: Any) -> None:
    for call in (
        lambda: iot.describe_provisioning_template(templateName="nope"),
        lambda: iot.update_provisioning_template(templateName="nope", enabled=True),
        lambda: iot.delete_provisioning_template(templateName="nope"),
        lambda: iot.create_provisioning_template_version(templateName="nope", templateBody=body()),
        lambda: iot.list_provisioning_template_versions(templateName="nope"),
        lambda: iot.create_provisioning_claim(templateName="nope"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_template_drops_it_and_its_tags(iot: Any, iot_mock: IotMock) -> None:
    arn = create(iot, tags=[{"Key": "k", "Value": "v"}])["templateArn"]
    assert tagging.tags_of(iot_mock.backend(), arn) == {"k": "v"}
    assert listed_tags(iot, arn) == {"k": "v"}

    iot.delete_provisioning_template(templateName="fleet")

    assert tagging.tags_of(iot_mock.backend(), arn) == {}
    assert_untaggable(iot, arn)
    assert iot.list_provisioning_templates()["templates"] == []


def test_list_templates_pages_by_name(iot: Any) -> None:
    for name in ("c", "a", "b"):
        create(iot, name, enabled=name == "a")

    first = iot.list_provisioning_templates(maxResults=2)
    rest = iot.list_provisioning_templates(maxResults=2, nextToken=first["nextToken"])

    names = [t["templateName"] for t in first["templates"] + rest["templates"]]
    assert names == ["a", "b", "c"]
    assert first["templates"][0]["enabled"] is True
    assert first["templates"][0]["type"] == "FLEET_PROVISIONING"
    assert "nextToken" not in rest


# --------------------------------------------------------------------------- versions


def test_versions_and_the_default(iot: Any) -> None:
    create(iot)

    second = iot.create_provisioning_template_version(templateName="fleet", templateBody=body("b"))
    assert (second["versionId"], second["isDefaultVersion"]) == (2, False)
    third = iot.create_provisioning_template_version(
        templateName="fleet", templateBody=body("c"), setAsDefault=True
    )
    assert (third["versionId"], third["isDefaultVersion"]) == (3, True)

    described = iot.describe_provisioning_template(templateName="fleet")
    assert (described["defaultVersionId"], described["templateBody"]) == (3, body("c"))
    version = iot.describe_provisioning_template_version(templateName="fleet", versionId=2)
    assert (version["templateBody"], version["isDefaultVersion"]) == (body("b"), False)

    iot.update_provisioning_template(templateName="fleet", defaultVersionId=2)
    described = iot.describe_provisioning_template(templateName="fleet")
    assert (described["defaultVersionId"], described["templateBody"]) == (2, body("b"))


def test_at_most_five_versions(iot: Any) -> None:
    create(iot)
    for _ in range(4):
        iot.create_provisioning_template_version(templateName="fleet", templateBody=body())

    with pytest.raises(ClientError) as exc:
        iot.create_provisioning_template_version(templateName="fleet", templateBody=body())

    assert error_of(exc)[:2] == ("VersionsLimitExceededException", 409)


def test_version_ids_are_not_reused(iot: Any) -> None:
    create(iot)
    iot.create_provisioning_template_version(templateName="fleet", templateBody=body())
    iot.delete_provisioning_template_version(templateName="fleet", versionId=2)

    created = iot.create_provisioning_template_version(templateName="fleet", templateBody=body())

    assert created["versionId"] == 3


def test_the_default_version_cannot_be_deleted(iot: Any) -> None:
    create(iot)

    with pytest.raises(ClientError) as exc:
        iot.delete_provisioning_template_version(templateName="fleet", versionId=1)

    assert error_of(exc)[:2] == ("DeleteConflictException", 409)


def test_unknown_version_is_not_found(iot: Any) -> None:
    create(iot)
    for call in (
        lambda: iot.describe_provisioning_template_version(templateName="fleet", versionId=9),
        lambda: iot.delete_provisioning_template_version(templateName="fleet", versionId=9),
        lambda: iot.update_provisioning_template(templateName="fleet", defaultVersionId=9),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_a_bad_version_body_is_refused(iot: Any) -> None:
    create(iot)

    with pytest.raises(ClientError) as exc:
        iot.create_provisioning_template_version(templateName="fleet", templateBody="{")

    assert error_of(exc)[0] == "InvalidRequestException"
    versions = iot.list_provisioning_template_versions(templateName="fleet")["versions"]
    assert len(versions) == 1


def test_list_versions_pages_in_id_order(iot: Any) -> None:
    create(iot)
    for _ in range(3):
        iot.create_provisioning_template_version(templateName="fleet", templateBody=body())

    first = iot.list_provisioning_template_versions(templateName="fleet", maxResults=3)
    rest = iot.list_provisioning_template_versions(
        templateName="fleet", maxResults=3, nextToken=first["nextToken"]
    )

    versions = first["versions"] + rest["versions"]
    assert [v["versionId"] for v in versions] == [1, 2, 3, 4]
    assert [v["isDefaultVersion"] for v in versions] == [True, False, False, False]


# --------------------------------------------------------------------------- claims


def test_provisioning_claim_is_a_short_lived_certificate(iot: Any, iot_mock: IotMock) -> None:
    create(iot, enabled=True)
    with freeze_time("2026-09-01 12:00:00"):
        claim = iot.create_provisioning_claim(templateName="fleet")

    expected_expiry = dt.datetime(2026, 9, 1, 12, 5, tzinfo=dt.timezone.utc)
    assert claim["expiration"] == expected_expiry
    cert = x509.load_pem_x509_certificate(claim["certificatePem"].encode())
    assert cert.not_valid_after_utc == expected_expiry
    cert.verify_directly_issued_by(
        x509.load_pem_x509_certificate(iot_mock.certificates.ca_pem().encode())
    )
    key = serialization.load_pem_private_key(claim["keyPair"]["PrivateKey"].encode(), None)
    assert key.public_key() == cert.public_key()
    description = iot.describe_certificate(certificateId=claim["certificateId"])
    assert description["certificateDescription"]["status"] == "ACTIVE"


def test_claims_need_an_enabled_fleet_provisioning_template(iot: Any) -> None:
    create(iot, "disabled")
    create(iot, "jitp", type="JITP", enabled=True)

    for name in ("disabled", "jitp"):
        with pytest.raises(ClientError) as exc:
            iot.create_provisioning_claim(templateName=name)
        assert error_of(exc)[:2] == ("InvalidRequestException", 400)
