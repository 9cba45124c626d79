"""The Device Defender audit checks, run against the mock's actual state.

Each check returns how many resources it examined and the non-compliant ones. Checks that
need data the mock cannot have (IAM policies of Cognito and role-alias roles) examine
nothing and complete COMPLIANT: see `UNOBSERVABLE_CHECKS` and docs/audit.md.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from ... import _clock, crypto
from ..._events import subscribe
from ..._registry import RequestContext
from ...authorization import Statement, parse_policy
from ...messages import Message
from ...state import Backend, Certificate, Policy
from .audit_state import AuditStore
from .identity_state import CACertificate, CAStore
from .logging_options import logging_enabled

DAY = 24 * 3600

# Resource sizes below these are weak (DG:audit-chk-device-cert-key-quality).
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256

# Device certificate statuses the certificate checks examine (DG:device-defender-audit-checks).
EXAMINED_STATUSES = frozenset({"ACTIVE", "PENDING_TRANSFER"})

# The IoT data-plane actions an overly permissive policy grants on every resource.
DATA_PLANE_ACTIONS = ("iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive")


@dataclass(slots=True)
class Draft:
    """A finding before it has an id: the resource, why it is non-compliant, and the
    resources related to it."""

    resource_type: str
    identifier: dict[str, Any]
    reason_code: str
    reason: str
    related: list[dict[str, Any]] = field(default_factory=list)
    additional_info: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class CheckOutcome:
    total: int
    drafts: list[Draft]


CheckRunner = Callable[[Backend, dict[str, str]], CheckOutcome]


@dataclass(frozen=True, slots=True)
class AuditCheck:
    name: str
    severity: str
    run: CheckRunner


CHECKS: dict[str, AuditCheck] = {}


def audit_check(name: str, severity: str) -> Callable[[CheckRunner], CheckRunner]:
    def register(run: CheckRunner) -> CheckRunner:
        CHECKS[name] = AuditCheck(name, severity, run)
        return run

    return register


# --------------------------------------------------------------------------- resources


def device_certificate(record: Certificate) -> dict[str, Any]:
    return {"deviceCertificateId": record.certificate_id, "deviceCertificateArn": record.arn}


def related(resource_type: str, identifier: dict[str, Any], **info: str) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "resourceIdentifier": identifier,
        "additionalInfo": info or None,
    }


def _device_certificates(backend: Backend) -> Iterator[Certificate]:
    return (c for c in backend.certificates.values() if c.status in EXAMINED_STATUSES)


def _active_cas(backend: Backend) -> Iterator[CACertificate]:
    return (ca for ca in backend.store(CAStore).cas.values() if ca.status == "ACTIVE")


def _threshold_days(settings: dict[str, str], name: str, default: int) -> int:
    value = settings.get(name)
    return int(value) if value and value.isdigit() else default


# --------------------------------------------------------------------------- expiry


def _expiry(not_after: float, threshold_days: int) -> tuple[str, str] | None:
    now = _clock.now()
    if not_after <= now:
        return "CERTIFICATE_EXPIRED", "Certificate is expired"
    if not_after <= now + threshold_days * DAY:
        return "CERTIFICATE_EXPIRING", f"Certificate is expiring within {threshold_days} days"
    return None


@audit_check("DEVICE_CERTIFICATE_EXPIRING_CHECK", "MEDIUM")
def _device_certificate_expiring(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    days = _threshold_days(settings, "CERT_EXPIRATION_THRESHOLD_IN_DAYS", 30)
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        expiry = _expiry(record.not_after, days)
        if expiry is not None:
            drafts.append(Draft("DEVICE_CERTIFICATE", device_certificate(record), *expiry))
    return CheckOutcome(total, drafts)


@audit_check("CA_CERTIFICATE_EXPIRING_CHECK", "MEDIUM")
def _ca_certificate_expiring(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    total, drafts = 0, []
    for ca in _active_cas(backend):
        total += 1
        expiry = _expiry(ca.not_after, 30)
        if expiry is not None:
            drafts.append(Draft("CA_CERTIFICATE", {"caCertificateId": ca.certificate_id}, *expiry))
    return CheckOutcome(total, drafts)


@audit_check("DEVICE_CERTIFICATE_AGE_CHECK", "LOW")
def _device_certificate_age(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    days = _threshold_days(settings, "CERT_AGE_THRESHOLD_IN_DAYS", 365)
    oldest = _clock.now() - days * DAY
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        if record.created_at < oldest:
            drafts.append(
                Draft(
                    "DEVICE_CERTIFICATE",
                    device_certificate(record),
                    "CERTIFICATE_PAST_AGE_THRESHOLD",
                    f"Certificate is older than {days} days",
                )
            )
    return CheckOutcome(total, drafts)


# --------------------------------------------------------------------------- key quality


@functools.lru_cache(maxsize=4096)
def weak_key(pem: str) -> str | None:
    """Why the certificate's public key is weak, or None when it is strong enough."""
    key = crypto.load_certificate(pem).public_key()
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)) and key.key_size < MIN_RSA_BITS:
        return f"The {key.key_size}-bit key is shorter than {MIN_RSA_BITS} bits"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return f"The {key.curve.name} key is shorter than {MIN_EC_BITS} bits"
    return None


