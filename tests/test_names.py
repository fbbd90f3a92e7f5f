"""Names a Kedro user recognises in Dagster: descriptions, hook ops, unnamed nodes, groups."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from compat import RESOLVE_SOURCE
from conftest import EXAMPLE, KEDRO, copy_project, run, runs_in, subprocess_env, write_dagster_yml
from kedro_factory import make_project

# Each job's description and ops (name -> description), each asset's group and description.
SHOW = (
    RESOLVE_SOURCE
    + r"""
import json, sys
from kedro_dagster import KedroProjectTranslator

defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
jobs = {
    job.name: {
        "description": job.description,
        "ops": {n.name: n.definition.description for n in job.graph.nodes},
    }
    for job in resolve(defs, "all_job_defs")
    if not job.name.startswith("__ASSET")
}
graph = resolve(defs, "asset_graph")
assets = {
    key.to_user_string(): {
        "group": graph.get(key).group_name, "description": graph.get(key).description,
    }
    for key in graph.get_all_asset_keys()
}
print("SHOW " + json.dumps({"jobs": jobs, "assets": assets}))
"""
)

RECORDER = """
import json
import os

from kedro.framework.hooks import hook_impl


class Recorder:
    def _write(self, hook, pipeline):
        with open(os.environ["HOOK_LOG"], "a") as f:
            f.write(json.dumps({"hook": hook, "nodes": sorted(n.name for n in pipeline.nodes)}))
            f.write("\\n")

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self._write("before_pipeline_run", pipeline)

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._write("after_pipeline_run", pipeline)
"""

# Unnamed nodes: `make_table` alone, `identity` twice (in `build`), `summarise` in a namespace.
REGISTRY = """
from kedro.pipeline import Pipeline, node
from {package}.nodes import identity, make_table, summarise


def register_pipelines():
    build = Pipeline([
        node(make_table, ["raw", "params:factor"], "table"),
        node(identity, "table", "copy_a"),
        node(identity, "raw", "copy_b"),
    ])
    report = Pipeline(
        [
            node(summarise, "table", "summary", name="summarise_node"),
            node(summarise, "table", "s2"),
        ],
        namespace="report",
        inputs={{"table"}},
        outputs={{"summary"}},
    )
    return {{"__default__": build + report, "build": build, "report": report}}
