"""Jobs: job and job-execution records, the execution state machine, job status roll-up,
timers and device notifications, shared by the `iot` and `iot-jobs-data` handlers
(and by OTA updates, which create their job through `create_job_record`).

Time-driven changes (step and in-progress timeouts, scheduled start and end of a job)
are kept in a heap of due times and applied lazily: every jobs operation first applies
whatever fell due at `_clock.now()`, so advancing a frozen clock makes TIMED_OUT and the
start of a scheduled job observable on the next call, at O(log n) per due event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock as _clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, already_exists, invalid_request, not_found
from iotmock.core.events import emit, subscribe
from iotmock.core.operations import RequestContext
from iotmock.core.paging import SortedIndex
from iotmock.core.tagging import drop, tag_on_create, taggable
from iotmock.indexing import dynamic_members
from iotmock.messaging.log import publish
from iotmock.registry.records import Thing, ThingGroup, registry_of

QUEUED = "QUEUED"
IN_PROGRESS = "IN_PROGRESS"
PENDING_STATUSES = frozenset({QUEUED, IN_PROGRESS})
TERMINAL_STATUSES = frozenset(
    {"SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT", "REMOVED", "CANCELED"}
)
# The statuses a device may report (DG:iot-jobs-lifecycle).
DEVICE_STATUSES = frozenset({IN_PROGRESS, "SUCCEEDED", "FAILED", "REJECTED"})
# JobProcessDetails member counting the things whose current execution has a status.
COUNT_MEMBERS = {
    "CANCELED": "numberOfCanceledThings",
    "SUCCEEDED": "numberOfSucceededThings",
    "FAILED": "numberOfFailedThings",
    "REJECTED": "numberOfRejectedThings",
    "QUEUED": "numberOfQueuedThings",
    "IN_PROGRESS": "numberOfInProgressThings",
    "REMOVED": "numberOfRemovedThings",
    "TIMED_OUT": "numberOfTimedOutThings",
}
# Job statuses (job, not execution).
JOB_IN_PROGRESS = "IN_PROGRESS"
JOB_SCHEDULED = "SCHEDULED"
JOB_COMPLETED = "COMPLETED"
JOB_CANCELED = "CANCELED"

MAX_STATUS_DETAILS = 10
MAX_STEP_TIMEOUT_MINUTES = 10080
MAX_CONTINUOUS_TARGETS = 100
# Configuration members a job stores and returns as given (and a template passes on).
CONFIG_MEMBERS = (
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
    "schedulingConfig",
    "destinationPackageVersions",
)
_PARAMETER = re.compile(r"\$\{aws:iot:parameter:([^}]*)\}")
_PRESIGNED_URL = re.compile(r"\$\{aws:iot:s3-presigned-url:([^}]*)\}")
_SCHEDULE_FORMAT = "%Y-%m-%dT%H:%M"
_MIN_SCHEDULE_LEAD = 30 * 60
# SchedulingConfig: startTime "up to a year in advance"; endTime "no later than two years
# from the current time" (365-day years).
_MAX_START_LEAD = 365 * 86400
_MAX_END_LEAD = 2 * 365 * 86400


@dataclass(slots=True)
class JobExecution:
    """One run of a job on a thing (`execution_number` counts runs from 1)."""

    job_id: str
    thing_name: str
    thing_arn: str
    execution_number: int
    queued_at: float
    last_updated_at: float
    status: str = QUEUED
    status_details: dict[str, str] = field(default_factory=dict)
    started_at: float | None = None
    version: int = 1
    retry_attempt: int = 0
    force_canceled: bool | None = None
    # Due times of the step timer (UpdateJobExecution / StartNext stepTimeoutInMinutes)
    # and of the job's in-progress timer (timeoutConfig); the earlier one wins.
    step_deadline: float | None = None
    in_progress_deadline: float | None = None

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def deadline(self) -> float | None:
        due = [d for d in (self.step_deadline, self.in_progress_deadline) if d is not None]
        return min(due) if due else None

    @property
    def job_key(self) -> str:
        """Key in the job's execution index (things in name order, runs in order)."""
        return f"{self.thing_name} {self.execution_number:012d}"

    @property
    def thing_key(self) -> str:
        """Key in the thing's execution index."""
        return f"{self.job_id} {self.execution_number:012d}"


@dataclass(slots=True)
class Job:
    job_id: str
    arn: str
    targets: list[str]
    target_selection: str
    created_at: float
    last_updated_at: float
    status: str = JOB_IN_PROGRESS
    # The document devices get (parameters substituted) and the one before substitution.
    document: str | None = None
    raw_document: str | None = None
    document_source: str | None = None
    description: str | None = None
    namespace_id: str | None = None
    job_template_arn: str | None = None
    document_parameters: dict[str, str] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    completed_at: float | None = None
    reason_code: str | None = None
    comment: str | None = None
    force_canceled: bool | None = None
    thing_group_id: str | None = None
    # Tells this job from an earlier one with the same id (timers name both).
    serial: int = 0
    # Keys of `JobsStore.group_jobs` this job is listed under.
    group_keys: list[str] = field(default_factory=list)
    executions: SortedIndex[JobExecution] = field(default_factory=SortedIndex)
    # thing name -> its current (latest) execution, and status -> number of things whose
    # current execution has it (the jobProcessDetails counters).
    latest: dict[str, JobExecution] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def continuous(self) -> bool:
        return self.target_selection == "CONTINUOUS"

    @property
    def pending_things(self) -> int:
        return self.counts.get(QUEUED, 0) + self.counts.get(IN_PROGRESS, 0)

    def count(self, status: str, delta: int) -> None:
        self.counts[status] = self.counts.get(status, 0) + delta


