"""iotmock: a faithful, fast, in-memory mock of AWS IoT for unit tests.

from iotmock import mock_iot

@mock_iot
def test_things():
    iot = boto3.client("iot", region_name="us-east-1")
    iot.create_thing(thingName="sensor-1")
"""

from __future__ import annotations

from iotmock._mock import IotMock, mock_iot
from iotmock.core.errors import ServiceError
from iotmock.families import load_all as _load_all
from iotmock.messaging.log import Message
from iotmock.rules.store import RuleInvocation

_load_all()  # registers every operation handler

__version__ = "0.1.0"

__all__ = ["IotMock", "Message", "RuleInvocation", "ServiceError", "__version__", "mock_iot"]
