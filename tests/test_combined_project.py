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
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from combined_project import hook_records, make_combined_project
from conftest import (
    KEDRO,
    assert_parity,
    copy_project,
    persisted_outputs,
    run,
    run_both_logging_hooks,
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