@dataclass(slots=True)
class JobTemplate:
    template_id: str
    arn: str
    description: str
    created_at: float
    document: str | None = None
    document_source: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class JobsStore:
    jobs: SortedIndex[Job] = field(default_factory=SortedIndex)
    templates: SortedIndex[JobTemplate] = field(default_factory=SortedIndex)
    # thing name -> its executions ("<job id> <number>"), and the ids of the jobs that
    # have executions on it, in the order they reached it.
    thing_executions: dict[str, SortedIndex[JobExecution]] = field(default_factory=dict)
    thing_jobs: dict[str, dict[str, None]] = field(default_factory=dict)
    # "name:<group name>" / "id:<group id>" -> jobs targeting that group.
    group_jobs: dict[str, SortedIndex[Job]] = field(default_factory=dict)
    # (due time, sequence, kind, job id, job serial, execution key) for timeouts and
    # schedules.
    timers: list[tuple[float, int, str, str, int, str]] = field(default_factory=list)
    sequence: int = 0
    # (thing, namespace) -> (pending execution ids, next execution id) last notified.
    notified: dict[tuple[str, str | None], tuple[tuple[str, ...], str | None]] = field(
        default_factory=dict
    )
    # While a due timer is applied: the moment it fell due, which every change it causes
    # (retries, roll-up, a scheduled start or end) carries, however late it is observed.
    replaying_at: float | None = None


# --------------------------------------------------------------------------- access


def jobs_store(ctx: RequestContext) -> JobsStore:
    """The jobs state of the caller, with every timer due by now applied."""
    store = ctx.backend.store(JobsStore)
    _apply_due_timers(ctx, store)
    return store


def _now(store: JobsStore) -> float:
    """The time of a change: now, or the due time of the timer being applied."""
    return _clock.now() if store.replaying_at is None else store.replaying_at


def job_arn(backend: Backend, job_id: str) -> str:
    return backend.arn(f"job/{job_id}")


def get_job(store: JobsStore, job_id: str, namespace_id: str | None = None) -> Job:
    job = store.jobs.get(job_id)
    if job is None or (namespace_id is not None and job.namespace_id != namespace_id):
        raise not_found(f"Job {job_id} cannot be found.")
    return job


def get_execution(
    store: JobsStore, job_id: str, thing_name: str, execution_number: int | None = None
) -> JobExecution:
    """The execution `execution_number` (default: the latest) of a job on a thing."""
    job = store.jobs.get(job_id)
    execution = None
    if job is not None:
        if execution_number is None:
            execution = job.latest.get(thing_name)
        else:
            execution = job.executions.get(f"{thing_name} {execution_number:012d}")
    if execution is None:
        raise not_found(f"Job execution of job {job_id} on thing {thing_name} cannot be found.")
    return execution


def thing_exists_for_jobs(ctx: RequestContext, store: JobsStore, thing_name: str) -> None:
    """404 for a thing that is neither registered nor has executions."""
    if (
        thing_name not in registry_of(ctx.backend).things
        and thing_name not in store.thing_executions
    ):
        raise not_found(f"Thing {thing_name} cannot be found.")


# --------------------------------------------------------------------------- targets


def _parse_target(backend: Backend, arn: str) -> tuple[str, str]:
    """(kind, name) of a thing or thing-group ARN of this account and region."""
    prefix = backend.arn("")
    kind, _, name = arn[len(prefix) :].partition("/") if arn.startswith(prefix) else ("", "", "")
    if kind not in ("thing", "thinggroup") or not name:
        raise invalid_request(
            f"Invalid target {arn}: a job target must be the ARN of a thing or of a thing "
            f"group in this account and region ({prefix}thing/<name> or "
            f"{prefix}thinggroup/<name>)."
        )
    return kind, name


def _resolve_targets(
    backend: Backend, targets: Iterable[str]
) -> tuple[list[str], list[ThingGroup]]:
    """The thing names and groups named by `targets` (404 for a missing one)."""
    thing_names: list[str] = []
    groups: list[ThingGroup] = []
    for arn in targets:
        kind, name = _parse_target(backend, arn)
        if kind == "thing":
            if name not in registry_of(backend).things:
                raise not_found(f"Thing {name} cannot be found.")
            thing_names.append(name)
        else:
            group = registry_of(backend).thing_groups.get(name)
            if group is None:
                raise not_found(f"Thing Group {name} cannot be found.")
            groups.append(group)
    return thing_names, groups


def group_members(backend: Backend, group: ThingGroup) -> Iterator[str]:
    """The things of a group and, recursively, of its child groups (a dynamic group's
    things are the ones its query matches now)."""
    stack = [group]
    seen = {group.name}
    while stack:
        current = stack.pop()
        yield from sorted(
            dynamic_members(backend, current) if current.is_dynamic else current.thing_names
        )
        for child_name in sorted(current.child_names):
            child = registry_of(backend).thing_groups.get(child_name)
            if child is not None and child_name not in seen:
                seen.add(child_name)
                stack.append(child)


