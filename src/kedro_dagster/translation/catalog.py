"""Catalog translation: Kedro datasets become asset specs and IO managers."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from dagster import AssetKey, AssetSpec, IOManagerDefinition
from kedro.io import CachedDataset, MemoryDataset, SharedMemoryDataset
from kedro.io.core import DatasetError, parse_dataset_definition

from kedro_dagster.constants import METADATA_PREFIX
from kedro_dagster.datasets.nothing import DagsterNothingDataset
from kedro_dagster.datasets.partitioned import (
    DagsterPartitionedDataset,
    PartitionsConfig,
    parse_partitions,
)
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.runtime.io_managers import KedroDatasetIOManager
from kedro_dagster.runtime.ops import is_parameter
from kedro_dagster.runtime.redaction import Redactor
from kedro_dagster.utils import format_dataset_name

__all__ = ["CatalogTranslator", "DatasetSpec", "io_manager_key"]

_INVALID_ARG_CHARS = re.compile(r"[^A-Za-z0-9_]")
_TRANSCODING_SEP = "@"
_MAX_KINDS = 3
# Kedro sets `_EPHEMERAL` on instances; the classes tell it without instantiating anything.
_EPHEMERAL_CLASSES = (MemoryDataset, CachedDataset, SharedMemoryDataset)
# Translation never reads credentials: it can only mask URL passwords in catalog values.
_URL_PASSWORDS = Redactor()


def is_ephemeral_class(cls: type) -> bool:
    """Whether datasets of ``cls`` keep data only in memory (no instance is created)."""
    return issubclass(cls, _EPHEMERAL_CLASSES) or bool(getattr(cls, "_EPHEMERAL", False))


def strip_transcoding(name: str) -> str:
    """``table@pandas`` -> ``table``: transcoded datasets are one asset."""
    return name.split(_TRANSCODING_SEP, 1)[0]


@cache
def _is_kedro_datasets_subpackage(name: str) -> bool:
    """Whether ``kedro_datasets.<name>`` exists, found without importing it."""
    try:
        return importlib.util.find_spec(f"kedro_datasets.{name}") is not None
    except (ImportError, ValueError):
        return False


def io_manager_key(dataset_name: str) -> str:
    """Resource key of the IO manager of one Kedro dataset."""
    return _INVALID_ARG_CHARS.sub("_", format_dataset_name(dataset_name)) + "__io_manager"


def arg_name(dataset_name: str) -> str:
    """Name of the op input/output carrying a dataset (``[A-Za-z0-9_]`` only)."""
    return _INVALID_ARG_CHARS.sub("_", format_dataset_name(dataset_name))


@dataclass(frozen=True)
class DatasetSpec:
    """What translation knows about one Kedro dataset (a small frozen record).

    Attributes
    ----------
    name : str
        Kedro dataset name.
    asset_name : str
        Dagster asset name (transcoding suffix removed, ``.`` as ``__``).
    type : str
        Fully qualified class of the dataset.
    ephemeral : bool
        Whether the dataset keeps data only in memory (``MemoryDataset`` and the like).
    nothing : bool
        Whether the dataset holds no data (``DagsterNothingDataset``): only an ordering edge.
    metadata : Mapping
        The catalog entry's ``metadata`` (read-only copy).
    filepath : str, optional
        The configured file path, if any.
    partitions : PartitionsConfig, optional
        Partition keys and mappings of a ``DagsterPartitionedDataset``.
    partition_type : str, optional
        Class of the dataset of each partition, when partitioned.
    """

    name: str
    asset_name: str
    type: str
    ephemeral: bool
    nothing: bool = False
    metadata: Mapping[str, Any] = field(default_factory=dict)
    filepath: str | None = None
    partitions: PartitionsConfig | None = None
    partition_type: str | None = None

    @property
    def asset_key(self) -> AssetKey:
        """The Dagster asset key."""
        return AssetKey(self.asset_name)

    @property
    def description(self) -> str | None:
        """The ``description`` of the dataset metadata."""
        value = self.metadata.get("description")
        return str(value) if value is not None else None

    @property
    def group_name(self) -> str | None:
        """The ``group_name`` of the dataset metadata."""
        value = self.metadata.get("group_name")
        return str(value) if value is not None else None

    @property
    def kinds(self) -> set[str]:
        """Dagster kinds: ``kedro`` plus the dataset's library and format."""
        kinds = ["kedro"]
        # A partitioned dataset shows the library and format of its partitions.
        parts = (self.partition_type or self.type).split(".")
        if parts[0] == "kedro_datasets" and len(parts) > 1:
            kinds.append(parts[1])
        cls = parts[-1].removesuffix("Dataset").removesuffix("DataSet").lower()
        if cls and cls not in kinds:
            kinds.append(cls)
        return set(kinds[:_MAX_KINDS])


