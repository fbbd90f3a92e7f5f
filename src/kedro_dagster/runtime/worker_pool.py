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
"""

from __future__ import annotations

import io
import multiprocessing
import os
import pickle
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import Any

from dagster import Field, Noneable, executor
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.errors import DagsterExecutionInterruptedError, DagsterSubprocessError
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import create_execution_plan, execute_plan_iterator
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.active import ActiveExecution
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.executor.base import Executor
from dagster._core.instance import DagsterInstance
from dagster._core.system_config.objects import ResolvedRunConfig
from dagster._utils import get_run_crash_explanation, send_interrupt
from dagster._utils.error import SerializableErrorInfo, serializable_error_info_from_exc_info
from dagster._utils.interrupts import capture_interrupts

from kedro_dagster.runtime.event_log import event_log_held_open
from kedro_dagster.runtime.log_mirror import mirror_step_logs_in_threads
from kedro_dagster.runtime.preload import FORKSERVER_PRELOAD

__all__ = [
    "WorkerPoolExecutor",
    "kedro_start_method",
    "parallel_executor",
    "preload_job_from_environment",
]

#: How long the run's process waits for a worker's message before checking the workers.
_TICK = 0.02
#: Seconds interrupted steps get to end before their workers are terminated.
_STOP_GRACE = 15.0
#: Seconds a worker gets to exit once the run is over.
_EXIT_GRACE = 5.0
_START_METHODS = ("forkserver", "spawn", "fork")
#: Kedro's ``ParallelRunner`` takes its start method from this variable when set.
_KEDRO_MP_CONTEXT_VAR = "KEDRO_MP_CONTEXT"
#: Seconds the run's process waits for its forkserver to ask for the job (its imports done).
_LOAD_TIMEOUT = 120.0
#: Where the run's own forkserver asks for the run's job (read and removed there).
_PRELOAD_ADDRESS_VAR = "KEDRO_DAGSTER_PARALLEL_PRELOAD_ADDRESS"
#: Imported last by the run's own forkserver: receives and resolves the run's job.
_PROJECT_PRELOAD_MODULE = "kedro_dagster.runtime.project_preload"


@dataclass(frozen=True)
class _Task:
    """What a worker needs to execute one step of the run."""

    step_key: str
    dagster_run: Any
    run_config: Any
    known_state: KnownExecutionState
    retry_mode: RetryMode
    repository_load_data: Any


@dataclass(frozen=True)
class _Message:
    """A worker's report: an event of its step, or the end of the step (``done``)."""

    worker: int
    step_key: str
    event: DagsterEvent | None = None
    done: bool = False
    error: SerializableErrorInfo | None = None


#: A worker's resolved definitions: its repository, and its jobs by name and selection.
_DEFINITIONS: dict[Any, Any] = {}


def _job_key(job: ReconstructableJob) -> tuple[Any, ...]:
    return (
        job.job_name,
        frozenset(job.op_selection or ()),
        frozenset(job.asset_selection or ()),
        frozenset(job.asset_check_selection or ()),
    )


class _WarmJob(ReconstructableJob):
    """The run's job in a worker: definitions resolved once per process, not per call.

    Dagster resolves a ``ReconstructableJob`` again (re-imports ``definitions.py`` and
    translates the project) for each step's plan and each step's context: a second or more per
    step. A worker runs steps of one job of one code location, so the first result stands.
    """

    def get_repository_definition(self) -> Any:  # type: ignore[override]
        """The repository, resolved on first use in this process."""
        repository = _DEFINITIONS.get("repository")
        if repository is None:
            repository = _DEFINITIONS["repository"] = self.repository.get_definition()
        return repository

    def get_definition(self) -> Any:  # type: ignore[override]
        """The (subset) job, resolved on first use in this process."""
        key = _job_key(self)
        job = _DEFINITIONS.get(key)
        if job is None:
            job = _DEFINITIONS[key] = self.get_repository_definition().get_maybe_subset_job_def(
                self.job_name, self.op_selection, self.asset_selection, self.asset_check_selection
            )
        return job


