"""Device Defender Audit settings: DescribeAccountAuditConfiguration,
UpdateAccountAuditConfiguration, DeleteAccountAuditConfiguration, and the scheduled
audits (Create/Describe/Update/Delete/ListScheduledAudits).

Scheduled audits are stored but never run on a timer: `IotMock.audit.run_scheduled`
runs one now (docs/audit.md).
"""

from __future__ import annotations

from typing import Any

from iotmock.audit.checks import CHECK_NAMES, CHECKS
from iotmock.audit.records import DEFAULT_PAGE_SIZE, AuditConfiguration, AuditStore, ScheduledAudit
from iotmock.core import crud
from iotmock.core.backend import Backend
from iotmock.core.errors import invalid_request, not_found
from iotmock.core.operations import Params, RequestContext, operation
from iotmock.identity.role_aliases import check_role_arn

# Device Defender quota: scheduled audits per account and region.
MAX_SCHEDULED_AUDITS = 5
WEEKLY_FREQUENCIES = frozenset({"WEEKLY", "BIWEEKLY"})
# The settings a check accepts in its `configuration` map (ConfigName).
CHECK_SETTINGS = {
    "DEVICE_CERTIFICATE_AGE_CHECK": "CERT_AGE_THRESHOLD_IN_DAYS",
    "DEVICE_CERTIFICATE_EXPIRING_CHECK": "CERT_EXPIRATION_THRESHOLD_IN_DAYS",
}


def audit_store(backend: Backend) -> AuditStore:
    return backend.store(AuditStore)


def check_known(check_names: list[str] | dict[str, Any]) -> None:
    unknown = sorted(set(check_names) - set(CHECKS))
    if unknown:
        raise invalid_request(
            f"Unknown audit check name(s): {', '.join(unknown)}. "
            "DescribeAccountAuditConfiguration lists the audit checks."
        )


def check_enabled(backend: Backend, check_names: list[str]) -> None:
    """The checks must be known and enabled in the account audit configuration."""
    check_known(check_names)
    configuration = audit_store(backend).configuration
    enabled = configuration.enabled if configuration else {}
    disabled = [name for name in check_names if not enabled.get(name)]
    if disabled:
        raise invalid_request(
            f"The audit check(s) {', '.join(disabled)} are not enabled for this account. "
            "Enable them with UpdateAccountAuditConfiguration."
        )


# --------------------------------------------------------------------------- configuration


@operation("iot", "DescribeAccountAuditConfiguration")
def describe_account_audit_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    configuration = audit_store(ctx.backend).configuration or AuditConfiguration(role_arn="")
    checks: dict[str, Any] = {}
    for name in CHECK_NAMES:
        entry: dict[str, Any] = {"enabled": configuration.enabled.get(name, False)}
        if configuration.settings.get(name):
            entry["configuration"] = dict(configuration.settings[name])
        checks[name] = entry
    return {
        "roleArn": configuration.role_arn or None,
        "auditNotificationTargetConfigurations": {
            kind: dict(target) for kind, target in configuration.targets.items()
        }
        or None,
        "auditCheckConfigurations": checks,
    }


def _check_settings(name: str, settings: dict[str, str]) -> None:
    allowed = CHECK_SETTINGS.get(name)
    for key, value in settings.items():
        if key != allowed:
            raise invalid_request(f"The audit check {name} has no configuration {key}.")
        if not value.isdigit() or int(value) < 1:
            raise invalid_request(f"{key} of {name} must be a positive number of days: {value}")


def _apply_checks(configuration: AuditConfiguration, checks: dict[str, Any]) -> None:
    check_known(checks)
    for name, entry in checks.items():
        settings = entry.get("configuration")
        if settings:
            _check_settings(name, settings)
            configuration.settings[name] = dict(settings)
        if "enabled" in entry:
            configuration.enabled[name] = bool(entry["enabled"])


def _apply_targets(configuration: AuditConfiguration, targets: dict[str, Any]) -> None:
    for kind, target in targets.items():
        if target.get("roleArn"):
            check_role_arn(target["roleArn"], "auditNotificationTargetConfigurations.roleArn")
        if target.get("enabled") and not (target.get("targetArn") and target.get("roleArn")):
            raise invalid_request(
                f"An enabled {kind} notification target needs a targetArn and a roleArn."
            )
        configuration.targets[kind] = {**configuration.targets.get(kind, {}), **target}


@operation("iot", "UpdateAccountAuditConfiguration")
def update_account_audit_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = audit_store(ctx.backend)
    role_arn = params.get("roleArn")
    if role_arn:
        check_role_arn(role_arn)
    if store.configuration is None and not role_arn:
        raise invalid_request(
            "roleArn is required the first time UpdateAccountAuditConfiguration is called."
        )
    # Validate everything on a copy so a refused update changes nothing.
    current = store.configuration or AuditConfiguration(role_arn=role_arn or "")
    updated = AuditConfiguration(
        role_arn=role_arn or current.role_arn,
        targets={kind: dict(target) for kind, target in current.targets.items()},
        enabled=dict(current.enabled),
        settings={name: dict(s) for name, s in current.settings.items()},
    )
    _apply_targets(updated, params.get("auditNotificationTargetConfigurations") or {})
    _apply_checks(updated, params.get("auditCheckConfigurations") or {})
    store.configuration = updated
    return {}


