"""The state of the rules engine for one (account, region): topic rules, topic rule
destinations, recorded action invocations and the Python callables registered for
Lambda function ARNs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from iotmock.core.paging import SortedIndex
from iotmock.rules import ast

LambdaFunction = Callable[[Any, Any], Any]


@dataclass(slots=True)
class TopicRule:
    name: str
    arn: str
    sql: str
    query: ast.Query
    actions: list[dict[str, Any]]
    error_action: dict[str, Any] | None
    description: str | None
    sql_version: str
    disabled: bool
    created_at: float

    @property
    def topic_pattern(self) -> str:
        return self.query.topic_filter


@dataclass(slots=True)
class TopicRuleDestination:
    arn: str
    status: str
    created_at: float
    last_updated_at: float
    confirmation_url: str | None = None
    vpc: dict[str, Any] | None = None
    # influxDBConfiguration as given (botocore 1.44+ models InfluxDB destinations).
    influxdb: dict[str, Any] | None = None
    status_reason: str | None = None
    # The token of the pending confirmation challenge (IN_PROGRESS only).
    confirmation_token: str | None = None

    @property
    def kind(self) -> str:
        """HTTP, VPC or InfluxDB: which configuration created the destination."""
        if self.vpc is not None:
            return "VPC"
        return "InfluxDB" if self.influxdb is not None else "HTTP"


@dataclass(slots=True, frozen=True)
class RuleInvocation:
    """One action run by a rule for one message."""

    rule_name: str
    action_type: str  # the Action member: "republish", "lambda", "sqs", ...
    action: dict[str, Any]  # the action's configuration as the rule declares it
    payload: bytes  # what the rule's SELECT produced (or the error document)
    topic: str  # the topic of the message that triggered the rule
    timestamp: float
    # The topic a republish action published to (after substitution templates).
    target_topic: str | None = None
    # Set when the action failed: why. Its errorAction then runs and is recorded too.
    error: str | None = None
    # True for the rule's errorAction (its payload is AWS's error document).
    is_error_action: bool = False

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass(slots=True)
class RuleStore:
    rules: SortedIndex[TopicRule] = field(default_factory=SortedIndex)
    # Index of rules by the first level of their FROM topic filter, so a message is
    # matched against the rules that can match it, not every rule. Filters starting
    # with a wildcard are under "+".
    by_first_level: dict[str, dict[str, None]] = field(default_factory=dict)
    destinations: SortedIndex[TopicRuleDestination] = field(default_factory=SortedIndex)
    destination_tokens: dict[str, str] = field(default_factory=dict)  # token -> arn
    destination_urls: dict[str, str] = field(default_factory=dict)  # confirmation URL -> arn
    invocations: list[RuleInvocation] = field(default_factory=list)
    lambdas: dict[str, LambdaFunction] = field(default_factory=dict)

    def add_rule(self, rule: TopicRule) -> None:
        self.remove_rule(rule.name)
        self.rules[rule.name] = rule
        self.by_first_level.setdefault(_first_level(rule.topic_pattern), {})[rule.name] = None

    def remove_rule(self, name: str) -> TopicRule | None:
        rule = self.rules.pop(name)
        if rule is not None:
            names = self.by_first_level.get(_first_level(rule.topic_pattern))
            if names is not None:
                names.pop(name, None)
        return rule

    def candidates(self, topic: str) -> Iterator[TopicRule]:
        """Rules whose FROM filter may match `topic` (by first level), in name order."""
        first = topic.split("/", 1)[0]
        names = [*self.by_first_level.get(first, ()), *self.by_first_level.get("+", ())]
        for name in sorted(names):
            rule = self.rules.get(name)
            if rule is not None:
                yield rule


def _first_level(topic_filter: str) -> str:
    first = topic_filter.split("/", 1)[0]
    return "+" if first in ("+", "#") else first
