"""The ``parallel`` executor: steps in a pool of warm worker processes, as under multiprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    BIN,
    EXAMPLE,
    KEDRO,
    assert_parity,
    copy_project,
    dagster_launch,
    kedro_run,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import make_project
from test_hooks import RECORDER, _calls, _records

POOL = {"pool": {"parallel": {"max_workers": 2}}}

EXTRA_NODES = """
import os
import signal
from pathlib import Path


def explode(table):
    raise ValueError("planned explosion 42")


def flaky(table):
    # Fails on its first attempt only: the attempts are counted in a file.
    attempts = Path("data/flaky_attempts")
    count = int(attempts.read_text()) if attempts.exists() else 0
    attempts.write_text(str(count + 1))
    if count == 0:
        raise RuntimeError("flaky first attempt")
    return table


def die(table):
    os.kill(os.getpid(), signal.SIGKILL)


def shout(table):
    import sys

    print("shouted on stdout 314")
    print("shouted on stderr 271", file=sys.stderr)
    return table
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.extra import die, explode, flaky, shout
from {package}.nodes import make_table, summarise


def register_pipelines():
    first = node(make_table, ["raw", "params:factor"], "table", name="make_table")
    return {{
        "__default__": Pipeline([first, node(summarise, "table", "summary", name="summarise")]),
        "failing": Pipeline([
            first,
            node(explode, "table", "boom", name="explode"),
            node(summarise, "boom", "summary", name="after_explode"),
        ]),
        "flaky": Pipeline([first, node(flaky, "table", "flaky_out", name="flaky")]),
        "shout": Pipeline([first, node(shout, "table", "shouted", name="shout")]),
        "crash": Pipeline([
            first,
            node(die, "table", "dead", name="die"),
            node(summarise, "dead", "summary", name="after_die"),
        ]),
    }}
