"""Run semantics: filters, edited parameters, versions and re-execution act as under `kedro run`.

Every test runs the spaceflights example for real: `kedro run` on one copy, `kedro dagster
launch` (i.e. `dg launch`) on another, in a SQLite Dagster instance.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    EXAMPLE,
    KEDRO,
    REEXECUTION_SCRIPT,
    copy_project,
    dagster_launch,
    kedro_run,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)

VERSION_DIR = re.compile(r"/(\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}(?:\d{3})?Z)/")
REGRESSOR = "06_models/regressor.pickle"
IN_PROCESS = {"sequential": {"in_process": {}}}
MULTIPROCESS = {"parallel": {"multiprocess": {"max_concurrent": 2}}}

# ----------------------------------------------------------------------------- helpers


def clone(project: Path, dest: Path) -> Path:
    """A byte-identical copy of a project (outputs and version folders included)."""
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(".dagster_home", "__pycache__"))
    return dest


def snapshot(project: Path) -> dict[str, Any]:
    """Files under data/ (raw inputs excluded): plain files with their mtime, and versions.

    Returns ``{"files": {rel: (bytes, mtime_ns)}, "versions": {dataset_rel: {version: bytes}}}``.
    """
    files: dict[str, tuple[bytes, int]] = {}
    versions: dict[str, dict[str, bytes]] = {}
    data = project / "data"
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.name == ".gitkeep":
            continue
        rel = path.relative_to(data).as_posix()
        if rel.startswith("01_raw/"):
            continue
        match = VERSION_DIR.search(rel)
        if match:
            versions.setdefault(rel[: match.start()], {})[match.group(1)] = path.read_bytes()
        else:
            files[rel] = (path.read_bytes(), path.stat().st_mtime_ns)
    return {"files": files, "versions": versions}


def comparable(snap: dict[str, Any]) -> dict[str, Any]:
    """What two projects must share: plain files byte for byte; per versioned dataset, the
    number of versions and the content of the newest one."""
    out: dict[str, Any] = {rel: content for rel, (content, _) in snap["files"].items()}
    for rel, by_version in snap["versions"].items():
        out[rel] = (len(by_version), by_version[max(by_version)])
    return out


def rewritten(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """Plain files created or rewritten, and versioned datasets given a new version."""
    changed = {
        rel
        for rel, (_, mtime) in after["files"].items()
        if rel not in before["files"] or before["files"][rel][1] != mtime
    }
    for rel, by_version in after["versions"].items():
        new = set(by_version) - set(before["versions"].get(rel, {}))
        assert len(new) <= 1, f"{rel}: more than one new version in one run: {sorted(new)}"
        if new:
            changed.add(rel)
    return changed


def version_folders(project: Path) -> set[str]:
    folder = project / "data" / REGRESSOR
    return {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()


def expected_save_version(run_record: Any) -> str:
    """Kedro's save-version format of a Dagster run: creation time (ms), storage id (µs)."""
    stamp = run_record.create_timestamp.strftime("%Y-%m-%dT%H.%M.%S.%f")
    return f"{stamp[:-3]}{run_record.storage_id % 1000:03d}Z"


def events(home: Path, run_id: str, event_type: str) -> list[Any]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType(event_type))
        return [e.dagster_event for e in entries if e.dagster_event is not None]


def step_keys(home: Path, run_id: str, event_type: str) -> set[str]:
    return {event.step_key for event in events(home, run_id, event_type)}


def materialized_version(home: Path, run_id: str, asset: str) -> str:
    versions = [
        event.event_specific_data.materialization.metadata["version"].value
        for event in events(home, run_id, "ASSET_MATERIALIZATION")
        if event.asset_key.to_user_string() == asset
    ]
    assert len(versions) == 1, f"run {run_id}: {len(versions)} materializations of {asset}"
    return versions[0]


def run_records(home: Path) -> list[Any]:
    """Run records of an instance, oldest first."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        return list(reversed(instance.get_run_records()))


_PROBE = '''

class VersionProbe:
    """Test probe: one JSON line per node run with the catalog's regressor versions."""

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, run_id: str) -> None:
        import json
        import os
        from pathlib import Path

        dataset = catalog["data_science.regressor"]
        entry = {
            "run_id": run_id,
            "node": node.name,
            "pid": os.getpid(),
            "save": dataset._version.save,
        }
        if "data_science.regressor" in node.inputs:
            entry["load"] = dataset.resolve_load_version()
        probe = Path(__file__).resolve().parents[2] / "probe.jsonl"
        with probe.open("a") as stream:
            stream.write(json.dumps(entry) + "\\n")
