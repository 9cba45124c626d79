"""`m.registration`: bulk thing registration's input files, tasks and reports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from iotmock.core.mock_api import FamilyApi
from iotmock.registry import registration_tasks


class RegistrationApi(FamilyApi):
    """What S3 and time do for StartThingRegistrationTask (S3 is not served)."""

    def put_input(
        self,
        bucket: str,
        key: str,
        records: Iterable[Mapping[str, Any] | str],
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        """Provide the bulk-registration input file `s3://bucket/key`: one dict of
        template parameter values (or one raw JSON line) per thing. A
        StartThingRegistrationTask naming this bucket and key provisions from it."""
        with self._mock.lock:
            registration_tasks.put_input(self._setup(account_id, region), bucket, key, records)

    def hold(
        self, hold: bool = True, *, account_id: str | None = None, region: str | None = None
    ) -> None:
        """While held, new thing registration tasks stay InProgress (so they can be
        stopped) until `run()`."""
        with self._mock.lock:
            store = self._setup(account_id, region).store(registration_tasks.RegistrationStore)
            store.hold = hold

    def run(self, *, account_id: str | None = None, region: str | None = None) -> list[str]:
        """Run every InProgress thing registration task to completion; returns their ids.
        Warns (IotMockWarning) when nothing happened in that account and region while
        others hold state."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.registration.run()")
            return registration_tasks.run_held(self._context("StartThingRegistrationTask", backend))

    def report(
        self,
        task_id: str,
        report_type: str = "RESULTS",
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[dict[str, Any]]:
        """The lines (parsed JSON) of a task's RESULTS or ERRORS report file."""
        with self._mock.lock:
            backend = self._read(account_id, region, "m.registration.report()")
            return registration_tasks.report(backend, task_id, report_type)
