"""Device Defender Detect violations and metric data: ListActiveViolations,
ListViolationEvents, PutVerificationStateOnViolation, ListMetricValues,
GetBehaviorModelTrainingSummaries, and the evaluation behind them.

The mock has no Device Defender agent: tests report metric values with
`IotMock.defender.report_metric(...)` (`report_metric` here). Each report is one datapoint
for every security profile that applies to the thing. Static (rule-based) behaviors are
evaluated on it: after `consecutiveDatapointsToAlarm` violating datapoints a violation
opens ("in-alarm" event), after `consecutiveDatapointsToClear` normal ones it closes
("alarm-cleared"). Statistical behaviors compare with the percentile of the datapoints
the profile saw within `durationSeconds`. ML Detect behaviors need a trained model and
are not evaluated; their datapoints feed GetBehaviorModelTrainingSummaries.
"""

from __future__ import annotations

import bisect
import ipaddress
import math
import operator as op
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from iotmock.core import clock, crud
from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request
from iotmock.core.events import subscribe
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex, key_range
from iotmock.defender import dimensions
from iotmock.defender.security_profiles import (
    SecurityProfile,
    criteria_type,
    get_profile,
    metric_info,
    profile_store,
    profiles_for_thing,
)

T = TypeVar("T")

# ML Detect builds a model once it has 14 days and 25,000 datapoints of training data.
TRAINING_DAYS = 14
TRAINING_DATAPOINTS = 25_000
TRAINING_SUMMARIES_PAGE = 10

# metric kind -> the MetricValue member its values use.
_VALUE_MEMBER = {
    "count": "count",
    "number": "number",
    "ip-address-list": "cidrs",
    "port-list": "ports",
    "string-list": "strings",
    "number-list": "numbers",
}
_COMPARISONS = {
    "less-than": op.lt,
    "less-than-equals": op.le,
    "greater-than": op.gt,
    "greater-than-equals": op.ge,
}


@dataclass(slots=True)
class Violation:
    violation_id: str
    thing_name: str
    profile_name: str
    behavior: dict[str, Any]
    start_time: float
    last_value: dict[str, Any]
    last_time: float
    end_time: float | None = None
    verification_state: str | None = None
    verification_description: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.thing_name, self.profile_name, self.behavior["name"])

    @property
    def suppressed(self) -> bool:
        return bool(self.behavior.get("suppressAlerts"))

    @property
    def criteria_type(self) -> str | None:
        return criteria_type(self.behavior)


@dataclass(slots=True)
class ViolationEvent:
    violation: Violation
    event_type: str
    metric_value: dict[str, Any] | None
    time: float


@dataclass(slots=True)
class Streak:
    """Consecutive violating / normal datapoints of one behavior for one thing."""

    violating: int = 0
    normal: int = 0


@dataclass(slots=True)
class ViolationStore:
    violations: dict[str, Violation] = field(default_factory=dict)
    # Every violation (active or not) of a profile, oldest first: Detect mitigation
    # tasks targeting a profile select from these.
    by_profile: dict[str, list[Violation]] = field(default_factory=dict)
    active: SortedIndex[Violation] = field(default_factory=SortedIndex)
    # The active violations again by thing and by profile, for filtered lists and for
    # invalidating a thing's or a profile's alarms without scanning the others.
    active_by_thing: dict[str, SortedIndex[Violation]] = field(default_factory=dict)
    active_by_profile: dict[str, SortedIndex[Violation]] = field(default_factory=dict)
    # (thing, profile, behavior) -> the open violation's id, and the current streak.
    open_by_behavior: dict[tuple[str, str, str], str] = field(default_factory=dict)
    streaks: dict[tuple[str, str, str], Streak] = field(default_factory=dict)
    # Keyed "<time>:<sequence>" so a time range is a bisect.
    events: SortedIndex[ViolationEvent] = field(default_factory=SortedIndex)
    # (thing, metric, dimension name, operator) -> datapoints keyed "<time>:<sequence>".
    datapoints: dict[tuple[str, str, str | None, str | None], SortedIndex[dict[str, Any]]] = field(
        default_factory=dict
    )
    # (profile, behavior) -> (time, value) of every datapoint a statistical behavior
    # saw, sorted by time: the fleet its percentile threshold is computed over.
    fleet: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)
    # (profile, behavior) -> datapoints reported for an ML Detect behavior, and the time
    # of the first (when its training data collection started).
    training_datapoints: dict[tuple[str, str], int] = field(default_factory=dict)
    training_started: dict[tuple[str, str], float] = field(default_factory=dict)
    sequence: int = 0

    def _by(self, violation: Violation) -> Iterator[tuple[dict[str, SortedIndex[Violation]], str]]:
        yield self.active_by_thing, violation.thing_name
        yield self.active_by_profile, violation.profile_name

    def activate(self, violation: Violation) -> None:
        self.active[violation.violation_id] = violation
        for index, key in self._by(violation):
            index.setdefault(key, SortedIndex())[violation.violation_id] = violation
        self.open_by_behavior[violation.key] = violation.violation_id

    def deactivate(self, violation: Violation) -> None:
        self.active.pop(violation.violation_id)
        for index, key in self._by(violation):
            found = index.get(key)
            if found is not None:
                found.pop(violation.violation_id)
                if not found:
                    del index[key]
        self.open_by_behavior.pop(violation.key, None)

    def active_of(self, thing_name: str | None, profile_name: str | None) -> SortedIndex[Violation]:
        """The smallest index holding the active violations of a thing and/or profile."""
        candidates = [self.active]
        if thing_name is not None:
            candidates.append(self.active_by_thing.get(thing_name) or SortedIndex())
        if profile_name is not None:
            candidates.append(self.active_by_profile.get(profile_name) or SortedIndex())
        return min(candidates, key=len)

    def next_key(self, time: float) -> str:
        self.sequence += 1
        return f"{time_key(time)}:{self.sequence:010d}"


