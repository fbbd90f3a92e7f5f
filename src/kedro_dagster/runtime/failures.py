"""What a failed run does in-run: ``on_pipeline_error`` once, and keep its MemoryDatasets.

The code of ours that a step runs (op bodies, IO managers) records the step's error on the
run's :class:`~kedro_dagster.runtime.context.KedroRunContext` (:func:`failure_recorded`). When
the ``kedro_run`` resource is torn down (after the step, or after every step of an in-process
run), :func:`call_pipeline_error` calls Kedro's ``on_pipeline_error`` if one of this process's
steps is the run's first ``STEP_FAILURE`` (exactly once, even when parallel steps fail
together; a step that is retried has no ``STEP_FAILURE``), and records that in the run's tags
(the tag's value is the run's id: a re-execution or an automatic retry inherits its parent's
tags, and still gets its own call), so the run-failure sensor only handles runs that died
without running this code (a killed process). The in-process MemoryDataset storage is written
to run-scoped files at its teardown when the run has a failed step, so a re-execution from
failure finds them.

A successful step pays nothing for this: no Dagster hook (which stores a ``HOOK_SKIPPED``
event per step), no query.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
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

from kedro_dagster._dagster_internals import output_consumers
from kedro_dagster.constants import DATASET_METADATA_KEY, NODE_TAG

__all__ = [
    "PIPELINE_ERROR_TAG",
    "InProcessMemoryStorage",
    "call_pipeline_error",
    "failure_recorded",
    "pipeline_error_handled",
    "run_has_failed_step",
    "step_error",
]

logger = logging.getLogger(__name__)

#: Run tag naming the run ``on_pipeline_error`` was called for (its value is that run's id).
#: Not a bare marker: Dagster copies a run's tags to its re-executions and automatic retries,
#: and a retry that fails again must get its own call.
PIPELINE_ERROR_TAG = "kedro/on_pipeline_error"


def pipeline_error_handled(instance: Any, run_id: str) -> bool:
    """Whether ``on_pipeline_error`` was already called for the run (see the run's tags)."""
    run = instance.get_run_by_id(run_id)
    return run is not None and run.tags.get(PIPELINE_ERROR_TAG) == run_id


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


def _first_failed_step(instance: Any, run_id: str) -> str | None:
    """The step key of the run's first stored ``STEP_FAILURE``, if any.

    The event log is totally ordered: of several steps failing at once, exactly one is first.
    """
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        if entry.dagster_event is not None:
            return entry.dagster_event.step_key
    return None


def run_has_failed_step(instance: Any, run_id: str) -> bool:
    """Whether a step of the run has failed (for good: retried attempts do not count)."""
    return _first_failed_step(instance, run_id) is not None


@contextmanager
def failure_recorded(run: Any, step_key: str) -> Iterator[None]:
    """Record on ``run`` an error leaving the block, for the step ``step_key``.

    Only ``Exception``: an interrupted run (``KeyboardInterrupt``, termination) does not call
    ``on_pipeline_error`` under ``kedro run`` either; nor does a generator closed at a yield.
    """
    try:
        yield
    except Exception as exc:
        run.failed_steps.setdefault(step_key, exc)
        raise


def call_pipeline_error(run: Any, pipeline: Pipeline, log: Any = None) -> None:
    """Call ``on_pipeline_error`` if a step of this process is the run's first failure.

    Called when the run's ``kedro_run`` resource is torn down, after the step events are
    stored. The steps recorded on ``run`` are forgotten (a warm worker keeps ``run`` for the
    run's next steps).

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process.
    pipeline : Pipeline
        The job's filtered pipeline, passed to ``on_pipeline_error``.
    log : DagsterLogManager, optional
        Where to say that the hook is called (the resource's logger).
    """
    failed = dict(run.failed_steps)
    run.failed_steps.clear()
    instance = run.instance
    if not failed or instance is None:
        return
    first = _first_failed_step(instance, run.run_id)
    if first not in failed or pipeline_error_handled(instance, run.run_id):
        return
    # Recorded before the call: a hook that never returns must not be called again by the
    # sensor.
    instance.add_run_tags(run.run_id, {PIPELINE_ERROR_TAG: run.run_id})
    run.join_tracking()
    error = step_error(failed[first])
    message = (
        f"Calling on_pipeline_error for run {run.run_id} ({type(error).__name__}, step '{first}')"
    )
    (log or logger).info(message)
    run.hooks.on_pipeline_error(
        error=error, run_params=run.run_params, pipeline=pipeline, catalog=run.catalog
    )


def _kedro_names(context: InputContext, output: str, step: str) -> tuple[str, str]:
    """The Kedro dataset and node behind an op output, for messages (Dagster's names else)."""
    upstream = context.upstream_output
    metadata = (upstream.definition_metadata if upstream is not None else None) or {}
    try:
        tags = upstream.op_def.tags if upstream is not None else {}
    except Exception:  # no op definition in this context: Dagster's name will do
        tags = {}
    return str(metadata.get(DATASET_METADATA_KEY, output)), str(tags.get(NODE_TAG, step))


class InProcessMemoryStorage(IOManager):
    """MemoryDatasets of an in-process run: in memory, written to files once a step fails.

    Values are kept in memory as with Dagster's ``InMemoryIOManager``. :meth:`spill` (called
    at the storage's teardown, after the run's steps, when one of them failed) pickles them to
    ``<base_dir>/<run_id>/<step>/<output>``, so that a re-execution from failure (a new run,
    maybe a new process) loads the outputs of the steps it does not run again. Runs that
    succeed write nothing.

    Parameters
    ----------
    base_dir : str
        Folder of the run-scoped files (the instance's storage folder).
    """

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir
        self.values: dict[tuple[str, ...], Any] = {}
        #: The run's consumers of each step output (from the first output's execution plan).
        self._consumers: dict[tuple[str, str], frozenset[str]] | None = None
        #: Value -> its consumers not yet succeeded; consumer -> the values it waits on.
        self._pending: dict[tuple[str, ...], set[str]] = {}
        self._held_for: dict[str, list[tuple[str, ...]]] = {}

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
        """Keep ``obj`` in memory until every step of the run reading it has succeeded."""
        identifier = tuple(context.get_identifier())
        self.values[identifier] = obj
        if self._consumers is None:
            self._consumers = output_consumers(context)
        consumers = self._consumers.get((context.step_key, context.name))
        if consumers:
            self._pending[identifier] = set(consumers)
            for step_key in consumers:
                self._held_for.setdefault(step_key, []).append(identifier)

    def step_succeeded(self, step_key: str) -> None:
        """Release the values whose readers have all succeeded, as Kedro's runner does.

        A reader that fails (or is skipped) keeps its inputs for :meth:`spill`: a re-execution
        from failure runs it again.
        """
        for identifier in self._held_for.pop(step_key, ()):
            pending = self._pending.get(identifier)
            if pending is None:
                continue
            pending.discard(step_key)
            if not pending:
                del self._pending[identifier]
                self.values.pop(identifier, None)

    def load_input(self, context: InputContext) -> Any:
        """The value in memory, else the file a failed parent run left (re-execution)."""
        identifier = tuple(context.get_identifier())
        if identifier in self.values:
            return self.values[identifier]
        path = self._path(identifier)
        if not os.path.exists(path):
            run_id, step = identifier[0], identifier[1] if len(identifier) > 2 else "?"
            dataset, node = _kedro_names(context, identifier[-1], step)
            raise FileNotFoundError(
                f"MemoryDataset '{dataset}' (written by node '{node}', step '{step}', in run "
                f"{run_id}) is not available: it lived in that run's memory and was not kept "
                "(the run did not fail in a step, every step reading it had succeeded, or the "
                "value could not be pickled). Re-execute the whole job, or select step "
                f"'{step}' too (and the steps computing its own MemoryDataset inputs)."
            )
        with open(path, "rb") as file:
            return pickle.load(file)

    def spill(self) -> None:
        """Write every value held to run-scoped files (after the run's steps)."""
        for identifier, obj in self.values.items():
            if not os.path.exists(self._path(identifier)):
                self._write(identifier, obj)
