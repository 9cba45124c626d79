"""Bulk thing registration: Start/Stop/Describe/ListThingRegistrationTask(s) and reports.

AWS reads the task's input (newline-delimited JSON, one object of template parameters per
thing) from S3, which this mock does not serve. Tests hand the input to the mock with
`IotMock.put_thing_registration_input(bucket, key, records)`; a task whose bucket/key has
no input completes with zero things. A task runs to completion when it starts, unless the
test holds tasks (`IotMock.hold_thing_registration_tasks()`), which keeps them InProgress
until `IotMock.run_thing_registration_tasks()`, so StopThingRegistrationTask can be seen.

The template supports what bulk provisioning templates use (DG:bulk-provisioning,
DG:provision-template): `Parameters` with defaults; `Ref`, `Fn::Join`, `Fn::Sub`,
`Fn::Select`, `Fn::Split`; resources `AWS::IoT::Thing` (ThingName, AttributePayload,
ThingTypeName, ThingGroups, BillingGroup, OverrideSettings), `AWS::IoT::Certificate` with
`CertificateId` (an existing certificate, attached to the thing) and `AWS::IoT::Policy`
with `PolicyName` (an existing policy, attached to the certificate). Resources that would
need new key material or policies (CertificateSigningRequest, CertificatePem,
PolicyDocument) fail their line with an explanatory error in the ERRORS report.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ... import _clock
from ..._errors import ServiceError, invalid_request, not_found
from ..._events import emit
from ..._paging import SortedIndex, page_of, paginate
from ..._registry import Params, RequestContext, operation
from ...state import Backend, Thing, ThingGroup
from .billing_groups import get_billing_group, put_thing_in_billing_group
from .thing_groups import check_memberships, check_static, get_group, update_memberships
from .thing_principals import attach
from .things import check_attribute_count, check_thing_type, create_thing_record, set_thing_type

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
CANCELLED = "Cancelled"
RESULTS = "RESULTS"
ERRORS = "ERRORS"

_SUB_REFERENCE = re.compile(r"\$\{([^}]+)\}")


@dataclass(slots=True)
class RegistrationTask:
    task_id: str
    template_body: str
    template: dict[str, Any]
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


class LineFailure(Exception):
    """One input line could not be provisioned; it goes to the ERRORS report."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


# ---------------------------------------------------------------- template evaluation


