"""MLflow through kedro-mlflow: one MLflow run per Dagster run, in tags, logs and metadata.

kedro-mlflow registers its hook in every Kedro project of its environment, so these tests run
the projects with `.venv-mlflow` (built by `scripts/setup` with the `mlflow` extra), never with
the main `.venv`. Stores are real: a SQLite MLflow tracking store and a SQLite Dagster instance
in `tmp_path`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from compat import RESOLVE_SOURCE
from conftest import (
    FAILURE_SENSOR_SCRIPT,
    IN_CI,
    REEXECUTION_SCRIPT,
    REPO,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import make_project
from test_schedules_daemon import _init_instance

MLFLOW_VENV = Path(os.environ.get("KEDRO_DAGSTER_MLFLOW_VENV", REPO / ".venv-mlflow"))
MLFLOW_BIN = MLFLOW_VENV / "bin"
MLFLOW_PYTHON = str(MLFLOW_BIN / "python")
MLFLOW_KEDRO = str(MLFLOW_BIN / "kedro")

# In CI (CI=true) the tests run anyway and fail: scripts/setup must have built the venv.
needs_mlflow = pytest.mark.skipif(
    not IN_CI and not (MLFLOW_BIN / "kedro").exists(),
    reason=f"no {MLFLOW_VENV}: scripts/setup builds it (uv sync --extra mlflow)",
)
pytestmark = pytest.mark.timeout(600)

REGISTRY = """
from pathlib import Path

from kedro.pipeline import Pipeline, node
from {package}.nodes import make_table, summarise

PROJECT = Path(__file__).resolve().parents[2]


def score(table):
    import mlflow

    mlflow.log_metric("row_count", float(len(table)))
    return table.describe().reset_index()


def explode(table):
    raise ValueError("boom")


def flaky(table):
    import mlflow

    # Fails while the project holds no FAILED_ONCE file (it writes it): a retry passes.
    if not (PROJECT / "FAILED_ONCE").exists():
        (PROJECT / "FAILED_ONCE").write_text("")
        mlflow.log_metric("failed_attempt", 1.0)
        raise ValueError("first attempt fails")
    mlflow.log_metric("good_attempt", 1.0)
    return table


def count_raw(raw):
    import mlflow

    mlflow.log_metric("raw_rows", float(len(raw)))
    return raw.describe().reset_index()


def register_pipelines():
    tracked = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(score, "table", "summary", name="score"),
    ])
    # Tracking disabled in mlflow.yml: kedro-mlflow logs no parameters, starts no run.
    untracked = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "described", name="summarise"),
    ])
    failing = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(explode, "table", "boom_out", name="explode"),
    ])
    flaky_pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(flaky, "table", "flaky_out", name="flaky"),
    ])
    # Independent of `tracked`: its asset runs at the same time as `table` in an asset run.
    side = Pipeline([node(count_raw, "raw", "raw_stats", name="count_raw")])
    return {{
        "__default__": tracked,
        "untracked": untracked,
        "failing": failing,
        "side": side,
        "flaky": flaky_pipeline,
    }}
"""

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    "raw_stats": {"type": "pandas.CSVDataset", "filepath": "data/raw_stats.csv"},
    "boom_out": {"type": "pandas.CSVDataset", "filepath": "data/boom_out.csv"},
    "flaky_out": {"type": "pandas.CSVDataset", "filepath": "data/flaky_out.csv"},
}

UI_PORT = "5055"

# Every MLflow run of the store, as JSON (run in .venv-mlflow: mlflow is not in .venv).
LIST_RUNS = """
import json, sys
from mlflow import MlflowClient

client = MlflowClient(sys.argv[1])
runs = []
for experiment in client.search_experiments():
    for r in client.search_runs([experiment.experiment_id]):
        runs.append({
            "run_id": r.info.run_id,
            "experiment_id": r.info.experiment_id,
            "experiment": experiment.name,
            "status": r.info.status,
            "metrics": r.data.metrics,
            "params": r.data.params,
            "tags": r.data.tags,
        })
