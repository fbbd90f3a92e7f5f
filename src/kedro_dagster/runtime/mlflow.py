"""MLflow tracking through kedro-mlflow: one MLflow run per Dagster run, whatever the executor.

kedro-mlflow's hook starts an MLflow run in ``before_pipeline_run`` and ends it in
``after_pipeline_run``. Under Dagster those hooks fire in the job's start and end ops, which
may run in other processes than the node ops (multiprocess executor and the like). The start
op therefore records the MLflow run on the Dagster run (tags and a log line), and every other
process of that run configures kedro-mlflow's hook from ``mlflow.yml`` and resumes the same
MLflow run before its first node, so parameters, metrics and artifacts land in one run.

Runs materializing assets from the asset graph have no start or end op. There, the first
process of the run to need tracking starts the MLflow run and records it, under a file lock
in the instance's storage folder for the run; the other processes join it. Each asset step
ends the MLflow run when it is done (``FAILED`` once any step of the run failed).

A re-execution from failure (or an automatic retry) has no start op of its own: it continues
its parent's MLflow run, recording the parent's tags on itself when Dagster did not copy them.

The run world reaches this module only through :class:`MlflowIntegration`, a
:class:`~kedro_dagster.runtime.integrations.RunIntegration`. Nothing here imports MLflow
unless kedro-mlflow's hook is registered in the project's hook manager or MLflow is already
imported by someone else.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kedro_dagster.runtime.run_lock import run_lock

__all__ = [
    "EXPERIMENT_ID_TAG",
    "RUN_ID_TAG",
    "RUN_URL_TAG",
    "TRACKING_DISABLED",
    "TRACKING_TAG",
    "TRACKING_URI_TAG",
    "MlflowIntegration",
    "MlflowRunInfo",
    "active_run_info",
    "continue_parent_run",
    "end_step_run",
    "join_or_start_run",
    "join_run",
    "kedro_mlflow_hooks",
    "resume_run",
    "run_url",
]

logger = logging.getLogger(__name__)

#: Dagster run tags (and materialization metadata keys) describing the run's MLflow run.
RUN_ID_TAG = "mlflow/run_id"
EXPERIMENT_ID_TAG = "mlflow/experiment_id"
TRACKING_URI_TAG = "mlflow/tracking_uri"
RUN_URL_TAG = "mlflow/run_url"
#: Set to :data:`TRACKING_DISABLED` when kedro-mlflow is active but tracking is disabled for
#: the job's pipeline (``tracking.disable_tracking.pipelines`` in ``mlflow.yml``).
TRACKING_TAG = "mlflow/tracking"
TRACKING_DISABLED = "disabled"

_DEFAULT_UI = ("127.0.0.1", "5000")


@dataclass(frozen=True)
class MlflowRunInfo:
    """Where an MLflow run lives and how to open it.

    Parameters
    ----------
    run_id : str
        MLflow run id.
    experiment_id : str
        MLflow experiment id.
    tracking_uri : str
        Tracking URI, with any password masked.
    run_url : str, optional
        URL of the run in the MLflow UI; ``None`` when it cannot be known (Databricks).
    """

    run_id: str
    experiment_id: str
    tracking_uri: str
    run_url: str | None

    def as_tags(self) -> dict[str, str]:
        """The Dagster run tags recording this run."""
        tags = {
            RUN_ID_TAG: self.run_id,
            EXPERIMENT_ID_TAG: self.experiment_id,
            TRACKING_URI_TAG: self.tracking_uri,
        }
        if self.run_url:
            tags[RUN_URL_TAG] = self.run_url
        return tags

    def as_metadata(self) -> dict[str, Any]:
        """Materialization metadata: the tags, with the run URL as a clickable link."""
        from dagster import MetadataValue

        metadata: dict[str, Any] = dict(self.as_tags())
        if self.run_url:
            metadata[RUN_URL_TAG] = MetadataValue.url(self.run_url)
        return metadata


def kedro_mlflow_hooks(hook_manager: Any) -> list[Any]:
    """kedro-mlflow's ``MlflowHook`` instances registered in ``hook_manager`` (by class name).

    Parameters
    ----------
    hook_manager : PluginManager
        The project's hook manager.

    Returns
    -------
    list
        The registered ``MlflowHook`` instances (subclasses included); empty without
        kedro-mlflow. Nothing is imported to find out.
    """
    get_plugins = getattr(hook_manager, "get_plugins", None)
    if get_plugins is None:
        return []
    return [
        plugin
        for plugin in get_plugins()
        if any(
            cls.__name__ == "MlflowHook" and cls.__module__.startswith("kedro_mlflow.")
            for cls in type(plugin).__mro__
        )
    ]


def _mask_password(uri: str) -> str:
    """``uri`` with the password of its user info replaced by ``***``."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def _ui_address(kedro_context: Any) -> tuple[str, str]:
    """Host and port of ``kedro mlflow ui`` from ``mlflow.yml``'s ``ui`` section."""
    ui = getattr(getattr(kedro_context, "mlflow", None), "ui", None)
    host = getattr(ui, "host", None) or _DEFAULT_UI[0]
    port = getattr(ui, "port", None) or _DEFAULT_UI[1]
    if host in ("0.0.0.0", "::"):  # listening on every interface: open it locally
        host = "127.0.0.1"
    return str(host), str(port)


