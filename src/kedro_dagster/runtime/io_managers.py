"""IO managers loading and saving through Kedro datasets, and the MemoryDataset storage."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator
from typing import Any

from dagster import (
    AssetKey,
    AssetMaterialization,
    InputContext,
    IOManager,
    IOManagerDefinition,
    OutputContext,
)

from kedro_dagster.constants import DATASET_METADATA_KEY, KEDRO_RUN_RESOURCE
from kedro_dagster.errors import KedroDagsterError
from kedro_dagster.runtime.dataset_io import Streamed
from kedro_dagster.runtime.failures import (
    InProcessMemoryStorage,
    failure_recorded,
    run_has_failed_step,
)
from kedro_dagster.runtime.log_capture import step_log_capture
from kedro_dagster.runtime.node_runner import node_of
from kedro_dagster.runtime.validation import ValidatorCheck, reporter

__all__ = [
    "KedroDatasetIOManager",
    "KedroMemoryIOManager",
    "RunScopedPickles",
    "memory_io_manager",
    "output_metadata",
]

logger = logging.getLogger(__name__)


def output_metadata(run: Any, dataset_name: str, obj: Any) -> dict[str, Any]:
    """Materialization metadata of a saved output (see ``DatasetIO.metadata``)."""
    if isinstance(obj, Streamed):
        return dict(run.io.metadata(dataset_name, obj.data, streamed=True))
    return dict(run.io.metadata(dataset_name, obj))


def _consumer(context: InputContext) -> str:
    """The key of the step loading an input."""
    return context.step_context.step.key


class KedroDatasetIOManager(IOManager):
    """Loads and saves one Kedro dataset through the run's catalog, firing dataset hooks.

    Parameters
    ----------
    dataset_name : str
        Kedro dataset name (possibly transcoded, e.g. ``"table@pandas"``).
    asset_key : AssetKey or str
        Dagster asset key the dataset stands for (given by the translator at load), recorded
        in the materializations of job runs.
    run : KedroRunContext
        The run's Kedro context (the ``kedro_run`` resource).
    check : ValidatorCheck, optional
        The asset check of the dataset's Kedro validator: each validation the catalog does
        while loading or saving is logged as its evaluation.
    """

    def __init__(
        self,
        dataset_name: str,
        asset_key: AssetKey | str,
        run: Any,
        check: ValidatorCheck | None = None,
    ) -> None:
        self.dataset_name = dataset_name
        self.asset_key = AssetKey.from_coercible(asset_key)
        self.run = run
        self.check = check

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Save ``obj``, then record its materialization (never before the save).

        A generator node's output is saved chunk by chunk by its op already.
        """
        with failure_recorded(self.run, context.step_key):
            if not isinstance(obj, Streamed):
                node = node_of(context.op_def)
                report = reporter(context, self.check, node, self.run.redactor.redact_metadata)
                self.run.io.save(self.dataset_name, obj, node, report=report)
            metadata = output_metadata(self.run, self.dataset_name, obj)
        if context.has_asset_key:
            context.add_output_metadata(metadata)
        else:
            context.log_event(AssetMaterialization(asset_key=self.asset_key, metadata=metadata))

    def load_input(self, context: InputContext) -> Any:
        """Load the dataset for the consuming node."""
        node = node_of(context.op_def)
        report = reporter(context, self.check, node, self.run.redactor.redact_metadata)
        # Inputs load before the op body: Kedro's "Loading data from ..." belongs to the step.
        with (
            failure_recorded(self.run, _consumer(context)),
            step_log_capture(context, self.run.redactor.redact),
        ):
            return self.run.io.load(self.dataset_name, node, report=report)

    @classmethod
    def definition(
        cls,
        dataset_name: str,
        asset_key: AssetKey | str,
        description: str,
        check: ValidatorCheck | None = None,
        run_key: str = KEDRO_RUN_RESOURCE,
    ) -> IOManagerDefinition:
        """An IO manager definition for one dataset, using the ``kedro_run`` resource.

        ``run_key`` is that resource's key (namespaced when two projects share a repository).
        """

        def init(init_context: Any) -> KedroDatasetIOManager:
            run = getattr(init_context.resources, run_key)
            return cls(dataset_name, asset_key, run, check)

        return IOManagerDefinition(
            resource_fn=init,
            required_resource_keys={run_key},
            description=description,
        )


