"""Device Defender Detect security profiles: CreateSecurityProfile,
DescribeSecurityProfile, UpdateSecurityProfile, DeleteSecurityProfile,
ListSecurityProfiles, AttachSecurityProfile, DetachSecurityProfile,
ListSecurityProfilesForTarget, ListTargetsForSecurityProfile,
ValidateSecurityProfileBehaviors.

A behavior's criteria describe what is NORMAL for a device (DG:detect-behaviors): a
device violates `aws:num-messages-sent less-than 100` when it sends 100 or more.
The metric catalog below says which operators and value members each metric takes;
`validate_behaviors` applies it for Create/Update (InvalidRequestException) and for
ValidateSecurityProfileBehaviors (reported as validationErrors).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock, tagging
from iotmock.core.backend import Backend
from iotmock.core.errors import already_exists, invalid_request, limit_exceeded, not_found
from iotmock.core.events import subscribe
from iotmock.core.model import service_model
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, page_of, paginate
from iotmock.core.validation import judged_by_handler
from iotmock.defender import custom_metrics, dimensions
from iotmock.registry.records import registry_of
from iotmock.registry.thing_groups import ancestors, descendants
from iotmock.registry.things import check_expected_version

# The criteria members ValidateSecurityProfileBehaviors judges itself (valid: false, as
# AWS's CLI example shows) instead of a request-level validation error.
CRITERIA_COUNTS = ("consecutiveDatapointsToAlarm", "consecutiveDatapointsToClear")
judged_by_handler(
    "iot",
    "ValidateSecurityProfileBehaviors",
    ("behaviors", "[]", "criteria"),
    frozenset(CRITERIA_COUNTS),
)

# AWS IoT Device Defender quota: security profiles attached to one target.
MAX_PROFILES_PER_TARGET = 5

# Metric kinds: which comparison operators and which MetricValue member they take.
_NUMERIC_OPERATORS = frozenset(
    {"less-than", "less-than-equals", "greater-than", "greater-than-equals"}
)
_KIND_RULES: dict[str, tuple[frozenset[str], str]] = {
    "count": (_NUMERIC_OPERATORS, "count"),
    "number": (_NUMERIC_OPERATORS, "number"),
    "ip-address-list": (frozenset({"in-cidr-set", "not-in-cidr-set"}), "cidrs"),
    "port-list": (frozenset({"in-port-set", "not-in-port-set"}), "ports"),
    "string-list": (frozenset({"in-set", "not-in-set"}), "strings"),
    "number-list": (frozenset({"in-set", "not-in-set"}), "numbers"),
}
_STATISTICAL_KINDS = frozenset({"count", "number"})


@dataclass(frozen=True, slots=True)
class MetricInfo:
    kind: str
    # TOPIC_FILTER dimensions scope only the MQTT message metrics.
    takes_dimension: bool = False
    # ML Detect models the count metrics of AWS, not custom metrics.
    machine_learning: bool = False


_COUNT = MetricInfo("count", machine_learning=True)
_MESSAGE_COUNT = MetricInfo("count", takes_dimension=True, machine_learning=True)
# The cloud-side and device-side metrics of Device Defender Detect (DG:detect-*-metrics).
AWS_METRICS: dict[str, MetricInfo] = {
    "aws:num-authorization-failures": _MESSAGE_COUNT,
    "aws:num-messages-received": _MESSAGE_COUNT,
    "aws:num-messages-sent": _MESSAGE_COUNT,
    "aws:message-byte-size": _COUNT,
    "aws:num-connection-attempts": _COUNT,
    "aws:num-disconnects": _COUNT,
    "aws:source-ip-address": MetricInfo("ip-address-list"),
    "aws:all-bytes-in": _COUNT,
    "aws:all-bytes-out": _COUNT,
    "aws:all-packets-in": _COUNT,
    "aws:all-packets-out": _COUNT,
    "aws:num-established-tcp-connections": _COUNT,
    "aws:num-listening-tcp-ports": _COUNT,
    "aws:num-listening-udp-ports": _COUNT,
    "aws:destination-ip-addresses": MetricInfo("ip-address-list"),
    "aws:listening-tcp-ports": MetricInfo("port-list"),
    "aws:listening-udp-ports": MetricInfo("port-list"),
}


def metric_info(backend: Backend, metric: str) -> MetricInfo | None:
    """What kind of values `metric` (an AWS metric or a custom metric's name) has."""
    found = AWS_METRICS.get(metric)
    if found is not None:
        return found
    custom = custom_metrics.find_custom_metric(backend, metric)
    return None if custom is None else MetricInfo(custom.metric_type)


def criteria_type(behavior: dict[str, Any]) -> str | None:
    """The BehaviorCriteriaType of a behavior (None for a behavior without criteria)."""
    criteria = behavior.get("criteria")
    if not criteria:
        return None
    if criteria.get("mlDetectionConfig") is not None:
        return "MACHINE_LEARNING"
    if criteria.get("statisticalThreshold") is not None:
        return "STATISTICAL"
    return "STATIC"


# ---------------------------------------------------------------- behavior validation


def _metric_errors(backend: Backend, where: str, metric: str) -> tuple[MetricInfo | None, str]:
    info = metric_info(backend, metric)
    if info is not None:
        return info, ""
    if metric.startswith("aws:"):
        return None, f"{where} metric {metric} is not a Device Defender metric."
    return None, f"{where} custom metric {metric} does not exist."


def _dimension_error(
    backend: Backend, where: str, metric: str, info: MetricInfo, dimension: dict[str, Any]
) -> str | None:
    dimension_name = dimension["dimensionName"]
    if not info.takes_dimension:
        return f"{where} metric {metric} cannot be scoped by a dimension."
    if dimensions.find_dimension(backend, dimension_name) is None:
        return f"{where} dimension {dimension_name} does not exist."
    return None


def _criteria_errors(
    name: str, metric: str, info: MetricInfo, criteria: dict[str, Any]
) -> list[str]:
    bad = f"Behavior {name} is malformed."  # AWS's prefix (CLI example)
    operator = criteria.get("comparisonOperator")
    value = criteria.get("value")
    if criteria.get("mlDetectionConfig") is not None:
        if not info.machine_learning:
            return [f"{bad} metric {metric} is not supported by ML Detect."]
        if operator or value or criteria.get("statisticalThreshold"):
            return [
                f"{bad} An ML Detect behavior takes no comparisonOperator, value "
                "or statisticalThreshold."
            ]
        return []
    operators, value_member = _KIND_RULES[info.kind]
    if operator is None:
        return [f"{bad} Criteria must have a comparisonOperator."]
    if operator not in operators:
        return [
            f"{bad} comparisonOperator {operator} is not valid for metric {metric} "
            f"of type {info.kind}; use one of {', '.join(sorted(operators))}."
        ]
    if criteria.get("statisticalThreshold") is not None:
        if info.kind not in _STATISTICAL_KINDS:
            return [f"{bad} metric {metric} does not support a statisticalThreshold."]
        if value:
            return [f"{bad} Give either a value or a statisticalThreshold, not both."]
        return []
    if not value or value.get(value_member) is None:
        return [f"{bad} metric {metric} needs a criteria value with {value_member}."]
    if value_member == "cidrs" and not all(_is_cidr(c) for c in value["cidrs"]):
        return [f"{bad} Criteria value cidrs must be IP addresses or CIDR blocks."]
    others = sorted(member for member in value if member != value_member)
    if others:
        return [
            f"{bad} metric {metric} takes a value with {value_member} only, "
            f"not {', '.join(others)}."
        ]
    return []


def _is_cidr(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def behavior_errors(backend: Backend, behaviors: list[dict[str, Any]]) -> list[str]:
    """Every problem of `behaviors`, one message each (empty when they are valid)."""
    errors: list[str] = []
    seen: set[str] = set()
    for behavior in behaviors:
        name = behavior["name"]
        if name in seen:
            errors.append(
                f"Behavior {name} is malformed. behavior names must be unique in a profile."
            )
        seen.add(name)
        # Structural (model range) problems first: they hold whatever the metric is.
        errors.extend(_range_errors(name, behavior.get("criteria") or {}))
        metric = behavior.get("metric")
        if metric is None:
            errors.append(f"Behavior {name} is malformed. metric must be specified.")
            continue
        info, message = _metric_errors(backend, f"Behavior {name} is malformed.", metric)
        if info is None:
            errors.append(message)
            continue
        dimension = behavior.get("metricDimension")
        if dimension is not None:
            problem = _dimension_error(
                backend, f"Behavior {name} is malformed.", metric, info, dimension
            )
            if problem is not None:
                errors.append(problem)
        criteria = behavior.get("criteria")
        if criteria:
            errors.extend(_criteria_errors(name, metric, info, criteria))
    return errors


@functools.cache
def _count_limits() -> dict[str, tuple[int | None, int | None]]:
    """(min, max) of each datapoint count, from the model (read once)."""
    shape = service_model("iot").shape_for("BehaviorCriteria")
    return {
        member: (
            shape.members[member].metadata.get("min"),
            shape.members[member].metadata.get("max"),
        )
        for member in CRITERIA_COUNTS
    }


def _range_errors(name: str, criteria: dict[str, Any]) -> list[str]:
    """The datapoint counts out of their model range, in AWS's words (CLI example
    validate-security-profile-behaviors): `consecutiveDatapointsToAlarm 100000 should be
    in range[1,10]`. ValidateSecurityProfileBehaviors receives them unchecked by the wire
    layer (`judged_by_handler` above); Create/Update never get this far with them."""
    errors = []
    for member, (low, high) in _count_limits().items():
        value = criteria.get(member)
        if value is None:
            continue
        # The wire layer left even the type to this check (a raw caller may send "3").
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            errors.append(
                f"Behavior {name} is malformed. {member} {value} should be in range[{low},{high}]"
            )
    return errors


def _retained_errors(backend: Backend, retained: list[dict[str, Any]]) -> list[str]:
    errors: list[str] = []
    for item in retained:
        metric = item["metric"]
        info, message = _metric_errors(backend, "additionalMetricsToRetainV2:", metric)
        if info is None:
            errors.append(message)
        elif item.get("metricDimension") is not None:
            problem = _dimension_error(
                backend, "additionalMetricsToRetainV2:", metric, info, item["metricDimension"]
            )
            if problem is not None:
                errors.append(problem)
    return errors


@operation("iot", "ValidateSecurityProfileBehaviors")
def validate_security_profile_behaviors(ctx: RequestContext, params: Params) -> dict[str, Any]:
    errors = behavior_errors(ctx.backend, params["behaviors"])
    return {"valid": not errors, "validationErrors": [{"errorMessage": e} for e in errors]}


# ---------------------------------------------------------------- records


@dataclass(slots=True)
class SecurityProfile:
    name: str
    arn: str
    description: str | None
    behaviors: list[dict[str, Any]]
    alert_targets: dict[str, Any] | None
    additional_metrics: list[str] | None
    additional_metrics_v2: list[dict[str, Any]] | None
    metrics_export_config: dict[str, Any] | None
    version: int
    created_at: float
    last_modified_at: float
    # When each behavior (by name) was added: ML Detect starts collecting then.
    behavior_added_at: dict[str, float] = field(default_factory=dict)

    def behavior(self, name: str) -> dict[str, Any] | None:
        return next((b for b in self.behaviors if b["name"] == name), None)

    def retained_metrics(self) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """(metric, metricDimension) of every metric whose values the profile retains:
        its behaviors' and the additional metrics'."""
        for behavior in self.behaviors:
            if behavior.get("metric"):
                yield behavior["metric"], behavior.get("metricDimension")
        for metric in self.additional_metrics or ():
            yield metric, None
        for item in self.additional_metrics_v2 or ():
            yield item["metric"], item.get("metricDimension")


@dataclass(slots=True)
class SecurityProfileStore:
    profiles: SortedIndex[SecurityProfile] = field(default_factory=SortedIndex)
    # profile name -> attached target ARNs; target ARN -> attached profile names.
    targets: dict[str, SortedIndex[str]] = field(default_factory=dict)
    target_profiles: dict[str, SortedIndex[str]] = field(default_factory=dict)


def profile_store(backend: Backend) -> SecurityProfileStore:
    return backend.store(SecurityProfileStore)


def find_profile(backend: Backend, name: str) -> SecurityProfile | None:
    return profile_store(backend).profiles.get(name)


def get_profile(backend: Backend, name: str) -> SecurityProfile:
    found = find_profile(backend, name)
    if found is None:
        raise not_found(f"Security profile {name} does not exist.")
    return found


@tagging.taggable("securityprofile")
def _profile_exists(backend: Backend, name: str) -> bool:
    return name in profile_store(backend).profiles


def all_things_arn(backend: Backend, registered: bool) -> str:
    kind = "registered-things" if registered else "unregistered-things"
    return backend.arn(f"all/{kind}")


def profiles_for_thing(backend: Backend, thing_name: str) -> list[SecurityProfile]:
    """The security profiles that apply to a thing: those attached to all registered
    (or unregistered) things and to any of its thing groups or their ancestors."""
    thing = registry_of(backend).things.get(thing_name)
    target_arns = [all_things_arn(backend, thing is not None)]
    if thing is not None:
        for group_name in sorted(thing.group_names):
            group = registry_of(backend).thing_groups.get(group_name)
            if group is not None:
                target_arns.append(group.arn)
                target_arns.extend(a.arn for a in ancestors(backend, group_name))
    store = profile_store(backend)
    names: dict[str, None] = {}
    for arn in target_arns:
        names.update(dict.fromkeys(store.target_profiles.get(arn, ())))
    return [store.profiles[name] for name in names]


# ---------------------------------------------------------------- usage indexes


def _used_names(profile: SecurityProfile) -> tuple[set[str], set[str]]:
    """(metric names, dimension names) the profile refers to."""
    metrics: set[str] = set()
    dims: set[str] = set()
    for metric, dimension in profile.retained_metrics():
        metrics.add(metric)
        if dimension is not None:
            dims.add(dimension["dimensionName"])
    return metrics, dims


def _index_usage(backend: Backend, profile: SecurityProfile, add: bool) -> None:
    """Record (or forget) which custom metrics and dimensions the profile uses."""
    metrics, dims = _used_names(profile)
    for users, names in (
        (custom_metrics.metric_store(backend).users, metrics - AWS_METRICS.keys()),
        (dimensions.dimension_store(backend).users, dims),
    ):
        for name in names:
            index = users.setdefault(name, SortedIndex())
            if add:
                index[profile.name] = profile.name
            else:
                index.pop(profile.name)
                if not index:
                    del users[name]


# ---------------------------------------------------------------- handlers


def _check_definition(backend: Backend, params: Params) -> None:
    errors = behavior_errors(backend, params.get("behaviors") or [])
    errors += _retained_errors(backend, params.get("additionalMetricsToRetainV2") or [])
    for metric in params.get("additionalMetricsToRetain") or ():
        info, message = _metric_errors(backend, "additionalMetricsToRetain:", metric)
        if info is None:
            errors.append(message)
    if errors:
        raise invalid_request("; ".join(errors))


def _description(profile: SecurityProfile) -> dict[str, Any]:
    return {
        "securityProfileName": profile.name,
        "securityProfileArn": profile.arn,
        "securityProfileDescription": profile.description,
        "behaviors": profile.behaviors,
        "alertTargets": profile.alert_targets,
        "additionalMetricsToRetain": profile.additional_metrics,
        "additionalMetricsToRetainV2": profile.additional_metrics_v2,
        "version": profile.version,
        "creationDate": profile.created_at,
        "lastModifiedDate": profile.last_modified_at,
        "metricsExportConfig": profile.metrics_export_config,
    }


@operation("iot", "CreateSecurityProfile")
def create_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    profiles = profile_store(backend).profiles
    name = params["securityProfileName"]
    existing = profiles.get(name)
    if existing is not None:
        raise already_exists(f"Security profile {name} already exists.", name, existing.arn)
    _check_definition(backend, params)
    now = clock.now()
    behaviors = params.get("behaviors") or []
    profile = SecurityProfile(
        name=name,
        arn=backend.arn(f"securityprofile/{name}"),
        description=params.get("securityProfileDescription"),
        behaviors=behaviors,
        alert_targets=params.get("alertTargets"),
        additional_metrics=params.get("additionalMetricsToRetain"),
        additional_metrics_v2=params.get("additionalMetricsToRetainV2"),
        metrics_export_config=params.get("metricsExportConfig"),
        version=1,
        created_at=now,
        last_modified_at=now,
        behavior_added_at={b["name"]: now for b in behaviors},
    )
    tagging.tag_on_create(backend, profile.arn, params.get("tags"))
    profiles[name] = profile
    _index_usage(backend, profile, add=True)
    return {"securityProfileName": name, "securityProfileArn": profile.arn}


@operation("iot", "DescribeSecurityProfile")
def describe_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return _description(get_profile(ctx.backend, params["securityProfileName"]))


# Update members that a `delete*` flag clears: (value member, flag, record attribute).
_CLEARABLE = (
    ("behaviors", "deleteBehaviors", "behaviors"),
    ("alertTargets", "deleteAlertTargets", "alert_targets"),
    ("additionalMetricsToRetain", "deleteAdditionalMetricsToRetain", "additional_metrics"),
    ("additionalMetricsToRetainV2", "deleteAdditionalMetricsToRetain", "additional_metrics_v2"),
    ("metricsExportConfig", "deleteMetricsExportConfig", "metrics_export_config"),
)


@operation("iot", "UpdateSecurityProfile")
def update_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Imported here: violations builds on this module.
    from iotmock.defender.violations import invalidate_behaviors

    backend = ctx.backend
    profile = get_profile(backend, params["securityProfileName"])
    expected = params.get("expectedVersion")
    check_expected_version("security profile", profile.name, profile.version, expected)
    for member, flag, _ in _CLEARABLE:
        if params.get(flag) and params.get(member) is not None:
            raise invalid_request(f"{member} cannot be given together with {flag}=true.")
    _check_definition(backend, params)
    _index_usage(backend, profile, add=False)
    before = {b["name"] for b in profile.behaviors}
    now = clock.now()
    for member, flag, attribute in _CLEARABLE:
        if params.get(flag):
            setattr(profile, attribute, [] if attribute == "behaviors" else None)
        elif params.get(member) is not None:
            setattr(profile, attribute, params[member])
    if params.get("securityProfileDescription") is not None:
        profile.description = params["securityProfileDescription"]
    after = {b["name"] for b in profile.behaviors}
    profile.behavior_added_at = {n: profile.behavior_added_at.get(n, now) for n in after}
    profile.version += 1
    profile.last_modified_at = now
    _index_usage(backend, profile, add=True)
    invalidate_behaviors(backend, profile.name, before - after)
    return _description(profile)


@operation("iot", "DeleteSecurityProfile")
def delete_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    # Imported here: violations builds on this module.
    from iotmock.defender.violations import profile_deleted

    backend = ctx.backend
    store = profile_store(backend)
    profile = store.profiles.get(params["securityProfileName"])
    # The model lists no ResourceNotFoundException: deleting a missing profile succeeds.
    if profile is None:
        return {}
    expected = params.get("expectedVersion")
    check_expected_version("security profile", profile.name, profile.version, expected)
    for target_arn in list(store.targets.get(profile.name, ())):
        _detach(store, profile.name, target_arn)
    _index_usage(backend, profile, add=False)
    profile_deleted(backend, profile)
    store.profiles.pop(profile.name)
    tagging.drop(backend, profile.arn)
    return {}


def _profile_filter(backend: Backend, params: Params) -> tuple[str, SortedIndex[str]] | None:
    """The users index of the dimension or custom metric ListSecurityProfiles filters by."""
    dimension_name, metric_name = params.get("dimensionName"), params.get("metricName")
    if dimension_name is not None and metric_name is not None:
        raise invalid_request("dimensionName and metricName cannot be used in the same request.")
    if dimension_name is not None:
        dimensions.get_dimension(backend, dimension_name)
        users = dimensions.dimension_store(backend).users
        return f"dimension:{dimension_name}", users.get(dimension_name) or SortedIndex()
    if metric_name is not None:
        custom_metrics.get_custom_metric(backend, metric_name)
        users = custom_metrics.metric_store(backend).users
        return f"metric:{metric_name}", users.get(metric_name) or SortedIndex()
    return None


def _identifier(profile: SecurityProfile) -> dict[str, str]:
    return {"name": profile.name, "arn": profile.arn}


@operation("iot", "ListSecurityProfiles")
def list_security_profiles(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = profile_store(ctx.backend)
    scoped = _profile_filter(ctx.backend, params)
    if scoped is None:
        page, token = page_of("ListSecurityProfiles", store.profiles, params)
    else:
        names, token = page_of(f"ListSecurityProfiles:{scoped[0]}", scoped[1], params)
        page = [store.profiles[name] for name in names]
    return {"securityProfileIdentifiers": [_identifier(p) for p in page], "nextToken": token}


# ---------------------------------------------------------------- targets


def _check_target(backend: Backend, target_arn: str) -> None:
    """A target is a thing group of this account or all (un)registered things."""
    if target_arn in (all_things_arn(backend, True), all_things_arn(backend, False)):
        return
    prefix = backend.arn("thinggroup/")
    if not target_arn.startswith(prefix):
        raise invalid_request(
            f"{target_arn} is not a valid security profile target: use a thing group ARN or "
            f"{all_things_arn(backend, True)} / {all_things_arn(backend, False)}."
        )
    group = registry_of(backend).thing_groups.get(target_arn[len(prefix) :])
    if group is None:
        raise not_found(f"Thing group {target_arn} does not exist.")


def _detach(store: SecurityProfileStore, profile_name: str, target_arn: str) -> None:
    for index, key, value in (
        (store.targets, profile_name, target_arn),
        (store.target_profiles, target_arn, profile_name),
    ):
        found = index.get(key)
        if found is not None:
            found.pop(value)
            if not found:
                del index[key]


@operation("iot", "AttachSecurityProfile")
def attach_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = profile_store(backend)
    profile = get_profile(backend, params["securityProfileName"])
    target_arn = params["securityProfileTargetArn"]
    _check_target(backend, target_arn)
    attached = store.target_profiles.setdefault(target_arn, SortedIndex())
    if profile.name in attached:
        return {}
    if len(attached) >= MAX_PROFILES_PER_TARGET:
        raise limit_exceeded(
            f"A target can have at most {MAX_PROFILES_PER_TARGET} security profiles attached; "
            f"{target_arn} already has {len(attached)}."
        )
    attached[profile.name] = profile.name
    store.targets.setdefault(profile.name, SortedIndex())[target_arn] = target_arn
    return {}


@operation("iot", "DetachSecurityProfile")
def detach_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = profile_store(backend)
    profile = get_profile(backend, params["securityProfileName"])
    target_arn = params["securityProfileTargetArn"]
    if target_arn not in store.targets.get(profile.name, ()):
        raise not_found(f"Security profile {profile.name} is not attached to {target_arn}.")
    _detach(store, profile.name, target_arn)
    return {}


@operation("iot", "ListTargetsForSecurityProfile")
def list_targets_for_security_profile(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = profile_store(ctx.backend)
    profile = get_profile(ctx.backend, params["securityProfileName"])
    page, token = page_of(
        f"ListTargetsForSecurityProfile:{profile.name}",
        store.targets.get(profile.name) or SortedIndex(),
        params,
    )
    return {"securityProfileTargets": [{"arn": arn} for arn in page], "nextToken": token}


@operation("iot", "ListSecurityProfilesForTarget")
def list_security_profiles_for_target(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = profile_store(backend)
    target_arn = params["securityProfileTargetArn"]
    _check_target(backend, target_arn)
    target_arns = [target_arn]
    prefix = backend.arn("thinggroup/")
    if params.get("recursive") and target_arn.startswith(prefix):
        children = descendants(backend, target_arn[len(prefix) :])
        target_arns += sorted(registry_of(backend).thing_groups[n].arn for n in children)

    def source(after: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        # Keys "<target position>/<profile name>" page target by target, in order.
        position, _, name = (after or "").partition("/")
        start = int(position) if after else 0
        for offset, arn in enumerate(target_arns[start:], start):
            attached = store.target_profiles.get(arn) or SortedIndex()
            for profile_name, _ in attached.items_after(
                name if offset == start and after else None
            ):
                yield (
                    f"{offset:06d}/{profile_name}",
                    {
                        "securityProfileIdentifier": _identifier(store.profiles[profile_name]),
                        "target": {"arn": arn},
                    },
                )

    page, token = paginate(
        f"ListSecurityProfilesForTarget:{target_arn}:{bool(params.get('recursive'))}",
        source,
        params.get("nextToken"),
        params.get("maxResults"),
    )
    return {"securityProfileTargetMappings": page, "nextToken": token}


@subscribe("thing_group_deleted")
def _on_thing_group_deleted(ctx: RequestContext, group_name: str, arn: str) -> None:
    # Profiles attached to a deleted group no longer target it.
    store = profile_store(ctx.backend)
    for profile_name in list(store.target_profiles.get(arn, ())):
        _detach(store, profile_name, arn)
