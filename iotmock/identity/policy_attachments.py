"""Where policies apply: AttachPolicy, DetachPolicy, AttachPrincipalPolicy,
DetachPrincipalPolicy, ListAttachedPolicies, ListTargetsForPolicy, ListPolicyPrincipals,
ListPrincipalPolicies, GetEffectivePolicies and TestAuthorization.

Targets are certificate ARNs, static thing-group ARNs and Cognito identity ids; the
relation lives in `Backend.policy_targets` / `Backend.target_policies`. Deleting a
certificate or a thing group drops its attachments (events "certificate_deleted" and
"thing_group_deleted").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request, not_found
from iotmock.core.events import subscribe
from iotmock.core.marker_pages import key_page
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.authorization import (
    ACTION_TYPES,
    EvaluationContext,
    NamedPolicy,
    authorize,
    certificate_variables,
)
from iotmock.identity.policies import (
    Target,
    attach_policy_record,
    classify_target,
    detach_policy_record,
    drop_target,
    get_policy,
    parse_target,
    policy_summary,
)
from iotmock.identity.records import Policy, identity_of
from iotmock.registry.records import Thing, registry_of

# --------------------------------------------------------------------------- attach


@operation("iot", "AttachPolicy")
def attach_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    attach_policy_record(ctx, params["policyName"], params["target"])
    return {}


@operation("iot", "AttachPrincipalPolicy")
def attach_principal_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Deprecated alias of AttachPolicy (API:AttachPrincipalPolicy).
    attach_policy_record(ctx, params["policyName"], params["principal"])
    return {}


@operation("iot", "DetachPolicy")
def detach_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # DetachPolicy models no ResourceNotFoundException: detaching a pair that is not
    # attached (or a policy that does not exist) succeeds without change (spec §5).
    backend = ctx.backend
    target = params["target"]
    if target not in identity_of(backend).target_policies:
        classify_target(target)
    detach_policy_record(backend, params["policyName"], target)
    return {}


@operation("iot", "DetachPrincipalPolicy")
def detach_principal_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    principal = params["principal"]
    policy = get_policy(backend, params["policyName"])
    if principal not in identity_of(backend).target_policies:
        parse_target(backend, principal)
    detach_policy_record(backend, policy.name, principal)
    return {}


# --------------------------------------------------------------------------- lists


def _group_chain(backend: Backend, group_name: str) -> Iterator[str]:
    """ARNs of `group_name` and its ancestors, nearest first."""
    name: str | None = group_name
    while name is not None:
        group = registry_of(backend).thing_groups.get(name)
        if group is None:
            return
        yield group.arn
        name = group.parent_name


def _policies_of(backend: Backend, targets: list[str]) -> list[Policy]:
    """The policies attached to `targets`, in order, without duplicates."""
    found: dict[str, Policy] = {}
    for target in targets:
        for name in identity_of(backend).target_policies.get(target, ()):
            policy = identity_of(backend).policies.get(name)
            if policy is not None:
                found.setdefault(name, policy)
    return list(found.values())


def _summaries_page(
    scope: str, backend: Backend, names: list[str], params: Params, *, default_ascending: bool
) -> dict[str, Any]:
    page, marker = key_page(scope, sorted(names), params, default_ascending=default_ascending)
    return {
        "policies": [policy_summary(identity_of(backend).policies[name]) for name in page],
        "nextMarker": marker,
    }


@operation("iot", "ListAttachedPolicies")
def list_attached_policies(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    target = parse_target(backend, params["target"])
    targets = [target.value]
    if params.get("recursive") and target.kind == "thinggroup":
        targets = list(_group_chain(backend, target.resource_id))
    names = [p.name for p in _policies_of(backend, targets)]
    scope = f"ListAttachedPolicies:{target.value}:{bool(params.get('recursive'))}"
    return _summaries_page(scope, backend, names, params, default_ascending=True)


@operation("iot", "ListPrincipalPolicies")
def list_principal_policies(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    target = parse_target(backend, params["principal"])
    names = list(identity_of(backend).target_policies.get(target.value, ()))
    # ascendingOrder defaults to false in the model ("if true, ascending order").
    return _summaries_page(
        f"ListPrincipalPolicies:{target.value}", backend, names, params, default_ascending=False
    )


@operation("iot", "ListTargetsForPolicy")
def list_targets_for_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    policy = get_policy(backend, params["policyName"])
    targets = sorted(identity_of(backend).policy_targets.get(policy.name, ()))
    page, marker = key_page(f"ListTargetsForPolicy:{policy.name}", targets, params)
    return {"targets": page, "nextMarker": marker}


@operation("iot", "ListPolicyPrincipals")
def list_policy_principals(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    policy = get_policy(backend, params["policyName"])
    # Principals are the certificates and Cognito identities: thing groups are targets,
    # not principals (API:ListPolicyPrincipals predates thing-group policies).
    principals = sorted(
        t
        for t in identity_of(backend).policy_targets.get(policy.name, ())
        if ":thinggroup/" not in t
    )
    page, marker = key_page(
        f"ListPolicyPrincipals:{policy.name}", principals, params, default_ascending=False
    )
    return {"principals": page, "nextMarker": marker}


# --------------------------------------------------------------------------- effective


def _thing_groups_targets(backend: Backend, thing: Thing) -> list[str]:
    targets: list[str] = []
    for group_name in sorted(thing.group_names):
        targets.extend(_group_chain(backend, group_name))
    return targets


def effective_policies(
    backend: Backend, principal: Target | None, thing: Thing | None
) -> list[Policy]:
    """The policies of the principal, then those of the thing's groups and ancestors."""
    targets = [principal.value] if principal is not None else []
    if thing is not None:
        targets.extend(_thing_groups_targets(backend, thing))
    return _policies_of(backend, targets)


