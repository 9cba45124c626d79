"""IoT policies and their versions: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy,
CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions, SetDefaultPolicyVersion,
DeletePolicyVersion; plus the policy-target relation used by the attachment operations.

Contract for other families (RegisterThing, certificates):
`create_policy_record(ctx, name, document, tags)` and `attach_policy_record(ctx, policy_name,
target)` behave exactly as CreatePolicy and AttachPolicy.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    not_found,
)
from iotmock.core.marker_pages import name_page
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.authorization import parse_policy
from iotmock.identity.records import Policy, PolicyVersion, identity_of
from iotmock.registry.records import registry_of

MAX_POLICY_VERSIONS = 5
# AWS IoT quota: policies attached to one certificate, Cognito identity or thing group.
MAX_POLICIES_PER_TARGET = 10

_COGNITO_ID = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+:[0-9a-fA-F-]{1,64}")


# --------------------------------------------------------------------------- records


def _generation_id() -> str:
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def get_policy(backend: Backend, name: str) -> Policy:
    policy = identity_of(backend).policies.get(name)
    if policy is None:
        raise not_found(f"Policy {name} cannot be found.")
    return policy


def get_policy_version(policy: Policy, version_id: str) -> PolicyVersion:
    version = policy.versions.get(version_id)
    if version is None:
        raise not_found(f"Version {version_id} of policy {policy.name} cannot be found.")
    return version


def create_policy_record(
    ctx: RequestContext,
    name: str,
    document: str,
    tags: list[dict[str, str]] | None = None,
) -> Policy:
    """Create policy `name` with version 1 as its default, as CreatePolicy does."""
    backend = ctx.backend
    existing = identity_of(backend).policies.get(name)
    if existing is not None:
        raise already_exists(
            f"Policy cannot be created - name already exists (name={name})", name, existing.arn
        )
    parse_policy(document)
    now = clock.now()
    policy = Policy(
        name=name,
        arn=backend.arn(f"policy/{name}"),
        versions={"1": PolicyVersion("1", document, now)},
        default_version_id="1",
        last_version_id=1,
        created_at=now,
        last_modified_at=now,
        generation_id=_generation_id(),
    )
    identity_of(backend).policies[name] = policy
    tagging.tag_on_create(backend, policy.arn, tags)
    return policy


@tagging.taggable("policy")
def _policy_exists(backend: Backend, name: str) -> bool:
    return name in identity_of(backend).policies


def _touch(policy: Policy) -> None:
    policy.last_modified_at = clock.now()
    policy.generation_id = _generation_id()


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True, slots=True)
class Target:
    """A policy target: a certificate, a static thing group or a Cognito identity."""

    value: str
    kind: str  # "cert" | "thinggroup" | "cognito"
    resource_id: str


def classify_target(value: str) -> Target:
    """What kind of target `value` is (InvalidRequestException when it is none)."""
    if _COGNITO_ID.fullmatch(value):
        return Target(value, "cognito", value)
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "iot":
        resource_type, _, resource_id = parts[5].partition("/")
        if resource_type in ("cert", "thinggroup") and resource_id:
            return Target(value, resource_type, resource_id)
    raise invalid_request(
        f"{value} is not a valid policy target. Use a certificate ARN "
        "(arn:aws:iot:<region>:<account>:cert/<certificateId>), a thing group ARN "
        "(arn:aws:iot:<region>:<account>:thinggroup/<groupName>) or a Cognito identity id "
        "(<region>:<id>)."
    )


def parse_target(backend: Backend, value: str) -> Target:
    """Classify `value` and check that the resource it names exists (404 otherwise)."""
    target = classify_target(value)
    if target.kind == "cognito":
        return target  # Cognito identities live outside IoT: nothing to check
    # Only ARNs of this partition, region and account name local resources.
    local = value.startswith(backend.arn(""))
    if target.kind == "cert":
        if not local or target.resource_id not in identity_of(backend).certificates:
            raise not_found(f"The certificate {value} does not exist.")
        return target
    group = registry_of(backend).thing_groups.get(target.resource_id) if local else None
    if group is None:
        raise not_found(f"Thing group {value} cannot be found.")
    if group.is_dynamic:
        raise invalid_request(
            f"Policies cannot be attached to the dynamic thing group {target.resource_id}; "
            "attach them to a static thing group."
        )
    return target


def attach_policy_record(ctx: RequestContext, policy_name: str, target: str) -> None:
    """Attach `policy_name` to `target`, as AttachPolicy does (attaching twice is a no-op)."""
    backend = ctx.backend
    get_policy(backend, policy_name)
    parse_target(backend, target)
    attached = identity_of(backend).target_policies.setdefault(target, {})
    if policy_name in attached:
        return
    if len(attached) >= MAX_POLICIES_PER_TARGET:
        raise ServiceError(
            "LimitExceededException",
            f"{target} already has the maximum of {MAX_POLICIES_PER_TARGET} policies "
            "attached; detach one first.",
        )
    attached[policy_name] = None
    identity_of(backend).policy_targets.setdefault(policy_name, {})[target] = None


def detach_policy_record(backend: Backend, policy_name: str, target: str) -> bool:
    """Remove the (policy, target) pair; False when it was not attached."""
    attached = identity_of(backend).target_policies.get(target)
    if attached is None or policy_name not in attached:
        return False
    del attached[policy_name]
    if not attached:
        del identity_of(backend).target_policies[target]
    targets = identity_of(backend).policy_targets.get(policy_name)
    if targets is not None:
        targets.pop(target, None)
        if not targets:
            del identity_of(backend).policy_targets[policy_name]
    return True


def drop_target(backend: Backend, target: str) -> None:
    """Forget every attachment of a deleted target."""
    for policy_name in list(identity_of(backend).target_policies.get(target, ())):
        detach_policy_record(backend, policy_name, target)


def policy_summary(policy: Policy) -> dict[str, str]:
    return {"policyName": policy.name, "policyArn": policy.arn}


# --------------------------------------------------------------------------- policies


@operation("iot", "CreatePolicy")
def create_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = create_policy_record(
        ctx, params["policyName"], params["policyDocument"], params.get("tags")
    )
    return {
        "policyName": policy.name,
        "policyArn": policy.arn,
        "policyDocument": policy.default_version.document,
        "policyVersionId": policy.default_version_id,
    }


@operation("iot", "GetPolicy")
def get_policy_handler(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    return {
        "policyName": policy.name,
        "policyArn": policy.arn,
        "policyDocument": policy.default_version.document,
        "defaultVersionId": policy.default_version_id,
        "creationDate": policy.created_at,
        "lastModifiedDate": policy.last_modified_at,
        "generationId": policy.generation_id,
    }


@operation("iot", "ListPolicies")
def list_policies(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Descending name order unless ascendingOrder=true: the model's flag defaults to false,
    # and AWS's example output (CLI list-policies) lists names descending.
    page, marker = name_page(
        "ListPolicies", identity_of(ctx.backend).policies, params, default_ascending=False
    )
    return {"policies": [policy_summary(p) for p in page], "nextMarker": marker}


@operation("iot", "DeletePolicy")
def delete_policy(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    policy = get_policy(backend, params["policyName"])
    if len(policy.versions) > 1:
        # AWS's message, doubled "than" included (spec §5).
        raise delete_conflict(
            "The policy cannot be deleted as versions other than than default version exist"
        )
    if identity_of(backend).policy_targets.get(policy.name):
        raise delete_conflict(
            "The policy cannot be deleted as the policy is attached to one or more "
            f"principals (name={policy.name})"
        )
    identity_of(backend).policies.pop(policy.name)
    identity_of(backend).policy_targets.pop(policy.name, None)
    tagging.drop(backend, policy.arn)
    return {}


# --------------------------------------------------------------------------- versions


def _version_output(policy: Policy, version: PolicyVersion) -> dict[str, Any]:
    return {
        "policyArn": policy.arn,
        "policyName": policy.name,
        "policyDocument": version.document,
        "policyVersionId": version.version_id,
        "isDefaultVersion": version.version_id == policy.default_version_id,
    }


@operation("iot", "CreatePolicyVersion")
def create_policy_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    document = params["policyDocument"]
    parse_policy(document)
    if len(policy.versions) >= MAX_POLICY_VERSIONS:
        raise ServiceError(
            "VersionsLimitExceededException",
            f"The policy {policy.name} already has the maximum number of versions "
            f"({MAX_POLICY_VERSIONS})",
        )
    # Version ids keep increasing: an id is never reused after its version is deleted.
    policy.last_version_id += 1
    version = PolicyVersion(str(policy.last_version_id), document, clock.now())
    policy.versions[version.version_id] = version
    if params.get("setAsDefault"):
        policy.default_version_id = version.version_id
    _touch(policy)
    output = _version_output(policy, version)
    del output["policyName"]
    return output


@operation("iot", "GetPolicyVersion")
def get_policy_version_handler(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    version = get_policy_version(policy, params["policyVersionId"])
    return {
        **_version_output(policy, version),
        "creationDate": version.created_at,
        "lastModifiedDate": policy.last_modified_at,
        "generationId": policy.generation_id,
    }


@operation("iot", "ListPolicyVersions")
def list_policy_versions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    newest_first = sorted(policy.versions.values(), key=lambda v: -int(v.version_id))
    return {
        "policyVersions": [
            {
                "versionId": v.version_id,
                "isDefaultVersion": v.version_id == policy.default_version_id,
                "createDate": v.created_at,
            }
            for v in newest_first
        ]
    }


@operation("iot", "SetDefaultPolicyVersion")
def set_default_policy_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    version = get_policy_version(policy, params["policyVersionId"])
    if policy.default_version_id != version.version_id:
        policy.default_version_id = version.version_id
        _touch(policy)
    return {}


@operation("iot", "DeletePolicyVersion")
def delete_policy_version(ctx: RequestContext, params: Params) -> dict[str, Any]:
    policy = get_policy(ctx.backend, params["policyName"])
    version = get_policy_version(policy, params["policyVersionId"])
    if version.version_id == policy.default_version_id:
        raise delete_conflict(
            f"Cannot delete the default version {version.version_id} of policy "
            f"{policy.name}. Make another version the default with SetDefaultPolicyVersion, "
            "or delete the whole policy with DeletePolicy."
        )
    del policy.versions[version.version_id]
    _touch(policy)
    return {}
