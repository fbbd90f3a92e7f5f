"""What a failed run does in-run: ``on_pipeline_error`` once, and keep its MemoryDatasets.

A failure hook on every op of a job runs in the failing step's process, right after the step's
``STEP_FAILURE`` event is stored. There it calls Kedro's ``on_pipeline_error`` (when this step's
failure is the run's first: exactly once, even when parallel steps fail together) and records
that in the run's tags, so the run-failure sensor only handles runs that died without running
this code (a killed process). Under the in-process executor it also writes the run's
MemoryDatasets to run-scoped files, so a re-execution from failure finds them.
"""

from __future__ import annotations

import logging
import os
import pickle
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterUserCodeExecutionError,
    Failure,
    InputContext,
    IOManager,
    OutputContext,
)
from kedro.pipeline import Pipeline

from kedro_dagster.constants import KEDRO_RUN_RESOURCE, MEMORY_IO_MANAGER

__all__ = [
    "PIPELINE_ERROR_CALLED",
    "PIPELINE_ERROR_TAG",
    "InProcessMemoryStorage",
    "RunFailureHook",
    "pipeline_error_handled",
    "step_error",
]

logger = logging.getLogger(__name__)

#: Run tag recording that ``on_pipeline_error`` was called for the run.
PIPELINE_ERROR_TAG = "kedro/on_pipeline_error"
PIPELINE_ERROR_CALLED = "called"


def pipeline_error_handled(instance: Any, run_id: str) -> bool:
    """Whether ``on_pipeline_error`` was already called for the run (see the run's tags)."""
    run = instance.get_run_by_id(run_id)
    return run is not None and PIPELINE_ERROR_TAG in run.tags


def step_error(exc: BaseException | None) -> BaseException:
    """The error a project hook should see for a failed step: the node's own exception.

    A node's failure is a Dagster ``Failure`` raised from the (redacted) node exception; an
    IO manager's error is wrapped by Dagster in a ``DagsterUserCodeExecutionError``.
    """
    if exc is None:
        return RuntimeError("Dagster step failed")
    if isinstance(exc, Failure) and exc.__cause__ is not None:
        return exc.__cause__
    if isinstance(exc, DagsterUserCodeExecutionError) and exc.user_exception is not None:
        return exc.user_exception
    return exc


def _is_first_failure(instance: Any, run_id: str, step_key: str) -> bool:
    """Whether ``step_key``'s failure is the first stored for the run.

    Every failure event is stored before its step's hooks run, and the event log is totally
    ordered: of several steps failing at once, exactly one sees itself first.
    """
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        if entry.dagster_event is not None:
            return entry.dagster_event.step_key == step_key
    return False


class InProcessMemoryStorage(IOManager):
    """MemoryDatasets of an in-process run: in memory, written to files once a step fails.

    Values are kept in memory as with Dagster's ``InMemoryIOManager``. :meth:`spill` (called
    by the failure hook) pickles them to ``<base_dir>/<run_id>/<step>/<output>``, and every
    value stored after it too, so that a re-execution from failure (a new run, maybe a new
    process) loads the outputs of the steps it does not run again. Runs that succeed write
    nothing.

    Parameters
    ----------
    base_dir : str
        Folder of the run-scoped files (the instance's storage folder).
    """

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.values: dict[tuple[str, ...], Any] = {}
        self._spilling = False

    def _path(self, identifier: tuple[str, ...]) -> str:
        return os.path.join(self.base_dir, *identifier)

    def _write(self, identifier: tuple[str, ...], obj: Any) -> None:
        path = self._path(identifier)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, "wb") as file:
                pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable value: re-execution will say it is missing
            os.remove(path)
            logger.warning(
                "Output '%s' of step '%s' cannot be kept for a re-execution from failure "
                "(%s: %s): a re-execution will have to run that step again.",
                identifier[-1],
                identifier[-2] if len(identifier) > 1 else "?",
                type(exc).__name__,
                exc,
            )

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Keep ``obj`` in memory (and in a file once the run has a failed step)."""
        identifier = tuple(context.get_identifier())
        self.values[identifier] = obj
        if self._spilling:
            self._write(identifier, obj)

    def load_input(self, context: InputContext) -> Any:
        """The value in memory, else the file a failed parent run left (re-execution)."""
        identifier = tuple(context.get_identifier())
        if identifier in self.values:
            return self.values[identifier]
        path = self._path(identifier)
        if not os.path.exists(path):
            run_id, step = identifier[0], identifier[1] if len(identifier) > 2 else "?"
            raise FileNotFoundError(
                f"MemoryDataset output '{identifier[-1]}' of step '{step}' in run {run_id} is "
                "not available: it lived in that run's memory and was not kept (the run did not "
                "fail in a step, or the value could not be pickled). Re-execute the whole job."
            )
        with open(path, "rb") as file:
            return pickle.load(file)

    def spill(self) -> None:
        """Write every value held (and every later one) to run-scoped files."""
        self._spilling = True
        for identifier, obj in self.values.items():
            if not os.path.exists(self._path(identifier)):
                self._write(identifier, obj)


def _spill_memory(resources: Any, key: str) -> None:
    """Keep the in-process MemoryDatasets of a failed run for a re-execution."""
    manager = getattr(resources, key, None)
    storage = getattr(manager, "storage", manager)
    if isinstance(storage, InProcessMemoryStorage):
        storage.spill()


class RunFailureHook:
    """Body of the failure hook of every op of a job (see the module docstring).

    Parameters
    ----------
    pipeline : Pipeline
        The job's filtered pipeline, passed to ``on_pipeline_error``.
    run_key, memory_key : str
        Keys of the job's ``kedro_run`` resource and MemoryDataset IO manager.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        run_key: str = KEDRO_RUN_RESOURCE,
        memory_key: str = MEMORY_IO_MANAGER,
    ) -> None:
        self.pipeline = pipeline
        self.run_key = run_key
        self.memory_key = memory_key

    def __call__(self, context: Any) -> None:
        """Keep the run's MemoryDatasets; call ``on_pipeline_error`` if first to fail."""
        _spill_memory(context.resources, self.memory_key)
        instance = context.instance
        run_id = context.run_id
        if not _is_first_failure(instance, run_id, context.step_key):
            return
        if pipeline_error_handled(instance, run_id):
            return
        # Recorded before the call: a hook that never returns must not be called again
        # by the sensor.
        instance.add_run_tags(run_id, {PIPELINE_ERROR_TAG: PIPELINE_ERROR_CALLED})
        run = getattr(context.resources, self.run_key)
        run.join_tracking()
        error = step_error(context.op_exception)
        context.log.info(
            f"Calling on_pipeline_error for run {run_id} ({type(error).__name__}, "
            f"step '{context.step_key}')"
        )
        run.hooks.on_pipeline_error(
            error=error, run_params=run.run_params, pipeline=self.pipeline, catalog=run.catalog
        )
