"""Task kinds: what the asynchronous tasks of the IoT API share, declared once per kind.

Audit tasks, audit mitigation actions tasks and Detect mitigation actions tasks (and
any task a Start* operation creates by id) behave alike around their work: a task id
answers its record or ResourceNotFoundException; a Start request that repeats a taken
id with the same client request token is an idempotent retry, with another token
TaskAlreadyExistsException; only an IN_PROGRESS task can be canceled; and while a test
holds tasks, the IN_PROGRESS ones run when it says so. What a task does (its checks,
its actions, its statistics) stays in the family, passed in as plain functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from iotmock.core.backend import Backend
from iotmock.core.errors import ServiceError, invalid_request, not_found

IN_PROGRESS = "IN_PROGRESS"
CANCELED = "CANCELED"


class Task(Protocol):
    """What the shared steps need of a task record: its id and its status."""

    @property
    def task_id(self) -> str: ...

    status: str


T = TypeVar("T", bound=Task)
V_co = TypeVar("V_co", covariant=True)


class TaskIndex(Protocol[V_co]):
    """The tasks of a backend by id (a dict, or a SortedIndex where lists page by id)."""

    def get(self, task_id: str, /) -> V_co | None: ...
    def values(self) -> Iterable[V_co]: ...


@dataclass(frozen=True, slots=True, eq=False)
class TaskKind(Generic[T]):
    """One kind of task: `label` starts its messages ("The audit task" -> "The audit task
    t1 does not exist."), `index` finds a backend's tasks by id, and `client_token` reads
    the client request token a task was started with (None for kinds without one)."""

    label: str
    index: Callable[[Backend], TaskIndex[T]]
    client_token: Callable[[T], str | None] = lambda task: None

    def get(self, backend: Backend, task_id: str) -> T:
        """The task `task_id`, or ResourceNotFoundException."""
        task = self.index(backend).get(task_id)
        if task is None:
            raise not_found(f"{self.label} {task_id} does not exist.")
        return task

    def repeated(self, backend: Backend, task_id: str, token: str) -> bool:
        """Whether a Start request for `task_id` repeats the one that started the task
        (the same client request token): the caller answers it as the first call was.
        False for a new id; TaskAlreadyExistsException for a taken id with another token."""
        existing = self.index(backend).get(task_id)
        if existing is None:
            return False
        if self.client_token(existing) == token:
            return True
        raise ServiceError("TaskAlreadyExistsException", f"{self.label} {task_id} already exists.")

    def cancel(self, backend: Backend, task_id: str) -> T:
        """Mark the task CANCELED and answer it, for the caller to stop its work; only an
        IN_PROGRESS task can be canceled (InvalidRequestException otherwise)."""
        task = self.get(backend, task_id)
        if task.status != IN_PROGRESS:
            raise invalid_request(
                f"{self.label} {task_id} is {task.status}; only an IN_PROGRESS task can be "
                "canceled."
            )
        task.status = CANCELED
        return task

    def run_held(self, backend: Backend, run: Callable[[T], None]) -> list[str]:
        """`run` every task still IN_PROGRESS (those started while tasks were held), in
        index order; their ids."""
        pending = [task for task in self.index(backend).values() if task.status == IN_PROGRESS]
        for task in pending:
            run(task)
        return [task.task_id for task in pending]