def time_key(time: float) -> str:
    """A string that sorts as the epoch time does."""
    return f"{time:020.6f}"


def violation_store(backend: Backend) -> ViolationStore:
    return backend.store(ViolationStore)


def active_violations_of(backend: Backend, thing_name: str) -> list[Violation]:
    """The active violations of a thing (what fleet indexing's VIOLATIONS mode indexes)."""
    return list(violation_store(backend).active_by_thing.get(thing_name, SortedIndex()).values())


# ---------------------------------------------------------------- evaluation


def _as_metric_value(kind: str, value: Any) -> dict[str, Any]:
    """The MetricValue shape of a reported Python value for a metric of `kind`."""
    member = _VALUE_MEMBER[kind]
    if member in ("count", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"a {kind} metric takes a number, not {value!r}")
        if member == "count":
            if int(value) != value or value < 0:
                raise ValueError(f"a count metric takes a non-negative integer, not {value!r}")
            return {"count": int(value)}
        return {"number": float(value)}
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set):
        raise ValueError(f"a {kind} metric takes a list of values, not {value!r}")
    if member == "cidrs":
        for address in value:
            ipaddress.ip_address(address)  # ValueError for anything but an IP address
    return {member: list(value)}


def _in_cidrs(address: str, cidrs: list[str]) -> bool:
    ip = ipaddress.ip_address(address.split("/")[0])
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)


def _is_normal(criteria: dict[str, Any], value: dict[str, Any]) -> bool:
    """Whether a datapoint satisfies a static behavior's criteria (what is normal)."""
    operator = criteria["comparisonOperator"]
    expected = criteria["value"]
    if "count" in value or "number" in value:
        measured: float = value["count"] if "count" in value else value["number"]
        bound: float = expected["count"] if "count" in expected else expected["number"]
        return bool(_COMPARISONS[operator](measured, bound))
    if operator in ("in-cidr-set", "not-in-cidr-set"):
        inside = [_in_cidrs(a, expected["cidrs"]) for a in value["cidrs"]]
        return all(inside) if operator == "in-cidr-set" else not any(inside)
    allowed = set(expected.get("ports") or expected.get("strings") or expected.get("numbers") or ())
    measured_items = value.get("ports") or value.get("strings") or value.get("numbers") or []
    inside = [item in allowed for item in measured_items]
    return all(inside) if operator in ("in-port-set", "in-set") else not any(inside)


def _dimension_applies(
    backend: Backend, dimension: dict[str, Any] | None, topic: str | None
) -> bool:
    """Whether a datapoint reported for `topic` counts for a (dimension-scoped) metric."""
    if dimension is None:
        return True
    if topic is None:
        return False
    found = dimensions.find_dimension(backend, dimension["dimensionName"])
    if found is None:
        return False
    matches = found.matches(topic)
    return matches if dimension.get("operator", "IN") == "IN" else not matches


def _record_event(
    store: ViolationStore, violation: Violation, event_type: str, value: Any, time: float
) -> None:
    store.events[store.next_key(time)] = ViolationEvent(violation, event_type, value, time)


