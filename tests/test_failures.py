"""A failed run as under `kedro run`: `on_pipeline_error` exactly once, re-execution from failure.

Every test runs a real project through the real CLI (`kedro dagster launch`, `kedro dagster
dev`), counting hook calls with a project hook appending to a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import (
    FAILURE_SENSOR_SCRIPT,
    KEDRO,
    REEXECUTION_SCRIPT,
    kedro_run,
    persisted_outputs,
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


class Recorder:
    def _record(self, hook, **fields):
        with open(os.environ.get("HOOK_LOG", os.devnull), "a") as f:
            f.write(json.dumps({"hook": hook, "pid": os.getpid(), **fields}) + "\\n")

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._record(
            "after_pipeline_run",
            run_id=run_params["run_id"],
            run_result={name: type(value).__name__ for name, value in run_result.items()},
        )

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        self._record(
            "on_pipeline_error",
            run_id=run_params["run_id"],
            error_class=type(error).__name__,
            message=str(error),
            nodes=len(pipeline.nodes),
        )
"""

REGISTRY = """
from pathlib import Path

from kedro.pipeline import Pipeline, node

from {package}.nodes import identity, make_table, summarise

FAIL = Path(__file__).resolve().parents[2] / "FAIL"


def finish(table):
    if FAIL.exists():
        raise ValueError("planned failure")
    return table.assign(done=1)


def fail_a(raw):
    raise KeyError("a failed")


def fail_b(raw):
    raise KeyError("b failed")


def register_pipelines():
    default = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(finish, "table", "summary", name="finish"),
        node(summarise, "table", "stats", name="stats"),
    ])
    twofail = Pipeline([
        node(fail_a, "raw", "out_a", name="fail_a"),
        node(fail_b, "raw", "out_b", name="fail_b"),
    ])
    return {{"__default__": default, "twofail": twofail}}
"""

# `table` and `stats` are MemoryDatasets.
CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
}


