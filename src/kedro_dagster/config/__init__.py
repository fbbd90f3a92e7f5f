"""``dagster.yml``: its models and their loading."""

from kedro_dagster.config.loader import default_config, load_config, validate_config
from kedro_dagster.config.models import (
    BUILTIN_EXECUTORS,
    EXECUTOR_OPTIONS,
    BaseExecutorOptions,
    DockerExecutorOptions,
    ExecutorOptions,
    InProcessExecutorOptions,
    JobOptions,
    KedroDagsterConfig,
    LoggerOptions,
    MultiprocessExecutorOptions,
    PipelineOptions,
    ScheduleOptions,
)

__all__ = [
    "BUILTIN_EXECUTORS",
    "EXECUTOR_OPTIONS",
    "BaseExecutorOptions",
    "DockerExecutorOptions",
    "ExecutorOptions",
    "InProcessExecutorOptions",
    "JobOptions",
    "KedroDagsterConfig",
    "LoggerOptions",
    "MultiprocessExecutorOptions",
    "PipelineOptions",
    "ScheduleOptions",
    "default_config",
    "load_config",
    "validate_config",
]
