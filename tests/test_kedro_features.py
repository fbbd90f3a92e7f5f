"""Kedro features one step off the happy path (tests/features_project.py), against `kedro run`.

Each variant runs `kedro run` and one Dagster job on identical copies and compares what a
user sees: every file the nodes wrote (each value a node saw is in one), and the dataset
hooks' calls and ``after_catalog_created``'s arguments. The filtered variants start from a
completed run, as a filtered `kedro run` needs, and compare the whole data folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    EXECUTORS,
    KEDRO,
    assert_same_outputs,
    copy_project,
    persisted_outputs,
    run,
    run_both_logging_hooks,
    runs_in,
    subprocess_env,
)
from features_project import hook_calls, make_features_project

PACKAGE = "features_proj"


def _runtime_params(**values: Any) -> list[str]:
    config = {"resources": {"kedro_run": {"config": {"runtime_params": values}}}}
    return ["--config-json", json.dumps(config)]


#: variant -> (executor, job filters, `kedro run` arguments, launch arguments, after a run)
VARIANTS: dict[str, tuple[str, dict[str, list[str]], list[str], list[str], bool]] = {
    "in_process": ("in_process", {}, [], [], False),
    "pool": ("pool", {}, [], [], False),
    # The second environment and a `${runtime_params:}` parameter.
    "multiprocess_prod_runtime_params": (
        "multiprocess",
        {},
        ["--env", "prod", "--params", "rt_value=99"],
        ["--env", "prod", *_runtime_params(rt_value=99)],
        False,
    ),
    # Filters on nested namespaces: the outer namespace selects the inner one's nodes.
    "multiprocess_namespace": (
        "multiprocess",
        {"node_namespaces": ["c"]},
        ["--namespaces", "c"],
        [],
        True,
    ),
    "pool_from_to_nodes": (
        "pool",
        {"from_nodes": ["a.b.scale"], "to_nodes": ["varargs"]},
        ["--from-nodes", "a.b.scale", "--to-nodes", "varargs"],
        [],
        True,
    ),
}


def _dagster_yml() -> dict[str, Any]:
    executors: dict[str, Any] = {}
    for config in EXECUTORS.values():
        executors.update(config)
    jobs = {
        variant: {
            "pipeline": {"pipeline_name": "__default__", **filters},
            "executor": next(iter(EXECUTORS[executor])),
        }
        for variant, (executor, filters, *_) in VARIANTS.items()
    }
    return {"executors": executors, "jobs": jobs}


@pytest.fixture(scope="module")
def features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_features_project(
        tmp_path_factory.mktemp("features") / "project", PACKAGE, _dagster_yml()
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


@pytest.fixture(scope="module")
def completed(features: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project after a whole `kedro run` (what a filtered run reads)."""
    project = copy_project(features, tmp_path_factory.mktemp("completed") / "project")
    run([KEDRO, "run"], cwd=project, env=subprocess_env())
    return project


def _copy(src: Path, dest: Path, after_a_run: bool) -> Path:
    if not after_a_run:
        return copy_project(src, dest)
    shutil.copytree(src, dest)
    return dest


@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_kedro_features_match_kedro_run(
    features: Path, completed: Path, tmp_path: Path, variant: str
) -> None:
    _, _, kedro_args, launch_args, after_a_run = VARIANTS[variant]
    source = completed if after_a_run else features
    kedro_side = _copy(source, tmp_path / "kedro", after_a_run)
    dagster_side = _copy(source, tmp_path / "dagster", after_a_run)
    home = tmp_path / "home"
    kedro_log, dagster_log = run_both_logging_hooks(
        kedro_side, dagster_side, variant, home, kedro_args, launch_args
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"

    # The same files with the same contents: partitions, values of resolvers, globals,
    # runtime parameters and credentials, the side effect written once.
    expected = persisted_outputs(kedro_side)
    assert "08_reporting/side_effect.txt" in expected
    assert_same_outputs(expected, dagster_side)
    if not after_a_run:
        # `ab-total` and `ab_total` are two datasets, each in its own file.
        assert json.loads(expected["07_model_output/hyphen.json"]) == {
            "total": json.loads(expected["07_model_output/ab_total.json"])["total"] + 0.5
        }

    # The same dataset hooks, node by node, with the same data types; after_catalog_created
    # (called once per process under Dagster, a documented deviation) with the same arguments.
    kedro_calls, kedro_catalogs = hook_calls(kedro_log, kedro_side)
    dagster_calls, dagster_catalogs = hook_calls(dagster_log, dagster_side)
    assert kedro_calls, "no dataset hook was called: the comparison would be empty"
    assert dagster_calls == kedro_calls
    assert dagster_catalogs == kedro_catalogs
