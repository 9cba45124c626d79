"""Thing principals: attach / detach certificates and Cognito identities (spec §3).

`registry_of(backend).thing_principals` (thing -> {principal: type}) and
`registry_of(backend).principal_things` (principal -> {thing: type}) always hold the same
pairs; `attach` and `detach` are the
only writers (with `detach_principal`, which detaches a principal from all its things)
and other families may call them.
"""

from __future__ import annotations

from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request, not_found
from iotmock.core.events import subscribe
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.records import identity_of
from iotmock.registry.records import registry_of
from iotmock.registry.things import get_thing, page_of_names

EXCLUSIVE = "EXCLUSIVE_THING"
NON_EXCLUSIVE = "NON_EXCLUSIVE_THING"


def certificate_id_of(principal: str) -> str | None:
    """The certificate id of a certificate ARN (`arn:...:cert/<id>`), else None."""
    if principal.startswith("arn:") and ":cert/" in principal:
        return principal.rpartition(":cert/")[2]
    return None


def _check_principal_exists(backend: Backend, principal: str) -> None:
    """Certificates must exist in this account and region; other principals (Cognito
    identity ids) are not registry objects and need no check."""
    certificate_id = certificate_id_of(principal)
    if certificate_id is None:
        return
    certificate = identity_of(backend).certificates.get(certificate_id)
    if certificate is None or certificate.arn != principal:
        raise not_found(f"The certificate {principal} does not exist.")


def _check_exclusivity(backend: Backend, thing_name: str, principal: str, kind: str) -> None:
    """EXCLUSIVE_THING: the thing is the only one attached to the certificate, so an
    exclusive attach needs no other thing, and no attach may join an exclusive one."""
    others = {
        t: k
        for t, k in registry_of(backend).principal_things.get(principal, {}).items()
        if t != thing_name
    }
    if not others:
        return
    if kind == EXCLUSIVE:
        raise invalid_request(
            f"Cannot attach principal {principal} to thing {thing_name} with "
            f"thingPrincipalType {EXCLUSIVE}: it is already attached to other things "
            f"({', '.join(sorted(others))}). Detach it from them first."
        )
    exclusive = [t for t, k in others.items() if k == EXCLUSIVE]
    if exclusive:
        raise invalid_request(
            f"Cannot attach principal {principal} to thing {thing_name}: it is attached "
            f"exclusively ({EXCLUSIVE}) to thing {exclusive[0]}. Detach it from that thing "
            "first."
        )


def attach(backend: Backend, thing_name: str, principal: str, kind: str = NON_EXCLUSIVE) -> None:
    """Attach `principal` to the existing thing `thing_name` after AWS's checks."""
    get_thing(backend, thing_name)
    _check_principal_exists(backend, principal)
    if kind == EXCLUSIVE and certificate_id_of(principal) is None:
        raise invalid_request(
            f"thingPrincipalType {EXCLUSIVE} applies to X.509 certificates only; "
            f"{principal} is not a certificate ARN."
        )
    _check_exclusivity(backend, thing_name, principal, kind)
    # Re-attaching a pair succeeds; its relation type becomes the one asked for.
    registry_of(backend).thing_principals.setdefault(thing_name, {})[principal] = kind
    registry_of(backend).principal_things.setdefault(principal, {})[thing_name] = kind


def detach(backend: Backend, thing_name: str, principal: str) -> None:
    """Detach `principal` from `thing_name` (a pair that is not attached is a no-op)."""
    _unlink(registry_of(backend).thing_principals, thing_name, principal)
    _unlink(registry_of(backend).principal_things, principal, thing_name)


def _unlink(index: dict[str, dict[str, str]], key: str, member: str) -> None:
    members = index.get(key)
    if members is not None:
        members.pop(member, None)
        if not members:
            del index[key]


def detach_principal(backend: Backend, principal: str) -> None:
    """Detach `principal` from every thing it is attached to."""
    for thing_name in list(registry_of(backend).principal_things.get(principal, {})):
        detach(backend, thing_name, principal)


@subscribe("certificate_deleted")
def _forget_certificate(ctx: RequestContext, certificate_id: str, arn: str) -> None:
    # A certificate is deleted only once no thing is attached (DeleteCertificate checks);
    # detach anyway so the indexes stay consistent whatever the certificate family allows.
    detach_principal(ctx.backend, arn)


@operation("iot", "AttachThingPrincipal")
def attach_thing_principal(ctx: RequestContext, params: Params) -> dict[str, Any]:
    attach(
        ctx.backend,
        params["thingName"],
        params["principal"],
        params.get("thingPrincipalType") or NON_EXCLUSIVE,
    )
    return {}


@operation("iot", "DetachThingPrincipal")
def detach_thing_principal(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    thing = get_thing(backend, params["thingName"])
    principal = params["principal"]
    _check_principal_exists(backend, principal)
    detach(backend, thing.name, principal)
    return {}


def _principals_of_thing(backend: Backend, thing_name: str) -> dict[str, str]:
    if thing_name not in registry_of(backend).things:
        # Message observed from AWS (spec §2, GH:getmoto/moto#2910).
        raise not_found(
            f"Failed to list principals for thing {thing_name} because the thing does not "
            "exist in your account"
        )
    return registry_of(backend).thing_principals.get(thing_name, {})


def _things_of_principal(backend: Backend, principal: str) -> dict[str, str]:
    _check_principal_exists(backend, principal)
    return registry_of(backend).principal_things.get(principal, {})


def _of_type(relations: dict[str, str], kind: str | None) -> dict[str, str]:
    return relations if kind is None else {k: v for k, v in relations.items() if v == kind}


def _typed_page(
    scope: str, relations: dict[str, str], params: Params, name_member: str
) -> tuple[list[dict[str, str]], str | None]:
    """One page of a V2 list: each related name (as `name_member`) with its
    thingPrincipalType, for ListThingPrincipalsV2 and ListPrincipalThingsV2."""
    names, token = page_of_names(scope, relations, params)
    return [{name_member: n, "thingPrincipalType": relations[n]} for n in names], token


@operation("iot", "ListThingPrincipals")
def list_thing_principals(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["thingName"]
    relations = _principals_of_thing(ctx.backend, name)
    principals, token = page_of_names(f"ListThingPrincipals:{name}", relations, params)
    return {"principals": principals, "nextToken": token}


@operation("iot", "ListThingPrincipalsV2")
def list_thing_principals_v2(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["thingName"]
    kind = params.get("thingPrincipalType")
    relations = _of_type(_principals_of_thing(ctx.backend, name), kind)
    scope = f"ListThingPrincipalsV2:{name}:{kind}"
    objects, token = _typed_page(scope, relations, params, "principal")
    return {"thingPrincipalObjects": objects, "nextToken": token}


@operation("iot", "ListPrincipalThings")
def list_principal_things(ctx: RequestContext, params: Params) -> dict[str, Any]:
    principal = params["principal"]
    relations = _things_of_principal(ctx.backend, principal)
    things, token = page_of_names(f"ListPrincipalThings:{principal}", relations, params)
    return {"things": things, "nextToken": token}


@operation("iot", "ListPrincipalThingsV2")
def list_principal_things_v2(ctx: RequestContext, params: Params) -> dict[str, Any]:
    principal = params["principal"]
    kind = params.get("thingPrincipalType")
    relations = _of_type(_things_of_principal(ctx.backend, principal), kind)
    scope = f"ListPrincipalThingsV2:{principal}:{kind}"
    objects, token = _typed_page(scope, relations, params, "thingName")
    return {"principalThingObjects": objects, "nextToken": token}
