"""A realistic Kedro project combining what the other fixtures test one at a time.

Two namespaced copies of one modular pipeline (dataset factories, an explicit entry
overriding a factory, namespaced and nested parameters), a top-level pipeline joining them
(a node reading the whole ``parameters``, a transcoded dataset, a generator node streaming to
an appending dataset), a ``CachedDataset``, a versioned dataset, list and dict outputs,
tags, a hook recorder in ``settings.py`` and a second environment (``prod``) overriding one
catalog entry and one parameter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from kedro_factory import make_project

PACKAGE_NODES = """
import json

import pandas as pd


def clean(raw: pd.DataFrame, options: dict) -> pd.DataFrame:
    out = raw.copy()
    out["value"] = out["value"] * options["scale"]["factor"] + options["offset"]
    return out


def split(table: pd.DataFrame, ratio: float) -> list:
    cut = int(len(table) * ratio)
    return [table.iloc[:cut].reset_index(drop=True), table.iloc[cut:].reset_index(drop=True)]


def stats(head: pd.DataFrame, tail: pd.DataFrame) -> dict:
    return {"total": float(tail["value"].sum()), "count": int(len(head) + len(tail))}


def summarise(total: float, count: int, label: str, scale: dict) -> dict:
    return {"label": label, "total": total, "count": count, "scale": scale}


def join(alpha: dict, beta: dict) -> pd.DataFrame:
    return pd.DataFrame([alpha, beta])[["label", "total", "count"]]


def measure(text: str, title: str) -> dict:
    return {"title": title, "chars": len(text), "lines": text.count("\\n")}


def stream_rows(table: pd.DataFrame):
    for index, row in table.iterrows():
        yield [f"{index},{row['label']},{row['total']}\\n", index + 1]


def count_rows(last: int) -> dict:
    return {"rows": last}


def report(parameters: dict, measures: dict, rows: dict) -> dict:
    return {"parameters": parameters, "measures": measures, "rows": rows}
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node, pipeline

from {package}.nodes import (
    clean, count_rows, join, measure, report, split, stats, stream_rows, summarise,
)


def _modular():
    return Pipeline([
        node(clean, ["raw", "params:options"], "cleaned", name="clean", tags=["prep"]),
        node(split, ["cleaned", "params:ratio"], ["head", "tail"], name="split", tags=["prep"]),
        node(stats, ["head", "tail"], dict(total="total", count="count"), name="stats"),
        node(
            summarise,
            ["total", "count", "params:label", "params:options.scale"],
            "summary",
            name="summarise",
            tags=["report"],
        ),
    ])


def register_pipelines():
    alpha = pipeline(_modular(), namespace="alpha", inputs={{"raw"}})
    beta = pipeline(_modular(), namespace="beta", inputs={{"raw"}})
    combine = Pipeline([
        node(join, ["alpha.summary", "beta.summary"], "combined@pandas", name="join",
             tags=["combine"]),
        node(measure, ["combined@text", "params:report_title"], "measures", name="measure",
             tags=["combine", "report"]),
        node(stream_rows, "combined@pandas", ["rows_log", "last_row"], name="stream_rows",
             tags=["combine"]),
        node(count_rows, "last_row", "row_count", name="count_rows", tags=["combine"]),
        node(report, ["parameters", "measures", "row_count"], "final_report", name="report",
             tags=["combine", "report"]),
    ])
    return {{
        "__default__": alpha + beta + combine,
        "modular": alpha + beta,
        "alpha": alpha,
        "combine": combine,
    }}
"""

HOOKS = """
import json
import os
from pathlib import Path

from kedro.framework.hooks import hook_impl


def _write(record):
    path = os.environ.get("HOOK_LOG") or str(Path.cwd() / "hook_log.jsonl")
    with open(path, "a") as f:
        f.write(json.dumps(record, sort_keys=True, default=str) + "\\n")


def _run_id(run_params):
    return run_params.get("run_id", run_params.get("session_id"))


