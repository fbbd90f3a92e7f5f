"""Kedro-dagster jobs under the Dagster instance features of a production ``dagster.yaml``.

Real projects run by the real daemon (``dagster-daemon run`` on a workspace of one code
location per project copy), their runs submitted with ``dagster job launch`` to the queued run
coordinator, as the UI and schedules submit them:

- run retries (``run_retries`` in ``dagster.yaml``, the ``dagster/retry_strategy`` tag): a node
  failing on the first run only is retried into a successful run writing `kedro run`'s files,
  under ``in_process``, ``multiprocess`` and ``pool``; ``on_pipeline_error`` is called once for
  each failed run, a retry that fails again included;
- the run queue (``max_concurrent_runs``, ``tag_concurrency_limits``) with two runs of one job
  submitted at once: both succeed with `kedro run`'s files, each with its own MemoryDatasets.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterInstance

from conftest import BIN, EXECUTORS, KEDRO, persisted_outputs, run, runs_in, subprocess_env
from kedro_factory import make_project
from test_distributed import _background, _tails, _worker_env
from test_failures import RECORDER, _records
from test_schedules_daemon import _failures, _init_instance

#: A node failing while its project holds no ``FAILED_ONCE`` file (it writes it), or always
#: while the project holds ``ALWAYS_FAIL``; ``stats`` is a MemoryDataset read by no node.
REGISTRY = """
from pathlib import Path

from kedro.pipeline import Pipeline, node

from {package}.nodes import make_table, summarise

PROJECT = Path(__file__).resolve().parents[2]


def finish(table):
    if (PROJECT / "ALWAYS_FAIL").exists():
        raise ValueError("always fails")
    if not (PROJECT / "FAILED_ONCE").exists():
        (PROJECT / "FAILED_ONCE").write_text("")
        raise ValueError("first attempt fails")
    return table.assign(done=1)


def register_pipelines():
    return {{"__default__": Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(finish, "table", "summary", name="finish"),
        node(summarise, "table", "stats", name="stats"),
        node(summarise, "summary", "report", name="report"),
    ])}}
"""

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    "report": {"type": "pandas.CSVDataset", "filepath": "data/report.csv"},
}

#: One job per executor kind of the parity tests, named after it.
DAGSTER_YML: dict[str, Any] = {
    "executors": {k: v for config in EXECUTORS.values() for k, v in config.items()},
    "jobs": {
        kind: {"pipeline": {"pipeline_name": "__default__"}, "executor": next(iter(config))}
        for kind, config in EXECUTORS.items()
    },
}

FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def _project(root: Path, package: str, catalog: dict[str, Any] = CATALOG) -> Path:
    project = make_project(root, package, catalog=catalog, registry=REGISTRY, dagster=DAGSTER_YML)
    (project / "src" / package / "hooks.py").write_text(RECORDER)
    (project / "src" / package / "settings.py").write_text(
        f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder(),)\n"
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _kedro_outputs(root: Path) -> dict:
    """The files `kedro run` writes (its node passing at once)."""
    project = _project(root, "kedro_side")
    (project / "FAILED_ONCE").write_text("")
    run([KEDRO, "run"], cwd=project, env=subprocess_env())
    return persisted_outputs(project)


class Deployment:
    """A DAGSTER_HOME with ``instance`` as its dagster.yaml and one code location per project.

    Each project is its own package (``-m <package>.definitions`` in one process would import
    one of them only), named after its code location.
    """

    def __init__(
        self,
        root: Path,
        instance: dict[str, Any],
        packages: list[str],
        catalog: dict[str, Any] = CATALOG,
    ) -> None:
        self.root = root
        self.home = root / "home"
        self.home.mkdir(parents=True)
        (self.home / "dagster.yaml").write_text(
            yaml.safe_dump({"telemetry": {"enabled": False}, **instance})
        )
        _init_instance(self.home)
        self.projects = {name: _project(root / name, name, catalog) for name in packages}
        self.workspace = root / "workspace.yaml"
        locations = [
            {
                "python_module": {
                    "module_name": f"{name}.definitions",
                    "working_directory": str(project),
                    "location_name": name,
                }
            }
            for name, project in self.projects.items()
        ]
        self.workspace.write_text(yaml.safe_dump({"load_from": locations}))
        self.hook_log = root / "hooks.jsonl"
        self.env = _worker_env(root, self.home)
        self.env["PYTHONPATH"] = os.pathsep.join(str(p / "src") for p in self.projects.values())
        self.env["HOOK_LOG"] = str(self.hook_log)

    def daemon(self) -> Any:
        command = [str(BIN / "dagster-daemon"), "run", "-w", str(self.workspace)]
        return _background({"daemon": command}, self.root, self.env, self.root / "logs")

    def submit(
        self, location: str, job: str, tags: dict[str, str] | None = None, config: str = "{}"
    ) -> None:
        """Submit a run to the queue, as the UI does (``dagster job launch``)."""
        command = [str(BIN / "dagster"), "job", "launch", "-w", str(self.workspace)]
        command += ["-l", location, "-j", job, "--tags", json.dumps(tags or {})]
        command += ["--config-json", config]
        run(command, self.root, self.env)

    def wait(self, finished: int, logs: dict[str, Path], seconds: float = 240) -> list:
        """The instance's runs once ``finished`` of them ended and none is left in progress."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(1)
            runs = runs_in(self.home)
            ended = [r for r in runs if r.status.value in FINISHED]
            if len(ended) >= finished and len(ended) == len(runs):
                return runs
        states = [(r.run_id, r.job_name, r.status.value) for r in runs_in(self.home)]
        raise AssertionError(f"runs still unfinished after {seconds} s: {states}\n{_tails(logs)}")

    def explain(self, runs: list) -> str:
        """Each run's status and failure events, for assertion messages."""
        parts = []
        for r in runs:
            parts.append(f"{r.run_id} {r.job_name} {r.status.value}:")
            parts.extend(_failures(self.home, r.run_id))
        return "\n".join(parts)


