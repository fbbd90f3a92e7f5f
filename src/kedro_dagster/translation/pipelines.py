"""Pipeline translation: a filtered Kedro pipeline becomes a Dagster job."""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    DependencyDefinition,
    ExecutorDefinition,
    Field,
    FilesystemIOManager,
    In,
    IOManagerDefinition,
    JobDefinition,
    LoggerDefinition,
    MultiDependencyDefinition,
    Nothing,
    OpDefinition,
    Out,
    Permissive,
    ResourceDefinition,
    RetryPolicy,
)
from kedro.pipeline import Pipeline

from kedro_dagster._dagster_internals import graph_definition
from kedro_dagster.config.models import JobOptions, PipelineOptions
from kedro_dagster.constants import (
    ENV_TAG,
    FILTERS_TAG,
    JOB_TAG,
    PIPELINE_TAG,
    START_INPUT,
    START_OUTPUT,
)
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.runtime.ops import EndCompute, StartCompute, is_parameter
from kedro_dagster.runtime.resources import KedroRunResourceFactory
from kedro_dagster.translation.catalog import (
    CatalogTranslator,
    arg_name,
    strip_transcoding,
)
from kedro_dagster.translation.loggers import LoggerCreator
from kedro_dagster.translation.names import AFTER_PIPELINE_RUN_OP, BEFORE_PIPELINE_RUN_OP, code
from kedro_dagster.translation.namespace import Namespace
from kedro_dagster.translation.nodes import NodeTranslator
from kedro_dagster.translation.params import config_field, used_parameters
from kedro_dagster.translation.partitions import upstream_producers

__all__ = ["PipelineTranslator", "default_io_manager", "filter_pipeline", "kedro_run_resource"]

_END_INPUT = "nodes_done"

#: ``PipelineOptions`` field -> key of Kedro's ``run_params`` hook argument.
_RUN_PARAM_KEYS = {
    "node_names": "node_names",
    "from_nodes": "from_nodes",
    "to_nodes": "to_nodes",
    "from_inputs": "from_inputs",
    "to_outputs": "to_outputs",
    "node_namespaces": "namespaces",
    "tags": "tags",
}


@cache
def default_io_manager() -> IOManagerDefinition:
    """Dagster's filesystem IO manager, for outputs no Kedro dataset stores (``Nothing``).

    One object per process, bound to every job and asset: Dagster then sees one resource, not
    conflicting ones. ``FilesystemIOManager`` replaces the superseded ``fs_io_manager``
    (same storage: the instance's storage folder), in every Dagster version we support.
    """
    return FilesystemIOManager().get_resource_definition()


def kedro_run_resource(
    project_path: Path,
    env: str,
    parameters: Mapping[str, Any],
    run_params: Mapping[str, Any] | None = None,
    starts_tracking: bool = False,
    row_count: bool = True,
    pipeline: Pipeline | None = None,
    params_field: Field | None = None,
) -> ResourceDefinition:
    """The ``kedro_run`` resource whose config holds the parameters a job uses.

    Parameters
    ----------
    project_path : Path
        Root of the Kedro project.
    env : str
        Kedro environment of the definitions.
    parameters : Mapping
        The parameter tree shown (and editable) in the launchpad.
    run_params : Mapping, optional
        ``run_params`` entries for pipeline hooks.
    starts_tracking : bool
        Whether its runs start their own MLflow run (assets: no start op).
    row_count : bool
        Whether materializations record the row and column counts of table outputs (the
        translator's ``enable_row_count``).
    pipeline : Pipeline, optional
        The job's filtered pipeline, for ``on_pipeline_error`` when a step of the job fails
        (none for assets, whose runs do not call it, as before).
    params_field : Field, optional
        The launchpad field of ``parameters`` when already built (see
        :meth:`PipelineTranslator.params_field`); built from ``parameters`` otherwise.
    """
    return ResourceDefinition(
        resource_fn=KedroRunResourceFactory(
            project_path,
            env,
            parameters,
            run_params,
            starts_tracking=starts_tracking,
            row_count=row_count,
            pipeline=pipeline,
        ),
        config_schema={
            "params": params_field if params_field is not None else config_field(dict(parameters)),
            "load_versions": Field(
                Permissive(),
                is_required=False,
                description="Version to load per Kedro dataset, as `kedro run --load-versions`.",
            ),
            # `params` refuses keys that are no parameter of the job (a typo); a runtime
            # parameter only the configuration reads (`${runtime_params:...}`) goes here.
            "runtime_params": Field(
                Permissive(),
                is_required=False,
                description="Runtime parameters that are no parameter of the job, read by "
                "`${runtime_params:...}` in the configuration, as `kedro run --params`.",
            ),
        },
        description="Kedro catalog, hooks and parameters of the run "
        "(`params` act as `kedro run --params`).",
    )


