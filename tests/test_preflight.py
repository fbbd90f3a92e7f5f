"""Preflight: catalog, credential and parameter mistakes are reported before any node computes."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import KEDRO, run, runs_in, subprocess_env
from kedro_factory import describe, make_project, translate

CATALOG: dict[str, Any] = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
}

LOAD_CASES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "missing_credentials": (
        {
            "catalog": {
                **CATALOG,
                "table": {**CATALOG["table"], "credentials": "local_fss"},
            },
            "credentials": {"local_fs": {"token": "SECRET-VALUE-123"}},
        },
        [
            "dataset 'table' uses credentials 'local_fss'",
            "conf/local/credentials.yml",
            "Did you mean 'local_fs'?",
            "Add a 'local_fss' entry there or fix the dataset's 'credentials' key",
            "conf/base/catalog.yml: key 'table.credentials'",
        ],
    ),
    "missing_parameter": (
        {
            "parameters": {"factor": 2.0, "model": {"alpha": 1}},
            "registry": """
            from kedro.pipeline import Pipeline, node
            from {package}.nodes import make_table, summarise
            def register_pipelines():
                p = Pipeline([
                    node(make_table, ["raw", "params:model.alpah"], "table", name="make_table"),
                    node(summarise, "table", "summary", name="summarise"),
                ])
                return {{"__default__": p}}
            """,
        },
        [
            "node 'make_table' reads 'params:model.alpah'",
            "no parameter 'model.alpah' is defined for env 'local'",
            "Did you mean 'model.alpha'",
            "conf/base/parameters.yml",
            "Add 'model.alpah' to the parameters or fix the node's input",
        ],
    ),
    "malformed_factory_pattern": (
        {
            "catalog": {
                "raw": CATALOG["raw"],
                "{name_csv": {"type": "pandas.CSVDataset", "filepath": "data/out.csv"},
            }
        },
        [
            "dataset factory pattern '{name_csv' is malformed",
            "'{' at position 0 is never closed",
            "conf/base/catalog.yml: key '{name_csv'",
            "e.g. '{name}_csv'",
        ],
    ),
    "factory_placeholder_not_in_pattern": (
        {
            "catalog": {
                "raw": CATALOG["raw"],
                "{name}_csv": {"type": "pandas.CSVDataset", "filepath": "data/{nme}.csv"},
            }
        },
        [
            "dataset factory pattern '{name}_csv' is malformed",
            "its entry uses {nme}, which the pattern does not define (it defines {name})",
            "conf/base/catalog.yml: key '{name}_csv'",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(LOAD_CASES))
def test_load_time_mistakes_are_named_with_file_and_fix(tmp_path: Path, case: str) -> None:
    kwargs, expected = LOAD_CASES[case]
    project = make_project(tmp_path / "p", f"pf_{case}", **kwargs)
    result = translate(project)
    assert result.returncode != 0, result.stdout[-2000:]
    message = result.stderr[result.stderr.rindex("KedroDagsterConfigError") :]
    for part in expected:
        assert part in message, message
    assert "SECRET-VALUE-123" not in result.stderr


def test_all_load_time_mistakes_are_listed_at_once(tmp_path: Path) -> None:
    catalog = {
        **CATALOG,
        "table": {**CATALOG["table"], "credentials": "nope"},
        "{a}}": {"type": "pandas.CSVDataset", "filepath": "data/{a}.csv"},
    }
    project = make_project(tmp_path / "p", "pf_many", catalog=catalog)
    result = translate(project)
    assert result.returncode != 0
    assert "(2 problems)" in result.stderr
    assert "'{a}}' is malformed: '}' at position 3 closes no placeholder" in result.stderr
    assert "dataset 'table' uses credentials 'nope'" in result.stderr
    assert "no credentials file in" in result.stderr


def test_factories_transcoding_and_plugin_datasets_are_not_flagged(tmp_path: Path) -> None:
    """Valid projects load: factories, `name@pandas`, our datasets, MemoryDatasets, credentials."""
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "{name}_csv": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "{namespace}.{name}": {"type": "pandas.CSVDataset", "filepath": "data/{name}.csv"},
        "table@pandas": {
            "type": "pandas.CSVDataset",
            "filepath": "data/table.csv",
            "credentials": "local_fs",
        },
        "table@csv": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
        "done": {"type": "kedro_dagster.DagsterNothingDataset"},
        "mem": {"type": "MemoryDataset"},
    }
    registry = """
        from kedro.pipeline import Pipeline, node
        from {package}.nodes import identity, make_table, summarise
        def register_pipelines():
            p = Pipeline([
                node(make_table, ["raw", "params:model.factor"], "table@pandas", name="mk"),
                node(summarise, "table@pandas", "summary_csv", name="sm"),
                node(identity, "summary_csv", "mem", name="copy"),
                node(lambda mem, params: None, ["mem", "parameters"], "done", name="finish"),
            ])
            return {{"__default__": p}}
        """
    project = make_project(
        tmp_path / "p",
        "pf_valid",
        catalog=catalog,
        parameters={"model": {"factor": 2.0}},
        registry=registry,
        credentials={"local_fs": {}},
    )
    described = describe(project)
    assert {"table", "summary_csv"} <= set(described["assets"])
    # Constructing every dataset (the `check defs` preflight) flags nothing either.
    full = translate(project, env=subprocess_env(KEDRO_DAGSTER_PREFLIGHT="full"))
    assert full.returncode == 0, full.stderr[-4000:]


def _step_failures(home: Path, run_id: str) -> dict[str, str]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    failures = {}
    for entry in entries:
        if entry.dagster_event is None:
            continue
        error, text = entry.dagster_event.event_specific_data.error, ""
        while error is not None:  # Dagster's wrapper, then our error as its cause
            text += error.message
            error = error.cause
        failures[entry.dagster_event.step_key] = text
    return failures


RUN_REGISTRY = """
    from kedro.pipeline import Pipeline, node
    from {package}.nodes import identity, make_table, summarise
    def register_pipelines():
        p = Pipeline([
            node(make_table, ["raw", "params:factor"], "table", name="make_table"),
            node(summarise, "table", "summary", name="summarise"),
            node(identity, "table", "copy", name="copy"),
        ])
        return {{"__default__": p}}
    """
BROKEN_CATALOG = {
    **CATALOG,
    # (a) a mistyped class and (b) a missing required argument: both only found by
    # constructing the dataset, which needs pandas imported.
    "summary": {"type": "pandas.ParquettDataset", "filepath": "data/summary.pq"},
    "copy": {"type": "pandas.CSVDataset"},
}


def test_bad_datasets_fail_the_first_step_before_any_node(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "pf_run", catalog=BROKEN_CATALOG, registry=RUN_REGISTRY)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    result = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "FAILURE"
    failures = _step_failures(home, dagster_run.run_id)
    assert set(failures) == {"before_pipeline_run"}, failures
    message = failures["before_pipeline_run"]
    for part in [
        "Job '__default__' stopped before its first node (2 problems)",
        "dataset 'summary' cannot be created: Dataset 'ParquettDataset' not found in 'pandas'",
        "Did you mean 'pandas.ParquetDataset'?",
        "Fix its 'type'",
        "dataset 'copy' cannot be created",
        "missing 1 required keyword-only argument: 'filepath'",
        "Add the missing argument to its catalog entry",
        "conf/base/catalog.yml",
    ]:
        assert part in message, message
    # The first node would write data/table.csv: it never ran.
    assert not (project / "data/table.csv").exists()


def test_asset_step_checks_its_datasets_before_computing(tmp_path: Path) -> None:
    """Asset runs have no start op: each asset step constructs its datasets first."""
    catalog = {
        "raw": CATALOG["raw"],  # `table` is a MemoryDataset, recomputed by the `summary` step
        "summary": {"type": "pandas.CSVDataset"},
    }
    project = make_project(tmp_path / "p", "pf_asset", catalog=catalog)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    result = subprocess.run(
        [KEDRO, "dagster", "launch", "--assets", "summary"],
        cwd=project,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    (dagster_run,) = runs_in(home)
    (message,) = _step_failures(home, dagster_run.run_id).values()
    assert "Node 'summarise' was not run: dataset 'summary' cannot be created" in message, message
    assert "missing 1 required keyword-only argument: 'filepath'" in message


def test_check_defs_runs_the_whole_preflight(tmp_path: Path) -> None:
    catalog = {**CATALOG, "summary": {"type": "pandas.ParquettDataset", "filepath": "s.pq"}}
    project = make_project(tmp_path / "p", "pf_check", catalog=catalog)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    describe(project)  # a plain load does not import pandas to check the type
    result = subprocess.run(
        [KEDRO, "dagster", "check", "defs"],
        cwd=project,
        env=subprocess_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "dataset 'summary' cannot be created" in output, output[-4000:]
    assert "Did you mean 'pandas.ParquetDataset'?" in output, output[-4000:]
