"""The process environment a mock (or the plugin's session option) sets: fake
credentials and a region, so botocore stays off the network and off the user's real
credentials. Light on purpose: the pytest plugin imports it before any test module."""

from __future__ import annotations

import os

# Clients created with no configuration at all would otherwise probe the instance
# metadata service or read the user's credentials.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "iotmock-testing",
    "AWS_SECRET_ACCESS_KEY": "iotmock-testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}
REGION_VARIABLES = ("AWS_DEFAULT_REGION", "AWS_REGION")


# The value iotmock itself gave each variable it set and has not restored yet (the
# session option's, an outer mock's): a later mock may replace it with its own region.
_OURS: dict[str, str] = {}


def patch(region: str) -> dict[str, str | None]:
    """Set what is unset, or set by iotmock: fake credentials, and both region variables
    (the one the user set, else `region`). Returns what to give `restore`.

    A region iotmock set itself (the session option `iot_mock_aws_environment`, an outer
    mock) is replaced by this one's `region` until `restore`, so region-less clients
    created while a mock is active use the mock's region; a region the user set wins."""
    environ = os.environ
    saved: dict[str, str | None] = {}
    user_regions = [environ.get(name) for name in REGION_VARIABLES if not _ours(name)]
    current = next((value for value in user_regions if value), None) or region
    for name, value in (*FAKE_CREDENTIALS.items(), *((n, current) for n in REGION_VARIABLES)):
        found = environ.get(name)
        if not found or _ours(name):
            saved[name] = found
            environ[name] = _OURS[name] = value
    return saved


def restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
            _OURS.pop(name, None)
        else:
            # Only unset variables and iotmock's own were replaced: this one is ours.
            os.environ[name] = _OURS[name] = value


def _ours(name: str) -> bool:
    value = os.environ.get(name)
    return value is not None and _OURS.get(name) == value