@operation("iot", "GetEffectivePolicies")
def get_effective_policies(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    principal_value = params.get("principal")
    thing_name = params.get("thingName")
    if principal_value is None and thing_name is None:
        raise invalid_request(
            "GetEffectivePolicies needs a principal, a thingName or both to know whose "
            "policies to return."
        )
    principal = parse_target(backend, principal_value) if principal_value else None
    thing = None
    if thing_name is not None:
        thing = registry_of(backend).things.get(thing_name)
        if thing is None:
            raise not_found(f"Thing {thing_name} cannot be found.")
    return {
        "effectivePolicies": [
            {
                "policyName": p.name,
                "policyArn": p.arn,
                "policyDocument": p.default_version.document,
            }
            for p in effective_policies(backend, principal, thing)
        ]
    }


# --------------------------------------------------------------------------- test


def connected_thing(backend: Backend, principal: str, client_id: str | None) -> Thing | None:
    """The thing a connection of `principal` with `client_id` acts for: the thing
    exclusively attached to the certificate, else the attached thing named like the
    client id (DG:thing-policy-variables)."""
    attached = registry_of(backend).principal_things.get(principal, {})
    for thing_name, kind in attached.items():
        if kind == "EXCLUSIVE_THING":
            return registry_of(backend).things.get(thing_name)
    if client_id is not None and client_id in attached:
        return registry_of(backend).things.get(client_id)
    return None


def context_values(
    backend: Backend, principal: Target | None, client_id: str | None, thing: Thing | None
) -> dict[str, str]:
    """Policy variables and condition keys known for a connection."""
    values: dict[str, str] = {}
    if client_id is not None:
        values["iot:ClientId"] = client_id
    values["iot:Connection.Thing.IsAttached"] = "true" if thing is not None else "false"
    if thing is not None:
        values["iot:Connection.Thing.ThingName"] = thing.name
        if thing.thing_type_name:
            values["iot:Connection.Thing.ThingTypeName"] = thing.thing_type_name
        for key, value in thing.attributes.items():
            values[f"iot:Connection.Thing.Attributes[{key}]"] = value
    if principal is not None and principal.kind == "cert":
        certificate = identity_of(backend).certificates.get(principal.resource_id)
        if certificate is not None:
            values.update(certificate_variables(certificate.pem))
    if principal is not None and principal.kind == "cognito":
        values["cognito-identity.amazonaws.com:sub"] = principal.value
    return values


def _policies_for_test(
    backend: Backend, principal: Target | None, thing: Thing | None, params: Params
) -> list[NamedPolicy]:
    policies = {p.name: p for p in effective_policies(backend, principal, thing)}
    for name in params.get("policyNamesToAdd") or ():
        policies.setdefault(name, get_policy(backend, name))
    for name in params.get("policyNamesToSkip") or ():
        policies.pop(name, None)
    return [NamedPolicy(p.name, p.arn, p.default_version.document) for p in policies.values()]


def _summaries(policies: list[NamedPolicy]) -> list[dict[str, str]]:
    return [{"policyName": p.name, "policyArn": p.arn} for p in policies]


@operation("iot", "TestAuthorization")
def test_authorization(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    principal = None
    if params.get("principal"):
        principal = parse_target(backend, params["principal"])
        if principal.kind == "thinggroup":
            raise invalid_request(
                "TestAuthorization takes a certificate ARN or a Cognito identity id as "
                f"principal, not a thing group: {principal.value}"
            )
    client_id = params.get("clientId")
    thing = connected_thing(backend, principal.value, client_id) if principal is not None else None
    policies = _policies_for_test(backend, principal, thing, params)
    values = context_values(backend, principal, client_id, thing)
    results = []
    for auth_info in params["authInfos"]:
        action_type = auth_info.get("actionType")
        if action_type is None:
            raise invalid_request(
                "Each authInfo needs an actionType (CONNECT, PUBLISH, SUBSCRIBE or RECEIVE)."
            )
        resources = list(auth_info["resources"])
        decision = authorize(
            policies, ACTION_TYPES[action_type], resources, EvaluationContext(values)
        )
        results.append(
            {
                "authInfo": {"actionType": action_type, "resources": resources},
                "allowed": {"policies": _summaries(decision.allowed)},
                "denied": {
                    "implicitDeny": {"policies": _summaries(decision.implicit_deny)},
                    "explicitDeny": {"policies": _summaries(decision.explicit_deny)},
                },
                "authDecision": decision.decision,
                "missingContextValues": decision.missing,
            }
        )
    return {"authResults": results}


# --------------------------------------------------------------------------- events


@subscribe("certificate_deleted")
def _on_certificate_deleted(ctx: RequestContext, certificate_id: str, arn: str) -> None:
    drop_target(ctx.backend, arn)


@subscribe("thing_group_deleted")
def _on_thing_group_deleted(ctx: RequestContext, group_name: str, arn: str) -> None:
    drop_target(ctx.backend, arn)