'''


def install_probe(project: Path) -> Path:
    """Add a hook recording, per node run, its process and the regressor's versions."""
    package = project / "src" / "spaceflights"
    hooks = package / "hooks.py"
    hooks.write_text(hooks.read_text() + _PROBE)
    settings = package / "settings.py"
    text = settings.read_text()
    assert text.count("HOOKS = (ProjectHooks(),)") == 1
    text = text.replace("HOOKS = (ProjectHooks(),)", "HOOKS = (ProjectHooks(), VersionProbe())")
    text = text.replace(
        "from spaceflights.hooks import ProjectHooks",
        "from spaceflights.hooks import ProjectHooks, VersionProbe",
    )
    settings.write_text(text)
    return project / "probe.jsonl"


def read_probe(probe: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in probe.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ 1. filter parity

_DP = {
    "02_intermediate/preprocessed_companies.parquet",
    "02_intermediate/preprocessed_shuttles.parquet",
    "02_intermediate/preprocessed_reviews.csv",
    "03_primary/model_input_table.parquet",
}
_PREDICTIONS = "07_model_output/test_predictions.parquet"
_METRICS = "08_reporting/metrics.json"
_REPORT = "08_reporting/model_report.json"
_CAPACITY = "08_reporting/passenger_capacity_by_type.csv"
_SUMMARY = "08_reporting/company_summary.csv"

#: case -> (job `pipeline` filters, `kedro run` arguments, files the filtered run rewrites)
FILTER_CASES: dict[str, tuple[dict[str, list[str]], list[str], set[str]]] = {
    "tags": ({"tags": ["preprocessing"]}, ["--tags", "preprocessing"], _DP),
    "node_names": (
        {"node_names": ["data_science.split_data_node", "data_science.train_model_node"]},
        ["--nodes", "data_science.split_data_node,data_science.train_model_node"],
        {REGRESSOR},
    ),
    "from_nodes": (
        {"from_nodes": ["data_science.split_data_node"]},
        ["--from-nodes", "data_science.split_data_node"],
        {REGRESSOR, _PREDICTIONS, _METRICS, _REPORT},
    ),
    "to_nodes": (
        {"to_nodes": ["data_processing.create_model_input_table_node"]},
        ["--to-nodes", "data_processing.create_model_input_table_node"],
        _DP,
    ),
    "from_inputs": (
        {"from_inputs": ["model_input_table"]},
        ["--from-inputs", "model_input_table"],
        {REGRESSOR, _PREDICTIONS, _METRICS, _REPORT, _SUMMARY},
    ),
    "to_outputs": (
        {"to_outputs": ["data_science.metrics"]},
        ["--to-outputs", "data_science.metrics"],
        _DP | {REGRESSOR, _PREDICTIONS, _METRICS},
    ),
    "node_namespaces": (
        {"node_namespaces": ["reporting"]},
        ["--namespaces", "reporting"],
        {_CAPACITY, _SUMMARY},
    ),
    "tags_and_namespaces": (
        {
            "node_namespaces": ["data_science", "data_processing"],
            "tags": ["reporting", "feature_engineering"],
        },
        [
            "--namespaces",
            "data_science,data_processing",
            "--tags",
            "reporting,feature_engineering",
        ],
        {"03_primary/model_input_table.parquet", _REPORT},
    ),
    "from_and_to_nodes": (
        {
            "from_nodes": ["data_processing.create_model_input_table_node"],
            "to_nodes": ["data_science.evaluate_model_node"],
        },
        [
            "--from-nodes",
            "data_processing.create_model_input_table_node",
            "--to-nodes",
            "data_science.evaluate_model_node",
        ],
        {"03_primary/model_input_table.parquet", REGRESSOR, _PREDICTIONS, _METRICS},
    ),
}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example after a full `kedro run`, with one in-process job per filter case."""
    project = copy_project(EXAMPLE, tmp_path_factory.mktemp("baseline") / "spaceflights")
    jobs: dict[str, Any] = {
        "__default__": {"pipeline": {"pipeline_name": "__default__"}, "executor": "sequential"}
    }
    for case, (filters, _, _) in FILTER_CASES.items():
        jobs[f"filter_{case}"] = {
            "pipeline": {"pipeline_name": "__default__", **filters},
            "executor": "sequential",
        }
    write_dagster_yml(project, {"executors": IN_PROCESS, "jobs": jobs})
    kedro_run(project)
    assert len(version_folders(project)) == 1
    return project


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_filtered_job_writes_what_filtered_kedro_run_writes(
    baseline: Path, tmp_path: Path, case: str
) -> None:
    filters, kedro_args, expected = FILTER_CASES[case]
    kedro_side = clone(baseline, tmp_path / "kedro")
    dagster_side = clone(baseline, tmp_path / "dagster")
    kedro_before, dagster_before = snapshot(kedro_side), snapshot(dagster_side)
    assert comparable(kedro_before) == comparable(dagster_before)

    kedro_run(kedro_side, *kedro_args)
    home = tmp_path / "dagster_home"
    dagster_launch(dagster_side, f"filter_{case}", home)
    kedro_after, dagster_after = snapshot(kedro_side), snapshot(dagster_side)

    # Both sides rewrote exactly the outputs of the filtered nodes, nothing more, nothing less.
    assert rewritten(kedro_before, kedro_after) == expected
    assert rewritten(dagster_before, dagster_after) == expected
    # And the whole data/ folder ends up identical (newest model version included).
    kedro_state, dagster_state = comparable(kedro_after), comparable(dagster_after)
    assert sorted(dagster_state) == sorted(kedro_state)
    different = [name for name in kedro_state if dagster_state[name] != kedro_state[name]]
    assert not different, f"outputs differ between kedro run and Dagster: {different}"

    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert dagster_run.tags["kedro/job"] == f"filter_{case}"
    assert dagster_run.tags["kedro/pipeline_name"] == "__default__"
    assert dagster_run.tags["kedro/env"] == "local"
    assert json.loads(dagster_run.tags["kedro/filters"]) == filters


# ---------------------------------------------------------------- 2. edited parameters

_MODEL_OUTPUTS = {f"{REGRESSOR}/<version>/regressor.pickle", _PREDICTIONS, _METRICS, _REPORT}

#: case -> (edited parameter tree, `kedro run` arguments, outputs that must change, may change)
PARAM_CASES: dict[str, tuple[dict[str, Any], list[str], set[str], set[str]]] = {
    "model_options": (
        {"data_science": {"model_options": {"test_size": 0.3, "random_state": 7}}},
        [
            "--params",
            "data_science.model_options.test_size=0.3,data_science.model_options.random_state=7",
        ],
        _MODEL_OUTPUTS,
        _MODEL_OUTPUTS,
    ),
    "global_parameter": (
        {"report_precision": 1},
        ["--params", "report_precision=1"],
        {_REPORT, _CAPACITY, _SUMMARY},
        {_REPORT, _CAPACITY, _SUMMARY},
    ),
    "list_parameter": (
        {"data_science": {"model_options": {"features": ["engines", "passenger_capacity"]}}},
        ["--config", "run_config.yml"],
        _MODEL_OUTPUTS,
        _MODEL_OUTPUTS,
    ),
}


def _in_tree(tree: dict[str, Any], edits: dict[str, Any]) -> None:
    """Assert every edited leaf is in ``tree`` with its edited value."""
    for key, value in edits.items():
        if isinstance(value, dict):
            _in_tree(tree[key], value)
        else:
            assert tree[key] == value, (key, tree[key], value)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("case", list(PARAM_CASES))
def test_edited_parameters_act_as_kedro_run_params(
    baseline: Path, example_copy: Any, tmp_path: Path, case: str
) -> None:
    edits, kedro_args, must_change, may_change = PARAM_CASES[case]
    kedro_side = example_copy("kedro")
    dagster_side = example_copy("dagster")
    # `kedro run --config`: a run section whose params are a nested tree (lists allowed).
    (kedro_side / "run_config.yml").write_text(json.dumps({"run": {"params": edits}}))
    kedro_run(kedro_side, *kedro_args)
    home = tmp_path / "dagster_home"
    run_config = {"resources": {"kedro_run": {"config": {"params": edits}}}}
    dagster_launch(dagster_side, "__default__", home, "--config-json", json.dumps(run_config))

    expected = persisted_outputs(kedro_side)
    actual = persisted_outputs(dagster_side)
    assert sorted(actual) == sorted(expected)
    different = [name for name in expected if actual[name] != expected[name]]
    assert not different, f"outputs differ between kedro run --params and Dagster: {different}"

    # The edit had an effect: the outputs of the nodes reading it differ from an unedited run.
    unedited = persisted_outputs(baseline)
    assert sorted(unedited) == sorted(actual)
    changed = {name for name in actual if actual[name] != unedited[name]}
    assert must_change <= changed <= may_change, sorted(changed)

    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    _in_tree(dagster_run.run_config["resources"]["kedro_run"]["config"]["params"], edits)


# ----------------------------------------------------------------- 3. versioned datasets


@pytest.mark.timeout(900)
def test_one_save_version_per_run_shared_by_every_step(example_copy: Any, tmp_path: Path) -> None:
    project = example_copy("dagster")
    probe = install_probe(project)
    pipeline = {"pipeline_name": "__default__"}
    write_dagster_yml(
        project,
        {
            "executors": {**IN_PROCESS, **MULTIPROCESS},
            "jobs": {
                "seq": {"pipeline": pipeline, "executor": "sequential"},
                "par": {"pipeline": pipeline, "executor": "parallel"},
            },
        },
    )
    home = tmp_path / "dagster_home"

    dagster_launch(project, "seq", home)
    dagster_launch(project, "seq", home)
    after_two = version_folders(project)
    assert len(after_two) == 2, sorted(after_two)

    dagster_launch(project, "par", home)
    folders = version_folders(project)
    assert len(folders) == 3 and after_two < folders, sorted(folders)

    records = run_records(home)
    assert [r.dagster_run.job_name for r in records] == ["seq", "seq", "par"]
    assert all(r.dagster_run.status.value == "SUCCESS" for r in records)
    entries = read_probe(probe)
    run_versions = {}
    for record in records:
        run_id = record.dagster_run.run_id
        version = materialized_version(home, run_id, "data_science__regressor")
        # The save version is the run's creation time, and it is the folder the run created.
        assert version == expected_save_version(record)
        run_versions[run_id] = version
        # Every node run (every step process) of the run used that version to save and load.
        mine = [e for e in entries if e["run_id"] == run_id]
        assert len(mine) == 12, mine
        assert {e["save"] for e in mine} == {version}, mine
        loads = [e for e in mine if "load" in e]
        assert {e["node"] for e in loads} == {
            "data_science.predict_node",
            "data_science.create_model_report_node",
        }
        assert {e["load"] for e in loads} == {version}, loads
    assert set(run_versions.values()) == folders
    par_run = records[-1].dagster_run.run_id
    pids = {e["pid"] for e in entries if e["run_id"] == par_run}
    assert len(pids) >= 2, "the multiprocess run did not run its steps in several processes"


# ------------------------------------------------- 4. re-execution from failure (multiprocess)

_GUARD = """    from pathlib import Path as _Path

    if (_Path(__file__).resolve().parents[4] / "FAIL_ONCE").exists():
        raise RuntimeError("planned failure")
"""


def install_failure(project: Path) -> None:
    """`evaluate_model` raises while <project>/FAIL_ONCE exists."""
    nodes = project / "src" / "spaceflights" / "pipelines" / "data_science" / "nodes.py"
    text = nodes.read_text()
    anchor = '    y_true = y_test.to_numpy(dtype="float64")\n'
    assert text.count(anchor) == 1
    nodes.write_text(text.replace(anchor, _GUARD + anchor))


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    "executor",
    [MULTIPROCESS, {"parallel": {"parallel": {"max_workers": 2}}}],
    ids=["multiprocess", "parallel"],
)
def test_reexecution_from_failure_multiprocess(
    example_copy: Any, tmp_path: Path, executor: dict[str, Any]
) -> None:
    project = example_copy("dagster")
    kedro_side = example_copy("kedro")
    probe = install_probe(project)
    install_failure(project)
    marker = project / "FAIL_ONCE"
    marker.write_text("fail evaluate_model once\n")
    write_dagster_yml(
        project,
        {
            "executors": executor,
            "jobs": {
                "__default__": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "parallel",
                }
            },
        },
    )
    home = tmp_path / "dagster_home"

    failed = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert failed.returncode != 0, failed.stdout[-3000:]
    (first,) = runs_in(home)
    assert first.status.value == "FAILURE"
    evaluate = "data_science__evaluate_model_node"
    assert step_keys(home, first.run_id, "STEP_FAILURE") == {evaluate}
    (failure,) = events(home, first.run_id, "STEP_FAILURE")
    error = failure.event_specific_data.error
    messages = []
    while error is not None:
        messages.append(error.message)
        error = error.cause
    assert any("planned failure" in m for m in messages), messages
    first_ok = step_keys(home, first.run_id, "STEP_SUCCESS")
    upstream = {
        "data_processing__create_model_input_table_node",
        "data_science__split_data_node",
        "data_science__train_model_node",
        "data_science__predict_node",
    }
    assert upstream <= first_ok
    memory_file = home / "storage" / first.run_id / "data_science__split_data_node"
    assert (memory_file / "data_science__y_test").is_file()

    marker.unlink()
    src = project / "src"
    result = run(
        [sys.executable, "-c", REEXECUTION_SCRIPT, first.run_id, "__default__", "spaceflights"],
        cwd=project,
        env=subprocess_env(home, PYTHONPATH=str(src)),
    )
    assert "REEXECUTION" in result.stdout and result.stdout.strip().endswith("True"), result.stdout[
        -3000:
    ]

    second = runs_in(home)[0]
    assert second.run_id != first.run_id
    assert second.parent_run_id == first.run_id
    assert second.status.value == "SUCCESS"
    assert second.tags["kedro/job"] == "__default__"
    second_ok = step_keys(home, second.run_id, "STEP_SUCCESS")
    # Only the failed step and what depends on it ran again.
    assert second_ok == {
        evaluate,
        "data_science__create_model_report_node",
        "after_pipeline_run",
    }
    assert not second_ok & first_ok
    # The failed step read y_test, a MemoryDataset, from the first run's storage.
    memory_loads = [
        e.event_specific_data
        for e in events(home, second.run_id, "LOADED_INPUT")
        if e.event_specific_data.manager_key == "kedro_memory_io_manager"
    ]
    assert [(d.input_name, d.upstream_step_key) for d in memory_loads] == [
        ("data_science__y_test", "data_science__split_data_node")
    ]
    assert not (home / "storage" / second.run_id / "data_science__split_data_node").exists()
    node_runs = [(e["run_id"], e["node"]) for e in read_probe(probe)]
    assert [r for r, n in node_runs if n == "data_science.split_data_node"] == [first.run_id]
    assert [r for r, n in node_runs if n == "data_science.evaluate_model_node"] == [
        first.run_id,
        second.run_id,
    ]
    assert len(version_folders(project)) == 1

    kedro_run(kedro_side)
    expected = persisted_outputs(kedro_side)
    actual = persisted_outputs(project)
    assert sorted(actual) == sorted(expected)
    different = [name for name in expected if actual[name] != expected[name]]
    assert not different, f"outputs differ between kedro run and the re-executed job: {different}"


# ------------------------------------------------- 5. MemoryDataset read but never written

_LOAD_DEFS = """
import json

try:
    from spaceflights.definitions import defs

    defs()
except Exception as exc:
    print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"type": None, "message": "loaded"}))
"""


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("filters", "kedro_args", "node", "dataset"),
    [
        (
            {"node_names": ["data_science.train_model_node"]},
            ["--nodes", "data_science.train_model_node"],
            "data_science.train_model_node",
            "data_science.X_train",
        ),
        (
            {"from_nodes": ["data_science.train_model_node"]},
            ["--from-nodes", "data_science.train_model_node"],
            "data_science.predict_node",
            "data_science.X_test",
        ),
    ],
    ids=["node_names", "from_nodes"],
)
def test_job_reading_unwritten_memory_dataset_is_refused_at_load(
    example_copy: Any, filters: dict, kedro_args: list[str], node: str, dataset: str
) -> None:
    project = example_copy("refused")
    write_dagster_yml(
        project, {"jobs": {"memory_gap": {"pipeline": {"pipeline_name": "__default__", **filters}}}}
    )
    loaded = run(
        [sys.executable, "-c", _LOAD_DEFS],
        cwd=project,
        env=subprocess_env(PYTHONPATH=str(project / "src")),
    )
    outcome = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert outcome["type"] == "KedroDagsterConfigError", outcome
    message = outcome["message"]
    assert "'memory_gap'" in message
    assert f"'{node}'" in message
    assert f"'{dataset}'" in message
    assert "MemoryDataset" in message

    # `kedro run` with the same filter fails too: the refusal does not forbid a valid run.
    kedro = subprocess.run(
        [KEDRO, "run", *kedro_args],
        cwd=project,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert kedro.returncode != 0
    assert "not found in the DataCatalog" in " ".join((kedro.stdout + kedro.stderr).split())