def preload_job_from_environment() -> None:
    """In a run's own forkserver: resolve the run's job once, so forked workers start warm.

    The forkserver connects to the address its run's process left in the environment and
    receives the job, the run process's environment and working directory (taken when the job
    is sent, so that the forkserver loads what the run loads). Without an address,
    or when nothing comes (the run's process gave up waiting, or has gone), nothing is loaded:
    the workers resolve the job themselves. A failure to resolve is left to the workers too,
    which report it on a step.
    """
    address = os.environ.pop(_PRELOAD_ADDRESS_VAR, None)
    if address is None:
        return
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX) as channel:
            channel.connect(address)
            while chunk := channel.recv(1 << 16):
                chunks.append(chunk)
        job, environ, cwd, load_project = pickle.loads(b"".join(chunks))
    except Exception:
        return
    os.environ.clear()
    os.environ.update(environ)
    with suppress(Exception):
        os.chdir(cwd)
        if load_project:
            _WarmJob._make(job).get_definition()


class _RunForkServer:
    """A forkserver of one run, with its environment; it may resolve the run's job once.

    Not the process-wide forkserver of ``multiprocessing``: that one lives as long as the
    process and would keep this project's modules and definitions for later runs of other
    projects or settings (tests, ``dagster dev``-like hosts), and Dagster's multiprocess
    executor forks its step processes from it too. This one serves one run and is stopped at
    its end, so a worker never runs a stale job.

    It starts in two phases: spawned (it imports ``preload``, most of its start-up), then
    given the job (:meth:`load`: it imports the project and translates it, with the
    environment of that moment).
    """

    def __init__(self, preload: list[str]) -> None:
        self.server = forkserver.ForkServer()
        self.server.set_forkserver_preload([*preload, _PROJECT_PRELOAD_MODULE])
        self._folder = tempfile.mkdtemp(prefix="kedro-dagster-")
        self._address = os.path.join(self._folder, "job")
        self._listener: socket.socket | None = socket.socket(socket.AF_UNIX)
        self._listener.bind(self._address)
        self._listener.listen(1)
        # The forkserver inherits the environment when it is spawned: the variable is set
        # only for that moment.
        previous = os.environ.get(_PRELOAD_ADDRESS_VAR)
        os.environ[_PRELOAD_ADDRESS_VAR] = self._address
        try:
            self.server.ensure_running()
        except BaseException:
            self._close_listener()
            raise
        finally:
            if previous is None:
                os.environ.pop(_PRELOAD_ADDRESS_VAR, None)
            else:
                os.environ[_PRELOAD_ADDRESS_VAR] = previous

    def load(self, recon_job: Any, project: bool = True) -> bool:
        """Send the run's job to the forkserver; ``False`` if it did not ask for it in time.

        With ``project=False`` it only takes the run's environment and working directory.
        """
        listener = self._listener
        if listener is None:
            return False
        payload = pickle.dumps((recon_job, dict(os.environ), os.getcwd(), project))
        deadline = time.monotonic() + _LOAD_TIMEOUT
        try:
            listener.settimeout(_TICK * 10)
            while True:
                try:
                    channel, _ = listener.accept()
                    break
                except TimeoutError:
                    if not self.alive or time.monotonic() > deadline:
                        return False
            with channel:
                channel.sendall(payload)
            return True
        except OSError:
            return False
        finally:
            self._close_listener()

    @property
    def alive(self) -> bool:
        """Whether the forkserver process still runs."""
        pid = self.server._forkserver_pid  # type: ignore[attr-defined]
        if pid is None:
            return False
        with suppress(ChildProcessError):
            return os.waitpid(pid, os.WNOHANG) == (0, 0)
        return False

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            shutil.rmtree(self._folder, ignore_errors=True)

    def context(self) -> Any:
        """A ``multiprocessing`` context whose processes this forkserver forks."""
        return _RunContext(self.server)

    def stop(self) -> None:
        """End the forkserver (its workers have exited), without waiting on other processes."""
        self._close_listener()
        pid = self.server._forkserver_pid  # type: ignore[attr-defined]
        if pid is None:
            return
        # It exits once every holder of its "alive" pipe closed it, which a process forked
        # from the run's process meanwhile may never do: it is ended rather than waited for.
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        # Already reaped when :attr:`alive` saw it end.
        with suppress(ChildProcessError):
            self.server._stop()  # type: ignore[attr-defined]


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
    return [__name__, *FORKSERVER_PRELOAD]


