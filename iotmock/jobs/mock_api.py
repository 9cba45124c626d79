"""`m.jobs`: reading jobs and their executions in assertions (change them through the
AWS API or the device-side jobs API)."""

from __future__ import annotations

from iotmock.core.mock_api import FamilyApi
from iotmock.jobs import engine
from iotmock.jobs.engine import Job, JobExecution, JobsStore
from iotmock.views import JobExecutionView, JobView


class JobsApi(FamilyApi):
    """Read-only views of jobs and job executions (timers due by now applied)."""

    def get(
        self, job_id: str, *, account_id: str | None = None, region: str | None = None
    ) -> JobView | None:
        """The job `job_id`, or None."""
        with self._mock.lock:
            job = self._store(account_id, region, "m.jobs.get()").jobs.get(job_id)
            return _job_view(job) if job is not None else None

    def all(
        self,
        status: str | None = None,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[JobView]:
        """Every job (with `status` only, when given), by job id."""
        with self._mock.lock:
            store = self._store(account_id, region, "m.jobs.all()")
            return [
                _job_view(job)
                for job in store.jobs.values()
                if status is None or job.status == status
            ]

    def executions(
        self,
        job_id: str | None = None,
        *,
        thing_name: str | None = None,
        status: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
    ) -> list[JobExecutionView]:
        """Current (latest) executions, by job id then thing name, narrowed to one job,
        one thing and/or one status when given."""
        with self._mock.lock:
            store = self._store(account_id, region, "m.jobs.executions()")
            jobs = store.jobs.values() if job_id is None else [store.jobs.get(job_id)]
            found: list[JobExecutionView] = []
            for job in jobs:
                if job is None:
                    continue
                for thing in sorted(job.latest) if thing_name is None else [thing_name]:
                    execution = job.latest.get(thing)
                    if execution is not None and (status is None or execution.status == status):
                        found.append(_execution_view(execution))
            return found

    def _store(self, account_id: str | None, region: str | None, what: str) -> JobsStore:
        backend = self._read(account_id, region, what)
        # Applies the timers due by now.
        return engine.jobs_store(self._context("ReadJobs", backend))


def _job_view(job: Job) -> JobView:
    return JobView(
        job_id=job.job_id,
        arn=job.arn,
        status=job.status,
        targets=tuple(job.targets),
        target_selection=job.target_selection,
        document=job.document,
        description=job.description,
        namespace_id=job.namespace_id,
        created_at=job.created_at,
        last_updated_at=job.last_updated_at,
        completed_at=job.completed_at,
        execution_counts={k: v for k, v in job.counts.items() if v},
    )


def _execution_view(execution: JobExecution) -> JobExecutionView:
    return JobExecutionView(
        job_id=execution.job_id,
        thing_name=execution.thing_name,
        execution_number=execution.execution_number,
        status=execution.status,
        status_details=dict(execution.status_details),
        version=execution.version,
        queued_at=execution.queued_at,
        started_at=execution.started_at,
        last_updated_at=execution.last_updated_at,
    )
