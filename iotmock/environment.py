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


def patch(region: str) -> dict[str, str | None]:
    """Set what is unset: fake credentials, and both region variables (the one already
    set, else `region`). Returns what to give `restore`."""
    environ = os.environ
    saved: dict[str, str | None] = {}
    regions = [environ.get(name) for name in REGION_VARIABLES]
    current = next((value for value in regions if value), None) or region
    for name, value in (*FAKE_CREDENTIALS.items(), *((n, current) for n in REGION_VARIABLES)):
        found = environ.get(name)
        if not found:
            saved[name] = found
            environ[name] = value
    return saved


def restore(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