"""

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    "flaky_out": {"type": "pandas.CSVDataset", "filepath": "data/flaky_out.csv"},
}


def _project(root: Path, package: str) -> Path:
    project = make_project(root, package, catalog=CATALOG, registry=REGISTRY)
    (project / "src" / package / "extra.py").write_text(EXTRA_NODES)
    (project / "src" / package / "hooks.py").write_text(RECORDER)
    (project / "src" / package / "settings.py").write_text(
        f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    retrying = {"parallel": {"max_workers": 2, "retry_policy": {"max_retries": 2}}}
    write_dagster_yml(
        project,
        {
            "executors": {
                **POOL,
                "retrying": retrying,
                "forked": {"parallel": {"max_workers": 2, "start_method": "fork"}},
            },
            "jobs": {
                "default": {"pipeline": {"pipeline_name": "__default__"}, "executor": "pool"},
                "default_forked": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "forked",
                },
                "failing": {"pipeline": {"pipeline_name": "failing"}, "executor": "pool"},
                "flaky": {"pipeline": {"pipeline_name": "flaky"}, "executor": "retrying"},
                "crash": {"pipeline": {"pipeline_name": "crash"}, "executor": "pool"},
                "shout": {"pipeline": {"pipeline_name": "shout"}, "executor": "pool"},
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _launch(project: Path, home: Path, job: str, **env: str) -> subprocess.CompletedProcess[str]:
    env.setdefault("HOOK_LOG", str(home.parent / "hooks.jsonl"))
    return subprocess.run(
        [KEDRO, "dagster", "launch", "--job", job],
        cwd=project,
        env=subprocess_env(home, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _events(home: Path, run_id: str) -> list[Any]:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        return list(instance.all_logs(run_id))


def _steps(entries: list[Any], event_type: str) -> Counter:
    return Counter(
        e.step_key
        for e in entries
        if e.dagster_event is not None and e.dagster_event.event_type_value == event_type
    )


def _error_text(entry: Any) -> str:
    error, parts = entry.dagster_event.event_specific_data.error, []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)


@pytest.mark.timeout(900)
def test_example_parity_events_and_logs(tmp_path: Path) -> None:
    kedro_side = copy_project(EXAMPLE, tmp_path / "kedro")
    dagster_side = copy_project(EXAMPLE, tmp_path / "dagster")
    write_dagster_yml(
        dagster_side,
        {
            "executors": POOL,
            "jobs": {"parity": {"pipeline": {"pipeline_name": "__default__"}, "executor": "pool"}},
        },
    )
    kedro_run(kedro_side)
    home = tmp_path / "home"
    result = dagster_launch(dagster_side, "parity", home)
    expected = persisted_outputs(kedro_side)
    assert expected
    run_id = assert_parity(expected, dagster_side, home, "parity")

    entries = _events(home, run_id)
    started, succeeded = _steps(entries, "STEP_START"), _steps(entries, "STEP_SUCCESS")
    # Every op once, each started and succeeded once: 12 nodes and the two pipeline-hook ops.
    assert len(started) == 14 and set(started.values()) == {1}
    assert succeeded == started
    # Steps ran in at most two worker processes, other than the run's own process.
    run_pid = {
        e.dagster_event.pid
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "RUN_START"
    }
    step_pids = {
        e.dagster_event.pid
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
    }
    assert 1 <= len(step_pids) <= 2 and not step_pids & run_pid
    # Node logs are in the event log, under their step.
    logs = [(e.step_key, e.user_message) for e in entries if e.dagster_event is None]
    assert any(
        key == "data_science__train_model_node" and "Fitted a linear model on" in text
        for key, text in logs
    ), logs[:20]
    assert "warm worker process(es) of the parallel executor" in result.stderr


@pytest.fixture(scope="module")
def pool_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _project(tmp_path_factory.mktemp("pool") / "p", "pool_probe")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("job", ["default", "default_forked"])
def test_process_hooks_once_per_worker_and_run(
    pool_project: Path, tmp_path: Path, job: str
) -> None:
    kedro_log, log = tmp_path / "kedro.jsonl", tmp_path / "dagster.jsonl"
    run([KEDRO, "run"], cwd=pool_project, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    result = _launch(pool_project, tmp_path / "home", job, HOOK_LOG=str(log))
    assert result.returncode == 0, result.stderr[-4000:]

    records = _records(log)
    process_hooks = ("after_context_created", "after_catalog_created")
    per_run = [r for r in records if r["hook"] not in process_hooks]
    assert _calls(per_run) == _calls(
        [r for r in _records(kedro_log) if r["hook"] not in process_hooks]
    )
    # 4 steps (2 nodes, 2 pipeline-hook ops) in 2 workers: each worker that ran steps was
    # prepared once for the run, not once per step.
    step_pids = {r["pid"] for r in per_run}
    for hook in process_hooks:
        pids = [r["pid"] for r in records if r["hook"] == hook]
        assert sorted(pids) == sorted(step_pids), (hook, pids, step_pids)
    assert len(
        [
            r
            for r in per_run
            if r["hook"] in ("before_node_run", "before_pipeline_run", "after_pipeline_run")
        ]
    ) > len(step_pids)


@pytest.mark.timeout(600)
def test_failing_node_fails_its_step_and_skips_downstream(
    pool_project: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    result = _launch(pool_project, home, "failing")
    assert result.returncode != 0
    assert "planned explosion 42" in result.stderr
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    entries = _events(home, failed.run_id)
    assert _steps(entries, "STEP_FAILURE") == Counter({"explode": 1})
    (failure,) = [
        e for e in entries if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
    ]
    assert "planned explosion 42" in _error_text(failure)
    assert "after_explode" not in _steps(entries, "STEP_START")
    assert "make_table" in _steps(entries, "STEP_SUCCESS")


@pytest.mark.timeout(600)
def test_retry_policy_retries_in_the_pool(pool_project: Path, tmp_path: Path) -> None:
    (pool_project / "data" / "flaky_attempts").unlink(missing_ok=True)
    home = tmp_path / "home"
    log = tmp_path / "hooks.jsonl"
    result = _launch(pool_project, home, "flaky", HOOK_LOG=str(log))
    assert result.returncode == 0, result.stderr[-4000:]
    (done,) = runs_in(home)
    # The failed attempt called on_node_error, not on_pipeline_error: the run succeeded.
    hooks = [r["hook"] for r in _records(log)]
    assert "on_node_error" in hooks and "on_pipeline_error" not in hooks, hooks
    assert "kedro/on_pipeline_error" not in done.tags
    entries = _events(home, done.run_id)
    assert _steps(entries, "STEP_UP_FOR_RETRY") == Counter({"flaky": 1})
    assert _steps(entries, "STEP_RESTARTED") == Counter({"flaky": 1})
    assert _steps(entries, "STEP_SUCCESS")["flaky"] == 1
    assert (pool_project / "data" / "flaky_attempts").read_text() == "2"
    assert (pool_project / "data" / "flaky_out.csv").is_file()


@pytest.mark.timeout(600)
def test_killed_worker_fails_its_step_and_the_run_ends(pool_project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = _launch(pool_project, home, "crash")
    assert result.returncode != 0
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    entries = _events(home, failed.run_id)
    assert _steps(entries, "STEP_FAILURE") == Counter({"die": 1})
    (failure,) = [
        e for e in entries if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
    ]
    text = _error_text(failure)
    assert "running step die was terminated by signal 9 (SIGKILL)" in text, text
    assert "Exit code: -9" in text
    assert "terminated by signal 9 (SIGKILL)" in result.stderr
    assert "after_die" not in _steps(entries, "STEP_START")


@pytest.mark.timeout(600)
def test_step_output_is_captured_per_step_and_shown(pool_project: Path, tmp_path: Path) -> None:
    from dagster import DagsterInstance

    home = tmp_path / "home"
    result = _launch(pool_project, home, "shout")
    assert result.returncode == 0, result.stderr[-4000:]
    # Shown on the launch's own streams while the step runs (mirrored from its capture)...
    assert "shouted on stdout 314" in result.stdout
    assert "shouted on stderr 271" in result.stderr
    # ...and captured in the step's own compute logs, as the UI shows them.
    (done,) = runs_in(home)
    entries = _events(home, done.run_id)
    # One capture per step (a worker captures each of its steps on its own).
    captures = {
        key: e.dagster_event.event_specific_data
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "LOGS_CAPTURED"
        for key in e.dagster_event.event_specific_data.step_keys
    }
    assert set(captures) == {"make_table", "shout", "before_pipeline_run", "after_pipeline_run"}
    with DagsterInstance.from_config(str(home)) as instance:
        manager = instance.compute_log_manager
        data = {}
        for key, capture in captures.items():
            log_key = manager.build_log_key_for_run(done.run_id, capture.file_key)
            assert manager.is_capture_complete(log_key), key
            data[key] = manager.get_log_data(log_key)
    assert b"shouted on stdout 314" in (data["shout"].stdout or b"")
    assert b"shouted on stderr 271" in (data["shout"].stderr or b"")
    assert b"shouted" not in (data["make_table"].stdout or b"")


TWO_RUNS = """
import os
import sys
from pathlib import Path

