"""Which service, account and region an HTTP request is for.

In-process, botocore tells the mock which client made a call. Over HTTP the request must
say it, the way AWS itself tells its endpoints apart:

1. the SigV4 credential scope of the `Authorization` header (or of a presigned URL's
   `X-Amz-Credential`) names the signing service (`iot`, `iotdata`, `iot-jobs-data`) and
   the region; a 12-digit access key id names the account;
2. otherwise the host name, shaped like AWS's (`iot.<region>.…`, `<prefix>-ats.iot.<region>.…`,
   `<prefix>.jobs.iot.<region>.…`; any suffix, so `*.localhost` works);
3. otherwise the path, when exactly one service has an operation for it. Paths that both
   `iot` and `iot-jobs-data` serve (`GET /things/{thingName}/jobs`, ...) are never
   guessed: the request is refused with a message that says how to sign or address it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from iotmock.core.errors import ServiceError
from iotmock.core.model import SERVICE_NAMES
from iotmock.core.protocol import router

# SigV4 signing names (the credential scope's service) of the three services.
SERVICE_BY_SIGNING_NAME: dict[str, str] = {
    "iot": "iot",
    "iotdata": "iot-data",
    "iot-jobs-data": "iot-jobs-data",
}

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")
_ACCOUNT_ID = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: a service of one account and region."""

    service: str
    account_id: str
    region: str


class RoutingError(ServiceError):
    """The request does not say which service it is for (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message, status=400)


@dataclass(frozen=True, slots=True)
class _Scope:
    access_key: str
    region: str
    signing_name: str


def _credential_scope(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> _Scope | None:
    credential: str | None = None
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-"):
        found = _CREDENTIAL.search(authorization)
        if found is None:
            raise RoutingError(
                "The Authorization header has no Credential=<key>/<date>/<region>/<service>/"
                "aws4_request scope."
            )
        credential = found.group(1)
    elif "X-Amz-Credential" in query:
        credential = query["X-Amz-Credential"][0]
    if credential is None:
        return None
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise RoutingError(
            f"The SigV4 credential {credential!r} is not <key>/<date>/<region>/<service>/"
            "aws4_request."
        )
    return _Scope(parts[0], parts[2], parts[3])


def _from_host(host: str) -> tuple[str, str | None] | None:
    """(service, region or None) when `host` is shaped like an AWS IoT host name."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    labels = name.lower().split(".")
    if "iot" not in labels:
        return None
    at = labels.index("iot")
    region = labels[at + 1] if at + 1 < len(labels) and _REGION.fullmatch(labels[at + 1]) else None
    if at == 0:
        return "iot", region
    if labels[at - 1] == "jobs":
        return "iot-jobs-data", region
    return "iot-data", region


def _from_path(method: str, path: str, query: Mapping[str, list[str]]) -> str:
    matches: list[str] = []
    for service in SERVICE_NAMES:
        try:
            router(service).route(method, path, dict(query))
        except ServiceError:
            continue
        matches.append(service)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ServiceError(
            "UnknownOperationException",
            f"No iot, iot-data or iot-jobs-data operation matches {method} {path}",
            status=404,
        )
    raise RoutingError(
        f"{method} {path} is an operation of both {' and '.join(matches)}, and this request "
        "does not say which: sign it with SigV4 (signing name 'iot' for iot, 'iot-jobs-data' "
        "for iot-jobs-data), or send it with a Host header such as 'iot.us-east-1.localhost' "
        "(iot) or 'data.jobs.iot.us-east-1.localhost' (iot-jobs-data)."
    )


def resolve(
    method: str,
    path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    default_account: str,
    default_region: str,
) -> Target:
    """The service, account and region `headers` (lower-case names) point the request to."""
    scope = _credential_scope(headers, query)
    host = _from_host(headers.get("host", ""))
    if scope is not None:
        service = SERVICE_BY_SIGNING_NAME.get(scope.signing_name)
        if service is None:
            raise RoutingError(
                f"The request is signed for service {scope.signing_name!r}; this server "
                "answers the signing names " + ", ".join(SERVICE_BY_SIGNING_NAME) + "."
            )
        account = scope.access_key if _ACCOUNT_ID.fullmatch(scope.access_key) else None
        return Target(service, account or default_account, scope.region or default_region)
    if host is not None:
        service, region = host
        return Target(service, default_account, region or default_region)
    return Target(_from_path(method, path, query), default_account, default_region)
