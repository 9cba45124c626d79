"""Bulk thing registration: Start/Stop/Describe/ListThingRegistrationTask(s) and reports.

AWS reads the task's input (newline-delimited JSON, one object of template parameters per
thing) from S3, which this mock does not serve. Tests hand the input to the mock with
`IotMock.registration.put_input(bucket, key, records)`; a task whose bucket/key has
no input completes with zero things. A task runs to completion when it starts, unless the
test holds tasks (`IotMock.registration.hold()`), which keeps them InProgress
until `IotMock.registration.run()`, so StopThingRegistrationTask can be seen.

Each line runs the template with the engine RegisterThing uses (`provisioning_engine`):
the same parameters, intrinsics, conditions and resources (things with OverrideSettings;
certificates from a CSR, a PEM or an existing id; policies by name or inline document),
each line all or nothing. A line that fails goes to the ERRORS report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of, paginate
from iotmock.identity.provisioning_engine import Failures, provision
from iotmock.identity.provisioning_templates import Template, parse_template

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
CANCELLED = "Cancelled"
RESULTS = "RESULTS"
ERRORS = "ERRORS"


@dataclass(slots=True)
class RegistrationTask:
    task_id: str
    template_body: str
    template: Template
    input_file_bucket: str
    input_file_key: str
    role_arn: str
    created_at: float
    last_modified_at: float
    status: str = IN_PROGRESS
    message: str = ""
    success_count: int = 0
    failure_count: int = 0
    percentage_progress: int = 0
    # report type (RESULTS / ERRORS) -> one JSON object per input line.
    reports: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {RESULTS: [], ERRORS: []}
    )


@dataclass(slots=True)
class RegistrationStore:
    # Keyed by a start-order sequence so lists page in start order; by_id finds a task.
    tasks: SortedIndex[RegistrationTask] = field(default_factory=SortedIndex)
    by_id: dict[str, RegistrationTask] = field(default_factory=dict)
    # (bucket, key) -> input lines: the stand-in for the S3 input file.
    inputs: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    hold: bool = False


# ---------------------------------------------------------------- mock-facing API


def put_input(
    backend: Backend, bucket: str, key: str, records: Iterable[Mapping[str, Any] | str]
) -> None:
    """Store the input file `s3://bucket/key`: one parameter object (or raw JSON line) per
    thing."""
    lines = [r if isinstance(r, str) else json.dumps(dict(r)) for r in records]
    backend.store(RegistrationStore).inputs[(bucket, key)] = lines


def run_held(ctx: RequestContext) -> list[str]:
    """Run every task that is still InProgress; returns their ids."""
    store = ctx.backend.store(RegistrationStore)
    ran = [t for t in store.tasks.values() if t.status == IN_PROGRESS]
    for task in ran:
        _run(ctx, task)
    return [t.task_id for t in ran]


def report(backend: Backend, task_id: str, report_type: str) -> list[dict[str, Any]]:
    """The lines of a task's RESULTS or ERRORS report."""
    return list(_get_task(backend, task_id).reports[report_type])


# ---------------------------------------------------------------- provisioning one line

# A bulk report names the kind of failure by its own codes (RegisterThing reports all of
# them as ResourceRegistrationFailureException).
BULK_FAILURES = Failures(
    missing=not_found,
    conflict=lambda message: ServiceError("ResourceConflictsException", message),
)


def _provision_line(ctx: RequestContext, template: Template, line: str) -> dict[str, str]:
    """Provision the resources of one input line; returns their ARNs."""
    try:
        given = json.loads(line)
    except ValueError:
        raise invalid_request("The input line is not valid JSON.") from None
    if not isinstance(given, dict):
        raise invalid_request("The input line must be a JSON object.")
    return provision(ctx, template, given, BULK_FAILURES).arns


