"""The whole translation: a Kedro project and its ``dagster.yml`` to one ``dagster.Definitions``."""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetSpec, Definitions, JobDefinition
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from kedro_dagster._dagster_internals import default_loggers
from kedro_dagster.config import KedroDagsterConfig, load_config
from kedro_dagster.errors import KedroDagsterConfigError, KedroDagsterError
from kedro_dagster.preflight import preflight_mode
from kedro_dagster.project import KedroProject
from kedro_dagster.runtime.hooks import PipelineErrorSensor
from kedro_dagster.runtime.io_managers import memory_io_manager
from kedro_dagster.runtime.ops import is_parameter
from kedro_dagster.translation.cache import cached_definitions
from kedro_dagster.translation.catalog import CatalogTranslator, strip_transcoding
from kedro_dagster.translation.executors import ExecutorCreator
from kedro_dagster.translation.gc_pause import gc_paused
from kedro_dagster.translation.hooks import PIPELINE_ERROR_SENSOR, pipeline_error_sensor
from kedro_dagster.translation.legacy import DagsterCodeLocation, code_location
from kedro_dagster.translation.loggers import LoggerCreator
from kedro_dagster.translation.names import HOOK_OPS, OpNames, unique_nodes
from kedro_dagster.translation.namespace import Namespace
from kedro_dagster.translation.nodes import NodeTranslator
from kedro_dagster.translation.params import used_parameters
from kedro_dagster.translation.partitions import PartitionPlanner
from kedro_dagster.translation.pipelines import (
    PipelineTranslator,
    default_io_manager,
    filter_pipeline,
    kedro_run_resource,
)
from kedro_dagster.translation.preflight import (
    check_catalog_config,
    check_parameters,
    check_single_process,
    construct_datasets,
)
from kedro_dagster.translation.schedules import ScheduleCreator
from kedro_dagster.translation.translator import (
    KedroDagsterTranslator,
    KedroDagsterTranslatorSettings,
)
from kedro_dagster.translation.validators import standalone_checks

__all__ = ["KedroProjectTranslator"]

logger = logging.getLogger(__name__)

_DEFAULT_PIPELINE = "__default__"
_INVALID_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _group_name(name: str) -> str:
    return _INVALID_GROUP_CHARS.sub("_", name)


