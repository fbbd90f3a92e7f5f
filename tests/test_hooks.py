"""Kedro hooks under Dagster: the same calls as `kedro run`, in the processes that run nodes."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from conftest import (
    FAILURE_SENSOR_SCRIPT,
    KEDRO,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import make_project

RECORDER = """
import json
import os

from kedro.framework.hooks import hook_impl


def _write(record):
    with open(os.environ["HOOK_LOG"], "a") as f:
        f.write(json.dumps(record) + "\\n")


def _run_id(run_params):
    # Kedro 1.0-1.2 name it `session_id`, 1.3+ `run_id`.
    return run_params.get("run_id", run_params.get("session_id"))


class Recorder:
    def _record(self, hook, **fields):
        _write({"hook": hook, "pid": os.getpid(), **fields})

    @hook_impl
    def after_context_created(self, context):
        self._record("after_context_created", env=context.env)

    @hook_impl
    def after_catalog_created(self, catalog, conf_catalog, parameters, save_version):
        self._record("after_catalog_created", save_version=save_version)

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self._record("before_pipeline_run", run_id=_run_id(run_params), nodes=len(pipeline.nodes))

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._record("after_pipeline_run", run_id=_run_id(run_params))

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        self._record(
            "on_pipeline_error",
            error_class=type(error).__name__,
            message=str(error),
            run_id=_run_id(run_params),
            nodes=len(pipeline.nodes),
        )

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        self._record("before_node_run", node=node.name, inputs=sorted(inputs), run_id=run_id)

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        self._record("after_node_run", node=node.name, outputs=sorted(outputs), run_id=run_id)

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async, run_id):
        self._record("on_node_error", node=node.name, error_class=type(error).__name__)

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        self._record("before_dataset_loaded", dataset=dataset_name, node=node.name)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        self._record("after_dataset_loaded", dataset=dataset_name, node=node.name)

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        self._record("before_dataset_saved", dataset=dataset_name, node=node.name)

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        self._record("after_dataset_saved", dataset=dataset_name, node=node.name)
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node
from {package}.nodes import make_table, summarise


def explode(table):
    raise ValueError("boom 42")


def register_pipelines():
    ok = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
    ])
    failing = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(explode, "table", "boom_out", name="explode"),
    ])
    return {{"__default__": ok, "failing": failing}}
"""

# `table` is a MemoryDataset: its hooks come from the MemoryDataset storage.
CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
}


def _project(root: Path, package: str) -> Path:
    project = make_project(root, package, catalog=CATALOG, registry=REGISTRY)
    (project / "src" / package / "hooks.py").write_text(RECORDER)
    (project / "src" / package / "settings.py").write_text(
        f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    write_dagster_yml(
        project,
        {
            "executors": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
            "jobs": {
                "default_inproc": {"pipeline": {"pipeline_name": "__default__"}},
                "default_mp": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "parallel",
                },
                "failing": {"pipeline": {"pipeline_name": "failing"}},
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _calls(records: list[dict]) -> Counter:
    return Counter((r["hook"], r.get("node"), r.get("dataset")) for r in records)


def _launch(project: Path, home: Path, log: Path, *args: str, check: bool = True):
    env = subprocess_env(home, HOOK_LOG=str(log))
    cmd = [KEDRO, "dagster", "launch", *args]
    if check:
        return run(cmd, cwd=project, env=env)
    import subprocess

    return subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=600)


def test_hooks_match_kedro_run_in_process(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "hooks_inproc")
    kedro_log, dagster_log = tmp_path / "kedro.jsonl", tmp_path / "dagster.jsonl"
    run([KEDRO, "run"], cwd=project, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    home = tmp_path / "home"
    _launch(project, home, dagster_log, "--job", "default_inproc")

    kedro_calls, dagster_calls = _calls(_records(kedro_log)), _calls(_records(dagster_log))
    assert dagster_calls == kedro_calls
    # Every node and dataset hook fired, MemoryDatasets and parameters included.
    assert kedro_calls[("before_dataset_saved", "make_table", "table")] == 1
    assert kedro_calls[("before_dataset_loaded", "make_table", "params:factor")] == 1

    (dagster_run,) = runs_in(home)
    records = _records(dagster_log)
    run_ids = {r["run_id"] for r in records if "run_id" in r}
    assert run_ids == {dagster_run.run_id}  # hooks get the Dagster run id, not a session id
    (before,) = [r for r in records if r["hook"] == "before_pipeline_run"]
    assert before["nodes"] == 2


def test_node_hooks_run_in_the_node_process_under_multiprocess(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "hooks_mp")
    log = tmp_path / "dagster.jsonl"
    kedro_log = tmp_path / "kedro.jsonl"
    run([KEDRO, "run"], cwd=project, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    _launch(project, tmp_path / "home", log, "--job", "default_mp")
    records = _records(log)
    process_hooks = ("after_context_created", "after_catalog_created")
    per_run = [r for r in records if r["hook"] not in process_hooks]
    assert _calls(per_run) == _calls(
        [r for r in _records(kedro_log) if r["hook"] not in process_hooks]
    )
    # Every step process is prepared once, as a Kedro session prepares its process.
    step_pids = {r["pid"] for r in per_run}
    for hook in process_hooks:
        assert sorted(r["pid"] for r in records if r["hook"] == hook) == sorted(step_pids)
    for node in ("make_table", "summarise"):
        pids = {
            r["pid"]
            for r in records
            if r.get("node") == node and r["hook"] in ("before_node_run", "after_node_run")
        }
        saved = {
            r["pid"]
            for r in records
            if r.get("node") == node and r["hook"] == "after_dataset_saved"
        }
        assert len(pids) == 1 and saved == pids, (node, pids, saved)
    node_pids = {r["pid"] for r in records if r["hook"] == "before_node_run"}
    assert len(node_pids) == 2  # one process per step


def test_on_pipeline_error_in_the_failed_run_and_not_again_by_the_sensor(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "hooks_fail")
    home, log = tmp_path / "home", tmp_path / "dagster.jsonl"
    result = _launch(project, home, log, "--job", "failing", check=False)
    assert result.returncode != 0
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    records = _records(log)
    assert [r["error_class"] for r in records if r["hook"] == "on_node_error"] == ["ValueError"]
    # Called once by the failed step itself (no daemon needed), then skipped by the sensor.
    assert len([r for r in records if r["hook"] == "on_pipeline_error"]) == 1

    out = run(
        [sys.executable, "-c", FAILURE_SENSOR_SCRIPT, str(project)],
        cwd=project,
        env=subprocess_env(home, HOOK_LOG=str(log)),
    )
    assert "SENSOR_EVALUATED" in out.stdout
    (call,) = [r for r in _records(log) if r["hook"] == "on_pipeline_error"]
    assert call["error_class"] == "ValueError"
    assert call["message"] == "boom 42"
    assert call["run_id"] == failed.run_id
    assert call["nodes"] == 2  # the failed job's pipeline


def test_materializing_assets_calls_node_and_dataset_hooks(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "hooks_assets")
    log = tmp_path / "dagster.jsonl"
    _launch(project, tmp_path / "home", log, "--assets", "summary")
    calls = _calls(_records(log))
    # `summary` reads the MemoryDataset `table`: its producer is recomputed, with hooks.
    assert calls[("before_node_run", "make_table", None)] == 1
    assert calls[("before_node_run", "summarise", None)] == 1
    assert calls[("before_dataset_loaded", "make_table", "raw")] == 1
    assert calls[("before_dataset_saved", "summarise", "summary")] == 1
    assert (project / "data/summary.csv").exists()
