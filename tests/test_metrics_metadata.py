"""Numbers of small mapping outputs (Kedro's usual metrics) as float materialization metadata.

Real projects, real `kedro dagster launch` runs; the metadata is read back from the Dagster
instance, as the asset page of the UI reads it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    EXAMPLE,
    KEDRO,
    copy_project,
    dagster_launch,
    run,
    runs_in,
    subprocess_env,
)
from kedro_factory import make_project

NODES = """
import numpy as np


class Unfloatable(float):
    # A number JSON writes (float.__repr__) but float() refuses.
    def __float__(self):
        raise RuntimeError("no float for you")


class NoItems(dict):
    # A dict whose items() raises: our dataset below writes it without calling items().
    def items(self):
        raise RuntimeError("no items for you")


def metrics():
    return {"r2": 0.91, "mae": 1234.5, "n_test": 42}


def mixed():
    return {
        "r2": np.float32(0.5),
        "count": np.int64(7),
        "name": "ridge",
        "nested": {"a": 1.0},
        "values": [1, 2],
        "converged": True,
        "none": None,
        "nan": float("nan"),
        "inf": float("inf"),
        "path": 3.0,
        "kedro/dataset": 4.0,
        "dagster/row_count": 5,
        "x" * 101: 6.0,
    }


def many():
    return {f"m{i}": float(i) for i in range(51)}


def fifty():
    return {f"m{i}": float(i) for i in range(50)}


def twins():
    return {"r2": 0.91}, {"r2": 0.91}


def weird():
    return {"r2": Unfloatable(0.91)}, NoItems(r2=0.91), {"r2": 0.5}
"""

DATASETS = """
import json
from pathlib import Path

from kedro.io import AbstractDataset


class DictDataset(AbstractDataset):
    def __init__(self, filepath, metadata=None):
        self._filepath = Path(filepath)
        self.metadata = metadata

    def _save(self, data):
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_text(json.dumps(dict(data)))

    def _load(self):
        return json.loads(self._filepath.read_text())

    def _describe(self):
        return {"filepath": str(self._filepath)}
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package} import metrics_nodes as m


def register_pipelines():
    pipeline = Pipeline([
        *(node(getattr(m, n), None, n, name=n) for n in ("metrics", "mixed", "many", "fifty")),
        node(m.twins, None, ["switched_off", "switched_on"], name="twins"),
        node(m.weird, None, ["unfloatable", "no_items", "weird_sibling"], name="weird"),
    ])
    return {{"__default__": pipeline}}
"""


def _json(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "json.JSONDataset", "filepath": f"data/{name}.json", **extra}


def _catalog(package: str) -> dict[str, Any]:
    off = {"kedro-dagster": {"metrics": False}, "description": "not metrics"}
    return {
        "metrics": _json("metrics"),
        "mixed": {"type": "pickle.PickleDataset", "filepath": "data/mixed.pkl"},
        "many": {"type": "yaml.YAMLDataset", "filepath": "data/many.yml"},
        "fifty": {"type": "yaml.YAMLDataset", "filepath": "data/fifty.yml"},
        "switched_off": _json("switched_off", metadata=off),
        "switched_on": _json("switched_on"),
        "weird_sibling": _json("weird_sibling"),
        "unfloatable": _json("unfloatable"),
        "no_items": {
            "type": f"{package}.datasets.DictDataset",
            "filepath": "data/no_items.json",
        },
    }


def _project(root: Path, package: str = "metrics_project") -> Path:
    project = make_project(root, package, catalog=_catalog(package), registry=REGISTRY)
    (project / "src" / package / "metrics_nodes.py").write_text(NODES)
    (project / "src" / package / "datasets.py").write_text(DATASETS)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project


def _materializations(home: Path) -> dict[tuple[str, str | None], dict[str, Any]]:
    """``{(asset, partition): metadata}`` of the only run of ``home``, which succeeded."""
    from dagster import DagsterEventType, DagsterInstance

    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(
            dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        )
    found = {}
    for entry in entries:
        materialization = entry.dagster_event.event_specific_data.materialization
        key = (materialization.asset_key.to_user_string(), materialization.partition)
        found[key] = materialization.metadata
    return found


def _floats(metadata: dict[str, Any]) -> dict[str, float]:
    from dagster import FloatMetadataValue

    return {k: v.value for k, v in metadata.items() if isinstance(v, FloatMetadataValue)}


@pytest.fixture(scope="module")
def metrics_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One run of the project above in a SQLite instance: metadata by asset."""
    root = tmp_path_factory.mktemp("metrics")
    project = _project(root / "project")
    home = root / "home"
    dagster_launch(project, "__default__", home)
    return {asset: metadata for (asset, _), metadata in _materializations(home).items()}


