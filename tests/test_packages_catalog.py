"""Software package catalog: packages, versions and their lifecycle, default version,
package configuration, SBOM association and validation results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from botocore.exceptions import ClientError
from error_checks import error_of
from tag_checks import assert_untaggable, listed_tags

from iotmock import IotMock
from iotmock.core import tagging

PREFIX = "arn:aws:iot:us-east-1:123456789012:package/"
ROLE = "arn:aws:iam::123456789012:role/package-role"
TOKEN = "11111111-2222-3333-4444-555555555555"


def _version(iot: Any, version: str = "1.0", package: str = "app", **kwargs: Any) -> Any:
    return iot.create_package_version(packageName=package, versionName=version, **kwargs)


@pytest.fixture
def app(iot: Any) -> Any:
    iot.create_package(packageName="app", description="The app")
    return iot


# --------------------------------------------------------------------------- packages


def test_create_and_get_package(iot: Any) -> None:
    moment = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    with time_machine.travel(moment, tick=False):
        created = iot.create_package(packageName="app", description="The app")
    assert created["packageName"] == "app"
    assert created["packageArn"] == PREFIX + "app"
    assert created["description"] == "The app"
    got = iot.get_package(packageName="app")
    assert got["packageName"] == "app"
    assert got["packageArn"] == PREFIX + "app"
    assert got["description"] == "The app"
    assert got["creationDate"] == moment
    assert got["lastModifiedDate"] == moment
    assert "defaultVersionName" not in got


def test_duplicate_package_is_conflict(app: Any) -> None:
    with pytest.raises(ClientError) as exc:
        app.create_package(packageName="app")
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "app" in message
    assert exc.value.response["resourceId"] == "app"


def test_client_token_makes_create_idempotent(iot: Any) -> None:
    first = iot.create_package(packageName="app", clientToken=TOKEN)
    again = iot.create_package(packageName="app", clientToken=TOKEN)
    assert again["packageArn"] == first["packageArn"]
    with pytest.raises(ClientError) as exc:
        iot.create_package(packageName="app", description="other", clientToken=TOKEN)
    assert error_of(exc)[:2] == ("ConflictException", 409)


def test_missing_package_is_not_found(iot: Any) -> None:
    for call in (
        lambda: iot.get_package(packageName="nope"),
        lambda: iot.update_package(packageName="nope", description="x"),
        lambda: iot.get_package_version(packageName="nope", versionName="1"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        code, status, message = error_of(exc)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert "nope" in message


def test_update_package_description_and_default_version(app: Any) -> None:
    start = dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)
    _version(app, "1.0")
    with time_machine.travel(start, tick=False):
        app.update_package(packageName="app", description="new", defaultVersionName="1.0")
    got = app.get_package(packageName="app")
    assert got["description"] == "new"
    assert got["defaultVersionName"] == "1.0"
    assert got["lastModifiedDate"] == start
    summary = app.list_packages()["packageSummaries"][0]
    assert summary["defaultVersionName"] == "1.0"
    app.update_package(packageName="app", unsetDefaultVersion=True)
    assert "defaultVersionName" not in app.get_package(packageName="app")


def test_default_version_must_exist(app: Any) -> None:
    with pytest.raises(ClientError) as exc:
        app.update_package(packageName="app", defaultVersionName="9.9")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_default_version_and_unset_together_is_validation_error(app: Any) -> None:
    _version(app)
    with pytest.raises(ClientError) as exc:
        app.update_package(packageName="app", defaultVersionName="1.0", unsetDefaultVersion=True)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "unsetDefaultVersion" in message


def test_delete_package_needs_its_versions_deleted_first(app: Any) -> None:
    _version(app)
    with pytest.raises(ClientError) as exc:
        app.delete_package(packageName="app")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "versions must be deleted" in message
    app.delete_package_version(packageName="app", versionName="1.0")
    app.delete_package(packageName="app")
    assert app.list_packages()["packageSummaries"] == []


def test_deleting_missing_package_or_version_succeeds(iot: Any) -> None:
    assert iot.delete_package(packageName="ghost")["ResponseMetadata"]["HTTPStatusCode"] == 200
    iot.delete_package_version(packageName="ghost", versionName="1")


def test_list_packages_sorted_and_paged(iot: Any) -> None:
    for name in ("c", "a", "b"):
        iot.create_package(packageName=name)
    first = iot.list_packages(maxResults=2)
    assert [p["packageName"] for p in first["packageSummaries"]] == ["a", "b"]
    second = iot.list_packages(maxResults=2, nextToken=first["nextToken"])
    assert [p["packageName"] for p in second["packageSummaries"]] == ["c"]
    assert "nextToken" not in second
    with pytest.raises(ClientError) as exc:
        iot.list_packages(nextToken="garbage")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_model_constraints_are_validation_exception(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_package(packageName="bad name")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "failed to satisfy constraint" in message


def test_package_tags_are_a_map(iot: Any, iot_mock: IotMock) -> None:
    arn = iot.create_package(packageName="app", tags={"team": "fw", "tier": ""})["packageArn"]
    backend = iot_mock.backend()
    assert tagging.tags_of(backend, arn) == {"team": "fw", "tier": ""}
    assert listed_tags(iot, arn) == {"team": "fw", "tier": ""}
    iot.delete_package(packageName="app")
    assert tagging.tags_of(backend, arn) == {}
    assert_untaggable(iot, arn)


def test_reserved_tag_key_is_validation_exception(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.create_package(packageName="app", tags={"aws:owner": "x"})
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError):
        iot.get_package(packageName="app")


# --------------------------------------------------------------------------- versions


def test_create_version_starts_in_draft(app: Any) -> None:
    created = _version(
        app,
        "1.0",
        description="first",
        attributes={"arch": "arm64"},
        artifact={"s3Location": {"bucket": "b", "key": "app-1.0.zip", "version": "3"}},
        recipe='{"steps": []}',
    )
    assert created["packageVersionArn"] == PREFIX + "app/version/1.0"
    assert created["packageName"] == "app"
    assert created["versionName"] == "1.0"
    assert created["description"] == "first"
    assert created["attributes"] == {"arch": "arm64"}
    assert created["status"] == "DRAFT"
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert got["status"] == "DRAFT"
    assert got["artifact"] == {"s3Location": {"bucket": "b", "key": "app-1.0.zip", "version": "3"}}
    assert got["recipe"] == '{"steps": []}'
    assert got["attributes"] == {"arch": "arm64"}
    assert isinstance(got["creationDate"], dt.datetime)
    assert "sbom" not in got


def test_version_of_missing_package_is_validation_error(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _version(iot, package="nope")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "nope" in message


def test_duplicate_version_is_conflict(app: Any) -> None:
    _version(app)
    with pytest.raises(ClientError) as exc:
        _version(app)
    assert error_of(exc)[:2] == ("ConflictException", 409)


def test_attributes_over_3kb_are_rejected(app: Any) -> None:
    big = {f"k{i}": "v" * 500 for i in range(7)}
    with pytest.raises(ClientError) as exc:
        _version(app, attributes=big)
    code, _, message = error_of(exc)
    assert code == "ValidationException"
    assert "3KB" in message


def test_artifact_needs_bucket_and_key(app: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _version(app, artifact={"s3Location": {"bucket": "b"}})
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_lifecycle_draft_published_deprecated_and_back(app: Any) -> None:
    _version(app)

    def status() -> str:
        return app.get_package_version(packageName="app", versionName="1.0")["status"]  # type: ignore[no-any-return]

    app.update_package_version(packageName="app", versionName="1.0", action="PUBLISH")
    assert status() == "PUBLISHED"
    app.update_package_version(packageName="app", versionName="1.0", action="DEPRECATE")
    assert status() == "DEPRECATED"
    app.update_package_version(packageName="app", versionName="1.0", action="PUBLISH")
    assert status() == "PUBLISHED"


def test_deprecating_a_draft_is_conflict(app: Any) -> None:
    _version(app)
    with pytest.raises(ClientError) as exc:
        app.update_package_version(packageName="app", versionName="1.0", action="DEPRECATE")
    code, status, message = error_of(exc)
    assert (code, status) == ("ConflictException", 409)
    assert "DRAFT" in message
    assert app.get_package_version(packageName="app", versionName="1.0")["status"] == "DRAFT"


def test_attributes_and_artifact_only_change_in_draft(app: Any) -> None:
    _version(app, attributes={"a": "1"})
    app.update_package_version(
        packageName="app",
        versionName="1.0",
        attributes={"b": "2"},
        artifact={"s3Location": {"bucket": "b", "key": "k"}},
    )
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert got["attributes"] == {"b": "2"}
    assert got["artifact"] == {"s3Location": {"bucket": "b", "key": "k"}}
    app.update_package_version(packageName="app", versionName="1.0", action="PUBLISH")
    for change in (
        {"attributes": {"c": "3"}},
        {"artifact": {"s3Location": {"bucket": "x", "key": "y"}}},
    ):
        with pytest.raises(ClientError) as exc:
            app.update_package_version(packageName="app", versionName="1.0", **change)
        code, status, message = error_of(exc)
        assert (code, status) == ("ConflictException", 409)
        assert "DRAFT" in message
    # Description and recipe stay editable after publication.
    app.update_package_version(
        packageName="app", versionName="1.0", description="notes", recipe="{}"
    )
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert (got["description"], got["recipe"], got["attributes"]) == ("notes", "{}", {"b": "2"})


def test_update_missing_version_is_not_found(app: Any) -> None:
    with pytest.raises(ClientError) as exc:
        app.update_package_version(packageName="app", versionName="2.0", action="PUBLISH")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_default_version_cannot_be_deleted(app: Any) -> None:
    _version(app)
    app.update_package(packageName="app", defaultVersionName="1.0")
    with pytest.raises(ClientError) as exc:
        app.delete_package_version(packageName="app", versionName="1.0")
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "default version" in message
    app.update_package(packageName="app", unsetDefaultVersion=True)
    app.delete_package_version(packageName="app", versionName="1.0")
    assert app.list_package_versions(packageName="app")["packageVersionSummaries"] == []


def test_list_versions_filters_by_status_and_pages(app: Any) -> None:
    for name in ("1.0", "1.1", "2.0"):
        _version(app, name)
    app.update_package_version(packageName="app", versionName="1.1", action="PUBLISH")
    listed = app.list_package_versions(packageName="app")["packageVersionSummaries"]
    assert [(v["versionName"], v["status"]) for v in listed] == [
        ("1.0", "DRAFT"),
        ("1.1", "PUBLISHED"),
        ("2.0", "DRAFT"),
    ]
    assert listed[0]["packageName"] == "app"
    drafts = app.list_package_versions(packageName="app", status="DRAFT", maxResults=1)
    assert [v["versionName"] for v in drafts["packageVersionSummaries"]] == ["1.0"]
    rest = app.list_package_versions(
        packageName="app", status="DRAFT", maxResults=1, nextToken=drafts["nextToken"]
    )
    assert [v["versionName"] for v in rest["packageVersionSummaries"]] == ["2.0"]
    assert app.list_package_versions(packageName="other")["packageVersionSummaries"] == []


def test_version_tags_and_taggable_arn(app: Any, iot_mock: IotMock) -> None:
    arn = _version(app, tags={"stage": "beta"})["packageVersionArn"]
    backend = iot_mock.backend()
    assert tagging.tags_of(backend, arn) == {"stage": "beta"}
    assert listed_tags(app, arn) == {"stage": "beta"}
    app.delete_package_version(packageName="app", versionName="1.0")
    assert tagging.tags_of(backend, arn) == {}
    assert_untaggable(app, arn)


# --------------------------------------------------------------------------- configuration


def test_package_configuration_defaults_to_disabled(iot: Any) -> None:
    config = iot.get_package_configuration()
    assert config["versionUpdateByJobsConfig"] == {"enabled": False}


def test_package_configuration_update(iot: Any) -> None:
    iot.update_package_configuration(versionUpdateByJobsConfig={"enabled": True, "roleArn": ROLE})
    assert iot.get_package_configuration()["versionUpdateByJobsConfig"] == {
        "enabled": True,
        "roleArn": ROLE,
    }
    iot.update_package_configuration(versionUpdateByJobsConfig={"enabled": False})
    assert iot.get_package_configuration()["versionUpdateByJobsConfig"] == {
        "enabled": False,
        "roleArn": ROLE,
    }


def test_enabling_without_role_is_validation_error(iot: Any) -> None:
    with pytest.raises(ClientError) as exc:
        iot.update_package_configuration(versionUpdateByJobsConfig={"enabled": True})
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "roleArn" in message
    assert iot.get_package_configuration()["versionUpdateByJobsConfig"]["enabled"] is False


# --------------------------------------------------------------------------- SBOM


def _sbom(key: str) -> dict[str, Any]:
    return {"s3Location": {"bucket": "sboms", "key": key}}


def test_associate_sbom_then_validation_succeeds(app: Any) -> None:
    _version(app)
    answer = app.associate_sbom_with_package_version(
        packageName="app", versionName="1.0", sbom=_sbom("sboms/app-1.0.spdx.json")
    )
    assert answer["packageName"] == "app"
    assert answer["versionName"] == "1.0"
    assert answer["sbom"] == _sbom("sboms/app-1.0.spdx.json")
    assert answer["sbomValidationStatus"] == "IN_PROGRESS"
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert got["sbom"] == _sbom("sboms/app-1.0.spdx.json")
    assert got["sbomValidationStatus"] == "SUCCEEDED"
    results = app.list_sbom_validation_results(packageName="app", versionName="1.0")
    assert results["validationResultSummaries"] == [
        {"fileName": "app-1.0.spdx.json", "validationResult": "SUCCEEDED"}
    ]


def test_sbom_of_unknown_format_fails_validation(app: Any) -> None:
    _version(app)
    app.associate_sbom_with_package_version(
        packageName="app", versionName="1.0", sbom=_sbom("notes.txt")
    )
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert got["sbomValidationStatus"] == "FAILED"
    failed = app.list_sbom_validation_results(
        packageName="app", versionName="1.0", validationResult="FAILED"
    )["validationResultSummaries"]
    assert len(failed) == 1
    assert failed[0]["fileName"] == "notes.txt"
    assert failed[0]["errorCode"] == "INCOMPATIBLE_FORMAT"
    assert "notes.txt" in failed[0]["errorMessage"]
    succeeded = app.list_sbom_validation_results(
        packageName="app", versionName="1.0", validationResult="SUCCEEDED"
    )
    assert succeeded["validationResultSummaries"] == []


def test_new_sbom_replaces_old_and_disassociate_removes_it(app: Any) -> None:
    _version(app)
    app.associate_sbom_with_package_version(
        packageName="app", versionName="1.0", sbom=_sbom("a.txt")
    )
    app.associate_sbom_with_package_version(
        packageName="app", versionName="1.0", sbom=_sbom("b.zip")
    )
    results = app.list_sbom_validation_results(packageName="app", versionName="1.0")
    assert results["validationResultSummaries"] == [
        {"fileName": "b.zip", "validationResult": "SUCCEEDED"}
    ]
    app.disassociate_sbom_from_package_version(packageName="app", versionName="1.0")
    got = app.get_package_version(packageName="app", versionName="1.0")
    assert "sbom" not in got
    assert "sbomValidationStatus" not in got
    empty = app.list_sbom_validation_results(packageName="app", versionName="1.0")
    assert empty["validationResultSummaries"] == []


def test_sbom_operations_on_missing_version_are_not_found(app: Any) -> None:
    calls = (
        lambda: app.associate_sbom_with_package_version(
            packageName="app", versionName="9", sbom=_sbom("x.json")
        ),
        lambda: app.disassociate_sbom_from_package_version(packageName="app", versionName="9"),
        lambda: app.list_sbom_validation_results(packageName="app", versionName="9"),
    )
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_sbom_needs_an_s3_location(app: Any) -> None:
    _version(app)
    with pytest.raises(ClientError) as exc:
        app.associate_sbom_with_package_version(packageName="app", versionName="1.0", sbom={})
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "s3Location" in message


# --------------------------------------------------------------------------- jobs


def test_jobs_deploy_only_published_or_deprecated_versions(app: Any) -> None:
    # API:CreateJob destinationPackageVersions: "The package version must be in either
    # the Published or Deprecated state when the job deploys."
    thing = app.create_thing(thingName="dev")["thingArn"]
    arn = _version(app)["packageVersionArn"]

    def job(job_id: str, versions: list[str]) -> Any:
        return app.create_job(
            jobId=job_id, targets=[thing], document="{}", destinationPackageVersions=versions
        )

    with pytest.raises(ClientError) as exc:
        job("draft", [arn])
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidRequestException", 400)
    assert "DRAFT" in message
    with pytest.raises(ClientError) as exc:
        job("missing", [PREFIX + "app/version/9.9"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        job("not-a-version", [PREFIX + "app"])
    assert error_of(exc)[:2] == ("InvalidRequestException", 400)

    app.update_package_version(packageName="app", versionName="1.0", action="PUBLISH")
    job("published", [arn])
    app.update_package_version(packageName="app", versionName="1.0", action="DEPRECATE")
    job("deprecated", [arn])
    described = app.describe_job(jobId="deprecated")["job"]
    assert described["destinationPackageVersions"] == [arn]
    assert [j["jobId"] for j in app.list_jobs()["jobs"]] == ["deprecated", "published"]
