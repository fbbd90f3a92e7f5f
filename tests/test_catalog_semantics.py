"""Catalog semantics off the happy path, compared with `kedro run` on real projects.

CachedDataset and instance-``_EPHEMERAL`` datasets, two registered pipelines writing one
dataset, datasets that cannot leave their process, and output metadata of lazy data.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    EXECUTORS,
    KEDRO,
    REEXECUTION_SCRIPT,
    dagster_launch,
    kedro_run,
    materialized_assets,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import describe, make_project, translate

DATASETS_PY = '''
from kedro.io import AbstractDataset, DatasetError
from kedro_datasets.pandas import CSVDataset


class VolatileDataset(AbstractDataset):
    """Keeps data in this object only: ephemeral per instance, as Kedro documents it."""

    def __init__(self, metadata=None):
        self._EPHEMERAL = True
        self._data = None
        self.metadata = metadata

    def load(self):
        if self._data is None:
            raise DatasetError("VolatileDataset: nothing was saved in this process")
        return self._data

    def save(self, data):
        self._data = data

    def _describe(self):
        return {}


class SingleProcessCSVDataset(CSVDataset):
    """A CSV dataset that declares it cannot be used outside its process."""

    _SINGLE_PROCESS = True
'''

EXTRA_NODES = '''

import threading


class LazyTable:
    """Looks like a lazily evaluated table: columns known, rows only by computing."""

    columns = ("value", "scaled")

    def __len__(self):
        raise RuntimeError("computing the row count of a lazy table")


def make_lazy(raw):
    return LazyTable()


class Locked:
    def __init__(self, table):
        self.table = table
        self.lock = threading.Lock()


def lock_table(table):
    return Locked(table)


def unlock_table(locked):
    return locked.table


def train_v2(raw):
    return raw.describe().reset_index()
'''

TWO_WRITERS_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import make_table, summarise, train_v2


def register_pipelines():
    v1 = Pipeline([
        node(make_table, ["raw", "params:factor"], "model", name="train_v1"),
        node(summarise, "model", "report_v1", name="report_v1"),
    ])
    v2 = Pipeline([node(train_v2, "raw", "model", name="train_v2")])
    return {{"__default__": v1, "train_v1": v1, "train_v2": v2}}
"""

MISC_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import lock_table, make_lazy, make_table, summarise, unlock_table


def register_pipelines():
    default = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
    ])
    lazy = Pipeline([node(make_lazy, "raw", "lazy", name="make_lazy")])
    locked = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(lock_table, "table", "locked", name="lock_table"),
        node(unlock_table, "locked", "summary", name="unlock_table"),
    ])
    return {{"__default__": default, "lazy": lazy, "locked": locked}}