print("RUNS " + json.dumps(runs))
"""


def _project(root: Path, package: str, catalog: dict = CATALOG) -> tuple[Path, str]:
    project = make_project(
        root / "project", package, catalog=catalog, registry=REGISTRY, parameters={"factor": 3}
    )
    tracking_uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
    (project / "conf/base/mlflow.yml").write_text(
        yaml.safe_dump(
            {
                "server": {"mlflow_tracking_uri": tracking_uri},
                "tracking": {
                    "experiment": {"name": f"{package}_experiment"},
                    "disable_tracking": {"pipelines": ["untracked"]},
                },
                "ui": {"port": UI_PORT},
            }
        )
    )
    pipeline = {"pipeline": {"pipeline_name": "__default__"}}
    write_dagster_yml(
        project,
        {
            "executors": {
                "parallel": {"multiprocess": {"max_concurrent": 2}},
                "pool": {"parallel": {"max_workers": 2}},
            },
            "jobs": {
                "tracked_inproc": pipeline,
                "tracked_mp": {**pipeline, "executor": "parallel"},
                "tracked_pool": {**pipeline, "executor": "pool"},
                "untracked_mp": {
                    "pipeline": {"pipeline_name": "untracked"},
                    "executor": "parallel",
                },
                "failing_mp": {"pipeline": {"pipeline_name": "failing"}, "executor": "parallel"},
                "side": {"pipeline": {"pipeline_name": "side"}},
                "flaky_inproc": {"pipeline": {"pipeline_name": "flaky"}},
                "flaky_mp": {"pipeline": {"pipeline_name": "flaky"}, "executor": "parallel"},
            },
        },
    )
    run([MLFLOW_KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project, tracking_uri


def _launch(project: Path, home: Path, job: str, check: bool = True):
    cmd = [MLFLOW_KEDRO, "dagster", "launch", "--job", job]
    if check:
        return run(cmd, cwd=project, env=subprocess_env(home))
    return subprocess.run(
        cmd, cwd=project, env=subprocess_env(home), capture_output=True, text=True, timeout=600
    )


def _mlflow_runs(tracking_uri: str, cwd: Path) -> list[dict]:
    out = run([MLFLOW_PYTHON, "-c", LIST_RUNS, tracking_uri], cwd=cwd, env=subprocess_env())
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RUNS "))
    return json.loads(line.removeprefix("RUNS "))


def _run_logs(home: Path, run_id: str) -> tuple[list[str], list[dict]]:
    """The run's log messages and the metadata of its materializations."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id)
    messages = [e.user_message for e in entries if e.user_message]
    metadata = []
    for entry in entries:
        event = entry.dagster_event
        if event is not None and event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            raw = event.event_specific_data.materialization.metadata
            metadata.append({key: value.value for key, value in raw.items()})
    return messages, metadata


def _assert_one_tracked_run(
    project: Path, root: Path, tracking_uri: str, job: str, package: str
) -> None:
    home = root / "home"
    _launch(project, home, job)
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"

    (mlflow_run,) = _mlflow_runs(tracking_uri, root)  # one MLflow run, not one per step
    run_id, experiment_id = mlflow_run["run_id"], mlflow_run["experiment_id"]
    assert mlflow_run["experiment"] == f"{package}_experiment"
    assert mlflow_run["status"] == "FINISHED"
    assert mlflow_run["metrics"] == {"row_count": 3.0}  # logged by a node
    assert mlflow_run["params"] == {"factor": "3"}  # logged by kedro-mlflow's before_node_run
    assert mlflow_run["tags"]["kedro_command"].startswith("kedro run")

    url = f"http://127.0.0.1:{UI_PORT}/#/experiments/{experiment_id}/runs/{run_id}"
    tags = dagster_run.tags
    assert tags["mlflow/run_id"] == run_id
    assert tags["mlflow/experiment_id"] == experiment_id
    assert tags["mlflow/tracking_uri"] == tracking_uri
    assert tags["mlflow/run_url"] == url

    messages, materializations = _run_logs(home, dagster_run.run_id)
    assert [m for m in messages if run_id in m and url in m], messages
    assert {m["kedro/dataset"] for m in materializations} == {"table", "summary"}
    for metadata in materializations:
        assert metadata["mlflow/run_id"] == run_id
        assert metadata["mlflow/experiment_id"] == experiment_id
        assert metadata["mlflow/tracking_uri"] == tracking_uri
        assert metadata["mlflow/run_url"] == url
    # Nothing was tracked anywhere else (MLflow's default store is ./mlflow.db or ./mlruns).
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()


