"""The ``parallel`` executor: Dagster steps run by a pool of warm worker processes.

Dagster's multiprocess executor starts one process per step, and each pays the imports, the
instance, the job's definitions and the run's resources (1-2 s) before a step of
milliseconds. Here ``max_workers`` processes start once per run, as Kedro's
``ParallelRunner`` does: each reconstructs the job and the instance once, keeps the run's
Kedro context between steps (:func:`~kedro_dagster.runtime.resources.keep_run_contexts`) and
executes one step at a time with Dagster's ``execute_plan_iterator`` on the plan subset of
that step. A step's events are stored in the instance by the worker, as in a multiprocess
step process, and streamed to the run's process as they happen, which drives the plan
(retries, skipped steps, termination, re-execution) with Dagster's ``ActiveExecution``.

The worker's side is ``pool_worker``; the run's own forkserver is ``run_forkserver``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from multiprocessing.connection import wait
from typing import Any

from dagster import Field, Noneable, executor
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.errors import DagsterExecutionInterruptedError, DagsterSubprocessError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.executor.base import Executor
from dagster._utils import get_run_crash_explanation
from dagster._utils.error import SerializableErrorInfo

from kedro_dagster.runtime import pool_worker
from kedro_dagster.runtime.pool_worker import WARM_DEFINITIONS, Message, Task, job_key, worker_main
from kedro_dagster.runtime.preload import FORKSERVER_PRELOAD
from kedro_dagster.runtime.run_forkserver import RunForkServer

__all__ = ["WorkerPoolExecutor", "kedro_start_method", "parallel_executor"]

#: How long the run's process waits for a worker's message before checking the workers.
_TICK = 0.02
#: Seconds interrupted steps get to end before their workers are terminated.
_STOP_GRACE = 15.0
#: Seconds a worker gets to exit once the run is over.
_EXIT_GRACE = 5.0
_START_METHODS = ("forkserver", "spawn", "fork")
#: Kedro's ``ParallelRunner`` takes its start method from this variable when set.
_KEDRO_MP_CONTEXT_VAR = "KEDRO_MP_CONTEXT"


def kedro_start_method() -> str:
    """The start method Kedro's ``ParallelRunner`` uses by default.

    ``KEDRO_MP_CONTEXT`` when it names one, else Python's default for the platform (``fork``
    on Linux up to Python 3.13, ``forkserver`` from 3.14, ``spawn`` on macOS and Windows).
    Not the method of this process's ``multiprocessing`` default context: a run launched from
    the UI runs in a process that Dagster's code server spawned, whose default is then
    ``spawn``, which would make those runs start every worker from scratch.

    Returns
    -------
    str
        ``"fork"``, ``"forkserver"`` or ``"spawn"``.
    """
    chosen = os.environ.get(_KEDRO_MP_CONTEXT_VAR)
    if chosen in _START_METHODS:
        return chosen
    # "The first of which is the default" (multiprocessing's documentation).
    return multiprocessing.get_all_start_methods()[0]


def _preload_modules() -> list[str]:
    # The workers' module first: the forkserver imports what every worker runs.
    return [pool_worker.__name__, __name__, *FORKSERVER_PRELOAD]


class _Worker:
    """One long-lived worker process of a run, its pipe, and the step it executes, if any.

    Each worker reports through its own pipe: a worker killed mid-message (out of memory,
    ``kill -9``) leaves only its own channel unusable, never the other workers'.
    """

    def __init__(self, context: Any, index: int, recon_job: Any, instance_ref: Any) -> None:
        self.index = index
        self.inbox = context.SimpleQueue()
        self.stop = context.Event()
        self.step_key: str | None = None
        self.gone = False
        self.reader, writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=worker_main,
            args=(index, recon_job, instance_ref, self.inbox, writer, self.stop),
            name=f"kedro-dagster-worker-{index}",
            daemon=True,
        )
        self.process.start()
        # The worker's copy only: the pipe then ends (EOF) when the worker does.
        writer.close()

    @property
    def alive(self) -> bool:
        return not self.gone and self.process.is_alive()

    def submit(self, task: Task) -> None:
        self.step_key = task.step_key
        self.inbox.put(task)

    def receive(self) -> list[Message]:
        """The messages that have arrived; marks the worker gone at the end of its pipe."""
        messages = []
        try:
            while not self.gone and self.reader.poll():
                messages.append(self.reader.recv())
        except (EOFError, OSError):
            self.gone = True
        return messages

    def close(self) -> None:
        """Ask the worker to exit; terminate it if it has not after a grace period."""
        if self.process.is_alive():
            with suppress(OSError, ValueError):
                self.inbox.put(None)
        self.process.join(_EXIT_GRACE)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(_EXIT_GRACE)
        self.reader.close()


class _Pool:
    """The run's ``size`` workers; a slot whose worker died gets a new one on its next step."""

    def __init__(self, context: Any, size: int, recon_job: Any, instance_ref: Any) -> None:
        self._context = context
        self._recon_job = recon_job
        self._instance_ref = instance_ref
        # All started at once: they warm up (imports, definitions) while the first steps run.
        self.workers = [_Worker(context, index, recon_job, instance_ref) for index in range(size)]

    def idle(self) -> list[int]:
        """Slots free for a step."""
        return [w.index for w in self.workers if w.step_key is None]

    def busy(self) -> list[_Worker]:
        return [w for w in self.workers if w.step_key is not None]

    def submit(self, slot: int, task: Task) -> None:
        worker = self.workers[slot]
        if not worker.alive:
            worker.close()
            worker = self.workers[slot] = _Worker(
                self._context, slot, self._recon_job, self._instance_ref
            )
        worker.submit(task)

    def receive(self) -> list[Message]:
        """The workers' messages: waits a tick for the first, then takes what has arrived."""
        readers = {w.reader: w for w in self.workers if not w.gone}
        ready = wait(list(readers), timeout=_TICK) if readers else []
        messages: list[Message] = []
        for reader in ready:
            messages.extend(readers[reader].receive())
        return messages

    def interrupt(self) -> None:
        for worker in self.busy():
            worker.stop.set()

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


