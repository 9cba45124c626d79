"""`IotMock`: the decorator, context manager, async context manager and start/stop object."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
import unittest
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from iotmock.core import intercept
from iotmock.core.backend import Backend
from iotmock.core.mock_api import LazyGroup
from iotmock.devices.mqtt.group import MqttGroup
from iotmock.messaging.log import Message, MessageLog, topic_matches
from iotmock.server.group import ServerGroup

if TYPE_CHECKING:
    from iotmock.audit.mock_api import AuditApi
    from iotmock.defender.mock_api import DefenderApi
    from iotmock.device_management.mock_api import CommandsApi
    from iotmock.devices.mock_api import DevicesApi
    from iotmock.identity.mock_api import AuthorizersApi, CertificatesApi
    from iotmock.registry.mock_api import RegistrationApi
    from iotmock.rules.mock_api import RulesApi

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

    What a test does besides calling the AWS API is grouped by family: `m.rules`,
    `m.authorizers`, `m.certificates`, `m.registration`, `m.defender`, `m.audit`,
    `m.commands`, `m.devices` (see docs/usage.md). Each group loads its family on first use.
    With `mqtt=True`, starting the mock also starts an MQTT endpoint real device clients
    connect to: `m.mqtt.host`, `m.mqtt.port`, `m.mqtt.ca_file` (docs/devices.md).
    """

    rules: LazyGroup[RulesApi] = LazyGroup("iotmock.rules.mock_api", "RulesApi")
    authorizers: LazyGroup[AuthorizersApi] = LazyGroup(
        "iotmock.identity.mock_api", "AuthorizersApi"
    )
    certificates: LazyGroup[CertificatesApi] = LazyGroup(
        "iotmock.identity.mock_api", "CertificatesApi"
    )
    registration: LazyGroup[RegistrationApi] = LazyGroup(
        "iotmock.registry.mock_api", "RegistrationApi"
    )
    defender: LazyGroup[DefenderApi] = LazyGroup("iotmock.defender.mock_api", "DefenderApi")
    audit: LazyGroup[AuditApi] = LazyGroup("iotmock.audit.mock_api", "AuditApi")
    commands: LazyGroup[CommandsApi] = LazyGroup(
        "iotmock.device_management.mock_api", "CommandsApi"
    )
    devices: LazyGroup[DevicesApi] = LazyGroup("iotmock.devices.mock_api", "DevicesApi")

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        server: bool = False,
        mqtt: bool = False,
    ) -> None:
        self.account_id = account_id
        self.region = region
        # server mode (iotmock/server): with server=True, the state is also served over
        # HTTP while the mock is active, for child processes (m.server.url).
        self.server = ServerGroup(self, enabled=server)
        # The MQTT endpoint (iotmock/devices/mqtt): with mqtt=True, real device clients
        # connect over TLS while the mock is active (m.mqtt.port, m.mqtt.ca_file).
        self.mqtt = MqttGroup(self, enabled=mqtt)
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
        if first:
            try:
                self.server.start()  # server mode: no-op unless server=True
                self.mqtt.start()  # MQTT endpoint: no-op unless mqtt=True
            except BaseException:
                # A part that cannot start (a port in use...) leaves no half-started mock.
                intercept.activate(self)
                self.stop()
                raise
        intercept.activate(self)
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
        if last:
            self.mqtt.stop()
            self.server.stop()  # server mode: no-op unless running
        intercept.deactivate(self)

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
        return IotMock(
            account_id=self.account_id,
            region=self.region,
            server=self.server.enabled,
            mqtt=self.mqtt.enabled,
        )

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


@overload
def mock_iot(target: F, /) -> F: ...


@overload
def mock_iot(target: type[T], /) -> type[T]: ...


@overload
def mock_iot(
    target: None = None,
    /,
    *,
    account_id: str = ...,
    region: str = ...,
    server: bool = ...,
    mqtt: bool = ...,
) -> IotMock: ...


def mock_iot(
    target: Any = None,
    /,
    *,
    account_id: str = DEFAULT_ACCOUNT_ID,
    region: str = DEFAULT_REGION,
    server: bool = False,
    mqtt: bool = False,
) -> Any:
    """Mock AWS IoT: `@mock_iot`, `@mock_iot(...)`, `with mock_iot(...) as m:`.
    `server=True` also serves the state over HTTP while active (docs/server.md);
    `mqtt=True` also starts an MQTT endpoint for real device clients (`m.mqtt`,
    docs/devices.md)."""
    mock = IotMock(account_id=account_id, region=region, server=server, mqtt=mqtt)
    if target is None:
        return mock
    return mock(target)