def _evaluate(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Resolve the intrinsic functions of a template value against `parameters`."""
    if isinstance(value, list):
        return [_evaluate(v, parameters) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref":
            if argument not in parameters:
                raise LineFailure("InvalidRequestException", f"Parameter {argument} has no value.")
            return parameters[argument]
        if name == "Fn::Join":
            delimiter, items = argument
            return str(delimiter).join(str(_evaluate(i, parameters)) for i in items)
        if name == "Fn::Split":
            delimiter, text = argument
            return str(_evaluate(text, parameters)).split(str(delimiter))
        if name == "Fn::Select":
            index, items = argument
            try:
                return _evaluate(items, parameters)[int(index)]
            except (IndexError, ValueError, TypeError):
                raise LineFailure(
                    "InvalidRequestException", f"Fn::Select index {index} is out of range."
                ) from None
        if name == "Fn::Sub":
            return _SUB_REFERENCE.sub(
                lambda m: str(_evaluate({"Ref": m.group(1)}, parameters)), str(argument)
            )
    return {k: _evaluate(v, parameters) for k, v in value.items()}


def _parameters(template: dict[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The line's values, falling back to each declared parameter's Default."""
    values = {
        name: declaration["Default"]
        for name, declaration in (template.get("Parameters") or {}).items()
        if isinstance(declaration, dict) and "Default" in declaration
    }
    values.update(given)
    return values


def _parse_template(body: str) -> dict[str, Any]:
    try:
        template = json.loads(body)
    except ValueError:
        raise invalid_request("The templateBody is not valid JSON.") from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise invalid_request("The templateBody must be a JSON object with a Resources section.")
    return template


# ---------------------------------------------------------------- provisioning one line


def _override(settings: Mapping[str, Any], key: str) -> str:
    return str(settings.get(key, "DO_NOTHING"))


def _provision_thing(
    ctx: RequestContext, properties: Mapping[str, Any], settings: Mapping[str, Any]
) -> Thing:
    backend = ctx.backend
    name = properties.get("ThingName")
    if not name:
        raise LineFailure("InvalidRequestException", "AWS::IoT::Thing needs a ThingName.")
    attributes = {str(k): str(v) for k, v in (properties.get("AttributePayload") or {}).items()}
    type_name = properties.get("ThingTypeName")
    groups = [get_group(backend, g) for g in properties.get("ThingGroups") or ()]
    billing_name = properties.get("BillingGroup")
    billing_group = get_billing_group(backend, billing_name) if billing_name else None
    thing = backend.things.get(name)
    if thing is None:
        # Check the memberships first, so a refused line leaves no half-made thing.
        for group in groups:
            check_static(group)
        check_memberships(backend, name, {g.name for g in groups})
        thing = create_thing_record(backend, name, type_name, attributes)
        emit(ctx, "thing_created", thing=thing)
        update_memberships(ctx, thing, to_add=groups)
    else:
        _apply_overrides(ctx, thing, attributes, type_name, groups, settings)
    if billing_group is not None:
        put_thing_in_billing_group(backend, thing, billing_group)
    return thing


def _apply_overrides(
    ctx: RequestContext,
    thing: Thing,
    attributes: dict[str, str],
    type_name: str | None,
    groups: list[ThingGroup],
    settings: Mapping[str, Any],
) -> None:
    """OverrideSettings for an existing thing: DO_NOTHING (default), REPLACE, MERGE
    (attributes and groups) or FAIL."""
    modes = {
        key: _override(settings, key)
        for key in ("AttributePayload", "ThingTypeName", "ThingGroups")
    }
    if "FAIL" in modes.values():
        raise LineFailure(
            "ResourceConflictsException",
            f"Thing {thing.name} already exists and its OverrideSettings say FAIL.",
        )
    new_type = type_name if modes["ThingTypeName"] == "REPLACE" else thing.thing_type_name
    if new_type != thing.thing_type_name and new_type:
        check_thing_type(ctx.backend, new_type)
    new_attributes = {
        "REPLACE": attributes,
        "MERGE": {**thing.attributes, **attributes},
    }.get(modes["AttributePayload"], thing.attributes)
    check_attribute_count(new_attributes, new_type)
    if modes["ThingGroups"] in ("REPLACE", "MERGE"):
        wanted = {g.name for g in groups}
        stale = (
            []
            if modes["ThingGroups"] == "MERGE"
            else [get_group(ctx.backend, n) for n in thing.group_names - wanted]
        )
        update_memberships(ctx, thing, to_add=groups, to_remove=stale)
    if new_attributes != thing.attributes or new_type != thing.thing_type_name:
        previous_type_name = thing.thing_type_name
        set_thing_type(ctx.backend, thing, new_type)
        thing.attributes = dict(new_attributes)
        thing.version += 1
        emit(ctx, "thing_updated", thing=thing, previous_type_name=previous_type_name)


def _provision_line(ctx: RequestContext, template: dict[str, Any], line: str) -> dict[str, str]:
    """Provision the resources of one input line; returns their ARNs by resource type."""
    try:
        given = json.loads(line)
    except ValueError:
        raise LineFailure("InvalidRequestException", "The input line is not valid JSON.") from None
    if not isinstance(given, dict):
        raise LineFailure("InvalidRequestException", "The input line must be a JSON object.")
    resources = _evaluate(template["Resources"], _parameters(template, given))
    by_type: dict[str, dict[str, Any]] = {}
    for logical_name, resource in resources.items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in ("AWS::IoT::Thing", "AWS::IoT::Certificate", "AWS::IoT::Policy"):
            raise LineFailure(
                "InvalidRequestException", f"Resource {logical_name} has unsupported type {kind}."
            )
        by_type[kind] = resource
    backend = ctx.backend
    arns: dict[str, str] = {}
    certificate_arn = _certificate_of(backend, by_type.get("AWS::IoT::Certificate"))
    policy_name = _policy_of(backend, by_type.get("AWS::IoT::Policy"))
    if policy_name is not None and certificate_arn is None:
        raise LineFailure(
            "InvalidRequestException", "A policy resource needs a certificate resource."
        )
    thing_resource = by_type.get("AWS::IoT::Thing")
    if thing_resource is not None:
        thing = _provision_thing(
            ctx,
            thing_resource.get("Properties") or {},
            thing_resource.get("OverrideSettings") or {},
        )
        arns["thing"] = thing.arn
        if certificate_arn is not None:
            attach(backend, thing.name, certificate_arn)
    if certificate_arn is not None:
        arns["certificate"] = certificate_arn
    if policy_name is not None and certificate_arn is not None:
        policy = backend.policies[policy_name]
        backend.policy_targets.setdefault(policy_name, {})[certificate_arn] = None
        backend.target_policies.setdefault(certificate_arn, {})[policy_name] = None
        arns["policy"] = policy.arn
    return arns


def _certificate_of(backend: Backend, resource: dict[str, Any] | None) -> str | None:
    if resource is None:
        return None
    certificate_id = (resource.get("Properties") or {}).get("CertificateId")
    if not certificate_id:
        raise LineFailure(
            "InvalidRequestException",
            "iotmock provisions AWS::IoT::Certificate from an existing CertificateId only; "
            "CertificateSigningRequest and CertificatePem are not supported in bulk tasks.",
        )
    certificate = backend.certificates.get(certificate_id)
    if certificate is None:
        raise LineFailure(
            "ResourceNotFoundException", f"Certificate {certificate_id} does not exist."
        )
    return certificate.arn


def _policy_of(backend: Backend, resource: dict[str, Any] | None) -> str | None:
    if resource is None:
        return None
    name = (resource.get("Properties") or {}).get("PolicyName")
    if not name:
        raise LineFailure(
            "InvalidRequestException",
            "iotmock provisions AWS::IoT::Policy from an existing PolicyName only; "
            "PolicyDocument is not supported in bulk tasks.",
        )
    if name not in backend.policies:
        raise LineFailure("ResourceNotFoundException", f"Policy {name} does not exist.")
    return str(name)


def _run(ctx: RequestContext, task: RegistrationTask) -> None:
    """Provision every line of the task's input and complete it."""
    lines = ctx.backend.store(RegistrationStore).inputs.get(
        (task.input_file_bucket, task.input_file_key), []
    )
    for number, line in enumerate(lines, start=1):
        reference = str(number)
        try:
            arns = _provision_line(ctx, task.template, line)
        except LineFailure as failure:
            task.reports[ERRORS].append(
                {
                    "referenceId": reference,
                    "errorCode": failure.code,
                    "errorMessage": failure.message,
                }
            )
            task.failure_count += 1
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
    task.last_modified_at = _clock.now()


# ---------------------------------------------------------------- handlers


def _get_task(backend: Backend, task_id: str) -> RegistrationTask:
    task = backend.store(RegistrationStore).by_id.get(task_id)
    if task is None:
        raise not_found(f"Thing registration task {task_id} cannot be found.")
    return task


@operation("iot", "StartThingRegistrationTask")
def start_thing_registration_task(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = ctx.backend.store(RegistrationStore)
    template = _parse_template(params["templateBody"])
    now = _clock.now()
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
    task.last_modified_at = _clock.now()
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