def _project(root: Path, package: str, dagster: dict | None = None) -> Path:
    project = make_project(root, package, catalog=CATALOG, registry=REGISTRY)
    (project / "src" / package / "hooks.py").write_text(RECORDER)
    (project / "src" / package / "settings.py").write_text(
        f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    if dagster is not None:
        write_dagster_yml(project, dagster)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _records(log: Path, hook: str) -> list[dict]:
    if not log.exists():
        return []
    return [r for line in log.read_text().splitlines() if (r := json.loads(line))["hook"] == hook]


def _launch(project: Path, home: Path, log: Path, job: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, "dagster", "launch", "--job", job],
        cwd=project,
        env=subprocess_env(home, HOOK_LOG=str(log)),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _evaluate_sensor(project: Path, home: Path, log: Path) -> None:
    """Evaluate the `kedro_on_pipeline_error` sensor on the failed run, as the daemon does."""
    out = run(
        [sys.executable, "-c", FAILURE_SENSOR_SCRIPT, str(project)],
        cwd=project,
        env=subprocess_env(home, HOOK_LOG=str(log)),
    )
    assert "SENSOR_EVALUATED" in out.stdout


# ------------------------------------------------------------------ on_pipeline_error


def test_on_pipeline_error_once_for_a_launched_run_with_or_without_daemon(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "fail_launch")
    (project / "FAIL").write_text("")
    home, log = tmp_path / "home", tmp_path / "hooks.jsonl"
    kedro_log = tmp_path / "kedro.jsonl"
    failed = subprocess.run(
        [KEDRO, "run"],
        cwd=project,
        env=subprocess_env(HOOK_LOG=str(kedro_log)),
        text=True,
        capture_output=True,
    )
    assert failed.returncode != 0
    (expected,) = _records(kedro_log, "on_pipeline_error")

    result = _launch(project, home, log, "__default__")
    assert result.returncode != 0
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "FAILURE"
    # Without a daemon: the failed step called it, with the node's own exception.
    (call,) = _records(log, "on_pipeline_error")
    assert call["run_id"] == dagster_run.run_id
    assert (call["error_class"], call["message"]) == (expected["error_class"], expected["message"])
    assert call["nodes"] == expected["nodes"] == 3
    # With a daemon: its sensor sees the run already handled.
    _evaluate_sensor(project, home, log)
    assert len(_records(log, "on_pipeline_error")) == 1
    assert runs_in(home)[0].tags["kedro/on_pipeline_error"] == dagster_run.run_id


def test_on_pipeline_error_once_when_parallel_steps_fail(tmp_path: Path) -> None:
    project = _project(
        tmp_path / "p",
        "fail_parallel",
        {
            "executors": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
            "jobs": {"twofail": {"pipeline": {"pipeline_name": "twofail"}, "executor": "parallel"}},
        },
    )
    home, log = tmp_path / "home", tmp_path / "hooks.jsonl"
    assert _launch(project, home, log, "twofail").returncode != 0
    (dagster_run,) = runs_in(home)
    (call,) = _records(log, "on_pipeline_error")
    assert call["run_id"] == dagster_run.run_id
    assert call["error_class"] == "KeyError"
    _evaluate_sensor(project, home, log)
    assert len(_records(log, "on_pipeline_error")) == 1


LOCATION_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
  }
}
"""
SENSOR_TICKS = """
query($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { status timestamp } } }
  }
}
"""


@pytest.mark.timeout(900)
def test_on_pipeline_error_once_for_ui_and_scheduled_runs_under_the_daemon(
    tmp_path: Path, dagster_home: Path
) -> None:
    from dev_server import graphql, serve

    project = _project(
        tmp_path / "p",
        "fail_ui",
        {
            "schedules": {
                "every_minute": {"cron_schedule": "* * * * *", "default_status": "running"}
            },
            "jobs": {
                "failing": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "schedule": "every_minute",
                }
            },
        },
    )
    (project / "FAIL").write_text("")
    log = tmp_path / "hooks.jsonl"
    os.environ["HOOK_LOG"] = str(log)  # inherited by `kedro dagster dev`, its daemon and runs
    try:
        with serve(project, dagster_home, tmp_path / "dev.log") as url:
            data = graphql(url, LOCATION_QUERY)
            (entry,) = data["workspaceOrError"]["locationEntries"]
            repository = {
                "repositoryLocationName": entry["name"],
                "repositoryName": "__repository__",
            }
            selector = {**repository, "sensorName": "kedro_on_pipeline_error"}

            def ticks() -> list[float]:
                answer = graphql(url, SENSOR_TICKS, {"selector": selector})["sensorOrError"]
                assert answer["__typename"] == "Sensor", answer
                return [t["timestamp"] for t in answer["sensorState"]["ticks"]]

            def wait(condition, what: str, seconds: float = 240):
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    value = condition()
                    if value:
                        return value
                    time.sleep(2)
                raise AssertionError(
                    f"timed out waiting for {what}\n{(tmp_path / 'dev.log').read_text()[-4000:]}"
                )

            # The sensor has started (its first tick sets its cursor): it sees later failures.
            wait(ticks, "the sensor's first tick")
            launched = graphql(
                url,
                LAUNCH_RUN,
                {"params": {"selector": {**repository, "jobName": "failing"}, "runConfigData": {}}},
            )["launchRun"]
            assert launched["__typename"] == "LaunchRunSuccess", launched
            ui_run = launched["run"]["runId"]

            def failed_runs():
                runs = [r for r in runs_in(dagster_home) if r.status.value == "FAILURE"]
                scheduled = [r for r in runs if "dagster/schedule_name" in r.tags]
                return runs if any(r.run_id == ui_run for r in runs) and scheduled else None

            runs = wait(failed_runs, "the UI run and a scheduled run to fail")
            last_end = time.time()
            # The daemon's sensor evaluates runs that failed before its next tick.
            wait(
                lambda: [t for t in ticks() if t > last_end + 1], "a sensor tick after the failures"
            )
    finally:
        os.environ.pop("HOOK_LOG", None)
    calls = Counter(r["run_id"] for r in _records(log, "on_pipeline_error"))
    tags = {r.run_id: r.tags for r in runs_in(dagster_home)}
    for failed in runs:
        assert calls[failed.run_id] == 1, (failed.run_id, failed.tags, calls)
        # Called by the run itself (its failed step), not left to the daemon's sensor.
        assert tags[failed.run_id].get("kedro/on_pipeline_error") == failed.run_id


# ------------------------------------------------------------- re-execution from failure


def test_generated_in_process_job_reexecutes_from_failure(tmp_path: Path) -> None:
    expected_project = _project(tmp_path / "k", "reexec")
    kedro_run(expected_project)
    expected = persisted_outputs(expected_project)

    project = _project(tmp_path / "p", "reexec")  # no dagster.yml: in-process jobs
    (project / "FAIL").write_text("")
    home, log = tmp_path / "home", tmp_path / "hooks.jsonl"
    assert _launch(project, home, log, "__default__").returncode != 0
    (first,) = runs_in(home)
    assert first.status.value == "FAILURE"

    (project / "FAIL").unlink()
    result = run(
        [sys.executable, "-c", REEXECUTION_SCRIPT, first.run_id, "__default__", "reexec"],
        cwd=project,
        env=subprocess_env(home, PYTHONPATH=str(project / "src"), HOOK_LOG=str(log)),
    )
    assert result.stdout.strip().endswith("True"), result.stdout[-3000:] + result.stderr[-3000:]
    second = runs_in(home)[0]
    assert second.parent_run_id == first.run_id and second.status.value == "SUCCESS"
    assert persisted_outputs(project) == expected


# ------------------------------------------------------------------ after_pipeline_run


def test_after_pipeline_run_gets_the_run_result_of_kedro_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "result")
    kedro_log, log = tmp_path / "kedro.jsonl", tmp_path / "hooks.jsonl"
    run([KEDRO, "run"], cwd=project, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    (expected,) = _records(kedro_log, "after_pipeline_run")
    assert expected["run_result"] == {"summary": "CSVDataset", "stats": "MemoryDataset"}
    assert _launch(project, tmp_path / "home", log, "__default__").returncode == 0
    (call,) = _records(log, "after_pipeline_run")
    assert call["run_result"] == expected["run_result"]


# ---------------------------------------------------------------------------- versions

VERSIONED_CATALOG = {
    **CATALOG,
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv", "versioned": True},
}

# Two runs of one job created at the same instant (as a busy instance creates them: schedules,
# backfills, scripts), executed one after the other in this process.
SAME_MILLISECOND = """
import os
import sys

