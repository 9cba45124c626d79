"""Jobs (control plane): CreateJob, DescribeJob, ListJobs, UpdateJob, CancelJob, DeleteJob,
GetJobDocument, AssociateTargetsWithJob and the job-execution operations
DescribeJobExecution, ListJobExecutionsForJob, ListJobExecutionsForThing,
CancelJobExecution, DeleteJobExecution. The state machine lives in `iotmock.jobs.engine`."""

from __future__ import annotations

from typing import Any

from iotmock.core import clock
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of
from iotmock.device_management.packages import check_deployable_versions
from iotmock.jobs import document_source as document_source_reader
from iotmock.jobs import engine as model
from iotmock.jobs.templates import resolve_job_template

# Members of CreateJob / UpdateJob stored on the job as given and returned by DescribeJob.
UPDATABLE_CONFIG = (
    "presignedUrlConfig",
    "jobExecutionsRolloutConfig",
    "abortConfig",
    "timeoutConfig",
    "jobExecutionsRetryConfig",
)

# The configuration members DescribeJob shows as {} when the job was created without them.
EMPTY_WHEN_UNSET = ("presignedUrlConfig", "jobExecutionsRolloutConfig", "timeoutConfig")


@operation("iot", "CreateJob")
def create_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    sources = [m for m in ("document", "documentSource", "jobTemplateArn") if params.get(m)]
    if len(sources) != 1:
        raise invalid_request(
            "Specify exactly one of document, documentSource or jobTemplateArn; "
            f"{len(sources)} were given."
        )
    config = {m: params.get(m) for m in model.CONFIG_MEMBERS}
    document = params.get("document")
    raw_document = document
    document_source = params.get("documentSource")
    parameters = params.get("documentParameters")
    template_arn = params.get("jobTemplateArn")
    if template_arn:
        resolved = resolve_job_template(ctx, template_arn, parameters)
        raw_document, document = resolved.raw_document, resolved.document
        document_source = resolved.document_source
        # The request's own configuration wins over the template's.
        config = {**resolved.config, **{k: v for k, v in config.items() if v is not None}}
    elif parameters:
        raise invalid_request(
            "documentParameters can only be used when creating a job from an AWS managed "
            "job template (jobTemplateArn)."
        )
    if document_source and document is None:
        # AWS reads the document from S3 at creation: from moto's S3 when it is active.
        document = raw_document = document_source_reader.read(ctx, document_source)
    check_deployable_versions(ctx.backend, config.get("destinationPackageVersions"))
    job = model.create_job_record(
        ctx,
        params["jobId"],
        params["targets"],
        document=document,
        raw_document=raw_document,
        document_source=document_source,
        target_selection=params.get("targetSelection"),
        description=params.get("description"),
        namespace_id=params.get("namespaceId"),
        job_template_arn=template_arn,
        document_parameters=parameters,
        config=config,
        tags=params.get("tags"),
    )
    return {"jobArn": job.arn, "jobId": job.job_id, "description": job.description}


def _process_details(job: model.Job) -> dict[str, Any]:
    # No processingTargets: the model says it is null once the rollout reached every
    # target, and the mock queues every execution at once (AWS's CLI describe-job
    # example, an IN_PROGRESS job with one queued thing, has none either).
    return {member: job.counts.get(status, 0) for status, member in model.COUNT_MEMBERS.items()}


def describe_job_output(job: model.Job) -> dict[str, Any]:
    config = job.config
    return {
        "jobArn": job.arn,
        "jobId": job.job_id,
        "targetSelection": job.target_selection,
        "status": job.status,
        "forceCanceled": job.force_canceled,
        "reasonCode": job.reason_code,
        "comment": job.comment,
        "targets": list(job.targets),
        "description": job.description,
        **{member: config.get(member) for member in model.CONFIG_MEMBERS},
        # AWS shows these three as {} for a job created without them (CLI describe-job).
        **{member: config.get(member) or {} for member in EMPTY_WHEN_UNSET},
        "createdAt": job.created_at,
        "lastUpdatedAt": job.last_updated_at,
        "completedAt": job.completed_at,
        "jobProcessDetails": _process_details(job),
        "namespaceId": job.namespace_id,
        "jobTemplateArn": job.job_template_arn,
        "documentParameters": job.document_parameters,
        "isConcurrent": False,
    }


@operation("iot", "DescribeJob")
def describe_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    job = model.get_job(model.jobs_store(ctx), params["jobId"])
    return {"documentSource": job.document_source, "job": describe_job_output(job)}


@operation("iot", "GetJobDocument")
def get_job_document(ctx: RequestContext, params: Params) -> dict[str, Any]:
    job = model.get_job(model.jobs_store(ctx), params["jobId"])
    document = job.raw_document if params.get("beforeSubstitution") else job.document
    return {"document": document}


