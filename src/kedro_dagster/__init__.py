"""kedro-dagster: deploy Kedro projects on Dagster.

Public names are imported lazily, so ``import kedro_dagster`` (done by Kedro's CLI for the
plugin's commands) does not import Dagster.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version
from typing import TYPE_CHECKING, Any

try:  # one source of truth: pyproject.toml's version, as installed
    __version__ = _distribution_version("kedro-dagster")
except PackageNotFoundError:  # pragma: no cover (a source tree that is not installed)
    __version__ = "0+unknown"

_EXPORTS: dict[str, str] = {
    "KedroProjectTranslator": "kedro_dagster.translation",
    "CatalogTranslator": "kedro_dagster.translation",
    "KedroDagsterTranslator": "kedro_dagster.translation",
    "KedroDagsterTranslatorSettings": "kedro_dagster.translation",
    "NodeTranslator": "kedro_dagster.translation",
    "PipelineTranslator": "kedro_dagster.translation",
    "ExecutorCreator": "kedro_dagster.translation",
    "ScheduleCreator": "kedro_dagster.translation",
    "LoggerCreator": "kedro_dagster.translation",
    "DatasetSpec": "kedro_dagster.translation",
    "DagsterPartitionedDataset": "kedro_dagster.datasets",
    "DagsterNothingDataset": "kedro_dagster.datasets",
    "KedroProject": "kedro_dagster.project",
    "KedroProjectComponent": "kedro_dagster.component",
    "KedroDagsterError": "kedro_dagster.errors",
    "KedroDagsterConfigError": "kedro_dagster.errors",
    "getLogger": "kedro_dagster.logging",
    "dagster_colored_formatter": "kedro_dagster.logging",
    "dagster_json_formatter": "kedro_dagster.logging",
    "dagster_rich_formatter": "kedro_dagster.logging",
    "DagsterColoredFormatter": "kedro_dagster.logging",
    "DagsterJsonFormatter": "kedro_dagster.logging",
    "DagsterRichFormatter": "kedro_dagster.logging",
    "KedroDagsterConfig": "kedro_dagster.config",
    "JobOptions": "kedro_dagster.config",
    "PipelineOptions": "kedro_dagster.config",
    "ScheduleOptions": "kedro_dagster.config",
    "LoggerOptions": "kedro_dagster.config",
    "ExecutorOptions": "kedro_dagster.config",
    "BaseExecutorOptions": "kedro_dagster.config",
    "InProcessExecutorOptions": "kedro_dagster.config",
    "MultiprocessExecutorOptions": "kedro_dagster.config",
    "ParallelExecutorOptions": "kedro_dagster.config",
    "DockerExecutorOptions": "kedro_dagster.config",
    "DaskExecutorOptions": "kedro_dagster.config",
    "CeleryExecutorOptions": "kedro_dagster.config",
    "CeleryDockerExecutorOptions": "kedro_dagster.config",
    "K8sJobExecutorOptions": "kedro_dagster.config",
    "CeleryK8sJobExecutorOptions": "kedro_dagster.config",
    "RetryPolicyOptions": "kedro_dagster.config",
    "format_dataset_name": "kedro_dagster.utils",
    "format_node_name": "kedro_dagster.utils",
    "unformat_asset_name": "kedro_dagster.utils",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kedro_dagster' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # pragma: no cover
    from kedro_dagster.component import KedroProjectComponent
    from kedro_dagster.config import (
        BaseExecutorOptions,
        CeleryDockerExecutorOptions,
        CeleryExecutorOptions,
        CeleryK8sJobExecutorOptions,
        DaskExecutorOptions,
        DockerExecutorOptions,
        ExecutorOptions,
        InProcessExecutorOptions,
        JobOptions,
        K8sJobExecutorOptions,
        KedroDagsterConfig,
        LoggerOptions,
        MultiprocessExecutorOptions,
        ParallelExecutorOptions,
        PipelineOptions,
        RetryPolicyOptions,
        ScheduleOptions,
    )
    from kedro_dagster.datasets import DagsterNothingDataset, DagsterPartitionedDataset
    from kedro_dagster.errors import KedroDagsterConfigError, KedroDagsterError
    from kedro_dagster.logging import (
        DagsterColoredFormatter,
        DagsterJsonFormatter,
        DagsterRichFormatter,
        dagster_colored_formatter,
        dagster_json_formatter,
        dagster_rich_formatter,
        getLogger,
    )
    from kedro_dagster.project import KedroProject
    from kedro_dagster.translation import (
        CatalogTranslator,
        DatasetSpec,
        ExecutorCreator,
        KedroDagsterTranslator,
        KedroDagsterTranslatorSettings,
        KedroProjectTranslator,
        LoggerCreator,
        NodeTranslator,
        PipelineTranslator,
        ScheduleCreator,
    )
    from kedro_dagster.utils import format_dataset_name, format_node_name, unformat_asset_name