def run_url(
    tracking_uri: str, experiment_id: str, run_id: str, kedro_context: Any = None
) -> str | None:
    """URL of an MLflow run in the MLflow UI.

    Parameters
    ----------
    tracking_uri : str
        The tracking URI. An ``http(s)`` tracking server serves the UI itself; for a local
        store (files, SQLite, a database) the UI is the one ``kedro mlflow ui`` or
        ``mlflow ui`` starts, at the ``ui`` host and port of ``mlflow.yml``
        (``127.0.0.1:5000`` by default).
    experiment_id : str
        Experiment id of the run.
    run_id : str
        The run id.
    kedro_context : KedroContext, optional
        Context configured by kedro-mlflow (its ``mlflow`` attribute holds ``mlflow.yml``).

    Returns
    -------
    str or None
        The URL; ``None`` for Databricks, whose workspace URL is not in the tracking URI.
    """
    scheme = urlsplit(tracking_uri).scheme.lower()
    if scheme.startswith("databricks") or tracking_uri.startswith("databricks"):
        return None
    if scheme in ("http", "https"):
        parts = urlsplit(tracking_uri)
        base = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    else:
        host, port = _ui_address(kedro_context)
        base = f"http://{host}:{port}"
    return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def active_run_info(kedro_context: Any = None) -> MlflowRunInfo | None:
    """The MLflow run active in this thread, if MLflow is in use and a run is active.

    Parameters
    ----------
    kedro_context : KedroContext, optional
        Context configured by kedro-mlflow, for the UI address of local stores.

    Returns
    -------
    MlflowRunInfo or None
        ``None`` when MLflow was never imported in this process or no run is active.
    """
    if "mlflow" not in sys.modules:
        return None
    import mlflow

    active = mlflow.active_run()
    if active is None:
        return None
    tracking_uri = mlflow.get_tracking_uri()
    experiment_id = str(active.info.experiment_id)
    run_id = str(active.info.run_id)
    return MlflowRunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        tracking_uri=_mask_password(tracking_uri),
        run_url=run_url(tracking_uri, experiment_id, run_id, kedro_context),
    )


