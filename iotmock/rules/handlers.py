"""Topic rules (CreateTopicRule, GetTopicRule, ListTopicRules, ReplaceTopicRule,
EnableTopicRule, DisableTopicRule, DeleteTopicRule) and topic rule destinations
(Create/Get/List/Update/Delete/ConfirmTopicRuleDestination): HTTP, VPC and (botocore
1.44+) InfluxDB destinations.

Rules run: see `iotmock.rules.engine`. A missing rule or destination answers
UnauthorizedException 401, as AWS does (spec §12).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, already_exists, invalid_request
from iotmock.core.model import service_model
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import page_of
from iotmock.core.tagging import add_tags, drop, taggable
from iotmock.rules.parser import parse
from iotmock.rules.store import RuleStore, TopicRule, TopicRuleDestination

DEFAULT_SQL_VERSION = "2015-10-08"
SQL_VERSIONS = frozenset({"2015-10-08", "2016-03-23", "beta"})


def _store(ctx: RequestContext) -> RuleStore:
    return ctx.backend.store(RuleStore)


@taggable("rule")
def _rule_exists(backend: Backend, name: str) -> bool:
    return name in backend.store(RuleStore).rules


def _denied_rule(name: str) -> ServiceError:
    return ServiceError("UnauthorizedException", f"Access to topic rule '{name}' was denied")


def _denied_destination(arn: str) -> ServiceError:
    return ServiceError(
        "UnauthorizedException", f"Access to TopicRuleDestination '{arn}' was denied"
    )


def get_rule(ctx: RequestContext, name: str) -> TopicRule:
    rule = _store(ctx).rules.get(name)
    if rule is None:
        raise _denied_rule(name)
    return rule


# --------------------------------------------------------------------------- rules


def _check_action(action: dict[str, Any], where: str) -> None:
    if len(action) != 1:
        kinds = ", ".join(sorted(action)) or "none"
        raise invalid_request(f"Each {where} must specify exactly one action type; found: {kinds}.")


def _build_rule(
    ctx: RequestContext, name: str, payload: dict[str, Any], created_at: float
) -> TopicRule:
    """A rule from a TopicRulePayload, validated: SQL, SQL version, actions."""
    query = parse(payload["sql"])
    version = payload.get("awsIotSqlVersion") or DEFAULT_SQL_VERSION
    if version not in SQL_VERSIONS:
        raise invalid_request(
            f"Invalid awsIotSqlVersion {version!r}: valid values are "
            "2015-10-08, 2016-03-23 and beta."
        )
    actions = list(payload.get("actions") or [])
    for action in actions:
        _check_action(action, "action")
    error_action = payload.get("errorAction")
    if error_action is not None:
        _check_action(error_action, "errorAction")
    # Check every HTTP action before creating any destination, so a refused rule
    # leaves no destination behind.
    pending = {
        url
        for action in [*actions, *([error_action] if error_action else [])]
        if "http" in action
        for url in [_http_confirmation_url(action["http"])]
        if url is not None and url not in _store(ctx).destination_urls
    }
    for url in sorted(pending):
        _create_http_destination(ctx, url)
    return TopicRule(
        name=name,
        arn=ctx.backend.arn(f"rule/{name}"),
        sql=payload["sql"],
        query=query,
        actions=actions,
        error_action=error_action,
        description=payload.get("description"),
        sql_version=version,
        disabled=bool(payload.get("ruleDisabled", False)),
        created_at=created_at,
    )


def _http_confirmation_url(http: dict[str, Any]) -> str | None:
    """The confirmation URL an HTTP action needs a destination for (a prefix of its
    URL; AWS creates the destination, IN_PROGRESS, when it does not exist yet), or None
    when it uses substitution templates (its destinations must be created by hand)."""
    url: str = http["url"]
    confirmation = http.get("confirmationUrl")
    if confirmation is None:
        if "${" in url:
            raise invalid_request(
                "An HTTP action whose url uses substitution templates must specify a "
                "confirmationUrl."
            )
        confirmation = url
    elif "${" not in confirmation and not _may_prefix(confirmation, url):
        raise invalid_request(
            f"The confirmationUrl {confirmation} must be a prefix of the url {url}."
        )
    if "${" in confirmation:
        return None
    _check_https(confirmation)
    return str(confirmation)


def _check_https(url: str) -> None:
    if not url.lower().startswith("https://"):
        raise invalid_request(f"The confirmationUrl {url} must be an HTTPS URL.")


def _may_prefix(prefix: str, url: str) -> bool:
    """Whether `prefix` is (or, for a url with substitution templates, can be) a prefix
    of `url`."""
    literal, templated, _ = url.partition("${")
    if not templated:
        return url.startswith(prefix)
    return literal.startswith(prefix) or prefix.startswith(literal)


def _tags_from_header(header: str | None) -> dict[str, str]:
    """CreateTopicRule tags come in the x-amz-tagging header as `k1=v1&k2=v2`."""
    if not header:
        return {}
    return dict(parse_qsl(header, keep_blank_values=True))


def _rule_output(rule: TopicRule) -> dict[str, Any]:
    return {
        "ruleName": rule.name,
        "sql": rule.sql,
        "description": rule.description,
        "createdAt": rule.created_at,
        "actions": rule.actions,
        "ruleDisabled": rule.disabled,
        "awsIotSqlVersion": rule.sql_version,
        "errorAction": rule.error_action,
    }


@operation("iot", "CreateTopicRule")
def create_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    name = params["ruleName"]
    store = _store(ctx)
    existing = store.rules.get(name)
    if existing is not None:
        raise already_exists(f"Rule {name} already exists.", name, existing.arn)
    tags = _tags_from_header(params.get("tags"))
    rule = _build_rule(ctx, name, params["topicRulePayload"], clock.now())
    if tags:
        add_tags(ctx.backend, rule.arn, tags)
    store.add_rule(rule)
    return {}


@operation("iot", "GetTopicRule")
def get_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    rule = get_rule(ctx, params["ruleName"])
    return {"ruleArn": rule.arn, "rule": _rule_output(rule)}


@operation("iot", "ListTopicRules")
def list_topic_rules(ctx: RequestContext, params: Params) -> dict[str, Any]:
    topic = params.get("topic")
    disabled = params.get("ruleDisabled")

    def keep(rule: TopicRule) -> bool:
        return (topic is None or rule.topic_pattern == topic) and (
            disabled is None or rule.disabled == disabled
        )

    page, token = page_of(
        f"ListTopicRules:{topic}:{disabled}", _store(ctx).rules, params, keep=keep
    )
    return {
        "rules": [
            {
                "ruleArn": rule.arn,
                "ruleName": rule.name,
                "topicPattern": rule.topic_pattern,
                "createdAt": rule.created_at,
                "ruleDisabled": rule.disabled,
            }
            for rule in page
        ],
        "nextToken": token,
    }


@operation("iot", "ReplaceTopicRule")
def replace_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    current = get_rule(ctx, params["ruleName"])
    rule = _build_rule(ctx, current.name, params["topicRulePayload"], current.created_at)
    _store(ctx).add_rule(rule)
    return {}


def _set_disabled(ctx: RequestContext, name: str, disabled: bool) -> dict[str, Any]:
    get_rule(ctx, name).disabled = disabled
    return {}


@operation("iot", "EnableTopicRule")
def enable_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return _set_disabled(ctx, params["ruleName"], False)


@operation("iot", "DisableTopicRule")
def disable_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return _set_disabled(ctx, params["ruleName"], True)


@operation("iot", "DeleteTopicRule")
def delete_topic_rule(ctx: RequestContext, params: Params) -> dict[str, Any]:
    rule = get_rule(ctx, params["ruleName"])
    _store(ctx).remove_rule(rule.name)
    drop(ctx.backend, rule.arn)
    return {}


# --------------------------------------------------------------------------- destinations


def get_destination(ctx: RequestContext, arn: str) -> TopicRuleDestination:
    destination = _store(ctx).destinations.get(arn)
    if destination is None:
        raise _denied_destination(arn)
    return destination


def _challenge(store: RuleStore, destination: TopicRuleDestination) -> None:
    """Send (record) a new confirmation challenge: a fresh token, status IN_PROGRESS."""
    if destination.confirmation_token is not None:
        store.destination_tokens.pop(destination.confirmation_token, None)
    token = secrets.token_hex(32)
    destination.confirmation_token = token
    destination.status = "IN_PROGRESS"
    # AWS's wording (CLI example create-topic-rule-destination), with the time the
    # confirmation message went out, in ISO 8601 with milliseconds.
    sent = dt.datetime.fromtimestamp(clock.now(), tz=dt.timezone.utc)
    destination.status_reason = (
        "Awaiting confirmation. Confirmation message sent on "
        f"{sent.strftime('%Y-%m-%dT%H:%M:%S')}.{sent.microsecond // 1000:03d}Z; "
        "no response received from the endpoint."
    )
    store.destination_tokens[token] = destination.arn


def _create_http_destination(ctx: RequestContext, url: str) -> TopicRuleDestination:
    store = _store(ctx)
    _check_https(url)
    existing = store.destination_urls.get(url)
    if existing is not None:
        raise already_exists(
            f"A topic rule destination with confirmationUrl {url} already exists.",
            existing,
            existing,
        )
    now = clock.now()
    arn = ctx.backend.arn(f"ruledestination/http/{uuid.uuid4()}")
    destination = TopicRuleDestination(
        arn=arn, status="IN_PROGRESS", created_at=now, last_updated_at=now, confirmation_url=url
    )
    _challenge(store, destination)
    store.destinations[arn] = destination
    store.destination_urls[url] = arn
    return destination


def _create_ready_destination(
    ctx: RequestContext,
    path: str,
    *,
    vpc: dict[str, Any] | None = None,
    influxdb: dict[str, Any] | None = None,
) -> TopicRuleDestination:
    """A VPC or InfluxDB destination: no confirmation challenge (no ENIs to provision in
    the mock; an InfluxDB token is read when the action writes), so it is ENABLED at
    once."""
    now = clock.now()
    arn = ctx.backend.arn(f"ruledestination/{path}/{uuid.uuid4()}")
    destination = TopicRuleDestination(
        arn=arn,
        status="ENABLED",
        created_at=now,
        last_updated_at=now,
        vpc=dict(vpc) if vpc is not None else None,
        influxdb=dict(influxdb) if influxdb is not None else None,
    )
    _store(ctx).destinations[arn] = destination
    return destination


def _check_influxdb_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_request(
            f"The InfluxDB endpoint {endpoint!r} is not a valid URL: give the http:// or "
            "https:// URL of the InfluxDB instance."
        )


# The output members of each kind of destination in TopicRuleDestination and in
# TopicRuleDestinationSummary.
_OUTPUT_MEMBERS = {
    "HTTP": ("httpUrlProperties", "httpUrlSummary"),
    "VPC": ("vpcProperties", "vpcDestinationSummary"),
    "InfluxDB": ("influxDBProperties", "influxDBSummary"),
}


def _properties(destination: TopicRuleDestination) -> dict[str, Any]:
    if destination.vpc is not None:
        return dict(destination.vpc)
    if destination.influxdb is not None:
        return dict(destination.influxdb)
    return {"confirmationUrl": destination.confirmation_url}


def _destination_output(destination: TopicRuleDestination, *, summary: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "arn": destination.arn,
        "status": destination.status,
        "createdAt": destination.created_at,
        "lastUpdatedAt": destination.last_updated_at,
        "statusReason": destination.status_reason,
    }
    full, short = _OUTPUT_MEMBERS[destination.kind]
    out[short if summary else full] = _properties(destination)
    return out


@operation("iot", "CreateTopicRuleDestination")
def create_topic_rule_destination(ctx: RequestContext, params: Params) -> dict[str, Any]:
    configuration = params["destinationConfiguration"]
    given = [member for member in _configuration_members() if member in configuration]
    if len(given) != 1:
        *first, last = _configuration_members()
        raise invalid_request(
            f"destinationConfiguration must specify exactly one of {', '.join(first)} and {last}."
        )
    if given[0] == "httpUrlConfiguration":
        url = configuration["httpUrlConfiguration"]["confirmationUrl"]
        destination = _create_http_destination(ctx, url)
    elif given[0] == "vpcConfiguration":
        destination = _create_ready_destination(ctx, "vpc", vpc=configuration["vpcConfiguration"])
    else:
        influxdb = configuration["influxDBConfiguration"]
        _check_influxdb_endpoint(influxdb["endpoint"])
        destination = _create_ready_destination(ctx, "influxdb", influxdb=influxdb)
    return {"topicRuleDestination": _destination_output(destination, summary=False)}


@functools.cache
def _configuration_members() -> tuple[str, ...]:
    """The kinds of destination the installed model knows (InfluxDB: botocore 1.44+)."""
    shape = service_model("iot").shape_for("TopicRuleDestinationConfiguration")
    return tuple(shape.members)


@operation("iot", "GetTopicRuleDestination")
def get_topic_rule_destination(ctx: RequestContext, params: Params) -> dict[str, Any]:
    destination = get_destination(ctx, params["arn"])
    return {"topicRuleDestination": _destination_output(destination, summary=False)}


@operation("iot", "ListTopicRuleDestinations")
def list_topic_rule_destinations(ctx: RequestContext, params: Params) -> dict[str, Any]:
    page, token = page_of("ListTopicRuleDestinations", _store(ctx).destinations, params)
    return {
        "destinationSummaries": [_destination_output(d, summary=True) for d in page],
        "nextToken": token,
    }


# Which status a user may set, from which statuses (UpdateTopicRuleDestination docs).
_ALLOWED_FROM: dict[str, frozenset[str]] = {
    "ENABLED": frozenset({"ENABLED", "DISABLED"}),
    "DISABLED": frozenset({"ENABLED", "DISABLED"}),
    "IN_PROGRESS": frozenset({"IN_PROGRESS", "ENABLED", "DISABLED", "ERROR"}),
}


@operation("iot", "UpdateTopicRuleDestination")
def update_topic_rule_destination(ctx: RequestContext, params: Params) -> dict[str, Any]:
    destination = get_destination(ctx, params["arn"])
    status = params["status"]
    allowed = _ALLOWED_FROM.get(status)
    if allowed is None:
        raise invalid_request(
            f"The status of a topic rule destination cannot be set to {status}: "
            "use ENABLED, DISABLED or IN_PROGRESS."
        )
    if destination.status not in allowed:
        raise invalid_request(
            f"The topic rule destination {destination.arn} is {destination.status}: it "
            f"cannot be set to {status}. Confirm it first (ConfirmTopicRuleDestination)."
        )
    if status == "IN_PROGRESS":
        if destination.confirmation_url is None:
            raise invalid_request(
                f"The topic rule destination {destination.arn} is of kind {destination.kind}: "
                "it has no confirmation to restart."
            )
        _challenge(_store(ctx), destination)
    else:
        destination.status = status
        destination.status_reason = None
    destination.last_updated_at = clock.now()
    return {}


@operation("iot", "ConfirmTopicRuleDestination")
def confirm_topic_rule_destination(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = _store(ctx)
    token = params["confirmationToken"]
    arn = store.destination_tokens.pop(token, None)
    destination = store.destinations.get(arn) if arn is not None else None
    if destination is None:
        raise invalid_request("The confirmation token is invalid or has expired.")
    destination.confirmation_token = None
    destination.status = "ENABLED"
    destination.status_reason = None
    destination.last_updated_at = clock.now()
    return {}


@operation("iot", "DeleteTopicRuleDestination")
def delete_topic_rule_destination(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = _store(ctx)
    destination = get_destination(ctx, params["arn"])
    store.destinations.pop(destination.arn)
    if destination.confirmation_url is not None:
        store.destination_urls.pop(destination.confirmation_url, None)
    if destination.confirmation_token is not None:
        store.destination_tokens.pop(destination.confirmation_token, None)
    return {}