def test_metrics_json_values_become_float_metadata(metrics_run: dict) -> None:
    metadata = metrics_run["metrics"]
    assert _floats(metadata) == {"r2": 0.91, "mae": 1234.5, "n_test": 42.0}
    assert metadata["path"].value.endswith("data/metrics.json")
    assert metadata["kedro/dataset"].value == "metrics"


def test_only_numbers_are_kept_and_our_keys_never_replaced(metrics_run: dict) -> None:
    metadata = metrics_run["mixed"]
    floats = _floats(metadata)
    nan, inf = floats.pop("nan"), floats.pop("inf")
    assert math.isnan(nan) and inf == math.inf  # stored and read back by Dagster
    assert floats == {
        "r2": 0.5,  # numpy scalars are floats
        "count": 7.0,
        "kedro/metric/path": 3.0,  # clashes with our own keys get a prefix
        "kedro/metric/kedro/dataset": 4.0,
        "kedro/metric/dagster/row_count": 5.0,
    }
    assert metadata["path"].value.endswith("data/mixed.pkl")
    assert metadata["kedro/dataset"].value == "mixed"
    for skipped in ("name", "nested", "values", "converged", "none", "x" * 101):
        assert skipped not in metadata


def test_over_the_cap_no_metrics(metrics_run: dict) -> None:
    assert _floats(metrics_run["many"]) == {}
    assert len(_floats(metrics_run["fifty"])) == 50


def test_switched_off_in_the_catalog_entry(metrics_run: dict) -> None:
    metadata = metrics_run["switched_off"]
    assert _floats(metadata) == {}
    assert metadata["path"].value.endswith("data/switched_off.json")
    assert _floats(metrics_run["switched_on"]) == {"r2": 0.91}  # same data, same node


def test_weird_mappings_never_fail_the_step(metrics_run: dict) -> None:
    # The run succeeded (checked by _materializations); the data is saved, metadata as usual,
    # and the step's other output still gets its metrics.
    for name in ("unfloatable", "no_items"):
        metadata = metrics_run[name]
        assert _floats(metadata) == {}, name
        assert metadata["path"].value.endswith(f"data/{name}.json")
    assert _floats(metrics_run["weird_sibling"]) == {"r2": 0.5}


def test_project_wide_switch_and_per_dataset_override(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    catalog = project / "conf/base/catalog.yml"
    on = "metrics:\n  metadata:\n    kedro-dagster:\n      metrics: true\n"
    catalog.write_text(catalog.read_text().replace("metrics:\n", on, 1))
    home = tmp_path / "home"
    run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home, KEDRO_DAGSTER_METRICS="off"),
    )
    found = {asset: metadata for (asset, _), metadata in _materializations(home).items()}
    assert _floats(found["mixed"]) == {}
    assert _floats(found["fifty"]) == {}
    assert _floats(found["metrics"]) == {"r2": 0.91, "mae": 1234.5, "n_test": 42.0}


PARTITIONED_REGISTRY = """
from kedro.pipeline import Pipeline, node


def score(parts):
    return {{k: {{"total": float(load()["value"].sum()), "label": k}} for k, load in parts.items()}}


def register_pipelines():
    return {{"__default__": Pipeline([node(score, "raw_parts", "scores", name="score")])}}
"""


def _partitioned(path: str, suffix: str, dataset: str) -> dict[str, Any]:
    return {
        "type": "kedro_dagster.DagsterPartitionedDataset",
        "path": path,
        "filename_suffix": suffix,
        "dataset": {"type": dataset},
        "partition": {"type": "dagster.StaticPartitionsDefinition", "partition_keys": ["1", "2"]},
    }


def test_partitions_of_metrics_get_their_numbers(tmp_path: Path) -> None:
    catalog = {
        "raw_parts": _partitioned("data/parts", ".csv", "pandas.CSVDataset"),
        "scores": _partitioned("data/scores", ".json", "json.JSONDataset"),
    }
    project = make_project(
        tmp_path / "project", "parts_metrics", catalog=catalog, registry=PARTITIONED_REGISTRY
    )
    (project / "data/parts").mkdir()
    (project / "data/parts/1.csv").write_text("value\n1\n2\n")
    (project / "data/parts/2.csv").write_text("value\n10\n")
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    dagster_launch(project, "__default__", home)
    found = _materializations(home)
    assert _floats(found[("scores", "1")]) == {"total": 3.0}
    assert _floats(found[("scores", "2")]) == {"total": 10.0}
    assert found[("scores", "1")]["path"].value.endswith("data/scores/1.json")


def test_example_metrics_are_plotted(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path / "spaceflights")
    home = tmp_path / "home"
    dagster_launch(project, "__default__", home)
    found = {asset: metadata for (asset, _), metadata in _materializations(home).items()}
    floats = _floats(found["data_science__metrics"])
    assert set(floats) == {"r2", "mae", "rmse", "n_test"}
    import json

    written = json.loads((project / "data/08_reporting/metrics.json").read_text())
    assert floats == {key: float(value) for key, value in written.items()}
