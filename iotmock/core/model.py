"""The botocore service models iotmock serves, loaded once per process.

Everything on the wire (routes, decoding, validation, encoding, error statuses) is derived
from these models, so a botocore upgrade that adds a member or a constraint reaches the
mock without a code change.
"""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel

# The botocore names of the three services, keyed by the service id botocore hyphenizes
# for event names ("iot", "iot-data-plane", "iot-jobs-data-plane").
SERVICE_NAMES: tuple[str, ...] = ("iot", "iot-data", "iot-jobs-data")
SERVICE_BY_ID: dict[str, str] = {
    "IoT": "iot",
    "IoT Data Plane": "iot-data",
    "IoT Jobs Data Plane": "iot-jobs-data",
}


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The botocore ServiceModel of `service` ("iot", "iot-data" or "iot-jobs-data")."""
    return _session().get_service_model(service)


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


def operation_names(service: str) -> list[str]:
    return list(service_model(service).operation_names)


def all_operations() -> list[tuple[str, str]]:
    """Every (service, operation) pair of the three models."""
    return [(svc, op) for svc in SERVICE_NAMES for op in operation_names(svc)]
