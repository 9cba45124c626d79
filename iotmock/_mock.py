"""`IotMock`: the decorator, context manager, async context manager and start/stop object."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
import unittest
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from . import _intercept
from ._registry import RequestContext
from .crypto import mock_ca
from .handlers.iot import audit_mitigation, audit_tasks
from .handlers.iot.audit_state import AuditStore
from .handlers.iot_data import messaging
from .messages import Message, MessageLog, topic_matches
from .rules import engine as rules_engine
from .rules.store import RuleInvocation, RuleStore
from .state import Backend

if TYPE_CHECKING:
    from .devices.mqtt import MqttListener

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Environment that keeps botocore off the network and off the user's real credentials
# while a mock is active: clients created with no configuration at all would otherwise
# probe the instance metadata service.
_FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "iotmock-testing",
    "AWS_SECRET_ACCESS_KEY": "iotmock-testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class IotMock:
    """Answers every `iot`, `iot-data` and `iot-jobs-data` call in-process.

    Use it as `@mock_iot`, `@mock_iot()`, `with mock_iot() as m:`,
    `async with mock_iot() as m:`, on `unittest.TestCase` classes, or with `start()` /
    `stop()`. Each activation starts from empty state.

    With `mqtt=True`, starting the mock also starts an MQTT endpoint real device clients
    connect to: `m.mqtt.host`, `m.mqtt.port`, `m.mqtt.ca_file` (docs/devices.md).
    """

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        mqtt: bool = False,
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.mqtt_enabled = mqtt
        # The running MQTT endpoint (None unless started with mqtt=True).
        self.mqtt: MqttListener | None = None
        # One lock for all handler calls of this mock: botocore clients are used from
        # many threads, and some operations touch two accounts (certificate transfer).
        self.lock = threading.RLock()
        self._backends: dict[tuple[str, str], Backend] = {}
        self._depth = 0
        self._saved_environment: dict[str, str | None] = {}

    # ------------------------------------------------------------------ state

    def backend(self, account_id: str | None = None, region: str | None = None) -> Backend:
        """The state of one account and region (defaults: the mock's own).

        Read it in assertions; change state through the AWS API, not by hand.
        """
        key = (account_id or self.account_id, region or self.region)
        with self.lock:
            found = self._backends.get(key)
            if found is None:
                found = self._backends[key] = Backend(*key)
            return found

    def backends(self) -> list[Backend]:
        """The state of every account and region used so far."""
        with self.lock:
            return list(self._backends.values())

    def reset(self) -> None:
        """Forget all state of every account and region."""
        with self.lock:
            self._backends.clear()

    @contextlib.contextmanager
    def as_account(self, account_id: str) -> Iterator[IotMock]:
        """Send the calls made inside the block as account `account_id` (for
        cross-account flows such as certificate transfers)."""
        saved = self.account_id
        self.account_id = account_id
        try:
            yield self
        finally:
            self.account_id = saved

    def messages(
        self,
        topic_filter: str = "#",
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[Message]:
        """Messages published so far whose topic matches the MQTT `topic_filter`
        (`+` and `#` wildcards; `#` alone also matches reserved `$aws/...` topics)."""
        log = self.backend(account_id, region).store(MessageLog)
        if topic_filter == "#":
            return list(log.messages)
        return [m for m in log.messages if topic_matches(topic_filter, m.topic)]

    # ------------------------------------------------------------------ start / stop

    def start(self) -> IotMock:
        """Begin answering IoT calls. Starting a stopped mock starts from empty state."""
        with self.lock:
            first = self._depth == 0
            if first:
                self.reset()
                self._patch_environment()
            self._depth += 1
        _intercept.activate(self)
        if first and self.mqtt_enabled:
            from .devices.mqtt import start_listener

            try:
                start_listener(self)  # sets self.mqtt
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop answering IoT calls; botocore is restored when the last mock stops."""
        with self.lock:
            if self._depth == 0:
                raise RuntimeError("iotmock: stop() called on a mock that is not started")
            self._depth -= 1
            last = self._depth == 0
            if last:
                self._restore_environment()
        # Outside the lock: the listener's connections take it while they close.
        if last and self.mqtt is not None:
            self.mqtt.stop()  # clears self.mqtt
        _intercept.deactivate(self)

    @property
    def started(self) -> bool:
        return self._depth > 0

    def _patch_environment(self) -> None:
        self._saved_environment = {}
        for name, value in _FAKE_ENVIRONMENT.items():
            if os.environ.get(name) is None:
                self._saved_environment[name] = None
                os.environ[name] = value
        if not os.environ.get("AWS_DEFAULT_REGION") and not os.environ.get("AWS_REGION"):
            self._saved_environment["AWS_DEFAULT_REGION"] = None
            os.environ["AWS_DEFAULT_REGION"] = self.region

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    # ------------------------------------------------------------------ protocols

    def __enter__(self) -> IotMock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> IotMock:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @overload
    def __call__(self, target: type[T]) -> type[T]: ...

    @overload
    def __call__(self, target: F) -> F: ...

    def __call__(self, target: Any) -> Any:
        """Decorate a function, an async function or a `unittest.TestCase` class."""
        if isinstance(target, type):
            if issubclass(target, unittest.TestCase):
                return self._decorate_test_case(target)
            raise TypeError("mock_iot can decorate functions and unittest.TestCase classes")
        if inspect.iscoroutinefunction(target):
            return self._decorate_async(target)
        if inspect.isgeneratorfunction(target):
            return self._decorate_generator(target)
        if inspect.isasyncgenfunction(target):
            return self._decorate_async_generator(target)
        return self._decorate_sync(target)

    def _fresh(self) -> IotMock:
        return IotMock(account_id=self.account_id, region=self.region, mqtt=self.mqtt_enabled)

    def _decorate_sync(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _decorate_async(self, func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            async with self:
                return await func(*args, **kwargs)

        return wrapper

    # A generator (a yield-style pytest fixture) runs its body while it is iterated, not
    # when it is called: the mock must stay active from the first step to the last.
    def _decorate_generator(self, func: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return (yield from func(*args, **kwargs))

        return wrapper

    def _decorate_async_generator(
        self, func: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            async with self:
                async for item in func(*args, **kwargs):
                    yield item

        return wrapper

    def _decorate_test_case(self, cls: type[T]) -> type[T]:
        # Each test gets its own mock, started before setUp and stopped after tearDown
        # and the test's other cleanups.
        original_setup = cls.setUp  # type: ignore[attr-defined]
        options = self

        @functools.wraps(original_setup)
        def setUp(test: unittest.TestCase) -> None:
            mock = options._fresh()
            mock.start()
            test.addCleanup(mock.stop)
            test.iot_mock = mock  # type: ignore[attr-defined]
            original_setup(test)

        cls.setUp = setUp  # type: ignore[attr-defined]

        # setUpClass / tearDownClass run inside a class-wide mock of their own, so their
        # calls never reach AWS; each test still starts from empty state.
        original_setup_class = cls.setUpClass.__func__  # type: ignore[attr-defined]

        @functools.wraps(original_setup_class)
        def setUpClass(klass: type[unittest.TestCase]) -> None:
            mock = options._fresh()
            mock.start()
            klass.addClassCleanup(mock.stop)
            original_setup_class(klass)

        cls.setUpClass = classmethod(setUpClass)  # type: ignore[attr-defined]
        return cls

    # ---- commands

    def update_command_execution(
        self,
        execution_id: str,
        target_arn: str,
        status: str,
        *,
        status_reason: dict[str, str] | None = None,
        result: dict[str, Any] | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Report a command execution's status as its device would (the MQTT
        UpdateCommandExecution API): `status` IN_PROGRESS, SUCCEEDED, FAILED, REJECTED or
        TIMED_OUT, optional `status_reason` `{"reasonCode", "reasonDescription"}` and
        `result` `{name: {"S" | "B" | "BIN": value}}`. Raises `ServiceError` as AWS
        rejects the update (ConflictException from a final status, ...)."""
        # Imported here: the handlers package imports the engine, not the other way round.
        from .handlers.iot.commands import report_execution

        with self.lock:
            report_execution(
                self.backend(account_id, region),
                execution_id,
                target_arn,
                status,
                status_reason,
                result,
            )

    # ---- authorizers

    def register_authorizer_handler(
        self,
        authorizer: str,
        handler: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Answer TestInvokeAuthorizer for a custom authorizer with `handler`, where AWS
        would invoke the authorizer's Lambda function.

        `authorizer` is an authorizer name, or a Lambda function ARN to serve every
        authorizer using that function (a name registration wins). `handler` receives the
        event AWS sends the Lambda (`token`, `signatureVerified`, `protocols`,
        `protocolData`, `connectionMetadata`) and returns the Lambda's response
        (`isAuthenticated`, `principalId`, `policyDocuments`, `disconnectAfterInSeconds`,
        `refreshAfterInSeconds`); see docs/identity-policies.md. Register after the mock
        has started: starting it again forgets all state.
        """
        from .handlers.iot.authorizers import register_handler

        with self.lock:
            register_handler(self.backend(account_id, region), authorizer, handler)

    # ---- registry

    def put_thing_registration_input(
        self,
        bucket: str,
        key: str,
        records: Iterable[Mapping[str, Any] | str],
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Provide the bulk-registration input file `s3://bucket/key` (S3 is not served):
        one dict of template parameter values (or one raw JSON line) per thing. A
        StartThingRegistrationTask naming this bucket and key provisions from it."""
        from .handlers.iot import registration_tasks

        with self.lock:
            registration_tasks.put_input(self.backend(account_id, region), bucket, key, records)

    def hold_thing_registration_tasks(
        self, hold: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new thing registration tasks stay InProgress (so they can be
        stopped) until `run_thing_registration_tasks()`."""
        from .handlers.iot import registration_tasks

        with self.lock:
            store = self.backend(account_id, region).store(registration_tasks.RegistrationStore)
            store.hold = hold

    def run_thing_registration_tasks(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[str]:
        """Run every InProgress thing registration task to completion; returns their ids."""
        from ._registry import RequestContext
        from .handlers.iot import registration_tasks

        with self.lock:
            backend = self.backend(account_id, region)
            ctx = RequestContext(
                self,
                backend,
                "iot",
                "StartThingRegistrationTask",
                backend.account_id,
                backend.region,
            )
            return registration_tasks.run_held(ctx)

    def thing_registration_report(
        self,
        task_id: str,
        report_type: str = "RESULTS",
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[dict[str, Any]]:
        """The lines (parsed JSON) of a task's RESULTS or ERRORS report file."""
        from .handlers.iot import registration_tasks

        with self.lock:
            return registration_tasks.report(self.backend(account_id, region), task_id, report_type)

    # ---- data plane

    def rule_invocations(
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
        with self.lock:
            store = self.backend(account_id, region).store(RuleStore)
            return rules_engine.invocations(store, rule_name, action_type)

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
        raises, the rule's errorAction runs, as in AWS."""
        with self.lock:
            self.backend(account_id, region).store(RuleStore).lambdas[function_arn] = func

    def topic_rule_destination_token(
        self, destination_arn: str, *, account_id: str | None = None, region: str | None = None
    ) -> str | None:
        """The confirmation token AWS would send to an HTTP topic rule destination's
        confirmation URL (pass it to ConfirmTopicRuleDestination); None when the
        destination has no pending confirmation."""
        with self.lock:
            store = self.backend(account_id, region).store(RuleStore)
            destination = store.destinations.get(destination_arn)
            return destination.confirmation_token if destination is not None else None

    def connect_client(
        self,
        client_id: str,
        *,
        principal: str | None = None,
        will_topic: str | None = None,
        will_payload: bytes | str = b"",
    ) -> None:
        """Declare an MQTT client connected (the mock has no broker): publishes its
        `$aws/events/presence/connected/<clientId>` lifecycle event, and makes
        iot-data DeleteConnection find it (which publishes the will message, unless
        `preventWillMessage`, and the `disconnected` event)."""
        messaging.connect_client(
            self,
            client_id,
            principal=principal,
            will_topic=will_topic,
            will_payload=will_payload,
        )

    # ---- certificates

    def ca_certificate_pem(self, account_id: str | None = None, region: str | None = None) -> str:
        """The PEM of the mock CA that signs the AWS-issued certificates
        (CreateKeysAndCertificate, CreateCertificateFromCsr, provisioning) of an account
        and region (defaults: the mock's own). It is the same for every mock of the
        process, so tests may verify chains with it."""
        return mock_ca(account_id or self.account_id, region or self.region).pem

    # ---- defender

    def report_device_metric(
        self,
        thing_name: str,
        metric: str,
        value: Any,
        *,
        topic: str | None = None,
        timestamp: float | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Report one datapoint of a Device Defender metric for a thing, as its device
        agent (device-side and custom metrics) or AWS IoT (cloud-side metrics) would.

        `metric` is an AWS metric (`"aws:num-messages-sent"`) or a custom metric's name.
        `value` is a number for count and `number` metrics, a list of IP addresses for
        `ip-address-list` metrics, of ports for `aws:listening-*-ports`, of strings or
        numbers for `string-list` / `number-list` metrics. `topic` is the MQTT topic the
        datapoint concerns, for behaviors scoped by a TOPIC_FILTER dimension.
        `timestamp` (epoch seconds) defaults to now.

        The datapoint is retained for ListMetricValues when a security profile applying to
        the thing uses the metric, and evaluated against those profiles' static behaviors:
        violations open and clear after the behaviors' consecutive datapoints. Returns
        the MetricValue recorded. Raises ValueError for an unknown metric or a value of
        the wrong kind."""
        from .handlers.iot.violations import report_metric

        with self.lock:
            return report_metric(
                self.backend(account_id, region),
                thing_name,
                metric,
                value,
                topic=topic,
                timestamp=timestamp,
            )

    def hold_detect_mitigation_actions_tasks(
        self, hold: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new Detect mitigation actions tasks stay IN_PROGRESS (so they can
        be canceled) until `run_detect_mitigation_actions_tasks()`."""
        from .handlers.iot import detect_mitigation

        with self.lock:
            detect_mitigation.hold(self.backend(account_id, region), hold)

    def run_detect_mitigation_actions_tasks(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[str]:
        """Run every IN_PROGRESS Detect mitigation actions task to completion; returns
        their task ids."""
        from ._registry import RequestContext
        from .handlers.iot import detect_mitigation

        with self.lock:
            backend = self.backend(account_id, region)
            ctx = RequestContext(
                self,
                backend,
                "iot",
                "StartDetectMitigationActionsTask",
                backend.account_id,
                backend.region,
            )
            return detect_mitigation.run_held(ctx)

    # ---- audit

    def _audit_context(self, account_id: str | None, region: str | None) -> RequestContext:
        account, where = account_id or self.account_id, region or self.region
        return RequestContext(self, self.backend(account, where), "iot", "Audit", account, where)

    def run_scheduled_audit(
        self, name: str, *, account_id: str | None = None, region: str | None = None
    ) -> str:
        """Run the scheduled audit `name` now (the mock never runs them on a timer) as a
        SCHEDULED_AUDIT_TASK; returns its task id."""
        with self.lock:
            return audit_tasks.run_scheduled_audit(
                self._audit_context(account_id, region), name
            ).task_id

    def hold_audit_tasks(
        self, held: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new audit tasks and audit mitigation actions tasks stay IN_PROGRESS
        (so tests can cancel them) until `run_audit_tasks`."""
        with self.lock:
            self.backend(account_id, region).store(AuditStore).hold = held

    def run_audit_tasks(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[str]:
        """Complete every IN_PROGRESS audit task, then every held audit mitigation actions
        task; returns their ids."""
        with self.lock:
            ctx = self._audit_context(account_id, region)
            return audit_tasks.run_held_tasks(ctx.backend) + (
                audit_mitigation.run_held_mitigation_tasks(ctx)
            )

    def revoke_at_issuer(
        self, certificate_id: str, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """Record that the issuer of a device or CA certificate revoked it (as a CRL would
        say): the REVOKED_*_STILL_ACTIVE and INTERMEDIATE_CA_REVOKED audit checks see it."""
        with self.lock:
            self.backend(account_id, region).store(AuditStore).revoked_at_issuer.add(certificate_id)

    def audit_notifications(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        """The SNS notifications Device Defender Audit sent, oldest first: audit
        completions (to the account's SNS notification target) and findings published by
        PUBLISH_FINDING_TO_SNS actions; each `{"targetArn", "roleArn", "message"}`."""
        with self.lock:
            return list(self.backend(account_id, region).store(AuditStore).notifications)


@overload
def mock_iot(target: F, /) -> F: ...


@overload
def mock_iot(target: type[T], /) -> type[T]: ...


@overload
def mock_iot(
    target: None = None, /, *, account_id: str = ..., region: str = ..., mqtt: bool = ...
) -> IotMock: ...


def mock_iot(
    target: Any = None,
    /,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = DEFAULT_REGION,
    mqtt: bool = False,
) -> Any:
    """Mock AWS IoT: `@mock_iot`, `@mock_iot(...)`, `with mock_iot(...) as m:`.
    `mqtt=True` also starts an MQTT endpoint for real device clients (`m.mqtt`)."""
    mock = IotMock(account_id=account_id, region=region, mqtt=mqtt)
    if target is None:
        return mock
    return mock(target)
