"""The Device Defender audit checks, run against the mock's actual state.

Each check returns how many resources it examined and the non-compliant ones. Checks that
need data the mock cannot have (IAM policies of Cognito and role-alias roles) examine
nothing and complete COMPLIANT: see `UNOBSERVABLE_CHECKS` and docs/audit.md.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

from iotmock.audit.records import AuditStore, Session
from iotmock.core import clock
from iotmock.core.backend import Backend
from iotmock.core.events import subscribe
from iotmock.core.operations import RequestContext
from iotmock.identity import crypto
from iotmock.identity.authorization import Statement, parse_policy
from iotmock.identity.records import CACertificate, Certificate, Policy, cas_of, identity_of
from iotmock.logging.options import logging_enabled
from iotmock.messaging.log import Message

DAY = 24 * 3600

_T = TypeVar("_T")

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
    return (c for c in identity_of(backend).certificates.values() if c.status in EXAMINED_STATUSES)


def _active_cas(backend: Backend) -> Iterator[CACertificate]:
    return (ca for ca in cas_of(backend).cas.values() if ca.status == "ACTIVE")


def _threshold_days(settings: dict[str, str], name: str, default: int) -> int:
    value = settings.get(name)
    return int(value) if value and value.isdigit() else default


def _examine(resources: Iterable[_T], fault: Callable[[_T], Draft | None]) -> CheckOutcome:
    """Examine every resource: the outcome counts them all and keeps the drafts `fault`
    finds (None for a compliant resource)."""
    total, drafts = 0, []
    for resource in resources:
        total += 1
        draft = fault(resource)
        if draft is not None:
            drafts.append(draft)
    return CheckOutcome(total, drafts)


def _device_draft(
    record: Certificate,
    reason_code: str,
    reason: str,
    related: list[dict[str, Any]] | None = None,
) -> Draft:
    """A finding on a device certificate."""
    identifier = device_certificate(record)
    return Draft("DEVICE_CERTIFICATE", identifier, reason_code, reason, related or [])


def _ca_draft(ca: CACertificate, reason_code: str, reason: str) -> Draft:
    """A finding on a CA certificate."""
    return Draft("CA_CERTIFICATE", {"caCertificateId": ca.certificate_id}, reason_code, reason)


# --------------------------------------------------------------------------- expiry


def _expiry(not_after: float, threshold_days: int) -> tuple[str, str] | None:
    # The reason codes of the Device Defender pages "Device certificate expiring" and
    # "CA certificate expiring".
    now = clock.now()
    if not_after <= now:
        return "CERTIFICATE_PAST_EXPIRATION", "Certificate is expired"
    if not_after <= now + threshold_days * DAY:
        return (
            "CERTIFICATE_APPROACHING_EXPIRATION",
            f"Certificate is expiring within {threshold_days} days",
        )
    return None


@audit_check("DEVICE_CERTIFICATE_EXPIRING_CHECK", "MEDIUM")
def _device_certificate_expiring(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    days = _threshold_days(settings, "CERT_EXPIRATION_THRESHOLD_IN_DAYS", 30)

    def fault(record: Certificate) -> Draft | None:
        expiry = _expiry(record.not_after, days)
        return None if expiry is None else _device_draft(record, *expiry)

    return _examine(_device_certificates(backend), fault)


@audit_check("CA_CERTIFICATE_EXPIRING_CHECK", "MEDIUM")
def _ca_certificate_expiring(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    def fault(ca: CACertificate) -> Draft | None:
        expiry = _expiry(ca.not_after, 30)
        return None if expiry is None else _ca_draft(ca, *expiry)

    return _examine(_active_cas(backend), fault)


@audit_check("DEVICE_CERTIFICATE_AGE_CHECK", "LOW")
def _device_certificate_age(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    days = _threshold_days(settings, "CERT_AGE_THRESHOLD_IN_DAYS", 365)
    oldest = clock.now() - days * DAY
    reason = ("CERTIFICATE_PAST_AGE_THRESHOLD", f"Certificate is older than {days} days")
    return _examine(
        _device_certificates(backend),
        lambda record: _device_draft(record, *reason) if record.created_at < oldest else None,
    )


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
    def fault(record: Certificate) -> Draft | None:
        weakness = weak_key(record.pem)
        return _device_draft(record, "CERTIFICATE_KEY_WEAK", weakness) if weakness else None

    return _examine(_device_certificates(backend), fault)


@audit_check("CA_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL")
def _ca_key_quality(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    def fault(ca: CACertificate) -> Draft | None:
        weakness = weak_key(ca.pem)
        return _ca_draft(ca, "CERTIFICATE_KEY_WEAK", weakness) if weakness else None

    return _examine(_active_cas(backend), fault)


# --------------------------------------------------------------------------- revocation

_REVOKED = "CERTIFICATE_REVOKED_BY_ISSUER"


@audit_check("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM")
def _revoked_device_certificate(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer
    reason = (_REVOKED, "Certificate was revoked by its issuer but is still active")
    return _examine(
        _device_certificates(backend),
        lambda record: _device_draft(record, *reason) if record.certificate_id in revoked else None,
    )


@audit_check("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM")
def _revoked_ca_certificate(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer
    reason = (_REVOKED, "CA certificate was revoked by its issuer but is still active")
    return _examine(
        _active_cas(backend),
        lambda ca: _ca_draft(ca, *reason) if ca.certificate_id in revoked else None,
    )


@audit_check("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", "CRITICAL")
def _intermediate_ca_revoked(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    revoked = backend.store(AuditStore).revoked_at_issuer

    def fault(record: Certificate) -> Draft | None:
        ca_id = record.ca_certificate_id
        if not ca_id or ca_id not in revoked:
            return None
        return _device_draft(
            record,
            "INTERMEDIATE_CA_REVOKED_BY_ISSUER",
            "The CA certificate that issued this active certificate was revoked",
            related=[related("CA_CERTIFICATE", {"caCertificateId": ca_id})],
        )

    return _examine(_device_certificates(backend), fault)


# --------------------------------------------------------------------------- connections


@subscribe("message_published", topic_prefix="$aws/events/presence/")
def _observe_connection(ctx: RequestContext, message: Message) -> None:
    """Remember which client ids connected with which principals, and when each
    connection opened and closed: the lifecycle events of m.devices.connect sessions (and of
    disconnections) are the mock's record of MQTT connections."""
    if message.source != "lifecycle" or not message.topic.startswith("$aws/events/presence/"):
        return
    event = json.loads(message.payload)
    client_id, principal = event["clientId"], event["principalIdentifier"]
    store = ctx.backend.store(AuditStore)
    sessions = store.principal_sessions.setdefault(principal, {})
    session_id = event.get("sessionIdentifier") or client_id
    if event.get("eventType") == "connected":
        store.client_principals.setdefault(client_id, set()).add(principal)
        store.principal_clients.setdefault(principal, set()).add(client_id)
        sessions[session_id] = Session(client_id, int(event["timestamp"]))
    elif event.get("eventType") == "disconnected" and session_id in sessions:
        sessions[session_id].disconnected_ms = int(event["timestamp"])


