"""`IotMock`: the decorator, context manager, async context manager and start/stop object."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

# Only what defining the class needs: `from iotmock import mock_iot` stays light (no
# botocore, cryptography, unittest or family; docs/performance.md). The wire core and the
# families load when the first mock starts, snapshots when one is used.
from iotmock import environment
from iotmock.core.backend import Backend
from iotmock.core.mock_api import LazyGroup
from iotmock.core.readers import warn_decorator_only, warn_elsewhere
from iotmock.server.group import ServerGroup

if TYPE_CHECKING:
    import unittest

    from iotmock.audit.mock_api import AuditApi
    from iotmock.core.calls import CallsApi
    from iotmock.core.faults import FaultsApi
    from iotmock.defender.mock_api import DefenderApi
    from iotmock.device_management.mock_api import CommandsApi
    from iotmock.devices.mock_api import DevicesApi
    from iotmock.devices.mqtt.group import MqttGroup
    from iotmock.identity.mock_api import AuthorizersApi, CertificatesApi
    from iotmock.jobs.mock_api import JobsApi
    from iotmock.messaging.log import Message
    from iotmock.registry.mock_api import RegistrationApi
    from iotmock.rules.mock_api import RulesApi
    from iotmock.shadows.mock_api import ShadowsApi

# A snapshot document, or the path of its JSON file.
SnapshotSource = dict[str, Any] | str | os.PathLike[str]

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Where a decorated function keeps the mock holding its options: the `iot_mock` fixture
# of a decorated test starts a mock with them that the test's call then runs in
# (`IotMock._shared_with_calls`, iotmock.plugin).
DECORATOR_ATTRIBUTE = "_iotmock_mock"
# The mocks `_shared_with_calls` started in this thread or task, most recent last.
_SHARED: contextvars.ContextVar[tuple[IotMock, ...]] = contextvars.ContextVar(
    "iotmock_shared", default=()
)

Scope = Literal["test", "class"]
# What a caller of `IotMock._state` does in the backend it asks for.
StateUse = Literal["act", "setup", "read"]


class IotMock:
    """Answers every `iot`, `iot-data` and `iot-jobs-data` call in-process.

    Use it as `@mock_iot`, `@mock_iot()`, `with mock_iot() as m:`,
    `async with mock_iot() as m:`, on `unittest.TestCase` classes, or with `start()` /
    `stop()`. Each activation starts from empty state, or from the snapshot given as
    `state` (docs/snapshots.md).

    What a test does besides calling the AWS API is grouped by family: `m.rules`,
    `m.authorizers`, `m.certificates`, `m.registration`, `m.defender`, `m.audit`,
    `m.commands`, `m.devices`, and the readers `m.shadows`, `m.jobs` (see docs/usage.md).
    Each group loads its family on first use.

    A mock answers the calls of the thread or asyncio task that started it (and of the
    tasks created there); threads that started none get the most recently started mock
    (iotmock.core.intercept). `m.faults` and `m.calls` cover every family
    (docs/testing-failures.md).
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
    shadows: LazyGroup[ShadowsApi] = LazyGroup("iotmock.shadows.mock_api", "ShadowsApi")
    jobs: LazyGroup[JobsApi] = LazyGroup("iotmock.jobs.mock_api", "JobsApi")
    # Cross-cutting groups (every family's calls): defined in core.
    faults: LazyGroup[FaultsApi] = LazyGroup("iotmock.core.faults", "FaultsApi")
    calls: LazyGroup[CallsApi] = LazyGroup("iotmock.core.calls", "CallsApi")

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region: str = DEFAULT_REGION,
        max_messages: int | None = None,
        server: bool = False,
        mqtt: bool = False,
        scope: Scope = "test",
        state: SnapshotSource | None = None,
        deliver_to_moto: bool = True,
    ) -> None:
        self.account_id = account_id
        self.region = region
        # Keep at most this many messages per account and region (oldest dropped).
        self.max_messages = max_messages
        # On a unittest.TestCase: "class" shares one mock (and setUpClass's state)
        # between the tests of the class.
        self.scope: Scope = scope
        # server mode (iotmock/server): with server=True, the state is also served over
        # HTTP while the mock is active, for child processes (m.server.url).
        self.server = ServerGroup(self, enabled=server)
        # Rule actions reach moto's services when moto is active (docs/rules.md).
        self.deliver_to_moto = deliver_to_moto
        # The snapshot each activation starts from (docs/snapshots.md).
        self._initial_state = _read_snapshot(state) if state is not None else None
        # The MQTT endpoint (iotmock/devices/mqtt): with mqtt=True, real device clients
        # connect over TLS while the mock is active (m.mqtt.port, m.mqtt.ca_file).
        # Created on first use: the devices family loads only when a mock starts.
        self._mqtt_enabled = mqtt
        self._mqtt: MqttGroup | None = None
        # One lock for all handler calls of this mock: botocore clients are used from
        # many threads, and some operations touch two accounts (certificate transfer).
        self.lock = threading.RLock()
        self._backends: dict[tuple[str, str], Backend] = {}
        # Backends where nothing happened: only readers and setup calls (a registered
        # Lambda stand-in, a held task queue) have touched them. Readers there warn.
        self._idle: set[tuple[str, str]] = set()
        # The decorator this mock was made for by `_fresh()` (None: made by hand).
        self._origin: IotMock | None = None
        # Calls of functions this mock decorated that ran in fresh mocks of their own.
        self._decorated_calls = 0
        self._depth = 0
        self._environment: environment.Patch | None = None

    # ------------------------------------------------------------------ state

    def backend(self, account_id: str | None = None, region: str | None = None) -> Backend:
        """The state of one account and region (defaults: the mock's own).

        Read it in assertions; change state through the AWS API, not by hand. Warns
        (`IotMockWarning`) when nothing happened there while other accounts or regions
        hold state.
        """
        return self._state(account_id, region, use="read", what="m.backend()")

    def _state(
        self,
        account_id: str | None = None,
        region: str | None = None,
        *,
        use: StateUse = "act",
        what: str = "",
    ) -> Backend:
        """The backend of one account and region, created when first used.

        `use` says what the caller does there: "act" — something happens (an AWS call, a
        simulated device's action); "setup" — a stand-in is registered or a switch set
        (a Lambda function, a held task queue), which is not activity; "read" — a reader
        named `what` looks: it warns (IotMockWarning) when nothing happened there while
        other accounts or regions hold state."""
        key = (account_id or self.account_id, region or self.region)
        with self.lock:
            found = self._backends.get(key)
            if use == "read":
                self._warn_idle(what, key)
            if found is None:
                found = self._backends[key] = Backend(*key)
                if use != "act":
                    self._idle.add(key)
            elif use == "act" and self._idle:
                self._idle.discard(key)  # something happens there now
            return found

    def _warn_idle(self, what: str, key: tuple[str, str]) -> None:
        """Warn when the reader `what` looks at `key` (account, region), where nothing
        happened, while other accounts or regions hold state (call it holding the lock)."""
        self._warn_decorator_only(what)
        if key in self._backends and key not in self._idle:
            return
        used = [k for k in self._backends if k not in self._idle]
        if used:
            warn_elsewhere(what, key, used)

    def _warn_decorator_only(self, what: str) -> None:
        """Warn when `what` reads a mock object that never held state itself while
        functions it decorated ran: each of their calls had a fresh mock of its own."""
        used = any(key not in self._idle for key in self._backends)
        if self._decorated_calls and not used and not self.started:
            warn_decorator_only(what, self._decorated_calls)

    def backends(self) -> list[Backend]:
        """The state of every account and region used so far."""
        with self.lock:
            return list(self._backends.values())

    def reset(self) -> None:
        """Forget all state of every account and region, and the recorded calls."""
        with self.lock:
            self._backends.clear()
            self._idle.clear()
            if "_group_calls" in self.__dict__:
                self.calls.clear()

    def shadow(
        self,
        thing_name: str,
        shadow_name: str | None = None,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> dict[str, Any] | None:
        """The shadow document GetThingShadow would answer (state with delta, metadata,
        version, timestamp), a copy; None when the shadow does not exist. The classic
        shadow unless `shadow_name` is given. See also `m.shadows`."""
        view = self.shadows._get(thing_name, shadow_name, account_id, region, "m.shadow()")
        return view.document if view is not None else None

    def snapshot(self) -> dict[str, Any]:
        """The whole state (every account and region) as a versioned JSON-serializable
        document; `restore(...)` or `mock_iot(state=...)` brings it back."""
        # Families register the process-wide state a snapshot carries when they load.
        from iotmock.core import snapshot
        from iotmock.families import load_all

        load_all()
        return snapshot.snapshot_of(self)

    def restore(self, state: SnapshotSource) -> None:
        """Replace the whole state of this started mock by a snapshot (a document or the
        path of its JSON file); to start from a snapshot, use `mock_iot(state=...)`.
        Registered callables (Lambda functions, authorizer handlers) are not part of a
        snapshot: register them again."""
        from iotmock.core import snapshot

        snapshot.restore_into(self, snapshot.read_document(state))
        with self.lock:
            self._idle.clear()  # every restored account and region holds state

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
        (`+` and `#` wildcards; `#` alone also matches reserved `$aws/...` topics), in
        the order they were published, from every account and region of the mock unless
        `account_id` / `region` narrow it (each message says its `account_id` and
        `region`). Warns (`IotMockWarning`) when the accounts and regions asked for hold
        no message while others do."""
        from iotmock.messaging.log import MessageLog

        with self.lock:
            self._warn_decorator_only("m.messages()")
            logs = [
                (key, backend.store(MessageLog))
                for key, backend in self._backends.items()
                if (account_id is None or key[0] == account_id)
                and (region is None or key[1] == region)
            ]
            if (account_id or region) and not any(log.messages for _, log in logs):
                held = [k for k, b in self._backends.items() if b.store(MessageLog).messages]
                warn_elsewhere("m.messages()", (account_id, region), held)
            found = [m for _, log in logs for m in log.select(topic_filter)]
        if len(logs) > 1:
            found.sort(key=_by_sequence)
        return found

    def clear_messages(self) -> None:
        """Forget the messages recorded so far (every account and region); resources,
        shadows and retained messages stay."""
        from iotmock.messaging.log import MessageLog

        with self.lock:
            for backend in self._backends.values():
                backend.store(MessageLog).clear()

    # ------------------------------------------------------------------ start / stop

    def start(self) -> IotMock:
        """Begin answering IoT calls. Starting a stopped mock starts from empty state."""
        from iotmock.families import load_all

        load_all()  # the families load when the first mock starts (once per process)
        intercept = _intercept()
        with self.lock:
            first = self._depth == 0
            if first:
                self.reset()
                if self._initial_state is not None:
                    from iotmock.core import snapshot

                    snapshot.restore_into(self, self._initial_state)
                self._environment = environment.patch(self.region)
            self._depth += 1
        if first:
            try:
                self.server.start()  # server mode: no-op unless server=True
                if self._mqtt_enabled or self._mqtt is not None:
                    self.mqtt.start()  # MQTT endpoint: no-op unless enabled
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
            if last and self._environment is not None:
                environment.restore(self._environment)
                self._environment = None
        # Outside the lock: the listener's connections take it while they close.
        if last:
            if self._mqtt is not None:
                self._mqtt.stop()
            self.server.stop()  # server mode: no-op unless running
        _intercept().deactivate(self)

    @property
    def mqtt(self) -> MqttGroup:
        """The MQTT endpoint of `mock_iot(mqtt=True)`: `host`, `port`, `ca_file`,
        `connections`, `running` (docs/devices.md)."""
        if self._mqtt is None:
            from iotmock.devices.mqtt.group import MqttGroup

            self._mqtt = MqttGroup(self, enabled=self._mqtt_enabled)
        return self._mqtt

    @property
    def started(self) -> bool:
        return self._depth > 0

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
        """Decorate a function, an async function, a generator function, a
        `unittest.TestCase` class or a plain (pytest) test class. Each call of a decorated
        function runs in a fresh mock of its own; this mock only holds the options."""
        if isinstance(target, type):
            if _is_test_case(target):
                return self._decorate_test_case(target)
            if self.scope == "class":
                return self._decorate_class_wide(target)
            return self._decorate_test_methods(target)
        if inspect.iscoroutinefunction(target):
            wrapper = self._decorate_async(target)
        elif inspect.isgeneratorfunction(target):
            wrapper = self._decorate_generator(target)
        elif inspect.isasyncgenfunction(target):
            wrapper = self._decorate_async_generator(target)
        else:
            wrapper = self._decorate_sync(target)
        setattr(wrapper, DECORATOR_ATTRIBUTE, self)
        return wrapper

    def _fresh(self, *, mqtt: bool = False) -> IotMock:
        """A new mock with this one's options (a decorated call, a test of a class);
        `mqtt=True` also turns the MQTT endpoint on."""
        fresh = IotMock(
            account_id=self.account_id,
            region=self.region,
            max_messages=self.max_messages,
            scope=self.scope,
            server=self.server.enabled,
            mqtt=mqtt or (self._mqtt.enabled if self._mqtt is not None else self._mqtt_enabled),
            state=self._initial_state,
            deliver_to_moto=self.deliver_to_moto,
        )
        fresh._origin = self
        return fresh

    def _for_call(self) -> IotMock:
        """The mock one call of a function decorated with this mock runs in: this very
        mock when it is active (started by hand around the call), the one the `iot_mock`
        fixture started for this decorator in the calling thread or task (one mock for
        the fixture and the decorated test), else a fresh one, so that concurrent calls
        (threads, asyncio tasks) never share state."""
        if self.started:
            return self
        for mock in reversed(_SHARED.get()):
            if mock._origin is self and mock.started:
                return mock
        self._decorated_calls += 1
        return self._fresh()

    @contextlib.contextmanager
    def _call(self) -> Iterator[IotMock]:
        """Run one call of a decorated function in `_for_call()`'s mock; a fresh one is
        shared with the calls of functions this mock decorated made inside this call
        (in this thread or task), as a re-entered mock keeps its state."""
        mock = self._for_call()
        if mock is self or mock.started:
            with mock:
                yield mock
        else:
            with _shared_in_context(mock):
                yield mock

    @contextlib.contextmanager
    def _shared_with_calls(self, *, mqtt: bool = False) -> Iterator[IotMock]:
        """Start a fresh mock with this decorator's options that the calls of the
        decorated function made in this thread or task (and the tasks created here) run
        in, until the block ends: the `iot_mock` fixture of a decorated test."""
        with _shared_in_context(self._fresh(mqtt=mqtt)) as mock:
            yield mock

    def _decorate_test_methods(self, cls: type[T]) -> type[T]:
        # A plain (pytest) test class: each call of each test method gets a mock of its own.
        for name in dir(cls):
            if not name.startswith("test"):
                continue
            member = inspect.getattr_static(cls, name)
            if inspect.isfunction(member):
                setattr(cls, name, self(member))
        return cls

    def _decorate_class_wide(self, cls: type[T]) -> type[T]:
        # scope "class" on a plain (pytest) class: one mock for the whole class, started
        # in pytest's setup_class (before the tests' fixtures) and stopped in
        # teardown_class; the tests see each other's state. The mock is `cls.iot_mock`,
        # and the `iot_mock` fixture of its tests yields it.
        options = self
        original_setup = getattr(cls, "setup_class", None)
        original_teardown = getattr(cls, "teardown_class", None)

        def setup_class(klass: type[Any]) -> None:
            mock = options._fresh()
            mock.start()
            klass.iot_mock = mock
            try:
                _call_xunit(original_setup, klass)
            except BaseException:
                mock.stop()
                raise

        def teardown_class(klass: type[Any]) -> None:
            try:
                _call_xunit(original_teardown, klass)
            finally:
                mock = vars(klass).get("iot_mock")
                if isinstance(mock, IotMock) and mock.started:
                    mock.stop()

        cls.setup_class = classmethod(setup_class)  # type: ignore[attr-defined]
        cls.teardown_class = classmethod(teardown_class)  # type: ignore[attr-defined]
        return cls

    def _decorate_sync(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._call():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    def _decorate_async(self, func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._call():
                return await func(*args, **kwargs)

        return wrapper

    # A generator (a yield-style pytest fixture) runs its body while it is iterated, not
    # when it is called: the mock must stay active from the first step to the last.
    def _decorate_generator(self, func: Callable[..., Iterator[Any]]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._for_call():
                return (yield from func(*args, **kwargs))

        return wrapper

    def _decorate_async_generator(
        self, func: Callable[..., AsyncIterator[Any]]
    ) -> Callable[..., Any]:
        @functools.wraps(func)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            async with self._for_call():
                async for item in func(*args, **kwargs):
                    yield item

        return wrapper

    def _decorate_test_case(self, cls: type[T]) -> type[T]:
        # scope "test": each test gets its own mock, started before setUp and stopped
        # after tearDown and the test's other cleanups. scope "class": the tests run in
        # the class-wide mock of setUpClass, and see its state and each other's.
        original_setup = cls.setUp  # type: ignore[attr-defined]
        options = self
        per_test = self.scope == "test"

        @functools.wraps(original_setup)
        def setUp(test: unittest.TestCase) -> None:
            if per_test:
                mock = options._fresh()
                mock.start()
                test.addCleanup(mock.stop)
                test.iot_mock = mock  # type: ignore[attr-defined]
            original_setup(test)

        cls.setUp = setUp  # type: ignore[attr-defined]

        # setUpClass / tearDownClass run inside a class-wide mock, so their calls never
        # reach AWS; with scope "test" each test still starts from empty state.
        original_setup_class = cls.setUpClass.__func__  # type: ignore[attr-defined]

        @functools.wraps(original_setup_class)
        def setUpClass(klass: type[unittest.TestCase]) -> None:
            mock = options._fresh()
            mock.start()
            klass.addClassCleanup(mock.stop)
            if not per_test:
                klass.iot_mock = mock  # type: ignore[attr-defined]
            original_setup_class(klass)

        cls.setUpClass = classmethod(setUpClass)  # type: ignore[attr-defined]
        return cls


@overload
def mock_iot(target: F, /) -> F: ...


@overload
def mock_iot(target: type[T], /) -> type[T]: ...


@overload
def mock_iot(target: None = None, /, **options: Any) -> IotMock: ...


def mock_iot(target: Any = None, /, **options: Any) -> Any:
    """Mock AWS IoT: `@mock_iot`, `@mock_iot(...)`, `with mock_iot(...) as m:`; the
    keyword options are `IotMock`'s (`account_id`, `region`, `max_messages`, `scope`, `server`,
    `mqtt`, `state`, `deliver_to_moto`): `server=True` also serves the state over HTTP while
    active (docs/server.md); `mqtt=True` also starts an MQTT endpoint for real device
    clients (`m.mqtt`, docs/devices.md); `state` is a snapshot (`IotMock.snapshot()`, or
    the path of its JSON file) each activation starts from instead of empty state;
    `deliver_to_moto=False` keeps rule actions recorded only even when moto's `mock_aws`
    is active."""
    mock = IotMock(**options)
    if target is None:
        return mock
    return mock(target)


@contextlib.contextmanager
def _shared_in_context(mock: IotMock) -> Iterator[IotMock]:
    """Run `mock` where the calls of the functions its decorator decorated, made in this
    thread or task (and the tasks created here), find it (`IotMock._for_call`)."""
    token = _SHARED.set((*_SHARED.get(), mock))
    try:
        with mock:
            yield mock
    finally:
        _SHARED.reset(token)


def _by_sequence(message: Message) -> int:
    return message.sequence


def _is_test_case(cls: type) -> bool:
    # Without importing unittest (9 ms): a TestCase subclass exists only once it is loaded.
    loaded = sys.modules.get("unittest")
    return loaded is not None and issubclass(cls, loaded.TestCase)


def _call_xunit(method: Any, cls: type) -> None:
    """Call a class's own `setup_class` / `teardown_class` as pytest does (a classmethod,
    or a function taking the class or nothing)."""
    if method is None:
        return
    function = getattr(method, "__func__", method)
    if function.__code__.co_argcount:
        function(cls)
    else:
        function()


def _read_snapshot(state: SnapshotSource) -> dict[str, Any]:
    from iotmock.core import snapshot  # cryptography: only for mocks given a state

    return snapshot.read_document(state)


def _intercept() -> ModuleType:
    """iotmock.core.intercept (botocore's seam), imported by the first start: a mock
    stopped while the interpreter shuts down (a decorated generator never finished) can
    no longer import."""
    global _INTERCEPT
    if _INTERCEPT is None:
        from iotmock.core import intercept

        _INTERCEPT = intercept
    return _INTERCEPT


_INTERCEPT: ModuleType | None = None
