"""One node run = Kedro's task steps: generator streaming, input overrides, process hooks.

Each test runs a small real project with `kedro run` on one copy and `kedro dagster launch`
on another, and compares the files they wrote (or what hooks recorded).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import (
    EXECUTORS,
    KEDRO,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import make_project


def _twin(project: Path, dest: Path) -> Path:
    """A copy of ``project`` before any run (outputs are compared between the two)."""
    shutil.copytree(project, dest)
    return dest


def _with_job(project: Path, executor: str) -> Path:
    (executor_name,) = EXECUTORS[executor]
    write_dagster_yml(
        project,
        {
            "executors": EXECUTORS[executor],
            "jobs": {
                "all": {"pipeline": {"pipeline_name": "__default__"}, "executor": executor_name}
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _launch(project: Path, home: Path, *args: str, **env: str) -> None:
    run([KEDRO, "dagster", "launch", *args], cwd=project, env=subprocess_env(home, **env))


# --------------------------------------------------------------------- generator nodes

GENERATOR_REGISTRY = """
from kedro.pipeline import Pipeline, node


def chunks(raw):
    for i in range(3):
        # Three outputs: Kedro saves chunk i of each before asking for chunk i + 1.
        yield raw.assign(chunk=i), f"chunk {{i}}: {{len(raw)}} rows\\n", raw.assign(last=i)


def count(last):
    return last


def register_pipelines():
    pipeline = Pipeline([
        node(chunks, "raw", ["appended", "lines", "last_chunk"], name="chunks"),
        node(count, "last_chunk", "final", name="count"),
    ])
    return {{"__default__": pipeline}}
"""

GENERATOR_CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    # Appending datasets: each streamed chunk adds to the file, as Kedro documents.
    "appended": {
        "type": "pandas.CSVDataset",
        "filepath": "data/appended.csv",
        "save_args": {"index": False, "header": False},
        "fs_args": {"open_args_save": {"mode": "a"}},
    },
    "lines": {
        "type": "text.TextDataset",
        "filepath": "data/lines.txt",
        "fs_args": {"open_args_save": {"mode": "a"}},
    },
    # `last_chunk` is a MemoryDataset: it holds the last chunk, as under `kedro run`.
    "final": {"type": "pandas.CSVDataset", "filepath": "data/final.csv"},
}


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_generator_node_streams_chunks_like_kedro_run(tmp_path: Path, executor: str) -> None:
    project = make_project(
        tmp_path / "dagster", "gen_nodes", catalog=GENERATOR_CATALOG, registry=GENERATOR_REGISTRY
    )
    kedro_copy = _twin(project, tmp_path / "kedro")
    run([KEDRO, "run"], cwd=kedro_copy, env=subprocess_env())
    expected = persisted_outputs(kedro_copy)
    assert expected["lines.txt"].decode().count("chunk") == 3, expected
    assert len(expected["appended.csv"].decode().splitlines()) == 9

    _with_job(project, executor)
    home = tmp_path / "home"
    _launch(project, home, "--job", "all")
    actual = persisted_outputs(project)
    assert actual == expected
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"


# ------------------------------------------- process hooks, input overrides (kedro-viz-like)

PROCESS_HOOKS = """
import json
import logging
import os

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)
STATE = {{}}


def _write(record):
    with open(os.environ["PROCESS_LOG"], "a") as f:
        f.write(json.dumps({{"pid": os.getpid(), **record}}) + "\\n")


class PrepareProcess:
    @hook_impl
    def after_context_created(self, context):
        # A Spark session or a client would be created here: nodes of this process need it.
        STATE["ready"] = os.getpid()
        _write({{"hook": "after_context_created"}})

    @hook_impl
    def before_node_run(self, node, inputs):
        _write({{"hook": "before_node_run", "node": node.name}})
        if node.name == "make_table":
            return {{"params:factor": inputs["params:factor"] * 5}}  # input override
        return None


class DatasetStats:
    # As kedro-viz's DatasetStatsHook: state kept from `after_catalog_created`.
    @hook_impl
    def after_catalog_created(self, catalog):
        self.datasets = catalog
        _write({{"hook": "after_catalog_created"}})

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data):
        try:
            self.datasets
        except Exception as exc:  # what kedro-viz's hook logs
            _write({{"hook": "warning", "message": str(exc)}})
            logger.warning("Unable to create statistics for the dataset %s : %s", dataset_name, exc)