@needs_mlflow
def test_in_process_run_tracks_into_one_mlflow_run(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_inproc")
    _assert_one_tracked_run(project, tmp_path, tracking_uri, "tracked_inproc", "mlflow_inproc")


@needs_mlflow
def test_multiprocess_run_tracks_into_one_mlflow_run(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_mp")
    _assert_one_tracked_run(project, tmp_path, tracking_uri, "tracked_mp", "mlflow_mp")


@needs_mlflow
def test_pool_run_tracks_into_one_mlflow_run(tmp_path: Path) -> None:
    # Warm workers keep their run context between steps: each joins the MLflow run the start
    # op recorded (a run tag added after the workers started) before its first node.
    project, tracking_uri = _project(tmp_path, "mlflow_pool")
    _assert_one_tracked_run(project, tmp_path, tracking_uri, "tracked_pool", "mlflow_pool")


@needs_mlflow
def test_disabled_pipeline_tracks_nothing_under_multiprocess(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_off")
    home = tmp_path / "home"
    _launch(project, home, "untracked_mp")
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert dagster_run.tags["mlflow/tracking"] == "disabled"
    assert "mlflow/run_id" not in dagster_run.tags
    assert _mlflow_runs(tracking_uri, tmp_path) == []
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()


@needs_mlflow
def test_failed_run_is_marked_failed_by_the_failure_sensor(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_fail")
    home = tmp_path / "home"
    result = _launch(project, home, "failing_mp", check=False)
    assert result.returncode != 0
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)
    assert failed.tags["mlflow/run_id"] == mlflow_run["run_id"]
    assert mlflow_run["params"] == {"factor": "3"}

    out = run(
        [MLFLOW_PYTHON, "-c", FAILURE_SENSOR_SCRIPT, str(project)],
        cwd=project,
        env=subprocess_env(home),
    )
    assert "SENSOR_EVALUATED" in out.stdout
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)  # still one run, now FAILED
    assert mlflow_run["status"] == "FAILED"


IN_PROCESS = json.dumps({"execution": {"config": {"in_process": {}}}})


def _launch_assets(project: Path, home: Path, assets: str, *args: str):
    cmd = [MLFLOW_KEDRO, "dagster", "launch", "--assets", assets, *args]
    return subprocess.run(
        cmd, cwd=project, env=subprocess_env(home), capture_output=True, text=True, timeout=600
    )


@needs_mlflow
@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_asset_run_tracks_into_one_mlflow_run(tmp_path: Path, executor: str) -> None:
    """Materializing assets (no job, so no start op) still gives one MLflow run per Dagster run.

    `table` and `raw_stats` are independent (they run at the same time under multiprocess);
    `summary` reads `table`. Each step logs a metric of its own into the same MLflow run.
    """
    package = f"mlflow_assets_{executor}"
    project, tracking_uri = _project(tmp_path, package)
    home = tmp_path / "home"
    args = ["--config-json", IN_PROCESS] if executor == "in_process" else []
    result = _launch_assets(project, home, "table,summary,raw_stats", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"

    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)
    run_id, experiment_id = mlflow_run["run_id"], mlflow_run["experiment_id"]
    assert mlflow_run["experiment"] == f"{package}_experiment"
    assert mlflow_run["status"] == "FINISHED"
    assert mlflow_run["metrics"] == {"row_count": 3.0, "raw_rows": 3.0}  # from two steps
    assert mlflow_run["params"] == {"factor": "3"}

    url = f"http://127.0.0.1:{UI_PORT}/#/experiments/{experiment_id}/runs/{run_id}"
    assert dagster_run.tags["mlflow/run_id"] == run_id
    assert dagster_run.tags["mlflow/run_url"] == url
    messages, materializations = _run_logs(home, dagster_run.run_id)
    assert len([m for m in messages if run_id in m and url in m]) == 1, messages
    assert {m["kedro/dataset"] for m in materializations} == {"table", "summary", "raw_stats"}
    assert {m["mlflow/run_id"] for m in materializations} == {run_id}
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()


@needs_mlflow
def test_failed_asset_run_marks_its_mlflow_run_failed(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_assets_fail")
    home = tmp_path / "home"
    result = _launch_assets(project, home, "table,boom_out")
    assert result.returncode != 0
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)
    assert failed.tags["mlflow/run_id"] == mlflow_run["run_id"]
    assert mlflow_run["status"] == "FAILED"  # without the daemon's sensor: the step ended it


@needs_mlflow
def test_a_second_asset_run_gets_its_own_mlflow_run(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_assets_twice")
    home = tmp_path / "home"
    for _ in range(2):
        result = _launch_assets(project, home, "raw_stats")
        assert result.returncode == 0, result.stdout + result.stderr
    dagster_runs = runs_in(home)
    mlflow_runs = _mlflow_runs(tracking_uri, tmp_path)
    assert len(mlflow_runs) == 2 and {r["status"] for r in mlflow_runs} == {"FINISHED"}
    assert {r.tags["mlflow/run_id"] for r in dagster_runs} == {r["run_id"] for r in mlflow_runs}


LAZY = (
    RESOLVE_SOURCE
    + """
import sys
import kedro_dagster
import kedro_dagster.runtime.mlflow
from kedro_dagster import KedroProjectTranslator

resolve(KedroProjectTranslator(sys.argv[1]).to_definitions(), "all_job_defs")
print("MLFLOW_IMPORTED", "mlflow" in sys.modules, "kedro_mlflow" in sys.modules)
"""
)


@needs_mlflow
def test_loading_definitions_imports_no_mlflow(tmp_path: Path) -> None:
    """Even with kedro-mlflow installed and configured, the load world imports no MLflow."""
    project, _ = _project(tmp_path, "mlflow_lazy")
    out = run([MLFLOW_PYTHON, "-c", LAZY, str(project)], cwd=project, env=subprocess_env())
    assert "MLFLOW_IMPORTED False False" in out.stdout, out.stdout


def test_main_environment_has_no_mlflow() -> None:
    """The main .venv runs every other test without kedro-mlflow's hook in their projects."""
    code = "import importlib.util as u; print(u.find_spec('kedro_mlflow') is None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("sqlite:////tmp/mlflow.db", "http://127.0.0.1:5000/#/experiments/7/runs/abc"),
        ("file:///tmp/mlruns", "http://127.0.0.1:5000/#/experiments/7/runs/abc"),
        ("https://mlflow.example.com/", "https://mlflow.example.com/#/experiments/7/runs/abc"),
        ("http://user:pw@host:5001/mlflow", "http://host:5001/mlflow/#/experiments/7/runs/abc"),
        ("databricks", None),
    ],
)
def test_run_url(uri: str, url: str | None) -> None:
    from kedro_dagster.runtime.mlflow import run_url

    assert run_url(uri, "7", "abc") == url


def test_run_url_of_a_local_store_uses_the_ui_section_of_mlflow_yml() -> None:
    from types import SimpleNamespace

    from kedro_dagster.runtime.mlflow import run_url

    context = SimpleNamespace(
        mlflow=SimpleNamespace(ui=SimpleNamespace(host="0.0.0.0", port="8080"))
    )
    assert run_url("sqlite:///x.db", "1", "r") == "http://127.0.0.1:5000/#/experiments/1/runs/r"
    assert (
        run_url("sqlite:///x.db", "1", "r", context)
        == "http://127.0.0.1:8080/#/experiments/1/runs/r"
    )


def test_tracking_uri_password_is_masked() -> None:
    from kedro_dagster.runtime.mlflow import _mask_password

    assert _mask_password("postgresql://bob:secret@db:5432/ml") == "postgresql://bob:***@db:5432/ml"
    assert _mask_password("sqlite:////tmp/mlflow.db") == "sqlite:////tmp/mlflow.db"


def test_the_runtime_module_imports_no_mlflow() -> None:
    code = (
        "import sys, kedro_dagster.runtime.mlflow, kedro_dagster.runtime.io_managers, "
        "kedro_dagster.runtime.ops; print('mlflow' in sys.modules)"
    )
    python = MLFLOW_PYTHON if (MLFLOW_BIN / "python").exists() else sys.executable
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _reexecute_from_failure(project: Path, home: Path, job: str, package: str) -> None:
    """Re-execute the failed run of ``job`` from failure (Dagster's API: no parent tags)."""
    (failed,) = runs_in(home)
    assert failed.status.value == "FAILURE"
    out = run(
        [MLFLOW_PYTHON, "-c", REEXECUTION_SCRIPT, failed.run_id, job, package],
        cwd=project,
        env=subprocess_env(home, PYTHONPATH=str(project / "src")),
    )
    assert out.stdout.strip().endswith("True"), out.stdout[-2000:] + out.stderr[-2000:]


def _assert_continued(
    home: Path, tracking_uri: str, root: Path, metrics: dict, location: str | None = None
) -> None:
    """The re-execution continued its parent's MLflow run, now FINISHED, and links to it."""
    runs = runs_in(home)
    if location is not None:  # the runs of one code location
        runs = [r for r in runs if r.tags.get("dagster/code_location") == f"{location}.definitions"]
    second, first = runs
    assert second.parent_run_id == first.run_id and second.status.value == "SUCCESS"
    (mlflow_run,) = _mlflow_runs(tracking_uri, root)  # no run of its own, none on the fly
    run_id = mlflow_run["run_id"]
    assert mlflow_run["status"] == "FINISHED"
    assert mlflow_run["metrics"] == metrics  # both attempts
    assert mlflow_run["params"] == {"factor": "3"}
    assert first.tags["mlflow/run_id"] == second.tags["mlflow/run_id"] == run_id
    url = second.tags["mlflow/run_url"]
    messages, materializations = _run_logs(home, second.run_id)
    assert len([m for m in messages if run_id in m and url in m]) == 1, messages
    assert materializations and {m["mlflow/run_id"] for m in materializations} == {run_id}


@needs_mlflow
@pytest.mark.parametrize("job", ["flaky_inproc", "flaky_mp"])
def test_reexecution_from_failure_continues_the_parent_mlflow_run(tmp_path: Path, job: str) -> None:
    """Re-executing a failed job run from failure (no start op re-run) tracks into its run.

    Before: the re-executed node logged into a run MLflow started on the fly (experiment
    `Default`, no tag on the Dagster run), left `RUNNING` under multiprocess.
    """
    package = f"mlflow_{job}"
    project, tracking_uri = _project(tmp_path, package)
    home = tmp_path / "home"
    assert _launch(project, home, job, check=False).returncode != 0
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)
    assert mlflow_run["status"] == "FAILED"  # on_pipeline_error, in the failed step's process
    _reexecute_from_failure(project, home, job, package)
    _assert_continued(home, tracking_uri, tmp_path, {"failed_attempt": 1.0, "good_attempt": 1.0})