@audit_check("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL")
def _device_key_quality(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        weakness = weak_key(record.pem)
        if weakness:
            drafts.append(
                Draft(
                    "DEVICE_CERTIFICATE",
                    device_certificate(record),
                    "CERTIFICATE_KEY_WEAK",
                    weakness,
                )
            )
    return CheckOutcome(total, drafts)


@audit_check("CA_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL")
def _ca_key_quality(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    total, drafts = 0, []
    for ca in _active_cas(backend):
        total += 1
        weakness = weak_key(ca.pem)
        if weakness:
            drafts.append(
                Draft(
                    "CA_CERTIFICATE",
                    {"caCertificateId": ca.certificate_id},
                    "CERTIFICATE_KEY_WEAK",
                    weakness,
                )
            )
    return CheckOutcome(total, drafts)


# --------------------------------------------------------------------------- revocation


@audit_check("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM")
def _revoked_device_certificate(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        if record.certificate_id in revoked:
            drafts.append(
                Draft(
                    "DEVICE_CERTIFICATE",
                    device_certificate(record),
                    "CERTIFICATE_REVOKED_BY_ISSUER",
                    "Certificate was revoked by its issuer but is still active",
                )
            )
    return CheckOutcome(total, drafts)


@audit_check("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM")
def _revoked_ca_certificate(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer
    total, drafts = 0, []
    for ca in _active_cas(backend):
        total += 1
        if ca.certificate_id in revoked:
            drafts.append(
                Draft(
                    "CA_CERTIFICATE",
                    {"caCertificateId": ca.certificate_id},
                    "CERTIFICATE_REVOKED_BY_ISSUER",
                    "CA certificate was revoked by its issuer but is still active",
                )
            )
    return CheckOutcome(total, drafts)


@audit_check("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", "CRITICAL")
def _intermediate_ca_revoked(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        ca_id = record.ca_certificate_id
        if ca_id and ca_id in revoked:
            drafts.append(
                Draft(
                    "DEVICE_CERTIFICATE",
                    device_certificate(record),
                    "INTERMEDIATE_CA_REVOKED_BY_ISSUER",
                    "The CA certificate that issued this active certificate was revoked",
                    related=[related("CA_CERTIFICATE", {"caCertificateId": ca_id})],
                )
            )
    return CheckOutcome(total, drafts)


# --------------------------------------------------------------------------- connections


@subscribe("message_published")
def _observe_connection(ctx: RequestContext, message: Message) -> None:
    """Remember which client ids connected with which principals: the lifecycle events
    of IotMock.connect_client are the mock's record of MQTT connections."""
    if message.source != "lifecycle" or not message.topic.startswith(
        "$aws/events/presence/connected/"
    ):
        return
    event = json.loads(message.payload)
    client_id, principal = event["clientId"], event["principalIdentifier"]
    store = ctx.backend.store(AuditStore)
    store.client_principals.setdefault(client_id, set()).add(principal)
    store.principal_clients.setdefault(principal, set()).add(client_id)


def _certificate_of_principal(backend: Backend, principal: str) -> Certificate | None:
    """The device certificate a connection principal names (its id or its ARN)."""
    return backend.certificates.get(principal.rpartition("/")[2])


@audit_check("DEVICE_CERTIFICATE_SHARED_CHECK", "CRITICAL")
def _device_certificate_shared(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    store = backend.store(AuditStore)
    total, drafts = 0, []
    for record in _device_certificates(backend):
        total += 1
        clients = store.principal_clients.get(record.certificate_id, set()) | (
            store.principal_clients.get(record.arn, set())
        )
        if len(clients) > 1:
            drafts.append(
                Draft(
                    "DEVICE_CERTIFICATE",
                    device_certificate(record),
                    "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES",
                    f"Certificate is used by {len(clients)} different client ids",
                    related=[related("CLIENT_ID", {"clientId": c}) for c in sorted(clients)],
                )
            )
    return CheckOutcome(total, drafts)


@audit_check("CONFLICTING_CLIENT_IDS_CHECK", "HIGH")
def _conflicting_client_ids(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    store = backend.store(AuditStore)
    drafts = []
    for client_id, principals in sorted(store.client_principals.items()):
        if len(principals) < 2:
            continue
        related_resources = []
        for principal in sorted(principals):
            record = _certificate_of_principal(backend, principal)
            if record is not None:
                related_resources.append(related("DEVICE_CERTIFICATE", device_certificate(record)))
        drafts.append(
            Draft(
                "CLIENT_ID",
                {"clientId": client_id},
                "DUPLICATE_CLIENT_ID_ACROSS_CONNECTIONS",
                f"Client id is used by {len(principals)} different principals",
                related=related_resources,
            )
        )
    return CheckOutcome(len(store.client_principals), drafts)


# --------------------------------------------------------------------------- policies


def _broad(resource: str) -> bool:
    """A resource pattern that covers every resource of its kind."""
    return resource == "*" or resource.endswith((":*", "/*", "/#"))


def _grants(statement: Statement, action: str) -> bool:
    if not statement.allow or statement.not_action:
        return False
    return any(
        granted == "*"
        or granted == action
        or (granted.endswith("*") and action.startswith(granted[:-1]))
        for granted in statement.actions
    )


def _overly_permissive(statement: Statement) -> tuple[str, str] | None:
    if statement.not_resource or not any(_broad(r) for r in statement.resources):
        return None
    if all(_grants(statement, action) for action in DATA_PLANE_ACTIONS):
        return (
            "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",
            "Policy allows broad access to IoT data plane actions: "
            + ", ".join(DATA_PLANE_ACTIONS),
        )
    if _grants(statement, "iot:Connect") and "*" in statement.resources:
        return "ALLOWS_CLIENT_ID_SPOOFING", "Policy allows connecting with any client id"
    if _grants(statement, "iot:Subscribe"):
        return "ALLOWS_UNBOUNDED_SUBSCRIPTION", "Policy allows subscribing to every topic filter"
    return None


def _policy_identifier(policy: Policy) -> dict[str, Any]:
    return {
        "policyVersionIdentifier": {
            "policyName": policy.name,
            "policyVersionId": policy.default_version_id,
        }
    }


def _policy_related(backend: Backend, policy: Policy) -> list[dict[str, Any]]:
    """The device certificates the policy is attached to."""
    found = []
    for target in backend.policy_targets.get(policy.name, {}):
        record = backend.certificates.get(target.rpartition("/")[2])
        if record is not None and record.arn == target:
            found.append(related("DEVICE_CERTIFICATE", device_certificate(record)))
    return found


@audit_check("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "CRITICAL")
def _policy_overly_permissive(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    drafts = []
    for policy in backend.policies.values():
        statements = parse_policy(policy.default_version.document).statements
        reason = next(filter(None, map(_overly_permissive, statements)), None)
        if reason is not None:
            drafts.append(
                Draft(
                    "IOT_POLICY",
                    _policy_identifier(policy),
                    *reason,
                    related=_policy_related(backend, policy),
                )
            )
    return CheckOutcome(len(backend.policies), drafts)


def _wildcard_in_deny(statement: Statement) -> bool:
    if statement.allow:
        return False
    return any(
        "+" in part or "#" in part
        for resource in statement.resources
        for part in resource.split("/")[1:]
    )


@audit_check("IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK", "MEDIUM")
def _policy_misconfiguration(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    drafts = []
    for policy in backend.policies.values():
        statements = parse_policy(policy.default_version.document).statements
        if any(map(_wildcard_in_deny, statements)):
            drafts.append(
                Draft(
                    "IOT_POLICY",
                    _policy_identifier(policy),
                    "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
                    "Policy denies topics with MQTT wildcards, which policies match literally",
                    related=_policy_related(backend, policy),
                )
            )
    return CheckOutcome(len(backend.policies), drafts)


# --------------------------------------------------------------------------- account


@audit_check("LOGGING_DISABLED_CHECK", "LOW")
def _logging_disabled(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    if logging_enabled(backend):
        return CheckOutcome(1, [])
    draft = Draft(
        "ACCOUNT_SETTINGS",
        {"account": backend.account_id},
        "LOGGING_DISABLED",
        "AWS IoT logging is disabled for this account",
    )
    return CheckOutcome(1, [draft])


# Checks that need data the mock cannot have (the IAM policies behind Cognito identity
# pools and role aliases): they examine nothing and complete COMPLIANT.
UNOBSERVABLE_CHECKS = {
    "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": "CRITICAL",
    "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": "CRITICAL",
    "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK": "CRITICAL",
    "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK": "MEDIUM",
}


def _nothing_to_examine(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    return CheckOutcome(0, [])


for _name, _severity in UNOBSERVABLE_CHECKS.items():
    audit_check(_name, _severity)(_nothing_to_examine)

CHECK_NAMES = tuple(sorted(CHECKS))
