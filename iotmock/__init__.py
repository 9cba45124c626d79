"""iotmock: a faithful, fast, in-memory mock of AWS IoT for unit tests.

from iotmock import mock_iot

@mock_iot
def test_things():
    iot = boto3.client("iot", region_name="us-east-1")
    iot.create_thing(thingName="sensor-1")
"""

from __future__ import annotations

from . import handlers as _handlers  # noqa: F401  (registers every operation handler)
from ._errors import ServiceError
from ._mock import IotMock, mock_iot
from .messages import Message
from .rules.store import RuleInvocation

__version__ = "0.1.0"

__all__ = ["IotMock", "Message", "RuleInvocation", "ServiceError", "__version__", "mock_iot"]