def _close(store: ViolationStore, violation: Violation, event_type: str, time: float) -> None:
    violation.end_time = time
    store.deactivate(violation)
    if event_type == "alarm-invalidated":
        # The behavior or thing is gone: a later one of the same name starts afresh.
        store.streaks.pop(violation.key, None)
    _record_event(store, violation, event_type, None, time)


def _statistical_criteria(
    store: ViolationStore,
    profile: SecurityProfile,
    behavior: dict[str, Any],
    value: dict[str, Any],
    time: float,
) -> dict[str, Any]:
    """The behavior's criteria with its percentile resolved to a value: the nearest-rank
    percentile of the fleet's datapoints within `durationSeconds` (all without it)."""
    criteria: dict[str, Any] = behavior["criteria"]
    series = store.fleet.setdefault((profile.name, behavior["name"]), [])
    measured = float(value["count"] if "count" in value else value["number"])
    bisect.insort(series, (time, measured))
    duration = criteria.get("durationSeconds")
    first = 0 if duration is None else bisect.bisect_left(series, (time - duration,))
    last = bisect.bisect_right(series, (time, math.inf))
    window = sorted(v for _, v in series[first:last])
    percentile = float(criteria["statisticalThreshold"]["statistic"][1:])
    rank = max(1, math.ceil(percentile / 100 * len(window)))
    return {**criteria, "value": {"number": window[rank - 1]}}


def _evaluate(
    store: ViolationStore,
    thing_name: str,
    profile: SecurityProfile,
    behavior: dict[str, Any],
    value: dict[str, Any],
    time: float,
    criteria: dict[str, Any],
) -> None:
    key = (thing_name, profile.name, behavior["name"])
    streak = store.streaks.setdefault(key, Streak())
    open_id = store.open_by_behavior.get(key)
    if _is_normal(criteria, value):
        streak.violating, streak.normal = 0, streak.normal + 1
        if open_id is not None and streak.normal >= criteria.get("consecutiveDatapointsToClear", 1):
            _close(store, store.violations[open_id], "alarm-cleared", time)
        return
    streak.violating, streak.normal = streak.violating + 1, 0
    if open_id is not None:
        violation = store.violations[open_id]
        violation.last_value, violation.last_time = value, time
        return
    if streak.violating < criteria.get("consecutiveDatapointsToAlarm", 1):
        return
    violation = Violation(
        violation_id=str(uuid.uuid4()),
        thing_name=thing_name,
        profile_name=profile.name,
        behavior=behavior,
        start_time=time,
        last_value=value,
        last_time=time,
    )
    store.violations[violation.violation_id] = violation
    store.by_profile.setdefault(profile.name, []).append(violation)
    store.activate(violation)
    _record_event(store, violation, "in-alarm", value, time)


def _retain(
    backend: Backend,
    store: ViolationStore,
    thing_name: str,
    metric: str,
    profiles: list[SecurityProfile],
    value: dict[str, Any],
    topic: str | None,
    time: float,
) -> None:
    """Store the datapoint once per (dimension, operator) a profile retains it under."""
    scopes: set[tuple[str | None, str | None]] = set()
    for profile in profiles:
        for retained, dimension in profile.retained_metrics():
            if retained == metric and _dimension_applies(backend, dimension, topic):
                if dimension is None:
                    scopes.add((None, None))
                else:
                    scopes.add((dimension["dimensionName"], dimension.get("operator", "IN")))
    for dimension_name, operator in scopes:
        series = store.datapoints.setdefault(
            (thing_name, metric, dimension_name, operator), SortedIndex()
        )
        series[store.next_key(time)] = {"timestamp": time, "value": value}


def report_metric(
    backend: Backend,
    thing_name: str,
    metric: str,
    value: Any,
    *,
    topic: str | None = None,
    timestamp: float | None = None,
) -> dict[str, Any]:
    """One datapoint of `metric` for `thing_name` (see IotMock.defender.report_metric);
    returns the MetricValue it was recorded as."""
    info = metric_info(backend, metric)
    if info is None:
        raise ValueError(f"{metric} is neither a Device Defender metric nor a custom metric")
    metric_value = _as_metric_value(info.kind, value)
    time = clock.now() if timestamp is None else timestamp
    store = violation_store(backend)
    profiles = profiles_for_thing(backend, thing_name)
    _retain(backend, store, thing_name, metric, profiles, metric_value, topic, time)
    for profile in profiles:
        for behavior in profile.behaviors:
            if behavior.get("metric") != metric:
                continue
            if not _dimension_applies(backend, behavior.get("metricDimension"), topic):
                continue
            kind = criteria_type(behavior)
            if kind == "STATIC":
                criteria = behavior["criteria"]
                _evaluate(store, thing_name, profile, behavior, metric_value, time, criteria)
            elif kind == "STATISTICAL":
                criteria = _statistical_criteria(store, profile, behavior, metric_value, time)
                _evaluate(store, thing_name, profile, behavior, metric_value, time, criteria)
            elif kind == "MACHINE_LEARNING":
                key = (profile.name, behavior["name"])
                store.training_datapoints[key] = store.training_datapoints.get(key, 0) + 1
                store.training_started.setdefault(key, time)
    return metric_value


