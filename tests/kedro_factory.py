"""Write small, real Kedro projects for tests, and translate them in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from compat import KEDRO_VERSION, RESOLVE_SOURCE

NODES_PY = """
import pandas as pd


def make_table(raw: pd.DataFrame, factor: float) -> pd.DataFrame:
    out = raw.copy()
    out["scaled"] = out["value"] * factor
    return out


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    return table.describe().reset_index()


def identity(x):
    return x
"""

DEFAULT_PIPELINE = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import identity, make_table, summarise


def register_pipelines():
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table", tags=["build"]),
        node(summarise, "table", "summary", name="summarise", tags=["report"]),
    ])
    return {{"__default__": pipeline, "main": pipeline}}
"""


def make_project(
    root: Path,
    package: str,
    *,
    catalog: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
    dagster: dict[str, Any] | None = None,
    registry: str | None = None,
    credentials: dict[str, Any] | None = None,
) -> Path:
    """A Kedro 1.x project in ``root`` whose package is ``package``."""
    src = root / "src" / package
    src.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.kedro]
            package_name = "{package}"
            project_name = "{package}"
            kedro_init_version = "{KEDRO_VERSION}"
            source_dir = "src"
            """
        )
    )
    (root / ".telemetry").write_text("consent: false\n")
    (src / "__init__.py").write_text("")
    (src / "settings.py").write_text("")
    (src / "nodes.py").write_text(NODES_PY)
    (src / "pipeline_registry.py").write_text(
        textwrap.dedent(registry or DEFAULT_PIPELINE).format(package=package)
    )
    for env in ("base", "local"):
        (root / "conf" / env).mkdir(parents=True)
    catalog = (
        catalog
        if catalog is not None
        else {
            "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
            "table": {
                "type": "pandas.CSVDataset",
                "filepath": "data/table.csv",
                "metadata": {"description": "Scaled table", "group_name": "tables"},
            },
            "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
        }
    )
    (root / "conf/base/catalog.yml").write_text(yaml.safe_dump(catalog))
    (root / "conf/base/parameters.yml").write_text(yaml.safe_dump(parameters or {"factor": 2.0}))
    if credentials is not None:
        (root / "conf/local/credentials.yml").write_text(yaml.safe_dump(credentials))
    if dagster is not None:
        (root / "conf/base/dagster.yml").write_text(yaml.safe_dump(dagster))
    (root / "data").mkdir()
    (root / "data/raw.csv").write_text("value\n1\n2\n3\n")
    return root


DESCRIBE = (
    RESOLVE_SOURCE
    + r"""
import json, sys
import dagster as dg
from kedro_dagster import KedroProjectTranslator
from kedro_dagster.errors import KedroDagsterError

try:
    defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
except KedroDagsterError as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
graph = resolve(defs, "asset_graph")
assets = {}
for key in graph.get_all_asset_keys():
    node = graph.get(key)
    assets[key.to_user_string()] = {
        "description": node.description,
        "group": node.group_name,
        "kinds": sorted(node.kinds),
        "metadata": {k: str(v) for k, v in node.metadata.items()},
        "deps": sorted(k.to_user_string() for k in node.parent_keys),
        "materializable": node.is_materializable,
    }
jobs = sorted(j.name for j in resolve(defs, "all_job_defs"))
print("DESCRIBE " + json.dumps({"assets": assets, "jobs": jobs}))
"""
)


def translate(project: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Translate ``project`` in a fresh interpreter (no Kedro global state leaks between tests)."""
    return subprocess.run(
        [sys.executable, "-c", DESCRIBE, str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=300,
    )


def describe(project: Path) -> dict[str, Any]:
    result = translate(project)
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("DESCRIBE "))
    return json.loads(line.removeprefix("DESCRIBE "))
