"""Kedro catalog validators (``validator:``, Kedro 1.7) as Dagster asset checks.

Real projects, real runs: ``kedro run`` and ``kedro dagster launch`` on two copies of one
project must pass or fail alike, and every validation Kedro does in the Dagster run is an
asset check evaluation in the instance (severity, failure details as metadata).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compat import RESOLVE_SOURCE
from conftest import KEDRO, kedro_run, run, runs_in, subprocess_env
from kedro_factory import make_project

pytest.importorskip("kedro.validation")

VALIDATORS_PY = """
import pandera.pandas as pa


class TableSchema(pa.DataFrameModel):
    value: int = pa.Field(ge=0)
    scaled: float = pa.Field(le=10)


def no_negative(df):
    if (df["value"] < 0).any():
        raise ValueError("column 'value' holds negative numbers")
"""

CHECKS_SCRIPT = (
    RESOLVE_SOURCE
    + r"""
import json, sys
from kedro_dagster import KedroProjectTranslator

defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
graph = resolve(defs, "asset_graph")
print("CHECKS " + json.dumps(sorted(k.to_user_string() for k in graph.asset_check_keys)))
"""
)


def _project(
    root: Path,
    *,
    raw: str = "value\n1\n2\n3\n",
    raw_validator: Any = None,
    table_validator: Any = None,
) -> Path:
    catalog: dict[str, Any] = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    if raw_validator is not None:
        catalog["raw"]["validator"] = raw_validator
    if table_validator is not None:
        catalog["table"]["validator"] = table_validator
    project = make_project(root, "valid_proj", catalog=catalog)
    (project / "src/valid_proj/validators.py").write_text(textwrap.dedent(VALIDATORS_PY))
    (project / "data/raw.csv").write_text(raw)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project


def _twins(tmp_path: Path, **kwargs: Any) -> tuple[Path, Path]:
    """The same project twice: one for `kedro run`, one for Dagster."""
    kedro_side = _project(tmp_path / "kedro_side", **kwargs)
    dagster_side = tmp_path / "dagster_side"
    shutil.copytree(kedro_side, dagster_side)
    return kedro_side, dagster_side


def _launch(project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home, COLUMNS="400"),  # Rich wraps log lines at the width
        capture_output=True,
        text=True,
        timeout=600,
    )


def _kedro_run(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KEDRO, "run"],
        cwd=project,
        env=subprocess_env(COLUMNS="400"),
        capture_output=True,
        text=True,
    )


def _evaluations(home: Path, run_id: str) -> list[Any]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    return [e.dagster_event.event_specific_data for e in entries if e.dagster_event]


def _step_failures(home: Path, run_id: str) -> list[str]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    texts = []
    for entry in entries:
        error = entry.dagster_event.step_failure_data.error
        chain = []
        while error is not None:
            chain.append(error.to_string())
            error = error.cause
        texts.append("\n".join(chain))
    return texts


def _checks(project: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", CHECKS_SCRIPT, str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("CHECKS "))
    return json.loads(line.removeprefix("CHECKS "))


def test_passing_validators_are_passed_checks(tmp_path: Path, dagster_home: Path) -> None:
    """A Pandera schema on save of an output, a callable on load of a pipeline input."""
    kedro_side, dagster_side = _twins(
        tmp_path,
        raw_validator={"class": "valid_proj.validators.no_negative", "on": ["load"]},
        table_validator={"class": "valid_proj.validators.TableSchema", "on": ["save"]},
    )
    assert _checks(dagster_side) == ["raw:kedro_validator", "table:kedro_validator"]
    kedro_run(kedro_side)
    result = _launch(dagster_side, dagster_home)
    assert result.returncode == 0, result.stderr[-4000:]
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "SUCCESS"
    evaluations = {
        e.asset_key.to_user_string(): e for e in _evaluations(dagster_home, dagster_run.run_id)
    }
    assert sorted(evaluations) == ["raw", "table"]
    assert all(e.passed for e in evaluations.values())
    assert evaluations["raw"].metadata["kedro/mode"].value == "load"
    assert evaluations["raw"].metadata["kedro/node"].value == "make_table"
    assert evaluations["table"].metadata["kedro/mode"].value == "save"
    assert (
        evaluations["table"].metadata["kedro/validator"].value
        == "valid_proj.validators.TableSchema"
    )
    assert (dagster_side / "data/table.csv").read_bytes() == (
        kedro_side / "data/table.csv"
    ).read_bytes()


def test_error_validator_fails_the_step_as_kedro_run_fails(
    tmp_path: Path, dagster_home: Path
) -> None:
    """`severity: error` (the default): the run fails with Kedro's message, nothing saved."""
    kedro_side, dagster_side = _twins(
        tmp_path,
        raw="value\n1\n2\n30\n",  # scaled 60 > 10
        table_validator="valid_proj.validators.TableSchema",
    )
    expected = _kedro_run(kedro_side)
    assert expected.returncode != 0
    assert "Validation failed for dataset 'table' on save" in expected.stdout + expected.stderr
    assert not (kedro_side / "data/table.csv").exists()

    result = _launch(dagster_side, dagster_home)
    assert result.returncode != 0
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "FAILURE"
    assert not (dagster_side / "data/table.csv").exists()
    (failure,) = _step_failures(dagster_home, dagster_run.run_id)
    assert "Validation failed for dataset 'table' on save" in failure
    assert "scaled: less_than_or_equal_to(10)" in failure

    (evaluation,) = _evaluations(dagster_home, dagster_run.run_id)
    assert evaluation.asset_key.to_user_string() == "table"
    assert not evaluation.passed
    assert evaluation.severity.value == "ERROR"
    assert evaluation.description == "Validation failed for dataset 'table' on save"
    assert "less_than_or_equal_to(10)" in evaluation.metadata["failed_checks"].value
    (failed,) = evaluation.metadata["failures"].value
    assert failed["column"] == "scaled"
    assert failed["failure_count"] == 1
    assert failed["failure_examples"] == [60.0]


