"""iot-jobs-data StartCommandExecution: run a command on one device.

The execution starts CREATED. For the AWS-IoT namespace the command's payload (static,
or the payloadTemplate with the execution's parameters substituted) is published to the
device on the reserved topic

    $aws/commands/things/<thingName>/executions/<executionId>/request[/<payloadFormat>]
    $aws/commands/clients/<clientId>/executions/<executionId>/request[/<payloadFormat>]

where `<payloadFormat>` is `json` or `cbor` (from the payload's content type or the
preprocessor's output format) and is left out for any other content type. FleetWise
commands reach vehicles through IoT FleetWise, which the mock does not serve: nothing is
published for them.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.device_management.commands import (
    DEFAULT_TIMEOUT_SECONDS,
    FLEETWISE,
    MAX_TIMEOUT_SECONDS,
    PLACEHOLDER,
    Command,
    CommandExecution,
    add_execution,
    check_value_type,
    command_id_of_arn,
    command_store,
    retention_deadline,
)
from iotmock.device_management.errors import validation_error
from iotmock.messaging.log import publish
from iotmock.registry.records import registry_of

_CONTENT_FORMATS = {"application/json": "json", "application/cbor": "cbor"}
# A placeholder that is a whole JSON string ("${...}") is replaced by the JSON value.
_QUOTED_PLACEHOLDER = re.compile('"' + PLACEHOLDER.pattern + '"')


# --------------------------------------------------------------------------- targets


def _target(backend: Backend, command: Command, target_arn: str) -> tuple[str, str] | None:
    """(topic kind, name) of an AWS-IoT target, None for a FleetWise vehicle."""
    if command.namespace == FLEETWISE:
        if not target_arn.startswith(backend.arn("vehicle/", service="iotfleetwise")):
            raise validation_error(
                f"The target of an AWS-IoT-FleetWise command must be an IoT FleetWise "
                f"vehicle ARN of this account and region, not {target_arn}."
            )
        return None
    thing_prefix, client_prefix = backend.arn("thing/"), backend.arn("client/")
    if target_arn.startswith(thing_prefix):
        name = target_arn[len(thing_prefix) :]
        if name not in registry_of(backend).things:
            raise not_found(f"Thing {name} cannot be found.")
        return "things", name
    if target_arn.startswith(client_prefix) and len(target_arn) > len(client_prefix):
        return "clients", target_arn[len(client_prefix) :]
    raise validation_error(
        f"The target of an AWS-IoT command must be a thing ARN ({thing_prefix}<thingName>) "
        f"or a client ARN ({client_prefix}<clientId>), not {target_arn}."
    )


# --------------------------------------------------------------------------- parameters


def _python_value(value: dict[str, Any]) -> Any:
    member, item = next((k, v) for k, v in value.items() if v is not None)
    if member == "UL":
        return int(item)
    if member == "BIN":
        return bytes(item)
    return item


def _decimal(text: str, where: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise validation_error(f"{where}: {text} is not a number.") from None


def _condition_holds(value: Any, condition: dict[str, Any], where: str) -> bool:
    operator: str = condition["comparisonOperator"]
    operand: dict[str, Any] = condition["operand"]
    if isinstance(value, str):
        if operator in ("EQUALS", "NOT_EQUALS") and operand.get("string") is not None:
            return bool(value == operand["string"]) == (operator == "EQUALS")
        if operator in ("IN_SET", "NOT_IN_SET") and operand.get("strings") is not None:
            return bool(value in operand["strings"]) == (operator == "IN_SET")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = Decimal(str(value))
        if operand.get("number") is not None:
            limit = _decimal(operand["number"], where)
            comparisons = {
                "EQUALS": number == limit,
                "NOT_EQUALS": number != limit,
                "LESS_THAN": number < limit,
                "LESS_THAN_EQUALS": number <= limit,
                "GREATER_THAN": number > limit,
                "GREATER_THAN_EQUALS": number >= limit,
            }
            if operator in comparisons:
                return comparisons[operator]
        if operator in ("IN_SET", "NOT_IN_SET") and operand.get("numbers") is not None:
            members = {_decimal(n, where) for n in operand["numbers"]}
            return (number in members) == (operator == "IN_SET")
        if operator in ("IN_RANGE", "NOT_IN_RANGE") and operand.get("numberRange"):
            span = operand["numberRange"]
            low, high = _decimal(span["min"], where), _decimal(span["max"], where)
            # Both operators include the boundary values (model docs).
            return (low <= number <= high) == (operator == "IN_RANGE")
    raise validation_error(
        f"{where}: the condition {operator} with this operand does not apply to a value of "
        f"type {type(value).__name__}."
    )


def _resolve_parameters(command: Command, given: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The execution's parameters: the request's, else the command's value, else its
    default; every mandatory parameter needs one, typed and meeting its conditions."""
    declared = {p["name"]: p for p in command.mandatory_parameters}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise validation_error(
            f"Command {command.command_id} has no parameter {', '.join(unknown)}."
        )
    resolved: dict[str, dict[str, Any]] = {}
    for name, parameter in declared.items():
        value = given.get(name) or parameter.get("value") or parameter.get("defaultValue")
        if value is None:
            raise validation_error(
                f"The mandatory parameter {name} of command {command.command_id} has no "
                "value and no default value."
            )
        where = f"Parameter {name}"
        check_value_type(parameter, value, where)
        python_value = _python_value(value)
        for condition in parameter.get("valueConditions") or ():
            if not _condition_holds(python_value, condition, where):
                raise validation_error(
                    f"{where} value {python_value!r} does not satisfy the condition "
                    f"{condition['comparisonOperator']}."
                )
        resolved[name] = dict(value)
    return resolved