def _location(dagster_run: Any) -> str:
    return dagster_run.remote_job_origin.repository_origin.code_location_origin.location_name


# location -> (job, run tags); `always` fails in each of its two retries too.
RETRIED = {
    "in_process_all_steps": ("in_process", {"dagster/retry_strategy": "ALL_STEPS"}),
    "multiprocess_retried": ("multiprocess", {}),
    "pool_from_failure": ("pool", {"dagster/retry_strategy": "FROM_FAILURE"}),
    "always": ("in_process", {"dagster/max_retries": "2"}),
}


@pytest.mark.timeout(600)
def test_run_retries_succeed_with_kedro_run_files_and_hooks(tmp_path: Path) -> None:
    expected = _kedro_outputs(tmp_path / "kedro")
    deployment = Deployment(
        tmp_path / "deployment", {"run_retries": {"enabled": True, "max_retries": 1}}, list(RETRIED)
    )
    (deployment.projects["always"] / "ALWAYS_FAIL").write_text("")
    with deployment.daemon() as logs:
        for location, (job, tags) in RETRIED.items():
            deployment.submit(location, job, tags)
        runs = deployment.wait(2 * len(RETRIED) + 1, logs)

    by_location: dict[str, list] = {}
    for dagster_run in reversed(runs):  # oldest first
        by_location.setdefault(_location(dagster_run), []).append(dagster_run)
    error_calls = _records(deployment.hook_log, "on_pipeline_error")
    errors = {r["run_id"]: r for r in error_calls}
    completed = {r["run_id"] for r in _records(deployment.hook_log, "after_pipeline_run")}
    for location, (job, tags) in RETRIED.items():
        first, *retries = by_location[location]
        assert first.status.value == "FAILURE", deployment.explain([first])
        parents = [first, *retries][:-1]
        assert [r.parent_run_id for r in retries] == [r.run_id for r in parents]
        assert {r.job_name for r in retries} == {job}
        for key, value in tags.items():
            assert {r.tags[key] for r in retries} == {value}
        # on_pipeline_error once for the failed run, with the node's exception.
        assert errors[first.run_id]["error_class"] == "ValueError"
        if location == "always":
            # Each retry failed too, with the node's error (the MemoryDataset `table` of the
            # first run found by both), and the hook is called for each, not taken as done.
            assert [r.status.value for r in retries] == ["FAILURE"] * 2, deployment.explain(retries)
            for retry in retries:
                assert errors[retry.run_id]["message"] == "always fails", errors
            continue
        (retry,) = retries
        assert retry.status.value == "SUCCESS", deployment.explain([retry]) + _tails(logs)
        assert retry.run_id in completed and retry.run_id not in errors
        assert persisted_outputs(deployment.projects[location]) == expected, location
    # One call per failed run, no more.
    assert len(error_calls) == len(errors) == len(RETRIED) + 2, error_calls