class MlflowIntegration:
    """kedro-mlflow across the processes of a Dagster run (a :class:`RunIntegration`).

    One MLflow run per Dagster run: the start op's process records it, every other process
    joins it before its first node, and asset steps start, resume and end it themselves.
    """

    def __init__(self) -> None:
        self._joined = False
        self._ended = False

    def on_process_start(self, run: Any) -> None:
        """Nothing yet: the MLflow run may be started later in this process (start op)."""

    def on_step_start(self, run: Any) -> None:
        """Join the run's MLflow run in this process, once, if the start op recorded one.

        The start op's process, where kedro-mlflow started the run, is left as it is. In a
        run materializing assets (``run.starts_tracking``), the first process to get here
        starts the MLflow run when kedro-mlflow is on; a later asset step resumes it.
        """
        if self._joined:
            if self._ended:
                self._ended = False
                resume_run(run)
            return
        self._joined = True
        if run.starts_tracking:
            join_or_start_run(run)
        elif kedro_mlflow_hooks(run.hook_manager):
            if not _tracking_tags(run.tags) or run.tags.get(_PARENT_RUN_TAG):
                # A re-execution (from failure, no start op) continues its parent's MLflow run.
                continue_parent_run(run)
            if _tracking_tags(run.tags):
                join_run(run, run.tags)

    def wants_run_tags(self, run: Any) -> bool:
        """Until this process joined the MLflow run (its id is a run tag), with kedro-mlflow."""
        return not self._joined and bool(kedro_mlflow_hooks(run.hook_manager))

    def on_step_end(self, run: Any, failed: bool) -> None:
        """End of an asset step: end the MLflow run this process used (see ``end_step_run``)."""
        if not (run.starts_tracking and self._joined) or self._ended:
            return
        self._ended = end_step_run(run, failed)

    def on_pipeline_start(self, run: Any, log: Any) -> None:
        """Record the MLflow run kedro-mlflow's ``before_pipeline_run`` just started."""
        if "mlflow" in sys.modules:  # kedro-mlflow (or the project) imported it
            _record(run.instance, run.run_id, log, run)

    def output_metadata(self, run: Any) -> dict[str, Any]:
        """The active MLflow run's id and link."""
        if "mlflow" not in sys.modules:  # never imported: no run can be active
            return {}
        info = active_run_info(getattr(run, "context", None))
        return info.as_metadata() if info is not None else {}


def _record(instance: Any, dagster_run_id: str, log: Any, run: Any) -> MlflowRunInfo | None:
    """Tag the Dagster run with the active MLflow run (or as disabled) and log where it is."""
    hooks = kedro_mlflow_hooks(run.hook_manager)
    info = active_run_info(run.context)
    tags = info.as_tags() if info is not None else {TRACKING_TAG: TRACKING_DISABLED}
    if info is None and not hooks:
        return None
    if instance is not None:
        instance.add_run_tags(dagster_run_id, tags)
    run.tags.update(tags)
    log = log if log is not None else logger
    if info is None:  # kedro-mlflow is on, but tracking is disabled for this pipeline
        log.info("kedro-mlflow: tracking is disabled for this pipeline")
        return None
    where = info.run_url or info.tracking_uri
    log.info(
        f"MLflow run {info.run_id} (experiment {info.experiment_id}, tracking URI "
        f"{info.tracking_uri}): {where}"
    )
    return info


def _set_up(hook: Any, run: Any, run_id: str | None = None) -> None:
    """Configure kedro-mlflow's hook (only it) for this process, as ``kedro run`` would.

    Its own ``after_context_created`` reads ``mlflow.yml`` (and sets the tracking URI); with
    ``run_id`` its ``before_pipeline_run`` then resumes that MLflow run, otherwise it starts one.
    """
    import mlflow
    from kedro.pipeline import Pipeline

    context = run.context
    # A process prepared by the `kedro_run` resource fired every hook's
    # `after_context_created` and `after_catalog_created` already (kedro-mlflow's included).
    prepared = bool(getattr(run, "process_prepared", False))
    if not prepared:
        hook.after_context_created(context=context)
    config = getattr(context, "mlflow", None) or getattr(hook, "mlflow_config", None)
    if run_id and config is not None:
        config.tracking.run.id = run_id
        # Keep the run's name (a `${km.random_name:}` would draw a new one per process); only
        # now is the tracking URI of `mlflow.yml` set.
        config.tracking.run.name = mlflow.get_run(run_id).info.run_name
    # Only the catalog matters to kedro-mlflow here (its metric datasets get their keys).
    if not prepared:
        hook.after_catalog_created(
            catalog=run.catalog,
            conf_catalog=run.conf_catalog,
            conf_creds={},
            parameters={},
            save_version=run.save_version,
            load_versions=run.run_params.get("load_versions"),
        )
    hook.before_pipeline_run(run_params=run.run_params, pipeline=Pipeline([]), catalog=run.catalog)


