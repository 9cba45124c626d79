"""Fleet provisioning: provisioning templates and their versions, CreateProvisioningClaim
and RegisterThing.

RegisterThing runs in two phases: every resource is resolved and checked first, then the
resources are created and attached, so a template that fails leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from ... import _clock, crypto, tagging
from ..._errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    limit_exceeded,
    not_found,
)
from ..._events import emit
from ..._paging import page_of, paginate
from ..._registry import Params, RequestContext, operation
from ..._validation import validate
from ...state import Backend, Certificate, Thing
from .ca_certificates import cas_named, parse_certificate
from .certificates import (
    add_certificate,
    check_status_change,
    find_issuing_ca,
    issue_certificate,
    issue_for_csr,
    load_csr,
    touch,
)
from .identity_state import ProvisioningTemplate, TemplateStore, TemplateVersion
from .policies import attach_policy_record, create_policy_record
from .provisioning_templates import (
    CERTIFICATE,
    THING,
    Evaluator,
    Template,
    parse_template,
)
from .things import check_attribute_count, create_thing

MAX_TEMPLATES = 256
MAX_VERSIONS = 5
CLAIM_LIFETIME_SECONDS = 300
OVERRIDE_ACTIONS = frozenset({"DO_NOTHING", "REPLACE", "MERGE", "FAIL"})


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
    now = _clock.now()
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
    template.last_modified_at = _clock.now()
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
    now = _clock.now()
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
    expiration = _clock.now_datetime().replace(microsecond=0) + dt.timedelta(
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


@dataclass(slots=True)
class _ThingPlan:
    logical_name: str
    name: str
    # The CreateThing request for a new thing.
    request: dict[str, Any]
    groups: list[str] | None
    billing_group: str | None
    existing: Thing | None = None
    # For an existing thing, what OverrideSettings change (None: unchanged).
    new_attributes: dict[str, str] | None = None
    new_type: str | None = None
    join_groups: bool = True
    replace_groups: bool = False


@dataclass(slots=True)
class _CertificatePlan:
    logical_name: str
    status: str | None
    existing: Certificate | None = None
    csr: x509.CertificateSigningRequest | None = None
    certificate: x509.Certificate | None = None
    ca_certificate_id: str | None = None
    mode: str = "DEFAULT"


@dataclass(slots=True)
class _PolicyPlan:
    logical_name: str
    name: str
    document: str | None  # None: an existing policy


@dataclass(slots=True)
class _Plan:
    thing: _ThingPlan | None = None
    certificate: _CertificatePlan | None = None
    policies: list[_PolicyPlan] = field(default_factory=list)


def _text(logical_name: str, prop: str, value: Any, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise invalid_request(f"Resource {logical_name} needs the property {prop}.")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid_request(f"Property {prop} of resource {logical_name} must be a string.")
    return str(value)


def _overrides(logical_name: str, resource: dict[str, Any]) -> dict[str, str]:
    settings = resource.get("OverrideSettings", {})
    for prop, action in settings.items():
        if action not in OVERRIDE_ACTIONS:
            raise invalid_request(
                f"OverrideSettings {prop} of resource {logical_name} is {action!r}; use "
                "DO_NOTHING, REPLACE, MERGE or FAIL."
            )
    return dict(settings)


def _plan_thing(
    backend: Backend, logical_name: str, props: dict[str, Any], overrides: dict[str, str]
) -> _ThingPlan:
    name = _text(logical_name, "ThingName", props.get("ThingName"), required=True) or ""
    attributes = _attributes(logical_name, props.get("AttributePayload"))
    groups = _thing_groups(backend, logical_name, props.get("ThingGroups"))
    type_name = _text(logical_name, "ThingTypeName", props.get("ThingTypeName"))
    if type_name is not None:
        thing_type = backend.thing_types.get(type_name)
        if thing_type is None:
            raise registration_failure(f"Thing type {type_name} cannot be found.")
        if thing_type.deprecated:
            raise registration_failure(f"Thing type {type_name} is deprecated.")
    billing_group = _text(logical_name, "BillingGroup", props.get("BillingGroup"))
    if billing_group is not None and billing_group not in backend.billing_groups:
        raise registration_failure(f"Billing group {billing_group} cannot be found.")
    request: dict[str, Any] = {"thingName": name}
    if type_name is not None:
        request["thingTypeName"] = type_name
    if attributes:
        request["attributePayload"] = {"attributes": attributes}
    if billing_group is not None:
        request["billingGroupName"] = billing_group
    _check_model_constraints(logical_name, request)
    plan = _ThingPlan(logical_name, name, request, groups, billing_group)
    existing = backend.things.get(name)
    if existing is None:
        check_attribute_count(attributes or {}, type_name)
        return plan
    # An existing thing changes only where OverrideSettings say so (default DO_NOTHING).
    plan.existing = existing
    for prop in ("AttributePayload", "ThingTypeName", "ThingGroups"):
        if overrides.get(prop) == "FAIL" and props.get(prop) is not None:
            raise registration_failure(
                f"Thing {name} already exists and OverrideSettings {prop} is FAIL."
            )
    attribute_action = overrides.get("AttributePayload", "DO_NOTHING")
    if attributes is not None and attribute_action in ("REPLACE", "MERGE"):
        base = existing.attributes if attribute_action == "MERGE" else {}
        plan.new_attributes = {**base, **attributes}
    if type_name is not None and overrides.get("ThingTypeName") == "REPLACE":
        plan.new_type = type_name
    check_attribute_count(
        existing.attributes if plan.new_attributes is None else plan.new_attributes,
        plan.new_type or existing.thing_type_name,
    )
    group_action = overrides.get("ThingGroups", "DO_NOTHING")
    plan.join_groups = group_action in ("REPLACE", "MERGE")
    plan.replace_groups = group_action == "REPLACE"
    return plan


def _attributes(logical_name: str, raw: Any) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_request(f"AttributePayload of resource {logical_name} must be a map.")
    return {
        str(key): _text(logical_name, f"AttributePayload.{key}", value) or ""
        for key, value in raw.items()
    }


def _thing_groups(backend: Backend, logical_name: str, raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise invalid_request(f"ThingGroups of resource {logical_name} must be a list.")
    groups = [_text(logical_name, "ThingGroups", name) or "" for name in raw]
    for group_name in groups:
        group = backend.thing_groups.get(group_name)
        if group is None:
            raise registration_failure(f"Thing group {group_name} cannot be found.")
        if group.is_dynamic:
            raise registration_failure(
                f"Thing group {group_name} is dynamic; things cannot be added to it."
            )
    return groups


def _check_model_constraints(logical_name: str, request: dict[str, Any]) -> None:
    """CreateThing's documented constraints (name and attribute patterns, lengths), checked
    before anything is created."""
    try:
        validate("iot", "CreateThing", request)
    except ServiceError as error:
        raise invalid_request(f"Resource {logical_name}: {error.message}") from None


def _plan_certificate(
    backend: Backend, logical_name: str, props: dict[str, Any], overrides: dict[str, str]
) -> _CertificatePlan:
    sources = [
        p for p in ("CertificateSigningRequest", "CertificateId", "CertificatePem") if p in props
    ]
    if len(sources) != 1:
        raise invalid_request(
            f"Resource {logical_name} needs exactly one of CertificateSigningRequest, "
            "CertificateId or CertificatePem."
        )
    status = _text(logical_name, "Status", props.get("Status"))
    if status is not None and status not in ("ACTIVE", "INACTIVE"):
        raise invalid_request(f"Status of resource {logical_name} must be ACTIVE or INACTIVE.")
    if overrides.get("Status") == "DO_NOTHING":
        status = None
    plan = _CertificatePlan(logical_name, status)
    source = sources[0]
    value = _text(logical_name, source, props[source], required=True) or ""
    if source == "CertificateSigningRequest":
        plan.csr = load_csr(value)
        plan.status = plan.status or "ACTIVE"
        return plan
    if source == "CertificateId":
        plan.existing = backend.certificates.get(value)
        if plan.existing is None:
            raise registration_failure(f"Certificate {value} cannot be found.")
    else:
        cert = parse_certificate(value)
        plan.existing = backend.certificates.get(crypto.certificate_id(cert))
        if plan.existing is None:
            plan.certificate = cert
            plan.status = plan.status or "ACTIVE"
            ca_pem = _text(logical_name, "CACertificatePem", props.get("CACertificatePem"))
            if ca_pem or cas_named(backend, cert.issuer):
                ca = find_issuing_ca(backend, cert, ca_pem)
                plan.ca_certificate_id, plan.mode = ca.certificate_id, ca.certificate_mode
            else:
                plan.mode = "SNI_ONLY"
    if plan.existing is not None and plan.status is not None:
        check_status_change(plan.existing, plan.status)
    return plan


def _plan_policy(backend: Backend, logical_name: str, props: dict[str, Any]) -> _PolicyPlan:
    name = _text(logical_name, "PolicyName", props.get("PolicyName"))
    document = props.get("PolicyDocument")
    if (name is None) == (document is None):
        raise invalid_request(
            f"Resource {logical_name} needs exactly one of PolicyName or PolicyDocument."
        )
    if name is not None:
        if name not in backend.policies:
            raise registration_failure(f"Policy {name} cannot be found.")
        return _PolicyPlan(logical_name, name, None)
    text = document if isinstance(document, str) else json.dumps(document)
    # Without a name AWS names the policy by a hash of its document (DG:provision-template).
    digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest().upper()
    if digest in backend.policies:
        return _PolicyPlan(logical_name, digest, None)
    return _PolicyPlan(logical_name, digest, text)


def _plan(backend: Backend, template: Template, evaluator: Evaluator) -> _Plan:
    plan = _Plan()
    for logical_name, resource in template.resources.items():
        condition = resource.get("Condition")
        if condition is not None and not evaluator.condition(condition):
            continue
        props = evaluator.resolve(resource.get("Properties", {}))
        overrides = _overrides(logical_name, resource)
        if resource["Type"] == THING:
            plan.thing = _plan_thing(backend, logical_name, props, overrides)
        elif resource["Type"] == CERTIFICATE:
            plan.certificate = _plan_certificate(backend, logical_name, props, overrides)
        else:
            plan.policies.append(_plan_policy(backend, logical_name, props))
    if plan.thing is not None and plan.certificate is not None:
        _check_exclusive(backend, plan.thing.name, plan.certificate.existing)
    return plan


def _check_exclusive(backend: Backend, thing_name: str, existing: Certificate | None) -> None:
    if existing is None:
        return
    for other, kind in backend.principal_things.get(existing.arn, {}).items():
        if other != thing_name and kind == "EXCLUSIVE_THING":
            raise registration_failure(
                f"Certificate {existing.certificate_id} is exclusively attached to thing {other}."
            )


def _join_groups(ctx: RequestContext, thing: Thing, groups: list[str], replace: bool) -> None:
    backend = ctx.backend
    if replace:
        for group_name in sorted(thing.group_names - set(groups)):
            group = backend.thing_groups.get(group_name)
            if group is not None:
                group.thing_names.discard(thing.name)
            thing.group_names.discard(group_name)
            emit(ctx, "thing_removed_from_group", thing_name=thing.name, group_name=group_name)
    for group_name in groups:
        if group_name not in thing.group_names:
            backend.thing_groups[group_name].thing_names.add(thing.name)
            thing.group_names.add(group_name)
            emit(ctx, "thing_added_to_group", thing_name=thing.name, group_name=group_name)


def _set_billing_group(backend: Backend, thing: Thing, billing_group: str) -> None:
    if thing.billing_group_name == billing_group:
        return
    if thing.billing_group_name:
        old = backend.billing_groups.get(thing.billing_group_name)
        if old is not None:
            old.thing_names.discard(thing.name)
    backend.billing_groups[billing_group].thing_names.add(thing.name)
    thing.billing_group_name = billing_group


def _provision_thing(ctx: RequestContext, plan: _ThingPlan) -> Thing:
    backend = ctx.backend
    thing = plan.existing
    if thing is None:
        create_thing(ctx, plan.request)
        thing = backend.things[plan.name]
    else:
        if plan.new_attributes is not None or plan.new_type is not None:
            previous_type_name = thing.thing_type_name
            if plan.new_attributes is not None:
                thing.attributes = plan.new_attributes
            if plan.new_type is not None:
                thing.thing_type_name = plan.new_type
            thing.version += 1
            emit(ctx, "thing_updated", thing=thing, previous_type_name=previous_type_name)
        if plan.billing_group is not None and thing.billing_group_name is None:
            _set_billing_group(backend, thing, plan.billing_group)
    if plan.groups is not None and plan.join_groups:
        _join_groups(ctx, thing, plan.groups, replace=plan.replace_groups)
    return thing


def _provision_certificate(ctx: RequestContext, plan: _CertificatePlan) -> Certificate:
    if plan.existing is not None:
        if plan.status is not None and plan.status != plan.existing.status:
            plan.existing.status = plan.status
            touch(plan.existing)
        return plan.existing
    status = plan.status or "ACTIVE"
    if plan.csr is not None:
        return issue_for_csr(ctx, plan.csr, status)
    assert plan.certificate is not None
    return add_certificate(
        ctx.backend,
        plan.certificate,
        status,
        ca_certificate_id=plan.ca_certificate_id,
        mode=plan.mode,
    )


def _provision_policy(ctx: RequestContext, plan: _PolicyPlan) -> str:
    if plan.document is not None:
        try:
            create_policy_record(ctx, plan.name, plan.document)
        except ServiceError as error:
            raise invalid_request(
                f"The PolicyDocument of resource {plan.logical_name} is invalid: {error.message}"
            ) from None
    return ctx.backend.policies[plan.name].arn


def _attach(backend: Backend, thing_name: str, certificate_arn: str) -> None:
    kind = backend.principal_things.get(certificate_arn, {}).get(thing_name, "NON_EXCLUSIVE_THING")
    backend.thing_principals.setdefault(thing_name, {})[certificate_arn] = kind
    backend.principal_things.setdefault(certificate_arn, {})[thing_name] = kind


@operation("iot", "RegisterThing")
def register_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    template = parse_template(params["templateBody"])
    evaluator = Evaluator(template, dict(params.get("parameters") or {}))
    plan = _plan(ctx.backend, template, evaluator)
    arns: dict[str, str] = {}
    # Policies first: a malformed inline document is the last check that can fail.
    policy_arns: dict[str, str] = {}
    for policy in plan.policies:
        if policy.name not in policy_arns:
            policy_arns[policy.name] = _provision_policy(ctx, policy)
        arns[policy.logical_name] = policy_arns[policy.name]
    certificate = thing = None
    if plan.certificate is not None:
        certificate = _provision_certificate(ctx, plan.certificate)
        arns["certificate"] = certificate.arn
    if plan.thing is not None:
        thing = _provision_thing(ctx, plan.thing)
        arns["thing"] = thing.arn
    if certificate is not None:
        if thing is not None:
            _attach(ctx.backend, thing.name, certificate.arn)
        for policy_name in policy_arns:
            attach_policy_record(ctx, policy_name, certificate.arn)
    return {
        "certificatePem": certificate.pem if certificate is not None else None,
        "resourceArns": arns,
    }
