"""The MQTT device API of AWS IoT Jobs (DG: jobs-mqtt-api).

A device publishes a JSON request on one of these topics and the Jobs service answers on
the same topic + `/accepted` or `/rejected`:

- `$aws/things/<thing>/jobs/get`: GetPendingJobExecutions;
- `$aws/things/<thing>/jobs/start-next`: StartNextPendingJobExecution;
- `$aws/things/<thing>/jobs/<jobId>/get` (jobId may be `$next`): DescribeJobExecution;
- `$aws/things/<thing>/jobs/<jobId>/update`: UpdateJobExecution.

Requests are checked against the constraints of the matching iot-jobs-data operation and
run through the same engine functions as the HTTP API (`iotmock.jobs.engine`), so both transports
share one state machine and the notify / notify-next messages follow every change.
Rejections carry the MQTT error codes (InvalidTopic, InvalidJson, InvalidRequest,
InvalidStateTransition, ResourceNotFound, VersionMismatch, TerminalStateReached,
RequestThrottled, InternalError). Timestamps are whole epoch seconds, like the rest of
the family (docs/jobs.md).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError
from iotmock.core.events import subscribe
from iotmock.core.model import operation_model
from iotmock.core.operations import RequestContext
from iotmock.core.validation import validate
from iotmock.jobs import engine as model
from iotmock.messaging.log import Message, publish

# The jobs engine publishes its notifications with this source too: no answer to either.
SOURCE = "jobs"
NEXT = "$next"
MAX_CLIENT_TOKEN = 64

_JOBS_TOPIC = re.compile(r"\$aws/things/(?P<thing>[^/]+)/jobs/(?P<rest>.+)")
_REQUEST = re.compile(r"(?P<action>get|start-next)|(?P<job>[^/]+)/(?P<job_action>get|update)")
# Topics the service itself publishes on: never requests, never answered.
_SERVICE_TOPIC = re.compile(r"notify(?:-next)?(?:-namespace-[^/]+)?|.+/(?:accepted|rejected)")

# The MQTT error code of each error the engine raises (DG: jobs-mqtt-api, ErrorCode).
_MQTT_CODES = {
    "InvalidRequestException": "InvalidRequest",
    "ResourceNotFoundException": "ResourceNotFound",
    "InvalidStateTransitionException": "InvalidStateTransition",
    "TerminalStateException": "TerminalStateReached",
    "ThrottlingException": "RequestThrottled",
}
# Codes whose rejection carries the execution's current state (ErrorResponse).
_WITH_STATE = frozenset({"InvalidStateTransition", "VersionMismatch"})


class Rejected(Exception):
    """An MQTT error answer: published on `<request topic>/rejected`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(slots=True, frozen=True)
class JobsRequest:
    """One request: the thing and job of its topic and the members of its payload."""

    thing: str
    job_id: str | None
    body: dict[str, Any]

    def member(self, name: str) -> Any:
        return self.body.get(name)


Answer = Callable[[RequestContext, JobsRequest], dict[str, Any]]


# --------------------------------------------------------------------------- requests


def _get_pending(ctx: RequestContext, request: JobsRequest) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    model.thing_exists_for_jobs(ctx, store, request.thing)
    in_progress, queued = model.pending_executions(store, request.thing)
    return {
        "inProgressJobs": [model.device_summary(e) for e in in_progress],
        "queuedJobs": [model.device_summary(e) for e in queued],
    }


def _start_next(ctx: RequestContext, request: JobsRequest) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    execution = model.start_next_pending(
        ctx,
        store,
        request.thing,
        status_details=request.member("statusDetails"),
        step_timeout=request.member("stepTimeoutInMinutes"),
    )
    if execution is None:
        return {}  # nothing pending: accepted without an execution
    return {"execution": _mqtt_execution(store, execution, include_document=True)}


def _describe(ctx: RequestContext, request: JobsRequest) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    include_document = request.member("includeJobDocument") is not False  # default true
    if request.job_id == NEXT:
        model.thing_exists_for_jobs(ctx, store, request.thing)
        execution = model.next_pending(store, request.thing)
        if execution is None:
            return {}  # nothing pending: accepted without an execution
    else:
        execution = model.get_execution(
            store, str(request.job_id), request.thing, request.member("executionNumber")
        )
    return {"execution": _mqtt_execution(store, execution, include_document=include_document)}


def _update(ctx: RequestContext, request: JobsRequest) -> dict[str, Any]:
    store = model.jobs_store(ctx)
    execution = model.device_update(
        ctx,
        store,
        str(request.job_id),
        request.thing,
        request.member("status"),
        execution_number=request.member("executionNumber"),
        expected_version=request.member("expectedVersion"),
        status_details=request.member("statusDetails"),
        step_timeout=request.member("stepTimeoutInMinutes"),
    )
    answer: dict[str, Any] = {}
    if request.member("includeJobExecutionState"):
        answer["executionState"] = model.execution_state(execution)
    if request.member("includeJobDocument"):
        document = model.device_document(store, execution)
        if document is not None:
            answer["jobDocument"] = model.mqtt_document(document)
    return answer


# The iot-jobs-data operation whose input constraints each request follows.
_ANSWERS: dict[str, tuple[str, Answer]] = {
    "get": ("GetPendingJobExecutions", _get_pending),
    "start-next": ("StartNextPendingJobExecution", _start_next),
    "job/get": ("DescribeJobExecution", _describe),
    "job/update": ("UpdateJobExecution", _update),
}


