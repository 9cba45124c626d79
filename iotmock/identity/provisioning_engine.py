"""Running a provisioning template: the engine behind RegisterThing and bulk registration
tasks (StartThingRegistrationTask runs it once per input line).

A run has two phases: every resource is resolved and checked first (`_plan`), then the
resources are created and attached (`_provision_*`), so a template that fails leaves
nothing behind. Creation goes through the registry's and the policy family's own
functions, so a provisioned thing is indexed, joins its groups with the usual
"thing_added_to_group" events (continuous jobs react) and attaches like AttachThingPrincipal.

The two operations differ only in the error codes they report for a reference that does
not exist or an override the template refuses: `Failures` carries them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request
from iotmock.core.operations import RequestContext
from iotmock.core.validation import validate
from iotmock.identity import crypto
from iotmock.identity.authorization import parse_policy
from iotmock.identity.ca_certificates import cas_named, parse_certificate
from iotmock.identity.certificates import (
    add_certificate,
    check_status_change,
    find_issuing_ca,
    issue_for_csr,
    load_csr,
    touch,
)
from iotmock.identity.policies import attach_policy_record, create_policy_record
from iotmock.identity.provisioning_templates import (
    CERTIFICATE,
    THING,
    Evaluator,
    Template,
    scalar_text,
)
from iotmock.identity.records import Certificate, identity_of
from iotmock.registry.billing_groups import put_thing_in_billing_group
from iotmock.registry.records import Thing, ThingGroup, registry_of
from iotmock.registry.thing_groups import check_memberships, update_memberships
from iotmock.registry.thing_principals import NON_EXCLUSIVE, attach
from iotmock.registry.things import change_thing, check_attribute_count, create_thing

OVERRIDE_ACTIONS = frozenset({"DO_NOTHING", "REPLACE", "MERGE", "FAIL"})


@dataclass(frozen=True, slots=True)
class Failures:
    """The errors of a run: `missing` for a referenced resource that does not exist,
    `conflict` for one the template may not use (deprecated, dynamic, exclusive, FAIL)."""

    missing: Callable[[str], ServiceError]
    conflict: Callable[[str], ServiceError]


@dataclass(slots=True)
class Provisioned:
    certificate: Certificate | None
    # `thing`, `certificate` and each policy's logical name -> ARN.
    arns: dict[str, str]


@dataclass(slots=True)
class _ThingPlan:
    logical_name: str
    name: str
    # The CreateThing request for a new thing.
    request: dict[str, Any]
    groups: list[ThingGroup] | None
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


def provision(
    ctx: RequestContext, template: Template, parameters: Mapping[str, Any], failures: Failures
) -> Provisioned:
    """Check every resource of `template` with `parameters`, then create and attach them."""
    evaluator = Evaluator(template, dict(parameters))
    plan = _Planner(ctx.backend, failures).plan(template, evaluator)
    arns: dict[str, str] = {}
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
            _attach_certificate(ctx.backend, thing.name, certificate.arn)
        for policy_name in policy_arns:
            attach_policy_record(ctx, policy_name, certificate.arn)
    return Provisioned(certificate, arns)


# --------------------------------------------------------------------------- checks


def _text(logical_name: str, prop: str, value: Any, *, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise invalid_request(f"Resource {logical_name} needs the property {prop}.")
        return None
    text = scalar_text(value)
    if text is None:
        raise invalid_request(f"Property {prop} of resource {logical_name} must be a string.")
    return text


def _overrides(logical_name: str, resource: dict[str, Any]) -> dict[str, str]:
    settings = resource.get("OverrideSettings", {})
    for prop, action in settings.items():
        if action not in OVERRIDE_ACTIONS:
            raise invalid_request(
                f"OverrideSettings {prop} of resource {logical_name} is {action!r}; use "
                "DO_NOTHING, REPLACE, MERGE or FAIL."
            )
    return dict(settings)


def _attributes(logical_name: str, raw: Any) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_request(f"AttributePayload of resource {logical_name} must be a map.")
    return {
        str(key): _text(logical_name, f"AttributePayload.{key}", value) or ""
        for key, value in raw.items()
    }


def _check_model_constraints(logical_name: str, request: dict[str, Any]) -> None:
    """CreateThing's documented constraints (name and attribute patterns, lengths), checked
    before anything is created."""
    try:
        validate("iot", "CreateThing", request)
    except ServiceError as error:
        raise invalid_request(f"Resource {logical_name}: {error.message}") from None


class _Planner:
    """Resolves and checks every resource; creates nothing."""

    def __init__(self, backend: Backend, failures: Failures) -> None:
        self.backend = backend
        self.failures = failures

    def plan(self, template: Template, evaluator: Evaluator) -> _Plan:
        plan = _Plan()
        for logical_name, resource in template.resources.items():
            condition = resource.get("Condition")
            if condition is not None and not evaluator.condition(condition):
                continue
            props = evaluator.resolve(resource.get("Properties", {}))
            overrides = _overrides(logical_name, resource)
            if resource["Type"] == THING:
                plan.thing = self._thing(logical_name, props, overrides)
            elif resource["Type"] == CERTIFICATE:
                plan.certificate = self._certificate(logical_name, props, overrides)
            else:
                plan.policies.append(self._policy(logical_name, props))
        if plan.thing is not None and plan.certificate is not None:
            self._check_exclusive(plan.thing.name, plan.certificate.existing)
        return plan

    def _thing(
        self, logical_name: str, props: dict[str, Any], overrides: dict[str, str]
    ) -> _ThingPlan:
        backend = self.backend
        name = _text(logical_name, "ThingName", props.get("ThingName"), required=True) or ""
        attributes = _attributes(logical_name, props.get("AttributePayload"))
        groups = self._thing_groups(logical_name, props.get("ThingGroups"))
        type_name = _text(logical_name, "ThingTypeName", props.get("ThingTypeName"))
        if type_name is not None:
            self._check_thing_type(type_name)
        billing_group = _text(logical_name, "BillingGroup", props.get("BillingGroup"))
        if billing_group is not None and billing_group not in registry_of(backend).billing_groups:
            raise self.failures.missing(f"Billing group {billing_group} cannot be found.")
        request: dict[str, Any] = {"thingName": name}
        if type_name is not None:
            request["thingTypeName"] = type_name
        if attributes:
            request["attributePayload"] = {"attributes": attributes}
        if billing_group is not None:
            request["billingGroupName"] = billing_group
        _check_model_constraints(logical_name, request)
        plan = _ThingPlan(logical_name, name, request, groups, billing_group)
        existing = registry_of(backend).things.get(name)
        if existing is None:
            check_attribute_count(attributes or {}, type_name)
            if groups:
                check_memberships(backend, name, {g.name for g in groups})
            return plan
        self._override_existing(plan, existing, props, overrides, attributes, type_name)
        return plan

    def _override_existing(
        self,
        plan: _ThingPlan,
        existing: Thing,
        props: dict[str, Any],
        overrides: dict[str, str],
        attributes: dict[str, str] | None,
        type_name: str | None,
    ) -> None:
        """An existing thing changes only where OverrideSettings say so (default
        DO_NOTHING)."""
        plan.existing = existing
        for prop in ("AttributePayload", "ThingTypeName", "ThingGroups"):
            if overrides.get(prop) == "FAIL" and props.get(prop) is not None:
                raise self.failures.conflict(
                    f"Thing {existing.name} already exists and OverrideSettings {prop} is FAIL."
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
        if plan.groups is not None and plan.join_groups:
            wanted = {g.name for g in plan.groups}
            kept = set() if plan.replace_groups else existing.group_names
            check_memberships(self.backend, existing.name, kept | wanted)

    def _check_thing_type(self, type_name: str) -> None:
        thing_type = registry_of(self.backend).thing_types.get(type_name)
        if thing_type is None:
            raise self.failures.missing(f"Thing type {type_name} cannot be found.")
        if thing_type.deprecated:
            raise self.failures.conflict(f"Thing type {type_name} is deprecated.")

    def _thing_groups(self, logical_name: str, raw: Any) -> list[ThingGroup] | None:
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise invalid_request(f"ThingGroups of resource {logical_name} must be a list.")
        groups = []
        for item in raw:
            group_name = _text(logical_name, "ThingGroups", item) or ""
            group = registry_of(self.backend).thing_groups.get(group_name)
            if group is None:
                raise self.failures.missing(f"Thing group {group_name} cannot be found.")
            if group.is_dynamic:
                raise self.failures.conflict(
                    f"Thing group {group_name} is dynamic; things cannot be added to it."
                )
            groups.append(group)
        return groups

    def _certificate(
        self, logical_name: str, props: dict[str, Any], overrides: dict[str, str]
    ) -> _CertificatePlan:
        sources = [
            p
            for p in ("CertificateSigningRequest", "CertificateId", "CertificatePem")
            if p in props
        ]
        if len(sources) != 1:
            raise invalid_request(
                f"Resource {logical_name} needs exactly one of CertificateSigningRequest, "
                "CertificateId or CertificatePem."
            )
        status = _text(logical_name, "Status", props.get("Status"))
        if status is not None:
            # AWS's own fleet provisioning example writes "Active": the value is not case-sensitive
            status = status.upper()
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
            plan.existing = identity_of(self.backend).certificates.get(value)
            if plan.existing is None:
                raise self.failures.missing(f"Certificate {value} cannot be found.")
        else:
            self._certificate_pem(plan, props, parse_certificate(value))
        if plan.existing is not None and plan.status is not None:
            check_status_change(plan.existing, plan.status)
        return plan

    def _certificate_pem(
        self, plan: _CertificatePlan, props: dict[str, Any], cert: x509.Certificate
    ) -> None:
        """A PEM reuses its registered certificate, else registers it with its CA (when
        that CA is registered) or without one."""
        backend = self.backend
        plan.existing = identity_of(backend).certificates.get(crypto.certificate_id(cert))
        if plan.existing is not None:
            return
        plan.certificate = cert
        plan.status = plan.status or "ACTIVE"
        ca_pem = _text(plan.logical_name, "CACertificatePem", props.get("CACertificatePem"))
        if ca_pem or cas_named(backend, cert.issuer):
            ca = find_issuing_ca(backend, cert, ca_pem)
            plan.ca_certificate_id, plan.mode = ca.certificate_id, ca.certificate_mode
        else:
            plan.mode = "SNI_ONLY"

    def _policy(self, logical_name: str, props: dict[str, Any]) -> _PolicyPlan:
        name = _text(logical_name, "PolicyName", props.get("PolicyName"))
        document = props.get("PolicyDocument")
        if (name is None) == (document is None):
            raise invalid_request(
                f"Resource {logical_name} needs exactly one of PolicyName or PolicyDocument."
            )
        if name is not None:
            if name not in identity_of(self.backend).policies:
                raise self.failures.missing(f"Policy {name} cannot be found.")
            return _PolicyPlan(logical_name, name, None)
        text = document if isinstance(document, str) else json.dumps(document)
        # Without a name AWS names the policy by a hash of its document
        # (DG:provision-template).
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest().upper()
        if digest in identity_of(self.backend).policies:
            return _PolicyPlan(logical_name, digest, None)
        try:
            parse_policy(text)
        except ServiceError as error:
            raise invalid_request(
                f"The PolicyDocument of resource {logical_name} is invalid: {error.message}"
            ) from None
        return _PolicyPlan(logical_name, digest, text)

    def _check_exclusive(self, thing_name: str, existing: Certificate | None) -> None:
        if existing is None:
            return
        for other, kind in registry_of(self.backend).principal_things.get(existing.arn, {}).items():
            if other != thing_name and kind == "EXCLUSIVE_THING":
                raise self.failures.conflict(
                    f"Certificate {existing.certificate_id} is exclusively attached to thing "
                    f"{other}."
                )


# --------------------------------------------------------------------------- creation


def _provision_thing(ctx: RequestContext, plan: _ThingPlan) -> Thing:
    backend = ctx.backend
    thing = plan.existing
    if thing is None:
        create_thing(ctx, plan.request)
        thing = registry_of(backend).things[plan.name]
    else:
        if plan.new_attributes is not None or plan.new_type is not None:
            change_thing(
                ctx,
                thing,
                thing.attributes if plan.new_attributes is None else plan.new_attributes,
                thing.thing_type_name if plan.new_type is None else plan.new_type,
            )
        if plan.billing_group is not None and thing.billing_group_name is None:
            put_thing_in_billing_group(
                backend, thing, registry_of(backend).billing_groups[plan.billing_group]
            )
    if plan.groups is not None and plan.join_groups:
        wanted = {g.name for g in plan.groups}
        stale = [
            registry_of(backend).thing_groups[name]
            for name in sorted(thing.group_names - wanted)
            if plan.replace_groups and name in registry_of(backend).thing_groups
        ]
        update_memberships(ctx, thing, to_add=plan.groups, to_remove=stale)
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
        return create_policy_record(ctx, plan.name, plan.document).arn
    return identity_of(ctx.backend).policies[plan.name].arn


def _attach_certificate(backend: Backend, thing_name: str, certificate_arn: str) -> None:
    # Re-registering keeps an existing attachment's type (an EXCLUSIVE_THING stays so).
    kind = (
        registry_of(backend)
        .principal_things.get(certificate_arn, {})
        .get(thing_name, NON_EXCLUSIVE)
    )
    attach(backend, thing_name, certificate_arn, kind)
