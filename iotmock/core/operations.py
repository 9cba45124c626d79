"""The handler registry: one function per (service, operation) of the botocore models."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from iotmock.core.errors import ServiceError

if TYPE_CHECKING:
    from iotmock._mock import IotMock
    from iotmock.core.backend import Backend

Params = dict[str, Any]
Output = dict[str, Any]


@dataclass(slots=True)
class RequestContext:
    """What a handler knows about the call besides its parameters."""

    mock: IotMock
    backend: Backend
    service: str
    operation: str
    account_id: str
    region: str
    # server mode: the host[:port] the request reached the iotmock server at, so answers
    # that name an endpoint (DescribeEndpoint) lead back to it; None in-process.
    served_address: str | None = None


Handler = Callable[[RequestContext, Params], Output]
H = TypeVar("H", bound=Handler)

HANDLERS: dict[tuple[str, str], Handler] = {}


def operation(service: str, name: str) -> Callable[[H], H]:
    """Register the decorated function as the handler of `service`'s operation `name`."""

    def register(func: H) -> H:
        key = (service, name)
        if key in HANDLERS:
            raise RuntimeError(f"two handlers for {service} {name}")
        HANDLERS[key] = func
        return func

    return register


def not_implemented(service: str, name: str) -> ServiceError:
    return ServiceError(
        "NotImplemented",
        f"iotmock does not implement {service} {name} yet. "
        "See docs/coverage.md for the operations it answers.",
        status=501,
    )
