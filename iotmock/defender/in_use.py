"""Custom metrics and dimensions in use: security profiles record which of them their
behaviors refer to (the `users` of each store), and a metric or dimension in use cannot
be deleted."""

from __future__ import annotations

from collections.abc import Collection

from iotmock.core.errors import invalid_request


def check_unused(label: str, name: str, users: Collection[str] | None) -> None:
    """InvalidRequestException while security profiles (`users`) use the `label` `name`."""
    if users:
        raise invalid_request(
            f"{label} {name} is used by security profiles ({', '.join(users)}). "
            "Remove it from every security profile before deleting it."
        )
