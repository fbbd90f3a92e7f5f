"""The one load/save path of a run: dataset hooks, redaction and output metadata in one place.

Every IO manager (persisted and MemoryDataset storage), the datasets an op loads and saves
itself (parameters, ``Nothing``-typed and partitioned datasets) and generator chunks go
through :class:`DatasetIO`, as every load and save of Kedro's runner goes through
``before/after_dataset_loaded`` and ``before/after_dataset_saved``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from kedro.io.core import DatasetError

from kedro_dagster import _kedro_internals as internals
from kedro_dagster.runtime.metrics import metrics_enabled, metrics_metadata
from kedro_dagster.runtime.redaction import Redactor
from kedro_dagster.runtime.validation import Report, observe

__all__ = ["DatasetIO", "Streamed"]

logger = logging.getLogger(__name__)


class Streamed:
    """An output a generator node streamed: its chunks are saved already, ``data`` is the last.

    IO managers receiving it record the materialization (MemoryDataset storage keeps the last
    chunk, as Kedro's MemoryDataset does) without saving again.
    """

    __slots__ = ("data",)

    def __init__(self, data: Any) -> None:
        self.data = data


def _hold(data: Any) -> None:
    """A MemoryDataset chunk: Dagster's storage keeps the last one (see ``Streamed``)."""


#: Eager data frames whose row count is known without computing: (module root, class name).
_EAGER_FRAMES = frozenset({("pandas", "DataFrame"), ("polars", "DataFrame")})


def _shape(obj: Any) -> dict[str, Any]:
    """Row count and columns of an eager data frame (pandas, polars), recognised by its type.

    Anything else (an ibis table, a dask or polars lazy frame) gets neither: counting its rows
    would compute it, or fail after its data was saved.
    """
    kind = type(obj)
    if (kind.__module__.split(".", 1)[0], kind.__name__) not in _EAGER_FRAMES:
        return {}
    return {"row_count": len(obj), "columns": ", ".join(str(c) for c in obj.columns)}


class DatasetIO:
    """Loads and saves datasets of one run between Kedro's dataset hooks.

    Parameters
    ----------
    catalog : DataCatalog
        The run's catalog.
    hooks : Any
        The hook relay (``run.hooks``: errors re-raised with credentials redacted).
    redactor : Redactor
        Masks credential values in errors and metadata.
    save_version : str
        The run's save version (metadata of versioned datasets).
    before : Callable, optional
        Called before every load and save (joins the run's experiment tracking).
    extra_metadata : Callable, optional
        Materialization metadata added to every output (the active MLflow run).
    row_count : bool
        Whether output metadata has the row count and columns of eager data frames.
    """

    def __init__(
        self,
        catalog: Any,
        hooks: Any,
        redactor: Redactor,
        save_version: str,
        before: Callable[[], None] | None = None,
        extra_metadata: Callable[[], Mapping[str, Any]] | None = None,
        row_count: bool = True,
    ) -> None:
        self.catalog = catalog
        self.hooks = hooks
        self.redactor = redactor
        self.save_version = save_version
        self._before = before
        self._extra_metadata = extra_metadata
        self._row_count = row_count

    def load(
        self,
        name: str,
        node: Any,
        read: Callable[[], Any] | None = None,
        report: Report | None = None,
    ) -> Any:
        """Load ``name`` (through the catalog, or ``read``) between the dataset hooks.

        ``report`` receives the outcome of the dataset's validator, if the catalog runs it.
        """
        return self.redactor.call(self._load, name, node, read, report)

    def _load(
        self, name: str, node: Any, read: Callable[[], Any] | None, report: Report | None
    ) -> Any:
        if self._before is not None:
            self._before()
        self.hooks.before_dataset_loaded(dataset_name=name, node=node)
        with observe(self.catalog, name, "load", report):
            data = self.catalog.load(name) if read is None else read()
        self.hooks.after_dataset_loaded(dataset_name=name, data=data, node=node)
        return data

    def memory_copy(self, name: str, data: Any) -> Any:
        """A reader's copy of MemoryDataset ``name``'s value ``data``.

        Kedro's MemoryDataset hands each reader its own copy, so that a node changing its input
        in place does not change what the next reader gets: by the ``copy_mode`` the catalog
        declares for ``name``, else by the type of ``data``.
        """
        declared = self.catalog.get(name) if name in self.catalog else None
        return internals.memory_copy(data, declared)

    def save(
        self,
        name: str,
        data: Any,
        node: Any,
        write: Callable[[Any], None] | None = None,
        report: Report | None = None,
    ) -> None:
        """Save ``data`` to ``name`` (through the catalog, or ``write``) between the hooks.

        ``report`` receives the outcome of the dataset's validator, if the catalog runs it.
        """
        self.redactor.call(self._save, name, data, node, write, report)

    def _save(
        self,
        name: str,
        data: Any,
        node: Any,
        write: Callable[[Any], None] | None,
        report: Report | None,
    ) -> None:
        if self._before is not None:
            self._before()
        self.hooks.before_dataset_saved(dataset_name=name, data=data, node=node)
        if write is None:
            with observe(self.catalog, name, "save", report):
                self.catalog.save(name, data)
        else:
            write(data)
        self.hooks.after_dataset_saved(dataset_name=name, data=data, node=node)

    def save_chunk(self, name: str, chunk: Any, node: Any) -> None:
        """Save one chunk of a generator node's output between the dataset hooks.

        A dataset the catalog does not declare is a MemoryDataset held by Dagster's storage,
        which receives the last chunk: its chunks only pass the hooks here.
        """
        self.save(name, chunk, node, None if name in self.catalog else _hold)

    def load_partitions(self, name: str, keys: tuple[str, ...], node: Any) -> dict[str, Any]:
        """Load some partitions of a partitioned dataset: ``{key: load_function}``.

        Raises
        ------
        DatasetError
            If a key has no file: the declared keys must be the dataset's partition ids.
        """

        def read() -> dict[str, Any]:
            available = self.catalog.load(name) if keys else {}
            missing = [key for key in keys if key not in available]
            if missing:
                where = internals.dataset_path(self.catalog.get(name), "its path")
                raise DatasetError(
                    f"Partition(s) {missing} of dataset '{name}' not found in '{where}', "
                    f"which holds {sorted(available)}. Partition keys are the file paths "
                    "relative to 'path', without 'filename_suffix'; fix 'partition_keys' or "
                    "the files."
                )
            return {key: available[key] for key in keys}

        return dict(self.load(name, node, read))

    def save_partition(self, name: str, key: str, data: Any, node: Any) -> dict[str, Any]:
        """Save partition ``key`` of what a node returned for a partitioned dataset.

        Returns
        -------
        dict
            Materialization metadata of the partition (dataset, partition key, path).

        Raises
        ------
        DatasetError
            If the node did not return a ``{key: data}`` dict with this key, or returned keys
            that are not declared partition keys.
        """
        dataset = self.catalog.get(name)
        declared = getattr(getattr(dataset, "partitions", None), "keys", ())
        node_name = getattr(node, "name", "?")
        if not isinstance(data, Mapping) or key not in data:
            got = sorted(map(str, data)) if isinstance(data, Mapping) else type(data).__name__
            raise self.redactor.sanitize(
                DatasetError(
                    f"Node '{node_name}' must return a dict keyed by partition for the "
                    f"partitioned dataset '{name}', including key '{key}' (this op writes that "
                    f"partition); got {got}."
                )
            )
        unknown = sorted(str(k) for k in data if declared and k not in declared)
        if unknown:
            raise self.redactor.sanitize(
                DatasetError(
                    f"Node '{node_name}' returned partitions {unknown} for '{name}', which are "
                    f"not among its partition keys {list(declared)}. Return declared keys, or "
                    "declare these in 'partition_keys'."
                )
            )
        self.save(name, {key: data[key]}, node)
        metadata: dict[str, Any] = {"kedro/dataset": name, "partition": key}
        path = internals.partition_path(dataset, key)
        if path is not None:
            metadata["path"] = path
        if metrics_enabled(dataset):
            metadata.update(metrics_metadata(data[key], metadata))
        return self.redactor.redact_metadata(metadata)

    def metadata(self, name: str, obj: Any, streamed: bool = False) -> dict[str, Any]:
        """Materialization metadata: path, version, table shape, metrics, MLflow run.

        String values are redacted (a path or URL may hold a credential). A streamed output
        has no shape: ``obj`` is its last chunk only.
        """
        metadata: dict[str, Any] = {"kedro/dataset": name}
        try:
            try:
                dataset = self.catalog.get(name)
            except Exception:  # a catalog without the entry: no extra metadata
                dataset = None
            if dataset is not None:
                described = internals.dataset_description(dataset)
                filepath = described.get("filepath")
                wrapped = described.get("dataset")  # a CachedDataset describes what it wraps
                if filepath is None and isinstance(wrapped, Mapping):
                    filepath = wrapped.get("filepath")
                if filepath is not None:
                    metadata["path"] = str(filepath)
                if internals.dataset_is_versioned(dataset):
                    metadata["version"] = self.save_version
            if not streamed and self._row_count:
                metadata.update(_shape(obj))
            if self._extra_metadata is not None:
                metadata.update(self._extra_metadata())
            if not streamed and dataset is not None and metrics_enabled(dataset):
                metadata.update(metrics_metadata(obj, metadata))
        except Exception as exc:  # informative only: the data is saved, the step must not fail
            logger.debug("Metadata of dataset '%s' incomplete: %r", name, exc)
        return self.redactor.redact_metadata(metadata)