class CatalogTranslator:
    """Builds :class:`DatasetSpec` records, asset specs and IO managers from a catalog.

    Subclass and override :meth:`get_asset_spec` to change how datasets appear in Dagster.

    Parameters
    ----------
    catalog : DataCatalog
        A catalog built from configuration (datasets stay lazy; nothing is read).
    """

    def __init__(self, catalog: Any) -> None:
        self._catalog = catalog
        self._specs: dict[str, DatasetSpec] = {}
        self._classes: dict[Any, tuple[str, bool, bool, bool]] = {}
        self._partitions_defs: dict[str, Any] = {}

    def _type_info(self, type_value: Any) -> tuple[str, bool, bool, bool]:
        """Class path, ephemerality, nothing-ness and partitioning of a catalog ``type``.

        Short kedro-datasets types (``pandas.CSVDataset``) resolve without importing their module:
        kedro-datasets has no in-memory-only dataset, and importing e.g. pyarrow in every Dagster
        process just to learn that would dominate load time. Other types are imported.
        """
        cached = self._classes.get(type_value)
        if cached is not None:
            return cached
        info: tuple[str, bool, bool, bool] | None = None
        if isinstance(type_value, str):
            head = type_value.split(".", 1)[0]
            if head == "kedro_datasets":
                info = (type_value, False, False, False)
            elif "." in type_value and _is_kedro_datasets_subpackage(head):
                info = (f"kedro_datasets.{type_value}", False, False, False)
        if info is None:
            cls, _ = parse_dataset_definition({"type": type_value})
            info = (
                f"{cls.__module__}.{cls.__qualname__}",
                is_ephemeral_class(cls),
                issubclass(cls, DagsterNothingDataset),
                issubclass(cls, DagsterPartitionedDataset),
            )
        self._classes[type_value] = info
        return info

    @staticmethod
    def _kedro_datasets_path(type_name: str) -> str:
        """``pandas.CSVDataset`` -> ``kedro_datasets.pandas.CSVDataset`` (not imported)."""
        head = type_name.split(".", 1)[0]
        if "." in type_name and head != "kedro_datasets" and _is_kedro_datasets_subpackage(head):
            return f"kedro_datasets.{type_name}"
        return type_name

    def dataset(self, name: str) -> DatasetSpec:
        """The record of dataset ``name``; factories and runtime patterns are resolved."""
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        resolver = self._catalog.config_resolver
        config = resolver.config.get(name)
        if config is None:
            config = resolver.resolve_pattern(name)
        try:
            type_path, ephemeral, nothing, partitioned = self._type_info(config.get("type"))
        except Exception as exc:
            raise KedroDagsterConfigError(
                f"Dataset '{name}' cannot be resolved: {exc}. Fix its 'type' in the catalog.",
                key=(name, "type"),
            ) from exc
        partitions = partition_type = None
        if partitioned:
            inner = config.get("dataset")
            inner_type = inner.get("type") if isinstance(inner, Mapping) else inner
            if isinstance(inner_type, str):
                partition_type = self._kedro_datasets_path(inner_type)
            try:
                partitions = parse_partitions(
                    name,
                    config.get("partition"),
                    config.get("partition_mappings"),
                    overwrite=bool(config.get("overwrite")),
                )
            except DatasetError as exc:
                raise KedroDagsterConfigError(str(exc), key=(name, "partition")) from None
        metadata = config.get("metadata") or {}
        filepath = config.get("filepath") or config.get("path")
        spec = DatasetSpec(
            name=name,
            asset_name=format_dataset_name(strip_transcoding(name)),
            type=type_path,
            ephemeral=ephemeral,
            nothing=nothing,
            metadata=MappingProxyType(dict(metadata)) if isinstance(metadata, Mapping) else {},
            filepath=str(filepath) if filepath is not None else None,
            partitions=partitions,
            partition_type=partition_type,
        )
        self._specs[name] = spec
        return spec

    @property
    def declared_names(self) -> set[str]:
        """Dataset names declared explicitly in the catalog configuration."""
        return set(self._catalog.config_resolver.config)

    def is_nothing(self, name: str) -> bool:
        """Whether ``name`` is an ordering-only ``DagsterNothingDataset``."""
        return not is_parameter(name) and self.dataset(name).nothing

    def is_partitioned(self, name: str) -> bool:
        """Whether ``name`` is a ``DagsterPartitionedDataset``."""
        return not is_parameter(name) and self.dataset(name).partitions is not None

    def is_direct(self, name: str) -> bool:
        """Whether ops load and save ``name`` themselves (no value passed between ops)."""
        return not is_parameter(name) and (
            self.dataset(name).nothing or self.dataset(name).partitions is not None
        )

    def partitions_def(self, name: str) -> Any:
        """The Dagster partitions definition of a partitioned dataset (one object per asset)."""
        spec = self.dataset(name)
        if spec.partitions is None:
            return None
        cached = self._partitions_defs.get(spec.asset_name)
        if cached is None:
            cached = self._partitions_defs[spec.asset_name] = spec.partitions.to_dagster()
        return cached

    def is_ephemeral(self, name: str) -> bool:
        """Whether ``name`` is a MemoryDataset-like dataset (parameters are not datasets)."""
        return not is_parameter(name) and self.dataset(name).ephemeral

    def asset_metadata(self, spec: DatasetSpec) -> dict[str, Any]:
        """Static asset metadata: dataset name, type and path, never credentials.

        The password of a ``scheme://user:password@host`` path or value is masked.
        """
        metadata: dict[str, Any] = {
            f"{METADATA_PREFIX}/dataset": spec.name,
            f"{METADATA_PREFIX}/type": spec.type,
        }
        if spec.filepath:
            metadata[f"{METADATA_PREFIX}/filepath"] = spec.filepath
        for key, value in spec.metadata.items():
            if key in ("description", "group_name"):
                continue
            if isinstance(value, (str, int, float, bool)):
                metadata[f"{METADATA_PREFIX}/{key}"] = value
        return _URL_PASSWORDS.redact_metadata(metadata)

    def get_asset_spec(self, spec: DatasetSpec, *, group_name: str | None = None) -> AssetSpec:
        """The Dagster asset spec of a dataset; override to customize.

        Parameters
        ----------
        spec : DatasetSpec
            The dataset.
        group_name : str, optional
            Default group (from the node's pipeline); the dataset's ``group_name`` wins.

        Returns
        -------
        AssetSpec
        """
        return AssetSpec(
            key=spec.asset_key,
            description=spec.description,
            group_name=spec.group_name or group_name,
            metadata=self.asset_metadata(spec),
            kinds=spec.kinds,
            partitions_def=self.partitions_def(spec.name),
        )

    def asset_spec(self, name: str, *, group_name: str | None = None) -> AssetSpec:
        """The asset spec of dataset ``name`` (through :meth:`get_asset_spec`)."""
        return self.get_asset_spec(self.dataset(name), group_name=group_name)

    def io_manager(self, spec: DatasetSpec) -> IOManagerDefinition:
        """The IO manager loading and saving ``spec`` through its Kedro dataset."""
        return KedroDatasetIOManager.definition(
            spec.name, spec.asset_name, f"Kedro dataset '{spec.name}' ({spec.type})"
        )