class KedroProjectTranslator:
    """Translates a Kedro project into Dagster definitions.

    Parameters
    ----------
    project_path : str or Path, optional
        Root of the Kedro project; the current directory by default.
    env : str, optional
        Kedro environment; ``KEDRO_ENV`` or the project's default run env when unset.
    translator : KedroDagsterTranslator, optional
        How datasets appear in Dagster (asset keys, groups, owners, tags, automation
        conditions): an instance, parametrised with :class:`KedroDagsterTranslatorSettings`
        or of a subclass.
    catalog_translator_class : type, optional
        A :class:`CatalogTranslator` subclass, to customize asset specs (the earlier
        extension point; ``translator`` is the one to use).
    namespace : str, optional
        Prepended with ``__`` to every name Dagster requires unique in a code location: jobs,
        schedules, the failure sensor, ops and resource keys (``<namespace>__kedro_run``), so
        that two Kedro projects (jobs named ``__default__`` in both) load in one code location.
        Asset keys are the translator's (``KedroProjectComponent`` prefixes them).

    Examples
    --------
    In ``definitions.py``::

        defs = KedroProjectTranslator(project_path=Path(__file__).parents[2]).to_definitions()
    """

    def __init__(
        self,
        project_path: str | Path | None = None,
        env: str | None = None,
        *,
        translator: KedroDagsterTranslator | None = None,
        catalog_translator_class: type[CatalogTranslator] = CatalogTranslator,
        namespace: str | None = None,
    ) -> None:
        self.project_path = Path(project_path or Path.cwd())
        self.env = env
        self.translator = translator or KedroDagsterTranslator()
        self.catalog_translator_class = catalog_translator_class
        self.namespace = namespace

    def to_definitions(self) -> Definitions:
        """Read the project once and build every asset, job, schedule and resource.

        Returns
        -------
        Definitions
        """
        try:
            return cached_definitions(self._cache_key(), self.project_path, self._translate)
        except KedroDagsterError as error:
            # The message names the file, the key and the fix: our frames would only bury it
            # under a stack trace in `dg` and in the UI's code location error.
            raise error.with_traceback(None)  # noqa: B904 (the same exception, re-raised)

    def _cache_key(self) -> Hashable:
        """What this translation depends on, besides the files and ``KEDRO*`` variables."""
        translator = self.translator
        settings = getattr(translator, "settings", None)
        try:
            settings_key = settings.model_dump_json() if settings is not None else None
        except Exception:  # an automation condition pydantic cannot serialise
            settings_key = repr(settings)
        # A subclass may hold more state: its repr (an object address unless defined) keys it.
        state = getattr(translator, "__dict__", {})
        others = repr(sorted((k, v) for k, v in state.items() if k != "settings"))
        return (
            str(self.project_path.expanduser().resolve()),
            self.env,
            type(translator),
            settings_key,
            others,
            self.catalog_translator_class,
            self.namespace,
        )

    def _translate(self) -> tuple[Definitions, Path | None]:
        """The definitions and the configuration folder they were read from."""
        with gc_paused():  # no collection walks the heap this builds (see gc_pause)
            return self._build()

    def _build(self) -> tuple[Definitions, Path | None]:
        project = KedroProject.load(self.project_path, self.env)
        config = load_config(project)
        if preflight_mode() != "off":
            check_catalog_config(project)  # before the catalog is built from it
        if self.namespace:
            # Renamed before translation: runs and the failure sensor find a job's
            # pipeline by its Dagster name, which must then be the namespaced one.
            config = config.model_copy(
                update={"jobs": {f"{self.namespace}__{n}": j for n, j in config.jobs.items()}}
            )
        definitions = _Translation(
            project, config, self.catalog_translator_class, self.translator, self.namespace
        ).definitions()
        return definitions, project.conf_source

    def to_dagster(self) -> DagsterCodeLocation:
        """The translation as kedro-dagster 0.x gave it: ``named_*`` mappings of definitions.

        For ``definitions.py`` files generated by 0.x; new code uses :meth:`to_definitions`.
        An ``env`` given to this translator is honoured unless ``KEDRO_ENV`` names another,
        with one warning saying to regenerate the file (``kedro dagster init --force``).

        Returns
        -------
        DagsterCodeLocation
            ``named_assets``, ``named_resources``, ``named_jobs``, ``named_schedules``,
            ``named_sensors``, ``named_executors`` and ``named_loggers``.
        """
        return code_location(self)


