"""Bodies of the ops kedro-dagster builds: a node per op, the start and end of a job."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from dagster import AssetKey, AssetMaterialization, Output
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from kedro_dagster import _kedro_internals as internals
from kedro_dagster._compat import quiet_kedro_config_loader
from kedro_dagster.constants import DONE_OUTPUT, KEDRO_RUN_RESOURCE, START_OUTPUT
from kedro_dagster.preflight import preflight_mode
from kedro_dagster.runtime.dataset_io import Streamed
from kedro_dagster.runtime.failures import failure_recorded
from kedro_dagster.runtime.log_capture import step_log_capture
from kedro_dagster.runtime.node_runner import confirm_datasets, node_of, run_node, unstreamed

__all__ = [
    "AssetNodeCompute",
    "EndCompute",
    "NodeCompute",
    "PartitionSelection",
    "StartCompute",
    "is_parameter",
    "node_of",
    "run_result",
]


def is_parameter(dataset_name: str) -> bool:
    """Whether a node input is a parameter rather than a dataset."""
    return dataset_name == "parameters" or dataset_name.startswith("params:")


def _discard_chunk(name: str, chunk: Any) -> None:
    """A chunk of a recomputed generator node: only its last value is used (see ``unstreamed``)."""


def _step_key(context: Any) -> str:
    """The key of the step an op body runs in (mapped and dynamic steps included)."""
    return context.get_step_execution_context().step.key


def _run_resource(context: Any, key: str) -> Any:
    return getattr(context.resources, key)


def _preflight(run: Any, names: Iterable[str], headline: str, credentials: Any = None) -> None:
    """Create (not load) the datasets ``names`` through the run's catalog: bad entries fail here.

    ``KEDRO_DAGSTER_PREFLIGHT=off`` skips it.
    """
    if preflight_mode() == "off":
        return
    from kedro_dagster.preflight.datasets import check_datasets, secret_values

    if credentials is None:
        # Through Kedro's config loader and its omegaconf deprecation warning.
        with quiet_kedro_config_loader():
            credentials = internals.config_credentials(run.context)
    check_datasets(
        run.catalog,
        [name for name in names if not is_parameter(name)],
        config_loader=run.context.config_loader,
        headline=headline,
        secrets=secret_values(credentials),
    )


@dataclass(frozen=True)
class PartitionSelection:
    """What one fanned-out op of a node reads and writes: one partition key.

    Attributes
    ----------
    key : str
        The partition key the op writes.
    reads : Mapping of str to tuple of str
        Partitioned input -> the upstream partition keys mapped to ``key``.
    writes : tuple of str
        The partitioned outputs (each saved for ``key`` only).
    asset_keys : Mapping of str to AssetKey
        Dagster asset key of each partitioned output (the translator's), for materialization
        events of job runs.
    """

    key: str
    reads: Mapping[str, tuple[str, ...]]
    writes: tuple[str, ...]
    asset_keys: Mapping[str, AssetKey] = field(default_factory=dict)


class _CallSignature:
    """``__signature__`` of an op body instance: its ``__call__`` without ``self``, made once.

    Dagster inspects the signature of every compute function it is given (whether its first
    parameter is an annotated ``context``); for a callable object ``inspect`` works it out
    from ``__call__`` each time, about a quarter of building an op. The class itself has
    none (``AttributeError``): its signature stays its constructor's.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._signatures: dict[type, inspect.Signature] = {}

    def __get__(self, instance: Any, owner: type) -> inspect.Signature:
        if instance is None:
            raise AttributeError("__signature__")
        signature = self._signatures.get(owner)
        if signature is None:
            full = inspect.signature(owner.__call__)
            signature = full.replace(parameters=list(full.parameters.values())[1:])
            self._signatures[owner] = signature
        return signature


class NodeCompute:
    """Op body running one Kedro node in a job (an ``OpDefinition`` compute function).

    Parameters
    ----------
    node : Node
        The Kedro node.
    input_args : Mapping of str to str
        Dagster input name to Kedro dataset name, for the node's dataset inputs.
    output_args : Mapping of str to str
        Kedro dataset name to Dagster output name, for the outputs to emit.
    direct : Iterable of str, optional
        Datasets the op body loads and saves itself through the catalog: those of Dagster type
        ``Nothing`` (``DagsterNothingDataset``, and ``DagsterPartitionedDataset``, whose
        partitions are read and written by key), which carry no value between ops.
    selection : PartitionSelection, optional
        The partition this op runs for, when the node is fanned out.
    run_key : str
        Key of the ``kedro_run`` resource (namespaced when two projects share a repository).
    """

    __signature__ = _CallSignature()

    def __init__(
        self,
        node: Node,
        input_args: Mapping[str, str],
        output_args: Mapping[str, str],
        direct: Iterable[str] = (),
        selection: PartitionSelection | None = None,
        run_key: str = KEDRO_RUN_RESOURCE,
    ) -> None:
        self.run_key = run_key
        self.node = node
        self.input_args = dict(input_args)
        self.output_args = dict(output_args)
        self.direct = frozenset(direct)
        self.selection = selection

    def _inputs(
        self, run: Any, loaded: Mapping[str, Any], selection: PartitionSelection | None
    ) -> dict[str, Any]:
        inputs = {
            self.input_args[arg]: value for arg, value in loaded.items() if arg in self.input_args
        }
        for name in self.node.inputs:
            if selection is not None and name in selection.reads:
                inputs[name] = run.io.load_partitions(name, selection.reads[name], self.node)
            elif is_parameter(name) or name in self.direct:
                inputs[name] = run.io.load(name, self.node)
        return inputs

    def _saver(
        self, context: Any, run: Any, selection: PartitionSelection | None
    ) -> Callable[[str, Any], None]:
        """Saves one chunk of a generator node's output, as ``_save_direct`` saves outputs."""

        def save(name: str, chunk: Any) -> None:
            if name in self.direct and selection is not None and name in selection.writes:
                self._save_partition(context, run, name, chunk, selection)
            else:
                run.io.save_chunk(name, chunk, self.node)

        return save

    def _run(
        self, context: Any, run: Any, inputs: Mapping[str, Any], selection: Any
    ) -> dict[str, Any]:
        outputs = run_node(run, self.node, inputs, self._saver(context, run, selection))
        self._save_direct(context, run, outputs, selection)
        return outputs

    def _save_partition(
        self, context: Any, run: Any, name: str, data: Any, selection: PartitionSelection
    ) -> None:
        metadata = run.io.save_partition(name, selection.key, data, self.node)
        if context.has_assets_def:
            # Dagster records the materialization of each key of the run; metadata fits
            # one partition only.
            if not context.has_partition_key_range:
                context.add_output_metadata(metadata, output_name=self.output_args[name])
            return
        asset_key = selection.asset_keys.get(name)
        if asset_key is not None:
            context.log_event(
                AssetMaterialization(
                    asset_key=asset_key, partition=selection.key, metadata=metadata
                )
            )

    def _save_direct(
        self, context: Any, run: Any, outputs: Mapping[str, Any], selection: Any
    ) -> None:
        """Save the outputs the op body writes itself (Nothing-typed between ops)."""
        for name in self.node.outputs:
            if name not in self.direct or name not in self.output_args:
                continue
            if isinstance(outputs[name], Streamed):  # saved chunk by chunk already
                continue
            if selection is None or name not in selection.writes:
                run.io.save(name, outputs[name], self.node)
            else:
                self._save_partition(context, run, name, outputs[name], selection)

    def _emit(self, outputs: Mapping[str, Any]) -> Iterator[Output]:
        for dataset_name in self.node.outputs:
            if dataset_name not in self.output_args:
                continue
            value = None if dataset_name in self.direct else outputs[dataset_name]
            yield Output(value, self.output_args[dataset_name])

    def __call__(self, context, loaded: Mapping[str, Any]) -> Iterator[Output]:
        """Run the node and emit its outputs for the IO managers to save."""
        # The IO managers save each output before the generator resumes: inside the capture.
        run = _run_resource(context, self.run_key)
        with (
            failure_recorded(run, _step_key(context)),
            step_log_capture(context, run.redactor.redact),
        ):
            selection = self.selection
            outputs = self._run(context, run, self._inputs(run, loaded, selection), selection)
            yield from self._emit(outputs)
            confirm_datasets(run, self.node)
            run.step_succeeded(_step_key(context))
            if not self.output_args:  # what the end op waits for (see NodeTranslator)
                yield Output(None, DONE_OUTPUT)


class AssetNodeCompute(NodeCompute):
    """Multi-asset body: runs a node outside a job, e.g. when materializing from the asset graph.

    MemoryDatasets the node reads are recomputed in the same process by running the nodes that
    produce them (walking up until persisted datasets), since no job run holds them. A
    partitioned node runs once for each partition key of the Dagster run (one key, or a
    range in a single-run backfill).

    Parameters
    ----------
    producers : Mapping of str to Node
        Node producing each MemoryDataset, for the recomputation.
    is_ephemeral : Callable
        Whether a dataset name is a MemoryDataset.
    selections : Mapping of str to PartitionSelection, optional
        What to read and write for each partition key, when the node is fanned out.
    """

    def __init__(
        self,
        node: Node,
        input_args: Mapping[str, str],
        output_args: Mapping[str, str],
        producers: Mapping[str, Node],
        is_ephemeral: Any,
        direct: Iterable[str] = (),
        selections: Mapping[str, PartitionSelection] | None = None,
        run_key: str = KEDRO_RUN_RESOURCE,
    ) -> None:
        super().__init__(node, input_args, output_args, direct, run_key=run_key)
        self.producers = producers
        self.is_ephemeral = is_ephemeral
        self.selections = dict(selections) if selections else None

    def _datasets(self) -> list[str]:
        """The datasets this step uses: the node's, and those of the memory inputs it recomputes."""
        names: dict[str, None] = {}
        pending = [self.node]
        seen: set[str] = set()
        while pending:
            node = pending.pop()
            if node.name in seen:
                continue
            seen.add(node.name)
            for name in (*node.inputs, *node.outputs):
                names[name] = None
            for name in node.inputs:
                producer = self.producers.get(name)
                if producer is not None and not is_parameter(name) and self.is_ephemeral(name):
                    pending.append(producer)
        return list(names)

    def _memory_input(self, run: Any, dataset_name: str, reader: Node, cache: dict) -> Any:
        """A MemoryDataset for ``reader``, computed once per step.

        Read as from Kedro's MemoryDataset: between the dataset hooks, each reader getting its
        own copy (a node changing its input in place does not change what the next reader gets).
        """
        if dataset_name not in cache:
            self._compute_memory(run, dataset_name, cache)
        value = cache[dataset_name]
        return run.io.load(dataset_name, reader, lambda: run.io.memory_copy(dataset_name, value))

    def _compute_memory(self, run: Any, dataset_name: str, cache: dict[str, Any]) -> None:
        producer = self.producers[dataset_name]
        inputs = {}
        for name in producer.inputs:
            if is_parameter(name) or not self.is_ephemeral(name):
                inputs[name] = run.io.load(name, producer)
            else:
                inputs[name] = self._memory_input(run, name, producer, cache)
        # Only the MemoryDatasets are kept, saved between the dataset hooks: a recomputed
        # node's persisted outputs are not saved (nor the chunks of a generator node, consumed
        # to their last).
        outputs = unstreamed(run_node(run, producer, inputs, _discard_chunk))
        for name, data in outputs.items():
            if self.is_ephemeral(name):
                run.io.save(name, data, producer, partial(cache.__setitem__, name))

    def _run_once(
        self,
        context: Any,
        run: Any,
        loaded: Mapping[str, Any],
        selection: PartitionSelection | None,
        cache: dict[str, Any],
    ) -> dict[str, Any]:
        inputs = self._inputs(run, loaded, selection)
        for name in self.node.inputs:
            if name not in inputs:
                inputs[name] = self._memory_input(run, name, self.node, cache)
        return self._run(context, run, inputs, selection)

    def __call__(self, context, loaded: Mapping[str, Any]) -> Iterator[Output]:
        """Recompute memory inputs, run the node, emit its persisted outputs.

        The step joins (or starts) the run's MLflow run, and ends it once its outputs are
        saved: runs of assets have no end op.
        """
        run = _run_resource(context, self.run_key)
        with step_log_capture(context, run.redactor.redact):
            yield from self._materialize(context, run, loaded)

    def _materialize(self, context: Any, run: Any, loaded: Mapping[str, Any]) -> Iterator[Output]:
        # Assets have no start op: each step checks the datasets it reads and writes.
        _preflight(
            run,
            self._datasets(),
            f"Node '{self.node.name}' was not run",
        )
        cache: dict[str, Any] = {}
        done = False
        try:
            run.join_tracking()
            if self.selections is None:
                outputs = self._run_once(context, run, loaded, None, cache)
            else:
                for key in context.partition_keys:
                    outputs = self._run_once(context, run, loaded, self.selections[key], cache)
            # The IO managers save each output (with its materialization) before the
            # generator resumes: the MLflow run is still active for them.
            yield from self._emit(outputs)
            confirm_datasets(run, self.node)
            done = True
        finally:
            run.end_tracking_step(failed=not done)


class _JobPipelines:
    """Body shared by one op of every job: it finds the job's pipeline by the run's job name.

    Parameters
    ----------
    pipelines : Mapping of str to Pipeline
        Each job's filtered pipeline, by job name (filled while the jobs are built).
    run_key : str
        Key of the ``kedro_run`` resource.
    """

    def __init__(
        self, pipelines: Mapping[str, Pipeline], run_key: str = KEDRO_RUN_RESOURCE
    ) -> None:
        self.pipelines = pipelines
        self.run_key = run_key

    def pipeline(self, context: Any) -> Pipeline:
        """The pipeline of the job ``context`` runs in."""
        return self.pipelines[context.job_name]


class StartCompute(_JobPipelines):
    """Start op of every job: ``before_pipeline_run``, once per run.

    The context and catalog hooks fired when its process was prepared (see the
    ``kedro_run`` resource), as they do in every process running steps of the run.

    It also constructs every dataset of the job (the preflight), so a wrong dataset ``type``
    or a missing constructor argument fails the run before any node computes.
    """

    def __call__(self, context, _inputs: Mapping[str, Any]) -> Iterator[Output]:
        """Fire the hooks ``kedro run`` fires before the first node."""
        run = _run_resource(context, self.run_key)
        with (
            failure_recorded(run, _step_key(context)),
            step_log_capture(context, run.redactor.redact),
        ):
            run.redactor.call(self._start, context, run)
        yield Output(None, START_OUTPUT)

    def _start(self, context: Any, run: Any) -> None:
        run.prepare_process()  # done by the resource already: a no-op
        pipeline = self.pipeline(context)
        # Every dataset of the job is created (not loaded) now, once the catalog hooks have
        # run and before `before_pipeline_run`: a bad catalog entry stops the run here.
        _preflight(
            run, pipeline.datasets(), f"Job '{context.job_name}' stopped before its first node"
        )
        run.hooks.before_pipeline_run(
            run_params=run.run_params, pipeline=pipeline, catalog=run.catalog
        )
        run.pipeline_started(context.log)


def run_result(catalog: Any, pipeline: Pipeline) -> dict[str, Any]:
    """What Kedro's runner returns: each free output of the pipeline and its catalog dataset.

    The datasets are not loaded (as in Kedro 1.7). A MemoryDataset free output is the run
    catalog's dataset of this process: its data stayed with the step that produced it.
    """
    return {
        name: catalog.get(name, fallback_to_runtime_pattern=True) for name in pipeline.outputs()
    }


class EndCompute(_JobPipelines):
    """End op of every job, after every node op: the ``after_pipeline_run`` hook."""

    def __call__(self, context, _inputs: Mapping[str, Any]) -> Iterator[Output]:
        """Fire ``after_pipeline_run`` with Kedro's arguments."""
        run = _run_resource(context, self.run_key)
        with (
            failure_recorded(run, _step_key(context)),
            step_log_capture(context, run.redactor.redact),
        ):
            run.join_tracking()
            pipeline = self.pipeline(context)
            run.hooks.after_pipeline_run(
                run_params=run.run_params,
                run_result=run_result(run.catalog, pipeline),
                pipeline=pipeline,
                catalog=run.catalog,
            )
        yield from ()
