"""A project of Kedro features one step off the happy path (tests/test_kedro_features.py).

- Kedro's ``partitions.PartitionedDataset``: written from a dict of values and from a dict of
  callables (lazy saving), read as a dict of load callables;
- nested namespaces (``a.b``, and ``c`` around ``d``) remapping inputs, outputs and parameters;
- a parameter key holding a dot (``model.v1``);
- ``CONFIG_LOADER_ARGS`` custom resolvers in parameters and catalog, ``${globals:...}`` in both,
  ``${runtime_params:...}`` in parameters, ``credentials:`` used by a project dataset class, and
  a ``prod`` environment overriding globals, a parameter and the credentials;
- node shapes: dict inputs, ``outputs=None``, ``*args``, ``load_args``/``save_args``, unnamed
  nodes (a ``functools.partial``, a lambda), a node mutating its MemoryDataset input;
- two datasets whose names differ only by ``-`` and ``_``, one starting with a digit, datasets
  and a node named as Dagster's reserved names (``input``, ``output``, ``type``);
- a recorder of the dataset hooks and of ``after_catalog_created``'s arguments.

Every value a node sees ends up in a persisted file, so comparing files compares values.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from kedro_factory import make_project

NODES = """
import json
from pathlib import Path

import pandas as pd


def make_parts(raw: pd.DataFrame) -> dict:
    return {f"part_{i}": raw.assign(part=i) for i in range(3)}


def make_lazy_parts(raw: pd.DataFrame) -> dict:
    def saver(i):
        return lambda: raw.assign(lazy=i * 10)

    return {f"lazy_{i}": saver(i) for i in range(2)}


def concat_parts(eager: dict, lazy: dict) -> pd.DataFrame:
    frames = [eager[k]() for k in sorted(eager)] + [lazy[k]() for k in sorted(lazy)]
    return pd.concat(frames, ignore_index=True)


def scale(x: pd.DataFrame, factor: float, offset: float) -> pd.DataFrame:
    out = x[["value"]].copy()
    out["value"] = out["value"] * factor + offset
    return out


def total(y: pd.DataFrame) -> dict:
    return {"total": float(y["value"].sum())}


def values(table, mult, glob, rt, label, lr):
    return {
        "rows": int(len(table)), "mult": mult, "glob": glob, "rt": rt, "label": label, "lr": lr
    }


def side_effect(values: dict) -> None:
    with open(Path("data") / "08_reporting" / "side_effect.txt", "a") as f:
        f.write(json.dumps(values, sort_keys=True) + "\\n")


def varargs(*args):
    return {"n": len(args), "kinds": [type(a).__name__ for a in args]}


def head(table: pd.DataFrame) -> pd.DataFrame:
    return table.head(4)


def describe(table: pd.DataFrame) -> dict:
    return {"columns": list(table.columns), "rows": int(len(table))}


def bump(value: dict, by: float) -> dict:
    return {"total": value["total"] + by}


def mutate(info: dict) -> dict:
    info["columns"].append("mutated")  # in place, as nodes sometimes do
    return info


def after_mutation(info: dict, mutated: dict) -> dict:
    return {"info": info, "mutated": mutated}
"""

DATASETS = '''
import json
from pathlib import Path

from kedro.io import AbstractDataset


class TokenJSONDataset(AbstractDataset):
    """Writes its data with the credentials' token (a project class using ``credentials:``)."""

    def __init__(self, filepath, credentials=None, metadata=None):
        self._filepath = Path(filepath)
        self._token = (credentials or {}).get("token")
        self.metadata = metadata

    def load(self):
        return json.loads(self._filepath.read_text())["data"]

    def save(self, data):
        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        self._filepath.write_text(json.dumps({"data": data, "token": self._token}, sort_keys=True))

    def _describe(self):
        return {"filepath": str(self._filepath)}

    def _exists(self):
        return self._filepath.exists()
