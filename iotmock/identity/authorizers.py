"""Custom authorizers: CreateAuthorizer, DescribeAuthorizer, UpdateAuthorizer,
DeleteAuthorizer, ListAuthorizers, SetDefaultAuthorizer, DescribeDefaultAuthorizer,
ClearDefaultAuthorizer and TestInvokeAuthorizer.

AWS answers TestInvokeAuthorizer by invoking the authorizer's Lambda function. The mock
calls a Python function the test registers instead
(`IotMock.authorizers.register(name_or_function_arn, handler)`): it receives the
event AWS would send the Lambda and returns the Lambda's response.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from iotmock.core import crud
from iotmock.core.backend import Backend
from iotmock.core.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    not_found,
)
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.core.paging import SortedIndex
from iotmock.identity.authorization import parse_policy

# AWS IoT quota: custom authorizers per account and region.
MAX_AUTHORIZERS = 32
# Documented bounds of the Lambda's answer (DG:config-custom-auth, "Defining your
# Lambda function").
_SECONDS_RANGE = (300, 86400)
_MAX_POLICY_DOCUMENTS = 10
_PRINCIPAL_ID = re.compile(r"[a-zA-Z0-9]{1,128}")
_LAMBDA_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:[\w$-]+)?")

AuthorizerEvent = dict[str, Any]
AuthorizerResponse = dict[str, Any]
AuthorizerHandler = Callable[[AuthorizerEvent], AuthorizerResponse]


@dataclass(slots=True)
class Authorizer:
    name: str
    arn: str
    function_arn: str
    token_key_name: str | None
    token_signing_public_keys: dict[str, str]
    status: str
    signing_disabled: bool
    enable_caching_for_http: bool
    created_at: float
    last_modified_at: float


@dataclass(slots=True)
class AuthorizerStore:
    authorizers: SortedIndex[Authorizer] = field(default_factory=SortedIndex)
    default_name: str | None = None
    # Test-registered stand-ins for the Lambda functions, by authorizer name or function
    # ARN.
    handlers: dict[str, AuthorizerHandler] = field(default_factory=dict)


def _store(backend: Backend) -> AuthorizerStore:
    return backend.store(AuthorizerStore)


def register_handler(backend: Backend, authorizer: str, handler: AuthorizerHandler) -> None:
    """Make `handler` answer TestInvokeAuthorizer for the authorizer named `authorizer`,
    or for every authorizer whose function ARN is `authorizer`."""
    _store(backend).handlers[authorizer] = handler


def _check_function_arn(arn: str) -> None:
    if not _LAMBDA_ARN.fullmatch(arn):
        raise invalid_request(
            f"authorizerFunctionArn {arn} is not a Lambda function ARN "
            "(arn:aws:lambda:<region>:<account>:function:<name>)."
        )


def _check_public_keys(keys: dict[str, str]) -> None:
    for key_name, pem in keys.items():
        try:
            serialization.load_pem_public_key(pem.encode())
        except (ValueError, TypeError):
            raise invalid_request(
                f"tokenSigningPublicKeys[{key_name}] is not a PEM-encoded public key."
            ) from None


def _check_signing(
    signing_disabled: bool, token_key_name: str | None, keys: dict[str, str]
) -> None:
    """With signing enabled (the default) AWS needs the token key name and at least one
    public key to verify token signatures."""
    if signing_disabled:
        return
    if not token_key_name:
        raise invalid_request("tokenKeyName is required unless signingDisabled is true.")
    if not keys:
        raise invalid_request(
            "tokenSigningPublicKeys must hold at least one public key unless "
            "signingDisabled is true."
        )


def describe(authorizer: Authorizer) -> dict[str, Any]:
    return {
        "authorizerName": authorizer.name,
        "authorizerArn": authorizer.arn,
        "authorizerFunctionArn": authorizer.function_arn,
        "tokenKeyName": authorizer.token_key_name,
        "tokenSigningPublicKeys": dict(authorizer.token_signing_public_keys),
        "status": authorizer.status,
        "creationDate": authorizer.created_at,
        "lastModifiedDate": authorizer.last_modified_at,
        "signingDisabled": authorizer.signing_disabled,
        "enableCachingForHttp": authorizer.enable_caching_for_http,
    }


def _identity(authorizer: Authorizer) -> dict[str, Any]:
    return {"authorizerName": authorizer.name, "authorizerArn": authorizer.arn}


AUTHORIZERS: crud.ResourceKind[Authorizer] = crud.ResourceKind(
    label="Authorizer",
    arn_type="authorizer",
    index=lambda backend: _store(backend).authorizers,
    describe=lambda authorizer: {"authorizerDescription": describe(authorizer)},
    summary=_identity,
    list_member="authorizers",
    paging=crud.MARKERS,
    quota=MAX_AUTHORIZERS,
    missing="{label} {name} cannot be found.",
)
get_authorizer = AUTHORIZERS.get
authorizer_exists = AUTHORIZERS.exists


# --------------------------------------------------------------------------- CRUD


@operation("iot", "CreateAuthorizer")
def create_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> Authorizer:
        keys = dict(params.get("tokenSigningPublicKeys") or {})
        signing_disabled = bool(params.get("signingDisabled"))
        _check_function_arn(params["authorizerFunctionArn"])
        _check_signing(signing_disabled, params.get("tokenKeyName"), keys)
        _check_public_keys(keys)
        return Authorizer(
            name=params["authorizerName"],
            arn=arn,
            function_arn=params["authorizerFunctionArn"],
            token_key_name=params.get("tokenKeyName"),
            token_signing_public_keys=keys,
            status=params.get("status") or "ACTIVE",
            signing_disabled=signing_disabled,
            enable_caching_for_http=bool(params.get("enableCachingForHttp")),
            created_at=now,
            last_modified_at=now,
        )

    name = params["authorizerName"]
    authorizer = crud.create(AUTHORIZERS, ctx.backend, name, build, params.get("tags"))
    return _identity(authorizer)


@operation("iot", "DescribeAuthorizer")
def describe_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(AUTHORIZERS, ctx.backend, params["authorizerName"])


# UpdateAuthorizer members -> Authorizer attributes.
_UPDATABLE = {
    "authorizerFunctionArn": "function_arn",
    "tokenKeyName": "token_key_name",
    "tokenSigningPublicKeys": "token_signing_public_keys",
    "status": "status",
    "enableCachingForHttp": "enable_caching_for_http",
}


@operation("iot", "UpdateAuthorizer")
def update_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    authorizer = get_authorizer(ctx.backend, params["authorizerName"])
    changed = crud.changes(params, _UPDATABLE)
    if "token_signing_public_keys" in changed:
        changed["token_signing_public_keys"] = dict(changed["token_signing_public_keys"])
    # Check the updated authorizer as a whole before changing the stored one.
    updated = dataclasses.replace(authorizer, **changed)
    _check_function_arn(updated.function_arn)
    _check_signing(
        updated.signing_disabled, updated.token_key_name, updated.token_signing_public_keys
    )
    _check_public_keys(updated.token_signing_public_keys)
    crud.apply(authorizer, changed)
    return _identity(authorizer)


def _domain_configurations_using(backend: Backend, name: str) -> list[str]:
    # Imported here: domain configurations refer to authorizers, not the other way round.
    from iotmock.identity.domain_configurations import configurations_using_authorizer

    return configurations_using_authorizer(backend, name)


@operation("iot", "DeleteAuthorizer")
def delete_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    backend = ctx.backend

    def check(authorizer: Authorizer) -> None:
        if authorizer.status == "ACTIVE":
            raise delete_conflict(
                f"Authorizer {authorizer.name} is ACTIVE; set its status to INACTIVE with "
                "UpdateAuthorizer before deleting it."
            )
        if _store(backend).default_name == authorizer.name:
            raise delete_conflict(
                f"Authorizer {authorizer.name} is the default authorizer; clear it with "
                "ClearDefaultAuthorizer before deleting it."
            )
        users = _domain_configurations_using(backend, authorizer.name)
        if users:
            raise delete_conflict(
                f"Authorizer {authorizer.name} is used by domain configuration(s) "
                f"{', '.join(users)}; remove it from them before deleting it."
            )

    crud.delete(AUTHORIZERS, backend, params["authorizerName"], check)
    return {}


@operation("iot", "ListAuthorizers")
def list_authorizers(ctx: RequestContext, params: Params) -> dict[str, Any]:
    status = params.get("status")
    return crud.list_page(
        AUTHORIZERS,
        ctx,
        params,
        descending=params.get("ascendingOrder") is False,
        keep=(lambda a: a.status == status) if status else None,
        scope=str(status),
    )


# --------------------------------------------------------------------------- default


@operation("iot", "SetDefaultAuthorizer")
def set_default_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = _store(ctx.backend)
    authorizer = get_authorizer(ctx.backend, params["authorizerName"])
    if store.default_name not in (None, authorizer.name):
        current = store.authorizers[store.default_name]
        raise already_exists(
            f"Authorizer {current.name} is already the default authorizer; clear it with "
            "ClearDefaultAuthorizer first.",
            current.name,
            current.arn,
        )
    if authorizer.status != "ACTIVE":
        raise invalid_request(
            f"Authorizer {authorizer.name} is INACTIVE; only an ACTIVE authorizer can be the "
            "default authorizer."
        )
    store.default_name = authorizer.name
    return _identity(authorizer)


def _default(backend: Backend) -> Authorizer:
    name = _store(backend).default_name
    if name is None:
        raise not_found("No default authorizer is set. Set one with SetDefaultAuthorizer.")
    return get_authorizer(backend, name)


@operation("iot", "DescribeDefaultAuthorizer")
def describe_default_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return {"authorizerDescription": describe(_default(ctx.backend))}


@operation("iot", "ClearDefaultAuthorizer")
def clear_default_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    _default(ctx.backend)
    _store(ctx.backend).default_name = None
    return {}


# --------------------------------------------------------------------------- invoke


def _verify_signature(authorizer: Authorizer, token: str, signature: str) -> None:
    """The token signature must verify (SHA-256) with one of the authorizer's keys."""
    try:
        signature_bytes = base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        raise invalid_request("tokenSignature is not valid Base64.") from None
    for pem in authorizer.token_signing_public_keys.values():
        key = serialization.load_pem_public_key(pem.encode())
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(signature_bytes, token.encode(), padding.PKCS1v15(), hashes.SHA256())
            elif isinstance(key, ec.EllipticCurvePublicKey):
                key.verify(signature_bytes, token.encode(), ec.ECDSA(hashes.SHA256()))
            else:
                continue
            return
        except InvalidSignature:
            continue
    raise invalid_request(
        f"The token signature does not verify with any tokenSigningPublicKeys of authorizer "
        f"{authorizer.name}."
    )


