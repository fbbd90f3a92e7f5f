"""A Kedro ``PartitionedDataset`` that declares Dagster partitions and partition mappings."""

from __future__ import annotations

from typing import Any

from kedro.io.core import DatasetError
from kedro_datasets.partitions import PartitionedDataset

__all__ = ["DagsterPartitionedDataset"]

_SUPPORTED_PARTITIONS = ("StaticPartitionsDefinition",)
_SUPPORTED_MAPPINGS = ("StaticPartitionMapping", "IdentityPartitionMapping")


def _short_type(type_name: str) -> str:
    return str(type_name).rsplit(".", 1)[-1]


class DagsterPartitionedDataset(PartitionedDataset):
    """Kedro's ``PartitionedDataset`` with a Dagster partitions definition.

    Parameters
    ----------
    path : str
        Folder of the partitions.
    dataset : str, type or dict
        The underlying dataset of each partition.
    partition : dict
        ``{type: dagster.StaticPartitionsDefinition, partition_keys: [...]}``.
    partition_mappings : dict, optional
        Downstream dataset name (or ``{namespace}``-style pattern) to
        ``{type: dagster.StaticPartitionMapping | dagster.IdentityPartitionMapping, ...}``.
    **kwargs
        Passed to ``PartitionedDataset``.
    """

    def __init__(
        self,
        path: str,
        dataset: str | type | dict[str, Any],
        partition: dict[str, Any] | None = None,
        partition_mappings: dict[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path=path, dataset=dataset, **kwargs)
        self._partition_config = dict(partition or {})
        self._partition_mappings = dict(partition_mappings or {})
        kind = _short_type(self._partition_config.get("type", "StaticPartitionsDefinition"))
        if kind not in _SUPPORTED_PARTITIONS:
            raise DatasetError(
                f"Partition type '{kind}' is not supported; use "
                f"{', '.join('dagster.' + p for p in _SUPPORTED_PARTITIONS)}."
            )
        for target, mapping in self._partition_mappings.items():
            mapping_kind = _short_type(mapping.get("type", ""))
            if mapping_kind not in _SUPPORTED_MAPPINGS:
                raise DatasetError(
                    f"Partition mapping to '{target}' has unsupported type '{mapping_kind}'; "
                    f"use {', '.join('dagster.' + m for m in _SUPPORTED_MAPPINGS)}."
                )

    @property
    def partition_keys(self) -> list[str]:
        """The declared partition keys."""
        return [str(k) for k in self._partition_config.get("partition_keys", [])]

    def get_partitions_definition(self) -> Any:
        """The Dagster ``StaticPartitionsDefinition`` of this dataset."""
        from dagster import StaticPartitionsDefinition

        return StaticPartitionsDefinition(self.partition_keys)

    def get_partition_mappings(self) -> dict[str, Any]:
        """Dagster partition mappings by downstream dataset name or pattern."""
        from dagster import IdentityPartitionMapping, StaticPartitionMapping

        mappings: dict[str, Any] = {}
        for target, config in self._partition_mappings.items():
            if _short_type(config["type"]) == "IdentityPartitionMapping":
                mappings[target] = IdentityPartitionMapping()
            else:
                mappings[target] = StaticPartitionMapping(
                    config.get("downstream_partition_keys_by_upstream_partition_key", {})
                )
        return mappings
