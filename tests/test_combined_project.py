"""One realistic project (tests/combined_project.py) under `kedro run` and under Dagster.

Each feature has its own test elsewhere; here they meet: namespaced modular pipelines with
dataset factories, nested and namespaced parameters edited at launch, a node reading the
whole ``parameters``, a ``CachedDataset``, a versioned dataset, a transcoded dataset, list and
dict outputs, a generator node appending to a file, filters, a second environment and project
hooks. Each variant runs `kedro run` and one Dagster job on fresh copies and compares what a
user sees: the persisted outputs, and the hooks' calls with their ``run_params``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from combined_project import hook_records, make_combined_project
from conftest import (
    KEDRO,
    REEXECUTION_SCRIPT,
    assert_parity,
    assert_same_outputs,
    copy_project,
    event_log_messages,
    persisted_outputs,
    run,
    run_both_logging_hooks,
    runs_in,
    subprocess_env,
)


def _job(executor: str, **filters: Any) -> dict[str, Any]:
    return {"pipeline": {"pipeline_name": "__default__", **filters}, "executor": executor}


DAGSTER_YML = {
    "executors": {
        "sequential": {"in_process": {}},
        "processes": {"multiprocess": {"max_concurrent": 2}},
        "workers": {"parallel": {"max_workers": 2}},
    },
    "jobs": {
        "everything": _job("sequential"),
        "prep_only": _job("sequential", tags=["prep"]),
        "alpha_processes": _job("processes", node_namespaces=["alpha"]),
        "everything_workers": _job("workers"),
    },
}

#: variant -> (`kedro run` arguments, job, `kedro dagster launch` arguments)
VARIANTS: dict[str, tuple[list[str], str, list[str]]] = {
    "in_process": ([], "everything", []),
    "in_process_tags": (["--tags", "prep"], "prep_only", []),
    # A runtime parameter read by `${runtime_params:...}` in the catalog, not a parameter.
    "in_process_runtime_param": (
        ["--params", "measures_name=edited_measures"],
        "everything",
        [
            "--config-json",
            json.dumps(
                {
                    "resources": {
                        "kedro_run": {
                            "config": {"runtime_params": {"measures_name": "edited_measures"}}
                        }
                    }
                }
            ),
        ],
    ),
    # A nested, namespaced parameter edited at launch, as `--params` edits it.
    "multiprocess_namespace_params": (
        ["--namespaces", "alpha", "--params", "alpha.options.scale.factor=5.0"],
        "alpha_processes",
        [
            "--config-json",
            json.dumps(
                {
                    "resources": {
                        "kedro_run": {
                            "config": {"params": {"alpha": {"options": {"scale": {"factor": 5.0}}}}}
                        }
                    }
                }
            ),
        ],
    ),
    # `prod` overrides a catalog entry and `report_title`, which the launch edits again.
    "parallel_env_params": (
        ["--env", "prod", "--params", "report_title=edited"],
        "everything_workers",
        [
            "--env",
            "prod",
            "--config-json",
            json.dumps(
                {"resources": {"kedro_run": {"config": {"params": {"report_title": "edited"}}}}}
            ),
        ],
    ),
}

#: `run_params` entries describing the run's selection: `kedro run` fills the unset ones too.
SELECTION_KEYS = (
    "tags",
    "node_names",
    "from_nodes",
    "to_nodes",
    "from_inputs",
    "to_outputs",
    "namespaces",
    "load_versions",
    "only_missing_outputs",
)

# `after_context_created` fires once per step process under Dagster (a documented deviation).
PROCESS_HOOKS = {"after_context_created"}


@pytest.fixture(scope="module")
def combined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_combined_project(
        tmp_path_factory.mktemp("combined") / "project", "combined_proj", dagster=DAGSTER_YML
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def _calls(records: list[dict[str, Any]]) -> Counter:
    return Counter((r["hook"], r.get("node")) for r in records if r["hook"] not in PROCESS_HOOKS)


def _pipeline_hook(records: list[dict[str, Any]], hook: str) -> dict[str, Any]:
    (record,) = [r for r in records if r["hook"] == hook]
    return record


@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_combined_project_matches_kedro_run(combined: Path, tmp_path: Path, variant: str) -> None:
    kedro_args, job, launch_args = VARIANTS[variant]
    kedro_side = copy_project(combined, tmp_path / "kedro")
    dagster_side = copy_project(combined, tmp_path / "dagster")
    home = tmp_path / "home"
    kedro_log, dagster_log = run_both_logging_hooks(
        kedro_side, dagster_side, job, home, kedro_args, launch_args
    )

    expected = persisted_outputs(kedro_side)
    assert expected, "kedro run wrote nothing: the parity check would be empty"
    run_id = assert_parity(expected, dagster_side, home, job)

    kedro_records, dagster_records = hook_records(kedro_log), hook_records(dagster_log)
    # The same node hooks, with the same inputs and outputs, once per node.
    assert _calls(dagster_records) == _calls(kedro_records)

    def node_records(records: list[dict[str, Any]]) -> list[str]:
        return sorted(
            json.dumps({k: v for k, v in r.items() if k != "run_id"}, sort_keys=True)
            for r in records
            if r["hook"] in ("before_node_run", "after_node_run")
        )

    assert node_records(dagster_records) == node_records(kedro_records)
    # Every hook that names the run names the Dagster run.
    assert {r["run_id"] for r in dagster_records if "run_id" in r} == {run_id}
    # Each process's context is in the run's environment (named: `kedro run` says None for
    # its default, `local`).
    assert {r.get("env") for r in dagster_records if r["hook"] == "after_context_created"} == {
        "prod" if "--env" in launch_args else "local"
    }

    # A hook reading the run's selection finds what `kedro run` gives it: lists (empty when
    # unset, never None) and the load versions as a mapping.
    kedro_before = _pipeline_hook(kedro_records, "before_pipeline_run")
    dagster_before = _pipeline_hook(dagster_records, "before_pipeline_run")
    assert dagster_before["nodes"] == kedro_before["nodes"]  # the filtered pipeline
    for key in ("run_params", "types"):
        assert {k: dagster_before[key][k] for k in SELECTION_KEYS} == {
            k: kedro_before[key][k] for k in SELECTION_KEYS
        }, key
    assert (
        dagster_before["run_params"]["runtime_params"]
        == kedro_before["run_params"]["runtime_params"]
    )
    # The pipeline's outputs, with their datasets (factories resolved, transcoding kept).
    assert (
        _pipeline_hook(dagster_records, "after_pipeline_run")["run_result"]
        == _pipeline_hook(kedro_records, "after_pipeline_run")["run_result"]
    )


#: Makes `stats` (reading the MemoryDataset `tail`, writing `total` and `count`) fail while a
#: FAIL file exists.
FAILING_STATS = """
def stats(head, tail):
    import os

    if os.path.exists("FAIL"):
        raise RuntimeError("FAIL marker")
    return {"total": float(tail["value"].sum()), "count": int(len(head) + len(tail))}