def _target_things(backend: Backend, targets: Iterable[str]) -> list[Thing]:
    """Every thing a list of targets reaches, once each, in first-reached order."""
    thing_names, groups = _resolve_targets(backend, targets)
    found: dict[str, None] = dict.fromkeys(thing_names)
    for group in groups:
        found.update(dict.fromkeys(group_members(backend, group)))
    return [
        registry_of(backend).things[name] for name in found if name in registry_of(backend).things
    ]


def _ancestors(backend: Backend, group_name: str) -> Iterator[str]:
    """A group's name and the names of its parents up to the root."""
    seen: set[str] = set()
    current: str | None = group_name
    while current is not None and current not in seen:
        seen.add(current)
        yield current
        group = registry_of(backend).thing_groups.get(current)
        current = group.parent_name if group is not None else None


def _covers(backend: Backend, job: Job, thing_name: str) -> bool:
    """Whether a thing is still reached by the job's targets."""
    thing = registry_of(backend).things.get(thing_name)
    if thing is None:
        return False
    if thing.arn in job.targets:
        return True
    group_arns = {
        backend.arn(f"thinggroup/{name}")
        for direct in thing.group_names
        for name in _ancestors(backend, direct)
    }
    return any(arn in group_arns for arn in job.targets)


# --------------------------------------------------------------------------- documents


def substitute_parameters(document: str, parameters: dict[str, str]) -> str:
    """Replace `${aws:iot:parameter:<name>}` placeholders (absent ones by "")."""
    return _PARAMETER.sub(lambda match: parameters.get(match.group(1), ""), document)


def _parse_schedule_time(value: str, member: str) -> float:
    try:
        moment = dt.datetime.strptime(value, _SCHEDULE_FORMAT)
    except ValueError:
        raise invalid_request(
            f"schedulingConfig.{member} {value} is not a valid date and time; use "
            "YYYY-MM-DDTHH:MM (UTC)."
        ) from None
    return moment.replace(tzinfo=dt.timezone.utc).timestamp()


def _schedule(config: dict[str, Any], now: float) -> tuple[float | None, float | None]:
    """Start and end times of a scheduling config, checked as the API reference says."""
    scheduling = config.get("schedulingConfig") or {}
    start = scheduling.get("startTime")
    end = scheduling.get("endTime")
    start_at = _parse_schedule_time(start, "startTime") if start else None
    end_at = _parse_schedule_time(end, "endTime") if end else None
    if start_at is not None and start_at < now + _MIN_SCHEDULE_LEAD:
        raise invalid_request(
            "schedulingConfig.startTime must be at least thirty minutes after the current time."
        )
    if start_at is not None and start_at > now + _MAX_START_LEAD:
        raise invalid_request(
            "schedulingConfig.startTime can be scheduled at most one year in advance."
        )
    if end_at is not None:
        earliest = (start_at if start_at is not None else now) + _MIN_SCHEDULE_LEAD
        if end_at < earliest:
            raise invalid_request(
                "schedulingConfig.endTime must be at least thirty minutes after the "
                "startTime and the current time."
            )
        # startTime comes after now, so this also keeps endTime within two years of it.
        if end_at > now + _MAX_END_LEAD:
            raise invalid_request(
                "schedulingConfig.endTime must be no later than two years from the current time."
            )
    return start_at, end_at


# --------------------------------------------------------------------------- creation


def create_job_record(
    ctx: RequestContext,
    job_id: str,
    targets: list[str],
    *,
    document: str | None = None,
    document_source: str | None = None,
    raw_document: str | None = None,
    target_selection: str | None = None,
    description: str | None = None,
    namespace_id: str | None = None,
    job_template_arn: str | None = None,
    document_parameters: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    tags: list[dict[str, Any]] | None = None,
) -> Job:
    """Create a job and queue one execution per targeted thing (groups expanded
    recursively); a job scheduled for later gets its executions when it starts.

    Used by CreateJob and CreateOTAUpdate; the document is already resolved.
    """
    backend = ctx.backend
    store = jobs_store(ctx)
    arn = job_arn(backend, job_id)
    if job_id in store.jobs:
        raise already_exists(f"Job {job_id} already exists.", job_id, arn)
    things = _target_things(backend, targets)
    now = _clock.now()
    config = {k: v for k, v in (config or {}).items() if v is not None}
    check_timeout_config(config.get("timeoutConfig"))
    start_at, end_at = _schedule(config, now)
    job = Job(
        job_id=job_id,
        arn=arn,
        targets=list(dict.fromkeys(targets)),
        target_selection=target_selection or "SNAPSHOT",
        created_at=now,
        last_updated_at=now,
        document=document,
        raw_document=raw_document if raw_document is not None else document,
        document_source=document_source,
        description=description,
        namespace_id=namespace_id,
        job_template_arn=job_template_arn,
        document_parameters=document_parameters,
        config=config,
    )
    tag_on_create(backend, arn, tags)  # may refuse the tags: before anything is stored
    store.sequence += 1
    job.serial = store.sequence
    store.jobs[job_id] = job
    _index_group_targets(backend, store, job, job.targets)
    if end_at is not None:
        _add_timer(store, end_at, "end", job, "")
    if start_at is not None:
        job.status = JOB_SCHEDULED
        _add_timer(store, start_at, "start", job, "")
        return job
    _queue_for_things(ctx, store, job, things)
    _roll_up(ctx, store, job)
    return job