def filter_pipeline(
    pipelines: Mapping[str, Pipeline],
    job_name: str,
    options: PipelineOptions,
    file: str | None = None,
) -> Pipeline:
    """The job's pipeline, filtered as ``kedro run`` would filter it.

    Parameters
    ----------
    pipelines : Mapping of str to Pipeline
        The registered pipelines (``options.pipeline_name`` is known to be one of them).
    job_name : str
        The job, named in errors.
    options : PipelineOptions
        Pipeline name and filters.
    file : str, optional
        The ``dagster.yml`` file(s) declaring the job, named in errors.

    Returns
    -------
    Pipeline
    """
    pipeline = pipelines[options.pipeline_name]
    filters = options.filter_kwargs()
    if not pipeline.nodes:
        # `kedro run` refuses it too; as a job it would "succeed", firing the pipeline hooks.
        raise KedroDagsterConfigError(
            f"Job '{job_name}' runs pipeline '{options.pipeline_name}'"
            + (f" with filters {filters}" if filters else "")
            + ", which has no nodes (`kedro run` refuses it: 'Pipeline contains no nodes'). "
            f"Add nodes to '{options.pipeline_name}' in pipeline_registry.py, or remove the job.",
            file=file,
            key=("jobs", job_name, "pipeline"),
        )
    if not filters:
        return pipeline
    try:
        return pipeline.filter(**filters)
    except ValueError as exc:
        raise KedroDagsterConfigError(
            f"Job '{job_name}': filtering pipeline '{options.pipeline_name}' with {filters} "
            f"fails: {exc} Fix the job's 'pipeline' filters.",
            file=file,
            key=("jobs", job_name, "pipeline"),
        ) from None