import pandas as pd
from dagster import DagsterInstance, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

source = os.path.abspath("src")
sys.path.insert(0, source)
repository = ReconstructableRepository.for_module("envs.definitions", "defs", source)
job = repository.get_reconstructable_job("default")
with DagsterInstance.get() as instance:
    for factor in ("2.0", "3.0"):
        Path("conf/base/parameters.yml").write_text(f"factor: {factor}\\n")
        assert execute_job(job, instance=instance).success
        summary = pd.read_csv("data/summary.csv").set_index("index")
        print("SCALED", factor, summary.loc["mean", "scaled"])
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "options",
    [
        {"start_method": "forkserver", "preload_project": True},
        {"start_method": "forkserver", "preload_project": False},
        {"start_method": "fork"},
    ],
    ids=["forkserver-preloaded", "forkserver", "fork"],
)
def test_a_later_run_in_the_same_process_loads_the_project_again(
    tmp_path: Path, options: dict[str, object]
) -> None:
    # Two runs in one process, the parameters edited in between: the second run's workers
    # use the edited configuration (a forkserver is the run's own, started with that run; a
    # forked worker copies the run's process, which loaded the edited definitions).
    project = make_project(tmp_path / "p", "envs")
    executor = {"parallel": {"max_workers": 2, **options}}
    write_dagster_yml(
        project,
        {
            "executors": {"pool": executor},
            "jobs": {"default": {"pipeline": {"pipeline_name": "__default__"}, "executor": "pool"}},
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    result = run(
        [sys.executable, "-c", TWO_RUNS],
        cwd=project,
        env=subprocess_env(tmp_path / "home", PYTHONPATH=str(project / "src")),
    )
    scaled = dict(
        line.split()[1:] for line in result.stdout.splitlines() if line.startswith("SCALED")
    )
    assert float(scaled["2.0"]) == pytest.approx(4.0), result.stdout
    assert float(scaled["3.0"]) == pytest.approx(6.0), result.stdout


DEFAULT_RUN_COORDINATOR = """
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""


@pytest.mark.timeout(600)
def test_a_run_launched_by_the_run_launcher_forks_its_workers(
    pool_project: Path, tmp_path: Path
) -> None:
    # The UI's way: Dagster's run launcher asks a code server, which spawns the run's process.
    # The workers still start as Kedro's ParallelRunner's (Python's default, not `spawn`, the
    # default context of that spawned process).
    import time

    from dagster import DagsterInstance

    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DEFAULT_RUN_COORDINATOR)
    run(
        [str(BIN / "dagster"), "job", "launch", "-m", "pool_probe.definitions", "-j", "default"],
        cwd=pool_project,
        env=subprocess_env(
            home, PYTHONPATH=str(pool_project / "src"), HOOK_LOG=str(tmp_path / "hooks.jsonl")
        ),
    )
    deadline = time.monotonic() + 300
    with DagsterInstance.from_config(str(home)) as instance:
        while True:
            (dagster_run,) = instance.get_runs()
            if dagster_run.is_finished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        entries = list(instance.all_logs(dagster_run.run_id))
    assert dagster_run.status.value == "SUCCESS", [e.user_message for e in entries][-20:]
    expected = "fork" if sys.platform == "linux" and sys.version_info < (3, 14) else None
    messages = [e.user_message for e in entries if e.dagster_event is not None]
    if expected is not None:
        assert any(f"start method {expected} (as Kedro's ParallelRunner)" in m for m in messages), (
            messages
        )
    assert set(_steps(entries, "STEP_SUCCESS")) >= {"make_table", "summarise"}


@pytest.mark.timeout(600)
def test_a_worker_reads_the_stored_run_once_not_per_step(tmp_path: Path) -> None:
    from counting_run_storage import LOG_VAR, instance_yaml

    project = copy_project(EXAMPLE, tmp_path / "project")
    write_dagster_yml(
        project,
        {
            "executors": POOL,
            "jobs": {"pooled": {"pipeline": {"pipeline_name": "__default__"}, "executor": "pool"}},
        },
    )
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml(str(home / "history")))
    reads = tmp_path / "run_reads.txt"
    tests_dir = str(Path(__file__).parent)
    env = subprocess_env(home, **{LOG_VAR: str(reads)})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [tests_dir, env.get("PYTHONPATH")]))
    run([KEDRO, "dagster", "launch", "--job", "pooled"], cwd=project, env=env)

    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    started = _steps(_events(home, dagster_run.run_id), "STEP_START")
    assert sum(started.values()) == 14  # 12 nodes, 2 pipeline-hook ops, over 2 workers
    by_worker = Counter(
        line.split()[0]
        for line in reads.read_text().splitlines()
        if line.startswith("kedro-dagster-worker-")
    )
    # Each worker reads the run once, to create its run context, then keeps it: without
    # MLflow nothing asks for tags added later (before, every step read it again).
    assert by_worker and set(by_worker.values()) == {1}, by_worker
