"""Commands and command executions (control plane): CreateCommand, GetCommand,
UpdateCommand, DeleteCommand, ListCommands, GetCommandExecution, ListCommandExecutions,
DeleteCommandExecution.

Executions are started by iot-jobs-data StartCommandExecution (handlers/iot_jobs_data/
commands.py) and updated by the device on the reserved MQTT topic
`$aws/commands/<things|clients>/<id>/executions/<executionId>/response[/<format>]`; the
mock applies such messages when they pass through its message log (e.g. iot-data Publish)
and offers `IotMock.commands.update_execution` as the device-side shortcut for tests.

Timeouts are evaluated lazily against the mock clock: an execution still CREATED or
IN_PROGRESS once `executionTimeoutSeconds` have passed since its creation reads as
TIMED_OUT from then on.
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import heapq
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock as _clock
from iotmock.core import crud, tagging
from iotmock.core.backend import Backend
from iotmock.core.crud import CreationOrder
from iotmock.core.errors import ServiceError, not_found
from iotmock.core.events import subscribe
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.device_management.errors import conflict_error, validation_error
from iotmock.messaging.log import Message, publish

AWS_IOT, FLEETWISE = "AWS-IoT", "AWS-IoT-FleetWise"

# "the maximum time out duration of 12 hours" (DeleteCommand): no execution outlives it,
# so a command deprecated for longer can be deleted at once.
MAX_TIMEOUT_SECONDS = 12 * 3600
DEFAULT_TIMEOUT_SECONDS = 10
MAX_PAYLOAD_BYTES = 32 * 1024
EXECUTION_RETENTION_MONTHS = 6  # timeToLive: "The default value is six months."
LIST_COMMANDS_DEFAULT = 25  # ListCommands: "By default, the API returns up to ... 25"
LIST_EXECUTIONS_DEFAULT = 25

CREATED, IN_PROGRESS = "CREATED", "IN_PROGRESS"
SUCCEEDED, FAILED, REJECTED, TIMED_OUT = "SUCCEEDED", "FAILED", "REJECTED", "TIMED_OUT"
FINAL = frozenset({SUCCEEDED, FAILED, REJECTED})
# Statuses a device may report, and the statuses it may report them from. A timed-out
# execution still accepts the device's late final answer.
DEVICE_STATUSES = frozenset({IN_PROGRESS, SUCCEEDED, FAILED, REJECTED, TIMED_OUT})
_REPORTABLE_FROM = {
    CREATED: DEVICE_STATUSES,
    IN_PROGRESS: DEVICE_STATUSES,
    TIMED_OUT: FINAL,
}

# CommandParameterType -> the CommandParameterValue member that carries it.
VALUE_MEMBERS = {
    "STRING": "S",
    "INTEGER": "I",
    "LONG": "L",
    "DOUBLE": "D",
    "UNSIGNEDLONG": "UL",
    "BOOLEAN": "B",
    "BINARY": "BIN",
}
# A dynamic command's payloadTemplate names execution parameters with this placeholder.
PLACEHOLDER = re.compile(r"\$\{aws:iot:commandexecution::parameter:([.$a-zA-Z0-9_-]+)\}")
_REASON_CODE = re.compile(r"[A-Z0-9_-]{1,64}")
_RESULT_NAME = re.compile(r"[a-zA-Z0-9_-]{1,32}")
_RESPONSE_TOPIC = re.compile(
    r"\$aws/commands/(things|clients)/([^/]+)/executions/([^/]+)/response(?:/(json|cbor))?"
)


@dataclass(slots=True)
class Command:
    command_id: str
    arn: str
    namespace: str
    display_name: str | None
    description: str | None
    payload: dict[str, Any] | None
    payload_template: str | None
    preprocessor: dict[str, Any] | None
    mandatory_parameters: list[dict[str, Any]]
    role_arn: str | None
    created_at: float
    last_updated_at: float
    deprecated: bool = False
    deprecated_at: float | None = None
    # When DeleteCommand scheduled the deletion, the time it becomes permanent.
    deletion_due_at: float | None = None

    @property
    def pending_deletion(self) -> bool:
        return self.deletion_due_at is not None


@dataclass(slots=True)
class CommandExecution:
    execution_id: str
    command_arn: str
    namespace: str
    target_arn: str
    parameters: dict[str, dict[str, Any]]
    timeout_seconds: int
    created_at: float
    time_to_live: float
    status: str = CREATED
    last_updated_at: float = 0.0
    started_at: float | None = None
    completed_at: float | None = None
    status_reason: dict[str, str] | None = None
    result: dict[str, dict[str, Any]] | None = None

    def refresh(self, now: float) -> None:
        """Apply the timeout if it has passed while the execution was still running."""
        deadline = self.created_at + self.timeout_seconds
        if self.status in (CREATED, IN_PROGRESS) and now >= deadline:
            self.status = TIMED_OUT
            self.completed_at = deadline
            self.last_updated_at = deadline


@dataclass(slots=True)
class CommandStore:
    # In creation order (ListCommands sorts by creation time, newest first).
    commands: CreationOrder[Command] = field(default_factory=CreationOrder)
    # (due time, command id) of scheduled deletions, earliest first.
    deletions: list[tuple[float, str]] = field(default_factory=list)
    executions: dict[str, CommandExecution] = field(default_factory=dict)
    by_command: dict[str, dict[str, CommandExecution]] = field(default_factory=dict)
    by_target: dict[str, dict[str, CommandExecution]] = field(default_factory=dict)
    # StartCommandExecution clientToken -> (request fingerprint, execution id).
    client_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)


# --------------------------------------------------------------------------- lookups


def command_store(backend: Backend) -> CommandStore:
    """The commands of `backend`, after removing those whose scheduled deletion is due."""
    store = backend.store(CommandStore)
    now = _clock.now()
    while store.deletions and store.deletions[0][0] <= now:
        _, command_id = heapq.heappop(store.deletions)
        command = store.commands.get(command_id)
        if command is not None and command.deletion_due_at is not None:
            _remove_command(backend, store, command)
    return store


def _remove_command(backend: Backend, store: CommandStore, command: Command) -> None:
    store.commands.pop(command.command_id)
    tagging.drop(backend, command.arn)


def _description(command: Command) -> dict[str, Any]:
    return {
        "commandId": command.command_id,
        "commandArn": command.arn,
        "namespace": command.namespace,
        "displayName": command.display_name,
        "description": command.description,
        "mandatoryParameters": command.mandatory_parameters or None,
        "payload": command.payload,
        "payloadTemplate": command.payload_template,
        "preprocessor": command.preprocessor,
        "roleArn": command.role_arn,
        "createdAt": command.created_at,
        "lastUpdatedAt": command.last_updated_at,
        "deprecated": command.deprecated,
        "pendingDeletion": command.pending_deletion,
    }


def _summary(command: Command) -> dict[str, Any]:
    return {
        "commandArn": command.arn,
        "commandId": command.command_id,
        "displayName": command.display_name,
        "deprecated": command.deprecated,
        "createdAt": command.created_at,
        "lastUpdatedAt": command.last_updated_at,
        "pendingDeletion": command.pending_deletion,
    }


def _taken(command_id: str, existing: Command) -> ServiceError:
    pending = " and is pending deletion." if existing.pending_deletion else "."
    return conflict_error(f"Command {command_id} already exists{pending}", command_id)


COMMANDS: crud.ResourceKind[Command] = crud.ResourceKind(
    label="Command",
    arn_type="command",
    index=lambda backend: command_store(backend).commands,
    describe=_description,
    summary=_summary,
    list_member="commands",
    page_size=LIST_COMMANDS_DEFAULT,
    taken=_taken,
)
get_command = COMMANDS.get


def command_id_of_arn(backend: Backend, arn: str) -> str | None:
    """The command id of a command ARN of this account and region (None otherwise)."""
    prefix = backend.arn("command/")
    if not arn.startswith(prefix):
        return None
    return arn[len(prefix) :]


def _get_execution(backend: Backend, execution_id: str, target_arn: str) -> CommandExecution:
    execution = command_store(backend).executions.get(execution_id)
    now = _clock.now()
    if execution is not None and now >= execution.time_to_live:
        _forget_execution(backend, execution)
        execution = None
    if execution is None or execution.target_arn != target_arn:
        raise not_found(f"Command execution {execution_id} does not exist for target {target_arn}.")
    execution.refresh(now)
    return execution


def _forget_execution(backend: Backend, execution: CommandExecution) -> None:
    store = backend.store(CommandStore)
    store.executions.pop(execution.execution_id, None)
    for index, key in (
        (store.by_command, execution.command_arn),
        (store.by_target, execution.target_arn),
    ):
        bucket = index.get(key)
        if bucket is not None:
            bucket.pop(execution.execution_id, None)
            if not bucket:
                del index[key]


def add_execution(backend: Backend, execution: CommandExecution) -> None:
    store = backend.store(CommandStore)
    store.executions[execution.execution_id] = execution
    store.by_command.setdefault(execution.command_arn, {})[execution.execution_id] = execution
    store.by_target.setdefault(execution.target_arn, {})[execution.execution_id] = execution


def retention_deadline(created_at: float) -> float:
    """`created_at` plus six calendar months (the default timeToLive)."""
    moment = dt.datetime.fromtimestamp(created_at, tz=dt.timezone.utc)
    month = moment.month - 1 + EXECUTION_RETENTION_MONTHS
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


# --------------------------------------------------------------------------- parameters


def value_member(value: dict[str, Any], where: str) -> str:
    """The one member (S, B, I, L, D, BIN, UL) set in a CommandParameterValue."""
    members = [name for name, item in value.items() if item is not None]
    if len(members) != 1:
        raise validation_error(
            f"{where} must set exactly one of S, B, I, L, D, BIN or UL; it sets {len(members)}."
        )
    return members[0]


def check_value_type(parameter: dict[str, Any], value: dict[str, Any], where: str) -> None:
    """A value must use the member of its parameter's declared type."""
    member = value_member(value, where)
    declared = parameter.get("type")
    if declared is not None and VALUE_MEMBERS[declared] != member:
        raise validation_error(
            f"{where} is of type {declared} and must be given as {VALUE_MEMBERS[declared]}, "
            f"not {member}."
        )