def _session_resource(session: Session) -> dict[str, Any]:
    times = {"CONNECTION_TIME": str(session.connected_ms)}
    if session.disconnected_ms is not None:
        times["DISCONNECTION_TIME"] = str(session.disconnected_ms)
    return related("CLIENT_ID", {"clientId": session.client_id}, **times)


def _certificate_of_principal(backend: Backend, principal: str) -> Certificate | None:
    """The device certificate a connection principal names (its id or its ARN)."""
    return identity_of(backend).certificates.get(principal.rpartition("/")[2])


# AWS's wording (CLI example list-audit-findings), whatever the number of client ids.
SHARED_CERTIFICATE_REASON = "Certificate shared by one or more devices."


@audit_check("DEVICE_CERTIFICATE_SHARED_CHECK", "CRITICAL")
def _device_certificate_shared(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    store = backend.store(AuditStore)

    def fault(record: Certificate) -> Draft | None:
        clients = store.principal_clients.get(record.certificate_id, set()) | (
            store.principal_clients.get(record.arn, set())
        )
        if len(clients) < 2:
            return None
        sessions = sorted(
            [
                *store.principal_sessions.get(record.certificate_id, {}).values(),
                *store.principal_sessions.get(record.arn, {}).values(),
            ],
            key=lambda s: s.connected_ms,
        )
        # One related resource per connection, newest first, with its times (epoch ms, as
        # strings), as AWS's example output (CLI list-audit-findings) shows them.
        sessions.reverse()
        return _device_draft(
            record,
            "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES",
            SHARED_CERTIFICATE_REASON,
            related=[_session_resource(session) for session in sessions],
        )

    return _examine(_device_certificates(backend), fault)


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
            # AWS's wording (CLI example describe-audit-finding): the actions in
            # brackets, a full stop after them
            f"Policy allows broad access to IoT data plane actions: "
            f"[{', '.join(DATA_PLANE_ACTIONS)}].",
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
    for target in identity_of(backend).policy_targets.get(policy.name, {}):
        record = identity_of(backend).certificates.get(target.rpartition("/")[2])
        if record is not None and record.arn == target:
            found.append(related("DEVICE_CERTIFICATE", device_certificate(record)))
    return found


def _policy_draft(backend: Backend, policy: Policy, reason_code: str, reason: str) -> Draft:
    """A finding on the default version of a policy, related to its device certificates."""
    identifier = _policy_identifier(policy)
    return Draft("IOT_POLICY", identifier, reason_code, reason, _policy_related(backend, policy))


@audit_check("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "CRITICAL")
def _policy_overly_permissive(backend: Backend, settings: dict[str, str]) -> CheckOutcome:
    def fault(policy: Policy) -> Draft | None:
        statements = parse_policy(policy.default_version.document).statements
        reason = next(filter(None, map(_overly_permissive, statements)), None)
        return None if reason is None else _policy_draft(backend, policy, *reason)

    return _examine(identity_of(backend).policies.values(), fault)


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
    reason = (
        "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
        "Policy denies topics with MQTT wildcards, which policies match literally",
    )

    def fault(policy: Policy) -> Draft | None:
        statements = parse_policy(policy.default_version.document).statements
        return (
            _policy_draft(backend, policy, *reason)
            if any(map(_wildcard_in_deny, statements))
            else None
        )

    return _examine(identity_of(backend).policies.values(), fault)


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