def _event(params: Params, signature_verified: bool) -> AuthorizerEvent:
    """The event AWS IoT sends the authorizer's Lambda function."""
    protocols: list[str] = []
    data: dict[str, Any] = {}
    tls = params.get("tlsContext")
    if tls is not None:
        protocols.append("tls")
        data["tls"] = {"serverName": tls.get("serverName")}
    http = params.get("httpContext")
    if http is not None:
        protocols.append("http")
        data["http"] = {
            "headers": dict(http.get("headers") or {}),
            "queryString": http.get("queryString") or "",
        }
    mqtt = params.get("mqttContext")
    if mqtt is not None:
        protocols.append("mqtt")
        password = mqtt.get("password")
        data["mqtt"] = {
            key: value
            for key, value in (
                ("username", mqtt.get("username")),
                ("password", base64.b64encode(password).decode() if password else None),
                ("clientId", mqtt.get("clientId")),
            )
            if value is not None
        }
    event: AuthorizerEvent = {
        "signatureVerified": signature_verified,
        "protocols": protocols,
        "protocolData": data,
        "connectionMetadata": {"id": str(uuid.uuid4())},
    }
    if params.get("token") is not None:
        event["token"] = params["token"]
    return event


def _invalid_response(authorizer: Authorizer, detail: str) -> ServiceError:
    return ServiceError(
        "InvalidResponseException",
        f"The response of authorizer {authorizer.name}'s function is invalid: {detail}",
    )