def test_warn_validator_is_a_warn_check_and_the_run_goes_on(
    tmp_path: Path, dagster_home: Path
) -> None:
    kedro_side, dagster_side = _twins(
        tmp_path,
        raw="value\n1\n2\n30\n",
        table_validator={"class": "valid_proj.validators.TableSchema", "severity": "warn"},
    )
    expected = _kedro_run(kedro_side)
    assert expected.returncode == 0, expected.stderr[-4000:]
    assert "Validation failed for dataset 'table' on save" in expected.stdout

    result = _launch(dagster_side, dagster_home)
    assert result.returncode == 0, result.stderr[-4000:]
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "SUCCESS"
    # Kedro's warning, logged by its catalog in the step.
    assert "Validation failed for dataset 'table' on save" in result.stdout + result.stderr, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )
    # Validated on save (make_table) and on load (summarise): `on` defaults to both.
    evaluations = _evaluations(dagster_home, dagster_run.run_id)
    modes = sorted(e.metadata["kedro/mode"].value for e in evaluations)
    assert modes == ["load", "save"]
    assert all(not e.passed and e.severity.value == "WARN" for e in evaluations)
    for name in ("table.csv", "summary.csv"):
        assert (dagster_side / "data" / name).read_bytes() == (
            kedro_side / "data" / name
        ).read_bytes()


def test_failing_input_on_load_fails_the_reading_node(tmp_path: Path, dagster_home: Path) -> None:
    kedro_side, dagster_side = _twins(
        tmp_path,
        raw="value\n-1\n2\n",
        raw_validator="valid_proj.validators.no_negative",
    )
    expected = _kedro_run(kedro_side)
    assert expected.returncode != 0
    assert "Validation failed for dataset 'raw' on load" in expected.stdout + expected.stderr

    result = _launch(dagster_side, dagster_home)
    assert result.returncode != 0
    (dagster_run,) = runs_in(dagster_home)
    (failure,) = _step_failures(dagster_home, dagster_run.run_id)
    assert "Validation failed for dataset 'raw' on load" in failure
    assert "column 'value' holds negative numbers" in failure
    (evaluation,) = _evaluations(dagster_home, dagster_run.run_id)
    assert evaluation.asset_key.to_user_string() == "raw"
    assert not evaluation.passed
    assert evaluation.severity.value == "ERROR"
    assert evaluation.metadata["kedro/node"].value == "make_table"
    assert "column 'value' holds negative numbers" in evaluation.metadata["error"].value
    assert not (dagster_side / "data/table.csv").exists()


def test_disabled_validator_has_no_check(tmp_path: Path, dagster_home: Path) -> None:
    """`enabled: false`: no check and no evaluation (and Kedro does not validate either)."""
    project = _project(
        tmp_path / "project",
        raw="value\n1\n2\n30\n",
        raw_validator="valid_proj.validators.no_negative",
        table_validator={"class": "valid_proj.validators.TableSchema", "enabled": False},
    )
    assert _checks(project) == ["raw:kedro_validator"]
    result = _launch(project, dagster_home)
    assert result.returncode == 0, result.stderr[-4000:]
    (dagster_run,) = runs_in(dagster_home)
    evaluations = _evaluations(dagster_home, dagster_run.run_id)
    assert [e.asset_key.to_user_string() for e in evaluations] == ["raw"]
    assert (project / "data/table.csv").exists()
