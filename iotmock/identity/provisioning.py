"""Fleet provisioning: provisioning templates and their versions, CreateProvisioningClaim
and RegisterThing.

RegisterThing runs its template with the engine in `provisioning_engine` (shared with bulk
registration tasks): every resource is checked before any is created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    limit_exceeded,
    not_found,
)
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import page_of, paginate
from iotmock.identity import crypto
from iotmock.identity.certificates import issue_certificate
from iotmock.identity.provisioning_engine import Failures, provision
from iotmock.identity.provisioning_templates import parse_template
from iotmock.identity.records import ProvisioningTemplate, TemplateStore, TemplateVersion

MAX_TEMPLATES = 256
MAX_VERSIONS = 5
CLAIM_LIFETIME_SECONDS = 300


@tagging.taggable("provisioningtemplate")
def _template_exists(backend: Backend, resource_id: str) -> bool:
    return resource_id in backend.store(TemplateStore).templates


def get_template(backend: Backend, name: str) -> ProvisioningTemplate:
    template = backend.store(TemplateStore).templates.get(name)
    if template is None:
        raise not_found(f"The provisioning template {name} does not exist.")
    return template


def _get_version(template: ProvisioningTemplate, version_id: int) -> TemplateVersion:
    version = template.versions.get(version_id)
    if version is None:
        raise not_found(
            f"Version {version_id} of provisioning template {template.name} does not exist."
        )
    return version


def _check_hook(template_type: str, hook: dict[str, Any] | None) -> None:
    if hook and template_type != "FLEET_PROVISIONING":
        raise invalid_request(
            "A pre-provisioning hook is only supported by FLEET_PROVISIONING templates."
        )


# --------------------------------------------------------------------------- templates


@operation("iot", "CreateProvisioningTemplate")
def create_provisioning_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    templates = backend.store(TemplateStore).templates
    name = params["templateName"]
    arn = backend.arn(f"provisioningtemplate/{name}")
    if name in templates:
        raise already_exists(f"The provisioning template {name} already exists.", name, arn)
    if len(templates) >= MAX_TEMPLATES:
        raise limit_exceeded(f"An account can have at most {MAX_TEMPLATES} provisioning templates.")
    body = params["templateBody"]
    parse_template(body)
    template_type = params.get("type") or "FLEET_PROVISIONING"
    hook = params.get("preProvisioningHook")
    _check_hook(template_type, hook)
    now = clock.now()
    template = ProvisioningTemplate(
        name=name,
        arn=arn,
        body=body,
        provisioning_role_arn=params["provisioningRoleArn"],
        template_type=template_type,
        created_at=now,
        last_modified_at=now,
        description=params.get("description"),
        enabled=bool(params.get("enabled")),
        pre_provisioning_hook=dict(hook) if hook else None,
        versions={1: TemplateVersion(1, body, now)},
    )
    tagging.tag_on_create(backend, arn, params.get("tags"))
    templates[name] = template
    return {"templateArn": arn, "templateName": name, "defaultVersionId": 1}


@operation("iot", "DescribeProvisioningTemplate")
def describe_provisioning_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    return {
        "templateArn": template.arn,
        "templateName": template.name,
        "description": template.description,
        "creationDate": template.created_at,
        "lastModifiedDate": template.last_modified_at,
        "defaultVersionId": template.default_version_id,
        "templateBody": template.body,
        "enabled": template.enabled,
        "provisioningRoleArn": template.provisioning_role_arn,
        "preProvisioningHook": template.pre_provisioning_hook,
        "type": template.template_type,
    }


@operation("iot", "UpdateProvisioningTemplate")
def update_provisioning_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    hook = params.get("preProvisioningHook")
    if hook and params.get("removePreProvisioningHook"):
        raise invalid_request(
            "You cannot give both preProvisioningHook and removePreProvisioningHook."
        )
    _check_hook(template.template_type, hook)
    default_id = params.get("defaultVersionId")
    if default_id is not None:
        template.body = _get_version(template, default_id).body
        template.default_version_id = default_id
    if params.get("description") is not None:
        template.description = params["description"]
    if params.get("enabled") is not None:
        template.enabled = params["enabled"]
    if params.get("provisioningRoleArn"):
        template.provisioning_role_arn = params["provisioningRoleArn"]
    if hook:
        template.pre_provisioning_hook = dict(hook)
    if params.get("removePreProvisioningHook"):
        template.pre_provisioning_hook = None
    template.last_modified_at = clock.now()
    return {}


@operation("iot", "DeleteProvisioningTemplate")
def delete_provisioning_template(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    template = get_template(backend, params["templateName"])
    backend.store(TemplateStore).templates.pop(template.name)
    tagging.drop(backend, template.arn)
    return {}


@operation("iot", "ListProvisioningTemplates")
def list_provisioning_templates(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, token = page_of(
        "ListProvisioningTemplates", ctx.backend.store(TemplateStore).templates, params
    )
    return {
        "templates": [
            {
                "templateArn": t.arn,
                "templateName": t.name,
                "description": t.description,
                "creationDate": t.created_at,
                "lastModifiedDate": t.last_modified_at,
                "enabled": t.enabled,
                "type": t.template_type,
            }
            for t in page
        ],
        "nextToken": token,
    }


# --------------------------------------------------------------------------- versions


@operation("iot", "CreateProvisioningTemplateVersion")
def create_provisioning_template_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    body = params["templateBody"]
    parse_template(body)
    if len(template.versions) >= MAX_VERSIONS:
        raise ServiceError(
            "VersionsLimitExceededException",
            f"The provisioning template {template.name} already has the maximum number of "
            f"versions ({MAX_VERSIONS}); delete one with DeleteProvisioningTemplateVersion.",
        )
    now = clock.now()
    template.last_version_id += 1
    version = TemplateVersion(template.last_version_id, body, now)
    template.versions[version.version_id] = version
    is_default = bool(params.get("setAsDefault"))
    if is_default:
        template.default_version_id = version.version_id
        template.body = body
    template.last_modified_at = now
    return {
        "templateArn": template.arn,
        "templateName": template.name,
        "versionId": version.version_id,
        "isDefaultVersion": is_default,
    }


@operation("iot", "DescribeProvisioningTemplateVersion")
def describe_provisioning_template_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    version = _get_version(template, params["versionId"])
    return {
        "versionId": version.version_id,
        "creationDate": version.created_at,
        "templateBody": version.body,
        "isDefaultVersion": version.version_id == template.default_version_id,
    }


@operation("iot", "DeleteProvisioningTemplateVersion")
def delete_provisioning_template_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    version = _get_version(template, params["versionId"])
    if version.version_id == template.default_version_id:
        raise delete_conflict(
            f"Version {version.version_id} is the default version of provisioning template "
            f"{template.name} and cannot be deleted; make another version the default first."
        )
    del template.versions[version.version_id]
    return {}


@operation("iot", "ListProvisioningTemplateVersions")
def list_provisioning_template_versions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    # Versions are few (at most MAX_VERSIONS) and created in id order.
    versions = sorted(template.versions.values(), key=lambda v: v.version_id)

    def source(after: str | None) -> Iterator[tuple[str, TemplateVersion]]:
        for version in versions:
            key = f"{version.version_id:010d}"
            if after is None or key > after:
                yield key, version

    page, token = paginate(
        f"ListProvisioningTemplateVersions:{template.name}",
        source,
        params.get("nextToken"),
        params.get("maxResults"),
    )
    return {
        "versions": [
            {
                "versionId": v.version_id,
                "creationDate": v.created_at,
                "isDefaultVersion": v.version_id == template.default_version_id,
            }
            for v in page
        ],
        "nextToken": token,
    }


# --------------------------------------------------------------------------- claims


@operation("iot", "CreateProvisioningClaim")
def create_provisioning_claim(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = get_template(ctx.backend, params["templateName"])
    if template.template_type != "FLEET_PROVISIONING":
        raise invalid_request(
            f"Provisioning claims need a FLEET_PROVISIONING template; {template.name} is "
            f"{template.template_type}."
        )
    if not template.enabled:
        raise invalid_request(f"The provisioning template {template.name} is disabled.")
    key = crypto.pooled_key()
    expiration = clock.now_datetime().replace(microsecond=0) + dt.timedelta(
        seconds=CLAIM_LIFETIME_SECONDS
    )
    record = issue_certificate(ctx, key.key.public_key(), "ACTIVE", not_after=expiration)
    return {
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
        "keyPair": {"PublicKey": key.public_pem, "PrivateKey": key.private_pem},
        "expiration": expiration,
    }


# --------------------------------------------------------------------------- RegisterThing


def registration_failure(message: str) -> ServiceError:
    return ServiceError("ResourceRegistrationFailureException", message)


REGISTER_THING_FAILURES = Failures(missing=registration_failure, conflict=registration_failure)


@operation("iot", "RegisterThing")
def register_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = parse_template(params["templateBody"])
    result = provision(ctx, template, params.get("parameters") or {}, REGISTER_THING_FAILURES)
    certificate = result.certificate
    return {
        "certificatePem": certificate.pem if certificate is not None else None,
        "resourceArns": result.arns,
    }
