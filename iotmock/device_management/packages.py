"""The software package catalog: packages, package versions and their lifecycle, the
account's package configuration and software bills of materials (SBOM).

Operations: CreatePackage, GetPackage, UpdatePackage, DeletePackage, ListPackages,
CreatePackageVersion, GetPackageVersion, UpdatePackageVersion, DeletePackageVersion,
ListPackageVersions, GetPackageConfiguration, UpdatePackageConfiguration,
AssociateSbomWithPackageVersion, DisassociateSbomFromPackageVersion,
ListSbomValidationResults.

These operations model `ValidationException` (not `InvalidRequestException`),
`ConflictException` and, for some, `ResourceNotFoundException`; each refusal below uses
the error its operation models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, crud, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import conflict, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.device_management.errors import conflict_error, validation_error

DRAFT, PUBLISHED, DEPRECATED = "DRAFT", "PUBLISHED", "DEPRECATED"
# UpdatePackageVersion `action` -> the statuses it may start from (Package version
# lifecycle: DRAFT -> PUBLISHED -> DEPRECATED, and a deprecated version may be published
# again). Repeating the current state is accepted as a no-op.
_TRANSITIONS = {
    "PUBLISH": (PUBLISHED, {DRAFT, PUBLISHED, DEPRECATED}),
    "DEPRECATE": (DEPRECATED, {PUBLISHED, DEPRECATED}),
}
MAX_ATTRIBUTES_BYTES = 3 * 1024  # "The combined size of all the attributes ... 3KB"
PAGE_DEFAULT = 100

# S3 is not served, so an SBOM cannot be read: its validation result follows from the file
# name. SPDX and CycloneDX SBOMs are JSON documents, optionally bundled in a zip archive.
SBOM_EXTENSIONS = (".json", ".zip")


@dataclass(slots=True)
class PackageVersion:
    package_name: str
    version_name: str
    arn: str
    description: str | None
    attributes: dict[str, str]
    artifact: dict[str, Any] | None
    recipe: str | None
    status: str
    created_at: float
    modified_at: float
    sbom: dict[str, Any] | None = None
    # The validation result of the associated SBOM: SUCCEEDED or FAILED.
    sbom_result: str | None = None


@dataclass(slots=True)
class Package:
    name: str
    arn: str
    description: str | None
    created_at: float
    modified_at: float
    default_version_name: str | None = None
    versions: SortedIndex[PackageVersion] = field(default_factory=SortedIndex)


@dataclass(slots=True)
class PackageStore:
    packages: SortedIndex[Package] = field(default_factory=SortedIndex)
    jobs_update_enabled: bool = False
    jobs_update_role_arn: str | None = None
    # clientToken -> (operation and request fingerprint, the answer given).
    client_tokens: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)


# --------------------------------------------------------------------------- lookups


@tagging.taggable("package")
def _package_resource_exists(backend: Backend, resource_id: str) -> bool:
    """`package/<name>` and `package/<name>/version/<version>` are both taggable."""
    name, _, rest = resource_id.partition("/")
    package = backend.store(PackageStore).packages.get(name)
    if package is None:
        return False
    if not rest:
        return True
    kind, _, version_name = rest.partition("/")
    return kind == "version" and version_name in package.versions


def _get_version(backend: Backend, package_name: str, version_name: str) -> PackageVersion:
    version = PACKAGES.get(backend, package_name).versions.get(version_name)
    if version is None:
        raise not_found(f"Package version {package_name}@{version_name} does not exist.")
    return version


def check_deployable_versions(backend: Backend, arns: list[str] | None) -> None:
    """A job's `destinationPackageVersions` must name package versions of this account and
    region in the PUBLISHED or DEPRECATED state (API:CreateJob); used by CreateJob."""
    prefix = backend.arn("package/")
    for arn in arns or ():
        package_name, _, rest = (
            arn[len(prefix) :].partition("/") if arn.startswith(prefix) else ("", "", "")
        )
        kind, _, version_name = rest.partition("/")
        if not package_name or kind != "version" or not version_name:
            raise invalid_request(
                f"Invalid destinationPackageVersions entry {arn}: expected a package version "
                f"ARN {prefix}<package>/version/<version>."
            )
        version = _get_version(backend, package_name, version_name)
        if version.status not in (PUBLISHED, DEPRECATED):
            raise invalid_request(
                f"Package version {package_name}@{version_name} is {version.status}; a job can "
                "deploy only PUBLISHED or DEPRECATED package versions."
            )


def _idempotent(
    ctx: RequestContext, params: Params, create: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run `create()` once per clientToken: a retry with the same token and request gets
    the first answer; the same token with another request is a ConflictException."""
    token = params.get("clientToken")
    if token is None:
        return create()
    tokens = ctx.backend.store(PackageStore).client_tokens
    fingerprint = ctx.operation + json.dumps(params, sort_keys=True, default=str)
    seen = tokens.get(token)
    if seen is not None:
        if seen[0] != fingerprint:
            raise conflict(f"The client token {token} was already used with different parameters.")
        return seen[1]
    result = create()
    tokens[token] = (fingerprint, result)
    return result


