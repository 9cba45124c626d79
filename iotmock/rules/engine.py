"""The rules engine: every published message is evaluated against every enabled topic
rule whose FROM topic filter matches; matching rules run their actions.

Every action run is recorded (`RuleInvocation`, read with `IotMock.rules.invocations`).
`republish` really publishes (and may trigger other rules, up to `MAX_REPUBLISH_DEPTH`
chained republishes), `lambda` calls the Python callable registered for the function
ARN (`IotMock.rules.register_lambda`) and, without one, fails as a function that does not
exist; actions writing to other AWS services are delivered to moto when its `mock_aws` is
active (`iotmock.rules.delivery`); other action types are recorded only. When an action
fails, the rule's errorAction runs with AWS's error document as its payload.

Messages published to the Basic Ingest topics `$aws/rules/<ruleName>/...` go to that rule
only, whatever its FROM clause says; `topic()` sees the topic without that prefix.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from iotmock.core import clock
from iotmock.core.events import subscribe
from iotmock.core.model import service_model
from iotmock.core.operations import RequestContext
from iotmock.messaging.log import Message, publish, topic_matches
from iotmock.rules import delivery
from iotmock.rules.evaluator import (
    UNDEFINED,
    Evaluator,
    MessageContext,
    Selection,
    matches_where,
    parse_payload,
    select,
    to_text,
)
from iotmock.rules.functions import FUNCTIONS
from iotmock.rules.parser import parse_expression
from iotmock.rules.store import RuleInvocation, RuleStore, TopicRule
from iotmock.shadows.document import full_document, shadows_of

MAX_REPUBLISH_DEPTH = 8
_BASIC_INGEST = re.compile(r"\$aws/rules/(?P<rule>[^/]+)(?:/(?P<topic>.*))?")
# `${expression}` substitution templates; `$$` stands for a literal `$` (AWS: republish to
# a reserved topic as `$$aws/things/<thing>/shadow/update`).
_TEMPLATE = re.compile(r"\$\$|\$\{([^}]*)\}")


class ActionError(Exception):
    """An action could not be carried out; its rule's errorAction runs."""


# Republish depth of the message being evaluated, per thread: a republished message is
# evaluated synchronously inside the action that published it.
_local = threading.local()


def _depth() -> int:
    return getattr(_local, "depth", 0)


@contextmanager
def _nested() -> Iterator[None]:
    _local.depth = _depth() + 1
    try:
        yield
    finally:
        _local.depth -= 1


def _action_shape_names() -> dict[str, str]:
    """Action member -> model shape name ("lambda" -> "LambdaAction"), as AWS names
    the failed action in error documents."""
    members = service_model("iot").shape_for("Action").members
    return {name: shape.name for name, shape in members.items()}


_ACTION_NAMES = _action_shape_names()
# The member that names an action's target, for the error document's failedResource.
_RESOURCE_KEYS = (
    "functionArn",
    "topic",
    "queueUrl",
    "targetArn",
    "bucketName",
    "streamName",
    "deliveryStreamName",
    "tableName",
    "url",
    "stateMachineName",
    "logGroupName",
    "channelName",
    "inputName",
    "endpoint",
    "destinationArn",
    "metricName",
    "alarmName",
    "databaseName",
    "trackerName",
)


