"""Device Defender mitigation actions: CreateMitigationAction, DescribeMitigationAction,
UpdateMitigationAction, DeleteMitigationAction, ListMitigationActions.

Audit mitigation tasks and Detect mitigation tasks both apply these actions; they look
them up with `get_mitigation_action(backend, name)`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
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


def _description(action: MitigationAction) -> dict[str, Any]:
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


MITIGATION_ACTIONS: crud.ResourceKind[MitigationAction] = crud.ResourceKind(
    label="Mitigation action",
    arn_type="mitigationaction",
    index=lambda backend: backend.store(MitigationActionStore).actions,
    describe=_description,
    summary=lambda a: {"actionName": a.name, "actionArn": a.arn, "creationDate": a.created_at},
    list_member="actionIdentifiers",
    page_size=DEFAULT_PAGE_SIZE,
    quota=MAX_MITIGATION_ACTIONS,
)
# The mitigation action `name`, or ResourceNotFoundException (used by mitigation tasks).
get_mitigation_action = MITIGATION_ACTIONS.get


@operation("iot", "CreateMitigationAction")
def create_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["actionName"]

    def build(arn: str, now: float) -> MitigationAction:
        check_role_arn(params["roleArn"])
        action_params = params["actionParams"]
        return MitigationAction(
            name=name,
            action_id=str(uuid.uuid4()),
            arn=arn,
            action_type=_action_type(action_params),
            role_arn=params["roleArn"],
            params=action_params,
            created_at=now,
            last_modified_at=now,
        )

    action = crud.create(MITIGATION_ACTIONS, ctx.backend, name, build, params.get("tags"))
    return _identity(action)


@operation("iot", "DescribeMitigationAction")
def describe_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(MITIGATION_ACTIONS, ctx.backend, params["actionName"])


@operation("iot", "UpdateMitigationAction")
def update_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    action = get_mitigation_action(ctx.backend, params["actionName"])
    changed = crud.changes(params, {"roleArn": "role_arn", "actionParams": "params"})
    if "role_arn" in changed:
        check_role_arn(changed["role_arn"])
    if "params" in changed:
        changed["action_type"] = _action_type(changed["params"])
    crud.apply(action, changed)
    return _identity(action)


@operation("iot", "DeleteMitigationAction")
def delete_mitigation_action(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The model lists no ResourceNotFoundException: deleting a missing action succeeds.
    crud.discard(MITIGATION_ACTIONS, ctx.backend, params["actionName"])
    return {}


@operation("iot", "ListMitigationActions")
def list_mitigation_actions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    action_type = params.get("actionType")
    return crud.list_page(
        MITIGATION_ACTIONS,
        ctx,
        params,
        keep=None if action_type is None else (lambda a: a.action_type == action_type),
        scope=str(action_type),
    )
