"""Catalog translation: Kedro datasets become asset specs and IO managers."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from dagster import AssetKey, AssetSpec, IOManagerDefinition
from kedro.io import CachedDataset, MemoryDataset, SharedMemoryDataset
from kedro.io.core import DatasetError, parse_dataset_definition

from kedro_dagster import _kedro_internals as internals
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
from kedro_dagster.runtime.validation import ValidatorCheck
from kedro_dagster.translation.names import code
from kedro_dagster.translation.namespace import NO_NAMESPACE, Namespace
from kedro_dagster.translation.translator import KedroDagsterTranslator
from kedro_dagster.translation.validators import parse_validator, validator_check
from kedro_dagster.utils import RESERVED_NAMES, format_dataset_name

__all__ = ["CatalogTranslator", "DatasetSpec", "io_manager_key"]

_INVALID_ARG_CHARS = re.compile(r"[^A-Za-z0-9_]")
_TRANSCODING_SEP = "@"
_MAX_KINDS = 3
# Kedro's in-memory datasets set `_EPHEMERAL` on their instances: their classes tell it.
_MEMORY_CLASSES = (MemoryDataset, SharedMemoryDataset)
# Modules whose datasets are known without instantiating them (kedro.io's are handled by class).
_KNOWN_MODULES = ("kedro.", "kedro_datasets.", "kedro_dagster.")
# Translation never reads credentials: it can only mask URL passwords in catalog values.
_URL_PASSWORDS = Redactor()

logger = logging.getLogger(__name__)


def is_ephemeral_class(cls: type) -> bool:
    """Whether datasets of ``cls`` keep data only in memory, as far as the class tells.

    ``CachedDataset`` is not: it saves the dataset it wraps (see :class:`CatalogTranslator`).
    """
    return issubclass(cls, _MEMORY_CLASSES) or internals.declares_ephemeral(cls)


def _init_sets_ephemeral(cls: type) -> bool:
    """Whether a project class's ``__init__`` assigns ``_EPHEMERAL`` (Kedro's documented way).

    Read from the compiled code: only such datasets are instantiated at load to learn it.
    """
    for klass in cls.__mro__:
        if klass.__module__.startswith(_KNOWN_MODULES) or klass is object:
            continue
        init = klass.__dict__.get("__init__")
        # Kedro wraps every dataset's `__init__` (to record its arguments): read the original.
        code = getattr(inspect.unwrap(init), "__code__", None) if callable(init) else None
        if code is not None and internals.EPHEMERAL_ATTR in code.co_names:
            return True
    return False


@dataclass(frozen=True)
class _TypeInfo:
    """What a catalog ``type`` tells before any dataset is created."""

    path: str
    ephemeral: bool = False
    nothing: bool = False
    partitioned: bool = False
    cached: bool = False
    #: The class's ``_SINGLE_PROCESS``; ``None`` when the class was not imported.
    single_process: bool | None = None
    #: A project class that may set ``_EPHEMERAL`` on its instances.
    instance_ephemeral: bool = False


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


@cache
def _kedro_datasets_mention(name: str, attribute: str) -> bool:
    """Whether a source file of ``kedro_datasets.<name>`` mentions ``attribute``, unimported.

    Reading a few source files costs milliseconds; importing the classes would import their
    data libraries (pyarrow, pyspark...).
    """
    try:
        spec = importlib.util.find_spec(f"kedro_datasets.{name}")
    except (ImportError, ValueError):
        return True  # not found here: let the import decide
    if spec is None or not spec.submodule_search_locations:
        return True
    for folder in spec.submodule_search_locations:
        for source in Path(folder).rglob("*.py"):
            try:
                if attribute in source.read_text(encoding="utf-8", errors="ignore"):
                    return True
            except OSError:
                return True
    return False


def io_manager_key(dataset_name: str) -> str:
    """Resource key of the IO manager of one Kedro dataset, unique to it.

    Resource keys are Python identifiers: a name with other characters (``model-input``,
    ``table@pandas``) gets a digest of itself, or it would share the key, and so the IO
    manager, of another dataset (``model_input``) whose data it would then overwrite; a name
    starting with a digit (``2024.sales``) is also prefixed with ``dataset_``.
    """
    formatted = format_dataset_name(dataset_name)
    key = _INVALID_ARG_CHARS.sub("_", formatted)
    if key != formatted or key[:1].isdigit():
        digest = hashlib.md5(dataset_name.encode("utf-8"), usedforsecurity=False).hexdigest()
        key = f"{key}_{digest[:8]}"
    if key[:1].isdigit():
        key = f"dataset_{key}"
    return key + "__io_manager"


def arg_name(dataset_name: str) -> str:
    """Name of the op input/output carrying a dataset (``[A-Za-z0-9_]`` only).

    A name Dagster reserves (``input``, ``output``, ``type``...) gets a trailing ``_``.
    """
    arg = _INVALID_ARG_CHARS.sub("_", format_dataset_name(dataset_name))
    return f"{arg}_" if arg in RESERVED_NAMES else arg


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
    wrapped_type : str, optional
        Class of the dataset a ``CachedDataset`` wraps.
    single_process : bool, optional
        Whether the dataset declares ``_SINGLE_PROCESS`` (it cannot be used by steps in other
        processes); ``None`` until its class is imported (see
        :meth:`CatalogTranslator.is_single_process`).
    validator : kedro.validation.ValidatorSpec, optional
        The entry's ``validator:`` (Kedro 1.7+), as Kedro parses it.
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
    wrapped_type: str | None = None
    single_process: bool | None = None
    validator: Any = None

    @property
    def asset_key(self) -> AssetKey:
        """The default Dagster asset key (``asset_name``), before any translator changes it.

        Definitions use :meth:`CatalogTranslator.asset_key`, the key the translator gives.
        """
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
        # A partitioned (cached) dataset shows the library and format of its partitions (of
        # the dataset it wraps).
        parts = (self.partition_type or self.wrapped_type or self.type).split(".")
        if parts[0] == "kedro_datasets" and len(parts) > 1:
            kinds.append(parts[1])
        cls = parts[-1].removesuffix("Dataset").removesuffix("DataSet").lower()
        if cls and cls not in kinds:
            kinds.append(cls)
        return set(kinds[:_MAX_KINDS])


class CatalogTranslator:
    """Builds :class:`DatasetSpec` records, asset specs and IO managers from a catalog.

    How datasets appear in Dagster is the job of its :attr:`translator` (a
    :class:`KedroDagsterTranslator`); overriding :meth:`get_asset_spec` in a subclass (passed as
    ``KedroProjectTranslator(catalog_translator_class=...)``) still works.

    Parameters
    ----------
    catalog : DataCatalog
        A catalog built from configuration (datasets stay lazy; nothing is read).
    translator : KedroDagsterTranslator, optional
        Builds the asset specs; the default translation when omitted.
    """

    #: Prefix of the IO managers' resource keys (set by ``KedroProjectTranslator``).
    namespace: Namespace = NO_NAMESPACE

    def __init__(self, catalog: Any, translator: KedroDagsterTranslator | None = None) -> None:
        self._catalog = catalog
        self.translator = translator or KedroDagsterTranslator()
        self._specs: dict[str, DatasetSpec] = {}
        self._classes: dict[Any, _TypeInfo] = {}
        self._single_process: dict[str, bool] = {}
        self._partitions_defs: dict[str, Any] = {}
        # Translated key of each asset (transcoding removed), and which dataset took each key.
        self._keys: dict[str, AssetKey] = {}
        self._key_owners: dict[AssetKey, tuple[str, str]] = {}

    @cached_property
    def _resolve_config(self) -> Callable[[str], dict[str, Any]]:
        """A dataset's configuration, explicit or from the pattern it matches (as Kedro's)."""
        return internals.dataset_config_resolver(self._catalog.config_resolver)

    def _type_info(self, type_value: Any) -> _TypeInfo:
        """What the class named by a catalog ``type`` tells about its datasets.

        Short kedro-datasets types (``pandas.CSVDataset``) resolve without importing their module:
        kedro-datasets has no in-memory-only dataset, and importing e.g. pyarrow in every Dagster
        process just to learn that would dominate load time. Other types are imported.
        """
        cached = self._classes.get(type_value)
        if cached is not None:
            return cached
        info: _TypeInfo | None = None
        if isinstance(type_value, str):
            head = type_value.split(".", 1)[0]
            if head == "kedro_datasets":
                info = _TypeInfo(type_value)
            elif "." in type_value and _is_kedro_datasets_subpackage(head):
                info = _TypeInfo(f"kedro_datasets.{type_value}")
        if info is None:
            cls, _ = parse_dataset_definition({"type": type_value})
            info = _TypeInfo(
                f"{cls.__module__}.{cls.__qualname__}",
                ephemeral=is_ephemeral_class(cls),
                nothing=issubclass(cls, DagsterNothingDataset),
                partitioned=issubclass(cls, DagsterPartitionedDataset),
                cached=issubclass(cls, CachedDataset),
                single_process=internals.declares_single_process(cls),
                instance_ephemeral=_init_sets_ephemeral(cls),
            )
        self._classes[type_value] = info
        return info

    def _instance_ephemeral(self, name: str) -> bool:
        """``_EPHEMERAL`` of the dataset instance, for project classes setting it in ``__init__``.

        The dataset is created (never loaded) through the load-time catalog; if it cannot be
        created here (e.g. it needs the real credentials), the class attribute stands.
        """
        try:
            return internals.declares_ephemeral(self._catalog.get(name))
        except Exception as exc:  # the run's preflight reports a dataset that cannot be created
            logger.debug("Dataset '%s' not created at load (%s): treated as persisted", name, exc)
            return False

    def _wrapped(self, config: Mapping[str, Any]) -> tuple[_TypeInfo, Mapping[str, Any]]:
        """The innermost dataset of (nested) ``CachedDataset`` entries, and its configuration."""
        info = self._type_info(config.get("type"))
        while info.cached:
            inner = config.get("dataset")
            config = inner if isinstance(inner, Mapping) else {"type": inner}
            info = self._type_info(config.get("type"))
        return info, config

    @staticmethod
    def _kedro_datasets_path(type_name: str) -> str:
        """``pandas.CSVDataset`` -> ``kedro_datasets.pandas.CSVDataset`` (not imported)."""
        head = type_name.split(".", 1)[0]
        if "." in type_name and head != "kedro_datasets" and _is_kedro_datasets_subpackage(head):
            return f"kedro_datasets.{type_name}"
        return type_name

    def dataset(self, name: str) -> DatasetSpec:
        """The record of dataset ``name``; factories and runtime patterns are resolved.

        Whether it keeps data only in memory is decided from what the dataset is:
        ``MemoryDataset`` and ``SharedMemoryDataset`` do, a ``CachedDataset`` is the dataset it
        wraps (its ``save`` writes it), and a project class setting ``self._EPHEMERAL`` in
        ``__init__`` is asked through an instance.
        """
        spec = self._specs.get(name)
        if spec is not None:
            return spec
        config = self._resolve_config(name)
        try:
            info = self._type_info(config.get("type"))
            inner_info, inner_config = self._wrapped(config) if info.cached else (info, config)
        except Exception as exc:
            raise KedroDagsterConfigError(
                f"Dataset '{name}' cannot be resolved: {exc}. Fix its 'type' in the catalog.",
                key=(name, "type"),
            ) from exc
        ephemeral = inner_info.ephemeral
        if not ephemeral and inner_info.instance_ephemeral and not info.cached:
            ephemeral = self._instance_ephemeral(name)
        partitions = partition_type = None
        if info.partitioned:
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
                    partition_mapping=config.get("partition_mapping"),
                )
            except DatasetError as exc:
                raise KedroDagsterConfigError(str(exc), key=(name, "partition")) from None
        metadata = config.get("metadata") or {}
        filepath = inner_config.get("filepath") or inner_config.get("path")
        spec = DatasetSpec(
            name=name,
            asset_name=format_dataset_name(strip_transcoding(name)),
            type=info.path,
            ephemeral=ephemeral,
            nothing=info.nothing,
            metadata=MappingProxyType(dict(metadata)) if isinstance(metadata, Mapping) else {},
            filepath=str(filepath) if filepath is not None else None,
            partitions=partitions,
            partition_type=partition_type,
            wrapped_type=inner_info.path if info.cached else None,
            # A CachedDataset's own `_SINGLE_PROCESS` is about its cache, lost when Kedro's
            # ParallelRunner pickles it; each Dagster step builds its own, so what it wraps counts.
            single_process=inner_info.single_process,
            validator=parse_validator(name, config),
        )
        self._specs[name] = spec
        return spec

    def validator_check(self, name: str) -> ValidatorCheck | None:
        """The asset check of dataset ``name``'s enabled ``validator:``, if it has one.

        MemoryDatasets are no assets, and the datasets ops read and write themselves
        (``DagsterNothingDataset``, ``DagsterPartitionedDataset``) get none either.
        """
        if is_parameter(name):
            return None
        spec = self.dataset(name)
        if spec.validator is None or spec.ephemeral or self.is_direct(name):
            return None
        return validator_check(name, spec.validator, self.get_asset_spec(spec).key)

    def is_single_process(self, name: str) -> bool:
        """Whether dataset ``name`` declares ``_SINGLE_PROCESS`` (never usable across processes).

        A kedro-datasets class (e.g. ``spark.SparkDataset``) is imported here, once per type,
        only when its group's source mentions ``_SINGLE_PROCESS``; this is only asked for jobs
        whose steps run in other processes.
        """
        if is_parameter(name):
            return False
        spec = self.dataset(name)
        if spec.single_process is not None:
            return spec.single_process
        type_path = spec.wrapped_type or spec.type
        known = self._single_process.get(type_path)
        parts = type_path.split(".")
        if (
            known is None
            and parts[0] == "kedro_datasets"
            and len(parts) > 2
            and not _kedro_datasets_mention(parts[1], internals.SINGLE_PROCESS_ATTR)
        ):
            known = self._single_process[type_path] = False
        if known is None:
            try:
                cls, _ = parse_dataset_definition({"type": type_path})
            except Exception as exc:  # the run's preflight names a type that does not import
                logger.debug("Dataset type '%s' not imported at load: %s", type_path, exc)
                known = False
            else:
                known = internals.declares_single_process(cls)
            self._single_process[type_path] = known
        return known

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
        return self.translator.get_asset_spec(
            spec,
            group_name=group_name,
            metadata=self.asset_metadata(spec),
            partitions_def=self.partitions_def(spec.name),
        )

    def asset_spec(self, name: str, *, group_name: str | None = None) -> AssetSpec:
        """The asset spec of dataset ``name`` (through :meth:`get_asset_spec`).

        Raises
        ------
        KedroDagsterConfigError
            If the translator gives this dataset another key than before (its key must not
            depend on the group), or gives another dataset's key.
        """
        dataset = self.dataset(name)
        spec = self.get_asset_spec(dataset, group_name=group_name)
        self._record_key(dataset, spec.key)
        return spec

    def asset_key(self, name: str) -> AssetKey:
        """The asset key the translator gives dataset ``name``: the one of its asset spec.

        Every reference to the dataset (deps of downstream assets, lineage through
        MemoryDatasets, job-run materializations) uses this key.
        """
        dataset = self.dataset(name)
        key = self._keys.get(dataset.asset_name)
        if key is None:
            key = self.get_asset_spec(dataset).key
            self._record_key(dataset, key)
        return key

    def _record_key(self, dataset: DatasetSpec, key: AssetKey) -> None:
        known = self._keys.setdefault(dataset.asset_name, key)
        if known != key:
            raise KedroDagsterConfigError(
                f"The translator gives dataset '{dataset.name}' the asset key "
                f"'{known.to_user_string()}' and then '{key.to_user_string()}'. A dataset has "
                "one key: make get_asset_spec's key independent of its group_name argument.",
            )
        asset, owner = self._key_owners.setdefault(key, (dataset.asset_name, dataset.name))
        if asset != dataset.asset_name:
            raise KedroDagsterConfigError(
                f"The translator gives datasets '{owner}' and '{dataset.name}' the same asset "
                f"key '{key.to_user_string()}'. Give each dataset its own key.",
            )

    def io_manager_key(self, dataset_name: str) -> str:
        """Resource key of the IO manager of one Kedro dataset, in this project's namespace."""
        return self.namespace(io_manager_key(dataset_name))

    def io_manager(self, spec: DatasetSpec) -> IOManagerDefinition:
        """The IO manager loading and saving ``spec``, recording job-run materializations.

        Materializations carry the dataset's translated key (:meth:`asset_key`).
        """
        return KedroDatasetIOManager.definition(
            spec.name,
            self.asset_key(spec.name),
            f"Kedro dataset {code(spec.name)} ({code(spec.type)})",
            self.validator_check(spec.name),
            run_key=self.namespace.kedro_run,
        )
