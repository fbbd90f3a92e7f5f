"""Partition fan-out: which nodes run once per partition key, and what each of those ops reads.

Rules (documented in docs/partitions.md):

- A node writing a ``DagsterPartitionedDataset`` is fanned out: one op per partition key of
  what it writes. Each op reads, from every partitioned input, the upstream keys that map to
  its key, and saves that one partition.
- A node that reads partitioned datasets but writes none is a fan-in: one op, after every
  partition op upstream, reading whole datasets, as under ``kedro run``.
- Keys map from a dataset to a downstream one through the upstream dataset's
  ``partition_mappings`` (target named literally or by a ``{placeholder}`` pattern); with no
  mapping, both datasets must have the same keys (identity).

Everything is computed once per node, from configuration only, in one pass.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kedro.pipeline.node import Node
from parse import parse

from kedro_dagster.datasets.partitioned import PartitionMappingConfig, PartitionsConfig
from kedro_dagster.errors import KedroDagsterConfigError, did_you_mean
from kedro_dagster.runtime.ops import PartitionSelection, is_parameter
from kedro_dagster.translation.catalog import CatalogTranslator, strip_transcoding

__all__ = ["PartitionPlanner", "partition_op_suffixes"]

_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def partition_op_suffixes(keys: Iterable[str]) -> dict[str, str]:
    """Op-name suffix of each partition key: valid for Dagster, unique, deterministic.

    Invalid characters become ``_`` (``2023-01-01.csv`` -> ``2023_01_01_csv``); keys that
    would collide get the first 8 hex digits of their md5 appended.
    """
    keys = list(keys)
    plain = {key: _INVALID_NAME_CHARS.sub("_", key) for key in keys}
    counts: dict[str, int] = {}
    for value in plain.values():
        counts[value] = counts.get(value, 0) + 1
    suffixes = {}
    for key, value in plain.items():
        if counts[value] > 1:
            digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()[:8]
            value = f"{value}_{digest}"
        suffixes[key] = value
    return suffixes


@dataclass(frozen=True)
class _Edge:
    """How the keys of ``upstream`` map to the keys of ``downstream``."""

    upstream: str
    downstream: str
    config: PartitionMappingConfig | None  # None: implicit identity (same keys)
    upstream_keys: tuple[str, ...] = ()

    def downstream_keys(self, key: str) -> tuple[str, ...]:
        return self.config.map_key(key) if self.config else (key,)

    def inverse(self) -> dict[str, tuple[str, ...]]:
        """Upstream keys mapped to each downstream key (in upstream key order)."""
        up = self.upstream_keys
        inverse: dict[str, list[str]] = {}
        for key in up:
            for downstream in self.downstream_keys(key):
                inverse.setdefault(downstream, []).append(key)
        return {key: tuple(values) for key, values in inverse.items()}

    def to_dagster(self) -> Any:
        from dagster import IdentityPartitionMapping

        return self.config.to_dagster() if self.config else IdentityPartitionMapping()


class PartitionPlanner:
    """Fan-out decisions for every node, from the catalog configuration.

    Parameters
    ----------
    catalog : CatalogTranslator
        Dataset records, with their partition configuration.
    known_datasets : Callable
        Returns every dataset name of the registered pipelines and the catalog, to check that
        ``partition_mappings`` name existing datasets (called only if there are mappings).
    """

    def __init__(
        self, catalog: CatalogTranslator, known_datasets: Callable[[], Iterable[str]]
    ) -> None:
        self._catalog = catalog
        self._known_datasets = known_datasets
        self._checked: set[str] = set()
        self._plans: dict[str, dict[str, PartitionSelection] | None] = {}

    @cached_property
    def _known(self) -> list[str]:
        return sorted({strip_transcoding(n) for n in self._known_datasets()})

    def partitions(self, name: str) -> PartitionsConfig | None:
        """The partition configuration of dataset ``name``, or ``None``."""
        if is_parameter(name):
            return None
        return self._catalog.dataset(name).partitions

    def _check_targets(self, name: str, config: PartitionsConfig) -> None:
        """Every mapping target names (or, as a pattern, matches) a partitioned dataset."""
        if name in self._checked:
            return
        self._checked.add(name)
        for mapping in config.mappings:
            target = mapping.target
            if "{" in target:
                matches = [n for n in self._known if parse(target, n) is not None]
            else:
                matches = [target] if target in self._known else []
            if not matches:
                raise KedroDagsterConfigError(
                    f"Dataset '{name}' maps partitions to '{target}', which matches no dataset "
                    "of the catalog or of the registered pipelines."
                    + did_you_mean(target, self._known)
                    + " Fix the target name in 'partition_mappings'.",
                    key=(name, "partition_mappings", target),
                )
            for match in matches:
                if "{" not in target and self.partitions(match) is None:
                    raise KedroDagsterConfigError(
                        f"Dataset '{name}' maps partitions to '{match}', which is not a "
                        "DagsterPartitionedDataset. Only partitioned datasets take partition "
                        "mappings; remove the entry or make the target partitioned.",
                        key=(name, "partition_mappings", target),
                    )

    def _edge(self, node: Node, upstream: str, downstream: str) -> _Edge:
        up = self.partitions(upstream)
        down = self.partitions(downstream)
        assert up is not None and down is not None
        self._check_targets(upstream, up)
        target = strip_transcoding(downstream)
        chosen = next((m for m in up.mappings if m.target == target), None)
        if chosen is None:
            chosen = next(
                (m for m in up.mappings if "{" in m.target and parse(m.target, target)), None
            )
        if chosen is None:
            if set(up.keys) == set(down.keys):
                return _Edge(upstream, downstream, None, up.keys)
            raise KedroDagsterConfigError(
                f"Node '{node.name}' reads '{upstream}' (partition keys {list(up.keys)}) and "
                f"writes '{downstream}' (partition keys {list(down.keys)}), and '{upstream}' "
                f"declares no partition mapping to '{downstream}'. Add to '{upstream}':\n"
                f"  partition_mappings:\n    {downstream}:\n"
                "      type: dagster.StaticPartitionMapping\n"
                "      downstream_partition_keys_by_upstream_partition_key: {...}",
                key=(upstream, "partition_mappings"),
            )
        for key in up.keys:
            unknown = [k for k in chosen.map_key(key) if k not in down.keys]
            if unknown and not chosen.identity:
                raise KedroDagsterConfigError(
                    f"Dataset '{upstream}' maps partition '{key}' to {unknown} of "
                    f"'{downstream}', whose partition keys are {list(down.keys)}.",
                    key=(upstream, "partition_mappings", chosen.target),
                )
        return _Edge(upstream, downstream, chosen, up.keys)

    def plan(self, node: Node) -> dict[str, PartitionSelection] | None:
        """The ops of a fanned-out node by partition key, or ``None`` if it runs once.

        Raises
        ------
        KedroDagsterConfigError
            If the node writes partitioned datasets with different keys, or also writes
            datasets that are not partitioned, or keys cannot be mapped.
        """
        if node.name in self._plans:
            return self._plans[node.name]
        plan = self._plan(node)
        self._plans[node.name] = plan
        return plan

    def _plan(self, node: Node) -> dict[str, PartitionSelection] | None:
        outputs = [n for n in node.outputs if self.partitions(n) is not None]
        for name in (*node.inputs, *node.outputs):
            config = self.partitions(name)
            if config is not None:
                self._check_targets(name, config)
        if not outputs:
            return None
        keys = self.partitions(outputs[0]).keys  # type: ignore[union-attr]
        for name in outputs[1:]:
            other = self.partitions(name).keys  # type: ignore[union-attr]
            if set(other) != set(keys):
                raise KedroDagsterConfigError(
                    f"Node '{node.name}' writes partitioned datasets '{outputs[0]}' and "
                    f"'{name}' with different partition keys; a fanned-out node writes one "
                    "set of keys. Give them the same partition_keys or split the node.",
                    key=(name, "partition"),
                )
        others = [n for n in node.outputs if n not in outputs and not self._catalog.is_nothing(n)]
        if others:
            raise KedroDagsterConfigError(
                f"Node '{node.name}' writes partitioned '{outputs[0]}' and also {others}, "
                "which are not partitioned: it runs once per partition, so those would be "
                "written once per partition. Split the node, or make them partitioned.",
                key=(others[0],),
            )
        # Upstream keys read for each key, per partitioned input: the inverse of its mapping
        # to the node's output(s), built in one pass over the upstream keys.
        reads_by_input: dict[str, dict[str, tuple[str, ...]]] = {}
        for name in node.inputs:
            if self.partitions(name) is None:
                continue
            inverses = [self._edge(node, name, out).inverse() for out in outputs]
            if any(inverse != inverses[0] for inverse in inverses[1:]):
                raise KedroDagsterConfigError(
                    f"Node '{node.name}': '{name}' maps differently to its outputs "
                    f"{outputs}; a fanned-out op reads one set of partitions. Use one "
                    "mapping for all of them.",
                    key=(name, "partition_mappings"),
                )
            reads_by_input[name] = inverses[0]
        asset_keys = {name: self._catalog.asset_key(name) for name in outputs}
        return {
            key: PartitionSelection(
                key=key,
                reads={name: inverse.get(key, ()) for name, inverse in reads_by_input.items()},
                writes=tuple(outputs),
                asset_keys=asset_keys,
            )
            for key in keys
        }

    def input_mappings(self, node: Node) -> dict[str, Any]:
        """Dagster partition mapping of each partitioned input of a fanned-out node."""
        outputs = [n for n in node.outputs if self.partitions(n) is not None]
        if not outputs:
            return {}
        return {
            name: self._edge(node, name, outputs[0]).to_dagster()
            for name in node.inputs
            if self.partitions(name) is not None
        }

    def partitions_def(self, node: Node) -> Any:
        """The Dagster partitions definition of a fanned-out node's assets, or ``None``."""
        outputs = [n for n in node.outputs if self.partitions(n) is not None]
        if not outputs:
            return None
        return self._catalog.partitions_def(outputs[0])


def upstream_producers(
    selection: PartitionSelection | None,
    name: str,
    producers: Mapping[str | None, tuple[str, str]],
) -> list[tuple[str, str]]:
    """The producer ops (name, output) an op waits for on input ``name``.

    Parameters
    ----------
    selection : PartitionSelection, optional
        The consuming op's partition, or ``None`` for an op that runs once.
    name : str
        The input dataset.
    producers : Mapping
        Producer op and output of the dataset, by partition key (``None`` if not fanned out).
    """
    if selection is None or name not in selection.reads or None in producers:
        return list(producers.values())
    return [producers[key] for key in selection.reads[name] if key in producers]