# --------------------------------------------------------------------------- payloads


def _json_value(value: dict[str, Any]) -> Any:
    python_value = _python_value(value)
    if isinstance(python_value, bytes):
        return base64.b64encode(python_value).decode()
    return python_value


def _render_template(template: str, parameters: dict[str, dict[str, Any]]) -> str:
    """AWS JSON substitution: `"${aws:iot:commandexecution::parameter:<name>}"` becomes
    the JSON value of the parameter; a placeholder inside a longer string its text."""
    values = {name: _json_value(value) for name, value in parameters.items()}
    text = _QUOTED_PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)]), template)

    def inline(match: re.Match[str]) -> str:
        value = values[match.group(1)]
        return value if isinstance(value, str) else json.dumps(value)

    return PLACEHOLDER.sub(inline, text)


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for extra, layout in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if length < 1 << (8 * struct.calcsize(layout)):
            return bytes([major << 5 | extra]) + struct.pack(layout, length)
    raise validation_error("A value of the payload is too large for CBOR.")


def cbor_encode(value: Any) -> bytes:
    """RFC 8949 encoding of a JSON value (the CBOR output format of the preprocessor)."""
    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return _cbor_head(0, value) if value >= 0 else _cbor_head(1, -1 - value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode()
        return _cbor_head(3, len(raw)) + raw
    if isinstance(value, list):
        return _cbor_head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    if isinstance(value, dict):
        items = b"".join(cbor_encode(k) + cbor_encode(v) for k, v in value.items())
        return _cbor_head(5, len(value)) + items
    raise validation_error(f"A value of type {type(value).__name__} cannot be encoded.")


def _device_payload(
    command: Command, parameters: dict[str, dict[str, Any]]
) -> tuple[bytes, str | None]:
    """The payload sent to the device and its topic format (json, cbor or None)."""
    if command.payload is not None:
        content_type = command.payload.get("contentType") or ""
        return bytes(command.payload["content"]), _CONTENT_FORMATS.get(content_type.lower())
    assert command.payload_template is not None and command.preprocessor is not None
    rendered = _render_template(command.payload_template, parameters)
    output = command.preprocessor["awsJsonSubstitution"]["outputFormat"]
    if output == "JSON":
        return rendered.encode(), "json"
    try:
        document = json.loads(rendered)
    except ValueError:
        raise validation_error(
            f"The payloadTemplate of command {command.command_id} does not give a JSON "
            "document once its parameters are substituted, so it cannot be sent as CBOR."
        ) from None
    return cbor_encode(document), "cbor"


# --------------------------------------------------------------------------- operation


@operation("iot-jobs-data", "StartCommandExecution")
def start_command_execution(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = command_store(backend)
    token = params.get("clientToken")
    fingerprint = json.dumps(
        {k: v for k, v in params.items() if k != "clientToken"}, sort_keys=True, default=str
    )
    if token is not None and token in store.client_tokens:
        seen_fingerprint, execution_id = store.client_tokens[token]
        if seen_fingerprint != fingerprint:
            raise ServiceError(
                "ConflictException",
                f"The client token {token} was already used with different parameters.",
                resourceId=execution_id,
            )
        return {"executionId": execution_id}
    command_arn = params["commandArn"]
    command_id = command_id_of_arn(backend, command_arn)
    command = store.commands.get(command_id) if command_id else None
    if command is None:
        raise not_found(f"Command {command_arn} does not exist.")
    if command.pending_deletion or command.deprecated:
        state = "pending deletion" if command.pending_deletion else "deprecated"
        raise ServiceError(
            "ConflictException",
            f"Command {command.command_id} is {state}: no new execution can be started.",
            resourceId=command.command_id,
        )
    target_arn = params["targetArn"]
    target = _target(backend, command, target_arn)
    timeout = params.get("executionTimeoutSeconds") or DEFAULT_TIMEOUT_SECONDS
    if timeout > MAX_TIMEOUT_SECONDS:
        raise validation_error(
            f"executionTimeoutSeconds is {timeout}; the maximum is {MAX_TIMEOUT_SECONDS} "
            "(12 hours)."
        )
    parameters = _resolve_parameters(command, params.get("parameters") or {})
    payload = _device_payload(command, parameters) if target is not None else None
    now = clock.now()
    execution = CommandExecution(
        execution_id=str(uuid.uuid4()),
        command_arn=command.arn,
        namespace=command.namespace,
        target_arn=target_arn,
        parameters=parameters,
        timeout_seconds=timeout,
        created_at=now,
        time_to_live=retention_deadline(now),
        last_updated_at=now,
    )
    add_execution(backend, execution)
    if token is not None:
        store.client_tokens[token] = (fingerprint, execution.execution_id)
    if target is not None and payload is not None:
        kind, name = target
        content, payload_format = payload
        topic = f"$aws/commands/{kind}/{name}/executions/{execution.execution_id}/request"
        if payload_format is not None:
            topic += f"/{payload_format}"
        publish(ctx, topic, content, source="commands")
    return {"executionId": execution.execution_id}
