"""Audit mitigation actions tasks: StartAuditMitigationActionsTask,
CancelAuditMitigationActionsTask, DescribeAuditMitigationActionsTask,
ListAuditMitigationActionsTasks, ListAuditMitigationActionsExecutions.

A task applies the account's mitigation actions (iotmock.defender.mitigation_actions)
to audit findings, for real where the action maps onto mock state: certificates and CA
certificates are deactivated, things join thing groups, a blank policy version becomes
the default; ENABLE_IOT_LOGGING turns IoT logging on for the audit's LOGGING_DISABLED_CHECK
and PUBLISH_FINDING_TO_SNS records the notification (IotMock.audit.notifications).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from iotmock.audit.checks import CHECKS
from iotmock.audit.config import audit_store
from iotmock.audit.records import (
    DEFAULT_PAGE_SIZE,
    ActionExecution,
    CheckStatistics,
    Finding,
    MitigationTask,
    in_list_order,
    tasks_page,
    time_key,
)
from iotmock.core import clock, crud
from iotmock.core.errors import ServiceError, invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.task_kinds import TaskKind
from iotmock.identity.ca_certificates import change_ca_status, get_ca
from iotmock.identity.certificates import change_status, get_certificate
from iotmock.identity.policies import create_policy_version
from iotmock.identity.records import identity_of
from iotmock.logging.options import set_v1_options
from iotmock.registry.records import Thing, registry_of
from iotmock.registry.thing_groups import add_thing_to_group, get_group

# The audit checks each action type applies to (DG:dd-mitigation-actions).
_CERTIFICATE_CHECKS = frozenset(
    {
        "DEVICE_CERTIFICATE_EXPIRING_CHECK",
        "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK",
        "DEVICE_CERTIFICATE_SHARED_CHECK",
        "DEVICE_CERTIFICATE_AGE_CHECK",
        "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
        "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK",
    }
)
ACTION_CHECKS: dict[str, frozenset[str]] = {
    "UPDATE_DEVICE_CERTIFICATE": _CERTIFICATE_CHECKS,
    "UPDATE_CA_CERTIFICATE": frozenset(
        {
            "CA_CERTIFICATE_EXPIRING_CHECK",
            "CA_CERTIFICATE_KEY_QUALITY_CHECK",
            "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
        }
    ),
    "ADD_THINGS_TO_THING_GROUP": _CERTIFICATE_CHECKS
    | {
        "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
        "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
        "CONFLICTING_CLIENT_IDS_CHECK",
        "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
    },
    "REPLACE_DEFAULT_POLICY_VERSION": frozenset({"IOT_POLICY_OVERLY_PERMISSIVE_CHECK"}),
    "ENABLE_IOT_LOGGING": frozenset({"LOGGING_DISABLED_CHECK"}),
    "PUBLISH_FINDING_TO_SNS": frozenset(CHECKS),
}

# The BLANK_POLICY template of REPLACE_DEFAULT_POLICY_VERSION: a version granting nothing.
BLANK_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
)
# Actions per audit check in one task (Device Defender quota).
MAX_ACTIONS_PER_CHECK = 5

MITIGATION_TASKS: TaskKind[MitigationTask] = TaskKind(
    "The audit mitigation actions task",
    lambda backend: audit_store(backend).mitigation_tasks,
    client_token=lambda task: task.client_token,
)


class Action(Protocol):
    """What this module needs of a mitigation action record."""

    @property
    def name(self) -> str: ...
    @property
    def action_id(self) -> str: ...
    @property
    def role_arn(self) -> str: ...
    @property
    def action_type(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...
    def definition(self) -> dict[str, Any]: ...


class ActionFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- the actions


def _finding_certificate_ids(finding: Finding) -> list[str]:
    resources = [finding.resource, *finding.related]
    return [
        r["resourceIdentifier"]["deviceCertificateId"]
        for r in resources
        if r["resourceType"] == "DEVICE_CERTIFICATE"
    ]


def _deactivate_certificate(ctx: RequestContext, finding: Finding, action: Action) -> None:
    certificate_id = finding.resource["resourceIdentifier"].get("deviceCertificateId")
    change_status(ctx, get_certificate(ctx.backend, certificate_id or ""), "INACTIVE")


def _deactivate_ca(ctx: RequestContext, finding: Finding, action: Action) -> None:
    ca = get_ca(ctx.backend, finding.resource["resourceIdentifier"].get("caCertificateId") or "")
    change_ca_status(ca, "INACTIVE")


def _finding_things(ctx: RequestContext, finding: Finding) -> list[Thing]:
    """The things behind a finding: those attached to its certificates, and the thing
    named like its client id (AWS's convention for MQTT client ids)."""
    backend = ctx.backend
    names: dict[str, None] = {}
    for certificate_id in _finding_certificate_ids(finding):
        record = identity_of(backend).certificates.get(certificate_id)
        if record is not None:
            names.update(dict.fromkeys(registry_of(backend).principal_things.get(record.arn, {})))
    client_id = finding.resource["resourceIdentifier"].get("clientId")
    if client_id and client_id in registry_of(backend).things:
        names[client_id] = None
    return [
        registry_of(backend).things[name] for name in names if name in registry_of(backend).things
    ]


def _add_things_to_groups(ctx: RequestContext, finding: Finding, action: Action) -> None:
    group_names = action.params["addThingsToThingGroupParams"]["thingGroupNames"]
    groups = [get_group(ctx.backend, name) for name in group_names]
    things = _finding_things(ctx, finding)
    if not things:
        raise ActionFailed("RESOURCE_NOT_FOUND", "No thing is associated with the finding.")
    for group in groups:
        for thing in things:
            add_thing_to_group(ctx, thing, group)


def _replace_default_policy_version(ctx: RequestContext, finding: Finding, action: Action) -> None:
    version = finding.resource["resourceIdentifier"].get("policyVersionIdentifier") or {}
    create_policy_version(
        ctx,
        {
            "policyName": version.get("policyName", ""),
            "policyDocument": BLANK_POLICY,
            "setAsDefault": True,
        },
    )


def _enable_logging(ctx: RequestContext, finding: Finding, action: Action) -> None:
    options = action.params["enableIoTLoggingParams"]
    set_v1_options(ctx.backend, options["roleArnForLogging"], options["logLevel"])


def _publish_to_sns(ctx: RequestContext, finding: Finding, action: Action) -> None:
    audit_store(ctx.backend).notifications.append(
        {
            "targetArn": action.params["publishFindingToSnsParams"]["topicArn"],
            "roleArn": action.role_arn,
            "message": json.loads(json.dumps(finding.shape(), default=str)),
        }
    )


Runner = Callable[[RequestContext, Finding, Action], None]
RUNNERS: dict[str, Runner] = {
    "UPDATE_DEVICE_CERTIFICATE": _deactivate_certificate,
    "UPDATE_CA_CERTIFICATE": _deactivate_ca,
    "ADD_THINGS_TO_THING_GROUP": _add_things_to_groups,
    "REPLACE_DEFAULT_POLICY_VERSION": _replace_default_policy_version,
    "ENABLE_IOT_LOGGING": _enable_logging,
    "PUBLISH_FINDING_TO_SNS": _publish_to_sns,
}


def _execute(
    ctx: RequestContext, execution: ActionExecution, finding: Finding, action: Action
) -> None:
    try:
        RUNNERS[action.action_type](ctx, finding, action)
    except (ServiceError, ActionFailed) as error:
        execution.status, execution.error_code, execution.message = (
            "FAILED",
            error.code,
            error.message,
        )
    else:
        execution.status = "COMPLETED"
    execution.end_time = clock.now()


# --------------------------------------------------------------------------- tasks


def _resolve_actions(ctx: RequestContext, mapping: dict[str, list[str]]) -> dict[str, Action]:
    # Imported here so the audit family loads even where the mitigation actions family
    # (Create/Describe/Update/Delete/ListMitigationActions) is not merged yet.
    from iotmock.defender.mitigation_actions import get_mitigation_action

    actions: dict[str, Action] = {}
    for check_name, names in mapping.items():
        if check_name not in CHECKS:
            raise invalid_request(f"Unknown audit check name: {check_name}.")
        if len(names) > MAX_ACTIONS_PER_CHECK:
            raise invalid_request(
                f"At most {MAX_ACTIONS_PER_CHECK} mitigation actions can be applied to "
                f"{check_name}."
            )
        for name in names:
            try:
                action = actions.get(name) or get_mitigation_action(ctx.backend, name)
            except ServiceError:
                raise invalid_request(f"The mitigation action {name} does not exist.") from None
            if check_name not in ACTION_CHECKS[action.action_type]:
                raise invalid_request(
                    f"The mitigation action {name} ({action.action_type}) cannot be applied "
                    f"to findings of {check_name}."
                )
            actions[name] = action
    return actions


def _target_findings(ctx: RequestContext, target: dict[str, Any]) -> list[Finding]:
    store = audit_store(ctx.backend)
    audit_task_id, finding_ids = target.get("auditTaskId"), target.get("findingIds")
    if bool(audit_task_id) == bool(finding_ids):
        raise invalid_request("The target must give either auditTaskId or findingIds.")
    if target.get("auditCheckToReasonCodeFilter") and not audit_task_id:
        raise invalid_request("auditCheckToReasonCodeFilter can only be used with auditTaskId.")
    if audit_task_id:
        task = store.tasks.get(audit_task_id)
        if task is None:
            raise invalid_request(f"The audit task {audit_task_id} does not exist.")
        return list(task.findings.values())
    findings = []
    for finding_id in dict.fromkeys(finding_ids or ()):
        finding = store.findings.get(finding_id)
        if finding is None:
            raise invalid_request(f"The audit finding {finding_id} does not exist.")
        findings.append(finding)
    return findings


def _plan(task: MitigationTask, findings: list[Finding]) -> None:
    """Which findings the task acts on; those its reason-code filter excludes are skipped."""
    reason_filter = task.target.get("auditCheckToReasonCodeFilter") or {}
    for finding in findings:
        if finding.check_name not in task.mapping:
            continue
        statistics = task.statistics.setdefault(finding.check_name, CheckStatistics())
        statistics.total += 1
        codes = reason_filter.get(finding.check_name)
        if codes is not None and finding.reason_code not in codes:
            statistics.skipped += 1
            task.skipped_ids.append(finding.finding_id)
        else:
            task.finding_ids.append(finding.finding_id)


def run_held_mitigation_tasks(ctx: RequestContext) -> list[str]:
    """Run every held audit mitigation actions task; their ids."""
    held = audit_store(ctx.backend).held_mitigations
    return MITIGATION_TASKS.run_held(
        ctx.backend, lambda task: run_mitigation_task(ctx, task, held.pop(task.task_id))
    )


def run_mitigation_task(
    ctx: RequestContext, task: MitigationTask, actions: dict[str, Action]
) -> None:
    store = audit_store(ctx.backend)
    for finding_id in task.finding_ids:
        finding = store.findings[finding_id]
        ok = True
        for name in task.mapping[finding.check_name]:
            action = actions[name]
            execution = ActionExecution(
                task_id=task.task_id,
                finding_id=finding_id,
                action_name=name,
                action_id=action.action_id,
                status="IN_PROGRESS",
                start_time=clock.now(),
            )
            task.executions[(finding_id, name)] = execution
            _execute(ctx, execution, finding, action)
            ok = ok and execution.status == "COMPLETED"
        statistics = task.statistics[finding.check_name]
        if ok:
            statistics.succeeded += 1
        else:
            statistics.failed += 1
    task.status = "COMPLETED"
    task.end_time = clock.now()


@operation("iot", "StartAuditMitigationActionsTask")
def start_audit_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = audit_store(ctx.backend)
    task_id = params["taskId"]
    if MITIGATION_TASKS.repeated(ctx.backend, task_id, params["clientRequestToken"]):
        return {"taskId": task_id}  # An idempotent retry.
    mapping = {check: list(names) for check, names in params["auditCheckToActionsMapping"].items()}
    actions = _resolve_actions(ctx, mapping)
    findings = _target_findings(ctx, params["target"])
    task = MitigationTask(
        task_id=task_id,
        status="IN_PROGRESS",
        start_time=clock.now(),
        target=dict(params["target"]),
        mapping=mapping,
        definitions=[action.definition() for action in actions.values()],
        client_token=params["clientRequestToken"],
    )
    _plan(task, findings)
    store.mitigation_tasks[task_id] = task
    store.mitigation_by_time[time_key(task.start_time, task_id)] = task
    if store.hold:
        store.held_mitigations[task_id] = actions
    else:
        run_mitigation_task(ctx, task, actions)
    return {"taskId": task_id}


@operation("iot", "CancelAuditMitigationActionsTask")
def cancel_audit_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = MITIGATION_TASKS.cancel(ctx.backend, params["taskId"])
    audit_store(ctx.backend).held_mitigations.pop(task.task_id, None)
    task.end_time = clock.now()
    for finding_id in task.finding_ids:
        finding = audit_store(ctx.backend).findings[finding_id]
        task.statistics[finding.check_name].canceled += 1
    return {}


@operation("iot", "DescribeAuditMitigationActionsTask")
def describe_audit_mitigation_actions_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = MITIGATION_TASKS.get(ctx.backend, params["taskId"])
    return {
        "taskStatus": task.status,
        "startTime": task.start_time,
        "endTime": task.end_time,
        "taskStatistics": {check: s.shape() for check, s in task.statistics.items()},
        "target": task.target,
        "auditCheckToActionsMapping": task.mapping,
        "actionsDefinition": task.definitions,
    }


@operation("iot", "ListAuditMitigationActionsTasks")
def list_audit_mitigation_actions_tasks(ctx: RequestContext, params: Params) -> dict[str, Any]:
    audit_task_id, finding_id = params.get("auditTaskId"), params.get("findingId")
    status = params.get("taskStatus")

    def keep(task: MitigationTask) -> bool:
        return (
            (status is None or task.status == status)
            and (audit_task_id is None or task.target.get("auditTaskId") == audit_task_id)
            and (
                finding_id is None
                or finding_id in task.finding_ids
                or finding_id in task.skipped_ids
            )
        )

    by_time = audit_store(ctx.backend).mitigation_by_time
    return tasks_page(ctx, params, by_time, keep, f"{audit_task_id}:{finding_id}:{status}")


@operation("iot", "ListAuditMitigationActionsExecutions")
def list_audit_mitigation_actions_executions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = audit_store(ctx.backend).mitigation_tasks.get(params["taskId"])
    finding_id, status = params["findingId"], params.get("actionStatus")
    # An unknown task has no executions: the operation models no ResourceNotFound.
    names = task.mapping.get(_check_of(ctx, finding_id), []) if task is not None else []
    executions = [
        task.executions[(finding_id, name)]
        for name in names
        if task is not None and (finding_id, name) in task.executions
    ]
    return crud.page(
        ctx,
        params,
        in_list_order(executions),
        "actionsExecutions",
        ActionExecution.shape,
        scope=f"{params['taskId']}:{finding_id}:{status}",
        keep=lambda e: status is None or e.status == status,
        default_limit=DEFAULT_PAGE_SIZE,
    )


def _check_of(ctx: RequestContext, finding_id: str) -> str:
    finding = audit_store(ctx.backend).findings.get(finding_id)
    return finding.check_name if finding is not None else ""