def _index_group_targets(backend: Backend, store: JobsStore, job: Job, targets: list[str]) -> None:
    for arn in targets:
        kind, name = _parse_target(backend, arn)
        if kind != "thinggroup":
            continue
        keys = [f"name:{name}"]
        group = registry_of(backend).thing_groups.get(name)
        if group is not None:
            keys.append(f"id:{group.group_id}")
            if job.thing_group_id is None:
                job.thing_group_id = group.group_id
        for key in keys:
            store.group_jobs.setdefault(key, SortedIndex())[job.job_id] = job
            job.group_keys.append(key)


def _queue_for_things(
    ctx: RequestContext, store: JobsStore, job: Job, things: Iterable[Thing]
) -> None:
    """Queue an execution for each thing that has none yet (or whose last one was
    REMOVED, i.e. the thing left the targets and came back)."""
    for thing in things:
        current = job.latest.get(thing.name)
        if current is None or current.status == "REMOVED":
            queue_execution(ctx, store, job, thing.name, thing.arn)


def queue_execution(
    ctx: RequestContext,
    store: JobsStore,
    job: Job,
    thing_name: str,
    thing_arn: str,
    *,
    retry_attempt: int = 0,
) -> JobExecution:
    previous = job.latest.get(thing_name)
    now = _now(store)
    execution = JobExecution(
        job_id=job.job_id,
        thing_name=thing_name,
        thing_arn=thing_arn,
        execution_number=previous.execution_number + 1 if previous else 1,
        queued_at=now,
        last_updated_at=now,
        retry_attempt=retry_attempt,
    )
    if previous is not None:
        job.count(previous.status, -1)
    job.latest[thing_name] = execution
    job.count(QUEUED, 1)
    job.executions[execution.job_key] = execution
    store.thing_executions.setdefault(thing_name, SortedIndex())[execution.thing_key] = execution
    store.thing_jobs.setdefault(thing_name, {})[job.job_id] = None
    job.last_updated_at = now
    notify(ctx, store, thing_name, job.namespace_id)
    return execution


def associate_targets(ctx: RequestContext, store: JobsStore, job: Job, targets: list[str]) -> None:
    """AssociateTargetsWithJob: add targets to a continuous job in progress."""
    if not job.continuous:
        raise invalid_request(
            f"Targets can only be associated with a CONTINUOUS job; job {job.job_id} is SNAPSHOT."
        )
    if job.status != JOB_IN_PROGRESS:
        raise invalid_request(
            f"Targets can only be associated with a job in progress; job {job.job_id} is "
            f"{job.status}."
        )
    new_targets = [arn for arn in dict.fromkeys(targets) if arn not in job.targets]
    if len(job.targets) + len(new_targets) > MAX_CONTINUOUS_TARGETS:
        raise ServiceError(
            "LimitExceededException",
            f"A job can have at most {MAX_CONTINUOUS_TARGETS} targets; job {job.job_id} "
            f"would have {len(job.targets) + len(new_targets)}.",
        )
    things = _target_things(ctx.backend, new_targets)
    job.targets.extend(new_targets)
    _index_group_targets(ctx.backend, store, job, new_targets)
    job.last_updated_at = _clock.now()
    _queue_for_things(ctx, store, job, things)


# --------------------------------------------------------------------------- state machine


def check_step_timeout(minutes: int | None, *, allow_cancel: bool) -> None:
    if minutes is None or (allow_cancel and minutes == -1):
        return
    if not 1 <= minutes <= MAX_STEP_TIMEOUT_MINUTES:
        allowed = "-1 or " if allow_cancel else ""
        raise invalid_request(
            f"stepTimeoutInMinutes must be {allowed}between 1 and {MAX_STEP_TIMEOUT_MINUTES}; "
            f"{minutes} was given."
        )


def check_timeout_config(timeout_config: dict[str, Any] | None) -> None:
    """TimeoutConfig.inProgressTimeoutInMinutes: "anywhere between 1 minute and 7 days (1
    to 10080 minutes)" (the model itself has no range)."""
    minutes = (timeout_config or {}).get("inProgressTimeoutInMinutes")
    if minutes is not None and not 1 <= minutes <= MAX_STEP_TIMEOUT_MINUTES:
        raise invalid_request(
            "timeoutConfig.inProgressTimeoutInMinutes must be between 1 and "
            f"{MAX_STEP_TIMEOUT_MINUTES} (7 days); {minutes} was given."
        )


def merge_status_details(execution: JobExecution, details: dict[str, str] | None) -> None:
    if not details:
        return
    merged = {**execution.status_details, **details}
    if len(merged) > MAX_STATUS_DETAILS:
        raise invalid_request(
            f"statusDetails can hold at most {MAX_STATUS_DETAILS} name/value pairs; the "
            f"update would leave {len(merged)}."
        )
    execution.status_details = merged