def join_run(run: Any, tags: Mapping[str, str]) -> bool:
    """Set up kedro-mlflow in a process of a tracked run that did not run the start op.

    kedro-mlflow's hook is configured from ``mlflow.yml`` for this context only (its own
    ``after_context_created``, ``after_catalog_created`` and ``before_pipeline_run``; the
    project's other hooks are not called) with the run id recorded by the start op, so it
    resumes that MLflow run instead of starting one. When tracking is disabled for the
    pipeline, the hook is told so and logs nothing.

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process.
    tags : Mapping of str to str
        The Dagster run's tags.

    Returns
    -------
    bool
        Whether kedro-mlflow was set up here.
    """
    run_id = tags.get(RUN_ID_TAG)
    if not run_id and tags.get(TRACKING_TAG) != TRACKING_DISABLED:
        return False
    hooks = kedro_mlflow_hooks(run.hook_manager)
    if not hooks:
        return False
    import mlflow

    if mlflow.active_run() is not None:
        # The start op ran in this process (in-process executor): kedro-mlflow's run is here.
        # (A re-executed run may carry its parent's tags: never resume those over it.)
        return False
    for hook in hooks:
        _set_up(hook, run, run_id)
    logger.debug("Resumed MLflow run %s in this process", run_id)
    return True


_FAILED_FILE = "kedro_dagster_mlflow.failed"
_CONTINUED_FILE = "kedro_dagster_mlflow.continued"
#: Set by Dagster on re-executions and retries it creates itself (not by ``execute_job``).
_PARENT_RUN_TAG = "dagster/parent_run_id"


def _run_lock(run: Any) -> contextlib.AbstractContextManager[Path | None]:
    """The run's lock (see ``run_lock``): MLflow runs are started and ended under it."""
    return run_lock(run.instance, run.run_id)


def _stored_tags(run: Any) -> dict[str, str]:
    """The Dagster run's tags as stored now (other processes may have added some)."""
    instance = run.instance
    record = instance.get_run_record_by_id(run.run_id) if instance is not None else None
    return dict(record.dagster_run.tags) if record is not None else dict(run.tags)


def _start_run(run: Any) -> None:
    """Let kedro-mlflow's hook (only) start an MLflow run as ``kedro run`` would, and record it."""
    for hook in kedro_mlflow_hooks(run.hook_manager):
        _set_up(hook, run)
    _record(run.instance, run.run_id, run.log, run)


def join_or_start_run(run: Any) -> bool:
    """Start the MLflow run of an asset run, or join it when another process started it.

    Runs materializing assets have no start op: the first of their processes to need
    tracking lets kedro-mlflow start the MLflow run and records it on the Dagster run; the
    check and the start hold a file lock of the run's storage folder, so concurrent steps of
    a multiprocess run agree on one MLflow run.

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process (with the Dagster instance).

    Returns
    -------
    bool
        Whether kedro-mlflow was set up here.
    """
    if not kedro_mlflow_hooks(run.hook_manager):
        return False
    with _run_lock(run) as folder:
        tags = _stored_tags(run)
        if run.instance is not None and (not _tracking_tags(tags) or tags.get(_PARENT_RUN_TAG)):
            tracking = _tracking_tags(tags)
            _continue_parent(run, tracking, folder)
            tags.update(tracking)
        if tags.get(RUN_ID_TAG) or tags.get(TRACKING_TAG) == TRACKING_DISABLED:
            run.tags.update(tags)
            return join_run(run, tags)
        _start_run(run)
    return True