@dataclass(slots=True, frozen=True)
class LambdaContext:
    """The `context` argument a registered Lambda callable receives."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str


# --------------------------------------------------------------------------- matching


@subscribe("message_published")
def _on_message(ctx: RequestContext, message: Message) -> None:
    store = ctx.backend.store(RuleStore)
    if not len(store.rules):
        return
    ingest = _BASIC_INGEST.fullmatch(message.topic)
    if ingest is not None:
        rule = store.rules.get(ingest["rule"])
        if rule is not None and not rule.disabled:
            _run_rule(ctx, store, rule, message, ingest["topic"] or "")
        return
    for rule in list(store.candidates(message.topic)):
        if not rule.disabled and topic_matches(rule.topic_pattern, message.topic):
            _run_rule(ctx, store, rule, message, message.topic)


def _message_context(
    ctx: RequestContext, rule: TopicRule, message: Message, topic: str
) -> MessageContext:
    backend = ctx.backend

    def thing_shadow(thing: str, name: str | None) -> Any:
        shadow = shadows_of(backend).get(thing, name)
        return full_document(shadow, int(clock.now())) if shadow is not None else UNDEFINED

    return MessageContext(
        topic=topic,
        raw_payload=message.payload,
        payload=parse_payload(message.payload),
        timestamp_ms=int(message.timestamp * 1000),
        client_id=message.client_id,
        principal=ctx.account_id,
        account_id=ctx.account_id,
        trace_id=str(uuid.uuid4()),
        services={"get_thing_shadow": thing_shadow, "mqtt_message": lambda: message},
    )


def _run_rule(
    ctx: RequestContext, store: RuleStore, rule: TopicRule, message: Message, topic: str
) -> None:
    context = _message_context(ctx, rule, message, topic)
    evaluator = Evaluator(context, FUNCTIONS)
    if not matches_where(rule.query, evaluator):
        return
    selection = select(rule.query, evaluator)
    if selection is None:
        return
    failures: list[dict[str, str]] = []
    for action in rule.actions:
        error = _run_action(ctx, store, rule, action, selection, context, is_error_action=False)
        if error is not None:
            failures.append(error)
    if failures and rule.error_action:
        document = _error_document(rule, context, failures)
        _run_action(
            ctx, store, rule, rule.error_action, Selection(document), context, is_error_action=True
        )


def _error_document(
    rule: TopicRule, context: MessageContext, failures: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "ruleName": rule.name,
        "topic": context.topic,
        "cloudwatchTraceId": context.trace_id,
        "clientId": context.client_id or "n/a",
        "base64OriginalPayload": base64.b64encode(context.raw_payload).decode(),
        "failures": failures,
    }


# --------------------------------------------------------------------------- actions


def _run_action(
    ctx: RequestContext,
    store: RuleStore,
    rule: TopicRule,
    action: dict[str, Any],
    selection: Selection,
    context: MessageContext,
    *,
    is_error_action: bool,
) -> dict[str, str] | None:
    """Run and record one action; returns the failure entry when it fails."""
    action_type, config = next(iter(action.items()))
    payload = selection.encode()
    target: str | None = None
    error: str | None = None
    try:
        if action_type == "republish":
            target = substitute(config["topic"], context)
        elif action_type == "http":
            _check_http_destination(store, substitute(config["url"], context))
        elif action_type in _DESTINATION_KINDS:
            _check_destination(store, config["destinationArn"], action_type)
    except ActionError as exc:
        error = str(exc)
    # Record before running, so invocations read in the order rules fired even when a
    # republish triggers further rules.
    position = len(store.invocations)
    store.invocations.append(
        RuleInvocation(
            rule_name=rule.name,
            action_type=action_type,
            action=config,
            payload=payload,
            topic=context.topic,
            timestamp=clock.now(),
            target_topic=target,
            error=error,
            is_error_action=is_error_action,
        )
    )
    if error is None:
        try:
            if action_type == "republish" and target is not None:
                headers = _headers(config.get("headers") or {}, context)
                _republish(ctx, rule, config, target, headers, payload, is_error_action)
            elif action_type == "lambda":
                _invoke_lambda(ctx, store, config, selection, payload)
            elif action_type in delivery.ACTION_TYPES and delivery.enabled(ctx):
                # moto is active beside the mock: deliver as AWS would (docs/rules.md).
                delivery.deliver(
                    ctx, action_type, config, selection, lambda t: substitute(t, context)
                )
        except (ActionError, delivery.DeliveryError) as exc:
            error = str(exc)
            store.invocations[position] = replace(store.invocations[position], error=error)
    if error is None:
        return None
    resource = next((str(config[k]) for k in _RESOURCE_KEYS if k in config), "")
    return {
        "failedAction": _ACTION_NAMES.get(action_type, action_type),
        "failedResource": resource,
        "errorMessage": error,
    }


def substitute(template: str, context: MessageContext) -> str:
    """Expand `${expression}` substitution templates against the incoming message
    (and `$$` to `$`)."""

    def expand(match: re.Match[str]) -> str:
        if match[1] is None:
            return "$"
        try:
            expr = parse_expression(match[1])
        except Exception as exc:  # a SqlParseException: the template is unusable
            raise ActionError(f"Invalid substitution template ${{{match[1]}}}: {exc}") from None
        value = Evaluator(context, FUNCTIONS).eval(expr)
        return "" if value is UNDEFINED else to_text(value)

    return _TEMPLATE.sub(expand, template)


def _headers(headers: dict[str, Any], context: MessageContext) -> dict[str, Any]:
    """The republish MQTT5 headers with their substitution templates expanded."""
    out: dict[str, Any] = {
        key: substitute(value, context) if isinstance(value, str) else value
        for key, value in headers.items()
    }
    if "userProperties" in headers:
        out["userProperties"] = [
            {"key": p["key"], "value": substitute(p["value"], context)}
            for p in headers["userProperties"]
        ]
    return out


def _republish(
    ctx: RequestContext,
    rule: TopicRule,
    config: dict[str, Any],
    topic: str,
    headers: dict[str, Any],
    payload: bytes,
    is_error_action: bool,
) -> None:
    if not topic or "+" in topic or "#" in topic:
        raise ActionError(f"Failed to republish to topic {topic!r}: not a valid topic name.")
    # An errorAction may report the failure of a republish cut at the limit: it gets
    # one more level (and no further, so error actions cannot loop either).
    if _depth() >= MAX_REPUBLISH_DEPTH + (1 if is_error_action else 0):
        raise ActionError(
            f"Failed to republish to topic {topic}: more than {MAX_REPUBLISH_DEPTH} "
            "chained republish actions (a rule loop?)."
        )
    user_properties = headers.get("userProperties")
    expiry = headers.get("messageExpiry")
    if expiry is not None and not str(expiry).isdigit():
        raise ActionError(f"Failed to republish to topic {topic}: invalid messageExpiry {expiry}.")
    with _nested():
        publish(
            ctx,
            topic,
            payload,
            qos=int(config.get("qos", 0)),
            source=f"rule:{rule.name}",
            user_properties=(
                [{p["key"]: p["value"]} for p in user_properties] if user_properties else None
            ),
            content_type=headers.get("contentType"),
            correlation_data=headers.get("correlationData"),
            message_expiry=int(expiry) if expiry is not None else None,
            response_topic=headers.get("responseTopic"),
            payload_format_indicator=headers.get("payloadFormatIndicator"),
        )


def _check_http_destination(store: RuleStore, url: str) -> None:
    """Traffic to an HTTP endpoint needs an ENABLED destination whose confirmation URL
    is a prefix of the endpoint URL."""
    prefixes = [u for u in store.destination_urls if url.startswith(u)]
    if not prefixes:
        raise ActionError(f"No topic rule destination matches the url {url}.")
    destination = store.destinations.get(store.destination_urls[max(prefixes, key=len)])
    if destination is None or destination.status != "ENABLED":
        status = destination.status if destination is not None else "missing"
        raise ActionError(
            f"The topic rule destination for {url} is {status}: traffic is allowed only "
            "to ENABLED destinations."
        )


# Actions that write through a topic rule destination ARN, and the kind it must be.
_DESTINATION_KINDS = {"kafka": "VPC", "influxDB": "InfluxDB"}


def _check_destination(store: RuleStore, arn: str, action_type: str) -> None:
    """A Kafka or InfluxDB action writes only through an ENABLED destination of its kind."""
    destination = store.destinations.get(arn)
    kind = _DESTINATION_KINDS[action_type]
    if destination is None:
        raise ActionError(f"The {kind} topic rule destination {arn} does not exist.")
    if destination.kind != kind:
        raise ActionError(
            f"The topic rule destination {arn} is of kind {destination.kind}; the {action_type} "
            f"action writes only through one of kind {kind}."
        )
    if destination.status != "ENABLED":
        raise ActionError(
            f"The topic rule destination {arn} is {destination.status}: traffic is allowed "
            "only to ENABLED destinations."
        )


def _invoke_lambda(
    ctx: RequestContext,
    store: RuleStore,
    config: dict[str, Any],
    selection: Selection,
    payload: bytes,
) -> None:
    arn = config["functionArn"]
    func = store.lambdas.get(arn) or _function_at_home(ctx, arn)
    if func is None:
        # No callable registered stands for a function that does not exist: Lambda's
        # Invoke answers ResourceNotFoundException and AWS runs the errorAction.
        raise ActionError(
            f"Failed to invoke lambda function {arn}: ResourceNotFoundException: "
            f"Function not found: {arn}"
        )
    context = LambdaContext(
        function_name=arn.split(":")[6] if arn.count(":") >= 6 else arn,
        invoked_function_arn=arn,
        aws_request_id=str(uuid.uuid4()),
    )
    # The function gets its own copy of the event, decoded from the JSON AWS sends: the
    # SELECT output may share trees with the message or a stored shadow
    # (get_thing_shadow), which a callable changing its event must not alter.
    raw = isinstance(selection.value, (bytes, bytearray))
    event = selection.value if raw else json.loads(payload)
    try:
        func(event, context)
    except Exception as exc:  # the function failed: AWS runs the errorAction
        raise ActionError(
            f"Failed to invoke lambda function {arn}: {type(exc).__name__}: {exc}"
        ) from exc


def _function_at_home(ctx: RequestContext, arn: str) -> Any:
    """The callable registered in the account and region the function ARN names (a rule
    may invoke another account's function), or None."""
    parts = arn.split(":")
    if len(parts) < 7:
        return None
    home = (parts[4], parts[3])
    for backend in ctx.mock.backends():
        if (backend.account_id, backend.region) == home:
            return backend.store(RuleStore).lambdas.get(arn)
    return None


# --------------------------------------------------------------------------- test API


def invocations(
    store: RuleStore, rule_name: str | None = None, action_type: str | None = None
) -> list[RuleInvocation]:
    """The matching invocations, each with its own copy of the action's configuration
    (the record shares the rule's, which a test must not be able to change)."""
    return [
        replace(i, action=copy.deepcopy(i.action))
        for i in store.invocations
        if (rule_name is None or i.rule_name == rule_name)
        and (action_type is None or i.action_type == action_type)
    ]