class PipelineTranslator:
    """Builds one Dagster job per ``jobs`` entry from a filtered Kedro pipeline.

    Parameters
    ----------
    project_path : Path
        Root of the Kedro project.
    env : str
        Kedro environment.
    pipelines : Mapping of str to Pipeline
        The registered pipelines.
    parameters : Mapping
        The project's parameters in ``env``.
    catalog : CatalogTranslator
        Dataset records; its ``namespace`` also prefixes the start and end ops and the
        resource keys.
    nodes : NodeTranslator
        The shared node ops.
    config_file : str, optional
        The ``dagster.yml`` file(s) the jobs come from, named in errors.
    row_count : bool
        Whether job-run materializations record the row and column counts of table outputs.
    """

    def __init__(
        self,
        *,
        project_path: Path,
        env: str,
        pipelines: Mapping[str, Pipeline],
        parameters: Mapping[str, Any],
        catalog: CatalogTranslator,
        nodes: NodeTranslator,
        config_file: str | None = None,
        row_count: bool = True,
    ) -> None:
        self._namespace: Namespace = catalog.namespace
        self._config_file = config_file
        self._row_count = row_count
        self._job_parameters: dict[str, dict[str, Any]] = {}
        self._params_fields: dict[frozenset[str], Field] = {}
        self._subtree_fields: dict[Hashable, tuple[Field, Any]] = {}
        self._project_path = project_path
        self._env = env
        self._pipelines = pipelines
        self._parameters = parameters
        self._catalog = catalog
        self._nodes = nodes
        # One start and one end op for every job (Dagster refuses two op definitions of one
        # name): their bodies find the job's pipeline by the run's job name.
        self._pipeline_of_job: dict[str, Pipeline] = {}
        self._start_op = OpDefinition(
            compute_fn=StartCompute(self._pipeline_of_job, self._namespace.kedro_run),
            name=self._namespace(BEFORE_PIPELINE_RUN_OP),
            outs={START_OUTPUT: Out(Nothing)},
            required_resource_keys={self._namespace.kedro_run},
            description="Kedro hooks before the first node: `after_context_created`, "
            "`after_catalog_created`, `before_pipeline_run`.",
        )
        self._end_op = OpDefinition(
            compute_fn=EndCompute(self._pipeline_of_job, self._namespace.kedro_run),
            name=self._namespace(AFTER_PIPELINE_RUN_OP),
            ins={_END_INPUT: In(Nothing)},
            outs={},
            required_resource_keys={self._namespace.kedro_run},
            description="Kedro hook after every node: `after_pipeline_run`.",
        )

    def check_memory_inputs(self, job_name: str, pipeline: Pipeline) -> None:
        """Refuse a job whose nodes read a MemoryDataset no node of the job writes."""
        for name in sorted(pipeline.inputs()):
            if is_parameter(name) or not self._catalog.is_ephemeral(name):
                continue
            readers = sorted(n.name for n in pipeline.only_nodes_with_inputs(name).nodes)
            declared = name in self._catalog.declared_names
            what = (
                f"'{name}', a MemoryDataset that no node of the job writes, so it would be empty"
                if declared
                else f"'{name}', which is not declared in the catalog (Kedro would make it an "
                "empty MemoryDataset) and no node of the job writes"
            )
            raise KedroDagsterConfigError(
                f"Job '{job_name}': node(s) {', '.join(repr(r) for r in readers)} read {what}. "
                f"Declare '{name}' in the catalog (persist it) or widen the job's pipeline "
                "filters to include the node that produces it.",
                file=self._config_file,
                key=("jobs", job_name, "pipeline"),
            )

    def _op_dependencies(
        self,
        node: Any,
        op_def: OpDefinition,
        produced: Mapping[str, Mapping[str | None, tuple[str, str]]],
    ) -> dict[str, Any]:
        """The upstream outputs each input of one op waits for.

        Datasets the ops read and write themselves (Nothing-typed: partitioned and
        ordering-only datasets) may wait for several ops: a fanned-out op waits for the
        partitions its key maps from, a fan-in op for every partition.
        """
        selection = getattr(op_def.compute_fn, "selection", None)
        deps: dict[str, Any] = {}
        for name in node.inputs:
            if is_parameter(name):
                continue
            sources = produced.get(strip_transcoding(name))
            if not sources:
                continue
            if not self._catalog.is_direct(name):
                (source,) = sources.values()
                deps[arg_name(name)] = DependencyDefinition(*source)
                continue
            upstream = upstream_producers(selection, name, sources)
            if upstream:
                deps[arg_name(name)] = MultiDependencyDefinition(
                    [DependencyDefinition(*source) for source in upstream]
                )
        return deps

    def job_parameters(self, pipeline: Pipeline) -> dict[str, Any]:
        """The parameter tree a job's nodes read: its launchpad config and defaults."""
        return used_parameters(
            self._parameters, {i for node in pipeline.nodes for i in node.inputs}
        )

    def params_field(self, inputs: Iterable[str]) -> Field:
        """The launchpad field of the parameters that nodes with these inputs read.

        Built once per set of parameter names (the tree is a function of it): jobs reading the
        same parameters, and the assets of a job deploying every node, share it. Building a
        field validates each default at every level of the tree.
        """
        names = frozenset(name for name in inputs if is_parameter(name))
        field = self._params_fields.get(names)
        if field is None:
            field = self._params_fields[names] = config_field(
                used_parameters(self._parameters, names), self._subtree_fields
            )
        return field

    @property
    def parameters_by_job(self) -> dict[str, dict[str, Any]]:
        """The launchpad parameter tree of each job translated so far, by job name."""
        return dict(self._job_parameters)

    def run_params(self, options: PipelineOptions) -> dict[str, Any]:
        """The job's entries of Kedro's ``run_params`` (pipeline and filters)."""
        params: dict[str, Any] = {"pipeline_names": [options.pipeline_name]}
        for field_name, key in _RUN_PARAM_KEYS.items():
            params[key] = getattr(options, field_name)
        return params

    def _tags(self, job_name: str, options: PipelineOptions) -> dict[str, str]:
        return {
            ENV_TAG: self._env,
            PIPELINE_TAG: options.pipeline_name,
            FILTERS_TAG: json.dumps(options.filter_kwargs(), sort_keys=True),
            JOB_TAG: job_name,
        }

    def to_job(
        self,
        job_name: str,
        options: JobOptions,
        pipeline: Pipeline,
        *,
        executor_def: ExecutorDefinition,
        memory_io_manager: IOManagerDefinition,
        io_managers: Mapping[str, IOManagerDefinition],
        logger_defs: Mapping[str, LoggerDefinition] | None = None,
        op_retry_policy: RetryPolicy | None = None,
        graph_name: str | None = None,
    ) -> JobDefinition:
        """The Dagster job running ``pipeline``.

        Parameters
        ----------
        job_name : str
            Job name (validated).
        options : JobOptions
            The ``jobs`` entry.
        pipeline : Pipeline
            The filtered pipeline (see :meth:`filter_pipeline`).
        executor_def : ExecutorDefinition
            The job's executor.
        memory_io_manager : IOManagerDefinition
            Storage of the job's MemoryDatasets (memory or run-scoped files).
        io_managers : Mapping of str to IOManagerDefinition
            IO manager of each persisted dataset, by resource key (created once, shared).
        logger_defs : Mapping, optional
            Extra loggers.
        op_retry_policy : RetryPolicy, optional
            Retry policy of every node op (from the executor's ``retry_policy``).
        graph_name : str, optional
            The name of the job's graph: ``job_name`` by default. Dagster refuses a graph
            and an op of one repository sharing a name, as a job and one of its nodes may.

        Returns
        -------
        JobDefinition
        """
        self.check_memory_inputs(job_name, pipeline)
        nodes = pipeline.nodes
        self._pipeline_of_job[job_name] = pipeline
        start_name, end_name = self._start_op.name, self._end_op.name

        # Producer op and output of each dataset, by partition key (None: not fanned out).
        produced: dict[str, dict[str | None, tuple[str, str]]] = {}
        node_ops: list[tuple[Any, dict[str | None, OpDefinition]]] = []
        producer_of: dict[str, str] = {}
        for node in nodes:
            ops = self._nodes.get_ops(node)
            node_ops.append((node, ops))
            for output in node.outputs:
                writer = producer_of.setdefault(strip_transcoding(output), node.name)
                if writer != node.name:  # Kedro's Pipeline refuses it too; said with the job
                    raise KedroDagsterConfigError(
                        f"Job '{job_name}': dataset '{strip_transcoding(output)}' is written "
                        f"by two nodes, '{writer}' and '{node.name}'. A dataset has one "
                        "producer per job; rename one of the outputs or split the job.",
                        file=self._config_file,
                        key=("jobs", job_name, "pipeline"),
                    )
                produced[strip_transcoding(output)] = {
                    key: (op_def.name, arg_name(output)) for key, op_def in ops.items()
                }

        dependencies: dict[str, dict[str, Any]] = {}
        op_defs: list[OpDefinition] = []
        for node, ops in node_ops:
            for op_def in ops.values():
                op_defs.append(op_def)
                dependencies[op_def.name] = self._op_dependencies(node, op_def, produced)
                if not dependencies[op_def.name]:
                    dependencies[op_def.name] = {
                        START_INPUT: DependencyDefinition(start_name, START_OUTPUT)
                    }
        # The end op runs after every op: it waits for the last ones (no op of the job reads
        # their outputs), through their first output, which it does not load (Nothing).
        upstream = {
            source.node
            for deps in dependencies.values()
            for dep in deps.values()
            for source in dep.get_node_dependencies()
        }
        dependencies[end_name] = {
            _END_INPUT: MultiDependencyDefinition(
                [
                    DependencyDefinition(op_def.name, op_def.output_defs[0].name)
                    for op_def in op_defs
                    if op_def.name not in upstream
                ]
            )
        }

        used_inputs = {name for node in nodes for name in node.inputs}
        used = used_inputs.union(name for node in nodes for name in node.outputs)
        params = self.job_parameters(pipeline)
        self._job_parameters[job_name] = params
        job_io_managers = {
            key: io_managers[key]
            for name in used
            if not is_parameter(name) and (key := self._catalog.io_manager_key(name)) in io_managers
        }
        # Dagster's own ordering is O(ops x depth): see `graph_definition`.
        graph = graph_definition(
            name=graph_name or job_name,
            node_defs=[self._start_op, *op_defs, self._end_op],
            dependencies=dependencies,
            description=options.description
            or f"Kedro pipeline {code(options.pipeline.pipeline_name)}",
        )
        return graph.to_job(
            name=job_name,
            resource_defs={
                self._namespace.kedro_run: kedro_run_resource(
                    self._project_path,
                    self._env,
                    params,
                    self.run_params(options.pipeline),
                    row_count=self._row_count,
                    # In-run `on_pipeline_error`, at the teardown after a failed step.
                    pipeline=pipeline,
                    params_field=self.params_field(used_inputs),
                ),
                self._namespace.memory_io_manager: memory_io_manager,
                **job_io_managers,
                # The one the Definitions give assets: bound here too, a job missing it would be
                # copied whole by Definitions to attach it (about 10% of the load at 1000 nodes).
                "io_manager": default_io_manager(),
            },
            executor_def=executor_def,
            logger_defs=dict(logger_defs) if logger_defs else None,
            # Dagster only starts the loggers a run's config names: the job's default config
            # names Dagster's console logger and the loggers the job chose.
            config=LoggerCreator.run_config(options.loggers) if options.loggers else None,
            op_retry_policy=op_retry_policy,
            tags=self._tags(job_name, options.pipeline),
        )
