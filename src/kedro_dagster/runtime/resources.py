"""The ``kedro_run`` resource: one :class:`KedroRunContext` per Dagster run and process.

Creating it fires the process-level hooks (``after_context_created``,
``after_catalog_created``) in that process: see :meth:`KedroRunContext.prepare_process`.
A process running many steps of one run (a warm worker of the ``parallel`` executor) keeps
the context between them (:func:`keep_run_contexts`), so it is prepared once, as a
``ParallelRunner`` worker is. Its teardown calls ``on_pipeline_error`` when a step of the
process was the run's first failure (:func:`~kedro_dagster.runtime.failures.call_pipeline_error`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro_dagster.constants import ENV_TAG
from kedro_dagster.runtime.context import KedroRunContext, config_runtime_params, save_version_of
from kedro_dagster.runtime.event_log import event_log_held_open
from kedro_dagster.runtime.failures import call_pipeline_error

if TYPE_CHECKING:
    from kedro.pipeline import Pipeline

__all__ = ["DeferredRunContext", "KedroRunResourceFactory", "keep_run_contexts"]

#: Run contexts of this process by run and resource config, once :func:`keep_run_contexts`
#: was called (by a warm worker); Dagster otherwise initialises resources once per step.
_KEPT: dict[tuple[Any, ...], KedroRunContext] = {}
_KEEPING: list[bool] = []


def keep_run_contexts() -> None:
    """Keep each run's :class:`KedroRunContext` in this process for the steps that follow.

    Called once by a process that executes several steps of a run (a warm worker): the
    process-level hooks then fire once in it per run, not once per step.
    """
    if not _KEEPING:
        _KEEPING.append(True)


class KedroRunResourceFactory:
    """Resource function building the Kedro side of a run from the run's config and tags.

    Parameters
    ----------
    project_path : Path
        Root of the Kedro project.
    env : str
        Kedro environment the definitions were loaded with; a run's ``kedro/env`` tag wins.
    params_defaults : Mapping
        The parameter values shown in the launchpad; edits are passed to Kedro as runtime
        parameters, as ``kedro run --params`` would.
    run_params : Mapping, optional
        ``run_params`` entries for pipeline hooks (pipeline name and filters of the job).
    starts_tracking : bool
        Whether runs may start their own MLflow run: the resource of assets, whose runs have
        no start op (see :meth:`KedroRunContext.join_tracking`).
    row_count : bool
        Whether materializations record the row and column counts of table outputs.
    pipeline : Pipeline, optional
        The job's filtered pipeline: when a step of the job failed in this process, its
        teardown calls ``on_pipeline_error`` with it (see :mod:`kedro_dagster.runtime.failures`).
    """

    def __init__(
        self,
        project_path: Path,
        env: str,
        params_defaults: Mapping[str, Any],
        run_params: Mapping[str, Any] | None = None,
        starts_tracking: bool = False,
        row_count: bool = True,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.project_path = project_path
        self.env = env
        self.params_defaults = params_defaults
        self.run_params = dict(run_params or {})
        self.starts_tracking = starts_tracking
        self.row_count = row_count
        self.pipeline = pipeline
        # Dagster names resource functions in its events.
        self.__name__ = "kedro_run"

    def __call__(self, init_context: Any) -> Iterator[KedroRunContext | DeferredRunContext]:
        """Yield the run context (Dagster's resource initialization), then handle failures.

        While the steps of this process run, the run's SQLite event log is held open (see
        :mod:`kedro_dagster.runtime.event_log`). The teardown, after those steps, calls
        ``on_pipeline_error`` when one of them is the run's first failure.
        """
        run_context = self._context(init_context)
        run = init_context.run
        if init_context.instance is None or run is None or run.is_finished:
            yield run_context
            return
        with event_log_held_open(init_context.instance, run.run_id):
            yield run_context
        if self.pipeline is not None and isinstance(run_context, KedroRunContext):
            call_pipeline_error(run_context, self.pipeline, getattr(init_context, "log", None))

    def _context(self, init_context: Any) -> KedroRunContext | DeferredRunContext:
        """The run context of this process: created, kept from an earlier step, or deferred."""
        run = init_context.run
        config = init_context.resource_config or {}
        runtime_params = config_runtime_params(config, self.params_defaults)
        run_id = run.run_id if run is not None else "ephemeral"
        instance = init_context.instance
        if _KEEPING and run is not None:
            kept = _KEPT.get(self._kept_key(run_id, run.tags, config))
            if kept is not None and not kept.wants_run_tags:
                # A later step of a worker: nothing to read again from the stored run (a
                # query and the whole run's config, ~9 ms per step at 200 nodes).
                return kept
        # The stored run, not the one this process was handed: it carries the tags added
        # since the run started (the MLflow run recorded by the job's start op).
        record = (
            instance.get_run_record_by_id(run_id)
            if instance is not None and run is not None
            else None
        )
        if record is not None:
            run = record.dagster_run
        tags = run.tags if run is not None else {}

        def create() -> KedroRunContext:
            kedro_run = KedroRunContext.create(
                project_path=self.project_path,
                env=tags.get(ENV_TAG, self.env),
                run_id=run_id,
                runtime_params=runtime_params,
                save_version=save_version_of(record),
                load_versions=config.get("load_versions") or None,
                run_params=self.run_params,
                tags=tags,
                starts_tracking=self.starts_tracking,
                row_count=self.row_count,
                instance=instance,
                log=getattr(init_context, "log", None),
            )
            # Every process running steps of the run is prepared as a Kedro session would.
            kedro_run.prepare_process()
            return kedro_run

        if run is not None and run.is_finished:
            # Dagster initialises every resource again once a run is over, so that the result
            # of `execute_job` (`dagster job execute`, `dg launch --job`) can read outputs.
            # Nothing runs then: build the Kedro side only if something uses it.
            return DeferredRunContext(create)
        if not _KEEPING:
            return create()
        key = self._kept_key(run_id, tags, config)
        kept = _KEPT.get(key)
        if kept is None:
            kept = _KEPT[key] = create()
        else:
            # Tags added since (the MLflow run recorded by the job's start op) are seen.
            kept.tags = dict(tags)
        return kept

    def _kept_key(
        self, run_id: str, tags: Mapping[str, str], config: Mapping[str, Any]
    ) -> tuple[Any, ...]:
        """The key of a run's kept context: its run, project, environment and settings.

        The environment tag is set when the run is created, so the tags handed to a step and
        the stored ones give the same key.
        """
        return (
            run_id,
            str(self.project_path),
            tags.get(ENV_TAG, self.env),
            json.dumps(config, sort_keys=True, default=str),
            self.starts_tracking,
            self.row_count,
        )


class DeferredRunContext:
    """A :class:`KedroRunContext` built on first use (resources of a finished run).

    Parameters
    ----------
    create : Callable
        Builds the run context.
    """

    def __init__(self, create: Callable[[], KedroRunContext]) -> None:
        self._create = create
        self._context: KedroRunContext | None = None

    def __getattr__(self, name: str) -> Any:
        if self._context is None:
            self._context = self._create()
        return getattr(self._context, name)