#: `summary` versioned: each run saves its own version of it. (Not `report`: it reads the
#: latest version of `summary`, which may be another run's, as with two `kedro run`s at once.)
VERSIONED_CATALOG = {k: {**v, "versioned": k == "summary"} for k, v in CATALOG.items()}


QUEUED_JOBS = ("in_process", "pool")


def _params(factor: float) -> str:
    """Run config editing the parameter `factor`, as `kedro run --params factor=...`."""
    return json.dumps({"resources": {"kedro_run": {"config": {"params": {"factor": factor}}}}})


def _versions(project: Path) -> list[bytes]:
    """Each save version of `summary` written in ``project`` (from the MemoryDataset `table`)."""
    return sorted(p.read_bytes() for p in (project / "data" / "summary.csv").glob("*/summary.csv"))


@pytest.mark.timeout(600)
def test_queued_runs_of_one_job_at_once_keep_their_own_memory_datasets(tmp_path: Path) -> None:
    # What `kedro run --params factor=2` and `factor=3` write.
    kedro_side = _project(tmp_path / "kedro", "kedro_side", VERSIONED_CATALOG)
    (kedro_side / "FAILED_ONCE").write_text("")
    for factor in (2.0, 3.0):
        run([KEDRO, "run", "--params", f"factor={factor}"], cwd=kedro_side, env=subprocess_env())
    expected = _versions(kedro_side)
    assert len(set(expected)) == 2

    # Three runs at most, one of the in-process job at a time; each job submitted twice at once,
    # with different parameters: a MemoryDataset of one run read by the other would show. (In
    # memory under `in_process`, in run-scoped files under `pool`, as under `multiprocess`.)
    instance = {
        "run_queue": {
            "max_concurrent_runs": 3,
            "tag_concurrency_limits": [{"key": "kedro/job", "value": "in_process", "limit": 1}],
        }
    }
    deployment = Deployment(tmp_path / "deployment", instance, ["queued"], VERSIONED_CATALOG)
    project = deployment.projects["queued"]
    (project / "FAILED_ONCE").write_text("")
    with deployment.daemon() as logs:
        for job in QUEUED_JOBS:
            for factor in (2.0, 3.0):
                deployment.submit("queued", job, config=_params(factor))
        runs = deployment.wait(2 * len(QUEUED_JOBS), logs)
    assert {r.status.value for r in runs} == {"SUCCESS"}, deployment.explain(runs)
    assert _versions(project) == sorted(expected * len(QUEUED_JOBS))
    # The limit held: the in-process runs did not overlap.
    with DagsterInstance.from_config(str(deployment.home)) as dagster:
        records = [dagster.get_run_record_by_id(r.run_id) for r in runs]
    spans = sorted(
        (r.start_time, r.end_time) for r in records if r.dagster_run.job_name == "in_process"
    )
    assert spans[0][1] <= spans[1][0], spans


@pytest.mark.timeout(600)
def test_queued_runs_start_by_dagster_priority_with_their_tags(tmp_path: Path) -> None:
    deployment = Deployment(
        tmp_path / "deployment", {"run_queue": {"max_concurrent_runs": 1}}, ["prio"]
    )
    (deployment.projects["prio"] / "FAILED_ONCE").write_text("")
    # Queued before the daemon runs: it dequeues them by priority, then by submission.
    submitted = {"normal": {}, "low": {"dagster/priority": "-1"}, "high": {"dagster/priority": "5"}}
    for name, tags in submitted.items():
        deployment.submit("prio", "in_process", {"team": name, **tags})
    with deployment.daemon() as logs:
        runs = deployment.wait(len(submitted), logs)
    assert {r.status.value for r in runs} == {"SUCCESS"}, deployment.explain(runs)
    with DagsterInstance.from_config(str(deployment.home)) as dagster:
        records = [dagster.get_run_record_by_id(r.run_id) for r in runs]
    started = [r.dagster_run.tags["team"] for r in sorted(records, key=lambda r: r.start_time)]
    assert started == ["high", "normal", "low"]
    for record in records:  # the run's own tags next to the job's
        assert record.dagster_run.tags["kedro/job"] == "in_process"