class KedroMemoryIOManager(IOManager):
    """MemoryDatasets between steps, with the dataset hooks Kedro fires for them.

    Parameters
    ----------
    storage : IOManager
        Where values live: memory in-process (files too once a step fails), run-scoped pickles
        (``<base_dir>/<run_id>/<step>/<output>``, :class:`RunScopedPickles`) across processes, so
        a re-execution from failure finds its parent run's intermediates.
    run : KedroRunContext
        The run's Kedro context (the ``kedro_run`` resource).
    """

    def __init__(self, storage: IOManager, run: Any) -> None:
        self.storage = storage
        self.run = run
        self._listener: Callable[[str], None] | None = None

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Store a MemoryDataset between ``before/after_dataset_saved`` hooks.

        A generator node's output went through the hooks chunk by chunk: its last chunk is
        stored, as Kedro's MemoryDataset keeps it.
        """
        if self._listener is None and isinstance(self.storage, InProcessMemoryStorage):
            # Registered at the first output, not at init: the resources of a finished run
            # are initialised again, and touching `run` then would prepare a Kedro run.
            self._listener = self.storage.step_succeeded
            self.run.step_listeners.append(self._listener)
        with failure_recorded(self.run, context.step_key):
            self._handle_output(context, obj)

    def stop_releasing(self) -> None:
        """Stop hearing of the run's successful steps (the run's steps are over)."""
        if self._listener is not None:
            self.run.step_listeners.remove(self._listener)
            self._listener = None

    def _handle_output(self, context: OutputContext, obj: Any) -> None:
        if isinstance(obj, Streamed):
            self.storage.handle_output(context, obj.data)
            return
        name = context.definition_metadata.get(DATASET_METADATA_KEY, context.name)
        node = node_of(context.op_def)

        def write(data: Any) -> None:
            try:
                self.storage.handle_output(context, data)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                if isinstance(self.storage, InProcessMemoryStorage):
                    raise
                # Kedro's ParallelRunner refuses such data up front; only the value tells here.
                raise KedroDagsterError(
                    f"MemoryDataset '{name}' written by node '{getattr(node, 'name', '?')}' "
                    f"cannot be pickled to pass between processes ({type(exc).__name__}: {exc}). "
                    "Use the in_process executor for this job, or persist the dataset (declare "
                    "it in the catalog with a type that can save this data)."
                ) from exc

        self.run.io.save(name, obj, node, write)

    def load_input(self, context: InputContext) -> Any:
        """Load a MemoryDataset between ``before/after_dataset_loaded`` hooks."""
        name = context.definition_metadata.get(DATASET_METADATA_KEY, context.name)

        def read() -> Any:
            data = self.storage.load_input(context)
            if isinstance(self.storage, InProcessMemoryStorage):
                # Values read from pickles across processes are fresh copies already.
                data = self.run.io.memory_copy(name, data)
            return data

        with (
            failure_recorded(self.run, _consumer(context)),
            step_log_capture(context, self.run.redactor.redact),
        ):
            return self.run.io.load(name, node_of(context.op_def), read)


class RunScopedPickles(IOManager):
    """Pickles run intermediates under ``<base_dir>/<run_id>/<step>/<output>``.

    The paths of Dagster's filesystem IO manager (a re-execution from failure reads its parent
    run's files), without its "Writing file at" / "Loading file from" debug records: each is
    one more stored event per MemoryDataset, for files no Kedro user reads.

    Parameters
    ----------
    base_dir : str
        Folder of the run-scoped files (the instance's storage folder).
    """

    def __init__(self, base_dir: str) -> None:
        self.base_dir = base_dir

    def _path(self, context: InputContext | OutputContext) -> str:
        return os.path.join(self.base_dir, *context.get_identifier())

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        """Pickle ``obj`` to the output's run-scoped file."""
        path = self._path(context)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as file:
            pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)

    def load_input(self, context: InputContext) -> Any:
        """Unpickle the upstream output's run-scoped file."""
        with open(self._path(context), "rb") as file:
            return pickle.load(file)


def memory_io_manager(
    in_process: bool, base_dir: str | None = None, run_key: str = KEDRO_RUN_RESOURCE
) -> IOManagerDefinition:
    """Storage of a job's MemoryDatasets: memory in-process, run-scoped files otherwise.

    Parameters
    ----------
    in_process : bool
        Whether the job's executor runs every step in the run's process.
    base_dir : str, optional
        Local folder or fsspec URL (``s3://bucket/prefix``...) of the run-scoped files, shared
        by every worker of a distributed executor (``intermediate_storage`` in dagster.yml);
        the instance's storage directory (``$DAGSTER_HOME/storage``) by default.
    run_key : str
        Key of the job's ``kedro_run`` resource.
    """

    def init(init_context: Any) -> Iterator[KedroMemoryIOManager]:
        storage: IOManager
        instance = init_context.instance
        if in_process:
            # In memory; written to files only if a step fails (re-execution from failure).
            storage = InProcessMemoryStorage(instance.storage_directory())
        elif base_dir:
            # Imported when a run uses it: universal-pathlib is not needed to load definitions.
            from upath import UPath

            from kedro_dagster.runtime.upath_pickles import PickleUPathIOManager

            storage = PickleUPathIOManager(base_path=UPath(base_dir))
        else:
            storage = RunScopedPickles(instance.storage_directory())
        manager = KedroMemoryIOManager(storage, getattr(init_context.resources, run_key))
        try:
            yield manager
        finally:
            manager.stop_releasing()
        # After every step of the in-process run (one query per run).
        run = init_context.run
        if (
            isinstance(storage, InProcessMemoryStorage)
            and run is not None
            and storage.values
            and run_has_failed_step(instance, run.run_id)
        ):
            storage.spill()

    where = "in memory" if in_process else "in run-scoped files"
    return IOManagerDefinition(
        # A generator: Dagster tears it down after the run's steps in this process.
        resource_fn=init,  # type: ignore[arg-type]
        required_resource_keys={run_key},
        description=f"Kedro MemoryDatasets, kept {where}.",
    )