def _verify_complete(
    plan_context: PlanOrchestrationContext, active: ActiveExecution, pool: _Pool, key: str
) -> None:
    """Check that an attempt of ``key`` ended, unless its retry already runs in another worker.

    A step up for retry is executable again as soon as its worker reports it, before that
    worker says it is done: the retry may start in another worker first.
    """
    if not any(worker.step_key == key for worker in pool.busy()):
        active.verify_complete(plan_context, key)


class WorkerPoolExecutor(Executor):
    """Executes a run's steps in ``max_workers`` warm worker processes.

    Parameters
    ----------
    retries : RetryMode
        Whether steps asking for a retry are retried.
    max_workers : int, optional
        Worker processes (and steps at once); the CPU count when unset.
    start_method : {"forkserver", "spawn", "fork"}, optional
        How workers start; unset: as Kedro's ``ParallelRunner`` (:func:`kedro_start_method`,
        taken when the run executes, in the run's process).
    preload_project : bool
        Under ``forkserver`` (always the run's own forkserver, with the run's environment): it
        also imports the project and resolves the job once, so workers fork with the
        definitions loaded. ``False``: it imports no module of the project; each worker loads
        the definitions itself.
    """

    def __init__(
        self,
        retries: RetryMode,
        max_workers: int | None = None,
        start_method: str | None = None,
        preload_project: bool = True,
    ) -> None:
        if start_method is not None and start_method not in _START_METHODS:
            raise ValueError(f"start_method must be one of {_START_METHODS}, not {start_method!r}")
        self._retries = retries
        self._max_workers = max_workers or multiprocessing.cpu_count()
        self._configured_start_method = start_method
        self._preload_project = preload_project

    @property
    def retries(self) -> RetryMode:
        """The run's retry mode."""
        return self._retries

    @property
    def max_workers(self) -> int:
        """The number of worker processes."""
        return self._max_workers

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        """Execute ``execution_plan``'s steps in the workers, yielding their events."""
        started = time.monotonic()
        errors: list[SerializableErrorInfo] = []
        start_method = self._configured_start_method or kedro_start_method()
        with ExitStack() as stack:
            context = self._context(start_method, plan_context.reconstructable_job, stack)
            size = max(1, min(self._max_workers, len(execution_plan.step_keys_to_execute)))
            how = f"start method {start_method}"
            if self._configured_start_method is None:
                how += " (as Kedro's ParallelRunner)"
            if start_method == "forkserver" and self._preload_project:
                how += " with the project preloaded"
            yield DagsterEvent.engine_event(
                plan_context,
                f"Executing steps in {size} warm worker process(es) of the parallel executor "
                f"(run process pid {os.getpid()}, {how}).",
                event_specific_data=EngineEventData.multiprocess(
                    os.getpid(), step_keys_to_execute=execution_plan.step_keys_to_execute
                ),
            )
            concurrency = stack.enter_context(
                InstanceConcurrencyContext(plan_context.instance, plan_context.dagster_run)
            )
            active = stack.enter_context(
                ActiveExecution(
                    execution_plan,
                    retry_mode=self.retries,
                    max_concurrent=size,
                    instance_concurrency_context=concurrency,
                )
            )
            pool = _Pool(
                context, size, plan_context.reconstructable_job, plan_context.instance.get_ref()
            )
            stack.callback(pool.close)
            yield from self._drive(plan_context, execution_plan, active, pool, errors)
        elapsed = time.monotonic() - started
        yield DagsterEvent.engine_event(
            plan_context,
            f"Parallel executor: all steps done in {elapsed:.1f} s.",
            event_specific_data=EngineEventData.multiprocess(os.getpid()),
        )

    def _context(self, start_method: str, recon_job: Any, stack: ExitStack) -> Any:
        """The ``multiprocessing`` context the workers start with."""
        preload = _preload_modules()
        if start_method == "forkserver":
            # The run's own forkserver, never the process-wide one, which outlives the run
            # (with the environment of its first run, and Dagster's multiprocess steps use it).
            server = RunForkServer(preload)
            if not server.load(recon_job, self._preload_project) and not server.alive:
                # It died before asking for the job (a crash in its imports): one more try.
                server.stop()
                server = RunForkServer(preload)
                server.load(recon_job, self._preload_project)
            stack.callback(server.stop)
            return server.context()
        context = multiprocessing.get_context(start_method)
        if start_method == "fork":
            # Forked workers inherit the run process's modules and its resolved definitions.
            WARM_DEFINITIONS["repository"] = recon_job.get_repository_definition()
            WARM_DEFINITIONS[job_key(recon_job)] = recon_job.get_definition()
        return context

    def _drive(
        self,
        plan_context: PlanOrchestrationContext,
        execution_plan: ExecutionPlan,
        active: ActiveExecution,
        pool: _Pool,
        errors: list[SerializableErrorInfo],
    ) -> Iterator[DagsterEvent]:
        stopping_since: float | None = None
        while (stopping_since is None and not active.is_complete) or pool.busy():
            if stopping_since is None and active.check_for_interrupts():
                yield DagsterEvent.engine_event(
                    plan_context,
                    "Parallel executor: received termination signal - interrupting the steps "
                    "in progress",
                    EngineEventData.interrupted([w.step_key for w in pool.busy() if w.step_key]),
                )
                stopping_since = time.monotonic()
                active.mark_interrupted()
                pool.interrupt()
            while stopping_since is None:
                slots = pool.idle()
                steps = active.get_steps_to_execute(limit=len(slots))
                yield from active.concurrency_event_iterator(plan_context)
                if not steps:
                    break
                for slot, step in zip(slots, steps, strict=False):
                    pool.submit(
                        slot,
                        Task(
                            step_key=step.key,
                            dagster_run=plan_context.dagster_run,
                            run_config=plan_context.run_config,
                            known_state=active.get_known_state(),
                            retry_mode=self.retries,
                            repository_load_data=execution_plan.repository_load_data,
                        ),
                    )
            for message in pool.receive():
                yield from self._handle(plan_context, active, pool, message, errors)
            for worker in pool.busy():
                if not worker.alive:
                    # Its last messages may still be in its pipe: take them first.
                    for message in worker.receive():
                        yield from self._handle(plan_context, active, pool, message, errors)
                    if worker.step_key is not None:
                        yield from self._crashed(plan_context, active, pool, worker, errors)
            if stopping_since is not None and time.monotonic() - stopping_since > _STOP_GRACE:
                for worker in pool.busy():
                    worker.process.terminate()
                stopping_since = time.monotonic()
            yield from active.plan_events_iterator(plan_context)

        interrupted = {"DagsterExecutionInterruptedError", "KeyboardInterrupt"}
        if stopping_since is not None and all(error.cls_name in interrupted for error in errors):
            yield DagsterEvent.engine_event(
                plan_context,
                "Parallel executor: interrupted all steps in progress",
                event_specific_data=EngineEventData(),
            )
            raise DagsterExecutionInterruptedError()
        if errors:
            raise DagsterSubprocessError(
                "During parallel execution errors occurred in worker processes:\n"
                + "\n".join(error.to_string() for error in errors),
                subprocess_error_infos=errors,
            )

    def _handle(
        self,
        plan_context: PlanOrchestrationContext,
        active: ActiveExecution,
        pool: _Pool,
        message: Message,
        errors: list[SerializableErrorInfo],
    ) -> Iterator[DagsterEvent]:
        worker = pool.workers[message.worker]
        if message.event is not None:
            event = message.event
            yield event
            active.handle_event(event)
            if event.is_resource_init_failure and event.engine_event_data.error is not None:
                step_context = plan_context.for_step(active.get_step_by_key(message.step_key))
                failure = self.log_failure_or_retry_event_after_error(
                    step_context, event.engine_event_data.error, active.get_known_state()
                )
                yield failure
                active.handle_event(failure)
        if message.done:
            if message.error is not None:
                errors.append(message.error)
            if worker.step_key == message.step_key:
                worker.step_key = None
            _verify_complete(plan_context, active, pool, message.step_key)

    def _crashed(
        self,
        plan_context: PlanOrchestrationContext,
        active: ActiveExecution,
        pool: _Pool,
        worker: _Worker,
        errors: list[SerializableErrorInfo],
    ) -> Iterator[DagsterEvent]:
        """Fail (or retry) the step of a worker that died, naming its exit code."""
        key = worker.step_key
        assert key is not None
        worker.step_key = None
        worker.process.join(_EXIT_GRACE)
        exit_code = worker.process.exitcode if worker.process.exitcode is not None else -1
        explanation = get_run_crash_explanation(
            prefix=f"Parallel executor: worker process {worker.index} (pid {worker.process.pid}) "
            f"running step {key}",
            exit_code=exit_code,
        )
        error = SerializableErrorInfo(
            message=f"{explanation} Exit code: {exit_code}.",
            stack=[],
            cls_name="WorkerProcessCrashed",
        )
        step_context = plan_context.for_step(active.get_step_by_key(key))
        yield DagsterEvent.engine_event(
            step_context, explanation, EngineEventData.engine_error(error)
        )
        failure = self.log_failure_or_retry_event_after_error(
            step_context, error, active.get_known_state()
        )
        active.handle_event(failure)
        yield failure
        if failure.is_step_failure:
            errors.append(error)
        _verify_complete(plan_context, active, pool, key)