"""

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "table": {
        "type": "pandas.CSVDataset",
        "filepath": "data/table.csv",
        "metadata": {"description": "The __scaled__ table"},
    },
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
}

DAGSTER = {
    "jobs": {
        "__default__": {"pipeline": {"pipeline_name": "__default__"}},
        "report_only": {
            "pipeline": {"pipeline_name": "__default__", "node_namespaces": ["report"]},
        },
        "described": {
            "pipeline": {"pipeline_name": "build"},
            "description": "My **own** text, kept as written: `__default__`",
        },
    }
}


def _show(project: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", SHOW, str(project)],
        capture_output=True,
        text=True,
        cwd=project,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("SHOW "))
    return json.loads(line.removeprefix("SHOW "))


def _project(root: Path, package: str, registry: str = REGISTRY) -> Path:
    project = make_project(root, package, catalog=CATALOG, registry=registry, dagster=DAGSTER)
    (project / "src" / package / "hooks.py").write_text(RECORDER)
    (project / "src" / package / "settings.py").write_text(
        f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    return project


def test_descriptions_show_kedro_names_as_code(tmp_path: Path) -> None:
    """Dagster renders descriptions as Markdown: `__default__` must not become bold."""
    shown = _show(_project(tmp_path / "p", "descr_project"))
    jobs = shown["jobs"]
    assert jobs["__default__"]["description"] == "Kedro pipeline `__default__`"
    # A user's own description is theirs: unchanged.
    assert jobs["described"]["description"] == "My **own** text, kept as written: `__default__`"
    ops = jobs["__default__"]["ops"]
    assert ops["report__summarise_node"] == "Kedro node `report.summarise_node`"
    assert ops["before_pipeline_run"] == (
        "Kedro hooks before the first node: `after_context_created`, "
        "`after_catalog_created`, `before_pipeline_run`."
    )
    assert shown["assets"]["table"]["description"] == "The __scaled__ table"


def test_unnamed_nodes_are_named_after_their_function_unless_ambiguous(tmp_path: Path) -> None:
    shown = _show(_project(tmp_path / "p", "unnamed_project"))
    ops = shown["jobs"]["__default__"]["ops"]
    names = set(ops) - {"before_pipeline_run", "after_pipeline_run"}
    # Alone: the function's name (namespace kept), described as Kedro prints the node.
    assert "make_table" in names
    assert ops["make_table"] == (
        "Kedro node `make_table([raw;params:factor]) -> [table]`\n\n"
        "Parameters: `params:factor` (edit them in the run config at "
        "`resources.kedro_run.config.params`)."
    )
    assert "report__summarise" in names
    assert ops["report__summarise"] == "Kedro node `summarise([table]) -> [report.s2]`"
    # Two nodes of one function: Kedro's suffixed names keep them apart.
    identity = sorted(n for n in names if n.startswith("identity"))
    assert len(identity) == 2
    assert all(re.fullmatch(r"identity__[0-9a-f]{8}", n) for n in identity), identity
    assert "report__summarise_node" in names  # named nodes are unchanged


def test_hook_ops_are_shared_and_fire_for_the_job_s_pipeline(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "hookops_project")
    shown = _show(project)
    # In a namespace job the hook ops do not read like nodes of the namespace.
    ops = set(shown["jobs"]["report_only"]["ops"])
    assert ops == {
        "before_pipeline_run",
        "report__summarise_node",
        "report__summarise",
        "after_pipeline_run",
    }
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    home, log = tmp_path / "home", tmp_path / "hooks.jsonl"
    env = subprocess_env(home, HOOK_LOG=str(log))
    for job in ("__default__", "report_only"):
        run([KEDRO, "dagster", "launch", "--job", job], cwd=project, env=env)
    assert [r.status.value for r in runs_in(home)] == ["SUCCESS", "SUCCESS"]
    assert (project / "data/summary.csv").exists()
    records = [json.loads(line) for line in log.read_text().splitlines()]
    # One shared op per hook, each called with the pipeline of the job being run.
    report_nodes = sorted(
        [
            "report.summarise_node",
            next(r for r in records[0]["nodes"] if r.startswith("report.summarise__")),
        ]
    )
    assert [r["hook"] for r in records] == ["before_pipeline_run", "after_pipeline_run"] * 2
    assert len(records[0]["nodes"]) == 5 and records[1]["nodes"] == records[0]["nodes"]
    assert records[2]["nodes"] == records[3]["nodes"] == report_nodes


def test_a_node_named_like_a_hook_op_is_refused_at_load(tmp_path: Path) -> None:
    registry = REGISTRY.replace(
        'node(identity, "raw", "copy_b")',
        'node(identity, "raw", "copy_b", name="before_pipeline_run")',
    )
    project = _project(tmp_path / "p", "clash_project", registry=registry)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    result = subprocess.run(
        [KEDRO, "dagster", "list", "defs"],
        cwd=project,
        env=subprocess_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    stderr = " ".join(result.stderr.split())
    assert "Node 'before_pipeline_run'" in stderr, result.stderr[-3000:]
    assert "Rename the node" in stderr
    assert "Traceback" not in result.stderr


def test_a_shared_raw_input_is_in_the_group_of_its_first_reader(tmp_path: Path) -> None:
    """`companies`, read by data_processing and reporting, without a `group_name`."""
    project = copy_project(EXAMPLE, tmp_path / "example")
    catalog = project / "conf/base/catalog.yml"
    entries = yaml.safe_load(catalog.read_text())
    del entries["companies"]["metadata"]["group_name"]
    catalog.write_text(yaml.safe_dump(entries, sort_keys=False))
    reporting = project / "src/spaceflights/pipelines/reporting"
    with (reporting / "nodes.py").open("a") as f:
        f.write("\n\ndef create_confusion_matrix(companies):\n    return companies.head(1)\n")
    pipeline = (reporting / "pipeline.py").read_text()
    pipeline = pipeline.replace(
        "    summarise_companies,\n)", "    summarise_companies,\n    create_confusion_matrix,\n)"
    ).replace(
        "    base = Pipeline(\n        [\n",
        '    base = Pipeline(\n        [\n            node(create_confusion_matrix, "companies", '
        '"dummy_confusion_matrix"),\n',
    )
    pipeline = pipeline.replace(
        'inputs={"shuttles"', 'inputs={"companies": "companies", "shuttles"'
    )
    (reporting / "pipeline.py").write_text(pipeline)
    # The reporting job declared first: its reader must not decide the group.
    jobs = {
        name: {"pipeline": {"pipeline_name": name}}
        for name in ("reporting", "__default__", "data_processing")
    }
    write_dagster_yml(project, {"jobs": jobs})

    shown = _show(project)
    assert shown["assets"]["companies"]["group"] == "data_processing"
    ops = shown["jobs"]["reporting"]["ops"]
    assert ops["reporting__create_confusion_matrix"] == (
        "Kedro node `create_confusion_matrix([companies]) -> [reporting.dummy_confusion_matrix]`"
    )


def test_a_job_named_like_one_of_its_nodes_loads_and_runs(tmp_path: Path) -> None:
    # Dagster refuses a graph and an op of one repository sharing a name: the job's graph takes
    # another name, the job keeps its own.
    project = make_project(
        tmp_path / "p",
        "samename_project",
        dagster={
            "jobs": {
                "summarise": {"pipeline": {"pipeline_name": "__default__"}},
                "make_table__asset": {"pipeline": {"pipeline_name": "__default__"}},
            }
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    home = tmp_path / "home"
    env = subprocess_env(home)
    checked = run([KEDRO, "dagster", "check", "defs"], cwd=project, env=env)
    assert "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = run([KEDRO, "dagster", "list", "defs", "--json"], cwd=project, env=env).stdout
    assert '"summarise"' in listed and '"make_table__asset"' in listed
    run([KEDRO, "dagster", "launch", "--job", "summarise"], cwd=project, env=env)
    (dagster_run,) = runs_in(home)
    assert dagster_run.job_name == "summarise" and dagster_run.status.value == "SUCCESS"
    assert (project / "data/summary.csv").exists()
