"""DescribeEndpoint: one stable, account-specific address per endpoint type."""

from __future__ import annotations

import hashlib
from typing import Any

from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request
from iotmock.core.operations import Params, RequestContext, operation

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def endpoint_prefix(backend: Backend, purpose: str) -> str:
    """14 lowercase alphanumerics, stable for an account and region (spec §13)."""
    digest = hashlib.sha256(f"{backend.account_id}:{backend.region}:{purpose}".encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:14])


def endpoint_address(backend: Backend, endpoint_type: str | None) -> str:
    region = backend.region
    data = endpoint_prefix(backend, "data")
    addresses = {
        "iot:Data": f"{data}.iot.{region}.amazonaws.com",
        "iot:Data-ATS": f"{data}-ats.iot.{region}.amazonaws.com",
        "iot:Data-Beta": f"{data}.beta.iot.{region}.amazonaws.com",
        "iot:CredentialProvider": (
            f"{endpoint_prefix(backend, 'credentials')}.credentials.iot.{region}.amazonaws.com"
        ),
        "iot:Jobs": f"{data}.jobs.iot.{region}.amazonaws.com",
    }
    # No endpointType means the legacy Symantec-signed iot:Data endpoint (API docs).
    address = addresses.get(endpoint_type or "iot:Data")
    if address is None:
        raise invalid_request(
            f"Endpoint type {endpoint_type} not recognized. Valid types: " + ", ".join(addresses)
        )
    return address


@operation("iot", "DescribeEndpoint")
def describe_endpoint(ctx: RequestContext, params: Params) -> dict[str, Any]:
    address = endpoint_address(ctx.backend, params.get("endpointType"))
    # Served over HTTP (iotmock serve): every endpoint type is this server, so a client
    # that builds its data-plane endpoint from the answer reaches the same state.
    if ctx.served_address is not None:
        return {"endpointAddress": ctx.served_address}
    return {"endpointAddress": address}
