"""Kedro pipeline hooks that need Dagster machinery: the run-failure sensor.

The failed run itself calls ``on_pipeline_error`` (see :mod:`kedro_dagster.runtime.failures`);
the sensor covers runs that could not (a killed process).
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    DefaultSensorStatus,
    JobDefinition,
    SensorDefinition,
    run_failure_sensor,
)

from kedro_dagster.runtime.hooks import PipelineErrorSensor

__all__ = ["PIPELINE_ERROR_SENSOR", "pipeline_error_sensor"]

PIPELINE_ERROR_SENSOR = "kedro_on_pipeline_error"


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