from dagster import DagsterInstance
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.utils import make_new_run_id

repository = ReconstructableRepository.for_module(
    sys.argv[1] + ".definitions", "defs", working_directory=os.getcwd()
)
job = repository.get_reconstructable_job("__default__")
with DagsterInstance.get() as instance:
    first = instance.create_run_for_job(job_def=job.get_definition())
    created = instance.get_run_record_by_id(first.run_id).create_timestamp
    second = first._replace(run_id=make_new_run_id())
    instance.run_storage.add_historical_run(second, run_creation_time=created)
    assert instance.get_run_record_by_id(second.run_id).create_timestamp == created
    for dagster_run in (first, second):
        result = execute_run(job, instance.get_run_by_id(dagster_run.run_id), instance)
        print("RUN", dagster_run.run_id, result.success)
"""


def test_runs_created_in_the_same_millisecond_save_distinct_versions(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "same_ms", catalog=VERSIONED_CATALOG, registry=REGISTRY)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    result = run(
        [sys.executable, "-c", SAME_MILLISECOND, "same_ms"],
        cwd=project,
        env=subprocess_env(home, PYTHONPATH=str(project / "src")),
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("RUN ")]
    assert [ln.split()[-1] for ln in lines] == ["True", "True"], result.stdout + result.stderr
    versions = sorted(p.name for p in (project / "data" / "summary.csv").iterdir())
    assert len(versions) == 2, versions
    from datetime import datetime

    for version in versions:  # Kedro's VERSION_FORMAT
        datetime.strptime(version, "%Y-%m-%dT%H.%M.%S.%fZ")


LOAD_VERSIONS_CATALOG = {
    **CATALOG,
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv", "versioned": True},
}
OLD, NEW = "2024-01-01T00.00.00.000Z", "2024-06-01T00.00.00.000Z"


def _versioned_raw(root: Path, package: str) -> Path:
    project = make_project(root, package, catalog=LOAD_VERSIONS_CATALOG, registry=REGISTRY)
    (project / "data" / "raw.csv").unlink()
    for version, values in ((OLD, "1\n2\n"), (NEW, "10\n20\n30\n")):
        folder = project / "data" / "raw.csv" / version
        folder.mkdir(parents=True)
        (folder / "raw.csv").write_text("value\n" + values)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project


def test_load_versions_in_run_config_act_as_kedro_run_load_versions(tmp_path: Path) -> None:
    expected_project = _versioned_raw(tmp_path / "k", "loadv")
    kedro_run(expected_project, "--load-versions", f"raw:{OLD}")
    expected = persisted_outputs(expected_project)
    assert b"2.0" in expected["summary.csv"] and b"60.0" not in expected["summary.csv"]

    project = _versioned_raw(tmp_path / "p", "loadv")
    config = {"resources": {"kedro_run": {"config": {"load_versions": {"raw": OLD}}}}}
    home = tmp_path / "home"
    run(
        [KEDRO, "dagster", "launch", "--job", "__default__", "--config-json", json.dumps(config)],
        cwd=project,
        env=subprocess_env(home),
    )
    assert persisted_outputs(project) == expected
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"


KILLED_REGISTRY = """
import os

from kedro.pipeline import Pipeline, node


def die(raw):
    os._exit(3)  # the step's process dies: no Kedro or Dagster code runs after this


def register_pipelines():
    return {{"__default__": Pipeline([node(die, "raw", "out", name="die")])}}
"""


def test_sensor_calls_on_pipeline_error_for_a_run_whose_step_process_died(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "killed", catalog=CATALOG, registry=KILLED_REGISTRY)
    (project / "src" / "killed" / "hooks.py").write_text(RECORDER)
    (project / "src" / "killed" / "settings.py").write_text(
        "from killed.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    write_dagster_yml(
        project,
        {
            "executors": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
            "jobs": {
                "dies": {"pipeline": {"pipeline_name": "__default__"}, "executor": "parallel"}
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home, log = tmp_path / "home", tmp_path / "hooks.jsonl"
    assert _launch(project, home, log, "dies").returncode != 0
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "FAILURE"
    assert not _records(log, "on_pipeline_error")  # nothing in the run could call it
    _evaluate_sensor(project, home, log)
    (call,) = _records(log, "on_pipeline_error")
    assert call["run_id"] == dagster_run.run_id