def transition(
    ctx: RequestContext,
    store: JobsStore,
    execution: JobExecution,
    status: str,
    *,
    step_timeout_minutes: int | None = None,
    at: float | None = None,
) -> None:
    """Move an execution to `status` (callers have checked the transition is allowed):
    timestamps, version, timers, job counters, then roll-up, retry, abort and device
    notifications."""
    job = store.jobs[execution.job_id]
    now = _now(store) if at is None else at
    previous = execution.status
    if status == IN_PROGRESS and previous == QUEUED:
        execution.started_at = now
        timeout = (job.config.get("timeoutConfig") or {}).get("inProgressTimeoutInMinutes")
        if timeout:
            execution.in_progress_deadline = now + timeout * 60
    if status == IN_PROGRESS and step_timeout_minutes is not None:
        execution.step_deadline = (
            None if step_timeout_minutes == -1 else now + step_timeout_minutes * 60
        )
    if status in TERMINAL_STATUSES:
        execution.step_deadline = execution.in_progress_deadline = None
    execution.status = status
    execution.version += 1
    execution.last_updated_at = now
    job.last_updated_at = now
    if job.latest.get(execution.thing_name) is execution and previous != status:
        job.count(previous, -1)
        job.count(status, 1)
    if execution.deadline is not None:
        _add_timer(store, execution.deadline, "timeout", job, execution.job_key)
    if status in TERMINAL_STATUSES and previous != status:
        emit(ctx, "job_execution_changed", execution=execution, operation=status.lower())
    if status in TERMINAL_STATUSES:
        _retry(ctx, store, job, execution)
        _check_abort(ctx, store, job)
        _roll_up(ctx, store, job)
    notify(ctx, store, execution.thing_name, job.namespace_id)


def _retry(ctx: RequestContext, store: JobsStore, job: Job, execution: JobExecution) -> None:
    """Queue a new run (executionNumber + 1) when the retry config covers the failure."""
    if execution.status not in ("FAILED", "TIMED_OUT") or job.status != JOB_IN_PROGRESS:
        return
    criteria = (job.config.get("jobExecutionsRetryConfig") or {}).get("criteriaList") or []
    for criterion in criteria:
        if criterion.get("failureType") in (execution.status, "ALL"):
            if execution.retry_attempt < criterion.get("numberOfRetries", 0):
                queue_execution(
                    ctx,
                    store,
                    job,
                    execution.thing_name,
                    execution.thing_arn,
                    retry_attempt=execution.retry_attempt + 1,
                )
            return


def _check_abort(ctx: RequestContext, store: JobsStore, job: Job) -> None:
    """Cancel the job when an abort criterion's failure share is reached."""
    if job.status != JOB_IN_PROGRESS:
        return
    criteria = (job.config.get("abortConfig") or {}).get("criteriaList") or []
    executed = sum(job.counts.get(s, 0) for s in ("SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"))
    for criterion in criteria:
        failure_type = criterion.get("failureType")
        failing = ("FAILED", "REJECTED", "TIMED_OUT") if failure_type == "ALL" else (failure_type,)
        failures = sum(job.counts.get(s, 0) for s in failing if s)
        threshold = criterion.get("thresholdPercentage", 100.0)
        if (
            executed
            and executed >= criterion.get("minNumberOfExecutedThings", 1)
            and failures * 100.0 / executed >= threshold
        ):
            cancel_job(
                ctx,
                store,
                job,
                force=False,
                reason_code="ABORTED",
                comment=f"Job aborted: {failure_type} executions reached {threshold}% of "
                "the executed things.",
            )
            return


def _roll_up(ctx: RequestContext, store: JobsStore, job: Job) -> None:
    """A snapshot job completes when none of its executions is pending any more."""
    if job.status == JOB_IN_PROGRESS and not job.continuous and job.pending_things == 0:
        job.status = JOB_COMPLETED
        job.completed_at = job.last_updated_at = _now(store)
        emit(ctx, "job_changed", job=job, operation="completed")


def cancel_job(
    ctx: RequestContext,
    store: JobsStore,
    job: Job,
    *,
    force: bool,
    reason_code: str | None,
    comment: str | None,
) -> None:
    """CancelJob: QUEUED executions are canceled, IN_PROGRESS ones only with force."""
    if job.status == JOB_COMPLETED:
        raise invalid_request(f"Job {job.job_id} is COMPLETED and cannot be canceled.")
    previous = job.status
    job.status = JOB_CANCELED
    job.force_canceled = bool(force) or bool(job.force_canceled)
    job.reason_code = reason_code if reason_code is not None else job.reason_code
    job.comment = comment if comment is not None else job.comment
    job.last_updated_at = _now(store)
    for execution in list(job.latest.values()):
        if execution.status == QUEUED or (force and execution.status == IN_PROGRESS):
            execution.force_canceled = execution.status == IN_PROGRESS
            transition(ctx, store, execution, "CANCELED")
    if previous != JOB_CANCELED:
        emit(ctx, "job_changed", job=job, operation="canceled")


def cancel_execution(
    ctx: RequestContext,
    store: JobsStore,
    execution: JobExecution,
    *,
    force: bool,
    expected_version: int | None,
    details: dict[str, str] | None,
) -> None:
    """CancelJobExecution (control plane)."""
    if execution.terminal:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job execution of job {execution.job_id} on thing {execution.thing_name} is "
            f"already {execution.status} and cannot be canceled.",
        )
    if execution.status == IN_PROGRESS and not force:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job execution of job {execution.job_id} on thing {execution.thing_name} is "
            "IN_PROGRESS; set force to cancel it.",
        )
    if expected_version is not None and expected_version != execution.version:
        raise ServiceError(
            "VersionConflictException",
            f"The version of the job execution is {execution.version}, not the expected "
            f"version {expected_version}.",
        )
    merge_status_details(execution, details)
    execution.force_canceled = execution.status == IN_PROGRESS
    transition(ctx, store, execution, "CANCELED")