class _RunPopen(popen_forkserver.Popen):
    """Starts a process from a given forkserver rather than the process-wide one."""

    def __init__(self, process_obj: Any, server: forkserver.ForkServer) -> None:
        self._server = server
        super().__init__(process_obj)

    def _launch(self, process_obj: Any) -> None:
        # The standard forkserver launch, with this Popen's server, except that the worker does
        # not re-run the main module of the run's process (``dg``'s CLI, 0.1-0.2 s of imports):
        # a worker's target and tasks live in importable modules.
        preparation = spawn.get_preparation_data(process_obj._name)
        preparation.pop("init_main_from_path", None)
        preparation.pop("init_main_from_name", None)
        data = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(preparation, data)
            reduction.dump(process_obj, data)
        finally:
            set_spawning_popen(None)
        fds: list[int] = self._fds  # type: ignore[attr-defined]
        self.sentinel, writer = self._server.connect_to_new_process(fds)
        # The child watches this duplicate to learn that its parent has gone.
        parent_end = os.dup(writer)
        close_fds = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close_fds, (parent_end, self.sentinel))
        with open(writer, "wb", closefd=True) as stream:
            stream.write(data.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _RunProcess(ForkServerProcess):
    """A process forked by the forkserver it is given (taken off before it is pickled)."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _RunPopen(process_obj, process_obj.__dict__.pop("_run_forkserver"))


class _RunContext(ForkServerContext):
    """A forkserver context whose processes start from a run's own forkserver."""

    def __init__(self, server: forkserver.ForkServer) -> None:
        self._server = server

    def Process(self, *args: Any, **kwargs: Any) -> _RunProcess:  # type: ignore[override]
        """A process to be forked by the run's forkserver."""
        process = _RunProcess(*args, **kwargs)
        process._run_forkserver = self._server  # type: ignore[attr-defined]
        return process


def _interrupt_steps(stop: Any, busy: threading.Event) -> None:
    """Interrupt the worker's step (as Dagster's step processes are) once ``stop`` is set."""
    stop.wait()
    if busy.is_set():
        send_interrupt()


class _StepPlans:
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

    def plan(self, recon_job: Any, task: _Task) -> ExecutionPlan:
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
        recon_job: Any, task: _Task
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
    task: _Task,
    recon_job: Any,
    instance: DagsterInstance,
    outbox: Connection,
    plans: _StepPlans,
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
            outbox.send(_Message(index, task.step_key, event=event))
    except (Exception, KeyboardInterrupt, DagsterExecutionInterruptedError):
        error = serializable_error_info_from_exc_info(sys.exc_info())
    outbox.send(_Message(index, task.step_key, done=True, error=error))


def _worker_main(
    index: int, recon_job: Any, instance_ref: Any, inbox: Any, outbox: Connection, stop: Any
) -> None:
    """A worker process: execute the steps it receives until it receives ``None``."""
    from kedro_dagster.runtime.resources import keep_run_contexts

    keep_run_contexts()
    recon_job = _WarmJob._make(recon_job)
    busy = threading.Event()
    held_run = False
    plans = _StepPlans()
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
            target=_worker_main,
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

    def submit(self, task: _Task) -> None:
        self.step_key = task.step_key
        self.inbox.put(task)

    def receive(self) -> list[_Message]:
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

    def submit(self, slot: int, task: _Task) -> None:
        worker = self.workers[slot]
        if not worker.alive:
            worker.close()
            worker = self.workers[slot] = _Worker(
                self._context, slot, self._recon_job, self._instance_ref
            )
        worker.submit(task)

    def receive(self) -> list[_Message]:
        """The workers' messages: waits a tick for the first, then takes what has arrived."""
        readers = {w.reader: w for w in self.workers if not w.gone}
        ready = wait(list(readers), timeout=_TICK) if readers else []
        messages: list[_Message] = []
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
            server = _RunForkServer(preload)
            if not server.load(recon_job, self._preload_project) and not server.alive:
                # It died before asking for the job (a crash in its imports): one more try.
                server.stop()
                server = _RunForkServer(preload)
                server.load(recon_job, self._preload_project)
            stack.callback(server.stop)
            return server.context()
        context = multiprocessing.get_context(start_method)
        if start_method == "fork":
            # Forked workers inherit the run process's modules and its resolved definitions.
            _DEFINITIONS["repository"] = recon_job.get_repository_definition()
            _DEFINITIONS[_job_key(recon_job)] = recon_job.get_definition()
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
                        _Task(
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
        message: _Message,
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