@operation("iot", "ListJobs")
def list_jobs(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    status = params.get("status")
    selection = params.get("targetSelection")
    group_name = params.get("thingGroupName")
    group_id = params.get("thingGroupId")
    namespace_id = params.get("namespaceId")
    index = store.jobs
    if group_name is not None or group_id is not None:
        # Jobs that target the group come from the group's own index, not a scan.
        key = f"name:{group_name}" if group_name is not None else f"id:{group_id}"
        index = store.group_jobs.get(key) or SortedIndex()

    def keep(job: model.Job) -> bool:
        return (
            (status is None or job.status == status)
            and (selection is None or job.target_selection == selection)
            and (namespace_id is None or job.namespace_id == namespace_id)
            and (group_id is None or f"id:{group_id}" in job.group_keys)
        )

    scope = f"ListJobs:{status}:{selection}:{group_name}:{group_id}:{namespace_id}"
    page, token = page_of(scope, index, params, keep=keep)
    return {
        "jobs": [
            {
                "jobArn": job.arn,
                "jobId": job.job_id,
                "thingGroupId": job.thing_group_id,
                "targetSelection": job.target_selection,
                "status": job.status,
                "createdAt": job.created_at,
                "lastUpdatedAt": job.last_updated_at,
                "completedAt": job.completed_at,
                "isConcurrent": False,
            }
            for job in page
        ],
        "nextToken": token,
    }


@operation("iot", "UpdateJob")
def update_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    job = model.get_job(model.jobs_store(ctx), params["jobId"], params.get("namespaceId"))
    model.check_timeout_config(params.get("timeoutConfig"))
    if params.get("description") is not None:
        job.description = params["description"]
    for member in UPDATABLE_CONFIG:
        if params.get(member) is not None:
            job.config[member] = params[member]
    job.last_updated_at = clock.now()
    return {}


@operation("iot", "CancelJob")
def cancel_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    job = model.get_job(store, params["jobId"])
    model.cancel_job(
        ctx,
        store,
        job,
        force=bool(params.get("force")),
        reason_code=params.get("reasonCode"),
        comment=params.get("comment"),
    )
    return {"jobArn": job.arn, "jobId": job.job_id, "description": job.description}


@operation("iot", "DeleteJob")
def delete_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    job = model.get_job(store, params["jobId"], params.get("namespaceId"))
    model.delete_job(ctx, store, job, force=bool(params.get("force")))
    return {}


@operation("iot", "AssociateTargetsWithJob")
def associate_targets_with_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    job = model.get_job(store, params["jobId"], params.get("namespaceId"))
    model.associate_targets(ctx, store, job, params["targets"])
    if params.get("comment") is not None:
        job.comment = params["comment"]
    return {"jobArn": job.arn, "jobId": job.job_id, "description": job.description}


# --------------------------------------------------------------------------- executions


def _summary(execution: model.JobExecution) -> dict[str, Any]:
    return {
        "status": execution.status,
        "queuedAt": execution.queued_at,
        "startedAt": execution.started_at,
        "lastUpdatedAt": execution.last_updated_at,
        "executionNumber": execution.execution_number,
        "retryAttempt": execution.retry_attempt,
    }


@operation("iot", "DescribeJobExecution")
def describe_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    execution = model.get_execution(
        model.jobs_store(ctx), params["jobId"], params["thingName"], params.get("executionNumber")
    )
    return {
        "execution": {
            "jobId": execution.job_id,
            "status": execution.status,
            "forceCanceled": execution.force_canceled,
            # `{}` without details, as AWS shows it (CLI describe-job-execution).
            "statusDetails": (
                {"detailsMap": dict(execution.status_details)} if execution.status_details else {}
            ),
            "thingArn": execution.thing_arn,
            "queuedAt": execution.queued_at,
            "startedAt": execution.started_at,
            "lastUpdatedAt": execution.last_updated_at,
            "executionNumber": execution.execution_number,
            "versionNumber": execution.version,
            "approximateSecondsBeforeTimedOut": model.seconds_before_timeout(execution),
        }
    }


@operation("iot", "ListJobExecutionsForJob")
def list_job_executions_for_job(ctx: RequestContext, params: Params) -> dict[str, Any]:
    job = model.get_job(model.jobs_store(ctx), params["jobId"])
    status = params.get("status")
    page, token = page_of(
        f"ListJobExecutionsForJob:{job.job_id}:{status}",
        job.executions,
        params,
        keep=(lambda e: e.status == status) if status else None,
    )
    return {
        "executionSummaries": [
            {"thingArn": e.thing_arn, "jobExecutionSummary": _summary(e)} for e in page
        ],
        "nextToken": token,
    }


@operation("iot", "ListJobExecutionsForThing")
def list_job_executions_for_thing(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    thing_name = params["thingName"]
    model.thing_exists_for_jobs(ctx, store, thing_name)
    status = params.get("status")
    namespace_id = params.get("namespaceId")
    job_id = params.get("jobId")

    def keep(execution: model.JobExecution) -> bool:
        job = store.jobs.get(execution.job_id)
        return (
            (status is None or execution.status == status)
            and (job_id is None or execution.job_id == job_id)
            and (namespace_id is None or (job is not None and job.namespace_id == namespace_id))
        )

    page, token = page_of(
        f"ListJobExecutionsForThing:{thing_name}:{status}:{namespace_id}:{job_id}",
        store.thing_executions.get(thing_name) or SortedIndex(),
        params,
        keep=keep,
    )
    return {
        "executionSummaries": [
            {"jobId": e.job_id, "jobExecutionSummary": _summary(e)} for e in page
        ],
        "nextToken": token,
    }


@operation("iot", "CancelJobExecution")
def cancel_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    execution = model.get_execution(store, params["jobId"], params["thingName"])
    model.cancel_execution(
        ctx,
        store,
        execution,
        force=bool(params.get("force")),
        expected_version=params.get("expectedVersion"),
        details=params.get("statusDetails"),
    )
    return {}


@operation("iot", "DeleteJobExecution")
def delete_job_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    job = model.get_job(store, params["jobId"], params.get("namespaceId"))
    execution = model.get_execution(
        store, job.job_id, params["thingName"], params["executionNumber"]
    )
    model.delete_execution(ctx, store, job, execution, force=bool(params.get("force")))
    return {}
