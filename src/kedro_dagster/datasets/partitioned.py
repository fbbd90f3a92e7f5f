"""A Kedro ``PartitionedDataset`` that declares Dagster partitions and partition mappings.

The catalog entry is read twice: by Kedro, which builds the dataset at run time, and by the
translation, which only needs the declared keys and mappings (:func:`parse_partitions`, no
dataset instance, no filesystem access). Both validate through the same function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kedro.io.core import DatasetError, parse_dataset_definition
from kedro_datasets.partitions import PartitionedDataset

from kedro_dagster.config.notices import warn_once

__all__ = [
    "DagsterPartitionedDataset",
    "PartitionMappingConfig",
    "PartitionsConfig",
    "parse_partitions",
]

_STATIC_DEFINITION = "StaticPartitionsDefinition"
_STATIC_MAPPING = "StaticPartitionMapping"
_IDENTITY_MAPPING = "IdentityPartitionMapping"
_KEYS_FIELDS = ("partition_keys", "partitions")
_STATIC_MAPPING_FIELD = "downstream_partition_keys_by_upstream_partition_key"

_PARTITION_EXAMPLE = """\
  partition:
    type: dagster.StaticPartitionsDefinition
    partition_keys: ["2023-01-01.csv", "2023-01-02.csv"]"""


def _short_type(type_name: Any) -> str:
    return str(type_name).rsplit(".", 1)[-1]


@dataclass(frozen=True)
class PartitionMappingConfig:
    """One ``partition_mappings`` entry: how upstream keys map to a downstream dataset's keys.

    Attributes
    ----------
    target : str
        Downstream dataset name, or a ``{placeholder}`` pattern matching dataset names.
    identity : bool
        ``IdentityPartitionMapping``: each key maps to the same key downstream.
    downstream_keys : Mapping of str to tuple of str
        ``StaticPartitionMapping``: downstream keys of each upstream key (empty for identity).
    """

    target: str
    identity: bool
    downstream_keys: Mapping[str, tuple[str, ...]]

    def map_key(self, key: str) -> tuple[str, ...]:
        """Downstream keys of upstream ``key`` (before checking they exist downstream)."""
        return (key,) if self.identity else self.downstream_keys.get(key, ())

    def to_dagster(self) -> Any:
        """The Dagster partition mapping object."""
        from dagster import IdentityPartitionMapping, StaticPartitionMapping

        if self.identity:
            return IdentityPartitionMapping()
        return StaticPartitionMapping(
            {key: set(values) for key, values in self.downstream_keys.items()}
        )


@dataclass(frozen=True)
class PartitionsConfig:
    """The partition keys of a dataset and its mappings to downstream datasets.

    Attributes
    ----------
    keys : tuple of str
        Partition keys: the partition ids of the files (paths relative to ``path``, without
        ``filename_suffix``).
    mappings : tuple of PartitionMappingConfig
        Mappings to downstream datasets, in declaration order.
    """

    keys: tuple[str, ...]
    mappings: tuple[PartitionMappingConfig, ...] = ()

    def to_dagster(self) -> Any:
        """The Dagster ``StaticPartitionsDefinition``."""
        from dagster import StaticPartitionsDefinition

        return StaticPartitionsDefinition(list(self.keys))


def _key(value: Any) -> str:
    # YAML reads `2023-01-01` as a date; str() gives back the text the user wrote.
    return str(value)


def _parse_keys(where: str, partition: Any) -> tuple[str, ...]:
    if partition is None:
        raise DatasetError(
            f"{where}: 'partition' is missing. Declare the partition keys:\n{_PARTITION_EXAMPLE}"
        )
    if not isinstance(partition, Mapping):
        raise DatasetError(
            f"{where}: 'partition' must be a mapping with 'type' and 'partition_keys', got "
            f"{partition!r}. If your YAML reads `partition: dagster.StaticPartitionsDefinition` "
            f"followed by indented keys, move the type under it:\n{_PARTITION_EXAMPLE}"
        )
    kind = _short_type(partition.get("type", _STATIC_DEFINITION))
    if kind != _STATIC_DEFINITION:
        raise DatasetError(
            f"{where}: partition type '{partition.get('type')}' is not supported; "
            "kedro-dagster supports dagster.StaticPartitionsDefinition (a fixed list of keys)."
        )
    unknown = sorted(set(partition) - {"type", *_KEYS_FIELDS})
    if unknown:
        raise DatasetError(
            f"{where}: unknown 'partition' field(s) {unknown}; allowed: type, partition_keys."
        )
    present = [f for f in _KEYS_FIELDS if f in partition]
    if len(present) != 1:
        raise DatasetError(
            f"{where}: give the partition keys once, as 'partition_keys' (a list of strings)."
        )
    raw = partition[present[0]]
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)) or not raw:
        raise DatasetError(
            f"{where}: 'partition.{present[0]}' must be a non-empty list of keys, got {raw!r}."
        )
    keys = tuple(_key(k) for k in raw)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise DatasetError(f"{where}: partition keys {duplicates} are listed more than once.")
    return keys


def _parse_mapping(where: str, target: Any, config: Any, keys: tuple[str, ...]) -> Any:
    here = f"{where}: partition mapping to '{target}'"
    if not isinstance(config, Mapping):
        raise DatasetError(
            f"{here} must be a mapping with a 'type' (dagster.StaticPartitionMapping or "
            f"dagster.IdentityPartitionMapping), got {config!r}."
        )
    kind = _short_type(config.get("type", ""))
    if kind == _IDENTITY_MAPPING:
        extra = sorted(set(config) - {"type"})
        if extra:
            raise DatasetError(f"{here}: IdentityPartitionMapping takes no field, got {extra}.")
        return PartitionMappingConfig(str(target), identity=True, downstream_keys={})
    if kind != _STATIC_MAPPING:
        raise DatasetError(
            f"{here}: type '{config.get('type')}' is not supported; use "
            "dagster.StaticPartitionMapping or dagster.IdentityPartitionMapping."
        )
    extra = sorted(set(config) - {"type", _STATIC_MAPPING_FIELD})
    raw = config.get(_STATIC_MAPPING_FIELD)
    if extra or not isinstance(raw, Mapping) or not raw:
        raise DatasetError(
            f"{here}: StaticPartitionMapping needs '{_STATIC_MAPPING_FIELD}', a mapping of "
            "upstream key to downstream key(s)" + (f"; unknown field(s) {extra}." if extra else ".")
        )
    downstream: dict[str, tuple[str, ...]] = {}
    for upstream, values in raw.items():
        up = _key(upstream)
        if up not in keys:
            raise DatasetError(
                f"{here}: upstream key '{up}' is not one of this dataset's partition keys "
                f"{list(keys)}."
            )
        items = values if isinstance(values, (list, tuple, set)) else [values]
        downstream[up] = tuple(_key(v) for v in items)
    return PartitionMappingConfig(str(target), identity=False, downstream_keys=downstream)


def parse_partitions(
    name: str,
    partition: Any,
    partition_mappings: Any = None,
    *,
    overwrite: bool = False,
    partition_mapping: Any = None,
) -> PartitionsConfig:
    """Validate the ``partition`` and ``partition_mappings`` of a catalog entry.

    Parameters
    ----------
    name : str
        Dataset name, for messages.
    partition : dict
        ``{type: dagster.StaticPartitionsDefinition, partition_keys: [...]}``.
    partition_mappings : dict, optional
        Downstream dataset name or pattern to a mapping configuration.
    overwrite : bool
        ``PartitionedDataset``'s ``overwrite``, refused: each op saves one partition.
    partition_mapping : dict, optional
        kedro-dagster 0.x's spelling of ``partition_mappings``: read as it, with one warning.

    Returns
    -------
    PartitionsConfig

    Raises
    ------
    DatasetError
        With what is wrong and how to write it.
    """
    where = f"Dataset '{name}'"
    if overwrite:
        raise DatasetError(
            f"{where}: 'overwrite: true' is not supported: each Dagster op saves one partition, "
            "and overwriting would delete the partitions other ops wrote. Remove it."
        )
    keys = _parse_keys(where, partition)
    if partition_mapping is not None:
        if partition_mappings is not None:
            raise DatasetError(
                f"{where}: give 'partition_mappings' only; 'partition_mapping' is its "
                "kedro-dagster 0.x spelling. Merge the two and remove 'partition_mapping'."
            )
        warn_once(
            f"{where}: 'partition_mapping' is the kedro-dagster 0.x spelling of "
            "'partition_mappings'; it is read as such for now. Rename the key to "
            "'partition_mappings' in the catalog entry.",
            inherited=True,
        )
        partition_mappings = partition_mapping
    if partition_mappings is None:
        return PartitionsConfig(keys)
    if not isinstance(partition_mappings, Mapping):
        raise DatasetError(
            f"{where}: 'partition_mappings' must map downstream dataset names to mappings, got "
            f"{partition_mappings!r}."
        )
    mappings = tuple(
        _parse_mapping(where, target, config, keys) for target, config in partition_mappings.items()
    )
    return PartitionsConfig(keys, mappings)


def _dataset_definition(dataset: Any) -> Any:
    """Accept the pre-1.0 ``...DataSet`` spelling of kedro-datasets types (used in the guide)."""
    if not isinstance(dataset, (str, Mapping)):
        return dataset
    config = dict(dataset) if isinstance(dataset, Mapping) else {"type": dataset}
    type_name = config.get("type")
    if isinstance(type_name, str) and type_name.endswith("DataSet"):
        try:
            parse_dataset_definition(dict(config))
        except DatasetError:
            config["type"] = type_name[: -len("DataSet")] + "Dataset"
    return config


class DagsterPartitionedDataset(PartitionedDataset):
    """Kedro's ``PartitionedDataset`` with a Dagster partitions definition.

    Each partition key is a partition id of ``PartitionedDataset``: a file's path relative to
    ``path``, without ``filename_suffix``. Nodes reading or writing the dataset are fanned
    out, one op per key; loading gives ``{key: load_function}`` and saving takes
    ``{key: data}``, as with ``PartitionedDataset``.

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
        Without a mapping, a node reading this dataset and writing another partitioned one
        needs both to have the same keys (identity).
    partition_mapping : dict, optional
        kedro-dagster 0.x's spelling of ``partition_mappings``, accepted with one warning.
    **kwargs
        Passed to ``PartitionedDataset`` (``overwrite: true`` is refused).
    """

    def __init__(
        self,
        path: str,
        dataset: str | type | dict[str, Any],
        partition: dict[str, Any] | None = None,
        partition_mappings: dict[str, dict[str, Any]] | None = None,
        partition_mapping: dict[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.partitions = parse_partitions(
            path,
            partition,
            partition_mappings,
            overwrite=bool(kwargs.get("overwrite")),
            partition_mapping=partition_mapping,
        )
        super().__init__(path=path, dataset=_dataset_definition(dataset), **kwargs)

    @property
    def partition_keys(self) -> list[str]:
        """The declared partition keys."""
        return list(self.partitions.keys)

    def get_partitions_definition(self) -> Any:
        """The Dagster ``StaticPartitionsDefinition`` of this dataset."""
        return self.partitions.to_dagster()

    def get_partition_mappings(self) -> dict[str, Any]:
        """Dagster partition mappings by downstream dataset name or pattern."""
        return {m.target: m.to_dagster() for m in self.partitions.mappings}

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "partition_keys": list(self.partitions.keys)}