"""

PROCESS_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.hooks import STATE


def make_table(raw, factor):
    if STATE.get("ready") is None:
        raise RuntimeError("after_context_created did not prepare this process")
    return raw.assign(scaled=raw["value"] * factor)


def summarise(table):
    if STATE.get("ready") is None:
        raise RuntimeError("after_context_created did not prepare this process")
    return table.describe().reset_index()


def register_pipelines():
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
    ])
    return {{"__default__": pipeline}}
"""

# `table` is a MemoryDataset: an asset run of `summary` recomputes it in its step.
PROCESS_CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
}


def _process_project(root: Path, package: str) -> Path:
    project = make_project(root, package, catalog=PROCESS_CATALOG, registry=PROCESS_REGISTRY)
    src = project / "src" / package
    (src / "hooks.py").write_text(PROCESS_HOOKS.format())
    (src / "settings.py").write_text(
        f"from {package}.hooks import DatasetStats, PrepareProcess\n\n"
        "HOOKS = (PrepareProcess(), DatasetStats())\n"
    )
    return project


def _process_records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _assert_prepared_once_per_process(records: list[dict]) -> None:
    node_pids = {r["pid"] for r in records if r["hook"] == "before_node_run"}
    for hook in ("after_context_created", "after_catalog_created"):
        pids = [r["pid"] for r in records if r["hook"] == hook]
        assert len(pids) == len(set(pids)), f"{hook} fired twice in one process: {records}"
        assert node_pids <= set(pids), f"a process ran nodes without {hook}: {records}"
    assert not [r for r in records if r["hook"] == "warning"], records


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_process_hooks_prepare_every_step_process(tmp_path: Path, executor: str) -> None:
    project = _process_project(tmp_path / "dagster", f"proc_{executor}")
    kedro_copy = _twin(project, tmp_path / "kedro")
    kedro_log = tmp_path / "kedro.jsonl"
    run([KEDRO, "run"], cwd=kedro_copy, env=subprocess_env(PROCESS_LOG=str(kedro_log)))
    expected = persisted_outputs(kedro_copy)
    assert "summary.csv" in expected

    _with_job(project, executor)
    log = tmp_path / "dagster.jsonl"
    home = tmp_path / "home"
    result = run(
        [KEDRO, "dagster", "launch", "--job", "all"],
        cwd=project,
        env=subprocess_env(home, PROCESS_LOG=str(log)),
    )
    # The override of `before_node_run` (factor x 5) acts as under `kedro run`.
    assert persisted_outputs(project) == expected
    records = _process_records(log)
    _assert_prepared_once_per_process(records)
    assert "Unable to create statistics" not in result.stderr
    if executor == "multiprocess":
        assert len({r["pid"] for r in records if r["hook"] == "before_node_run"}) == 2
    else:
        assert len({r["pid"] for r in records}) == 1


def test_process_hooks_prepare_asset_runs(tmp_path: Path) -> None:
    project = _process_project(tmp_path / "dagster", "proc_assets")
    kedro_copy = _twin(project, tmp_path / "kedro")
    run([KEDRO, "run"], cwd=kedro_copy, env=subprocess_env(PROCESS_LOG=str(tmp_path / "k.jsonl")))
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    log = tmp_path / "dagster.jsonl"
    result = run(
        [KEDRO, "dagster", "launch", "--assets", "summary"],
        cwd=project,
        env=subprocess_env(tmp_path / "home", PROCESS_LOG=str(log)),
    )
    assert persisted_outputs(project) == persisted_outputs(kedro_copy)
    records = _process_records(log)
    _assert_prepared_once_per_process(records)
    assert {r["node"] for r in records if r["hook"] == "before_node_run"} == {
        "make_table",
        "summarise",
    }
    assert "Unable to create statistics" not in result.stderr


def test_asset_run_recomputes_a_generator_producer_to_its_last_chunk(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "dagster", "gen_assets", catalog=GENERATOR_CATALOG, registry=GENERATOR_REGISTRY
    )
    kedro_copy = _twin(project, tmp_path / "kedro")
    run([KEDRO, "run"], cwd=kedro_copy, env=subprocess_env())
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    _launch(project, tmp_path / "home", "--assets", "final")
    # `final` reads the MemoryDataset `last_chunk`: its generator producer is recomputed in
    # the step, to its last chunk; outputs not selected are not written.
    expected = persisted_outputs(kedro_copy)
    assert persisted_outputs(project) == {k: expected[k] for k in ("final.csv", "raw.csv")}
