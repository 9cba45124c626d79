"""Fault injection: make chosen calls fail (or slow down) the way AWS fails.

`m.faults.inject(operation="CreateThing", error="ThrottlingException", times=2)` makes the
next two CreateThing calls answer HTTP 429 `ThrottlingException`. The fault fires in the
shared dispatch path (`iotmock.core.dispatch`), after the request is routed and decoded
and before it is validated or handled, so it reaches every caller alike: botocore clients
in-process (whose real retry logic then runs, see `iotmock.core.intercept`) and HTTP
clients of the server mode.

An injected error is any error code the operation's model lists, or one of the errors
every AWS front door can answer whatever the model says (`GENERIC_ERRORS`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from iotmock.core.errors import ServiceError
from iotmock.core.mock_api import FamilyApi
from iotmock.core.model import SERVICE_NAMES, operation_model, service_model

# code -> (HTTP status, AWS's message). Throttling and outages happen in front of every
# operation, modeled or not.
GENERIC_ERRORS: dict[str, tuple[int, str]] = {
    "ThrottlingException": (429, "Rate exceeded"),
    "ServiceUnavailableException": (503, "Service Unavailable"),
    "InternalFailureException": (500, "Internal Failure"),
}

Predicate = Callable[[dict[str, Any]], bool]


class FaultPredicateError(Exception):
    """A fault's `match` predicate raised: raised to the caller of the API (the test)."""


@dataclass(eq=False)
class Fault:
    """One injected fault; `remove()` (or leaving its `with` block) takes it away.

    `fired` counts the calls it made fail (or slowed), `remaining` the firings left
    (None: unlimited).
    """

    services: frozenset[str]
    operation: str | None
    error: str | None
    message: str | None
    remaining: int | None
    probability: float | None
    match: Predicate | None
    latency: float | None
    fired: int = 0
    _owner: FaultsApi | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """Whether the fault can still fire."""
        return self._owner is not None and self.remaining != 0

    def remove(self) -> None:
        """Stop the fault from firing (idempotent)."""
        if self._owner is not None:
            self._owner._remove(self)

    def __enter__(self) -> Fault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()

    def applies(self, service: str, operation: str) -> bool:
        return service in self.services and self.operation in (None, operation)

    def to_error(self, service: str) -> ServiceError | None:
        if self.error is None:
            return None
        generic = GENERIC_ERRORS.get(self.error)
        if generic is None:
            return ServiceError(self.error, self.message or f"{self.error} (injected by iotmock)")
        # The status the service model gives the code (IoT's ThrottlingException is a
        # 400, the data planes' a 429); AWS's usual one where the model has no such shape.
        status, message = generic
        if service_model(service).shape_for_error_code(self.error) is not None:
            return ServiceError(self.error, self.message or message)
        return ServiceError(self.error, self.message or message, status=status)


def _modeled(service: str, operation: str) -> frozenset[str]:
    return frozenset(shape.name for shape in operation_model(service, operation).error_shapes)


class FaultsApi(FamilyApi):
    """`m.faults`: errors and latency injected into chosen calls (docs/testing-failures.md)."""

    def __init__(self, mock: Any) -> None:
        super().__init__(mock)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._random = random.Random()

    def inject(
        self,
        operation: str | None = None,
        error: str | None = None,
        *,
        times: int | None = None,
        probability: float | None = None,
        match: Predicate | None = None,
        latency: float | None = None,
        service: str | None = None,
        message: str | None = None,
    ) -> Fault:
        """Make calls to `operation` (every operation when None) answer `error`.

        `times`: fire that many times, then stop (None: until removed). `probability`:
        fire on that share of the matching calls, drawn from `seed(...)`'s generator.
        `match`: a predicate on the decoded request parameters (the operation's input
        members, e.g. `{"thingName": "x"}`). `latency`: seconds to wait before answering
        (with or without an error). `service`: "iot", "iot-data" or "iot-jobs-data"
        (default: every service that has `operation`). `message`: the error message.
        """
        if error is None and latency is None:
            raise ValueError("iotmock: inject(...) needs an error, a latency, or both")
        if times is not None and times < 1:
            raise ValueError(f"iotmock: times must be at least 1, not {times}")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError(f"iotmock: probability must be within 0..1, not {probability}")
        if latency is not None and latency < 0:
            raise ValueError(f"iotmock: latency must not be negative, not {latency}")
        services = _services(operation, service)
        if error is not None:
            _check_error(services, operation, error)
        fault = Fault(
            services=services,
            operation=operation,
            error=error,
            message=message,
            remaining=times,
            probability=probability,
            match=match,
            latency=latency,
            _owner=self,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def seed(self, seed: int) -> None:
        """Seed the generator `probability` draws from, so a run repeats exactly."""
        with self._lock:
            self._random.seed(seed)

    def active(self) -> list[Fault]:
        """The faults that can still fire, oldest first."""
        with self._lock:
            return [fault for fault in self._faults if fault.active]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            for fault in self._faults:
                fault._owner = None
            self._faults.clear()

    def _remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)
            fault._owner = None

    def _fire(self, service: str, operation: str, params: dict[str, Any]) -> ServiceError | None:
        """Apply the first fault that fires for this call: sleep its latency, and
        return its error (None: answer normally)."""
        if not self._faults:  # the common case: no fault, no lock
            return None
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if not fault.applies(service, operation) or fault.remaining == 0:
                    continue
                if fault.match is not None and not _matches(fault.match, operation, params):
                    continue
                if fault.probability is not None and self._random.random() >= fault.probability:
                    continue
                chosen = fault
                break
            if chosen is None:
                return None
            chosen.fired += 1
            if chosen.remaining is not None:
                chosen.remaining -= 1
                if chosen.remaining == 0:
                    self._faults.remove(chosen)
        if chosen.latency:
            time.sleep(chosen.latency)
        return chosen.to_error(service)


def _matches(match: Predicate, operation: str, params: dict[str, Any]) -> bool:
    try:
        return bool(match(params))
    except Exception as exc:
        raise FaultPredicateError(
            f"iotmock: the match predicate of a fault on {operation} raised "
            f"{type(exc).__name__}: {exc} (params: {params!r})"
        ) from exc


def _services(operation: str | None, service: str | None) -> frozenset[str]:
    if service is not None and service not in SERVICE_NAMES:
        raise ValueError(f"iotmock: unknown service {service!r}; use one of {SERVICE_NAMES}")
    candidates = (service,) if service is not None else SERVICE_NAMES
    if operation is None:
        return frozenset(candidates)
    found = frozenset(s for s in candidates if operation in service_model(s).operation_names)
    if not found:
        raise ValueError(
            f"iotmock: no operation {operation!r} in {', '.join(candidates)} "
            "(use the API name, e.g. 'CreateThing', 'Publish')"
        )
    return found


def _check_error(services: frozenset[str], operation: str | None, error: str) -> None:
    if error in GENERIC_ERRORS:
        return
    if operation is None:
        raise ValueError(
            f"iotmock: a fault on every operation can only answer {sorted(GENERIC_ERRORS)}, "
            f"not {error!r}"
        )
    for service in sorted(services):
        modeled = _modeled(service, operation)
        if error not in modeled:
            raise ValueError(
                f"iotmock: {service} {operation} cannot answer {error!r}; its model lists "
                f"{sorted(modeled)} (and every operation can answer {sorted(GENERIC_ERRORS)})"
            )