class _Translation:
    """One translation run; holds the shared state so each step is linear in nodes."""

    def __init__(
        self,
        project: KedroProject,
        config: KedroDagsterConfig,
        catalog_translator_class: type[CatalogTranslator],
        translator: KedroDagsterTranslator,
        namespace: str | None = None,
    ) -> None:
        self.project = project
        self.config = config
        self.names = Namespace(namespace)
        self.catalog = catalog_translator_class(project.catalog)
        self.catalog.translator = translator
        self.catalog.namespace = self.names
        # A subclass may not call `KedroDagsterTranslator.__init__`: default switches then.
        self.settings = getattr(translator, "settings", None) or KedroDagsterTranslatorSettings()
        self.executors = ExecutorCreator(project.package_name)
        self.schedules = ScheduleCreator()
        self.loggers = LoggerCreator()

    def definitions(self) -> Definitions:
        project, config = self.project, self.config
        pipelines = project.pipelines
        job_pipelines: dict[str, Pipeline] = {}
        config_file = " + ".join(str(f) for f in project.config_files("dagster")) or None

        # Filter once per job; ops are then shared by every job containing the node.
        for job_name, job in config.jobs.items():
            job_pipelines[job_name] = filter_pipeline(
                pipelines, job_name, job.pipeline, file=config_file
            )

        # Every node of every job once, in a stable (topological, then job) order.
        deployed = unique_nodes(job_pipelines.values())
        mode = preflight_mode()
        if mode != "off":
            check_parameters(project, deployed.values())
        if mode == "full":
            construct_datasets(project, self._all_datasets(deployed))
        if mode != "off":
            check_single_process(self._multi_process_jobs(job_pipelines), self.catalog, config_file)
        producers = self._producers(deployed, pipelines.get(_DEFAULT_PIPELINE))
        op_names = OpNames(pipelines, self.names)
        self._check_name_clashes(deployed, op_names)
        groups = self._node_groups(pipelines, deployed)
        partitions = PartitionPlanner(self.catalog, lambda: self._known_datasets(pipelines))
        nodes = NodeTranslator(
            self.catalog,
            producers,
            groups.get,
            partitions,
            op_names,
            code_references=self.settings.enable_code_references,
        )
        pipeline_translator = PipelineTranslator(
            project_path=project.project_path,
            env=project.env,
            pipelines=pipelines,
            parameters=project.parameters,
            catalog=self.catalog,
            nodes=nodes,
            config_file=config_file,
            row_count=self.settings.enable_row_count,
        )

        logger_defs = {
            name: self.loggers.create(name, options) for name, options in config.loggers.items()
        }
        io_managers = {
            self.catalog.io_manager_key(name): self.catalog.io_manager(self.catalog.dataset(name))
            for name in self._persisted_datasets(deployed)
        }
        jobs: list[JobDefinition] = []
        schedules = []
        op_names_taken = self._op_names_taken(deployed, nodes, op_names)
        for job_name, job in config.jobs.items():
            executor = config.executor(job.executor or "in_process")
            assert executor is not None  # checked by the config loader
            job_loggers = (
                {**default_loggers(), **{n: logger_defs[n] for n in job.loggers}}
                if job.loggers
                else None
            )
            job_def = pipeline_translator.to_job(
                job_name,
                job,
                job_pipelines[job_name],
                executor_def=self.executors.create(executor, op_names.of_name),
                memory_io_manager=memory_io_manager(
                    executor.in_process, config.intermediate_storage, self.names.kedro_run
                ),
                io_managers=io_managers,
                logger_defs=job_loggers,
                op_retry_policy=self.executors.retry_policy(executor),
                graph_name=_graph_name(job_name, op_names_taken),
            )
            jobs.append(job_def)
            if job.schedule:
                schedules.append(
                    self.schedules.create(job_def, job.schedule, config.schedules[job.schedule])
                )

        # Each asset is bound to the few resources it uses: binding the whole set of IO
        # managers to every asset (Definitions-level resources) costs assets x datasets.
        deployed_inputs = {i for node in deployed.values() for i in node.inputs}
        asset_run = kedro_run_resource(
            project.project_path,
            project.env,
            used_parameters(project.parameters, deployed_inputs),
            starts_tracking=True,  # asset runs have no start op to start an MLflow run
            row_count=self.settings.enable_row_count,
            params_field=pipeline_translator.params_field(deployed_inputs),
        )
        assets: list[Any] = []
        for node in deployed.values():
            needed = {
                key: io_managers[key]
                for name in (*node.inputs, *node.outputs)
                if (key := self.catalog.io_manager_key(name)) in io_managers
            }
            # The default IO manager, bound explicitly to every asset (one object, so assets
            # never disagree): Dagster requires it even for Nothing-typed outputs
            # (DagsterNothingDataset), for which it stores nothing. Bound as the asset is
            # built: `with_resources` would build every asset twice (Definitions copies each
            # once more to bind its own resources).
            needed["io_manager"] = default_io_manager()
            asset = nodes.get_asset(node, {self.names.kedro_run: asset_run, **needed})
            if asset is not None:
                assets.append(asset)
        assets.extend(self._external_assets(deployed, producers, groups))
        assets.extend(
            check.with_resources(
                {self.names.kedro_run: asset_run, "io_manager": default_io_manager()}
            )
            for check in standalone_checks(
                self.catalog,
                self._all_datasets(deployed),
                lambda name: strip_transcoding(name) in producers,
            )
        )
        logger.debug(
            "Translated %d nodes into %d jobs and %d asset definitions",
            len(deployed),
            len(jobs),
            len(assets),
        )
        sensors = []
        if jobs:
            sensors.append(
                pipeline_error_sensor(
                    jobs,
                    PipelineErrorSensor(
                        project.project_path,
                        project.env,
                        pipelines=job_pipelines,
                        params_defaults=pipeline_translator.parameters_by_job,
                        run_params={
                            name: pipeline_translator.run_params(job.pipeline)
                            for name, job in config.jobs.items()
                        },
                        run_key=self.names.kedro_run,
                    ),
                    name=self.names(PIPELINE_ERROR_SENSOR),
                )
            )
        return Definitions(
            assets=assets,
            jobs=jobs,
            schedules=schedules,
            sensors=sensors,
            resources={"io_manager": default_io_manager()},
        )

    def _multi_process_jobs(
        self, job_pipelines: Mapping[str, Pipeline]
    ) -> list[tuple[str, str, Pipeline]]:
        """(job, executor, pipeline) of each job whose executor runs steps in other processes."""
        jobs = []
        for job_name, job in self.config.jobs.items():
            name = job.executor or "in_process"
            executor = self.config.executor(name)
            if executor is not None and not executor.in_process:
                jobs.append((job_name, name, job_pipelines[job_name]))
        return jobs

    @staticmethod
    def _producers(
        deployed: Mapping[str, Node], default: Pipeline | None = None
    ) -> dict[str, Node]:
        """The node whose asset is each dataset (transcoding removed).

        Registered pipelines may write one dataset from different nodes (``train_v1`` and
        ``train_v2`` both writing ``model``); a job holds only one of them (Kedro refuses two
        writers in one pipeline). The asset graph shows the ``__default__`` pipeline's writer,
        else the first job's; every job still writes the dataset and records materializations
        of that one asset key.
        """
        in_default = {n.name for n in default.nodes} if default is not None else set()
        producers: dict[str, Node] = {}
        for node in deployed.values():
            for output in node.outputs:
                key = strip_transcoding(output)
                other = producers.setdefault(key, node)
                if other is not node and node.name in in_default and other.name not in in_default:
                    producers[key] = node
        return producers

    def _check_name_clashes(self, deployed: Mapping[str, Node], op_name: OpNames) -> None:
        """Two Kedro names mapping to one Dagster name are an error naming both."""
        op_names: dict[str, str] = {}
        registry = f"'{self.project.package_name}.pipeline_registry'"
        hook_ops = {op_name.hook_op(hook): hook for hook in HOOK_OPS}
        for name, node in deployed.items():
            op = op_name(node)
            if op in hook_ops:
                raise KedroDagsterConfigError(
                    f"Node '{name}' (registered in {registry}) maps to the Dagster op name "
                    f"'{op}', the name of the op calling Kedro's {hook_ops[op]} hooks in every "
                    "job. "
                    "Rename the node (`node(..., name=...)`).",
                )
            other = op_names.setdefault(op, name)
            if other != name:
                raise KedroDagsterConfigError(
                    f"Nodes '{other}' and '{name}' both map to the Dagster op name "
                    f"'{op}'. Rename one of them.",
                )
        assets: dict[str, str] = {}
        for name in self._all_datasets(deployed):
            asset = self.catalog.dataset(name).asset_name
            other = assets.setdefault(asset, strip_transcoding(name))
            if other != strip_transcoding(name):
                raise KedroDagsterConfigError(
                    f"Datasets '{other}' and '{name}' both map to the Dagster asset name "
                    f"'{asset}'. Rename one of them.",
                )

    @staticmethod
    def _op_names_taken(
        deployed: Mapping[str, Node], nodes: NodeTranslator, op_names: OpNames
    ) -> set[str]:
        """Every op name of the definitions: of the node ops, asset ops and hook ops."""
        taken = {op_names.hook_op(hook) for hook in HOOK_OPS}
        for node in deployed.values():
            taken.update(op.name for op in nodes.get_ops(node).values())
            taken.add(nodes.asset_op_name(node))
        return taken

    @staticmethod
    def _all_datasets(deployed: Mapping[str, Node]) -> list[str]:
        names: dict[str, None] = {}
        for node in deployed.values():
            for name in (*node.inputs, *node.outputs):
                if not is_parameter(name):
                    names[name] = None
        return list(names)

    def _persisted_datasets(self, deployed: Mapping[str, Node]) -> list[str]:
        """Datasets with an IO manager: not in memory, not read and written by the ops."""
        catalog = self.catalog
        return [
            n
            for n in self._all_datasets(deployed)
            if not catalog.is_ephemeral(n) and not catalog.is_direct(n)
        ]

    def _known_datasets(self, pipelines: Mapping[str, Pipeline]) -> set[str]:
        """Dataset names of every registered pipeline and of the catalog configuration."""
        names = set(self.catalog.declared_names)
        for pipeline in pipelines.values():
            names.update(n for n in pipeline.datasets() if not is_parameter(n))
        return names

    @staticmethod
    def _node_groups(
        pipelines: Mapping[str, Pipeline], deployed: Mapping[str, Node]
    ) -> dict[str, str]:
        """Default asset group of each node: the first registered pipeline holding it."""
        groups: dict[str, str] = {}
        for name, pipeline in pipelines.items():
            if name == _DEFAULT_PIPELINE:
                continue
            group = _group_name(name)
            for node in pipeline.nodes:
                groups.setdefault(node.name, group)
        for node in deployed.values():
            if node.name not in groups:
                groups[node.name] = (
                    _group_name(node.namespace.split(".")[0]) if node.namespace else "default"
                )
        return groups

    def _external_assets(
        self,
        deployed: Mapping[str, Node],
        producers: Mapping[str, Node],
        groups: Mapping[str, str],
    ) -> list[AssetSpec]:
        """Persisted datasets read but never written by the deployed nodes.

        Without a ``group_name`` in its metadata, a dataset read by several pipelines is in
        the group of its first reader in topological order, as ``kedro run`` would run them
        (not of whichever job happens to be declared first).
        """
        specs: dict[str, AssetSpec] = {}
        for node in _topological(deployed, self.project.pipelines.get(_DEFAULT_PIPELINE)):
            for name in node.inputs:
                if is_parameter(name) or strip_transcoding(name) in producers:
                    continue
                spec = self.catalog.dataset(name)
                if spec.ephemeral or spec.asset_name in specs:
                    continue
                asset = self.catalog.asset_spec(name, group_name=groups.get(node.name))
                # Nothing materializes an external asset: an automation condition on it would
                # only tell Dagster's daemon to try.
                specs[spec.asset_name] = asset.replace_attributes(automation_condition=None)
        return list(specs.values())


def _topological(deployed: Mapping[str, Node], default: Pipeline | None = None) -> list[Node]:
    """The deployed nodes in the order Kedro's runner would run them all in one pipeline.

    Registered pipelines may write one dataset from different nodes, which no single Kedro
    pipeline accepts: the jobs' order is kept then.
    """
    from kedro.pipeline.pipeline import CircularDependencyError, OutputNotUniqueError

    # Every job's nodes are those of `__default__` (the usual case): its order is the one a
    # Pipeline of them would have, without sorting 1000s of nodes once more.
    if (
        default is not None
        and len(default.nodes) == len(deployed)
        and all(deployed.get(node.name) is node for node in default.nodes)
    ):
        return default.nodes
    try:
        return Pipeline(list(deployed.values())).nodes
    except (OutputNotUniqueError, CircularDependencyError, ValueError):
        return list(deployed.values())


def _graph_name(job_name: str, op_names: set[str]) -> str:
    """The name of a job's graph: the job's, unless an op has it (a node named as its job)."""
    name = job_name
    while name in op_names:
        name += "__job"
    return name
