"""iotmock: a faithful, fast, in-memory mock of AWS IoT for unit tests.

from iotmock import mock_iot

@mock_iot
def test_things():
    iot = boto3.client("iot", region_name="us-east-1")
    iot.create_thing(thingName="sensor-1")

Importing the package costs nothing: each name below loads its module on first access,
and the resource families load when a mock first starts (see docs/performance.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from iotmock._mock import IotMock, mock_iot
    from iotmock.core.errors import ServiceError
    from iotmock.core.readers import IotMockWarning
    from iotmock.messaging.log import Message
    from iotmock.rules.store import RuleInvocation

__version__ = "0.1.0"

# Public name -> the module defining it.
_LAZY = {
    "IotMock": "iotmock._mock",
    "mock_iot": "iotmock._mock",
    "ServiceError": "iotmock.core.errors",
    "Message": "iotmock.messaging.log",
    "RuleInvocation": "iotmock.rules.store",
    "IotMockWarning": "iotmock.core.readers",
}

__all__ = [
    "IotMock",
    "IotMockWarning",
    "Message",
    "RuleInvocation",
    "ServiceError",
    "__version__",
    "mock_iot",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iotmock' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later accesses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
