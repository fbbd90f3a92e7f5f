"""The Kedro side of one Dagster run in one process: catalog, hooks, parameters, versions."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from kedro.io.core import VERSION_FORMAT, generate_timestamp

from kedro_dagster import _kedro_internals as internals
from kedro_dagster._compat import (
    kedro_run_params,
    log_once_per_process,
    quiet_kedro_config_loader,
)
from kedro_dagster.runtime.dataset_io import DatasetIO
from kedro_dagster.runtime.integrations import RunIntegration, default_integrations
from kedro_dagster.runtime.redaction import Redactor, install_log_redaction
from kedro_dagster.runtime.run_lock import run_lock

__all__ = [
    "KedroRunContext",
    "config_runtime_params",
    "diff_params",
    "save_version_for_run",
    "save_version_of",
]

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _redacting(
    method: Callable[Concatenate[KedroRunContext, _P], _R],
) -> Callable[Concatenate[KedroRunContext, _P], _R]:
    """A run method whose exceptions leave with credentials redacted (see ``redaction``)."""

    @functools.wraps(method)
    def wrapper(self: KedroRunContext, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return self.redactor.call(method, self, *args, **kwargs)

    return wrapper


class _RedactingHooks:
    """Kedro's hook relay whose calls re-raise errors with credentials redacted."""

    def __init__(self, relay: Any, redactor: Redactor) -> None:
        self._relay = relay
        self._redactor = redactor

    def __getattr__(self, name: str) -> Any:
        wrapped = self._redactor.wrap(getattr(self._relay, name))
        # Kept: the next call of this hook (a few per node) skips the lookup and the wrapping.
        setattr(self, name, wrapped)
        return wrapped


def _credentials(config_loader: Any) -> Any:
    """The environment's resolved credentials, as the context gives them to the catalog."""
    from kedro.config import MissingConfigException

    try:
        with quiet_kedro_config_loader():
            return config_loader["credentials"]
    except MissingConfigException:
        return {}


def _ensure_bootstrapped(project_path: Path) -> str:
    """Bootstrap the project unless this process already did; its package name."""
    import kedro.framework.project as kedro_project
    from kedro.framework.startup import bootstrap_project

    package_name = internals.project_package_name(project_path)
    if package_name != kedro_project.PACKAGE_NAME:
        return bootstrap_project(project_path).package_name
    return package_name


def save_version_for_run(instance: Any, run_id: str) -> str:
    """The Kedro save version of a Dagster run: its creation time, in Kedro's format.

    Every step and process of a run derives the same value; two runs never share one.
    """
    return save_version_of(instance.get_run_record_by_id(run_id) if instance is not None else None)


def save_version_of(record: Any) -> str:
    """The Kedro save version of the run of a Dagster ``RunRecord`` (a new one if ``None``).

    Kedro's ``VERSION_FORMAT`` (microseconds): the run's creation time to the millisecond,
    then the last three digits of the run's storage id. Runs created in the same millisecond
    (schedules, back-to-back launches) get consecutive storage ids, so distinct versions; every
    process of one run derives the same one.
    """
    if record is None or record.create_timestamp is None:
        return generate_timestamp()
    stamp = record.create_timestamp.strftime(VERSION_FORMAT)
    return f"{stamp[:-4]}{record.storage_id % 1000:03d}Z"