'''

REGISTRY = """
import functools

from kedro.pipeline import Pipeline, node, pipeline

from {package}.nodes import (
    after_mutation, bump, concat_parts, describe, head, make_lazy_parts, make_parts, mutate,
    scale, side_effect, total, values, varargs,
)


def register_pipelines():
    parts = Pipeline([
        node(make_parts, "raw", "parts_eager", name="make_parts"),
        node(make_lazy_parts, "raw", "parts_lazy", name="make_lazy_parts"),
        node(concat_parts, ["parts_eager", "parts_lazy"], "combined", name="concat_parts"),
    ])
    base = Pipeline([
        node(scale, ["x", "params:factor", "params:offset"], "y", name="scale"),
        node(total, "y", "t", name="total"),
    ])
    # `a.b`: inputs, outputs and a parameter remapped; `c.d`: a namespace in a namespace.
    ab = pipeline(
        base, namespace="a.b", inputs={{"x": "combined"}}, outputs={{"t": "ab_total"}},
        parameters={{"factor": "shared_factor"}},
    )
    cd = pipeline(pipeline(base, namespace="d"), namespace="c", inputs={{"d.x": "combined"}})
    shapes = Pipeline([
        node(values, dict(table="combined", mult="params:mult", glob="params:glob",
                          rt="params:rt", label="params:label", lr="params:model.v1.lr"),
             "values", name="values"),
        node(side_effect, "values", None, name="side_effect"),
        node(varargs, ["ab_total", "c.d.t", "params:mult"], "varargs_out", name="varargs"),
        node(head, "combined", "head", name="head"),
        # Names Dagster reserves: a MemoryDataset `input`, a dataset `output`, a node `type`.
        # `mutate` changes its input in place: `type`, reading `input` after it, gets the
        # MemoryDataset's own copy, as Kedro gives each node.
        node(describe, "head", "input", name="describe"),
        node(mutate, "input", "mutated", name="mutate"),
        node(after_mutation, ["input", "mutated"], "output", name="type"),
        node(lambda v: v, "values", "secret"),
        node(functools.partial(bump, by=0.5), "ab_total", "ab-total"),
        node(bump, ["ab-total", "params:mult"], "2nd.total", name="bump"),
    ])
    return {{"__default__": parts + ab + cd + shapes}}
"""

SETTINGS = """
from {package}.hooks import Recorder

HOOKS = (Recorder(),)

CONFIG_LOADER_ARGS = {{
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {{"times": lambda a, b: a * b, "suffix": lambda s: f"{{s}}_sfx"}},
}}
"""

HOOKS = """
import json
import os

from kedro.framework.hooks import hook_impl


def _write(record):
    if "HOOK_LOG" not in os.environ:  # a run nobody records
        return
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(json.dumps(record, sort_keys=True, default=str) + "\\n")


class Recorder:
    @hook_impl
    def after_catalog_created(
        self, catalog, conf_catalog, conf_creds, parameters, save_version, load_versions
    ):
        _write({
            "hook": "after_catalog_created",
            "conf_catalog": conf_catalog,
            "conf_creds": conf_creds,
            "parameters": parameters,
            "load_versions": load_versions,
            "save_version": type(save_version).__name__,
            "datasets": sorted(catalog.keys()),
        })

    def _dataset(self, hook, dataset_name, node, data=None):
        _write({"hook": hook, "dataset": dataset_name, "node": node.name,
                "type": type(data).__name__})

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        self._dataset("before_dataset_loaded", dataset_name, node)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        self._dataset("after_dataset_loaded", dataset_name, node, data)

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        self._dataset("before_dataset_saved", dataset_name, node, data)

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        self._dataset("after_dataset_saved", dataset_name, node, data)
"""

CATALOG: dict[str, Any] = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/raw.csv"},
    "parts_eager": {
        "type": "partitions.PartitionedDataset",
        "path": "data/02_intermediate/eager",
        "dataset": "pandas.CSVDataset",
        "filename_suffix": ".csv",
    },
    "parts_lazy": {
        "type": "partitions.PartitionedDataset",
        "path": "data/02_intermediate/lazy",
        "dataset": {"type": "pandas.CSVDataset", "save_args": {"index": False}},
        "filename_suffix": ".csv",
    },
    "combined": {
        "type": "pandas.CSVDataset",
        "filepath": "data/03_primary/${globals:folder}/combined.csv",
    },
    "ab_total": {"type": "json.JSONDataset", "filepath": "data/07_model_output/ab_total.json"},
    "c.d.y": {"type": "pandas.CSVDataset", "filepath": "data/07_model_output/c_d_y.csv"},
    "c.d.t": {"type": "json.JSONDataset", "filepath": "data/07_model_output/c_d_t.json"},
    "values": {"type": "json.JSONDataset", "filepath": "data/08_reporting/${suffix:values}.json"},
    "varargs_out": {"type": "json.JSONDataset", "filepath": "data/08_reporting/varargs.json"},
    "head": {
        "type": "pandas.CSVDataset",
        "filepath": "data/08_reporting/head.csv",
        "save_args": {"sep": ";", "index": False},
        "load_args": {"sep": ";"},
    },
    "mutated": {"type": "json.JSONDataset", "filepath": "data/08_reporting/mutated.json"},
    "output": {"type": "json.JSONDataset", "filepath": "data/08_reporting/head_info.json"},
    "secret": {
        "type": "{package}.datasets.TokenJSONDataset",
        "filepath": "data/08_reporting/secret.json",
        "credentials": "token_creds",
    },
    # `ab-total` and `ab_total`: one Dagster resource key once served both.
    "ab-total": {"type": "json.JSONDataset", "filepath": "data/07_model_output/hyphen.json"},
    # A name starting with a digit (no Python identifier).
    "2nd.total": {
        "type": "json.JSONDataset",
        "filepath": "data/07_model_output/bumped.json",
    },
}

PARAMETERS: dict[str, Any] = {
    "shared_factor": 3.0,
    "a": {"b": {"factor": 100.0, "offset": 1.5}},
    "c": {"d": {"factor": 5.0, "offset": -1.0}},
    "mult": "${times:2,21}",
    "glob": "${globals:gparam}",
    "rt": "${runtime_params:rt_value, 7}",
    "label": "base",
    # A key holding a dot: Kedro names its child `params:model.v1.lr`.
    "model.v1": {"lr": 0.5},
}

RAW_CSV = "value\n1\n2\n3\n"


def make_features_project(root: Path, package: str, dagster: dict[str, Any]) -> Path:
    """Write the project in ``root`` (package ``package``), with ``dagster.yml``."""
    catalog = json.loads(json.dumps(CATALOG).replace("{package}", package))
    project = make_project(
        root,
        package,
        catalog=catalog,
        parameters=PARAMETERS,
        registry=REGISTRY,
        dagster=dagster,
        credentials={"token_creds": {"token": "local-token"}},
    )
    src = project / "src" / package
    (src / "nodes.py").write_text(NODES)
    (src / "datasets.py").write_text(DATASETS)
    (src / "hooks.py").write_text(HOOKS)
    (src / "settings.py").write_text(SETTINGS.format(package=package))
    conf = project / "conf"
    (conf / "base" / "globals.yml").write_text(
        yaml.safe_dump({"folder": "base_folder", "gparam": "g-base"})
    )
    prod = conf / "prod"
    prod.mkdir()
    (prod / "globals.yml").write_text(yaml.safe_dump({"gparam": "g-prod"}))
    (prod / "parameters.yml").write_text(yaml.safe_dump({"label": "prod"}))
    (prod / "credentials.yml").write_text(yaml.safe_dump({"token_creds": {"token": "prod-token"}}))
    data = project / "data"
    (data / "raw.csv").unlink()
    for folder in ("01_raw", "08_reporting"):
        (data / folder).mkdir()
        (data / folder / ".gitkeep").write_text("")
    (data / "01_raw" / "raw.csv").write_text(RAW_CSV)
    return project


def hook_calls(log: Path, project: Path) -> tuple[Counter, list[str]]:
    """The dataset hooks' calls, counted, and the distinct ``after_catalog_created`` records.

    The project's path is replaced by ``<project>`` so that two copies compare equal.
    """
    records = [json.loads(line) for line in log.read_text().splitlines()]
    calls = Counter(
        (r["hook"], r["node"], r["dataset"], r["type"])
        for r in records
        if r["hook"] != "after_catalog_created"
    )
    catalogs = sorted(
        {
            json.dumps(r, sort_keys=True).replace(str(project), "<project>")
            for r in records
            if r["hook"] == "after_catalog_created"
        }
    )
    return calls, catalogs
