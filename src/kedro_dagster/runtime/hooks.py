"""``on_pipeline_error`` from a run-failure sensor, with the node's original exception."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, Failure
from kedro.pipeline import Pipeline

from kedro_dagster.constants import ENV_TAG, KEDRO_RUN_RESOURCE
from kedro_dagster.runtime.context import (
    KedroRunContext,
    config_runtime_params,
    save_version_for_run,
)
from kedro_dagster.runtime.failures import pipeline_error_handled

__all__ = [
    "ERROR_CLASS_KEY",
    "ERROR_MESSAGE_KEY",
    "PipelineErrorSensor",
    "node_failure",
    "rebuild_error",
]

logger = logging.getLogger(__name__)

ERROR_CLASS_KEY = "kedro/error_class"
ERROR_MESSAGE_KEY = "kedro/error_message"


def node_failure(node_name: str, exc: BaseException) -> Failure:
    """A Dagster ``Failure`` with the node's exception class and message; raise it from ``exc``."""
    cls = type(exc)
    return Failure(
        description=f"Kedro node '{node_name}' failed: {cls.__name__}: {exc}",
        metadata={
            ERROR_CLASS_KEY: f"{cls.__module__}.{cls.__qualname__}",
            ERROR_MESSAGE_KEY: str(exc),
        },
        allow_retries=True,
    )


class _UnimportableError(Exception):
    """Stands for an exception whose class cannot be imported where hooks run."""


def rebuild_error(class_path: str, message: str) -> BaseException:
    """The exception a node raised, rebuilt from its class path and message."""
    module_name, _, qualname = class_path.rpartition(".")
    try:
        cls: Any = importlib.import_module(module_name or "builtins")
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            try:
                return cls(message)
            except Exception:  # a constructor with other arguments: keep class and message
                error = cls.__new__(cls)
                error.args = (message,)
                return error
    except (ImportError, AttributeError, ValueError):
        pass
    named = type(qualname.rsplit(".", 1)[-1] or "Error", (_UnimportableError,), {})
    return named(message)


def _original_error(context: Any) -> BaseException:
    """The first node failure of the run, else the run failure message."""
    instance = context.instance
    run_id = context.dagster_run.run_id
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = entry.dagster_event.step_failure_data if entry.dagster_event else None
        metadata = getattr(getattr(data, "user_failure_data", None), "metadata", None) or {}
        if ERROR_CLASS_KEY in metadata:
            return rebuild_error(metadata[ERROR_CLASS_KEY].value, metadata[ERROR_MESSAGE_KEY].value)
    failure = context.failure_event
    return RuntimeError(getattr(failure, "message", None) or "Dagster run failed")


class PipelineErrorSensor:
    """Body of the run-failure sensor calling Kedro's ``on_pipeline_error`` once per failed run.

    Parameters
    ----------
    project_path : Path
        Root of the Kedro project.
    env : str
        Kedro environment of the definitions (a run's ``kedro/env`` tag wins).
    pipelines : Mapping of str to Pipeline
        Each job's filtered pipeline, by job name.
    params_defaults : Mapping of str to Mapping
        Each job's launchpad parameter defaults, to recover the run's edits.
    run_params : Mapping of str to Mapping
        Each job's ``run_params`` entries (pipeline and filters).
    run_key : str
        Key of the jobs' ``kedro_run`` resource, whose run config holds the parameters.
    """

    def __init__(
        self,
        project_path: Path,
        env: str,
        pipelines: Mapping[str, Pipeline],
        params_defaults: Mapping[str, Mapping[str, Any]],
        run_params: Mapping[str, Mapping[str, Any]],
        run_key: str = KEDRO_RUN_RESOURCE,
    ) -> None:
        self.run_key = run_key
        self.project_path = project_path
        self.env = env
        self.pipelines = pipelines
        self.params_defaults = params_defaults
        self.run_params = run_params

    def __call__(self, context) -> None:  # Dagster inspects the unannotated context
        """Rebuild the run's Kedro context and call ``on_pipeline_error``."""
        dagster_run = context.dagster_run
        pipeline = self.pipelines.get(dagster_run.job_name)
        if pipeline is None:
            return
        if pipeline_error_handled(context.instance, dagster_run.run_id):
            # Called in the run by its failed step (`runtime.failures`): the sensor is for
            # runs that died without running that code (a killed process).
            return
        config = (dagster_run.run_config or {}).get("resources", {}).get(self.run_key, {})
        run = KedroRunContext.create(
            project_path=self.project_path,
            env=dagster_run.tags.get(ENV_TAG, self.env),
            run_id=dagster_run.run_id,
            runtime_params=config_runtime_params(
                config.get("config") or {}, self.params_defaults.get(dagster_run.job_name, {})
            ),
            save_version=save_version_for_run(context.instance, dagster_run.run_id),
            run_params=dict(self.run_params.get(dagster_run.job_name) or {}),
            tags=dagster_run.tags,
        )
        # kedro-mlflow ends the run's MLflow run as FAILED: let it find that run here.
        run.join_tracking()
        error = _original_error(context)
        logger.info(
            "Calling on_pipeline_error for run %s of job %s (%s)",
            dagster_run.run_id,
            dagster_run.job_name,
            type(error).__name__,
        )
        run.hooks.on_pipeline_error(
            error=error, run_params=run.run_params, pipeline=pipeline, catalog=run.catalog
        )