class ProjectHooks:
    @hook_impl
    def after_context_created(self, context):
        _write({"hook": "after_context_created", "env": context.env})

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        record = {k: v for k, v in run_params.items() if k not in ("project_path", "runner")}
        types = {k: type(v).__name__ for k, v in record.items()}
        record["run_id"] = _run_id(run_params)
        record.pop("session_id", None)
        _write({"hook": "before_pipeline_run", "nodes": sorted(n.name for n in pipeline.nodes),
                "run_params": record, "types": types, "run_id": record["run_id"]})

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        _write({"hook": "before_node_run", "node": node.name, "run_id": run_id,
                "inputs": sorted(inputs)})

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        _write({"hook": "after_node_run", "node": node.name, "run_id": run_id,
                "outputs": sorted(outputs)})

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        _write({
            "hook": "after_pipeline_run",
            "run_id": _run_id(run_params),
            "run_result": {k: type(v).__name__ for k, v in run_result.items()},
        })
"""

CATALOG: dict[str, Any] = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/01_raw/raw.csv"},
    # Factories for both namespaces.
    "{namespace}.cleaned": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/02_intermediate/{namespace}/cleaned.parquet",
    },
    "{namespace}.head": {
        "type": "CachedDataset",
        "dataset": {
            "type": "pickle.PickleDataset",
            "filepath": "data/03_primary/{namespace}/head.pkl",
        },
    },
    "{namespace}.summary": {
        "type": "json.JSONDataset",
        "filepath": "data/07_model_output/{namespace}/summary.json",
    },
    # An explicit entry wins over the factory: versioned, elsewhere.
    "beta.summary": {
        "type": "json.JSONDataset",
        "filepath": "data/07_model_output/beta_summary.json",
        "versioned": True,
    },
    # Transcoded: written as a DataFrame, read back as text.
    "combined@pandas": {
        "type": "pandas.CSVDataset",
        "filepath": "data/08_reporting/combined.csv",
        "save_args": {"index": False},
    },
    "combined@text": {"type": "text.TextDataset", "filepath": "data/08_reporting/combined.csv"},
    # Named by a runtime parameter that is no parameter (`kedro run --params measures_name=...`).
    "measures": {
        "type": "json.JSONDataset",
        "filepath": "data/08_reporting/${runtime_params:measures_name, measures}.json",
    },
    # Each chunk of the generator node is appended.
    "rows_log": {
        "type": "text.TextDataset",
        "filepath": "data/08_reporting/rows.log",
        "fs_args": {"open_args_save": {"mode": "a"}},
    },
    "row_count": {"type": "json.JSONDataset", "filepath": "data/08_reporting/row_count.json"},
    "final_report": {"type": "json.JSONDataset", "filepath": "data/08_reporting/report.json"},
}

PARAMETERS: dict[str, Any] = {
    "alpha": {
        "options": {"scale": {"factor": 2.0}, "offset": 1.0},
        "ratio": 0.5,
        "label": "A",
    },
    "beta": {
        "options": {"scale": {"factor": 3.0}, "offset": -1.0},
        "ratio": 0.25,
        "label": "B",
    },
    "report_title": "base report",
}

#: ``prod`` overrides one catalog entry and one parameter.
PROD_CATALOG = {
    "final_report": {"type": "json.JSONDataset", "filepath": "data/08_reporting/report_prod.json"}
}
PROD_PARAMETERS = {"report_title": "prod report"}

RAW_CSV = "value\n" + "".join(f"{v}\n" for v in (1, 2, 3, 4, 5, 6, 7, 8))


def make_combined_project(root: Path, package: str, dagster: dict[str, Any] | None = None) -> Path:
    """Write the combined project in ``root`` (package ``package``), with ``dagster.yml``."""
    project = make_project(
        root,
        package,
        catalog=CATALOG,
        parameters=PARAMETERS,
        registry=REGISTRY,
        dagster=dagster,
    )
    src = project / "src" / package
    (src / "nodes.py").write_text(PACKAGE_NODES)
    (src / "hooks.py").write_text(HOOKS)
    (src / "settings.py").write_text(
        f"from {package}.hooks import ProjectHooks\n\nHOOKS = (ProjectHooks(),)\n"
    )
    prod = project / "conf" / "prod"
    prod.mkdir()
    (prod / "catalog.yml").write_text(yaml.safe_dump(PROD_CATALOG))
    (prod / "parameters.yml").write_text(yaml.safe_dump(PROD_PARAMETERS))
    (project / "data" / "raw.csv").unlink()
    (project / "data" / "01_raw").mkdir()
    (project / "data" / "01_raw" / "raw.csv").write_text(RAW_CSV)
    return project


def hook_records(log: Path) -> list[dict[str, Any]]:
    """The hook recorder's records, in order."""
    return [json.loads(line) for line in log.read_text().splitlines()]