"""


def _project(
    root: Path,
    package: str,
    catalog: dict[str, Any],
    dagster: dict[str, Any],
    registry: str = MISC_REGISTRY,
) -> Path:
    project = make_project(root, package, catalog=catalog, registry=registry)
    (project / "src" / package / "datasets.py").write_text(DATASETS_PY)
    with (project / "src" / package / "nodes.py").open("a") as nodes:
        nodes.write(EXTRA_NODES)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    write_dagster_yml(project, dagster)
    return project


def _pair(
    tmp_path: Path, package: str, catalog: dict[str, Any], dagster: dict[str, Any], **kw: Any
) -> tuple[Path, Path]:
    """Two identical projects: one for `kedro run`, one for Dagster."""
    return (
        _project(tmp_path / "kedro", package, catalog, dagster, **kw),
        _project(tmp_path / "dagster", package, catalog, dagster, **kw),
    )


def _job(pipeline: str, executor: str) -> dict[str, Any]:
    return {
        "executors": EXECUTORS[executor],
        "jobs": {
            "job": {
                "pipeline": {"pipeline_name": pipeline},
                "executor": next(iter(EXECUTORS[executor])),
            }
        },
    }


def _cached(filepath: str) -> dict[str, Any]:
    return {"type": "CachedDataset", "dataset": {"type": "pandas.CSVDataset", "filepath": filepath}}


def _materialized_path(home: Path, run_id: str, asset: str) -> str:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
    (materialization,) = [
        e.dagster_event.event_specific_data.materialization
        for e in entries
        if e.dagster_event and e.dagster_event.asset_key.to_user_string() == asset
    ]
    return str(materialization.metadata["path"].value)


# ------------------------------------------------------------------ CachedDataset (item 1)


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_cached_dataset_is_its_wrapped_dataset(tmp_path: Path, executor: str) -> None:
    """A CachedDataset writes (and reads) the dataset it wraps, as under `kedro run`."""
    catalog = {
        "raw": _cached("data/raw.csv"),
        "table": _cached("data/table.csv"),
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    kedro_side, dagster_side = _pair(
        tmp_path, f"cached_{executor}", catalog, _job("__default__", executor)
    )
    assets = describe(dagster_side)["assets"]
    assert {"raw", "table", "summary"} <= set(assets), sorted(assets)
    assert assets["table"]["metadata"]["kedro/filepath"] == "data/table.csv"

    kedro_run(kedro_side)
    home = tmp_path / "home"
    dagster_launch(dagster_side, "job", home)
    expected = persisted_outputs(kedro_side)
    assert sorted(expected) == ["raw.csv", "summary.csv", "table.csv"]
    assert persisted_outputs(dagster_side) == expected
    (dagster_run,) = runs_in(home)
    assert {"table", "summary"} <= materialized_assets(home, dagster_run.run_id)
    assert _materialized_path(home, dagster_run.run_id, "table").endswith("data/table.csv")


def test_instance_ephemeral_dataset_travels_like_a_memory_dataset(tmp_path: Path) -> None:
    """``self._EPHEMERAL = True`` in ``__init__``: no asset, and the data reaches the next step
    in another process (a fresh instance there holds nothing)."""
    package = "volatile"
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "table": {"type": f"{package}.datasets.VolatileDataset"},
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    kedro_side, dagster_side = _pair(
        tmp_path, package, catalog, _job("__default__", "multiprocess")
    )
    assets = describe(dagster_side)["assets"]
    assert "table" not in assets, sorted(assets)
    assert assets["summary"]["deps"] == ["raw"]

    kedro_run(kedro_side)
    home = tmp_path / "home"
    dagster_launch(dagster_side, "job", home)
    expected = persisted_outputs(kedro_side)
    assert sorted(expected) == ["raw.csv", "summary.csv"]
    assert persisted_outputs(dagster_side) == expected


# ------------------------------------------------- two pipelines writing one dataset (item 4)


def test_two_registered_pipelines_may_write_one_dataset(tmp_path: Path) -> None:
    """`train_v1` and `train_v2` both write `model`: each job writes it as `kedro run` does."""
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "model": {"type": "pandas.CSVDataset", "filepath": "data/model.csv"},
        "report_v1": {"type": "pandas.CSVDataset", "filepath": "data/report_v1.csv"},
    }
    dagster = {
        "jobs": {
            "v2": {"pipeline": {"pipeline_name": "train_v2"}},
            "v1": {"pipeline": {"pipeline_name": "train_v1"}},
            "default": {"pipeline": {"pipeline_name": "__default__"}},
        }
    }
    kedro_side, dagster_side = _pair(
        tmp_path, "two_writers", catalog, dagster, registry=TWO_WRITERS_REGISTRY
    )
    described = describe(dagster_side)
    assert {"v1", "v2", "default"} <= set(described["jobs"])
    # One asset: produced by the `__default__` pipeline's node.
    assert described["assets"]["model"]["metadata"]["kedro/node"] == "train_v1"
    assert described["assets"]["report_v1"]["deps"] == ["model"]

    for pipeline, job in (("train_v1", "v1"), ("train_v2", "v2")):
        for side in (kedro_side, dagster_side):
            for written in (side / "data").glob("*.csv"):
                if written.name != "raw.csv":
                    written.unlink()
        kedro_run(kedro_side, "--pipeline", pipeline)
        home = tmp_path / f"home_{job}"
        dagster_launch(dagster_side, job, home)
        expected = persisted_outputs(kedro_side)
        assert "model.csv" in expected
        assert persisted_outputs(dagster_side) == expected, job
        (dagster_run,) = runs_in(home)
        assert "model" in materialized_assets(home, dagster_run.run_id)


# ---------------------------------------------- datasets that cannot leave a process (item 7)


def test_single_process_dataset_refused_for_multiprocess_job(tmp_path: Path) -> None:
    package = "single_proc"
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "table": {"type": f"{package}.datasets.SingleProcessCSVDataset", "filepath": "data/t.csv"},
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    dagster = {
        "executors": {**EXECUTORS["in_process"], **EXECUTORS["multiprocess"]},
        "jobs": {
            "fine": {"pipeline": {"pipeline_name": "__default__"}, "executor": "sequential"},
            "spread": {"pipeline": {"pipeline_name": "__default__"}, "executor": "parallel"},
        },
    }
    project = _project(tmp_path / "p", package, catalog, dagster)
    result = translate(project)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    message = result.stderr
    for fragment in ("'spread'", "'table'", "'parallel'", "_SINGLE_PROCESS", "in_process"):
        assert fragment in message, f"{fragment!r} not in {message[-3000:]}"
    assert "'fine'" not in message

    # The same dataset under the in-process executor only: the project loads.
    del dagster["jobs"]["spread"]
    write_dagster_yml(project, dagster)
    assert "fine" in describe(project)["jobs"]


def test_unpicklable_memory_dataset_fails_with_a_clear_message(tmp_path: Path) -> None:
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    project = _project(tmp_path / "p", "unpicklable", catalog, _job("locked", "multiprocess"))
    result = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "job"],
        cwd=project,
        env=subprocess_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    stderr = result.stderr
    for fragment in ("'locked'", "'lock_table'", "cannot be pickled to pass between processes"):
        assert fragment in stderr, f"{fragment!r} not in {stderr[-5000:]}"
    assert not (project / "data/summary.csv").exists()


# -------------------------------------------------------------- output metadata (item 8)


def test_metadata_of_lazy_data_never_fails_the_step(tmp_path: Path) -> None:
    """A table-like object whose row count would compute: saved, step succeeds, no row count."""
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "lazy": {"type": "pickle.PickleDataset", "filepath": "data/lazy.pkl"},
    }
    project = _project(tmp_path / "p", "lazy_meta", catalog, _job("lazy", "in_process"))
    home = tmp_path / "home"
    dagster_launch(project, "job", home)
    assert (project / "data/lazy.pkl").is_file()
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert "lazy" in materialized_assets(home, dagster_run.run_id)


# ------------------------------------------------- IncrementalDataset and node `confirms`

INCREMENTAL_NODES = '''


def combine(parts):
    """Every partition the node receives, in partition order."""
    import pandas as pd

    return pd.concat([parts[key] for key in sorted(parts)], ignore_index=True)
'''

INCREMENTAL_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import combine


def register_pipelines():
    pipeline = Pipeline([node(combine, "parts", "combined", name="combine", confirms="parts")])
    return {{"__default__": pipeline}}
"""


