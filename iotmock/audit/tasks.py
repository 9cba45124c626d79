"""Audit tasks, their findings and finding suppressions: StartOnDemandAuditTask,
CancelAuditTask, DescribeAuditTask, ListAuditTasks, DescribeAuditFinding,
ListAuditFindings, ListRelatedResourcesForAuditFinding, and
Create/Describe/Update/Delete/ListAuditSuppressions.

An audit runs its checks synchronously when it starts (unless tasks are held, see
`IotMock.audit.hold_tasks`), against the state of the mock at that moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from iotmock.audit.checks import CHECKS, Draft
from iotmock.audit.config import audit_store, check_enabled, check_known, get_scheduled_audit
from iotmock.audit.records import (
    DEFAULT_PAGE_SIZE,
    RETENTION_SECONDS,
    AuditStore,
    AuditTask,
    CheckRun,
    Finding,
    Suppression,
    identifier_key,
    in_list_order,
    items_between,
    seconds_of,
    tasks_page,
    time_key,
)
from iotmock.core import clock, crud
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.core.task_kinds import TaskKind

# Suppressions that never expire sort after every dated one.
_NEVER_MILLIS = 10**15 - 1

AUDIT_TASKS: TaskKind[AuditTask] = TaskKind(
    "The audit task", lambda backend: audit_store(backend).tasks
)


# --------------------------------------------------------------------------- running audits


def start_audit(
    ctx: RequestContext, task_type: str, check_names: list[str], scheduled_name: str | None
) -> AuditTask:
    """Create an audit task and, unless tasks are held, run it to completion now."""
    store = audit_store(ctx.backend)
    task = AuditTask(
        task_id=uuid.uuid4().hex,
        task_type=task_type,
        status="IN_PROGRESS",
        start_time=clock.now(),
        check_names=list(dict.fromkeys(check_names)),
        scheduled_audit_name=scheduled_name,
    )
    task.checks = {name: CheckRun("IN_PROGRESS") for name in task.check_names}
    store.tasks[task.task_id] = task
    store.tasks_by_time[time_key(task.start_time, task.task_id)] = task
    if not store.hold:
        run_audit(ctx.backend, task)
    return task


def run_scheduled_audit(ctx: RequestContext, name: str) -> AuditTask:
    audit = get_scheduled_audit(ctx.backend, name)
    return start_audit(ctx, "SCHEDULED_AUDIT_TASK", audit.check_names, audit.name)


def _suppressed(backend: Backend, check_name: str, draft: Draft, now: float) -> bool:
    found = audit_store(backend).suppressions.get((check_name, identifier_key(draft.identifier)))
    return found is not None and found.active(now)


def run_audit(backend: Backend, task: AuditTask) -> None:
    """Run every check of an IN_PROGRESS task and record its findings."""
    store = audit_store(backend)
    configuration = store.configuration
    now = clock.now()
    for name in task.check_names:
        check = CHECKS[name]
        settings = configuration.settings.get(name, {}) if configuration else {}
        outcome = check.run(backend, settings)
        run = task.checks[name]
        run.total = outcome.total
        for draft in outcome.drafts:
            finding = Finding(
                finding_id=str(uuid.uuid4()),
                task_id=task.task_id,
                check_name=name,
                task_start_time=task.start_time,
                finding_time=now,
                severity=check.severity,
                resource={
                    "resourceType": draft.resource_type,
                    "resourceIdentifier": draft.identifier,
                    "additionalInfo": draft.additional_info or None,
                },
                related=draft.related,
                reason=draft.reason,
                reason_code=draft.reason_code,
                suppressed=_suppressed(backend, name, draft, now),
            )
            store.findings[finding.finding_id] = finding
            key = time_key(now, finding.finding_id)
            store.findings_by_time[key] = finding
            task.findings[f"{len(task.findings):08d}"] = finding
            run.non_compliant += 1
            run.suppressed += finding.suppressed
        # Suppressed findings do not make a check non-compliant (docs/audit.md).
        unsuppressed = run.non_compliant - run.suppressed
        run.status = "COMPLETED_NON_COMPLIANT" if unsuppressed else "COMPLETED_COMPLIANT"
    task.status = "COMPLETED"
    _notify(backend, task)


def _statistics(task: AuditTask) -> dict[str, int]:
    statuses = [run.status for run in task.checks.values()]
    return {
        "totalChecks": len(statuses),
        "inProgressChecks": statuses.count("IN_PROGRESS"),
        "waitingForDataCollectionChecks": statuses.count("WAITING_FOR_DATA_COLLECTION"),
        "compliantChecks": statuses.count("COMPLETED_COMPLIANT"),
        "nonCompliantChecks": statuses.count("COMPLETED_NON_COMPLIANT"),
        "failedChecks": statuses.count("FAILED"),
        "canceledChecks": statuses.count("CANCELED"),
    }


def _notify(backend: Backend, task: AuditTask) -> None:
    """The SNS notification AWS sends when an audit ends, if the account enabled one."""
    store = audit_store(backend)
    target = (store.configuration.targets if store.configuration else {}).get("SNS")
    if not target or not target.get("enabled"):
        return
    statistics = _statistics(task)
    message = {
        "accountId": backend.account_id,
        "taskId": task.task_id,
        "taskStatus": task.status,
        "taskType": task.task_type,
        "scheduledAuditName": task.scheduled_audit_name,
        "failedChecksCount": statistics["failedChecks"],
        "canceledChecksCount": statistics["canceledChecks"],
        "nonCompliantChecksCount": statistics["nonCompliantChecks"],
        "compliantChecksCount": statistics["compliantChecks"],
        "totalChecksCount": statistics["totalChecks"],
        "taskStartTime": int(task.start_time * 1000),
        "auditDetails": [
            {
                "checkName": name,
                "checkRunStatus": run.status,
                "nonCompliantResourcesCount": run.non_compliant,
                "totalResourcesCount": run.total,
            }
            for name, run in task.checks.items()
        ],
    }
    store.notifications.append(
        {"targetArn": target["targetArn"], "roleArn": target.get("roleArn"), "message": message}
    )


def run_held_tasks(backend: Backend) -> list[str]:
    """Run every audit task still IN_PROGRESS; their ids."""
    return AUDIT_TASKS.run_held(backend, lambda task: run_audit(backend, task))


# --------------------------------------------------------------------------- audit tasks


@operation("iot", "StartOnDemandAuditTask")
def start_on_demand_audit_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    check_names = params["targetCheckNames"]
    if not check_names:
        raise invalid_request("targetCheckNames must name at least one audit check.")
    check_enabled(ctx.backend, check_names)
    task = start_audit(ctx, "ON_DEMAND_AUDIT_TASK", check_names, None)
    return {"taskId": task.task_id}


@operation("iot", "CancelAuditTask")
def cancel_audit_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = AUDIT_TASKS.cancel(ctx.backend, params["taskId"])
    for run in task.checks.values():
        if run.status == "IN_PROGRESS":
            run.status = "CANCELED"
    return {}


@operation("iot", "DescribeAuditTask")
def describe_audit_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = AUDIT_TASKS.get(ctx.backend, params["taskId"])
    return {
        "taskStatus": task.status,
        "taskType": task.task_type,
        "taskStartTime": task.start_time,
        "taskStatistics": _statistics(task),
        "scheduledAuditName": task.scheduled_audit_name,
        "auditDetails": {name: run.shape() for name, run in task.checks.items()},
    }


def _check_period(start: float, end: float) -> None:
    if start < clock.now() - RETENTION_SECONDS:
        raise invalid_request(
            "startTime is more than 90 days in the past; audit results are retained for 90 days."
        )
    if end < start:
        raise invalid_request("endTime must not be earlier than startTime.")


@operation("iot", "ListAuditTasks")
def list_audit_tasks(ctx: RequestContext, params: Params) -> dict[str, Any]:
    start, end = seconds_of(params["startTime"]), seconds_of(params["endTime"])
    _check_period(start, end)
    task_type, status = params.get("taskType"), params.get("taskStatus")

    def keep(task: AuditTask) -> bool:
        return (task_type is None or task.task_type == task_type) and (
            status is None or task.status == status
        )

    by_time = audit_store(ctx.backend).tasks_by_time
    return tasks_page(ctx, params, by_time, keep, f"{task_type}:{status}")


# --------------------------------------------------------------------------- findings


def get_finding(backend: Backend, finding_id: str) -> Finding:
    found = audit_store(backend).findings.get(finding_id)
    return crud.required(found, f"The audit finding {finding_id} does not exist.")


@operation("iot", "DescribeAuditFinding")
def describe_audit_finding(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return {"finding": get_finding(ctx.backend, params["findingId"]).shape()}


FindingSource = Callable[[str | None], Iterator[tuple[str, Finding]]]


def _findings_source(store: AuditStore, params: Params) -> tuple[FindingSource, str]:
    """The findings of one audit (taskId) or of a period (startTime and endTime)."""
    task_id = params.get("taskId")
    start, end = params.get("startTime"), params.get("endTime")
    if task_id is not None:
        if start is not None or end is not None:
            raise invalid_request("Specify either taskId or startTime and endTime, not both.")
        # An unknown task has no findings: the operation models no ResourceNotFound.
        task = store.tasks.get(task_id)
        findings = task.findings if task is not None else SortedIndex[Finding]()
        return findings.items_after, f"task:{task_id}"
    if start is None or end is None:
        raise invalid_request("Specify either taskId or both startTime and endTime.")
    first, last = seconds_of(start), seconds_of(end)
    return items_between(store.findings_by_time, first, last), f"time:{first}:{last}"


@operation("iot", "ListAuditFindings")
def list_audit_findings(ctx: RequestContext, params: Params) -> dict[str, Any]:
    source, scope = _findings_source(audit_store(ctx.backend), params)
    check_name = params.get("checkName")
    identifier = params.get("resourceIdentifier")
    wanted_key = identifier_key(identifier) if identifier else None
    suppressed = params.get("listSuppressedFindings")

    def keep(finding: Finding) -> bool:
        return (
            (check_name is None or finding.check_name == check_name)
            and (wanted_key is None or finding.resource_key == wanted_key)
            and (suppressed is None or finding.suppressed == suppressed)
        )

    return crud.page(
        ctx,
        params,
        source,
        "findings",
        Finding.shape,
        scope=f"{scope}:{check_name}:{wanted_key}:{suppressed}",
        keep=keep,
        default_limit=DEFAULT_PAGE_SIZE,
    )


@operation("iot", "ListRelatedResourcesForAuditFinding")
def list_related_resources_for_audit_finding(ctx: RequestContext, params: Params) -> dict[str, Any]:
    finding = get_finding(ctx.backend, params["findingId"])
    return crud.page(
        ctx,
        params,
        in_list_order(finding.related),
        "relatedResources",
        lambda resource: resource,
        scope=finding.finding_id,
        default_limit=DEFAULT_PAGE_SIZE,
    )


# --------------------------------------------------------------------------- suppressions


def _suppression_key(params: Params) -> tuple[str, str]:
    return params["checkName"], identifier_key(params["resourceIdentifier"])


def get_suppression(backend: Backend, params: Params) -> Suppression:
    found = audit_store(backend).suppressions.get(_suppression_key(params))
    message = f"No audit suppression exists for check {params['checkName']} and this resource."
    return crud.required(found, message)


def _expiry_fields(params: Params, current: Suppression | None) -> tuple[float | None, bool]:
    """The (expirationDate, suppressIndefinitely) pair a request asks for."""
    expiration = params.get("expirationDate")
    indefinitely = params.get("suppressIndefinitely")
    if expiration is not None and indefinitely:
        raise invalid_request("Give either expirationDate or suppressIndefinitely=true, not both.")
    if expiration is not None:
        seconds = seconds_of(expiration)
        if seconds <= clock.now():
            raise invalid_request("expirationDate must be in the future.")
        return seconds, False
    if indefinitely is not None:
        if not indefinitely and current is None:
            raise invalid_request("A suppression needs an expirationDate unless it is indefinite.")
        return (None, True) if indefinitely else (current.expiration if current else None, False)
    if current is not None:
        return current.expiration, current.indefinitely
    # Neither given: the suppression lasts until it is deleted (docs/audit.md).
    return None, True


def _order_suppression(backend: Backend, suppression: Suppression) -> None:
    key = "|".join((suppression.check_name, identifier_key(suppression.identifier)))
    millis = _NEVER_MILLIS if suppression.expiration is None else int(suppression.expiration * 1000)
    audit_store(backend).suppressions_by_expiry.put(key, millis, suppression)


@operation("iot", "CreateAuditSuppression")
def create_audit_suppression(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = audit_store(backend)
    check_known([params["checkName"]])
    key = _suppression_key(params)
    existing = store.suppressions.get(key)
    if existing is not None:
        if existing.client_token == params["clientRequestToken"]:
            return {}  # An idempotent retry of the same request.
        raise ServiceError(
            "ResourceAlreadyExistsException",
            f"An audit suppression already exists for check {params['checkName']} and this "
            "resource.",
        )
    expiration, indefinitely = _expiry_fields(params, None)
    suppression = Suppression(
        check_name=params["checkName"],
        identifier=dict(params["resourceIdentifier"]),
        expiration=expiration,
        indefinitely=indefinitely,
        description=params.get("description"),
        client_token=params["clientRequestToken"],
    )
    store.suppressions[key] = suppression
    _order_suppression(backend, suppression)
    return {}


@operation("iot", "DescribeAuditSuppression")
def describe_audit_suppression(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return get_suppression(ctx.backend, params).shape()


@operation("iot", "UpdateAuditSuppression")
def update_audit_suppression(ctx: RequestContext, params: Params) -> dict[str, Any]:
    suppression = get_suppression(ctx.backend, params)
    suppression.expiration, suppression.indefinitely = _expiry_fields(params, suppression)
    if "description" in params:
        suppression.description = params["description"]
    _order_suppression(ctx.backend, suppression)
    return {}


@operation("iot", "DeleteAuditSuppression")
def delete_audit_suppression(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The operation models no ResourceNotFoundException: deleting nothing succeeds.
    store = audit_store(ctx.backend)
    key = _suppression_key(params)
    if store.suppressions.pop(key, None) is not None:
        store.suppressions_by_expiry.remove("|".join(key))
    return {}


@operation("iot", "ListAuditSuppressions")
def list_audit_suppressions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    check_name = params.get("checkName")
    identifier = params.get("resourceIdentifier")
    wanted_key = identifier_key(identifier) if identifier else None
    ascending = params.get("ascendingOrder", True)

    def keep(suppression: Suppression) -> bool:
        return (check_name is None or suppression.check_name == check_name) and (
            wanted_key is None or identifier_key(suppression.identifier) == wanted_key
        )

    page, token = audit_store(ctx.backend).suppressions_by_expiry.page(
        f"ListAuditSuppressions:{check_name}:{wanted_key}", params, ascending=ascending, keep=keep
    )
    return {"suppressions": [s.shape() for s in page], "nextToken": token}