def delete_job(ctx: RequestContext, store: JobsStore, job: Job, *, force: bool) -> None:
    """DeleteJob: a job in progress only with force; deletion completes at once."""
    if job.status in (JOB_IN_PROGRESS, JOB_SCHEDULED) and not force:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job {job.job_id} is {job.status}; it can only be deleted when COMPLETED or "
            "CANCELED, or with force set to true.",
        )
    store.jobs.pop(job.job_id)
    for index_key in job.group_keys:
        index = store.group_jobs.get(index_key)
        if index is not None:
            index.pop(job.job_id)
    for execution in list(job.executions.values()):
        _unindex_execution(store, execution)
    for thing_name in list(job.latest):
        notify(ctx, store, thing_name, job.namespace_id)
    drop(ctx.backend, job.arn)
    emit(ctx, "job_changed", job=job, operation="deleted")


def _unindex_execution(store: JobsStore, execution: JobExecution) -> None:
    by_thing = store.thing_executions.get(execution.thing_name)
    if by_thing is not None:
        by_thing.pop(execution.thing_key)
        if not len(by_thing):
            del store.thing_executions[execution.thing_name]
    job = store.jobs.get(execution.job_id)
    if job is None or execution.thing_name not in job.latest:
        job_ids = store.thing_jobs.get(execution.thing_name)
        if job_ids is not None:
            job_ids.pop(execution.job_id, None)


def delete_execution(
    ctx: RequestContext, store: JobsStore, job: Job, execution: JobExecution, *, force: bool
) -> None:
    """DeleteJobExecution: a pending execution only with force."""
    if not execution.terminal and not force:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job execution {execution.execution_number} of job {job.job_id} on thing "
            f"{execution.thing_name} is {execution.status}; it can only be deleted in a "
            "terminal state, or with force set to true.",
        )
    job.executions.pop(execution.job_key)
    if job.latest.get(execution.thing_name) is execution:
        job.count(execution.status, -1)
        del job.latest[execution.thing_name]
        earlier = _latest_of_thing(job, execution.thing_name)
        if earlier is not None:
            job.latest[execution.thing_name] = earlier
            job.count(earlier.status, 1)
    _unindex_execution(store, execution)
    emit(ctx, "job_execution_changed", execution=execution, operation="deleted")
    _roll_up(ctx, store, job)
    notify(ctx, store, execution.thing_name, job.namespace_id)


def _latest_of_thing(job: Job, thing_name: str) -> JobExecution | None:
    found = None
    for key, execution in job.executions.items_after(f"{thing_name} "):
        if not key.startswith(f"{thing_name} "):
            break
        found = execution
    return found


# --------------------------------------------------------------------------- pending lists


def pending_executions(
    store: JobsStore, thing_name: str, namespace_id: str | bool | None = False
) -> tuple[list[JobExecution], list[JobExecution]]:
    """(IN_PROGRESS, QUEUED) current executions of a thing, oldest first; restricted to
    one namespace unless `namespace_id` is False."""
    in_progress: list[JobExecution] = []
    queued: list[JobExecution] = []
    for job_id in store.thing_jobs.get(thing_name, ()):
        job = store.jobs.get(job_id)
        if job is None or (namespace_id is not False and job.namespace_id != namespace_id):
            continue
        execution = job.latest.get(thing_name)
        if execution is not None and execution.status == IN_PROGRESS:
            in_progress.append(execution)
        elif execution is not None and execution.status == QUEUED:
            queued.append(execution)
    in_progress.sort(key=lambda e: e.queued_at)
    queued.sort(key=lambda e: e.queued_at)
    return in_progress, queued


def next_pending(store: JobsStore, thing_name: str) -> JobExecution | None:
    """The execution a device gets for `$next`: IN_PROGRESS first, then oldest QUEUED."""
    in_progress, queued = pending_executions(store, thing_name)
    pending = in_progress + queued
    return pending[0] if pending else None


# --------------------------------------------------------------------------- device requests
# What a device asks over HTTP (iot-jobs-data) and over MQTT (`$aws/things/<thing>/jobs/...`):
# both transports call these, so the rules live in one place.


class VersionMismatch(ServiceError):
    """An `expectedVersion` that is not the execution's version. MQTT answers the
    `VersionMismatch` code; the HTTP model has no conflict error, so the wire code is
    InvalidStateTransitionException with a message starting `VersionMismatch` (spec §8)."""

    def __init__(self, execution: JobExecution, expected: int) -> None:
        super().__init__(
            "InvalidStateTransitionException",
            f"VersionMismatch: the job execution is at version {execution.version}, not the "
            f"expected version {expected}.",
        )


def start_next_pending(
    ctx: RequestContext,
    store: JobsStore,
    thing_name: str,
    *,
    status_details: dict[str, str] | None = None,
    step_timeout: int | None = None,
) -> JobExecution | None:
    """StartNextPendingJobExecution: the next pending execution, moved from QUEUED to
    IN_PROGRESS (with `status_details` and the step timer); one already IN_PROGRESS is
    resumed as it is. None when nothing is pending."""
    check_step_timeout(step_timeout, allow_cancel=False)
    thing_exists_for_jobs(ctx, store, thing_name)
    execution = next_pending(store, thing_name)
    if execution is not None and execution.status == QUEUED:
        merge_status_details(execution, status_details)
        transition(ctx, store, execution, IN_PROGRESS, step_timeout_minutes=step_timeout)
    return execution