def _check_parameters(parameters: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for parameter in parameters:
        name = parameter["name"]
        if name in seen:
            raise validation_error(f"The command parameter {name} is defined more than once.")
        seen.add(name)
        for member in ("value", "defaultValue"):
            if parameter.get(member) is not None:
                check_value_type(parameter, parameter[member], f"{member} of parameter {name}")


# --------------------------------------------------------------------------- commands


def _check_namespace_rules(params: Params, namespace: str) -> None:
    if namespace == FLEETWISE:
        _check_fleetwise(params)
        return
    if params.get("roleArn"):
        raise validation_error("roleArn is not supported for the AWS-IoT namespace.")
    payload = params.get("payload")
    template = params.get("payloadTemplate")
    if (payload is None) == (template is None):
        raise validation_error(
            "A command of the AWS-IoT namespace needs either a payload (static command) or "
            "a payloadTemplate (dynamic command), not both."
        )
    if payload is not None:
        _check_static_payload(payload)
        if params.get("preprocessor") is not None:
            raise validation_error("preprocessor is only used with a payloadTemplate.")
    elif template is not None:
        _check_template(template, params)


def _check_fleetwise(params: Params) -> None:
    """IoT FleetWise builds the payload itself from the parameters, with the role."""
    if params.get("payload") is not None or params.get("payloadTemplate") is not None:
        raise validation_error(
            "payload and payloadTemplate are not supported for the AWS-IoT-FleetWise "
            "namespace: IoT FleetWise builds the payload from mandatoryParameters."
        )
    if not params.get("roleArn"):
        raise validation_error("roleArn is required for the AWS-IoT-FleetWise namespace.")
    if not params.get("mandatoryParameters"):
        raise validation_error(
            "mandatoryParameters is required for the AWS-IoT-FleetWise namespace."
        )


def _check_static_payload(payload: dict[str, Any]) -> None:
    content = payload.get("content")
    if not content:
        raise validation_error("payload.content is required for a static command.")
    if len(content) > MAX_PAYLOAD_BYTES:
        raise validation_error(
            f"The command payload is {len(content)} bytes; at most "
            f"{MAX_PAYLOAD_BYTES} bytes (32 KB) are allowed."
        )


def _check_template(template: str, params: Params) -> None:
    """A dynamic command needs a preprocessor, and its placeholders name parameters."""
    if not params.get("preprocessor"):
        raise validation_error("A dynamic command (payloadTemplate) also needs a preprocessor.")
    declared = {p["name"] for p in params.get("mandatoryParameters") or ()}
    undeclared = sorted(set(PLACEHOLDER.findall(template)) - declared)
    if undeclared:
        raise validation_error(
            "The payloadTemplate uses parameters that mandatoryParameters does not "
            f"define: {', '.join(undeclared)}."
        )


@operation("iot", "CreateCommand")
def create_command(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> Command:
        namespace = params.get("namespace") or AWS_IOT
        _check_namespace_rules(params, namespace)
        parameters = params.get("mandatoryParameters") or []
        _check_parameters(parameters)
        payload = params.get("payload")
        return Command(
            command_id=params["commandId"],
            arn=arn,
            namespace=namespace,
            display_name=params.get("displayName"),
            description=params.get("description"),
            payload=dict(payload) if payload is not None else None,
            payload_template=params.get("payloadTemplate"),
            preprocessor=params.get("preprocessor"),
            mandatory_parameters=parameters,
            role_arn=params.get("roleArn"),
            created_at=now,
            last_updated_at=now,
        )

    command = crud.create(COMMANDS, ctx.backend, params["commandId"], build, params.get("tags"))
    return {"commandId": command.command_id, "commandArn": command.arn}


@operation("iot", "GetCommand")
def get_command_handler(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(COMMANDS, ctx.backend, params["commandId"])


@operation("iot", "UpdateCommand")
def update_command(ctx: RequestContext, params: Params) -> dict[str, Any]:
    command = get_command(ctx.backend, params["commandId"])
    changes = crud.changes(
        params,
        {"displayName": "display_name", "description": "description", "deprecated": "deprecated"},
    )
    if not changes:
        raise validation_error(
            "Specify at least one of displayName, description or deprecated to update."
        )
    if command.pending_deletion:
        raise conflict_error(
            f"Command {command.command_id} is pending deletion and cannot be updated.",
            command.command_id,
        )
    deprecating = changes.get("deprecated", command.deprecated) != command.deprecated
    now = crud.apply(command, changes, stamp="last_updated_at")
    if deprecating:
        command.deprecated_at = now if command.deprecated else None
    return {
        "commandId": command.command_id,
        "displayName": command.display_name,
        "description": command.description,
        "deprecated": command.deprecated,
        "lastUpdatedAt": now,
    }


@operation("iot", "DeleteCommand")
def delete_command(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = command_store(backend)
    command = store.commands.get(params["commandId"])
    if command is None:
        return {"statusCode": 204}  # nothing to delete; the model has no not-found error
    now = _clock.now()
    if command.pending_deletion:
        return {"statusCode": 202}
    if command.deprecated_at is not None and now - command.deprecated_at > MAX_TIMEOUT_SECONDS:
        _remove_command(backend, store, command)
        return {"statusCode": 204}
    # Executions started before now (or before the deprecation) may run for up to the
    # maximum timeout; the command stays, pending deletion, until they cannot.
    since = command.deprecated_at if command.deprecated_at is not None else now
    command.deletion_due_at = since + MAX_TIMEOUT_SECONDS
    heapq.heappush(store.deletions, (command.deletion_due_at, command.command_id))
    return {"statusCode": 202}


@operation("iot", "ListCommands")
def list_commands(ctx: RequestContext, params: Params) -> dict[str, Any]:
    namespace = params.get("namespace")
    parameter_name = params.get("commandParameterName")

    def keep(command: Command) -> bool:
        if namespace is not None and command.namespace != namespace:
            return False
        if parameter_name is not None:
            return any(p["name"] == parameter_name for p in command.mandatory_parameters)
        return True

    return crud.list_page(
        COMMANDS,
        ctx,
        params,
        descending=params.get("sortOrder") != "ASCENDING",
        keep=keep,
        scope=f"{namespace}:{parameter_name}",
    )


# --------------------------------------------------------------------------- executions


@operation("iot", "GetCommandExecution")
def get_command_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    execution = _get_execution(ctx.backend, params["executionId"], params["targetArn"])
    # The result is returned on request ("You only need to specify this field when using
    # the AWS-IoT namespace": FleetWise executions have none).
    include_result = bool(params.get("includeResult"))
    return {
        "executionId": execution.execution_id,
        "commandArn": execution.command_arn,
        "targetArn": execution.target_arn,
        "status": execution.status,
        "statusReason": execution.status_reason,
        "result": execution.result if include_result else None,
        "parameters": execution.parameters or None,
        "executionTimeoutSeconds": execution.timeout_seconds,
        "createdAt": execution.created_at,
        "lastUpdatedAt": execution.last_updated_at,
        "startedAt": execution.started_at,
        "completedAt": execution.completed_at,
        "timeToLive": execution.time_to_live,
    }


@operation("iot", "DeleteCommandExecution")
def delete_command_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    try:
        execution = _get_execution(backend, params["executionId"], params["targetArn"])
    except ServiceError:
        return {}  # nothing to delete; the model has no not-found error here
    if execution.status not in FINAL and execution.status != TIMED_OUT:
        raise conflict_error(
            f"Command execution {execution.execution_id} is {execution.status}: only "
            "command executions in a terminal state can be deleted.",
            execution.execution_id,
        )
    _forget_execution(backend, execution)
    return {}


def _parse_time(value: str, member: str) -> float:
    for layout in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = dt.datetime.strptime(value, layout)
        except ValueError:
            continue
        return moment.replace(tzinfo=dt.timezone.utc).timestamp()
    raise validation_error(
        f"{member} value {value} is not a date and time of the form yyyy-MM-dd'T'HH:mm."
    )


def _time_window(time_filter: dict[str, Any], member: str) -> tuple[float, float]:
    after = time_filter.get("after")
    before = time_filter.get("before")
    low = _parse_time(after, f"{member}.after") if after else float("-inf")
    high = _parse_time(before, f"{member}.before") if before else float("inf")
    return low, high


@operation("iot", "ListCommandExecutions")
def list_command_executions(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = command_store(backend)
    command_arn = params.get("commandArn")
    target_arn = params.get("targetArn")
    if command_arn and target_arn:
        raise validation_error(
            "Specify either commandArn or targetArn to list command executions, not both."
        )
    started_filter = params.get("startedTimeFilter")
    completed_filter = params.get("completedTimeFilter")
    if started_filter is not None and completed_filter is not None:
        raise validation_error("Specify either startedTimeFilter or completedTimeFilter, not both.")
    if command_arn:
        command_id = command_id_of_arn(backend, command_arn)
        if command_id is None or command_id not in store.commands:
            raise not_found(f"Command {command_arn} does not exist.")
        candidates = store.by_command.get(command_arn, {})
    elif target_arn:
        candidates = store.by_target.get(target_arn, {})
    else:
        candidates = store.executions
    # Sorted by the time the time filter is about (creation time without a filter).
    time_member = (
        "completed_at" if completed_filter else "started_at" if started_filter else "created_at"
    )
    low, high = _time_window(completed_filter or started_filter or {}, "timeFilter")
    namespace = params.get("namespace")
    status = params.get("status")
    now = _clock.now()
    rows: list[tuple[str, CommandExecution]] = []
    for execution in list(candidates.values()):
        if now >= execution.time_to_live:
            _forget_execution(backend, execution)
            continue
        execution.refresh(now)
        moment = getattr(execution, time_member)
        if moment is None or not low <= moment <= high:
            continue
        if namespace is not None and execution.namespace != namespace:
            continue
        if status is not None and execution.status != status:
            continue
        rows.append((f"{moment:020.6f}|{execution.execution_id}", execution))
    descending = params.get("sortOrder") != "ASCENDING"
    rows.sort(key=lambda row: row[0], reverse=descending)

    def source(after: str | None) -> Iterator[tuple[str, CommandExecution]]:
        for key, execution in rows:
            if after is None or (key < after if descending else key > after):
                yield key, execution

    scope = json.dumps(
        [command_arn, target_arn, started_filter, completed_filter, namespace, status, descending],
        sort_keys=True,
    )
    return crud.page(
        ctx,
        params,
        source,
        "commandExecutions",
        _execution_summary,
        scope=scope,
        default_limit=LIST_EXECUTIONS_DEFAULT,
    )


def _execution_summary(execution: CommandExecution) -> dict[str, Any]:
    return {
        "commandArn": execution.command_arn,
        "executionId": execution.execution_id,
        "targetArn": execution.target_arn,
        "status": execution.status,
        "createdAt": execution.created_at,
        "startedAt": execution.started_at,
        "completedAt": execution.completed_at,
    }


# --------------------------------------------------------------------------- device side


def _checked_reason(reason: Any) -> dict[str, str] | None:
    if reason is None:
        return None
    if not isinstance(reason, dict) or not isinstance(reason.get("reasonCode"), str):
        raise validation_error("statusReason must be an object with a reasonCode.")
    code = reason["reasonCode"]
    if _REASON_CODE.fullmatch(code) is None:
        raise validation_error(
            f"statusReason.reasonCode {code} must match [A-Z0-9_-]+ (at most 64 characters)."
        )
    checked = {"reasonCode": code}
    description = reason.get("reasonDescription")
    if description is not None:
        checked["reasonDescription"] = str(description)[:1024]
    return checked


_RESULT_MEMBERS = {"s": "S", "b": "B", "bin": "BIN"}


def _checked_result(result: Any) -> dict[str, dict[str, Any]] | None:
    """Result values as the API shows them: {S}, {B} or {BIN} (any case accepted)."""
    if result is None:
        return None
    if not isinstance(result, dict):
        raise validation_error("result must be an object of named values.")
    checked: dict[str, dict[str, Any]] = {}
    for name, value in result.items():
        if _RESULT_NAME.fullmatch(name) is None or not isinstance(value, dict):
            raise validation_error(f"result {name} is not a valid named result value.")
        converted = {
            _RESULT_MEMBERS[k.lower()]: v for k, v in value.items() if k.lower() in _RESULT_MEMBERS
        }
        if len(converted) != 1:
            raise validation_error(f"result {name} must set exactly one of S, B or BIN.")
        if "BIN" in converted and isinstance(converted["BIN"], str):
            try:
                converted["BIN"] = base64.b64decode(converted["BIN"], validate=True)
            except ValueError:
                raise validation_error(f"result {name} BIN is not base64.") from None
        checked[name] = converted
    return checked


def report_execution(
    backend: Backend,
    execution_id: str,
    target_arn: str,
    status: str,
    status_reason: dict[str, str] | None = None,
    result: dict[str, Any] | None = None,
) -> CommandExecution:
    """Apply a device's status update to an execution (UpdateCommandExecution over MQTT).

    Raises ValidationException for a status a device may not report and
    ConflictException for a transition from a final status.
    """
    execution = _get_execution(backend, execution_id, target_arn)
    if status not in DEVICE_STATUSES:
        raise validation_error(
            f"A device may report the status IN_PROGRESS, SUCCEEDED, FAILED, REJECTED or "
            f"TIMED_OUT, not {status}."
        )
    if status not in _REPORTABLE_FROM.get(execution.status, frozenset()):
        raise conflict_error(
            f"Command execution {execution_id} is {execution.status}; it cannot move to {status}.",
            execution_id,
        )
    reason = _checked_reason(status_reason)
    values = _checked_result(result)
    now = _clock.now()
    if execution.started_at is None:
        execution.started_at = now
    execution.status = status
    if status != IN_PROGRESS:
        execution.completed_at = now
    if reason is not None:
        execution.status_reason = reason
    if values is not None:
        execution.result = {**(execution.result or {}), **values}
    execution.last_updated_at = now
    return execution


def target_arn_of(backend: Backend, kind: str, name: str) -> str:
    """The target ARN of a thing (`things`) or an MQTT client (`clients`)."""
    return backend.arn(f"{'thing' if kind == 'things' else 'client'}/{name}")


@subscribe("message_published", topic_prefix="$aws/commands/")
def _device_response(ctx: RequestContext, message: Message) -> None:
    """A device's UpdateCommandExecution message: apply it and answer on the
    `/accepted` or `/rejected` topic, as the MQTT API does. JSON payloads only."""
    if message.source == "commands":
        return
    match = _RESPONSE_TOPIC.fullmatch(message.topic)
    if match is None or match.group(4) == "cbor":
        return
    kind, name, execution_id, payload_format = match.groups()
    base = message.topic if payload_format is None else message.topic.rsplit("/", 1)[0]
    suffix = "" if payload_format is None else f"/{payload_format}"
    try:
        body = json.loads(message.payload)
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise validation_error("The message must be a JSON object with a status.")
        execution = report_execution(
            ctx.backend,
            execution_id,
            target_arn_of(ctx.backend, kind, name),
            body["status"],
            body.get("statusReason"),
            body.get("result"),
        )
    except (ServiceError, ValueError) as error:
        detail = error.message if isinstance(error, ServiceError) else "Invalid JSON"
        code = error.code if isinstance(error, ServiceError) else "ValidationException"
        rejection = {"error": code, "errorMessage": detail, "executionId": execution_id}
        publish(ctx, f"{base}/rejected{suffix}", rejection, source="commands")
        return
    accepted = {"executionId": execution.execution_id, "status": execution.status}
    publish(ctx, f"{base}/accepted{suffix}", accepted, source="commands")
