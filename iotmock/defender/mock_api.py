"""`m.defender`: device metrics and held Detect mitigation actions tasks."""

from __future__ import annotations

from typing import Any

from iotmock.core.mock_api import FamilyApi
from iotmock.defender import detect_mitigation
from iotmock.defender.violations import report_metric


class DefenderApi(FamilyApi):
    """What devices and time do for Device Defender Detect."""

    def report_metric(
        self,
        thing_name: str,
        metric: str,
        value: Any,
        *,
        topic: str | None = None,
        timestamp: float | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Report one datapoint of a Device Defender metric for a thing, as its device
        agent (device-side and custom metrics) or AWS IoT (cloud-side metrics) would.

        `metric` is an AWS metric (`"aws:num-messages-sent"`) or a custom metric's name.
        `value` is a number for count and `number` metrics, a list of IP addresses for
        `ip-address-list` metrics, of ports for `aws:listening-*-ports`, of strings or
        numbers for `string-list` / `number-list` metrics. `topic` is the MQTT topic the
        datapoint concerns, for behaviors scoped by a TOPIC_FILTER dimension.
        `timestamp` (epoch seconds) defaults to now.

        The datapoint is retained for ListMetricValues when a security profile applying to
        the thing uses the metric, and evaluated against those profiles' static behaviors:
        violations open and clear after the behaviors' consecutive datapoints. Returns
        the MetricValue recorded. Raises ValueError for an unknown metric or a value of
        the wrong kind."""
        with self._mock.lock:
            return report_metric(
                self._act(account_id, region),
                thing_name,
                metric,
                value,
                topic=topic,
                timestamp=timestamp,
            )

    def hold_mitigation_tasks(
        self, hold: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new Detect mitigation actions tasks stay IN_PROGRESS (so they can
        be canceled) until `run_mitigation_tasks()`."""
        with self._mock.lock:
            detect_mitigation.hold(self._setup(account_id, region), hold)

    def run_mitigation_tasks(
        self, *, account_id: str | None = None, region: str | None = None
    ) -> list[str]:
        """Run every IN_PROGRESS Detect mitigation actions task to completion; returns
        their task ids. Warns (IotMockWarning) when nothing happened in that account and
        region while others hold state."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.defender.run_mitigation_tasks()")
            return detect_mitigation.run_held(
                self._context("StartDetectMitigationActionsTask", backend)
            )
