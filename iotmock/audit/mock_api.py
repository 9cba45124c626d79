"""`m.audit`: scheduled audits, held audit tasks, revocation at the issuer and the SNS
notifications audits sent."""

from __future__ import annotations

from typing import Any

from iotmock.audit import mitigation, tasks
from iotmock.audit.records import AuditStore
from iotmock.core.mock_api import FamilyApi


class AuditApi(FamilyApi):
    """What time, certificate issuers and SNS do for Device Defender Audit."""

    def run_scheduled(
        self, name: str, *, account_id: str | None = None, region: str | None = None
    ) -> str:
        """Run the scheduled audit `name` now (the mock never runs them on a timer) as a
        SCHEDULED_AUDIT_TASK; returns its task id."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.audit.run_scheduled()")
            return tasks.run_scheduled_audit(self._context("Audit", backend), name).task_id

    def hold_tasks(
        self, hold: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new audit tasks and audit mitigation actions tasks stay IN_PROGRESS
        (so tests can cancel them) until `run_tasks()`."""
        with self._mock.lock:
            self._setup(account_id, region).store(AuditStore).hold = hold

    def run_tasks(self, *, account_id: str | None = None, region: str | None = None) -> list[str]:
        """Complete every IN_PROGRESS audit task, then every held audit mitigation actions
        task; returns their ids. Warns (IotMockWarning) when nothing happened in that
        account and region while others hold state."""
        with self._mock.lock:
            ctx = self._context("Audit", self._read(account_id, region, "m.audit.run_tasks()"))
            return tasks.run_held_tasks(ctx.backend) + mitigation.run_held_mitigation_tasks(ctx)

    def revoke_at_issuer(
        self, certificate_id: str, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """Record that the issuer of a device or CA certificate revoked it (as a CRL would
        say): the REVOKED_*_STILL_ACTIVE and INTERMEDIATE_CA_REVOKED audit checks see it."""
        with self._mock.lock:
            store = self._setup(account_id, region).store(AuditStore)
            store.revoked_at_issuer.add(certificate_id)

    def notifications(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        """The SNS notifications Device Defender Audit sent, oldest first: audit
        completions (to the account's SNS notification target) and findings published by
        PUBLISH_FINDING_TO_SNS actions; each `{"targetArn", "roleArn", "message"}`."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.audit.notifications()")
            return list(backend.store(AuditStore).notifications)