@needs_mlflow
@pytest.mark.parametrize("executor", ["multiprocess", "in_process"])
def test_asset_reexecution_from_failure_continues_the_parent_mlflow_run(
    tmp_path: Path, executor: str
) -> None:
    package = f"mlflow_assets_reexec_{executor}"
    project, tracking_uri = _project(tmp_path, package)
    home = tmp_path / "home"
    args = ["--config-json", IN_PROCESS] if executor == "in_process" else []
    assert _launch_assets(project, home, "table,flaky_out", *args).returncode != 0
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)
    assert mlflow_run["status"] == "FAILED"
    _reexecute_from_failure(project, home, "__ASSET_JOB", package)
    _assert_continued(home, tracking_uri, tmp_path, {"failed_attempt": 1.0, "good_attempt": 1.0})


# package -> (job, run tags) of runs retried by the daemon (`run_retries`), which copies the
# failed run's tags (its `mlflow/*` ones included) to the retry.
RETRIED = {
    "mlflow_retry_inproc": ("flaky_inproc", {}),
    "mlflow_retry_mp": ("flaky_mp", {"dagster/retry_strategy": "FROM_FAILURE"}),
    "mlflow_retry_all": ("flaky_mp", {"dagster/retry_strategy": "ALL_STEPS"}),
}