def device_update(
    ctx: RequestContext,
    store: JobsStore,
    job_id: str,
    thing_name: str,
    status: str,
    *,
    execution_number: int | None = None,
    expected_version: int | None = None,
    status_details: dict[str, str] | None = None,
    step_timeout: int | None = None,
) -> JobExecution:
    """UpdateJobExecution: a device reports the status of an execution
    (DG:iot-jobs-lifecycle); returns the updated execution."""
    if status not in DEVICE_STATUSES:
        raise invalid_request(
            f"A device cannot set a job execution to {status}; allowed statuses are "
            "IN_PROGRESS, SUCCEEDED, FAILED and REJECTED."
        )
    check_step_timeout(step_timeout, allow_cancel=True)
    execution = get_execution(store, job_id, thing_name, execution_number)
    if execution.terminal:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job execution of job {execution.job_id} on thing {execution.thing_name} is "
            f"already in the terminal state {execution.status}; it cannot move to {status}.",
        )
    if expected_version is not None and expected_version != execution.version:
        raise VersionMismatch(execution, expected_version)
    merge_status_details(execution, status_details)
    transition(ctx, store, execution, status, step_timeout_minutes=step_timeout)
    return execution


def execution_state(execution: JobExecution) -> dict[str, Any]:
    """JobExecutionState: what UpdateJobExecution and the MQTT error answers report."""
    return {
        "status": execution.status,
        "statusDetails": dict(execution.status_details),
        "versionNumber": execution.version,
    }


def device_document(store: JobsStore, execution: JobExecution) -> str | None:
    """The document a device gets: with a presignedUrlConfig, each
    `${aws:iot:s3-presigned-url:<url>}` placeholder becomes a presigned-style URL valid
    for `expiresInSec` (default 3600) from now (DG: create-manage-jobs, presigned URLs)."""
    job = store.jobs.get(execution.job_id)
    if job is None or job.document is None:
        return None
    presign = job.config.get("presignedUrlConfig")
    if not presign or "${aws:iot:s3-presigned-url:" not in job.document:
        return job.document
    now = _clock.now_datetime()
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    expires = presign.get("expiresInSec") or 3600
    role = presign.get("roleArn", "")

    def presigned(match: re.Match[str]) -> str:
        url = match.group(1)
        signature = hashlib.sha256(f"{url}|{stamp}|{expires}|{role}".encode()).hexdigest()
        credential = f"IOTMOCKPRESIGN/{stamp[:8]}/s3/aws4_request"
        query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}"
            f"&X-Amz-Date={stamp}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={signature}"
        )
        return f"{url}{'&' if '?' in url else '?'}{query}"

    return _PRESIGNED_URL.sub(presigned, job.document)


def device_summary(execution: JobExecution) -> dict[str, Any]:
    """JobExecutionSummary of iot-jobs-data and of the notify topic (epoch seconds;
    members without a value are left out, as in the MQTT payloads)."""
    summary = {
        "jobId": execution.job_id,
        "queuedAt": seconds(execution.queued_at),
        "startedAt": seconds(execution.started_at),
        "lastUpdatedAt": seconds(execution.last_updated_at),
        "versionNumber": execution.version,
        "executionNumber": execution.execution_number,
    }
    return {k: v for k, v in summary.items() if v is not None}


def device_execution(
    store: JobsStore, execution: JobExecution, *, include_document: bool
) -> dict[str, Any]:
    """JobExecution of iot-jobs-data and of the notify-next topic."""
    output: dict[str, Any] = {
        "jobId": execution.job_id,
        "thingName": execution.thing_name,
        "status": execution.status,
        "statusDetails": dict(execution.status_details),
        "queuedAt": seconds(execution.queued_at),
        "startedAt": seconds(execution.started_at),
        "lastUpdatedAt": seconds(execution.last_updated_at),
        "approximateSecondsBeforeTimedOut": seconds_before_timeout(execution),
        "versionNumber": execution.version,
        "executionNumber": execution.execution_number,
    }
    if include_document:
        output["jobDocument"] = device_document(store, execution)
    return {k: v for k, v in output.items() if v is not None}


def mqtt_document(document: str) -> Any:
    """The job document as the MQTT messages carry it: a JSON object, where the HTTP API
    gives the string (DG: jobs-comm-notifications, NextJobExecutionChanged example). A
    document that is not JSON stays a string."""
    try:
        return json.loads(document)
    except ValueError:
        return document


def seconds(moment: float | None) -> int | None:
    """iot-jobs-data timestamps are whole epoch seconds (see docs/jobs.md)."""
    return None if moment is None else int(moment)


def seconds_before_timeout(execution: JobExecution) -> int | None:
    deadline = execution.deadline
    if deadline is None or execution.status != IN_PROGRESS:
        return None
    return max(0, int(deadline - _clock.now()))


