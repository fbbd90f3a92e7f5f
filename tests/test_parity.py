"""Parity: a job run through Dagster writes exactly what `kedro run` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import (
    assert_parity,
    copy_project,
    dagster_launch,
    kedro_run,
    persisted_outputs,
    runs_in,
    write_dagster_yml,
)

EXECUTORS = {
    "in_process": {"sequential": {"in_process": {}}},
    "multiprocess": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
}


def _assert_parity(
    project_src: Path, tmp_path: Path, executor: str, kedro_args: list[str], pipeline: dict
) -> None:
    kedro_side = copy_project(project_src, tmp_path / "kedro")
    dagster_side = copy_project(project_src, tmp_path / "dagster")
    (executor_name,) = EXECUTORS[executor]
    write_dagster_yml(
        dagster_side,
        {
            "executors": EXECUTORS[executor],
            "jobs": {"parity": {"pipeline": pipeline, "executor": executor_name}},
        },
    )
    kedro_run(kedro_side, *kedro_args)
    home = tmp_path / "dagster_home"
    dagster_launch(dagster_side, "parity", home)

    expected = persisted_outputs(kedro_side)
    assert expected, "kedro run wrote nothing: the parity check would be empty"
    assert_parity(expected, dagster_side, home, "parity")


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_example_default_pipeline_parity(example_copy, tmp_path: Path, executor: str) -> None:
    from conftest import EXAMPLE

    _assert_parity(EXAMPLE, tmp_path, executor, [], {"pipeline_name": "__default__"})


@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_generated_100_nodes_parity(generated_100: Path, tmp_path: Path, executor: str) -> None:
    _assert_parity(generated_100, tmp_path, executor, [], {"pipeline_name": "__default__"})
    # The generated project really spans at least 10 namespaces, all run through Dagster.
    written = persisted_outputs(tmp_path / "dagster")
    namespaces = {name.split("/")[1] for name in written if name.count("/") >= 2}
    assert len(namespaces) >= 10, sorted(written)


def test_intermediate_storage_url_under_multiprocess(tmp_path: Path) -> None:
    """MemoryDatasets go to the configured shared storage (an fsspec URL), parity intact."""
    from conftest import EXAMPLE

    kedro_side = copy_project(EXAMPLE, tmp_path / "kedro")
    dagster_side = copy_project(EXAMPLE, tmp_path / "dagster")
    shared = tmp_path / "shared"
    write_dagster_yml(
        dagster_side,
        {
            "intermediate_storage": shared.as_uri(),
            "executors": EXECUTORS["multiprocess"],
            "jobs": {
                "parity": {"pipeline": {"pipeline_name": "__default__"}, "executor": "parallel"}
            },
        },
    )
    kedro_run(kedro_side)
    home = tmp_path / "dagster_home"
    dagster_launch(dagster_side, "parity", home)
    assert persisted_outputs(dagster_side) == persisted_outputs(kedro_side)

    (run,) = runs_in(home)
    stored = {
        p.relative_to(shared / run.run_id).as_posix()
        for p in (shared / run.run_id).rglob("*.pickle")
    }
    assert "data_science__split_data_node/data_science__X_train.pickle" in stored, sorted(stored)
