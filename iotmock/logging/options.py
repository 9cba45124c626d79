"""Logging options: the v1 account options (Get/SetLoggingOptions), the v2 "fine grained"
options (Get/SetV2LoggingOptions) and the v2 log levels per target
(Set/Delete/ListV2LoggingLevels).

v2 logging is "not configured" until SetV2LoggingOptions is first called: the operations
that model NotConfiguredException (GetV2LoggingOptions, SetV2LoggingLevel,
ListV2LoggingLevels) answer it until then. The DEFAULT log target is the account's default
log level: SetV2LoggingOptions(defaultLogLevel) and SetV2LoggingLevel(DEFAULT) write the
same value, and ListV2LoggingLevels lists it as the target `{"targetType": "DEFAULT"}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iotmock.core import crud
from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, limit_exceeded
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, key_range
from iotmock.registry.records import registry_of

DEFAULT_TARGET = "DEFAULT"
# Fine-grained log level targets per account (AWS IoT Core quotas: 1,000).
MAX_LOG_TARGETS = 1000
# Separates target type and name in index keys; sorts before every name character, so the
# keys of one target type are contiguous and in name order.
_KEY_SEPARATOR = "\x00"
# The event types event-based logging supports, as listed by GetV2LoggingOptions(verbose)
# (the AWS IoT Core log entry types of the developer guide).
LOG_EVENT_TYPES = (
    "Connect",
    "Disconnect",
    "GetRetainedMessage",
    "ListRetainedMessages",
    "Publish-In",
    "Publish-Out",
    "Queued",
    "Subscribe",
    "DeleteThingShadow",
    "GetThingShadow",
    "UpdateThingShadow",
    "FunctionExecution",
    "RuleExecution",
    "RuleMatch",
    "RuleMessageThrottled",
    "RuleNotFound",
    "StartingRuleExecution",
    "DescribeJobExecution",
    "GetPendingJobExecution",
    "StartNextPendingJobExecution",
    "UpdateJobExecution",
    "ProvisionDevice",
)
_KNOWN_LOG_EVENT_TYPES = frozenset(LOG_EVENT_TYPES)


@dataclass(slots=True)
class V1Options:
    role_arn: str
    log_level: str | None


@dataclass(slots=True)
class V2Options:
    role_arn: str | None
    disable_all_logs: bool
    # LogEventConfiguration dicts, one per eventType, in the order given.
    event_configurations: list[dict[str, Any]]


@dataclass(slots=True)
class LogTargetLevel:
    target_type: str
    target_name: str | None
    log_level: str


@dataclass(slots=True)
class LoggingStore:
    v1: V1Options | None = None
    v2: V2Options | None = None
    # "<targetType>\0<targetName>" -> level; the DEFAULT target is "DEFAULT\0".
    levels: SortedIndex[LogTargetLevel] = field(default_factory=SortedIndex)


def _store(ctx: RequestContext) -> LoggingStore:
    return ctx.backend.store(LoggingStore)


def set_v1_options(backend: Backend, role_arn: str, log_level: str | None) -> None:
    """What SetLoggingOptions stores (also used by the ENABLE_IOT_LOGGING mitigation)."""
    backend.store(LoggingStore).v1 = V1Options(role_arn, log_level)


def logging_enabled(backend: Backend) -> bool:
    """Whether the account logs anything: v1 options with a level other than DISABLED,
    or v2 options not disabling all logs with a default level other than DISABLED."""
    store = backend.store(LoggingStore)
    if store.v1 is not None and store.v1.log_level not in (None, "DISABLED"):
        return True
    if store.v2 is None or store.v2.disable_all_logs:
        return False
    return _default_level(store) not in (None, "DISABLED")


def _key(target_type: str, target_name: str | None) -> str:
    return f"{target_type}{_KEY_SEPARATOR}{target_name or ''}"


def _configured_v2(ctx: RequestContext) -> V2Options:
    """The v2 options, or NotConfiguredException while SetV2LoggingOptions was never called."""
    options = _store(ctx).v2
    if options is None:
        raise ServiceError(
            "NotConfiguredException",
            "V2 logging options are not configured for this account. "
            "Configure them with SetV2LoggingOptions first.",
        )
    return options


def _default_level(store: LoggingStore) -> str | None:
    default = store.levels.get(_key(DEFAULT_TARGET, None))
    return default.log_level if default is not None else None


def _set_default_level(store: LoggingStore, log_level: str | None) -> None:
    if log_level is None:
        store.levels.pop(_key(DEFAULT_TARGET, None))
    else:
        store.levels[_key(DEFAULT_TARGET, None)] = LogTargetLevel(DEFAULT_TARGET, None, log_level)


# ---------------------------------------------------------------- v1


@operation("iot", "SetLoggingOptions")
def set_logging_options(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # The whole request body is the LoggingOptionsPayload structure (its HTTP payload).
    payload = params["loggingOptionsPayload"]
    set_v1_options(ctx.backend, payload["roleArn"], payload.get("logLevel"))
    return {}


@operation("iot", "GetLoggingOptions")
def get_logging_options(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # v1 models no NotConfiguredException: before SetLoggingOptions the answer is empty.
    options = _store(ctx).v1
    if options is None:
        return {}
    return {"roleArn": options.role_arn, "logLevel": options.log_level}


# ---------------------------------------------------------------- v2 options


def _check_event_configurations(configurations: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for configuration in configurations:
        event_type = configuration["eventType"]
        if event_type in seen:
            raise invalid_request(
                f"eventConfigurations lists the event type {event_type} more than once; "
                "give one configuration per event type."
            )
        seen.add(event_type)


@operation("iot", "SetV2LoggingOptions")
def set_v2_logging_options(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # A set replaces the whole configuration: omitted members return to their defaults.
    configurations = [dict(c) for c in params.get("eventConfigurations") or ()]
    _check_event_configurations(configurations)
    store = _store(ctx)
    store.v2 = V2Options(
        role_arn=params.get("roleArn"),
        disable_all_logs=bool(params.get("disableAllLogs", False)),
        event_configurations=configurations,
    )
    _set_default_level(store, params.get("defaultLogLevel"))
    return {}


def _verbose_event_configurations(
    options: V2Options, default_level: str | None
) -> list[dict[str, Any]]:
    """Every supported event type: its override, else the account's default level."""
    overrides = {c["eventType"]: dict(c) for c in options.event_configurations}
    listed = [
        overrides.get(t) or {"eventType": t, "logLevel": default_level} for t in LOG_EVENT_TYPES
    ]
    # Overrides of event types outside the known list are kept, after the known ones.
    return listed + [c for t, c in overrides.items() if t not in _KNOWN_LOG_EVENT_TYPES]


