"""A worker process of the ``parallel`` executor: it executes the steps it is sent.

The run's process (``worker_pool``) sends each worker one :class:`Task` at a time; the worker
executes that step with Dagster's ``execute_plan_iterator`` on the step's plan subset, stores
its events in the instance (as a multiprocess step process does) and relays them to the run's
process as :class:`Message` s. The job's definitions are resolved once per worker
(:class:`WarmJob`) and its whole plan once per run (:class:`StepPlans`).
"""

from __future__ import annotations

import sys
import threading
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.events import DagsterEvent
from dagster._core.execution.api import create_execution_plan, execute_plan_iterator
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.execution.retries import RetryMode
from dagster._core.instance import DagsterInstance
from dagster._core.system_config.objects import ResolvedRunConfig
from dagster._utils import send_interrupt
from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info
from dagster._utils.interrupts import capture_interrupts

from kedro_dagster.runtime.event_log import event_log_held_open
from kedro_dagster.runtime.log_mirror import mirror_step_logs_in_threads

__all__ = ["WARM_DEFINITIONS", "Message", "StepPlans", "Task", "WarmJob", "job_key", "worker_main"]


@dataclass(frozen=True)
class Task:
    """What a worker needs to execute one step of the run."""

    step_key: str
    dagster_run: Any
    run_config: Any
    known_state: KnownExecutionState
    retry_mode: RetryMode
    repository_load_data: Any


@dataclass(frozen=True)
class Message:
    """A worker's report: an event of its step, or the end of the step (``done``)."""

    worker: int
    step_key: str
    event: DagsterEvent | None = None
    done: bool = False
    error: SerializableErrorInfo | None = None


#: A worker's resolved definitions: its repository, and its jobs by name and selection.
WARM_DEFINITIONS: dict[Any, Any] = {}


def job_key(job: ReconstructableJob) -> tuple[Any, ...]:
    """The key of ``job``'s definition in :data:`WARM_DEFINITIONS`: its name and selections."""
    return (
        job.job_name,
        frozenset(job.op_selection or ()),
        frozenset(job.asset_selection or ()),
        frozenset(job.asset_check_selection or ()),
    )


class WarmJob(ReconstructableJob):
    """The run's job in a worker: definitions resolved once per process, not per call.

    Dagster resolves a ``ReconstructableJob`` again (re-imports ``definitions.py`` and
    translates the project) for each step's plan and each step's context: a second or more per
    step. A worker runs steps of one job of one code location, so the first result stands.
    """

    def get_repository_definition(self) -> Any:  # type: ignore[override]
        """The repository, resolved on first use in this process."""
        repository = WARM_DEFINITIONS.get("repository")
        if repository is None:
            repository = WARM_DEFINITIONS["repository"] = self.repository.get_definition()
        return repository

    def get_definition(self) -> Any:  # type: ignore[override]
        """The (subset) job, resolved on first use in this process."""
        key = job_key(self)
        job = WARM_DEFINITIONS.get(key)
        if job is None:
            job = WARM_DEFINITIONS[key] = self.get_repository_definition().get_maybe_subset_job_def(
                self.job_name, self.op_selection, self.asset_selection, self.asset_check_selection
            )
        return job


def _interrupt_steps(stop: Any, busy: threading.Event) -> None:
    """Interrupt the worker's step (as Dagster's step processes are) once ``stop`` is set."""
    stop.wait()
    if busy.is_set():
        send_interrupt()


class StepPlans:
    """A worker's plans of its run's steps: the job's whole plan built once, then one per step.

    ``create_execution_plan`` for one step builds the plan of the whole job (and resolves the
    run's config for every op) before taking the step's subset: O(job size) for each step, so
    a run of N steps cost O(N^2) (25 ms per step at 200 nodes). The whole plan depends only
    on the run (its job, config and repository load data), so a worker builds it once and
    takes each step's subset with the step's known state, as ``create_execution_plan`` does.
    Jobs with dynamic outputs, whose plan depends on the known state, are planned per step.
    """

    def __init__(self) -> None:
        self._run_id: str | None = None
        self._whole: tuple[ExecutionPlan, Any, ResolvedRunConfig] | None = None

    def plan(self, recon_job: Any, task: Task) -> ExecutionPlan:
        """The plan executing ``task``'s step."""
        if self._run_id != task.dagster_run.run_id:
            self._whole = self._build_whole(recon_job, task)
            self._run_id = task.dagster_run.run_id
        if self._whole is None:
            return create_execution_plan(
                job=recon_job,
                run_config=task.run_config,
                step_keys_to_execute=[task.step_key],
                known_state=task.known_state,
                repository_load_data=task.repository_load_data,
            )
        whole, job_def, resolved = self._whole
        step_plan: ExecutionPlan = whole._replace(known_state=task.known_state).build_subset_plan(
            [task.step_key], job_def, resolved
        )
        return step_plan

    @staticmethod
    def _build_whole(
        recon_job: Any, task: Task
    ) -> tuple[ExecutionPlan, Any, ResolvedRunConfig] | None:
        if task.repository_load_data is not None:
            recon_job = recon_job.with_repository_load_data(task.repository_load_data)
        job_def = recon_job.get_definition()
        resolved = ResolvedRunConfig.build(job_def, task.run_config)
        whole = ExecutionPlan.build(
            job_def, resolved, repository_load_data=task.repository_load_data
        )
        if whole.resolvable_map or len(whole.step_dict) != len(whole.executable_map):
            return None  # dynamic steps: resolved from each step's known state
        return whole, job_def, resolved


def _run_step(
    index: int,
    task: Task,
    recon_job: Any,
    instance: DagsterInstance,
    outbox: Connection,
    plans: StepPlans,
) -> None:
    error = None
    try:
        plan = plans.plan(recon_job, task)
        for event in execute_plan_iterator(
            plan,
            recon_job,
            task.dagster_run,
            run_config=task.run_config,
            retry_mode=task.retry_mode.for_inner_plan(),
            instance=instance,
        ):
            # Stored in the instance already (by the step's log manager): only relayed.
            outbox.send(Message(index, task.step_key, event=event))
    except (Exception, KeyboardInterrupt, DagsterExecutionInterruptedError):
        error = serializable_error_info_from_exc_info(sys.exc_info())
    outbox.send(Message(index, task.step_key, done=True, error=error))


def worker_main(
    index: int, recon_job: Any, instance_ref: Any, inbox: Any, outbox: Connection, stop: Any
) -> None:
    """A worker process: execute the steps it receives until it receives ``None``."""
    from kedro_dagster.runtime.resources import keep_run_contexts

    keep_run_contexts()
    recon_job = WarmJob._make(recon_job)
    busy = threading.Event()
    held_run = False
    plans = StepPlans()
    with (
        capture_interrupts(),
        DagsterInstance.from_ref(instance_ref) as instance,
        ExitStack() as held,
    ):
        mirror_step_logs_in_threads(instance)
        # Warm up before the first step arrives: imports and the project's translation. An
        # error here is the step's to report (through `_run_step`), not the worker's.
        with suppress(Exception):
            recon_job.get_definition()
        threading.Thread(
            target=_interrupt_steps, args=(stop, busy), name="kedro-dagster-stop", daemon=True
        ).start()
        while True:
            task = inbox.get()
            if task is None:
                return
            if not held_run:
                held_run = True
                # For the worker's life, not a step's (see runtime/event_log.py).
                held.enter_context(event_log_held_open(instance, task.dagster_run.run_id))
            busy.set()
            try:
                _run_step(index, task, recon_job, instance, outbox, plans)
            finally:
                busy.clear()
