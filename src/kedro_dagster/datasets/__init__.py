"""Kedro datasets for Dagster features: partitions and ordering-only edges."""

from kedro_dagster.datasets.nothing import DagsterNothingDataset
from kedro_dagster.datasets.partitioned import DagsterPartitionedDataset

__all__ = ["DagsterNothingDataset", "DagsterPartitionedDataset"]
