"""`m.shadows`: reading shadows in assertions (change them through the AWS API)."""

from __future__ import annotations

import copy

from iotmock.core import clock
from iotmock.core.mock_api import FamilyApi
from iotmock.shadows.document import ShadowDocument, ShadowStore, full_document
from iotmock.views import ShadowView


class ShadowsApi(FamilyApi):
    """Read-only views of the classic and named shadows of things."""

    def get(
        self,
        thing_name: str,
        shadow_name: str | None = None,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> ShadowView | None:
        """The shadow of `thing_name` (classic unless `shadow_name`), or None."""
        return self._get(thing_name, shadow_name, account_id, region, "m.shadows.get()")

    def _get(
        self,
        thing_name: str,
        shadow_name: str | None,
        account_id: str | None,
        region: str | None,
        what: str,
    ) -> ShadowView | None:
        # Also `m.shadow()`, which names itself in the warning.
        with self._mock.lock:
            store = self._read(account_id, region, what).store(ShadowStore)
            shadow = store.get(thing_name, shadow_name)
            return _view(thing_name, shadow_name, shadow) if shadow is not None else None

    def all(
        self,
        thing_name: str | None = None,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[ShadowView]:
        """Every shadow (of `thing_name` only, when given), by thing name, the classic
        shadow before the named ones (by name)."""
        with self._mock.lock:
            store = self._read(account_id, region, "m.shadows.all()").store(ShadowStore)
            things = sorted(set(store.classic) | set(store.named))
            found: list[ShadowView] = []
            for thing in things if thing_name is None else [thing_name]:
                classic = store.classic.get(thing)
                if classic is not None:
                    found.append(_view(thing, None, classic))
                named = store.named.get(thing)
                for name, shadow in named.items() if named is not None else ():
                    found.append(_view(thing, name, shadow))
            return found


def _view(thing: str, name: str | None, shadow: ShadowDocument) -> ShadowView:
    # Deep copies: a test changing a view must not change the mock.
    return ShadowView(
        thing_name=thing,
        shadow_name=name,
        version=shadow.version,
        state=copy.deepcopy(shadow.state),
        metadata=copy.deepcopy(shadow.metadata),
        timestamp=shadow.timestamp,
        document=copy.deepcopy(full_document(shadow, int(clock.now()))),
    )
