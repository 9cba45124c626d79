"""Private records of Device Defender Audit and their indexes.

One `AuditStore` per (account, region): the account audit configuration, scheduled
audits, audit tasks and their findings, suppressions, audit mitigation actions tasks, and
what the audit checks observe besides the shared registry (MQTT connections seen,
certificates revoked by their issuer, IoT logging, SNS notifications).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from iotmock.core import crud
from iotmock.core.operations import Output, Params, RequestContext
from iotmock.core.paging import SortedIndex, key_range, paginate

V = TypeVar("V")
# A `paginate` source: (key, item) pairs after a key.
Source = Callable[[str | None], Iterator[tuple[str, V]]]

# Device Defender lists default to 25 results per page (API reference).
DEFAULT_PAGE_SIZE = 25
# Audit tasks and findings are retained for 90 days (API:ListAuditTasks).
RETENTION_SECONDS = 90 * 24 * 3600

_MAX_MILLIS = 10**15 - 1


def seconds_of(value: dt.datetime | float) -> float:
    """A timestamp member (datetime) as epoch seconds."""
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


def time_key(seconds: float, unique: str) -> str:
    """A key that sorts by time (milliseconds), ties broken by `unique`."""
    millis = min(max(int(seconds * 1000), 0), _MAX_MILLIS)
    return f"{millis:015d}|{unique}"


def identifier_key(identifier: dict[str, Any]) -> str:
    """A canonical text of a ResourceIdentifier (member order does not matter)."""
    return json.dumps(identifier, sort_keys=True, separators=(",", ":"))


class TwoWayOrder(Generic[V]):
    """Items ordered by a sort value, paged forwards or backwards in O(page)."""

    __slots__ = ("_down", "_keys", "_up")

    def __init__(self) -> None:
        self._up: SortedIndex[V] = SortedIndex()
        self._down: SortedIndex[V] = SortedIndex()
        self._keys: dict[str, tuple[str, str]] = {}

    def put(self, item_id: str, millis: int, item: V) -> None:
        self.remove(item_id)
        up = f"{millis:015d}|{item_id}"
        # Reversed order: complement the time; ids rarely tie, so reversing them by
        # suffix order is not needed for a stable order.
        down = f"{_MAX_MILLIS - millis:015d}|{item_id}"
        self._keys[item_id] = (up, down)
        self._up[up] = item
        self._down[down] = item

    def remove(self, item_id: str) -> None:
        keys = self._keys.pop(item_id, None)
        if keys is not None:
            self._up.pop(keys[0])
            self._down.pop(keys[1])

    def page(
        self,
        scope: str,
        params: dict[str, Any],
        *,
        ascending: bool,
        keep: Callable[[V], bool] | None = None,
    ) -> tuple[list[V], str | None]:
        index = self._up if ascending else self._down
        return audit_page(
            f"{scope}:{'asc' if ascending else 'desc'}", index.items_after, params, keep
        )


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class ScheduledAudit:
    name: str
    arn: str
    frequency: str
    day_of_month: str | None
    day_of_week: str | None
    check_names: list[str]

    def summary(self) -> dict[str, Any]:
        return {
            "scheduledAuditName": self.name,
            "scheduledAuditArn": self.arn,
            "frequency": self.frequency,
            "dayOfMonth": self.day_of_month,
            "dayOfWeek": self.day_of_week,
        }


@dataclass(slots=True)
class CheckRun:
    """The AuditCheckDetails of one check of one audit task."""

    status: str
    total: int = 0
    non_compliant: int = 0
    suppressed: int = 0

    def shape(self) -> dict[str, Any]:
        completed = self.status.startswith("COMPLETED")
        return {
            "checkRunStatus": self.status,
            "checkCompliant": self.status == "COMPLETED_COMPLIANT" if completed else None,
            "totalResourcesCount": self.total if completed else None,
            "nonCompliantResourcesCount": self.non_compliant if completed else None,
            "suppressedNonCompliantResourcesCount": self.suppressed if completed else None,
        }


@dataclass(slots=True)
class AuditTask:
    task_id: str
    task_type: str
    status: str
    start_time: float
    check_names: list[str]
    scheduled_audit_name: str | None = None
    checks: dict[str, CheckRun] = field(default_factory=dict)
    # Findings in the order the audit produced them.
    findings: SortedIndex[Finding] = field(default_factory=SortedIndex)

    def summary(self) -> dict[str, Any]:
        return {"taskId": self.task_id, "taskStatus": self.status, "taskType": self.task_type}


@dataclass(slots=True)
class Finding:
    finding_id: str
    task_id: str
    check_name: str
    task_start_time: float
    finding_time: float
    severity: str
    resource: dict[str, Any]
    related: list[dict[str, Any]]
    reason: str
    reason_code: str
    suppressed: bool

    @property
    def resource_key(self) -> str:
        return identifier_key(self.resource["resourceIdentifier"])

    def shape(self) -> dict[str, Any]:
        return {
            "findingId": self.finding_id,
            "taskId": self.task_id,
            "checkName": self.check_name,
            "taskStartTime": self.task_start_time,
            "findingTime": self.finding_time,
            "severity": self.severity,
            "nonCompliantResource": self.resource,
            # DescribeAuditFinding returns at most 10 related resources; the paged
            # ListRelatedResourcesForAuditFinding returns them all (API reference). None
            # is no key: AWS's CLI example describe-audit-finding has no empty list.
            "relatedResources": self.related[:10] or None,
            "reasonForNonCompliance": self.reason,
            "reasonForNonComplianceCode": self.reason_code,
            "isSuppressed": self.suppressed,
        }


@dataclass(slots=True)
class Suppression:
    check_name: str
    identifier: dict[str, Any]
    expiration: float | None
    indefinitely: bool
    description: str | None
    client_token: str

    def active(self, now: float) -> bool:
        return self.indefinitely or self.expiration is None or self.expiration > now

    def shape(self) -> dict[str, Any]:
        return {
            "checkName": self.check_name,
            "resourceIdentifier": self.identifier,
            "expirationDate": self.expiration,
            "suppressIndefinitely": self.indefinitely,
            "description": self.description,
        }


@dataclass(slots=True)
class ActionExecution:
    task_id: str
    finding_id: str
    action_name: str
    action_id: str
    status: str
    start_time: float
    end_time: float | None = None
    error_code: str | None = None
    message: str | None = None

    def shape(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "findingId": self.finding_id,
            "actionName": self.action_name,
            "actionId": self.action_id,
            "status": self.status,
            "startTime": self.start_time,
            "endTime": self.end_time,
            "errorCode": self.error_code,
            "message": self.message,
        }


@dataclass(slots=True)
class CheckStatistics:
    """TaskStatisticsForAuditCheck of one check of a mitigation actions task."""

    total: int = 0
    failed: int = 0
    succeeded: int = 0
    skipped: int = 0
    canceled: int = 0

    def shape(self) -> dict[str, int]:
        return {
            "totalFindingsCount": self.total,
            "failedFindingsCount": self.failed,
            "succeededFindingsCount": self.succeeded,
            "skippedFindingsCount": self.skipped,
            "canceledFindingsCount": self.canceled,
        }


@dataclass(slots=True)
class MitigationTask:
    task_id: str
    status: str
    start_time: float
    target: dict[str, Any]
    mapping: dict[str, list[str]]
    definitions: list[dict[str, Any]]
    client_token: str
    # The findings the task applies to, by check (filtered ones are counted as skipped).
    finding_ids: list[str] = field(default_factory=list)
    skipped_ids: list[str] = field(default_factory=list)
    end_time: float | None = None
    statistics: dict[str, CheckStatistics] = field(default_factory=dict)
    # (finding id, action name) -> execution, in execution order.
    executions: dict[tuple[str, str], ActionExecution] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {"taskId": self.task_id, "startTime": self.start_time, "taskStatus": self.status}


@dataclass(slots=True)
class AuditConfiguration:
    """What UpdateAccountAuditConfiguration set (None in the store until the first call)."""

    role_arn: str
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    enabled: dict[str, bool] = field(default_factory=dict)
    settings: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(slots=True)
class Session:
    """One MQTT connection of a principal, as the lifecycle events showed it."""

    client_id: str
    connected_ms: int
    disconnected_ms: int | None = None


@dataclass(slots=True)
class AuditStore:
    configuration: AuditConfiguration | None = None
    scheduled: SortedIndex[ScheduledAudit] = field(default_factory=SortedIndex)
    tasks: dict[str, AuditTask] = field(default_factory=dict)
    tasks_by_time: SortedIndex[AuditTask] = field(default_factory=SortedIndex)
    findings: dict[str, Finding] = field(default_factory=dict)
    findings_by_time: SortedIndex[Finding] = field(default_factory=SortedIndex)
    # (check name, resource identifier key) -> suppression.
    suppressions: dict[tuple[str, str], Suppression] = field(default_factory=dict)
    suppressions_by_expiry: TwoWayOrder[Suppression] = field(default_factory=TwoWayOrder)
    mitigation_tasks: dict[str, MitigationTask] = field(default_factory=dict)
    mitigation_by_time: SortedIndex[MitigationTask] = field(default_factory=SortedIndex)
    # Tasks stay IN_PROGRESS while held (IotMock.audit.hold_tasks), so tests can cancel.
    hold: bool = False
    # Held mitigation actions tasks: task id -> the resolved actions by name.
    held_mitigations: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the checks observe beyond the registry.
    client_principals: dict[str, set[str]] = field(default_factory=dict)
    principal_clients: dict[str, set[str]] = field(default_factory=dict)
    # principal -> session id -> the connection (client id, connect / disconnect epoch ms),
    # in connection order: DEVICE_CERTIFICATE_SHARED_CHECK reports each one.
    principal_sessions: dict[str, dict[str, Session]] = field(default_factory=dict)
    revoked_at_issuer: set[str] = field(default_factory=set)
    notifications: list[dict[str, Any]] = field(default_factory=list)


def items_between(index: SortedIndex[V], start: float, end: float) -> Source[V]:
    """A `paginate` source of the items of a time-keyed index within [start, end]."""
    # No key equals the low end (keys end with a non-empty id), so this starts at `start`.
    return key_range(index, time_key(start, ""), time_key(end, "\U0010ffff"))


class _Task(Protocol):
    def summary(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=_Task)


def tasks_page(
    ctx: RequestContext,
    params: Params,
    by_time: SortedIndex[T],
    keep: Callable[[T], bool],
    scope: str,
) -> Output:
    """The answer of ListAuditTasks and ListAuditMitigationActionsTasks: the summaries of
    the tasks started within [startTime, endTime], oldest first, 25 a page by default;
    `scope` names the filters `keep` applies."""
    start, end = seconds_of(params["startTime"]), seconds_of(params["endTime"])
    return crud.page(
        ctx,
        params,
        items_between(by_time, start, end),
        "tasks",
        lambda task: task.summary(),
        scope=f"{start}:{end}:{scope}",
        keep=keep,
        default_limit=DEFAULT_PAGE_SIZE,
    )


def audit_page(
    scope: str, source: Source[V], params: dict[str, Any], keep: Callable[[V], bool] | None = None
) -> tuple[list[V], str | None]:
    """One page of an audit listing: `nextToken` and `maxResults` (25 by default)."""
    return paginate(
        scope,
        source,
        params.get("nextToken"),
        params.get("maxResults"),
        default_limit=DEFAULT_PAGE_SIZE,
        keep=keep,
    )


def in_list_order(items: Sequence[V]) -> Source[V]:
    """A `paginate` source of a list in its own order (the keys are the positions)."""

    def source(after: str | None) -> Iterator[tuple[str, V]]:
        start = int(after) + 1 if after is not None else 0
        return ((f"{i:08d}", items[i]) for i in range(start, len(items)))

    return source
