"""Kedro pipeline hooks that need Dagster machinery: the run-failure sensor."""

from __future__ import annotations

from collections.abc import Sequence

from dagster import DefaultSensorStatus, JobDefinition, SensorDefinition, run_failure_sensor

from kedro_dagster.runtime.hooks import PipelineErrorSensor

__all__ = ["PIPELINE_ERROR_SENSOR", "pipeline_error_sensor"]

PIPELINE_ERROR_SENSOR = "kedro_on_pipeline_error"


def pipeline_error_sensor(
    jobs: Sequence[JobDefinition], body: PipelineErrorSensor
) -> SensorDefinition:
    """The sensor calling ``on_pipeline_error`` when a run of one of ``jobs`` fails.

    It runs by default (the daemon of ``kedro dagster dev`` evaluates it), as the hook runs
    under ``kedro run`` without anything to switch on.
    """
    return run_failure_sensor(
        name=PIPELINE_ERROR_SENSOR,
        monitored_jobs=list(jobs),
        default_status=DefaultSensorStatus.RUNNING,
        description="Calls the Kedro hook on_pipeline_error with the failed node's exception.",
    )(body)
