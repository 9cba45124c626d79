"""`m.rules`: what a test does with topic rules besides the AWS API."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from iotmock.core.mock_api import FamilyApi
from iotmock.rules import engine
from iotmock.rules.store import RuleInvocation, RuleStore, TopicRule
from iotmock.views import TopicRuleView


class RulesApi(FamilyApi):
    """Lambda functions for rule actions, the actions rules ran, destination tokens."""

    def register_lambda(
        self,
        function_arn: str,
        func: Callable[[Any, Any], Any],
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Make `lambda` rule actions for `function_arn` call `func(event, context)`:
        `event` is what the rule's SELECT produced (parsed JSON), `context` has
        `function_name`, `invoked_function_arn` and `aws_request_id`. When `func`
        raises, the rule's errorAction runs, as in AWS.

        The function is registered in the account and region its ARN names (unless
        `account_id` / `region` say otherwise), and serves every rule that names its ARN,
        of any account. Registering is not activity: readers there still warn while
        nothing happened."""
        with self._mock.lock:
            backend = self._setup_for_function(function_arn, account_id, region)
            backend.store(RuleStore).lambdas[function_arn] = func

    def invocations(
        self,
        rule_name: str | None = None,
        *,
        action_type: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[RuleInvocation]:
        """Actions run by topic rules so far, oldest first: each with the rule name, the
        action type ("republish", "lambda", "sqs", ...), its configuration, the payload
        the rule produced, the triggering topic and, when it failed, the error.
        A rule's errorAction runs appear with `is_error_action=True`."""
        with self._mock.lock:
            store = self._read(account_id, region, "m.rules.invocations()").store(RuleStore)
            return engine.invocations(store, rule_name, action_type)

    def topic_rules(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[TopicRuleView]:
        """Every topic rule as declared, by name (read-only views)."""
        with self._mock.lock:
            store = self._read(account_id, region, "m.rules.topic_rules()").store(RuleStore)
            return [_rule_view(rule) for rule in store.rules.values()]

    def destination_token(
        self, destination_arn: str, *, account_id: str | None = None, region: str | None = None
    ) -> str | None:
        """The confirmation token AWS would send to an HTTP topic rule destination's
        confirmation URL (pass it to ConfirmTopicRuleDestination); None when the
        destination has no pending confirmation."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.rules.destination_token()")
            destination = backend.store(RuleStore).destinations.get(destination_arn)
            return destination.confirmation_token if destination is not None else None


def _rule_view(rule: TopicRule) -> TopicRuleView:
    return TopicRuleView(
        name=rule.name,
        arn=rule.arn,
        sql=rule.sql,
        topic_filter=rule.topic_pattern,
        actions=tuple(copy.deepcopy(rule.actions)),
        error_action=copy.deepcopy(rule.error_action),
        description=rule.description,
        sql_version=rule.sql_version,
        disabled=rule.disabled,
        created_at=rule.created_at,
    )
