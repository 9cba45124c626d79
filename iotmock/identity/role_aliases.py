"""Role aliases for the credentials provider: CreateRoleAlias, DescribeRoleAlias,
UpdateRoleAlias, DeleteRoleAlias, ListRoleAliases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.marker_pages import name_page
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex

DEFAULT_CREDENTIAL_DURATION = 3600
# AWS IoT quota: role aliases per account and region.
MAX_ROLE_ALIASES = 100
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


@dataclass(slots=True)
class RoleAlias:
    alias: str
    arn: str
    role_arn: str
    owner: str
    credential_duration_seconds: int
    created_at: float
    last_modified_at: float


@dataclass(slots=True)
class RoleAliasStore:
    aliases: SortedIndex[RoleAlias] = field(default_factory=SortedIndex)


def _aliases(backend: Backend) -> SortedIndex[RoleAlias]:
    return backend.store(RoleAliasStore).aliases


def get_role_alias(backend: Backend, alias: str) -> RoleAlias:
    found = _aliases(backend).get(alias)
    if found is None:
        raise not_found(f"Role alias {alias} cannot be found.")
    return found


@tagging.taggable("rolealias")
def _role_alias_exists(backend: Backend, alias: str) -> bool:
    return alias in _aliases(backend)


def check_role_arn(role_arn: str, member: str = "roleArn") -> None:
    if not _ROLE_ARN.fullmatch(role_arn):
        raise invalid_request(
            f"{member} {role_arn} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
        )


def _identity(alias: RoleAlias) -> dict[str, str]:
    return {"roleAlias": alias.alias, "roleAliasArn": alias.arn}


@operation("iot", "CreateRoleAlias")
def create_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    aliases = _aliases(backend)
    name = params["roleAlias"]
    existing = aliases.get(name)
    if existing is not None:
        raise already_exists(f"Role alias {name} already exists.", name, existing.arn)
    if len(aliases) >= MAX_ROLE_ALIASES:
        raise limit_exceeded(
            f"An account can have at most {MAX_ROLE_ALIASES} role aliases in a region."
        )
    check_role_arn(params["roleArn"])
    now = clock.now()
    alias = RoleAlias(
        alias=name,
        arn=backend.arn(f"rolealias/{name}"),
        role_arn=params["roleArn"],
        owner=backend.account_id,
        credential_duration_seconds=params.get(
            "credentialDurationSeconds", DEFAULT_CREDENTIAL_DURATION
        ),
        created_at=now,
        last_modified_at=now,
    )
    aliases[name] = alias
    tagging.tag_on_create(backend, alias.arn, params.get("tags"))
    return _identity(alias)


@operation("iot", "DescribeRoleAlias")
def describe_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    alias = get_role_alias(ctx.backend, params["roleAlias"])
    return {
        "roleAliasDescription": {
            "roleAlias": alias.alias,
            "roleAliasArn": alias.arn,
            "roleArn": alias.role_arn,
            "owner": alias.owner,
            "credentialDurationSeconds": alias.credential_duration_seconds,
            "creationDate": alias.created_at,
            "lastModifiedDate": alias.last_modified_at,
        }
    }


@operation("iot", "UpdateRoleAlias")
def update_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    alias = get_role_alias(ctx.backend, params["roleAlias"])
    role_arn = params.get("roleArn")
    if role_arn is not None:
        check_role_arn(role_arn)
        alias.role_arn = role_arn
    if params.get("credentialDurationSeconds") is not None:
        alias.credential_duration_seconds = params["credentialDurationSeconds"]
    alias.last_modified_at = clock.now()
    return _identity(alias)


@operation("iot", "DeleteRoleAlias")
def delete_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    alias = get_role_alias(backend, params["roleAlias"])
    _aliases(backend).pop(alias.alias)
    tagging.drop(backend, alias.arn)
    return {}


@operation("iot", "ListRoleAliases")
def list_role_aliases(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, marker = name_page("ListRoleAliases", _aliases(ctx.backend), params)
    return {"roleAliases": [a.alias for a in page], "nextMarker": marker}