def notify(
    ctx: RequestContext, store: JobsStore, thing_name: str, namespace_id: str | None
) -> None:
    """Publish `$aws/things/<thing>/jobs/notify` when the thing's pending list gains or
    loses an execution, and `.../notify-next` when its next execution changes
    (DG:jobs-comm-notifications). Namespaced jobs use the `-namespace-<id>` topics."""
    in_progress, queued = pending_executions(store, thing_name, namespace_id)
    pending = tuple(e.thing_key for e in in_progress + queued)
    following = (in_progress + queued)[0] if pending else None
    next_key = following.thing_key if following is not None else None
    last_pending, last_next = store.notified.get((thing_name, namespace_id), ((), None))
    store.notified[(thing_name, namespace_id)] = (pending, next_key)
    suffix = f"-namespace-{namespace_id}" if namespace_id else ""
    timestamp = seconds(_now(store))
    if pending != last_pending:
        jobs: dict[str, Any] = {}
        if in_progress:
            jobs[IN_PROGRESS] = [device_summary(e) for e in in_progress]
        if queued:
            jobs[QUEUED] = [device_summary(e) for e in queued]
        publish(
            ctx,
            f"$aws/things/{thing_name}/jobs/notify{suffix}",
            {"timestamp": timestamp, "jobs": jobs},
            source="jobs",
        )
    if next_key != last_next:
        payload: dict[str, Any] = {"timestamp": timestamp}
        if following is not None:
            execution = device_execution(store, following, include_document=True)
            if "jobDocument" in execution:
                execution["jobDocument"] = mqtt_document(execution["jobDocument"])
            payload["execution"] = execution
        publish(ctx, f"$aws/things/{thing_name}/jobs/notify-next{suffix}", payload, source="jobs")


# --------------------------------------------------------------------------- timers


def _add_timer(store: JobsStore, due: float, kind: str, job: Job, key: str) -> None:
    store.sequence += 1
    heapq.heappush(store.timers, (due, store.sequence, kind, job.job_id, job.serial, key))


def _apply_due_timers(ctx: RequestContext, store: JobsStore) -> None:
    now = _clock.now()
    timers = store.timers
    while timers and timers[0][0] <= now:
        due, _, kind, job_id, serial, key = heapq.heappop(timers)
        job = store.jobs.get(job_id)
        if job is None or job.serial != serial:
            continue  # the job was deleted (and maybe its id reused)
        # A timer applied from within another one (a rule reacting to a notification,
        # say) hands the outer due time back when it is done.
        outer, store.replaying_at = store.replaying_at, due
        try:
            _apply_timer(ctx, store, job, kind, key, due)
        finally:
            store.replaying_at = outer


def _apply_timer(
    ctx: RequestContext, store: JobsStore, job: Job, kind: str, key: str, due: float
) -> None:
    """What a timer does when it falls due (at `due`, however late it is applied)."""
    if kind == "timeout":
        _time_out(ctx, store, job, key, due)
    elif kind == "start" and job.status == JOB_SCHEDULED:
        job.status = JOB_IN_PROGRESS
        job.last_updated_at = due
        _queue_for_things(ctx, store, job, _reachable_things(ctx.backend, job))
        _roll_up(ctx, store, job)
    elif kind == "end" and job.status == JOB_IN_PROGRESS:
        behavior = (job.config.get("schedulingConfig") or {}).get("endBehavior")
        if behavior in ("CANCEL", "FORCE_CANCEL"):
            cancel_job(
                ctx,
                store,
                job,
                force=behavior == "FORCE_CANCEL",
                reason_code=None,
                comment=None,
            )


def _time_out(ctx: RequestContext, store: JobsStore, job: Job, key: str, now: float) -> None:
    execution = job.executions.get(key)
    if execution is None or execution.status != IN_PROGRESS:
        return
    deadline = execution.deadline
    if deadline is not None and deadline <= now:
        transition(ctx, store, execution, "TIMED_OUT", at=deadline)


def _reachable_things(backend: Backend, job: Job) -> list[Thing]:
    """The things a job's targets reach now (targets deleted meanwhile are skipped)."""
    things: dict[str, Thing] = {}
    for arn in job.targets:
        kind, name = _parse_target(backend, arn)
        if kind == "thing":
            names: Iterable[str] = [name]
        else:
            group = registry_of(backend).thing_groups.get(name)
            names = group_members(backend, group) if group is not None else ()
        for thing_name in names:
            thing = registry_of(backend).things.get(thing_name)
            if thing is not None:
                things.setdefault(thing_name, thing)
    return list(things.values())


# --------------------------------------------------------------------------- events


@subscribe("thing_added_to_group")
def _thing_added_to_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """A continuous job reaches a thing that joins one of its target groups (or a
    descendant of one)."""
    backend = ctx.backend
    thing = registry_of(backend).things.get(thing_name)
    if thing is None:
        return
    store = jobs_store(ctx)
    for name in _ancestors(backend, group_name):
        for job in list((store.group_jobs.get(f"name:{name}") or SortedIndex()).values()):
            if job.continuous and job.status == JOB_IN_PROGRESS:
                _queue_for_things(ctx, store, job, [thing])


@subscribe("thing_removed_from_group")
def _thing_removed_from_group(ctx: RequestContext, thing_name: str, group_name: str) -> None:
    """A thing that leaves the targets of a continuous job: its pending execution is
    REMOVED."""
    backend = ctx.backend
    store = jobs_store(ctx)
    for name in _ancestors(backend, group_name):
        for job in list((store.group_jobs.get(f"name:{name}") or SortedIndex()).values()):
            execution = job.latest.get(thing_name)
            if (
                job.continuous
                and execution is not None
                and not execution.terminal
                and not _covers(backend, job, thing_name)
            ):
                transition(ctx, store, execution, "REMOVED")


@taggable("job")
def _job_exists(backend: Backend, job_id: str) -> bool:
    return job_id in backend.store(JobsStore).jobs


@taggable("jobtemplate")
def _template_exists(backend: Backend, template_id: str) -> bool:
    return template_id in backend.store(JobsStore).templates
