"""The device side of jobs (iot-jobs-data): DescribeJobExecution, GetPendingJobExecutions,
StartNextPendingJobExecution, UpdateJobExecution.

Timestamps of this service are whole epoch seconds (the model's prose; see docs/jobs.md).
"""

from __future__ import annotations

from typing import Any

from iotmock.core.operations import Params, RequestContext, operation
from iotmock.jobs import engine as model

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
    execution = model.start_next_pending(
        ctx,
        store,
        params["thingName"],
        status_details=params.get("statusDetails"),
        step_timeout=params.get("stepTimeoutInMinutes"),
    )
    if execution is None:
        return {}  # nothing pending: an empty answer
    return {"execution": model.device_execution(store, execution, include_document=True)}


@operation("iot-jobs-data", "UpdateJobExecution")
def update_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    execution = model.device_update(
        ctx,
        store,
        params["jobId"],
        params["thingName"],
        params["status"],
        execution_number=params.get("executionNumber"),
        expected_version=params.get("expectedVersion"),
        status_details=params.get("statusDetails"),
        step_timeout=params.get("stepTimeoutInMinutes"),
    )
    output: dict[str, Any] = {}
    if params.get("includeJobExecutionState"):
        output["executionState"] = model.execution_state(execution)
    if params.get("includeJobDocument"):
        output["jobDocument"] = model.device_document(store, execution)
    return output
