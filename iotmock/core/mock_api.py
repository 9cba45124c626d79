"""The base of the test-facing groups of a mock (`m.rules`, `m.jobs`, `m.audit`, ...).

Each family defines its group (a subclass of `FamilyApi`) in its own package; `IotMock`
creates a group on first access (`LazyGroup`), so a family's modules load only when a test
uses them. A group method works on one account and region, the mock's defaults unless
the call names others, and holds the mock's lock while it touches state.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from iotmock.core.backend import Backend
from iotmock.core.operations import RequestContext

if TYPE_CHECKING:
    from iotmock._mock import IotMock

G = TypeVar("G", bound="FamilyApi")


class FamilyApi:
    """What every group has: its mock, and the backend and request context of an account
    and region.

    A group method says what it does in the backend it asks for: `_act` (a simulated
    device's action: counts as activity there), `_setup` (a stand-in registered or a
    switch set: not activity, so readers there still warn) or `_read` (a reader: warns
    when it looks where nothing happened while other accounts or regions hold state).
    """

    def __init__(self, mock: IotMock) -> None:
        self._mock = mock

    def _act(self, account_id: str | None, region: str | None) -> Backend:
        """The backend a simulated device's action changes (created when first used)."""
        return self._mock._state(account_id, region)

    def _setup(self, account_id: str | None, region: str | None) -> Backend:
        """The backend a setup call (a stand-in, a switch) is stored in."""
        return self._mock._state(account_id, region, use="setup")

    def _setup_for_function(
        self, function_arn: str, account_id: str | None, region: str | None
    ) -> Backend:
        """The backend a stand-in for the Lambda function `function_arn` is registered in:
        the account and region its ARN names (where AWS finds the function), unless the
        call names others (a caller of another account)."""
        parts = function_arn.split(":")
        if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda":
            account_id = account_id or parts[4] or None
            region = region or parts[3] or None
        return self._setup(account_id, region)

    def _read(self, account_id: str | None, region: str | None, what: str) -> Backend:
        """The backend the reader `what` ("m.rules.invocations()") reads: warns
        (IotMockWarning) when nothing happened there while other accounts or regions
        hold state."""
        return self._mock._state(account_id, region, use="read", what=what)

    def _look(self, account_id: str | None, region: str | None, what: str) -> None:
        """Warn as `_read` does, for a reader that needs no backend."""
        key = (account_id or self._mock.account_id, region or self._mock.region)
        with self._mock.lock:
            self._mock._warn_idle(what, key)

    def _context(self, operation: str, backend: Backend, service: str = "iot") -> RequestContext:
        """A request context for work a test asks for outside any API call (running held
        tasks, a device's report) in `backend`: events and messages it causes are
        attributed to `operation`."""
        return RequestContext(
            self._mock, backend, service, operation, backend.account_id, backend.region
        )


class LazyGroup(Generic[G]):
    """A descriptor creating a mock's group on first access, importing its family then.

    `rules = LazyGroup["RulesApi"]("iotmock.rules.mock_api", "RulesApi")` on `IotMock`.
    """

    def __init__(self, module: str, class_name: str) -> None:
        self._module = module
        self._class_name = class_name
        self._attribute = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._attribute = f"_group_{name}"

    @overload
    def __get__(self, instance: None, owner: type) -> LazyGroup[G]: ...

    @overload
    def __get__(self, instance: Any, owner: type) -> G: ...

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        group = instance.__dict__.get(self._attribute)
        if group is None:
            kind = getattr(importlib.import_module(self._module), self._class_name)
            group = instance.__dict__[self._attribute] = kind(instance)
        return group