def _check_attributes(attributes: dict[str, str]) -> None:
    size = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    if size > MAX_ATTRIBUTES_BYTES:
        raise validation_error(
            f"The combined size of all the attributes of a package version is limited to "
            f"3KB ({MAX_ATTRIBUTES_BYTES} bytes); these attributes take {size} bytes."
        )


def _check_s3_location(location: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if not location or not location.get("bucket") or not location.get("key"):
        raise validation_error(f"The {what} must have an s3Location with a bucket and a key.")
    return dict(location)


def _artifact(artifact: dict[str, Any]) -> dict[str, Any]:
    return {"s3Location": _check_s3_location(artifact.get("s3Location"), "artifact")}


# --------------------------------------------------------------------------- packages


def _package_output(package: Package) -> dict[str, Any]:
    return {
        "packageName": package.name,
        "packageArn": package.arn,
        "description": package.description,
        "defaultVersionName": package.default_version_name,
        "creationDate": package.created_at,
        "lastModifiedDate": package.modified_at,
    }


def _package_summary(package: Package) -> dict[str, Any]:
    return {
        "packageName": package.name,
        "defaultVersionName": package.default_version_name,
        "creationDate": package.created_at,
        "lastModifiedDate": package.modified_at,
    }


PACKAGES: crud.ResourceKind[Package] = crud.ResourceKind(
    label="Package",
    arn_type="package",
    index=lambda backend: backend.store(PackageStore).packages,
    describe=_package_output,
    summary=_package_summary,
    list_member="packageSummaries",
    page_size=PAGE_DEFAULT,
    taken=lambda name, _: conflict_error(f"Package {name} already exists.", name),
    # `package/<name>/version/<version>` ARNs share the type: see _package_resource_exists.
    taggable=False,
)


@operation("iot", "CreatePackage")
def create_package(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> Package:
        return Package(
            name=params["packageName"],
            arn=arn,
            description=params.get("description"),
            created_at=now,
            modified_at=now,
        )

    def create() -> dict[str, Any]:
        # Packages and versions take tags as a map (TagMap), not a Tag list.
        package = crud.create(
            PACKAGES, ctx.backend, params["packageName"], build, params.get("tags") or {}
        )
        return {
            "packageName": package.name,
            "packageArn": package.arn,
            "description": package.description,
        }

    return _idempotent(ctx, params, create)


@operation("iot", "GetPackage")
def get_package(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(PACKAGES, ctx.backend, params["packageName"])


@operation("iot", "UpdatePackage")
def update_package(ctx: RequestContext, params: Params) -> dict[str, Any]:
    package = PACKAGES.get(ctx.backend, params["packageName"])
    default_name = params.get("defaultVersionName")
    unset = bool(params.get("unsetDefaultVersion"))
    if default_name is not None and unset:
        raise validation_error(
            "You cannot name a defaultVersionName and set unsetDefaultVersion to true at "
            "the same time."
        )
    if default_name is not None and default_name not in package.versions:
        raise not_found(f"Package version {package.name}@{default_name} does not exist.")
    changed = crud.changes(params, {"description": "description"})
    if default_name is not None or unset:
        changed["default_version_name"] = default_name
    crud.apply(package, changed, stamp="modified_at")
    return {}


@operation("iot", "DeletePackage")
def delete_package(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def check(package: Package) -> None:
        if len(package.versions):
            raise validation_error(
                f"All package versions must be deleted before deleting the software package "
                f"{package.name}; it still has {len(package.versions)} version(s)."
            )

    # Nothing to delete is no error: the model has no not-found error here.
    crud.discard(PACKAGES, ctx.backend, params["packageName"], check)
    return {}


@operation("iot", "ListPackages")
def list_packages(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.list_page(PACKAGES, ctx, params)


# --------------------------------------------------------------------------- versions


@operation("iot", "CreatePackageVersion")
def create_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def create() -> dict[str, Any]:
        backend = ctx.backend
        package_name = params["packageName"]
        version_name = params["versionName"]
        package = backend.store(PackageStore).packages.get(package_name)
        if package is None:
            # CreatePackageVersion models no ResourceNotFoundException.
            raise validation_error(
                f"Package {package_name} does not exist. Create it with CreatePackage first."
            )
        if version_name in package.versions:
            raise conflict_error(
                f"Package version {package_name}@{version_name} already exists.", version_name
            )
        attributes = dict(params.get("attributes") or {})
        _check_attributes(attributes)
        artifact = params.get("artifact")
        now = clock.now()
        version = PackageVersion(
            package_name=package_name,
            version_name=version_name,
            arn=backend.arn(f"package/{package_name}/version/{version_name}"),
            description=params.get("description"),
            attributes=attributes,
            artifact=_artifact(artifact) if artifact is not None else None,
            recipe=params.get("recipe"),
            status=DRAFT,
            created_at=now,
            modified_at=now,
        )
        tagging.add_tags(backend, version.arn, params.get("tags") or {})
        package.versions[version_name] = version
        return {
            "packageVersionArn": version.arn,
            "packageName": package_name,
            "versionName": version_name,
            "description": version.description,
            "attributes": dict(attributes),
            "status": version.status,
        }

    return _idempotent(ctx, params, create)


@operation("iot", "GetPackageVersion")
def get_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    version = _get_version(ctx.backend, params["packageName"], params["versionName"])
    return {
        "packageVersionArn": version.arn,
        "packageName": version.package_name,
        "versionName": version.version_name,
        "description": version.description,
        "attributes": dict(version.attributes),
        "artifact": version.artifact,
        "status": version.status,
        "creationDate": version.created_at,
        "lastModifiedDate": version.modified_at,
        "sbom": version.sbom,
        "sbomValidationStatus": version.sbom_result,
        "recipe": version.recipe,
    }


def _next_status(version: PackageVersion, action: str) -> str:
    target, allowed_from = _TRANSITIONS[action]
    if version.status not in allowed_from:
        raise conflict(
            f"Package version {version.package_name}@{version.version_name} is "
            f"{version.status}; {action} is not a valid transition from {version.status}. "
            "Publish a draft version before deprecating it."
        )
    return target


@operation("iot", "UpdatePackageVersion")
def update_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    version = _get_version(ctx.backend, params["packageName"], params["versionName"])
    attributes = params.get("attributes")
    artifact = params.get("artifact")
    if (attributes is not None or artifact is not None) and version.status != DRAFT:
        raise conflict(
            f"Package version {version.package_name}@{version.version_name} is "
            f"{version.status}: attributes and artifact can be updated only while the "
            "version is in the DRAFT state."
        )
    if attributes is not None:
        _check_attributes(attributes)
    new_artifact = _artifact(artifact) if artifact is not None else version.artifact
    action = params.get("action")
    status = _next_status(version, action) if action else version.status
    changed = crud.changes(params, {"description": "description", "recipe": "recipe"})
    if attributes is not None:
        changed["attributes"] = dict(attributes)
    changed.update(artifact=new_artifact, status=status)
    crud.apply(version, changed, stamp="modified_at")
    return {}


@operation("iot", "DeletePackageVersion")
def delete_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    package = backend.store(PackageStore).packages.get(params["packageName"])
    version_name = params["versionName"]
    if package is None or version_name not in package.versions:
        return {}  # nothing to delete: the model has no not-found error here
    if package.default_version_name == version_name:
        raise validation_error(
            f"Package version {package.name}@{version_name} is the default version of the "
            "package. Remove the designation with UpdatePackage (unsetDefaultVersion) "
            "before deleting it."
        )
    version = package.versions.pop(version_name)
    assert version is not None
    tagging.drop(backend, version.arn)
    return {}


def _version_summary(version: PackageVersion) -> dict[str, Any]:
    return {
        "packageName": version.package_name,
        "versionName": version.version_name,
        "status": version.status,
        "creationDate": version.created_at,
        "lastModifiedDate": version.modified_at,
    }


@operation("iot", "ListPackageVersions")
def list_package_versions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    package_name = params["packageName"]
    package = ctx.backend.store(PackageStore).packages.get(package_name)
    status = params.get("status")

    def source(after: str | None) -> Iterator[tuple[str, PackageVersion]]:
        if package is not None:
            yield from package.versions.items_after(after)

    return crud.page(
        ctx,
        params,
        source,
        "packageVersionSummaries",
        _version_summary,
        scope=f"{package_name}:{status}",
        keep=(lambda v: v.status == status) if status else None,
    )


# --------------------------------------------------------------------------- configuration


@operation("iot", "GetPackageConfiguration")
def get_package_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(PackageStore)
    return {
        "versionUpdateByJobsConfig": {
            "enabled": store.jobs_update_enabled,
            "roleArn": store.jobs_update_role_arn,
        }
    }


@operation("iot", "UpdatePackageConfiguration")
def update_package_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    config = params.get("versionUpdateByJobsConfig")
    if config is None:
        return {}
    store = ctx.backend.store(PackageStore)
    enabled = config.get("enabled", store.jobs_update_enabled)
    role_arn = config.get("roleArn", store.jobs_update_role_arn)
    if enabled and not role_arn:
        raise validation_error(
            "versionUpdateByJobsConfig.roleArn is required to enable package version "
            "updates by jobs: the role lets IoT Jobs update the reserved named shadow."
        )
    store.jobs_update_enabled = bool(enabled)
    store.jobs_update_role_arn = role_arn
    return {}


# --------------------------------------------------------------------------- SBOM


def _sbom_file_name(sbom: dict[str, Any]) -> str:
    key: str = sbom["s3Location"]["key"]
    return key.rsplit("/", 1)[-1]


def _sbom_validation(sbom: dict[str, Any]) -> dict[str, Any]:
    """The validation summary of an SBOM (see SBOM_EXTENSIONS)."""
    file_name = _sbom_file_name(sbom)
    if file_name.lower().endswith(SBOM_EXTENSIONS):
        return {"fileName": file_name, "validationResult": "SUCCEEDED"}
    return {
        "fileName": file_name,
        "validationResult": "FAILED",
        "errorCode": "INCOMPATIBLE_FORMAT",
        "errorMessage": (
            f"{file_name} is not an SPDX or CycloneDX JSON document (.json) or a zip "
            "archive of them (.zip)."
        ),
    }


@operation("iot", "AssociateSbomWithPackageVersion")
def associate_sbom_with_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    version = _get_version(ctx.backend, params["packageName"], params["versionName"])
    sbom = {"s3Location": _check_s3_location(params["sbom"].get("s3Location"), "sbom")}
    # A new SBOM replaces the previous one. AWS validates asynchronously, so this answer
    # says IN_PROGRESS; the mock's validation is done by the next read.
    version.sbom = sbom
    version.sbom_result = _sbom_validation(sbom)["validationResult"]
    version.modified_at = clock.now()
    return {
        "packageName": version.package_name,
        "versionName": version.version_name,
        "sbom": sbom,
        "sbomValidationStatus": "IN_PROGRESS",
    }


@operation("iot", "DisassociateSbomFromPackageVersion")
def disassociate_sbom_from_package_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    version = _get_version(ctx.backend, params["packageName"], params["versionName"])
    if version.sbom is not None:
        version.sbom = None
        version.sbom_result = None
        version.modified_at = clock.now()
    return {}


@operation("iot", "ListSbomValidationResults")
def list_sbom_validation_results(ctx: RequestContext, params: Params) -> dict[str, Any]:
    version = _get_version(ctx.backend, params["packageName"], params["versionName"])
    wanted = params.get("validationResult")
    results = [_sbom_validation(version.sbom)] if version.sbom is not None else []

    def source(after: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        for result in results:
            if after is None or result["fileName"] > after:
                yield result["fileName"], result

    return crud.page(
        ctx,
        params,
        source,
        "validationResultSummaries",
        lambda result: result,
        scope=f"{version.arn}:{wanted}",
        keep=(lambda r: r["validationResult"] == wanted) if wanted else None,
    )
