"""Saying so when a state reader looks where nothing happened.

A test reading `m.messages(region="eu-west-1")` or `m.shadow("x")` (the mock's default
region) while its clients called another region would get `[]` / None and read it as
"nothing happened". Readers warn instead (a warning, not an error: "nothing exists here"
is also a legitimate assertion), naming the accounts and regions that hold state.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent.parent)


class IotMockWarning(UserWarning):
    """A reader of the mock's state (`m.messages()`, `m.shadow()`, `m.backend()`, a
    group's reader) was asked about an account or region where nothing happened while
    others hold state: the calls probably went to another region than the reader looked
    at. The message names the accounts and regions that hold state."""


def warn_elsewhere(
    what: str, asked: tuple[str | None, str | None], elsewhere: Iterable[tuple[str, str]]
) -> None:
    """Warn that `what` found nothing in `asked` (account, region; None = any) while the
    (account, region) pairs `elsewhere` hold some."""
    places = ", ".join(f"account {a} region {r}" for a, r in sorted(set(elsewhere)))
    if not places:
        return
    account, region = asked
    looked = " ".join(
        part
        for part in (
            f"account {account}" if account else "",
            f"region {region}" if region else "",
        )
        if part
    )
    warnings.warn(
        f"iotmock: {what} found nothing in {looked or 'the mock'}, but state exists in "
        f"{places}; pass account_id=/region= to read there (or give the mock, its "
        "fixture marker or the client that region)",
        IotMockWarning,
        stacklevel=_caller_level(),
    )


def warn_decorator_only(what: str, calls: int) -> None:
    """Warn that `what` read a mock object whose decorated functions each ran in a
    fresh mock (`calls` so far), so it holds nothing itself."""
    warnings.warn(
        f"iotmock: {what} read a mock object that only decorates: each of the {calls} "
        "call(s) of the functions it decorated ran in a fresh mock of its own, gone after "
        "the call; read state inside the decorated function (e.g. through the iot_mock "
        "fixture), or start this object yourself (`with m:`) around the calls to share "
        "its state",
        IotMockWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The stack level of the first frame outside iotmock: the warning names the test's
    line, whichever reader (`m.shadow`, a group, ...) it went through."""
    level = 2  # the caller of warn_elsewhere, as warnings.warn counts
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