def _mqtt_execution(
    store: model.JobsStore, execution: model.JobExecution, *, include_document: bool
) -> dict[str, Any]:
    """JobExecution as MQTT answers carry it: the document as a JSON object."""
    output = model.device_execution(store, execution, include_document=include_document)
    if "jobDocument" in output:
        output["jobDocument"] = model.mqtt_document(output["jobDocument"])
    return output


# --------------------------------------------------------------------------- parsing


def _parse_body(payload: bytes) -> dict[str, Any]:
    """The request document. An empty payload is an empty request (every member of the
    GET-style requests is optional); anything else must be a JSON object."""
    if not payload.strip():
        return {}
    try:
        body = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Rejected(
            "InvalidJson", "The request payload could not be parsed as UTF-8 encoded JSON."
        ) from None
    if not isinstance(body, dict):
        raise Rejected("InvalidRequest", "The request payload must be a JSON object.")
    return body


def _client_token(body: dict[str, Any]) -> str | None:
    token = body.get("clientToken")
    if token is None:
        return None
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_CLIENT_TOKEN:
        raise Rejected(
            "InvalidRequest",
            f"clientToken must be a string of 1 to {MAX_CLIENT_TOKEN} characters.",
        )
    return token


def _check_members(operation: str, request: JobsRequest) -> None:
    """The constraints of the iot-jobs-data operation (types, enums, ranges, required),
    applied to the payload members plus the thing and job of the topic."""
    members = _payload_members(operation)
    params = {name: value for name, value in request.body.items() if name in members}
    params["thingName"] = request.thing
    if request.job_id is not None:
        params["jobId"] = request.job_id
    details = params.get("statusDetails")
    if isinstance(details, dict) and not all(isinstance(v, str) for v in details.values()):
        raise Rejected("InvalidRequest", "statusDetails values must be strings.")
    validate("iot-jobs-data", operation, params)


_TOPIC_MEMBERS = frozenset({"thingName", "jobId"})


@functools.cache
def _payload_members(operation: str) -> frozenset[str]:
    """Input members a payload may give (the topic gives the thing and the job)."""
    shape = operation_model("iot-jobs-data", operation).input_shape
    return frozenset(shape.members) - _TOPIC_MEMBERS if shape is not None else frozenset()


def _route(rest: str) -> tuple[str, str | None]:
    """(answer key, job id) of the part of a request topic after `jobs/`."""
    match = _REQUEST.fullmatch(rest)
    if match is None:
        raise Rejected("InvalidTopic", "The topic does not map to any AWS IoT Jobs API.")
    if match["action"] is not None:
        return match["action"], None
    job_id, action = match["job"], match["job_action"]
    if job_id == NEXT and action == "update":
        # `$next` names the next execution for reads only (DG: jobs-mqtt-api).
        raise Rejected("InvalidTopic", "$next can only be used to get a job execution.")
    return f"job/{action}", job_id


# --------------------------------------------------------------------------- serving


@subscribe("message_published", topic_prefix="$aws/things/")
def _serve_jobs_request(ctx: RequestContext, message: Message) -> None:
    """Answer a message on a jobs request topic as the AWS IoT Jobs service does."""
    if message.source == SOURCE or not message.topic.startswith("$aws/things/"):
        return
    match = _JOBS_TOPIC.fullmatch(message.topic)
    if match is None or _SERVICE_TOPIC.fullmatch(match["rest"]):
        return
    thing = match["thing"]
    token: str | None = None
    job_id: str | None = None
    body: dict[str, Any] = {}
    try:
        key, job_id = _route(match["rest"])
        body = _parse_body(message.payload)
        token = _client_token(body)
        operation, answer = _ANSWERS[key]
        request = JobsRequest(thing, job_id, body)
        _check_members(operation, request)
        document = answer(ctx, request)
    except Rejected as rejected:
        _reject(ctx, message.topic, rejected.code, rejected.message, token, None)
        return
    except ServiceError as error:
        code = mqtt_code(error)
        state = _state_of(ctx, thing, job_id, body) if code in _WITH_STATE else None
        _reject(ctx, message.topic, code, _mqtt_message(error), token, state)
        return
    document["timestamp"] = _timestamp()
    if token is not None:
        document["clientToken"] = token
    publish(ctx, f"{message.topic}/accepted", document, source=SOURCE)


def mqtt_code(error: ServiceError) -> str:
    """The MQTT error code of an engine error; anything unexpected is InternalError."""
    if isinstance(error, model.VersionMismatch):
        return "VersionMismatch"
    return _MQTT_CODES.get(error.code, "InternalError")


def _mqtt_message(error: ServiceError) -> str:
    # The HTTP message of a version mismatch names the MQTT code, which MQTT gives apart.
    if isinstance(error, model.VersionMismatch):
        return error.message.removeprefix("VersionMismatch: ")
    return error.message


def _state_of(
    ctx: RequestContext, thing: str, job_id: str | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The current JobExecutionState of the execution a refused update named."""
    if job_id is None:
        return None
    try:
        execution = model.get_execution(
            model.jobs_store(ctx), job_id, thing, body.get("executionNumber")
        )
    except ServiceError:
        return None
    return model.execution_state(execution)


def _reject(
    ctx: RequestContext,
    topic: str,
    code: str,
    message: str,
    token: str | None,
    state: dict[str, Any] | None,
) -> None:
    """Publish an ErrorResponse on `<topic>/rejected`."""
    document: dict[str, Any] = {"code": code, "message": message, "timestamp": _timestamp()}
    if token is not None:
        document["clientToken"] = token
    if state is not None:
        document["executionState"] = state
    publish(ctx, f"{topic}/rejected", document, source=SOURCE)


def _timestamp() -> int:
    return int(clock.now())  # whole epoch seconds, as model.seconds
