"""Role aliases for the credentials provider: CreateRoleAlias, DescribeRoleAlias,
UpdateRoleAlias, DeleteRoleAlias, ListRoleAliases."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.errors import invalid_request
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


def check_role_arn(role_arn: str, member: str = "roleArn") -> None:
    if not _ROLE_ARN.fullmatch(role_arn):
        raise invalid_request(
            f"{member} {role_arn} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
        )


def _identity(alias: RoleAlias) -> dict[str, str]:
    return {"roleAlias": alias.alias, "roleAliasArn": alias.arn}


def _description(alias: RoleAlias) -> dict[str, Any]:
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


ROLE_ALIASES: crud.ResourceKind[RoleAlias] = crud.ResourceKind(
    label="Role alias",
    arn_type="rolealias",
    index=lambda backend: backend.store(RoleAliasStore).aliases,
    describe=_description,
    summary=lambda alias: alias.alias,
    list_member="roleAliases",
    paging=crud.MARKERS,
    quota=MAX_ROLE_ALIASES,
    plural="role aliases",
    missing="{label} {name} cannot be found.",
)
get_role_alias = ROLE_ALIASES.get


@operation("iot", "CreateRoleAlias")
def create_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> RoleAlias:
        check_role_arn(params["roleArn"])
        return RoleAlias(
            alias=params["roleAlias"],
            arn=arn,
            role_arn=params["roleArn"],
            owner=ctx.backend.account_id,
            credential_duration_seconds=params.get(
                "credentialDurationSeconds", DEFAULT_CREDENTIAL_DURATION
            ),
            created_at=now,
            last_modified_at=now,
        )

    alias = crud.create(ROLE_ALIASES, ctx.backend, params["roleAlias"], build, params.get("tags"))
    return _identity(alias)


@operation("iot", "DescribeRoleAlias")
def describe_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(ROLE_ALIASES, ctx.backend, params["roleAlias"])


# UpdateRoleAlias members -> RoleAlias attributes.
_UPDATABLE = {"roleArn": "role_arn", "credentialDurationSeconds": "credential_duration_seconds"}


@operation("iot", "UpdateRoleAlias")
def update_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    alias = get_role_alias(ctx.backend, params["roleAlias"])
    changed = crud.changes(params, _UPDATABLE)
    if "role_arn" in changed:
        check_role_arn(changed["role_arn"])
    crud.apply(alias, changed)
    return _identity(alias)


@operation("iot", "DeleteRoleAlias")
def delete_role_alias(ctx: RequestContext, params: Params) -> dict[str, Any]:
    crud.delete(ROLE_ALIASES, ctx.backend, params["roleAlias"])
    return {}


@operation("iot", "ListRoleAliases")
def list_role_aliases(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Descending name order unless the request sets ascendingOrder (the AWS CLI example of
    # list-role-aliases lists ResidentAlias before ElectricianAlias).
    ascending = bool(params.get("ascendingOrder"))
    return crud.list_page(ROLE_ALIASES, ctx, params, descending=not ascending)
