"""Device Defender mitigation actions: CreateMitigationAction, DescribeMitigationAction,
UpdateMitigationAction, DeleteMitigationAction, ListMitigationActions.

Audit mitigation tasks and Detect mitigation tasks both apply these actions; they look
them up with `get_mitigation_action(backend, name)`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.identity.role_aliases import check_role_arn

# AWS IoT Device Defender quota: mitigation actions per account and region.
MAX_MITIGATION_ACTIONS = 100
# The list operations of Device Defender default to 25 results per page.
DEFAULT_PAGE_SIZE = 25

# actionParams member -> the actionType it defines (one member per action).
ACTION_TYPES: dict[str, str] = {
    "updateDeviceCertificateParams": "UPDATE_DEVICE_CERTIFICATE",
    "updateCACertificateParams": "UPDATE_CA_CERTIFICATE",
    "addThingsToThingGroupParams": "ADD_THINGS_TO_THING_GROUP",
    "replaceDefaultPolicyVersionParams": "REPLACE_DEFAULT_POLICY_VERSION",
    "enableIoTLoggingParams": "ENABLE_IOT_LOGGING",
    "publishFindingToSnsParams": "PUBLISH_FINDING_TO_SNS",
}


@dataclass(slots=True)
class MitigationAction:
    name: str
    action_id: str
    arn: str
    action_type: str
    role_arn: str
    # The MitigationActionParams structure, exactly one member set.
    params: dict[str, Any]
    created_at: float
    last_modified_at: float

    def definition(self) -> dict[str, Any]:
        """The MitigationAction shape (what tasks report in `actionsDefinition`)."""
        return {
            "name": self.name,
            "id": self.action_id,
            "roleArn": self.role_arn,
            "actionParams": self.params,
        }


@dataclass(slots=True)
class MitigationActionStore:
    actions: SortedIndex[MitigationAction] = field(default_factory=SortedIndex)


def _actions(backend: Backend) -> SortedIndex[MitigationAction]:
    return backend.store(MitigationActionStore).actions


def get_mitigation_action(backend: Backend, name: str) -> MitigationAction:
    """The mitigation action `name`, or ResourceNotFoundException."""
    found = _actions(backend).get(name)
    if found is None:
        raise not_found(f"Mitigation action {name} does not exist.")
    return found


@tagging.taggable("mitigationaction")
def _mitigation_action_exists(backend: Backend, name: str) -> bool:
    return name in _actions(backend)


def _action_type(action_params: dict[str, Any]) -> str:
    """The single action type `actionParams` defines."""
    chosen = [member for member, value in action_params.items() if value is not None]
    if len(chosen) != 1:
        raise invalid_request(
            "actionParams must define exactly one type of action (one of "
            f"{', '.join(ACTION_TYPES)}); it defines {len(chosen)}."
        )
    return ACTION_TYPES[chosen[0]]


def _identity(action: MitigationAction) -> dict[str, str]:
    return {"actionArn": action.arn, "actionId": action.action_id}


@operation("iot", "CreateMitigationAction")
def create_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    actions = _actions(backend)
    name = params["actionName"]
    existing = actions.get(name)
    if existing is not None:
        raise already_exists(f"Mitigation action {name} already exists.", name, existing.arn)
    if len(actions) >= MAX_MITIGATION_ACTIONS:
        raise limit_exceeded(
            f"An account can have at most {MAX_MITIGATION_ACTIONS} mitigation actions in a region."
        )
    check_role_arn(params["roleArn"])
    action_params = params["actionParams"]
    action_type = _action_type(action_params)
    now = clock.now()
    action = MitigationAction(
        name=name,
        action_id=str(uuid.uuid4()),
        arn=backend.arn(f"mitigationaction/{name}"),
        action_type=action_type,
        role_arn=params["roleArn"],
        params=action_params,
        created_at=now,
        last_modified_at=now,
    )
    tagging.tag_on_create(backend, action.arn, params.get("tags"))
    actions[name] = action
    return _identity(action)


@operation("iot", "DescribeMitigationAction")
def describe_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    action = get_mitigation_action(ctx.backend, params["actionName"])
    return {
        "actionName": action.name,
        "actionType": action.action_type,
        "actionArn": action.arn,
        "actionId": action.action_id,
        "roleArn": action.role_arn,
        "actionParams": action.params,
        "creationDate": action.created_at,
        "lastModifiedDate": action.last_modified_at,
    }


@operation("iot", "UpdateMitigationAction")
def update_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    action = get_mitigation_action(ctx.backend, params["actionName"])
    role_arn = params.get("roleArn")
    if role_arn is not None:
        check_role_arn(role_arn)
    action_params = params.get("actionParams")
    if action_params is not None:
        action.action_type = _action_type(action_params)
        action.params = action_params
    if role_arn is not None:
        action.role_arn = role_arn
    action.last_modified_at = clock.now()
    return _identity(action)


@operation("iot", "DeleteMitigationAction")
def delete_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The model lists no ResourceNotFoundException: deleting a missing action succeeds.
    action = _actions(ctx.backend).pop(params["actionName"])
    if action is not None:
        tagging.drop(ctx.backend, action.arn)
    return {}


@operation("iot", "ListMitigationActions")
def list_mitigation_actions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    action_type = params.get("actionType")
    page, token = page_of(
        f"ListMitigationActions:{action_type}",
        _actions(ctx.backend),
        params,
        keep=None if action_type is None else (lambda a: a.action_type == action_type),
        default_limit=DEFAULT_PAGE_SIZE,
    )
    return {
        "actionIdentifiers": [
            {"actionName": a.name, "actionArn": a.arn, "creationDate": a.created_at} for a in page
        ],
        "nextToken": token,
    }