"""

#: Re-executes the given steps of a run (argv: run id, job, package, comma-separated steps).
STEP_REEXECUTION_SCRIPT = """
import os
import sys

from dagster import DagsterInstance, ReexecutionOptions, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

repository = ReconstructableRepository.for_module(
    sys.argv[3] + ".definitions", "defs", working_directory=os.getcwd()
)
job = repository.get_reconstructable_job(sys.argv[2])
with DagsterInstance.get() as instance:
    options = ReexecutionOptions(parent_run_id=sys.argv[1], step_selection=sys.argv[4].split(","))
    result = execute_job(job, instance=instance, reexecution_options=options)
    print("REEXECUTION", result.run_id, result.success)
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    ("job", "keeps_memory"),
    [("everything", False), ("alpha_processes", True), ("everything_workers", True)],
)
def test_reexecution_from_failure_and_of_a_step(
    combined: Path, tmp_path: Path, job: str, keeps_memory: bool
) -> None:
    """Re-execution from failure then of one step reading MemoryDatasets, per executor.

    From failure, the run completes and the files are `kedro run`'s; re-executing one step of
    that run needs its memory inputs: other processes kept them, an in-process run released
    them, which the step's error says in Kedro's names.
    """
    kedro_args = ["--namespaces", "alpha"] if job == "alpha_processes" else []
    kedro_side = copy_project(combined, tmp_path / "kedro")
    run([KEDRO, "run", *kedro_args], cwd=kedro_side, env=subprocess_env())
    expected = persisted_outputs(kedro_side)
    project = copy_project(combined, tmp_path / "dagster")
    with (project / "src" / "combined_proj" / "nodes.py").open("a") as nodes:
        nodes.write(FAILING_STATS)
    home = tmp_path / "home"
    env = subprocess_env(home, PYTHONPATH=str(project / "src"))
    (project / "FAIL").write_text("")
    launch = [KEDRO, "dagster", "launch", "--job", job]
    assert subprocess.run(launch, cwd=project, env=env, capture_output=True).returncode != 0
    (project / "FAIL").unlink()
    (failed,) = runs_in(home)
    script = [sys.executable, "-c", REEXECUTION_SCRIPT, failed.run_id, job, "combined_proj"]
    result = run(script, cwd=project, env=env)
    assert result.stdout.strip().endswith("True"), result.stdout[-3000:] + result.stderr[-3000:]
    assert_same_outputs(expected, project)

    summary = project / "data/07_model_output/alpha/summary.json"
    summary.unlink()
    (parent, _) = runs_in(home)
    script = [sys.executable, "-c", STEP_REEXECUTION_SCRIPT, parent.run_id, job, "combined_proj"]
    result = run([*script, "alpha__summarise"], cwd=project, env=env)
    assert result.stdout.strip().endswith(str(keeps_memory)), result.stdout[-3000:]
    if keeps_memory:
        assert_same_outputs(expected, project)
    else:
        assert not summary.exists()
        (step_run, *_) = runs_in(home)
        failure = "\n".join(message for _, message, _ in event_log_messages(home, step_run.run_id))
        failure += "\n".join(str(e) for e in _step_failures(home, step_run.run_id))
        assert "MemoryDataset 'alpha.count'" in failure, failure[-3000:]
        assert "node 'alpha.stats'" in failure, failure[-3000:]


def _step_failures(home: Path, run_id: str) -> list[str]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
        return [e.dagster_event.step_failure_data.error.to_string() for e in entries]