def invalidate_behaviors(backend: Backend, profile_name: str, behavior_names: set[str]) -> None:
    """Close the open violations of removed behaviors with "alarm-invalidated"."""
    store = violation_store(backend)
    now = clock.now()
    for violation in list(store.active_of(None, profile_name).values()):
        if violation.behavior["name"] in behavior_names:
            _close(store, violation, "alarm-invalidated", now)


def profile_deleted(backend: Backend, profile: SecurityProfile) -> None:
    """Invalidate a deleted profile's alarms; a new profile of the same name starts
    without its violations (its events stay listed)."""
    invalidate_behaviors(backend, profile.name, {b["name"] for b in profile.behaviors})
    violation_store(backend).by_profile.pop(profile.name, None)


@subscribe("thing_deleted")
def _on_thing_deleted(ctx: RequestContext, thing_name: str) -> None:
    # A deleted thing's alarms can never clear: AWS invalidates them.
    store = violation_store(ctx.backend)
    now = clock.now()
    for violation in list(store.active_of(thing_name, None).values()):
        _close(store, violation, "alarm-invalidated", now)


# ---------------------------------------------------------------- handlers


def _keep(params: Params) -> Callable[[Violation], bool]:
    """The filter of ListActiveViolations / ListViolationEvents over violations."""
    thing_name = params.get("thingName")
    profile_name = params.get("securityProfileName")
    kind = params.get("behaviorCriteriaType")
    suppressed = bool(params.get("listSuppressedAlerts"))
    state = params.get("verificationState")

    def keep(violation: Violation) -> bool:
        return (
            (thing_name is None or violation.thing_name == thing_name)
            and (profile_name is None or violation.profile_name == profile_name)
            and (kind is None or violation.criteria_type == kind)
            # Suppressed alerts are listed only on request.
            and (suppressed or not violation.suppressed)
            and (state is None or (violation.verification_state or "UNKNOWN") == state)
        )

    return keep


def _scope(params: Params) -> str:
    """The filters of ListActiveViolations / ListViolationEvents, which tie its tokens."""
    members = (
        "thingName",
        "securityProfileName",
        "behaviorCriteriaType",
        "listSuppressedAlerts",
        "verificationState",
    )
    return ":".join(str(params.get(m)) for m in members)


def _additional_info(violation: Violation) -> dict[str, Any] | None:
    ml = (violation.behavior.get("criteria") or {}).get("mlDetectionConfig")
    return None if ml is None else {"confidenceLevel": ml["confidenceLevel"]}


@operation("iot", "ListActiveViolations")
def list_active_violations(ctx: RequestContext, params: Params) -> dict[str, Any]:
    if params.get("securityProfileName") is not None:
        get_profile(ctx.backend, params["securityProfileName"])
    active = violation_store(ctx.backend).active_of(
        params.get("thingName"), params.get("securityProfileName")
    )
    return crud.page(
        ctx,
        params,
        active.items_after,
        "activeViolations",
        lambda v: {
            "violationId": v.violation_id,
            "thingName": v.thing_name,
            "securityProfileName": v.profile_name,
            "behavior": v.behavior,
            "lastViolationValue": v.last_value,
            "violationEventAdditionalInfo": _additional_info(v),
            "verificationState": v.verification_state,
            "verificationStateDescription": v.verification_description,
            "lastViolationTime": v.last_time,
            "violationStartTime": v.start_time,
        },
        scope=_scope(params),
        keep=_keep(params),
    )


def _time_range(params: Params) -> tuple[float, float]:
    start, end = params["startTime"].timestamp(), params["endTime"].timestamp()
    if start > end:
        raise invalid_request("startTime must not be later than endTime.")
    return start, end