@executor(
    name="kedro_parallel",
    config_schema={
        "max_workers": Field(
            Noneable(int),
            is_required=False,
            default_value=None,
            description="Worker processes of a run; the CPU count when unset.",
        ),
        "start_method": Field(
            Noneable(str),
            is_required=False,
            default_value=None,
            description="How the workers start: forkserver, spawn or fork; unset: as Kedro's "
            "ParallelRunner (KEDRO_MP_CONTEXT, else Python's default for the platform).",
        ),
        "preload_project": Field(
            bool,
            is_required=False,
            default_value=True,
            description="Under forkserver: the run's own forkserver imports the project and "
            "loads the job's definitions once, so workers start with them.",
        ),
        "retries": get_retries_config(),
    },
    requirements=multiple_process_executor_requirements(),
)
def parallel_executor(init_context: Any) -> WorkerPoolExecutor:
    """Steps run in a pool of warm worker processes, like Kedro's ``ParallelRunner``.

    Parameters
    ----------
    init_context : InitExecutorContext
        Dagster's executor init context (``max_workers``, ``start_method``,
        ``preload_project``, ``retries``).

    Returns
    -------
    WorkerPoolExecutor
    """
    config = init_context.executor_config
    return WorkerPoolExecutor(
        retries=RetryMode.from_config(config["retries"]) or RetryMode.ENABLED,
        max_workers=config.get("max_workers"),
        start_method=config.get("start_method"),
        preload_project=config.get("preload_project", True),
    )