def diff_params(edited: Any, defaults: Any) -> Any:
    """The part of ``edited`` that differs from ``defaults`` (nested dicts), or ``None``."""
    if isinstance(edited, Mapping) and isinstance(defaults, Mapping):
        changed = {}
        for key, value in edited.items():
            if key not in defaults:
                changed[key] = value
                continue
            sub = diff_params(value, defaults[key])
            if sub is not None:
                changed[key] = sub
        return changed or None
    return None if edited == defaults else edited


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` merged in, nested mappings key by key (``over`` wins)."""
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        merged[key] = (
            _merged(below, value)
            if isinstance(below, Mapping) and isinstance(value, Mapping)
            else value
        )
    return merged


def config_runtime_params(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> Any:
    """The ``kedro run --params`` of a run, from its ``kedro_run`` resource config.

    The edited ``params`` (what differs from ``defaults``, the values shown in the launchpad)
    over ``runtime_params``, the runtime parameters that are no parameter of the job (read by
    ``${runtime_params:...}`` in the configuration). ``None`` when the run sets neither.
    """
    edited = diff_params(config.get("params") or {}, defaults)
    extra = config.get("runtime_params") or {}
    if not extra:
        return edited
    return _merged(extra, edited or {})


@dataclass
class KedroRunContext:
    """Catalog, hooks and run parameters of one Dagster run, as ``kedro run`` would set them.

    Created by the ``kedro_run`` resource once per process and run, which then fires the
    context and catalog hooks in that process (:meth:`prepare_process`).

    Parameters
    ----------
    run_id : str
        The Dagster run id, passed to hooks as Kedro's ``run_id``.
    context : KedroContext
        The project context (with the project's hook manager).
    catalog : DataCatalog
        The run's catalog, with parameters and the run's save version.
    hook_manager : PluginManager
        The project's hooks (settings and plugins).
    save_version : str
        Save version of versioned datasets for the whole run.
    run_params : dict
        Kedro's ``run_params`` record for pipeline hooks.
    conf_catalog : dict
        The catalog configuration, for ``after_catalog_created``.
    tags : dict
        The Dagster run's tags when this process started working on it.
    starts_tracking : bool
        Whether this run may start its own MLflow run: runs materializing assets, which have
        no start op. Job runs only join the one their start op recorded.
    row_count : bool
        Whether materializations record the row and column counts of table outputs.
    integrations : list of RunIntegration
        Plugins following the run across processes (MLflow), see ``integrations``.
    instance : DagsterInstance, optional
        The Dagster instance of the run (tags, storage folder, events).
    log : DagsterLogManager, optional
        Where to log for the run outside an op (the resource's logger).
    redactor : Redactor
        Masks the environment's credential values in the errors, metadata and log records
        of the run (every method re-raises errors through it).
    """

    run_id: str
    context: Any
    catalog: Any
    hook_manager: Any
    save_version: str
    run_params: dict[str, Any] = field(default_factory=dict)
    conf_catalog: dict[str, Any] = field(default_factory=dict, repr=False)
    tags: dict[str, str] = field(default_factory=dict, repr=False)
    starts_tracking: bool = False
    row_count: bool = True
    instance: Any = field(default=None, repr=False)
    log: Any = field(default=None, repr=False)
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    process_prepared: bool = field(default=False, init=False, repr=False)
    #: Errors of this process's steps not yet handled (see :mod:`kedro_dagster.runtime.failures`).
    failed_steps: dict[str, BaseException] = field(default_factory=dict, init=False, repr=False)
    #: Called with the key of each step of this process that ran its node and saved its outputs.
    step_listeners: list[Callable[[str], None]] = field(
        default_factory=list, init=False, repr=False
    )
    _io: DatasetIO | None = field(default=None, init=False, repr=False)
    integrations: list[RunIntegration] = field(default_factory=default_integrations, repr=False)

    @classmethod
    def create(
        cls,
        *,
        project_path: str | Path,
        env: str | None,
        run_id: str,
        runtime_params: dict[str, Any] | None = None,
        save_version: str | None = None,
        load_versions: dict[str, str] | None = None,
        run_params: dict[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        starts_tracking: bool = False,
        row_count: bool = True,
        instance: Any = None,
        log: Any = None,
    ) -> KedroRunContext:
        """Build the Kedro context and catalog of a run without firing context hooks.

        Parameters
        ----------
        project_path : str or Path
            Root of the Kedro project.
        env : str, optional
            Kedro environment.
        run_id : str
            Dagster run id.
        runtime_params : dict, optional
            Parameter overrides, as ``kedro run --params``.
        save_version : str, optional
            Save version for versioned datasets; a new timestamp when unset.
        load_versions : dict, optional
            Load version per dataset name.
        run_params : dict, optional
            Extra entries of the ``run_params`` hook argument (pipeline name, filters).
        tags : Mapping of str to str, optional
            The Dagster run's tags (experiment tracking recorded by the start op).
        starts_tracking : bool
            Whether the run may start its MLflow run (asset runs, without a start op).
        row_count : bool
            Whether materializations record the row and column counts of table outputs.
        instance : DagsterInstance, optional
            The run's Dagster instance.
        log : DagsterLogManager, optional
            Logger of the run outside ops.

        Returns
        -------
        KedroRunContext
        """
        from kedro import __version__ as kedro_version
        from kedro.framework.project import settings

        path = Path(project_path).resolve()
        package_name = _ensure_bootstrapped(path)
        # Kedro validates parameters in every context and says "No typed parameter
        # requirements found" each time. `kedro run` makes one context per process; a Dagster
        # process makes two per run (catalog, hooks), for every run it executes: say it once.
        log_once_per_process(
            "kedro.validation.parameter_validator", "No typed parameter requirements found"
        )
        hook_manager = internals.create_project_hook_manager()

        with quiet_kedro_config_loader():
            config_loader = settings.CONFIG_LOADER_CLASS(
                conf_source=str(path / settings.CONF_SOURCE),
                env=env,
                runtime_params=runtime_params,
                **settings.CONFIG_LOADER_ARGS,
            )

        def make_context(manager: Any) -> Any:
            return settings.CONTEXT_CLASS(
                package_name=package_name,
                project_path=path,
                config_loader=config_loader,
                env=env,
                runtime_params=runtime_params,
                hook_manager=manager,
            )

        save_version = save_version or generate_timestamp()
        # Loading credentials fails as the catalog would; only URL passwords are known then.
        with quiet_kedro_config_loader():
            credentials = Redactor().call(_credentials, config_loader)
        redactor = Redactor.from_credentials(credentials)
        install_log_redaction(redactor)

        def make_catalog() -> tuple[Any, dict[str, Any]]:
            # Built by a context whose hooks are silenced: `after_catalog_created` fires in
            # `prepare_process`, after `after_context_created`, as in a Kedro session.
            with quiet_kedro_config_loader():
                catalog = internals.make_catalog(
                    make_context(internals.null_hook_manager()),
                    catalog_class=settings.DATA_CATALOG_CLASS,
                    save_version=save_version,
                    load_versions=load_versions,
                )
                return catalog, internals.absolute_catalog_config(path, config_loader["catalog"])

        catalog, conf_catalog = redactor.call(make_catalog)
        context = make_context(hook_manager)
        record = {
            "run_id": run_id,
            "project_path": path.as_posix(),
            "env": env,
            "kedro_version": kedro_version,
            "tags": None,
            "from_nodes": None,
            "to_nodes": None,
            "node_names": None,
            "from_inputs": None,
            "to_outputs": None,
            "load_versions": load_versions,
            "runtime_params": runtime_params or {},
            "pipeline_names": None,
            "namespaces": None,
            "runner": "dagster",
            "only_missing_outputs": False,
        }
        record.update(run_params or {})
        # The keys `kedro run` gives hooks on the installed Kedro (`session_id` before 1.3).
        record = kedro_run_params(record)
        return cls(
            run_id=run_id,
            context=context,
            catalog=catalog,
            hook_manager=hook_manager,
            save_version=save_version,
            run_params=record,
            conf_catalog=conf_catalog,
            tags=dict(tags or {}),
            starts_tracking=starts_tracking,
            row_count=row_count,
            instance=instance,
            log=log,
            redactor=redactor,
        )

    def step_succeeded(self, step_key: str) -> None:
        """Tell :attr:`step_listeners` that step ``step_key`` ran its node and saved its outputs."""
        for listener in self.step_listeners:
            listener(step_key)

    @_redacting
    def join_tracking(self) -> None:
        """A node, dataset or pipeline hook is about to be used here: tell the integrations.

        Called before the first node, dataset or ``after_pipeline_run`` of the process (and
        cheaply before every later one); MLflow joins the run's MLflow run there.
        """
        for integration in self.integrations:
            integration.on_step_start(self)

    @property
    def wants_run_tags(self) -> bool:
        """Whether an integration may still read run tags added by another process."""
        return any(integration.wants_run_tags(self) for integration in self.integrations)

    @_redacting
    def end_tracking_step(self, failed: bool) -> None:
        """End of an asset step (asset runs have no end op): tell the integrations."""
        for integration in self.integrations:
            integration.on_step_end(self, failed)

    @_redacting
    def pipeline_started(self, log: Any) -> None:
        """The start op fired ``before_pipeline_run``: tell the integrations."""
        for integration in self.integrations:
            integration.on_pipeline_start(self, log)

    def integration_metadata(self) -> dict[str, Any]:
        """Materialization metadata the integrations add to every output."""
        metadata: dict[str, Any] = {}
        for integration in self.integrations:
            metadata.update(integration.output_metadata(self))
        return metadata

    @property
    def hooks(self) -> Any:
        """The relay to call hooks: ``run.hooks.before_node_run(...)``."""
        return _RedactingHooks(self.hook_manager.hook, self.redactor)

    @property
    def io(self) -> DatasetIO:
        """The run's one load/save path (dataset hooks, redaction, output metadata)."""
        if self._io is None:
            self._io = DatasetIO(
                self.catalog,
                self.hooks,
                self.redactor,
                self.save_version,
                before=self.join_tracking,
                extra_metadata=self.integration_metadata,
                row_count=self.row_count,
            )
        return self._io

    @_redacting
    def prepare_process(self) -> None:
        """Fire ``after_context_created`` and ``after_catalog_created``, once in this process.

        Kedro fires them when a session creates its context and catalog: the hooks that
        prepare a process (a Spark session, a client, plugin state such as kedro-viz's
        dataset stats) run there. Under Dagster every process that runs steps of the run
        is prepared once (the resource calls this); pipeline hooks stay once per run.
        """
        if self.process_prepared:
            return
        self.process_prepared = True
        kedro_context = self.context
        # Hooks reading config (as kedro-mlflow does) go through Kedro's config loader and
        # its omegaconf deprecation warning. The processes of a run are prepared one at a
        # time: hooks creating shared state (kedro-mlflow's tracking database and its
        # migrations) would race when parallel steps start together.
        with run_lock(self.instance, self.run_id), quiet_kedro_config_loader():
            self.hooks.after_context_created(context=kedro_context)
            # Read after the hook: projects add credentials to the config loader there.
            self.hooks.after_catalog_created(
                catalog=self.catalog,
                conf_catalog=self.conf_catalog,
                conf_creds=internals.config_credentials(kedro_context),
                parameters=internals.context_parameters(kedro_context),
                save_version=self.save_version,
                load_versions=self.run_params.get("load_versions"),
            )
        for integration in self.integrations:
            integration.on_process_start(self)
