"""The device side of jobs (iot-jobs-data): DescribeJobExecution, GetPendingJobExecutions,
StartNextPendingJobExecution, UpdateJobExecution.

Timestamps of this service are whole epoch seconds (the model's prose; see docs/jobs.md).
"""

from __future__ import annotations

from typing import Any

from ... import jobs as model
from ..._errors import ServiceError, invalid_request
from ..._registry import Params, RequestContext, operation

NEXT = "$next"


@operation("iot-jobs-data", "DescribeJobExecution")
def describe_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    thing_name = params["thingName"]
    include_document = params.get("includeJobDocument") is not False  # default true
    if params["jobId"] == NEXT:
        model.thing_exists_for_jobs(ctx, store, thing_name)
        execution = model.next_pending(store, thing_name)
        if execution is None:
            return {}  # nothing pending: no execution member
    else:
        execution = model.get_execution(
            store, params["jobId"], thing_name, params.get("executionNumber")
        )
    return {
        "execution": model.device_execution(store, execution, include_document=include_document)
    }


@operation("iot-jobs-data", "GetPendingJobExecutions")
def get_pending_job_executions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    thing_name = params["thingName"]
    model.thing_exists_for_jobs(ctx, store, thing_name)
    in_progress, queued = model.pending_executions(store, thing_name)
    return {
        "inProgressJobs": [model.device_summary(e) for e in in_progress],
        "queuedJobs": [model.device_summary(e) for e in queued],
    }


@operation("iot-jobs-data", "StartNextPendingJobExecution")
def start_next_pending_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    thing_name = params["thingName"]
    step_timeout = params.get("stepTimeoutInMinutes")
    model.check_step_timeout(step_timeout, allow_cancel=False)
    model.thing_exists_for_jobs(ctx, store, thing_name)
    execution = model.next_pending(store, thing_name)
    if execution is None:
        return {}  # nothing pending: an empty answer
    if execution.status == model.QUEUED:
        model.merge_status_details(execution, params.get("statusDetails"))
        model.transition(
            ctx, store, execution, model.IN_PROGRESS, step_timeout_minutes=step_timeout
        )
    # An execution already IN_PROGRESS is resumed as it is.
    return {"execution": model.device_execution(store, execution, include_document=True)}


@operation("iot-jobs-data", "UpdateJobExecution")
def update_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    status = params["status"]
    if status not in model.DEVICE_STATUSES:
        raise invalid_request(
            f"A device cannot set a job execution to {status}; allowed statuses are "
            "IN_PROGRESS, SUCCEEDED, FAILED and REJECTED."
        )
    step_timeout = params.get("stepTimeoutInMinutes")
    model.check_step_timeout(step_timeout, allow_cancel=True)
    execution = model.get_execution(
        store, params["jobId"], params["thingName"], params.get("executionNumber")
    )
    if execution.terminal:
        raise ServiceError(
            "InvalidStateTransitionException",
            f"Job execution of job {execution.job_id} on thing {execution.thing_name} is "
            f"already in the terminal state {execution.status}; it cannot move to {status}.",
        )
    expected = params.get("expectedVersion")
    if expected is not None and expected != execution.version:
        # MQTT answers VersionMismatch; the HTTP model has no such error (spec §8).
        raise ServiceError(
            "InvalidStateTransitionException",
            f"VersionMismatch: the job execution is at version {execution.version}, not the "
            f"expected version {expected}.",
        )
    model.merge_status_details(execution, params.get("statusDetails"))
    model.transition(ctx, store, execution, status, step_timeout_minutes=step_timeout)
    output: dict[str, Any] = {}
    if params.get("includeJobExecutionState"):
        output["executionState"] = {
            "status": execution.status,
            "statusDetails": dict(execution.status_details),
            "versionNumber": execution.version,
        }
    if params.get("includeJobDocument"):
        output["jobDocument"] = model.device_document(store, execution)
    return output