def _add_partition(project: Path, key: str) -> None:
    folder = project / "data" / "parts"
    folder.mkdir(exist_ok=True)
    (folder / f"{key}.csv").write_text(f"part,value\n{key},1\n{key},2\n")


@pytest.mark.parametrize("how", ["in_process", "multiprocess", "pool", "asset"])
def test_node_confirms_its_incremental_dataset(tmp_path: Path, how: str) -> None:
    """A node's `confirms` moves the IncrementalDataset's checkpoint, as under `kedro run`.

    The second run then reads only the partition added since the first, on both sides.
    """
    catalog = {
        "parts": {
            "type": "partitions.IncrementalDataset",
            "path": "data/parts",
            "dataset": "pandas.CSVDataset",
            "filename_suffix": ".csv",
        },
        "combined": {"type": "pandas.CSVDataset", "filepath": "data/combined.csv"},
    }
    executor = "in_process" if how == "asset" else how
    sides = _pair(
        tmp_path,
        f"incremental_{how}",
        catalog,
        _job("__default__", executor),
        registry=INCREMENTAL_REGISTRY,
    )
    for side in sides:
        with (side / "src" / f"incremental_{how}" / "nodes.py").open("a") as nodes:
            nodes.write(INCREMENTAL_NODES)
    kedro_side, dagster_side = sides
    home = tmp_path / "home"
    for round_, keys in enumerate((("2026-01", "2026-02"), ("2026-03",))):
        for side in sides:
            for key in keys:
                _add_partition(side, key)
        kedro_run(kedro_side)
        if how == "asset":
            run(
                [KEDRO, "dagster", "launch", "--assets", "combined"],
                cwd=dagster_side,
                env=subprocess_env(home),
            )
        else:
            dagster_launch(dagster_side, "job", home)
        expected = persisted_outputs(kedro_side)
        # `kedro run` wrote the checkpoint, and its second run read the new partition only.
        assert bytes(expected["parts/CHECKPOINT"]) == keys[-1].encode()
        assert expected["combined.csv"].decode().count("2026-") == 2 * len(keys), round_
        assert persisted_outputs(dagster_side) == expected, round_


