"""Several jobs sharing nodes load together and each runs to success through Dagster."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import REPO, dagster_launch, run, runs_in, subprocess_env, write_dagster_yml

JOBS = {
    "__default__": {"pipeline": {"pipeline_name": "__default__"}},
    "data_processing": {"pipeline": {"pipeline_name": "data_processing"}},
    "data_science": {"pipeline": {"pipeline_name": "data_science"}, "executor": "parallel"},
    "reporting": {"pipeline": {"pipeline_name": "reporting"}},
    "only_data_science_ns": {
        "pipeline": {"pipeline_name": "__default__", "node_namespace": "data_science"}
    },
    "preprocessing_tagged": {
        "pipeline": {"pipeline_name": "__default__", "tags": ["preprocessing"]}
    },
    "reporting_tagged": {"pipeline": {"pipeline_name": "__default__", "tags": ["reporting"]}},
}


def _describe(project: Path) -> dict:
    result = run(
        [
            sys.executable,
            str(REPO / "tests/scripts/describe_jobs.py"),
            str(project),
            "spaceflights",
        ],
        cwd=project,
        env=subprocess_env(),
    )
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("JOBS_JSON "))
    return json.loads(line.removeprefix("JOBS_JSON "))


def test_overlapping_jobs_load_and_run(example_copy, tmp_path: Path) -> None:
    project = example_copy("project")
    write_dagster_yml(
        project,
        {
            "executors": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
            "schedules": {"nightly": {"cron_schedule": "0 2 * * *"}},
            "jobs": {**JOBS, "__default__": {**JOBS["__default__"], "schedule": "nightly"}},
        },
    )
    described = _describe(project)
    shared = described.pop("_op_definitions_per_name")
    # A node present in several jobs is one op definition, reused.
    assert shared["data_science__split_data_node"] == 1
    assert all(count == 1 for count in shared.values()), shared
    assert set(described) == set(JOBS)
    for name, job in described.items():
        assert job["ops"] == job["kedro"], f"job {name} selects other nodes than Kedro's filter"
        assert job["ops"], name
    assert described["data_science"]["executor"] == "multiprocess"
    assert described["__default__"]["executor"] == "in_process"

    home = tmp_path / "home"
    # The default job first, so that filtered jobs find their upstream persisted inputs.
    for job in JOBS:
        dagster_launch(project, job, home)
    runs = runs_in(home)
    assert sorted(r.job_name for r in runs) == sorted(JOBS)
    assert {r.status.value for r in runs} == {"SUCCESS"}
