"""The process environment a mock (or the plugin's session option) sets: fake
credentials and a region, so botocore stays off the network and off the user's real
credentials. Light on purpose: the pytest plugin imports it before any test module.

The environment belongs to the process while mocks may start and stop in any order
(several threads, the session option, nested mocks), so it is kept for all of them at
once: every active patch is on one stack, the environment follows the most recent one
still active, and when the last one ends every variable iotmock set goes back to what
it was before the first one began.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

# Clients created with no configuration at all would otherwise probe the instance
# metadata service or read the user's credentials.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "iotmock-testing",
    "AWS_SECRET_ACCESS_KEY": "iotmock-testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}
REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION")


@dataclass(eq=False, slots=True)
class Patch:
    """One active patch (a mock's, or the session option's): what `restore` takes."""

    region: str


_LOCK = threading.Lock()
# The active patches, oldest first.
_ACTIVE: list[Patch] = []
# The value iotmock itself gave each variable it set: a variable still holding it is
# iotmock's to change; one the user changed meanwhile is left alone.
_OURS: dict[str, str] = {}
# What each variable iotmock set held before the first active patch.
_BEFORE: dict[str, str | None] = {}


def patch(region: str) -> Patch:
    """Set what is unset, or set by iotmock: fake credentials, and both region variables
    (the one the user set, else `region`), until `restore`.

    A region iotmock set itself (the session option `iot_mock_aws_environment`, another
    active mock) is replaced by this one's `region` while this patch is the most recent,
    so region-less clients created while a mock is active use the mock's region; a
    region the user set wins."""
    found = Patch(region)
    with _LOCK:
        _ACTIVE.append(found)
        _apply()
    return found


def restore(patched: Patch) -> None:
    """End `patched`: the environment follows the most recent patch still active, or
    goes back to what it was before the first one."""
    with _LOCK:
        if any(active is patched for active in _ACTIVE):
            _ACTIVE.remove(patched)
        _apply()


def _apply() -> None:
    environ = os.environ
    if not _ACTIVE:
        for name, value in _BEFORE.items():
            if _ours(name):
                if value is None:
                    environ.pop(name, None)
                else:
                    environ[name] = value
            _OURS.pop(name, None)
        _BEFORE.clear()
        return
    user_regions = [environ.get(name) for name in REGION_VARIABLES if not _ours(name)]
    region = next((value for value in user_regions if value), None) or _ACTIVE[-1].region
    for name, value in (*FAKE_CREDENTIALS.items(), *((n, region) for n in REGION_VARIABLES)):
        current = environ.get(name)
        if not current or _ours(name):
            _BEFORE.setdefault(name, current)
            environ[name] = _OURS[name] = value


def _ours(name: str) -> bool:
    value = os.environ.get(name)
    return value is not None and _OURS.get(name) == value