def _run(ctx: RequestContext, task: RegistrationTask) -> None:
    """Provision every line of the task's input and complete it."""
    lines = ctx.backend.store(RegistrationStore).inputs.get(
        (task.input_file_bucket, task.input_file_key), []
    )
    for number, line in enumerate(lines, start=1):
        reference = str(number)
        try:
            arns = _provision_line(ctx, task.template, line)
        except ServiceError as error:
            task.reports[ERRORS].append(
                {"referenceId": reference, "errorCode": error.code, "errorMessage": error.message}
            )
            task.failure_count += 1
        else:
            task.reports[RESULTS].append(
                {"referenceId": reference, "response": {"ResourceArns": arns}}
            )
            task.success_count += 1
    task.status = COMPLETED
    task.percentage_progress = 100
    task.message = (
        f"Provisioned {task.success_count} of {len(lines)} things"
        if lines
        else f"No input found at s3://{task.input_file_bucket}/{task.input_file_key}"
    )
    task.last_modified_at = clock.now()


# ---------------------------------------------------------------- handlers


def _get_task(backend: Backend, task_id: str) -> RegistrationTask:
    task = backend.store(RegistrationStore).by_id.get(task_id)
    if task is None:
        raise not_found(f"Thing registration task {task_id} cannot be found.")
    return task


@operation("iot", "StartThingRegistrationTask")
def start_thing_registration_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(RegistrationStore)
    template = parse_template(params["templateBody"])
    now = clock.now()
    task = RegistrationTask(
        task_id=str(uuid.uuid4()),
        template_body=params["templateBody"],
        template=template,
        input_file_bucket=params["inputFileBucket"],
        input_file_key=params["inputFileKey"],
        role_arn=params["roleArn"],
        created_at=now,
        last_modified_at=now,
    )
    store.tasks[f"{len(store.by_id):012d}"] = task
    store.by_id[task.task_id] = task
    if not store.hold:
        _run(ctx, task)
    return {"taskId": task.task_id}


@operation("iot", "DescribeThingRegistrationTask")
def describe_thing_registration_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = _get_task(ctx.backend, params["taskId"])
    return {
        "taskId": task.task_id,
        "creationDate": task.created_at,
        "lastModifiedDate": task.last_modified_at,
        "templateBody": task.template_body,
        "inputFileBucket": task.input_file_bucket,
        "inputFileKey": task.input_file_key,
        "roleArn": task.role_arn,
        "status": task.status,
        "message": task.message,
        "successCount": task.success_count,
        "failureCount": task.failure_count,
        "percentageProgress": task.percentage_progress,
    }


@operation("iot", "ListThingRegistrationTasks")
def list_thing_registration_tasks(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = params.get("status")
    page, token = page_of(
        f"ListThingRegistrationTasks:{status}",
        ctx.backend.store(RegistrationStore).tasks,
        params,
        keep=(lambda t: t.status == status) if status else None,
    )
    return {"taskIds": [t.task_id for t in page], "nextToken": token}


@operation("iot", "StopThingRegistrationTask")
def stop_thing_registration_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    task = _get_task(ctx.backend, params["taskId"])
    if task.status != IN_PROGRESS:
        raise invalid_request(
            f"Thing registration task {task.task_id} is {task.status} and can no longer be stopped."
        )
    # AWS passes through Cancelling while workers stop; nothing runs here, so the task is
    # Cancelled at once.
    task.status = CANCELLED
    task.message = "Task cancelled by StopThingRegistrationTask"
    task.last_modified_at = clock.now()
    return {}


@operation("iot", "ListThingRegistrationTaskReports")
def list_thing_registration_task_reports(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    task_id = params["taskId"]
    task = backend.store(RegistrationStore).by_id.get(task_id)
    if task is None:
        # The operation models no 404.
        raise invalid_request(f"Thing registration task {task_id} cannot be found.")
    report_type = params["reportType"]
    # One report file per type, once the task has written a line of that type.
    links = (
        {
            "0": f"https://aws-iot-btp-{backend.region}.s3.{backend.region}.amazonaws.com/"
            f"{backend.account_id}/{task_id}/{report_type}/report-0.json"
        }
        if task.reports[report_type]
        else {}
    )
    page, token = paginate(
        f"ListThingRegistrationTaskReports:{task_id}:{report_type}",
        lambda after: ((k, v) for k, v in sorted(links.items()) if after is None or k > after),
        params.get("nextToken"),
        params.get("maxResults"),
    )
    return {"resourceLinks": page, "reportType": report_type, "nextToken": token}
