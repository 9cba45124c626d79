"""`m.commands`: what devices answer to commands (the MQTT UpdateCommandExecution API)."""

from __future__ import annotations

from typing import Any

from iotmock.core.mock_api import FamilyApi
from iotmock.device_management.commands import report_execution


class CommandsApi(FamilyApi):
    """A device's side of command executions."""

    def update_execution(
        self,
        execution_id: str,
        target_arn: str,
        status: str,
        *,
        status_reason: dict[str, str] | None = None,
        result: dict[str, Any] | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Report a command execution's status as its device would (the MQTT
        UpdateCommandExecution API): `status` IN_PROGRESS, SUCCEEDED, FAILED, REJECTED or
        TIMED_OUT, optional `status_reason` `{"reasonCode", "reasonDescription"}` and
        `result` `{name: {"S" | "B" | "BIN": value}}`. Raises `ServiceError` as AWS
        rejects the update (ConflictException from a final status, ...)."""
        with self._mock.lock:
            report_execution(
                self._act(account_id, region),
                execution_id,
                target_arn,
                status,
                status_reason,
                result,
            )
