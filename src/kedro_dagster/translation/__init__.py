"""Load world: translate a Kedro project into Dagster definitions."""

from kedro_dagster.translation.catalog import CatalogTranslator, DatasetSpec
from kedro_dagster.translation.executors import ExecutorCreator
from kedro_dagster.translation.loggers import LoggerCreator
from kedro_dagster.translation.nodes import NodeTranslator
from kedro_dagster.translation.pipelines import PipelineTranslator
from kedro_dagster.translation.project import KedroProjectTranslator
from kedro_dagster.translation.schedules import ScheduleCreator
from kedro_dagster.translation.translator import (
    KedroDagsterTranslator,
    KedroDagsterTranslatorSettings,
)

__all__ = [
    "CatalogTranslator",
    "DatasetSpec",
    "ExecutorCreator",
    "KedroDagsterTranslator",
    "KedroDagsterTranslatorSettings",
    "KedroProjectTranslator",
    "LoggerCreator",
    "NodeTranslator",
    "PipelineTranslator",
    "ScheduleCreator",
]
