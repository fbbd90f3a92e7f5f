"""Bodies of the ops kedro-dagster builds: a node per op, the start and end of a job."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from dagster import Output
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from kedro_dagster.constants import DONE_OUTPUT, KEDRO_RUN_RESOURCE, START_OUTPUT

__all__ = [
    "AssetNodeCompute",
    "EndCompute",
    "NodeCompute",
    "StartCompute",
    "is_parameter",
    "node_of",
]


def is_parameter(dataset_name: str) -> bool:
    """Whether a node input is a parameter rather than a dataset."""
    return dataset_name == "parameters" or dataset_name.startswith("params:")


def node_of(op_def: Any) -> Node | None:
    """The Kedro node an op definition runs, or ``None`` for other ops."""
    return getattr(getattr(op_def, "compute_fn", None), "node", None)


def _run_resource(context: Any) -> Any:
    return getattr(context.resources, KEDRO_RUN_RESOURCE)


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
        ``Nothing`` (``DagsterNothingDataset``), which carry no value between ops.
    """

    def __init__(
        self,
        node: Node,
        input_args: Mapping[str, str],
        output_args: Mapping[str, str],
        direct: Iterable[str] = (),
    ) -> None:
        self.node = node
        self.input_args = dict(input_args)
        self.output_args = dict(output_args)
        self.direct = frozenset(direct)

    def _inputs(self, run: Any, loaded: Mapping[str, Any]) -> dict[str, Any]:
        inputs = {
            self.input_args[arg]: value for arg, value in loaded.items() if arg in self.input_args
        }
        for name in self.node.inputs:
            if is_parameter(name) or name in self.direct:
                inputs[name] = run.load(name, self.node)
        return inputs

    def _emit(self, run: Any, outputs: Mapping[str, Any]) -> Iterator[Output]:
        for dataset_name in self.node.outputs:
            if dataset_name not in self.output_args:
                continue
            value = outputs[dataset_name]
            if dataset_name in self.direct:
                run.save(dataset_name, value, self.node)
                value = None
            yield Output(value, self.output_args[dataset_name])

    def __call__(self, context, loaded: Mapping[str, Any]) -> Iterator[Output]:
        """Run the node and emit its outputs for the IO managers to save."""
        run = _run_resource(context)
        outputs = run.run_node(self.node, self._inputs(run, loaded))
        yield from self._emit(run, outputs)
        yield Output(None, DONE_OUTPUT)


class AssetNodeCompute(NodeCompute):
    """Multi-asset body: runs a node outside a job, e.g. when materializing from the asset graph.

    MemoryDatasets the node reads are recomputed in the same process by running the nodes that
    produce them (walking up until persisted datasets), since no job run holds them.

    Parameters
    ----------
    producers : Mapping of str to Node
        Node producing each MemoryDataset, for the recomputation.
    """

    def __init__(
        self,
        node: Node,
        input_args: Mapping[str, str],
        output_args: Mapping[str, str],
        producers: Mapping[str, Node],
        is_ephemeral: Any,
        direct: Iterable[str] = (),
    ) -> None:
        super().__init__(node, input_args, output_args, direct)
        self.producers = producers
        self.is_ephemeral = is_ephemeral

    def _compute_memory(self, run: Any, dataset_name: str, cache: dict[str, Any]) -> Any:
        if dataset_name not in cache:
            producer = self.producers[dataset_name]
            inputs = {}
            for name in producer.inputs:
                if is_parameter(name) or not self.is_ephemeral(name):
                    inputs[name] = run.load(name, producer)
                else:
                    inputs[name] = self._compute_memory(run, name, cache)
            cache.update(run.run_node(producer, inputs))
        return cache[dataset_name]

    def __call__(self, context, loaded: Mapping[str, Any]) -> Iterator[Output]:
        """Recompute memory inputs, run the node, emit its persisted outputs."""
        run = _run_resource(context)
        inputs = self._inputs(run, loaded)
        cache: dict[str, Any] = {}
        for name in self.node.inputs:
            if name not in inputs:
                inputs[name] = self._compute_memory(run, name, cache)
        outputs = run.run_node(self.node, inputs)
        yield from self._emit(run, outputs)


class StartCompute:
    """Start op of a job: context, catalog and ``before_pipeline_run`` hooks, once per run."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def __call__(self, context, _inputs: Mapping[str, Any]) -> Iterator[Output]:
        """Fire the hooks ``kedro run`` fires before the first node."""
        run = _run_resource(context)
        kedro_context = run.context
        run.hooks.after_context_created(context=kedro_context)
        run.hooks.after_catalog_created(
            catalog=run.catalog,
            conf_catalog=run.conf_catalog,
            conf_creds=kedro_context._get_config_credentials(),
            parameters=kedro_context._get_parameters(),
            save_version=run.save_version,
            load_versions=run.run_params.get("load_versions"),
        )
        run.hooks.before_pipeline_run(
            run_params=run.run_params, pipeline=self.pipeline, catalog=run.catalog
        )
        if "mlflow" in sys.modules:  # kedro-mlflow (or the project) imported it
            from kedro_dagster.runtime.mlflow import record_run

            record_run(context, run)
        yield Output(None, START_OUTPUT)


class EndCompute:
    """End op of a job, after every node op: the ``after_pipeline_run`` hook."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def __call__(self, context, _inputs: Mapping[str, Any]) -> Iterator[Output]:
        """Fire ``after_pipeline_run`` with Kedro's arguments."""
        run = _run_resource(context)
        run.join_tracking()
        run.hooks.after_pipeline_run(
            run_params=run.run_params, run_result={}, pipeline=self.pipeline, catalog=run.catalog
        )
        yield from ()
