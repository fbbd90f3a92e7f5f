"""Kedro pipeline hooks that need Dagster machinery: the failure hook and the run-failure sensor."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    DefaultSensorStatus,
    HookDefinition,
    JobDefinition,
    SensorDefinition,
    failure_hook,
    run_failure_sensor,
)
from kedro.pipeline import Pipeline

from kedro_dagster.runtime.failures import RunFailureHook
from kedro_dagster.runtime.hooks import PipelineErrorSensor
from kedro_dagster.translation.namespace import NO_NAMESPACE, Namespace

__all__ = [
    "PIPELINE_ERROR_HOOK",
    "PIPELINE_ERROR_SENSOR",
    "pipeline_error_hook",
    "pipeline_error_sensor",
]

PIPELINE_ERROR_SENSOR = "kedro_on_pipeline_error"
PIPELINE_ERROR_HOOK = "kedro_on_pipeline_error"


def pipeline_error_hook(pipeline: Pipeline, namespace: Namespace = NO_NAMESPACE) -> HookDefinition:
    """The failure hook of a job's ops: ``on_pipeline_error`` once per failed run, in the run.

    It also keeps an in-process run's MemoryDatasets for a re-execution from failure (see
    :mod:`kedro_dagster.runtime.failures`).
    """
    return failure_hook(
        name=PIPELINE_ERROR_HOOK,
        required_resource_keys={namespace.kedro_run, namespace.memory_io_manager},
    )(RunFailureHook(pipeline, namespace.kedro_run, namespace.memory_io_manager))


def pipeline_error_sensor(
    jobs: Sequence[JobDefinition], body: PipelineErrorSensor, name: str = PIPELINE_ERROR_SENSOR
) -> SensorDefinition:
    """The sensor calling ``on_pipeline_error`` when a run of one of ``jobs`` fails.

    Runs whose failed step already called the hook (run tag ``kedro/on_pipeline_error``) are
    skipped: the sensor is for runs that died without running it (a killed process). It runs
    by default (the daemon of ``kedro dagster dev`` evaluates it), as the hook runs under
    ``kedro run`` without anything to switch on.
    """
    return run_failure_sensor(
        name=name,
        monitored_jobs=list(jobs),
        default_status=DefaultSensorStatus.RUNNING,
        description="Calls the Kedro hook `on_pipeline_error` with the failed node's exception, "
        "for failed runs that did not call it themselves.",
    )(body)