@operation("iot", "GetV2LoggingOptions")
def get_v2_logging_options(ctx: RequestContext, params: Params) -> dict[str, Any]:
    options = _configured_v2(ctx)
    default_level = _default_level(_store(ctx))
    if params.get("verbose"):
        configurations = _verbose_event_configurations(options, default_level)
    else:
        configurations = [dict(c) for c in options.event_configurations]
    return {
        "roleArn": options.role_arn,
        "defaultLogLevel": default_level,
        "disableAllLogs": options.disable_all_logs,
        "eventConfigurations": configurations or None,
    }


# ---------------------------------------------------------------- v2 log levels


def _target_name(target_type: str, target_name: str | None) -> str | None:
    """The name a target is stored under: DEFAULT has none, every other type needs one."""
    if target_type == DEFAULT_TARGET:
        return None
    if not target_name:
        raise invalid_request(f"targetName is required for a log target of type {target_type}.")
    return target_name


@operation("iot", "SetV2LoggingLevel")
def set_v2_logging_level(ctx: RequestContext, params: Params) -> dict[str, Any]:
    _configured_v2(ctx)
    store = _store(ctx)
    target = params["logTarget"]
    target_type = target["targetType"]
    name = _target_name(target_type, target.get("targetName"))
    if target_type == "THING_GROUP" and name not in registry_of(ctx.backend).thing_groups:
        raise invalid_request(f"Thing group {name} does not exist.")
    key = _key(target_type, name)
    if key not in store.levels and len(store.levels) >= MAX_LOG_TARGETS:
        raise limit_exceeded(
            f"This account already has {MAX_LOG_TARGETS} log level targets, the maximum. "
            "Delete one with DeleteV2LoggingLevel first."
        )
    store.levels[key] = LogTargetLevel(target_type, name, params["logLevel"])
    return {}


@operation("iot", "DeleteV2LoggingLevel")
def delete_v2_logging_level(ctx: RequestContext, params: Params) -> dict[str, Any]:
    target_type = params["targetType"]
    if target_type == DEFAULT_TARGET:
        raise invalid_request(
            "The DEFAULT log level cannot be deleted; change it with SetV2LoggingOptions "
            "or SetV2LoggingLevel."
        )
    # Deleting a level that is not set succeeds: no not-found error is modelled.
    _store(ctx).levels.pop(_key(target_type, params["targetName"]))
    return {}


@operation("iot", "ListV2LoggingLevels")
def list_v2_logging_levels(ctx: RequestContext, params: Params) -> dict[str, Any]:
    _configured_v2(ctx)
    levels = _store(ctx).levels
    target_type = params.get("targetType")
    # The levels of one target type: the keys "<type>\0<name>", in O(log N + page) (the
    # separator sorts below every name character, "\1" above it).
    source = (
        levels.items_after
        if target_type is None
        else key_range(levels, target_type, f"{target_type}\1")
    )
    return crud.page(
        ctx,
        params,
        source,
        "logTargetConfigurations",
        lambda level: {
            "logTarget": {"targetType": level.target_type, "targetName": level.target_name},
            "logLevel": level.log_level,
        },
        scope=str(target_type),
    )
