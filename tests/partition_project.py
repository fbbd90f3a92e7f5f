"""A Kedro project whose nodes fan out over partitions (static and identity mappings, a pattern
target, a many-to-one mapping and a fan-in), for the partition tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kedro_factory import make_project

NODES = """
import os
import time

import pandas as pd


def _pause():
    time.sleep(float(os.environ.get("PARTITION_NODE_SLEEP", "0")))


def scale(parts, factor):
    _pause()
    out = {}
    for key, load in parts.items():
        df = load()
        df["value"] = df["value"] * factor
        out[f"{int(key.split('.')[0]) * 10}.csv"] = df
    return out


def flag(parts):
    return {key: load().assign(big=lambda d: d["value"] > 10) for key, load in parts.items()}


def rollup(parts):
    buckets = {}
    for key, load in sorted(parts.items()):
        bucket = "low.csv" if int(key.split(".")[0]) <= 20 else "high.csv"
        buckets.setdefault(bucket, []).append(load().assign(source=key))
    return {bucket: pd.concat(frames, ignore_index=True) for bucket, frames in buckets.items()}


def summarize(parts):
    rows = [
        {"partition": key, "total": float(load()["value"].sum())}
        for key, load in sorted(parts.items())
    ]
    return pd.DataFrame(rows)
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import flag, rollup, scale, summarize


def register_pipelines():
    pipeline = Pipeline([
        node(scale, ["raw_parts", "params:factor"], "scaled_parts", name="scale"),
        node(flag, "scaled_parts", "report.flagged", name="flag"),
        node(rollup, "report.flagged", "rollup", name="rollup"),
        node(summarize, "report.flagged", "summary", name="summarize"),
    ])
    return {{"__default__": pipeline}}
"""


def _partitioned(path: str, keys: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "type": "kedro_dagster.DagsterPartitionedDataset",
        "path": path,
        "dataset": {"type": "pandas.CSVDataset"},
        "partition": {"type": "dagster.StaticPartitionsDefinition", "partition_keys": keys},
        **extra,
    }


CATALOG = {
    "raw_parts": _partitioned(
        "data/01_raw/parts",
        ["1.csv", "2.csv", "3.csv"],
        partition_mappings={
            "scaled_parts": {
                "type": "dagster.StaticPartitionMapping",
                "downstream_partition_keys_by_upstream_partition_key": {
                    "1.csv": "10.csv",
                    "2.csv": "20.csv",
                    "3.csv": "30.csv",
                },
            }
        },
    ),
    "scaled_parts": _partitioned(
        "data/02_intermediate/scaled",
        ["10.csv", "20.csv", "30.csv"],
        partition_mappings={"{namespace}.flagged": {"type": "dagster.IdentityPartitionMapping"}},
    ),
    "report.flagged": _partitioned(
        "data/03_primary/flagged",
        ["10.csv", "20.csv", "30.csv"],
        partition_mappings={
            "rollup": {
                "type": "dagster.StaticPartitionMapping",
                "downstream_partition_keys_by_upstream_partition_key": {
                    "10.csv": "low.csv",
                    "20.csv": "low.csv",
                    "30.csv": "high.csv",
                },
            }
        },
    ),
    "rollup": _partitioned("data/04_feature/rollup", ["low.csv", "high.csv"]),
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/08_reporting/summary.csv"},
}


def make_partition_project(
    root: Path,
    package: str = "parts_project",
    *,
    catalog: dict[str, Any] | None = None,
    dagster: dict[str, Any] | None = None,
) -> Path:
    """The partition project in ``root``, with three raw partitions."""
    make_project(
        root,
        package,
        catalog=catalog or CATALOG,
        parameters={"factor": 3},
        registry=REGISTRY,
        dagster=dagster,
    )
    (root / "src" / package / "nodes.py").write_text(NODES)
    raw = root / "data/01_raw/parts"
    raw.mkdir(parents=True)
    for index in (1, 2, 3):
        (raw / f"{index}.csv").write_text("value\n" + "\n".join(str(index * v) for v in (1, 2, 4)))
    return root


def write_catalog(root: Path, catalog: dict[str, Any] | str) -> None:
    """Replace the catalog (a mapping, or YAML text written as is)."""
    text = catalog if isinstance(catalog, str) else yaml.safe_dump(catalog, sort_keys=False)
    (root / "conf/base/catalog.yml").write_text(text)


NAMESPACED_REGISTRY = """
from kedro.pipeline import Pipeline, node, pipeline

from {package}.nodes import collect, flag_frames, scale, summarize


def register_pipelines():
    inner = Pipeline([
        node(scale, ["raw_parts", "params:factor"], "scaled_parts", name="scale"),
        # A fan-in into a MemoryDataset that a fanned-out node reads.
        node(collect, "scaled_parts", "collected", name="collect"),
        node(flag_frames, "collected", "flagged", name="flag"),
        node(summarize, "flagged", "summary", name="summarize"),
    ])
    return {{"__default__": pipeline(inner, namespace="ns", inputs={{"raw_parts"}})}}
"""

NAMESPACED_NODES = """

def collect(parts):
    return {key: load() for key, load in parts.items()}


def flag_frames(frames):
    return {key: df.assign(big=df["value"] > 10) for key, df in frames.items()}
"""


def make_namespaced_partition_project(
    root: Path, package: str, dagster: dict[str, Any] | None = None
) -> Path:
    """The partition nodes in namespace ``ns``, a MemoryDataset between partitioned nodes."""
    mapping = {
        "type": "dagster.StaticPartitionMapping",
        "downstream_partition_keys_by_upstream_partition_key": {
            "1.csv": "10.csv",
            "2.csv": "20.csv",
            "3.csv": "30.csv",
        },
    }
    keys = ["10.csv", "20.csv", "30.csv"]
    catalog = {
        "raw_parts": _partitioned(
            "data/01_raw/parts",
            ["1.csv", "2.csv", "3.csv"],
            partition_mappings={"ns.scaled_parts": mapping},
        ),
        "ns.scaled_parts": _partitioned("data/02_intermediate/scaled", keys),
        "ns.flagged": _partitioned("data/03_primary/flagged", keys),
        "ns.summary": {"type": "pandas.CSVDataset", "filepath": "data/08_reporting/summary.csv"},
    }
    make_partition_project(root, package, catalog=catalog, dagster=dagster)
    src = root / "src" / package
    (src / "pipeline_registry.py").write_text(NAMESPACED_REGISTRY.format(package=package))
    with (src / "nodes.py").open("a") as nodes:
        nodes.write(NAMESPACED_NODES)
    (root / "conf/base/parameters.yml").write_text(yaml.safe_dump({"ns": {"factor": 3}}))
    return root