@needs_mlflow
def test_run_retried_by_the_daemon_continues_the_parent_mlflow_run(tmp_path: Path) -> None:
    """A retry from failure continues the MLflow run (FINISHED), and its logs link to it.

    Before: the retry's tags (copied by Dagster) pointed at the MLflow run, but no line of its
    logs did.
    """
    from test_distributed import _background
    from test_instance_features import FINISHED

    home = tmp_path / "home"
    home.mkdir()
    instance = {"telemetry": {"enabled": False}, "run_retries": {"enabled": True, "max_retries": 1}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    _init_instance(home)
    projects = {name: _project(tmp_path / name, name)[0] for name in RETRIED}
    workspace = tmp_path / "workspace.yaml"
    locations = [
        {"python_module": {"module_name": f"{name}.definitions", "working_directory": str(p)}}
        for name, p in projects.items()
    ]
    workspace.write_text(yaml.safe_dump({"load_from": locations}))
    env = subprocess_env(home)
    env["PYTHONPATH"] = os.pathsep.join(str(p / "src") for p in projects.values())
    env["PATH"] = os.pathsep.join((str(MLFLOW_BIN), env["PATH"]))
    daemon = [str(MLFLOW_BIN / "dagster-daemon"), "run", "-w", str(workspace)]
    with _background({"daemon": daemon}, tmp_path, env, tmp_path / "logs"):
        for name, (job, tags) in RETRIED.items():
            launch = [str(MLFLOW_BIN / "dagster"), "job", "launch", "-w", str(workspace)]
            launch += ["-l", f"{name}.definitions", "-j", job, "--tags", json.dumps(tags)]
            run(launch, tmp_path, env)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            time.sleep(1)
            runs = runs_in(home)
            if len(runs) == 2 * len(RETRIED) and all(r.status.value in FINISHED for r in runs):
                break
        else:
            raise AssertionError([(r.job_name, r.status.value) for r in runs_in(home)])
    for name, (_, tags) in RETRIED.items():
        root = tmp_path / name
        uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
        retry, first = [r for r in runs_in(home) if r.tags["mlflow/tracking_uri"] == uri]
        assert retry.parent_run_id == first.run_id and retry.status.value == "SUCCESS", name
        if tags.get("dagster/retry_strategy") == "ALL_STEPS":
            # The start op ran again: a new MLflow run, as a second `kedro run` would give.
            retried, failed = _mlflow_runs(uri, root)
            assert (failed["status"], failed["metrics"]) == ("FAILED", {"failed_attempt": 1.0})
            assert (retried["status"], retried["metrics"]) == ("FINISHED", {"good_attempt": 1.0})
            assert first.tags["mlflow/run_id"] == failed["run_id"]
            assert retry.tags["mlflow/run_id"] == retried["run_id"]
            assert retried["params"] == failed["params"] == {"factor": "3"}
            continue
        _assert_continued(home, uri, root, {"failed_attempt": 1.0, "good_attempt": 1.0}, name)


@needs_mlflow
@pytest.mark.parametrize("job", ["tracked_inproc", "tracked_mp"])
def test_two_runs_of_a_job_at_once_track_into_their_own_mlflow_runs(
    tmp_path: Path, job: str
) -> None:
    # `table` in memory: two runs reading and writing one CSV file at once would collide.
    catalog = {k: v for k, v in CATALOG.items() if k != "table"}
    package = f"mlflow_twice_{job}"
    project, tracking_uri = _project(tmp_path, package, catalog)
    home = tmp_path / "home"
    home.mkdir()
    # Both stores and the experiment exist: two processes creating them at once would collide,
    # under two `kedro run`s as well.
    _init_instance(home)
    create = (
        "import sys; from mlflow import MlflowClient; "
        "MlflowClient(sys.argv[1]).create_experiment(sys.argv[2])"
    )
    run(
        [MLFLOW_PYTHON, "-c", create, tracking_uri, f"{package}_experiment"],
        tmp_path,
        subprocess_env(),
    )
    launches = []
    for factor in (2, 5):  # each run's parameter shows in its MLflow run only
        config = {"resources": {"kedro_run": {"config": {"params": {"factor": factor}}}}}
        cmd = [MLFLOW_KEDRO, "dagster", "launch", "--job", job, "--config-json"]
        launches.append(
            subprocess.Popen(
                [*cmd, json.dumps(config)],
                cwd=project,
                env=subprocess_env(home),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=600)[0] for p in launches]
    assert [p.returncode for p in launches] == [0, 0], outputs
    mlflow_runs = {r["run_id"]: r for r in _mlflow_runs(tracking_uri, tmp_path)}
    dagster_runs = runs_in(home)
    assert len(mlflow_runs) == len(dagster_runs) == 2
    for dagster_run in dagster_runs:
        factor = dagster_run.run_config["resources"]["kedro_run"]["config"]["params"]["factor"]
        mlflow_run = mlflow_runs.pop(dagster_run.tags["mlflow/run_id"])
        assert mlflow_run["status"] == "FINISHED"
        assert mlflow_run["params"] == {"factor": str(factor)}
        assert mlflow_run["metrics"] == {"row_count": 3.0}
        assert mlflow_run["tags"]["run_id"] == dagster_run.run_id  # kedro-mlflow's run tag


@needs_mlflow
def test_reexecution_failing_again_leaves_the_mlflow_run_failed(tmp_path: Path) -> None:
    project, tracking_uri = _project(tmp_path, "mlflow_reexec_again")
    home = tmp_path / "home"
    assert _launch(project, home, "failing_mp", check=False).returncode != 0
    (failed,) = runs_in(home)
    out = run(
        [
            MLFLOW_PYTHON,
            "-c",
            REEXECUTION_SCRIPT,
            failed.run_id,
            "failing_mp",
            "mlflow_reexec_again",
        ],
        cwd=project,
        env=subprocess_env(home, PYTHONPATH=str(project / "src")),
    )
    assert out.stdout.strip().endswith("False"), out.stdout[-2000:] + out.stderr[-2000:]
    second, first = runs_in(home)
    assert second.parent_run_id == first.run_id and second.status.value == "FAILURE"
    (mlflow_run,) = _mlflow_runs(tracking_uri, tmp_path)  # no run of its own, none on the fly
    assert mlflow_run["status"] == "FAILED"  # on_pipeline_error of the re-execution
    assert second.tags["mlflow/run_id"] == first.tags["mlflow/run_id"] == mlflow_run["run_id"]