# ------------------------------------------------- MemoryDatasets released after last use

RELEASE_NODES = '''


class Chunk:
    """An intermediate result; `generation` says which node made it."""

    def __init__(self, generation):
        self.generation = generation
        self.payload = list(range(1000))


def first(raw):
    return Chunk(1)


def grow(chunk):
    return Chunk(chunk.generation + 1)


def count_live(chunk):
    """How many intermediates of earlier nodes are still alive (not released) in this process."""
    import gc
    from pathlib import Path

    import pandas as pd

    if Path("FAIL").exists():
        raise RuntimeError("count_live failed")
    gc.collect()
    earlier = chunk.generation
    live = sum(1 for obj in gc.get_objects() if isinstance(obj, Chunk) and obj.generation < earlier)
    return pd.DataFrame({"generation": [chunk.generation], "earlier_alive": [live]})
'''

RELEASE_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import count_live, first, grow


def register_pipelines():
    nodes = [node(first, "raw", "c1", name="first")]
    nodes += [node(grow, f"c{{i}}", f"c{{i + 1}}", name=f"grow_{{i}}") for i in range(1, 5)]
    nodes.append(node(count_live, "c5", "live", name="count_live"))
    return {{"__default__": Pipeline(nodes)}}
"""


def test_memory_datasets_are_released_after_their_last_use(tmp_path: Path) -> None:
    """An in-process run frees a MemoryDataset once its consumers succeeded, as `kedro run` does.

    A data pipeline's intermediates (large frames) would otherwise all stay in memory until the
    run ends.
    """
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "live": {"type": "pandas.CSVDataset", "filepath": "data/live.csv"},
    }
    sides = _pair(
        tmp_path, "release", catalog, _job("__default__", "in_process"), registry=RELEASE_REGISTRY
    )
    for side in sides:
        with (side / "src" / "release" / "nodes.py").open("a") as nodes:
            nodes.write(RELEASE_NODES)
    kedro_side, dagster_side = sides
    kedro_run(kedro_side)
    dagster_launch(dagster_side, "job", tmp_path / "home")
    expected = persisted_outputs(kedro_side)
    assert expected["live.csv"].decode().splitlines()[1] == "5,0"
    assert persisted_outputs(dagster_side) == expected

    # A reader that fails keeps its input for a re-execution from failure; the rest is gone.
    (dagster_side / "data" / "live.csv").unlink()
    (dagster_side / "FAIL").write_text("")
    home = tmp_path / "home_failed"
    env = subprocess_env(home)
    failed = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "job"], cwd=dagster_side, env=env, check=False
    )
    assert failed.returncode != 0
    (first,) = runs_in(home)
    storage = home / "storage" / first.run_id
    kept = sorted(p.relative_to(storage).as_posix() for p in storage.glob("*/c[0-9]"))
    assert kept == ["grow_4/c5"], kept
    (dagster_side / "FAIL").unlink()
    result = run(
        [sys.executable, "-c", REEXECUTION_SCRIPT, first.run_id, "job", "release"],
        cwd=dagster_side,
        env=subprocess_env(home, PYTHONPATH=str(dagster_side / "src")),
    )
    assert result.stdout.strip().endswith("True"), result.stdout[-3000:] + result.stderr[-3000:]
    assert persisted_outputs(dagster_side) == expected


MUTATING_NODES = """