def _between(
    index: SortedIndex[T], start: float, end: float
) -> Callable[[str | None], Iterator[tuple[str, T]]]:
    """A `paginate` source over a "<time>:<sequence>"-keyed index, limited to
    [start, end]."""
    return key_range(index, time_key(start), time_key(end) + ";")  # ";" sorts after ":<n>"


@operation("iot", "ListViolationEvents")
def list_violation_events(ctx: RequestContext, params: Params) -> dict[str, Any]:
    start, end = _time_range(params)
    keep = _keep(params)
    return crud.page(
        ctx,
        params,
        _between(violation_store(ctx.backend).events, start, end),
        "violationEvents",
        lambda e: {
            "violationId": e.violation.violation_id,
            "thingName": e.violation.thing_name,
            "securityProfileName": e.violation.profile_name,
            "behavior": e.violation.behavior,
            "metricValue": e.metric_value,
            "violationEventAdditionalInfo": _additional_info(e.violation),
            "violationEventType": e.event_type,
            "verificationState": e.violation.verification_state,
            "verificationStateDescription": e.violation.verification_description,
            "violationEventTime": e.time,
        },
        scope=f"{_scope(params)}:{start}:{end}",
        keep=lambda event: keep(event.violation),
    )


@operation("iot", "PutVerificationStateOnViolation")
def put_verification_state_on_violation(ctx: RequestContext, params: Params) -> dict[str, Any]:
    violation_id = params["violationId"]
    violation = violation_store(ctx.backend).violations.get(violation_id)
    if violation is None:
        # The model lists no ResourceNotFoundException for this operation.
        raise invalid_request(f"Violation {violation_id} does not exist.")
    violation.verification_state = params["verificationState"]
    violation.verification_description = params.get("verificationStateDescription")
    return {}


@operation("iot", "ListMetricValues")
def list_metric_values(ctx: RequestContext, params: Params) -> dict[str, Any]:
    start, end = _time_range(params)
    dimension_name = params.get("dimensionName")
    operator = params.get("dimensionValueOperator")
    if dimension_name is None and operator is not None:
        raise invalid_request("dimensionValueOperator needs a dimensionName.")
    if dimension_name is not None:
        dimensions.get_dimension(ctx.backend, dimension_name)
        operator = operator or "IN"
    key = (params["thingName"], params["metricName"], dimension_name, operator)
    series = violation_store(ctx.backend).datapoints.get(key) or SortedIndex()
    return crud.page(
        ctx,
        params,
        _between(series, start, end),
        "metricDatumList",
        lambda datum: datum,
        scope=f"{key}:{start}:{end}",
    )


@operation("iot", "GetBehaviorModelTrainingSummaries")
def get_behavior_model_training_summaries(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend
    store = violation_store(backend)
    name = params.get("securityProfileName")
    profiles = [get_profile(backend, name)] if name is not None else None
    index = profile_store(backend).profiles
    now = clock.now()

    def source(after: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
        chosen = profiles if profiles is not None else index.values()
        for profile in chosen:
            for behavior in sorted(profile.behaviors, key=lambda b: str(b["name"])):
                # NUL sorts before every name character: keys sort as (profile, behavior).
                key = f"{profile.name}\0{behavior['name']}"
                if criteria_type(behavior) != "MACHINE_LEARNING" or (after and key <= after):
                    continue
                yield key, _training_summary(store, profile, behavior["name"], now)

    return crud.page(
        ctx,
        params,
        source,
        "summaries",
        lambda summary: summary,
        scope=str(name),
        default_limit=TRAINING_SUMMARIES_PAGE,
    )


def _training_summary(
    store: ViolationStore, profile: SecurityProfile, behavior_name: str, now: float
) -> dict[str, Any]:
    # Collection starts with the first datapoint: until then AWS answers no start date
    # (its CLI example get-behavior-model-training-summaries).
    started = store.training_started.get((profile.name, behavior_name))
    collected = store.training_datapoints.get((profile.name, behavior_name), 0)
    percentage = min(100.0, 100.0 * collected / TRAINING_DATAPOINTS)
    trained = started is not None and percentage >= 100.0 and now - started >= TRAINING_DAYS * 86400
    refreshed = started + TRAINING_DAYS * 86400 if started is not None and trained else None
    return {
        "securityProfileName": profile.name,
        "behaviorName": behavior_name,
        "trainingDataCollectionStartDate": started,
        "modelStatus": "ACTIVE" if trained else "PENDING_BUILD",
        "datapointsCollectionPercentage": percentage,
        "lastModelRefreshDate": refreshed,
    }
