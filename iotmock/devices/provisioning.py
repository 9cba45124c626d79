"""Fleet provisioning by claim over MQTT (DG:fleet-provision-api).

A device connected with a claim certificate publishes to
`$aws/certificates/create/<format>` (CreateKeysAndCertificate),
`$aws/certificates/create-from-csr/<format>` (CreateCertificateFromCsr) and
`$aws/provisioning-templates/<name>/provision/<format>` (RegisterThing), `<format>` being
`json` or `cbor`; the answer goes to the same connection only, on the request topic plus
`/accepted` or `/rejected` (which the device must have subscribed to). A rejection is
`{"statusCode", "errorCode", "errorMessage"}`.

The certificates created are PENDING_ACTIVATION until RegisterThing runs the template with
the certificate's ownership token (valid one hour, once); a template's pre-provisioning
hook is a Python callable registered for the hook's Lambda ARN
(`m.devices.register_pre_provisioning_hook`).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from iotmock.core import clock
from iotmock.core.errors import ServiceError
from iotmock.core.operations import RequestContext
from iotmock.devices import cbor
from iotmock.identity import crypto
from iotmock.identity.certificates import issue_certificate, issue_for_csr, load_csr
from iotmock.identity.provisioning import REGISTER_THING_FAILURES
from iotmock.identity.provisioning_engine import provision
from iotmock.identity.provisioning_templates import parse_template
from iotmock.identity.records import (
    Certificate,
    ProvisioningTemplate,
    identity_of,
    templates_of,
)

TOKEN_LIFETIME_MS = 60 * 60 * 1000
_CREATE = re.compile(r"\$aws/certificates/create/(json|cbor)")
_CREATE_FROM_CSR = re.compile(r"\$aws/certificates/create-from-csr/(json|cbor)")
_PROVISION = re.compile(r"\$aws/provisioning-templates/([^/]+)/provision/(json|cbor)")

# What a pre-provisioning hook gets (the Lambda's event) and returns (its response).
PreProvisioningHook = Callable[[dict[str, Any]], Mapping[str, Any]]
Reply = Callable[[str, bytes], None]


@dataclass(slots=True)
class OwnershipToken:
    certificate_id: str
    issued_at_ms: int


@dataclass(slots=True)
class DeviceProvisioningStore:
    tokens: dict[str, OwnershipToken] = field(default_factory=dict)
    # Lambda function ARN -> the callable standing in for it.
    hooks: dict[str, PreProvisioningHook] = field(default_factory=dict)


class Rejected(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.document = {"statusCode": status, "errorCode": code, "errorMessage": message}


def register_hook(ctx: RequestContext, function_arn: str, hook: PreProvisioningHook) -> None:
    ctx.backend.store(DeviceProvisioningStore).hooks[function_arn] = hook


def handle(
    ctx: RequestContext,
    client_id: str,
    claim: Certificate | None,
    topic: str,
    payload: bytes,
    reply: Reply,
) -> bool:
    """Answer a fleet provisioning request published on `topic` (False: not one)."""
    for pattern, run in (
        (_CREATE, _create_keys_and_certificate),
        (_CREATE_FROM_CSR, _create_certificate_from_csr),
        (_PROVISION, _register_thing),
    ):
        found = pattern.fullmatch(topic)
        if found is None:
            continue
        fmt = found.groups()[-1]
        try:
            request = _decode(payload, fmt)
            template = found.group(1) if pattern is _PROVISION else ""
            answer = run(ctx, request, template, client_id, claim)
        except Rejected as rejected:
            reply(f"{topic}/rejected", _encode(rejected.document, fmt))
        else:
            reply(f"{topic}/accepted", _encode(answer, fmt))
        return True
    return False


def _decode(payload: bytes, fmt: str) -> dict[str, Any]:
    try:
        request = cbor.decode(payload) if fmt == "cbor" else json.loads(payload or b"{}")
    except ValueError as error:
        message = f"The payload is not valid {fmt.upper()}: {error}"
        raise Rejected(400, "InvalidPayload", message) from None
    if not isinstance(request, dict):
        raise Rejected(400, "InvalidPayload", "The payload must be an object (a map).")
    return request


def _encode(document: dict[str, Any], fmt: str) -> bytes:
    if fmt == "cbor":
        return cbor.encode(document)
    return json.dumps(document, separators=(",", ":")).encode()


def _token_for(ctx: RequestContext, record: Certificate) -> str:
    token = secrets.token_urlsafe(96)
    ctx.backend.store(DeviceProvisioningStore).tokens[token] = OwnershipToken(
        record.certificate_id, clock.now_millis()
    )
    return token


# --------------------------------------------------------------------------- certificates


def _create_keys_and_certificate(
    ctx: RequestContext, request: dict[str, Any], _: str, client_id: str, claim: Certificate | None
) -> dict[str, Any]:
    key = crypto.pooled_key()
    record = issue_certificate(ctx, key.key.public_key(), "PENDING_ACTIVATION")
    return {
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
        "privateKey": key.private_pem,
        "certificateOwnershipToken": _token_for(ctx, record),
    }


def _create_certificate_from_csr(
    ctx: RequestContext, request: dict[str, Any], _: str, client_id: str, claim: Certificate | None
) -> dict[str, Any]:
    csr_pem = request.get("certificateSigningRequest")
    if not isinstance(csr_pem, str) or not csr_pem:
        raise Rejected(
            400, "InvalidPayload", "certificateSigningRequest must be a PEM-encoded CSR."
        )
    try:
        record = issue_for_csr(ctx, load_csr(csr_pem), "PENDING_ACTIVATION")
    except ServiceError as error:
        raise Rejected(400, "InvalidPayload", error.message) from None
    return {
        "certificateOwnershipToken": _token_for(ctx, record),
        "certificateId": record.certificate_id,
        "certificatePem": record.pem,
    }


# --------------------------------------------------------------------------- RegisterThing


def _owned_certificate(ctx: RequestContext, token: Any) -> tuple[str, Certificate]:
    if not isinstance(token, str) or not token:
        raise Rejected(
            400, "InvalidCertificateOwnershipToken", "Certificate ownership token cannot be empty."
        )
    tokens = ctx.backend.store(DeviceProvisioningStore).tokens
    found = tokens.get(token)
    if found is None or clock.now_millis() - found.issued_at_ms > TOKEN_LIFETIME_MS:
        tokens.pop(token, None)
        raise Rejected(
            400,
            "InvalidCertificateOwnershipToken",
            "The certificate ownership token is invalid, already used or expired (tokens are "
            "valid for one hour).",
        )
    record = identity_of(ctx.backend).certificates.get(found.certificate_id)
    if record is None:
        raise Rejected(
            400,
            "InvalidCertificateOwnershipToken",
            f"The certificate {found.certificate_id} of this ownership token no longer exists.",
        )
    return token, record


def _template(ctx: RequestContext, name: str) -> ProvisioningTemplate:
    template = templates_of(ctx.backend).templates.get(name)
    if template is None or template.template_type != "FLEET_PROVISIONING":
        raise Rejected(404, "ResourceNotFound", f"The provisioning template {name} does not exist.")
    if not template.enabled:
        raise Rejected(400, "InvalidRequest", f"The provisioning template {name} is disabled.")
    return template


def _parameters(request: dict[str, Any]) -> dict[str, Any]:
    parameters = request.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise Rejected(400, "InvalidPayload", "parameters must be a map of names to values.")
    return dict(parameters)


def _run_hook(
    ctx: RequestContext,
    template: ProvisioningTemplate,
    record: Certificate,
    claim: Certificate | None,
    client_id: str,
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """The pre-provisioning hook decides; its parameterOverrides replace parameters."""
    hook_config = template.pre_provisioning_hook
    if not hook_config:
        return parameters
    target = str(hook_config.get("targetArn", ""))
    hook = ctx.backend.store(DeviceProvisioningStore).hooks.get(target)
    if hook is None:
        raise Rejected(
            500,
            "InternalFailure",
            f"No pre-provisioning hook is registered for {target}: register a callable "
            "standing in for the Lambda function with "
            "m.devices.register_pre_provisioning_hook(function_arn, hook).",
        )
    answer = hook(
        {
            "claimCertificateId": claim.certificate_id if claim is not None else None,
            "certificateId": record.certificate_id,
            "certificatePem": record.pem,
            "templateArn": template.arn,
            "clientId": client_id,
            "parameters": dict(parameters),
        }
    )
    if not answer.get("allowProvisioning"):
        raise Rejected(403, "AccessDenied", "The pre-provisioning hook did not allow provisioning.")
    overrides = answer.get("parameterOverrides") or {}
    return {**parameters, **overrides}


def _register_thing(
    ctx: RequestContext,
    request: dict[str, Any],
    template_name: str,
    client_id: str,
    claim: Certificate | None,
) -> dict[str, Any]:
    template = _template(ctx, template_name)
    token, record = _owned_certificate(ctx, request.get("certificateOwnershipToken"))
    parameters = _run_hook(ctx, template, record, claim, client_id, _parameters(request))
    parameters["AWS::IoT::Certificate::Id"] = record.certificate_id
    try:
        result = provision(ctx, parse_template(template.body), parameters, REGISTER_THING_FAILURES)
    except ServiceError as error:
        raise Rejected(400, error.code, error.message) from None
    ctx.backend.store(DeviceProvisioningStore).tokens.pop(token, None)
    answer: dict[str, Any] = {"deviceConfiguration": _device_configuration(template.body)}
    thing_arn = result.arns.get("thing")
    if thing_arn is not None:
        answer["thingName"] = thing_arn.rpartition("/")[2]
    return answer


def _device_configuration(body: str) -> dict[str, Any]:
    configuration = json.loads(body).get("DeviceConfiguration") or {}
    return dict(configuration) if isinstance(configuration, dict) else {}