def describe(raw):
    return {"columns": list(raw.columns)}


def append_column(info):
    info["columns"].append("appended")  # in place, as nodes sometimes do
    return {"n": len(info["columns"])}


def combine(info, appended):
    return {"info": info, "appended": appended}
"""

MUTATING_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import append_column, combine, describe


def register_pipelines():
    return {{"__default__": Pipeline([
        node(describe, "raw", "info", name="describe"),
        node(append_column, "info", "appended", name="append_column"),
        node(combine, ["info", "appended"], "result", name="combine"),
    ])}}
"""

MEMORY_HOOKS = """
import json
import os

from kedro.framework.hooks import hook_impl


class MemoryHooks:
    def _write(self, hook, dataset_name, node):
        if dataset_name in ("info", "appended"):
            with open(os.environ["HOOK_LOG"], "a") as f:
                f.write(json.dumps([hook, dataset_name, node.name]) + "\\n")

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        self._write("saved", dataset_name, node)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        self._write("loaded", dataset_name, node)
"""


def test_asset_run_gives_each_reader_of_a_recomputed_memory_dataset_its_copy(
    tmp_path: Path,
) -> None:
    """Materializing ``result`` recomputes ``info`` and ``appended`` (MemoryDatasets): as under
    `kedro run`, ``combine`` gets ``info`` as ``describe`` returned it, not as
    ``append_column`` changed it in place, and the MemoryDatasets pass the dataset hooks.
    """
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "result": {"type": "json.JSONDataset", "filepath": "data/result.json"},
    }
    sides = _pair(tmp_path, "mutating", catalog, {}, registry=MUTATING_REGISTRY)
    for side in sides:
        package = side / "src" / "mutating"
        with (package / "nodes.py").open("a") as nodes:
            nodes.write(MUTATING_NODES)
        (package / "hooks.py").write_text(MEMORY_HOOKS)
        (package / "settings.py").write_text(
            "from mutating.hooks import MemoryHooks\n\nHOOKS = (MemoryHooks(),)\n"
        )
    kedro_side, dagster_side = sides
    kedro_log, dagster_log = tmp_path / "kedro.jsonl", tmp_path / "dagster.jsonl"
    run([KEDRO, "run"], cwd=kedro_side, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    run(
        [KEDRO, "dagster", "launch", "--assets", "result"],
        cwd=dagster_side,
        env=subprocess_env(tmp_path / "home", HOOK_LOG=str(dagster_log)),
    )
    expected = persisted_outputs(kedro_side)
    assert json.loads(expected["result.json"])["info"] == {"columns": ["value"]}
    assert persisted_outputs(dagster_side) == expected
    assert sorted(dagster_log.read_text().splitlines()) == sorted(
        kedro_log.read_text().splitlines()
    )
