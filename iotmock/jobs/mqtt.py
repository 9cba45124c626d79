"""The MQTT device API of AWS IoT Jobs (DG: jobs-mqtt-api).

A device publishes a JSON request on one of these topics and the Jobs service answers on
the same topic + `/accepted` or `/rejected`:

- `$aws/things/<thing>/jobs/get`: GetPendingJobExecutions;
- `$aws/things/<thing>/jobs/start-next`: StartNextPendingJobExecution;
- `$aws/things/<thing>/jobs/<jobId>/get` (jobId may be `$next`): DescribeJobExecution;
- `$aws/things/<thing>/jobs/<jobId>/update`: UpdateJobExecution.

Requests are checked against the constraints of the matching iot-jobs-data operation and
answered by that operation's HTTP handler (`iotmock.jobs.device_handlers`), so both
transports share one state machine and the notify / notify-next messages follow every
change; the answer carries the job document as a JSON object.
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
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError
from iotmock.core.events import subscribe
from iotmock.core.model import operation_model
from iotmock.core.operations import Params, RequestContext
from iotmock.core.validation import validate
from iotmock.jobs import device_handlers
from iotmock.jobs import engine as model
from iotmock.messaging.log import Message, publish

# The jobs engine publishes its notifications with this source too: no answer to either.
SOURCE = "jobs"
NEXT = device_handlers.NEXT
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


# A request is answered by the iot-jobs-data operation's handler itself, given the
# payload members plus the thing and job of the topic as its parameters.
_ANSWERS: dict[str, tuple[str, Callable[[RequestContext, Params], dict[str, Any]]]] = {
    "get": ("GetPendingJobExecutions", device_handlers.get_pending_job_executions),
    "start-next": (
        "StartNextPendingJobExecution",
        device_handlers.start_next_pending_job_execution,
    ),
    "job/get": ("DescribeJobExecution", device_handlers.describe_job_execution),
    "job/update": ("UpdateJobExecution", device_handlers.update_job_execution),
}


def _mqtt_answer(output: dict[str, Any]) -> dict[str, Any]:
    """The operation's output as the MQTT answer carries it: the job document as a JSON
    object (model.mqtt_document), left out when the job has none."""
    execution = output.get("execution")
    if execution is not None and "jobDocument" in execution:
        execution["jobDocument"] = model.mqtt_document(execution["jobDocument"])
    if output.get("jobDocument") is not None:
        output["jobDocument"] = model.mqtt_document(output["jobDocument"])
    else:
        output.pop("jobDocument", None)
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


def _checked_params(operation: str, thing: str, job_id: str | None, body: dict[str, Any]) -> Params:
    """The parameters of the iot-jobs-data operation: the payload members plus the thing
    and job of the topic, checked against its constraints (types, enums, ranges, required)."""
    members = _payload_members(operation)
    params = {name: value for name, value in body.items() if name in members}
    params["thingName"] = thing
    if job_id is not None:
        params["jobId"] = job_id
    details = params.get("statusDetails")
    if isinstance(details, dict) and not all(isinstance(v, str) for v in details.values()):
        raise Rejected("InvalidRequest", "statusDetails values must be strings.")
    validate("iot-jobs-data", operation, params)
    return params


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
        operation, handler = _ANSWERS[key]
        document = _mqtt_answer(handler(ctx, _checked_params(operation, thing, job_id, body)))
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