def _tracking_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The ``mlflow/*`` tags of ``tags`` (the MLflow run, or tracking disabled)."""
    return {key: value for key, value in tags.items() if key.startswith("mlflow/")}


def _continue_parent(run: Any, tags: dict[str, str], folder: Path | None) -> None:
    """Record the parent Dagster run's MLflow run on this re-execution; caller holds the lock.

    Dagster copies a run's tags to its automatic retries (``mlflow/*`` included), not to
    re-executions launched with ``execute_job`` (or from the UI without the parent's tags);
    and a re-execution from failure has no start op. Without the tags its nodes would log into
    a run MLflow creates on the fly, not linked from Dagster (and ``RUNNING`` under
    multiprocess): the re-execution continues its parent's MLflow run, and says so once.
    """
    marker = folder / _CONTINUED_FILE if folder is not None else None
    if marker is not None and marker.exists():
        return
    instance = run.instance
    parent_id = run.tags.get(_PARENT_RUN_TAG)
    if not parent_id:
        record = instance.get_run_record_by_id(run.run_id)
        parent_id = record.dagster_run.parent_run_id if record is not None else None
    parent = instance.get_run_by_id(parent_id) if parent_id else None
    inherited = _tracking_tags(parent.tags) if parent is not None else {}
    if not inherited or (tags and tags.get(RUN_ID_TAG) != inherited.get(RUN_ID_TAG)):
        return  # no tracked parent, or the start op ran again (a new MLflow run)
    if not tags:
        instance.add_run_tags(run.run_id, inherited)
        tags.update(inherited)
    if marker is not None:
        marker.touch()
    run_id = inherited.get(RUN_ID_TAG)
    if run_id:
        log = run.log if getattr(run, "log", None) is not None else logger
        where = inherited.get(RUN_URL_TAG) or inherited.get(TRACKING_URI_TAG)
        log.info(
            f"MLflow run {run_id} of parent run {parent_id} continued (experiment "
            f"{inherited.get(EXPERIMENT_ID_TAG)}, tracking URI "
            f"{inherited.get(TRACKING_URI_TAG)}): {where}"
        )


def continue_parent_run(run: Any) -> None:
    """In a re-execution, continue the parent Dagster run's MLflow run (once per run).

    A re-execution from failure does not re-run the start op that records the MLflow run:
    the parent's MLflow run is recorded on it (when Dagster did not copy the tags) and a log
    line links to it. Processes of the run agree under the run's lock; ``run.tags`` gets the
    run's ``mlflow/*`` tags.

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process (with the Dagster instance).
    """
    if run.instance is None:
        return
    with _run_lock(run) as folder:
        tags = _tracking_tags(_stored_tags(run))
        _continue_parent(run, tags, folder)
        run.tags.update(tags)


def resume_run(run: Any) -> None:
    """Make the run's recorded MLflow run active again in this process (a later asset step)."""
    run_id = run.tags.get(RUN_ID_TAG)
    if not run_id or "mlflow" not in sys.modules:
        return
    import mlflow

    if mlflow.active_run() is None:
        mlflow.start_run(run_id=run_id)


def _has_failed_step(run: Any) -> bool:
    from dagster import DagsterEventType

    instance = run.instance
    if instance is None:
        return False
    return bool(instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE))


def end_step_run(run: Any, failed: bool) -> bool:
    """End the MLflow run in this process at the end of an asset step.

    Asset runs have no end op, and a step process may never reach MLflow's exit handler
    (forkserver children exit with ``os._exit``), so each step ends the run it used:
    ``FAILED`` when this step or an earlier one failed, ``FINISHED`` otherwise. A step
    running later resumes it; the last step to end sets the final status.

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process.
    failed : bool
        Whether this step failed.

    Returns
    -------
    bool
        Whether a run was ended (to resume before the next step of this process).
    """
    run_id = run.tags.get(RUN_ID_TAG)
    if not run_id or "mlflow" not in sys.modules:
        return False
    hooks = kedro_mlflow_hooks(run.hook_manager)
    if any(getattr(hook, "_already_active_mlflow", False) for hook in hooks):
        return False  # a run started by the caller before Dagster's: theirs to end
    import mlflow

    with _run_lock(run) as folder:
        marker = folder / _FAILED_FILE if folder is not None else None
        if failed and marker is not None:
            marker.touch()
        failed = failed or bool(marker and marker.exists()) or _has_failed_step(run)
        status = "FAILED" if failed else "FINISHED"
        # kedro-mlflow's `before_node_run` re-opens the run as a nested entry of the same id
        # for every node, and MLflow's exit handler would end what is left as FINISHED: end
        # every entry (each one belongs to this run: a caller's own run was excluded above).
        ended = False
        while mlflow.active_run() is not None:
            mlflow.end_run(status)
            ended = True
    return ended
