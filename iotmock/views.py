"""Public, typed, read-only views of the mock's state, for assertions.

The views are snapshots: frozen dataclasses holding copies, taken when read, so a test
can keep them and compare them while the mock goes on changing. Get them from the mock:
`m.shadow(...)`, `m.shadows.get(...)` / `m.shadows.all()`, `m.jobs.get(...)` /
`m.jobs.all()` / `m.jobs.executions(...)`, `m.rules.topic_rules()`,
`m.rules.invocations()` (`RuleInvocation`), `m.messages()` (`Message`). The registry's
records are read with `iotmock.registry.records.registry_of(m.backend())`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iotmock.core.readers import IotMockWarning
from iotmock.messaging.log import Message
from iotmock.rules.store import RuleInvocation

__all__ = [
    "IotMockWarning",
    "JobExecutionView",
    "JobView",
    "Message",
    "RuleInvocation",
    "ShadowView",
    "TopicRuleView",
]


@dataclass(frozen=True, slots=True)
class ShadowView:
    """One shadow (classic when `shadow_name` is None) as stored."""

    thing_name: str
    shadow_name: str | None
    version: int
    # {"desired": {...}, "reported": {...}} (each present when set).
    state: dict[str, Any]
    metadata: dict[str, Any]
    # When it was last updated (epoch seconds).
    timestamp: int
    # What GetThingShadow would answer now (state with delta, metadata, version).
    document: dict[str, Any]

    @property
    def desired(self) -> dict[str, Any] | None:
        value = self.state.get("desired")
        return value if isinstance(value, dict) else None

    @property
    def reported(self) -> dict[str, Any] | None:
        value = self.state.get("reported")
        return value if isinstance(value, dict) else None

    @property
    def delta(self) -> dict[str, Any] | None:
        value = self.document["state"].get("delta")
        return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class JobView:
    """One job (timers due by now applied)."""

    job_id: str
    arn: str
    status: str  # IN_PROGRESS, CANCELED, DELETION_IN_PROGRESS, SCHEDULED, COMPLETED
    targets: tuple[str, ...]
    target_selection: str
    document: str | None  # the job document as devices get it
    description: str | None
    namespace_id: str | None
    created_at: float
    last_updated_at: float
    completed_at: float | None
    # Execution count by status ("QUEUED", "IN_PROGRESS", "SUCCEEDED", ...).
    execution_counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class JobExecutionView:
    """One execution of a job on one thing (the latest attempt unless several are
    asked for)."""

    job_id: str
    thing_name: str
    execution_number: int
    status: str  # QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, ...
    status_details: dict[str, str]
    version: int
    queued_at: float
    started_at: float | None
    last_updated_at: float


@dataclass(frozen=True, slots=True)
class TopicRuleView:
    """One topic rule as declared."""

    name: str
    arn: str
    sql: str
    topic_filter: str  # the FROM of its SQL
    actions: tuple[dict[str, Any], ...]
    error_action: dict[str, Any] | None
    description: str | None
    sql_version: str
    disabled: bool
    created_at: float