@operation("iot", "DeleteAccountAuditConfiguration")
def delete_account_audit_configuration(ctx: RequestContext, params: Params) -> dict[str, Any]:
    store = audit_store(ctx.backend)
    if store.configuration is None:
        raise not_found("The account audit configuration does not exist.")
    if len(store.scheduled) and not params.get("deleteScheduledAudits"):
        raise invalid_request(
            f"The account has {len(store.scheduled)} scheduled audit(s). Delete them first "
            "or pass deleteScheduledAudits=true."
        )
    for audit in list(store.scheduled.values()):
        crud.delete(SCHEDULED_AUDITS, ctx.backend, audit.name)
    store.configuration = None
    return {}


# --------------------------------------------------------------------------- scheduled audits


SCHEDULED_AUDITS: crud.ResourceKind[ScheduledAudit] = crud.ResourceKind(
    label="The scheduled audit",
    arn_type="scheduledaudit",
    index=lambda backend: audit_store(backend).scheduled,
    describe=lambda audit: {**audit.summary(), "targetCheckNames": list(audit.check_names)},
    summary=lambda audit: audit.summary(),
    list_member="scheduledAudits",
    page_size=DEFAULT_PAGE_SIZE,
    quota=MAX_SCHEDULED_AUDITS,
    quota_message="An account can have at most {quota} scheduled audits.",
)
get_scheduled_audit = SCHEDULED_AUDITS.get


def _check_schedule(frequency: str, day_of_month: str | None, day_of_week: str | None) -> None:
    """MONTHLY takes a dayOfMonth, WEEKLY and BIWEEKLY a dayOfWeek, DAILY neither."""
    if frequency == "MONTHLY" and not day_of_month:
        raise invalid_request("dayOfMonth is required when frequency is MONTHLY.")
    if frequency in WEEKLY_FREQUENCIES and not day_of_week:
        raise invalid_request(f"dayOfWeek is required when frequency is {frequency}.")
    if day_of_month and frequency != "MONTHLY":
        raise invalid_request(f"dayOfMonth cannot be set when frequency is {frequency}.")
    if day_of_week and frequency not in WEEKLY_FREQUENCIES:
        raise invalid_request(f"dayOfWeek cannot be set when frequency is {frequency}.")


@operation("iot", "CreateScheduledAudit")
def create_scheduled_audit(ctx: RequestContext, params: Params) -> dict[str, Any]:
    def build(arn: str, now: float) -> ScheduledAudit:
        _check_schedule(params["frequency"], params.get("dayOfMonth"), params.get("dayOfWeek"))
        check_enabled(ctx.backend, params["targetCheckNames"])
        return ScheduledAudit(
            name=params["scheduledAuditName"],
            arn=arn,
            frequency=params["frequency"],
            day_of_month=params.get("dayOfMonth"),
            day_of_week=params.get("dayOfWeek"),
            check_names=list(dict.fromkeys(params["targetCheckNames"])),
        )

    name = params["scheduledAuditName"]
    audit = crud.create(SCHEDULED_AUDITS, ctx.backend, name, build, params.get("tags"))
    return {"scheduledAuditArn": audit.arn}


@operation("iot", "DescribeScheduledAudit")
def describe_scheduled_audit(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.describe(SCHEDULED_AUDITS, ctx.backend, params["scheduledAuditName"])


@operation("iot", "UpdateScheduledAudit")
def update_scheduled_audit(ctx: RequestContext, params: Params) -> dict[str, Any]:
    audit = get_scheduled_audit(ctx.backend, params["scheduledAuditName"])
    frequency = params.get("frequency") or audit.frequency
    # A day that no longer fits the new frequency is dropped unless given again.
    day_of_month = params.get("dayOfMonth") or (
        audit.day_of_month if frequency == "MONTHLY" else None
    )
    day_of_week = params.get("dayOfWeek") or (
        audit.day_of_week if frequency in WEEKLY_FREQUENCIES else None
    )
    _check_schedule(frequency, day_of_month, day_of_week)
    check_names = params.get("targetCheckNames")
    if check_names is not None:
        check_enabled(ctx.backend, check_names)
        audit.check_names = list(dict.fromkeys(check_names))
    audit.frequency, audit.day_of_month, audit.day_of_week = frequency, day_of_month, day_of_week
    return {"scheduledAuditArn": audit.arn}


@operation("iot", "DeleteScheduledAudit")
def delete_scheduled_audit(ctx: RequestContext, params: Params) -> dict[str, Any]:
    crud.delete(SCHEDULED_AUDITS, ctx.backend, params["scheduledAuditName"])
    return {}


@operation("iot", "ListScheduledAudits")
def list_scheduled_audits(ctx: RequestContext, params: Params) -> dict[str, Any]:
    return crud.list_page(SCHEDULED_AUDITS, ctx, params)