def _checked_response(authorizer: Authorizer, response: Any) -> dict[str, Any]:
    """The Lambda's answer checked against the documented response format."""
    if not isinstance(response, dict):
        raise _invalid_response(authorizer, "it must be a JSON object (a dict).")
    authenticated = response.get("isAuthenticated")
    if not isinstance(authenticated, bool):
        raise _invalid_response(authorizer, "isAuthenticated must be true or false.")
    principal_id = response.get("principalId")
    if not isinstance(principal_id, str) or not _PRINCIPAL_ID.fullmatch(principal_id):
        raise _invalid_response(authorizer, "principalId must be 1 to 128 alphanumeric characters.")
    seconds = {}
    for key in ("disconnectAfterInSeconds", "refreshAfterInSeconds"):
        value = response.get(key)
        low, high = _SECONDS_RANGE
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise _invalid_response(authorizer, f"{key} must be an integer from {low} to {high}.")
        seconds[key] = value
    documents = response.get("policyDocuments")
    if not isinstance(documents, list) or len(documents) > _MAX_POLICY_DOCUMENTS:
        raise _invalid_response(
            authorizer,
            f"policyDocuments must be a list of at most {_MAX_POLICY_DOCUMENTS} policies.",
        )
    texts = []
    for document in documents:
        text = document if isinstance(document, str) else json.dumps(document)
        try:
            parse_policy(text)
        except ServiceError as error:
            raise _invalid_response(authorizer, error.message) from None
        texts.append(text)
    return {
        "isAuthenticated": authenticated,
        "principalId": principal_id,
        "policyDocuments": texts,
        **seconds,
    }


@operation("iot", "TestInvokeAuthorizer")
def test_invoke_authorizer(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = _store(ctx.backend)
    authorizer = get_authorizer(ctx.backend, params["authorizerName"])
    if authorizer.status != "ACTIVE":
        raise invalid_request(f"Authorizer {authorizer.name} is INACTIVE.")
    token = params.get("token")
    signature = params.get("tokenSignature")
    if not authorizer.signing_disabled:
        if token is None or signature is None:
            raise invalid_request(
                f"Authorizer {authorizer.name} verifies token signatures: token and "
                "tokenSignature are required."
            )
        _verify_signature(authorizer, token, signature)
    handler = store.handlers.get(authorizer.name) or store.handlers.get(authorizer.function_arn)
    if handler is None:
        raise _invalid_response(
            authorizer,
            f"no function answers for {authorizer.function_arn}. Register one in the test "
            f"with iot_mock.authorizers.register({authorizer.name!r}, handler).",
        )
    try:
        response = handler(_event(params, not authorizer.signing_disabled))
    except Exception as exc:  # the "Lambda" failed: AWS reports an invalid response
        raise _invalid_response(authorizer, f"the function raised {exc!r}.") from exc
    return _checked_response(authorizer, response)
