"""Projects set up with kedro-dagster 0.x keep working, or say what to change (issue 17).

Each test writes what a 0.x project holds (its generated ``definitions.py``, its catalog and
``dagster.yml`` spellings, the empty registry of a fresh ``kedro new``) into a real project and
runs the commands a user runs, asserting on stderr, the files written and the Dagster runs.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import (
    EXAMPLE,
    KEDRO,
    copy_project,
    dagster_launch,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from kedro_factory import make_project
from partition_project import CATALOG, make_partition_project

# The definitions.py written by kedro-dagster 0.x's `kedro dagster init`, as is.
LEGACY_DEFINITIONS = '''\
"""Dagster definitions."""

import dagster as dg

from kedro_dagster import KedroProjectTranslator

translator = KedroProjectTranslator(env="local")
location = translator.to_dagster()

resources = location.named_resources
# The "io_manager" key handles how Kedro MemoryDatasets are handled by Dagster
resources |= {
    "io_manager": dg.fs_io_manager,
}

defs = dg.Definitions(
    assets=list(location.named_assets.values()),
    resources=resources,
    jobs=list(location.named_jobs.values()),
    schedules=list(location.named_schedules.values()),
    sensors=list(location.named_sensors.values()),
    loggers=location.named_loggers,
    executor=dg.multiprocess_executor.configured(dict(max_concurrent=2)),
)
'''

# A user's customisation of it: the executor and loggers picked from the named mappings.
CUSTOMISED_DEFINITIONS = """\
import dagster as dg

from kedro_dagster import KedroProjectTranslator

location = KedroProjectTranslator(env="local").to_dagster()
assert set(location.named_executors) == {"sequential", "parallel"}, location.named_executors
assert set(location.named_loggers) == {"file_logger"}, location.named_loggers

defs = dg.Definitions(
    assets=list(location.named_assets.values()),
    resources=location.named_resources | {"io_manager": dg.fs_io_manager},
    jobs=list(location.named_jobs.values()),
    schedules=list(location.named_schedules.values()),
    sensors=list(location.named_sensors.values()),
    loggers=location.named_loggers,
    executor=location.named_executors["parallel"],
)
"""

ENV_WARNING = "KedroProjectTranslator(env='local') and calls to_dagster()"


def test_0x_definitions_py_loads_and_runs_the_example(tmp_path: Path, dagster_home: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path / "spaceflights")
    (project / "src/spaceflights/definitions.py").write_text(LEGACY_DEFINITIONS)

    listed = run(
        [KEDRO, "dagster", "list", "defs", "--json"],
        cwd=project,
        env=subprocess_env(dagster_home),
    )
    assert listed.stderr.count(ENV_WARNING) == 1
    assert "kedro dagster init --force" in listed.stderr

    launched = dagster_launch(project, "__default__", dagster_home)
    assert launched.stderr.count(ENV_WARNING) == 1, launched.stderr[-3000:]
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "SUCCESS"
    outputs = persisted_outputs(project)
    assert {
        "02_intermediate/preprocessed_companies.parquet",
        "03_primary/model_input_table.parquet",
        "06_models/regressor.pickle/<version>/regressor.pickle",
        "08_reporting/metrics.json",
    } <= set(outputs)


def _scaled(project: Path) -> list[float]:
    return pd.read_csv(project / "data/table.csv")["scaled"].tolist()


def test_customised_0x_file_honours_env_unless_kedro_env_says_otherwise(
    tmp_path: Path, dagster_home: Path
) -> None:
    """`env="local"` in the file is used; KEDRO_ENV (from --env) wins over it, said once."""
    project = make_project(
        tmp_path / "legacy",
        "legacypkg",
        dagster={
            "executors": {
                "sequential": {"in_process": {}},
                "parallel": {"multiprocess": {"max_concurrent": 2}},
            },
            "loggers": {"file_logger": {"log_level": "INFO"}},
            "jobs": {
                "__default__": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "parallel",
                    "loggers": ["file_logger"],
                },
                "report": {
                    "pipeline": {"pipeline_name": "__default__", "tags": ["report"]},
                    "executor": "sequential",
                },
            },
        },
    )
    (project / "conf/local/parameters.yml").write_text("factor: 3.0\n")
    (project / "conf/prod").mkdir()
    (project / "conf/prod/parameters.yml").write_text("factor: 5.0\n")
    _init(project)
    (project / "src/legacypkg/definitions.py").write_text(CUSTOMISED_DEFINITIONS)

    first = dagster_launch(project, "__default__", dagster_home)
    assert first.stderr.count(ENV_WARNING) == 1
    assert "environment 'local' is used" in first.stderr
    assert _scaled(project) == [3.0, 6.0, 9.0]

    second = run(
        [KEDRO, "dagster", "launch", "--env", "prod", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(dagster_home),
    )
    assert second.stderr.count(ENV_WARNING) == 1
    assert "KEDRO_ENV='prod' (from --env or the environment) is used instead" in second.stderr
    assert _scaled(project) == [5.0, 10.0, 15.0]
    assert [r.status.value for r in runs_in(dagster_home)] == ["SUCCESS", "SUCCESS"]


def test_0x_partition_mapping_key_is_read_with_one_warning(
    tmp_path: Path, dagster_home: Path
) -> None:
    catalog = json.loads(json.dumps(CATALOG))
    catalog["report.flagged"]["partition_mapping"] = catalog["report.flagged"].pop(
        "partition_mappings"
    )
    project = _init(make_partition_project(tmp_path / "parts", catalog=catalog))

    launched = dagster_launch(project, "__default__", dagster_home)
    warning = (
        "Dataset 'report.flagged': 'partition_mapping' is the kedro-dagster 0.x spelling of "
        "'partition_mappings'"
    )
    assert launched.stderr.count(warning) == 1, launched.stderr[-3000:]
    # The many-to-one mapping was applied: 10 and 20 roll up into 'low', 30 into 'high'.
    low = pd.read_csv(project / "data/04_feature/rollup/low.csv")
    assert sorted(low["source"].unique()) == ["10.csv", "20.csv"]
    assert (project / "data/04_feature/rollup/high.csv").is_file()


def test_both_partition_mapping_spellings_are_refused(tmp_path: Path) -> None:
    catalog = json.loads(json.dumps(CATALOG))
    catalog["rollup"]["partition_mapping"] = {}
    catalog["rollup"]["partition_mappings"] = {}
    project = _init(make_partition_project(tmp_path / "parts", catalog=catalog))
    result = _fails([KEDRO, "dagster", "list", "defs"], project)
    assert "give 'partition_mappings' only; 'partition_mapping' is its kedro-dagster 0.x" in (
        result
    )


def _init(project: Path) -> Path:
    """`kedro dagster init` (it keeps a dagster.yml already written)."""
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project


def _fails(cmd: list[str], project: Path) -> str:
    import subprocess

    result = subprocess.run(
        cmd, cwd=project, env=subprocess_env(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 1, result.stderr[-3000:]
    return result.stderr


def test_0x_dagster_yml_spellings_are_read_with_one_warning_each(
    tmp_path: Path, dagster_home: Path
) -> None:
    registry = """
    from kedro.pipeline import Pipeline, node
    from {package}.nodes import identity

    def register_pipelines():
        p = Pipeline([
            node(identity, "raw", "a.out", name="a_node", namespace="a"),
            node(identity, "raw", "b.out", name="b_node", namespace="b"),
        ])
        return {{"__default__": p}}
    """
    project = make_project(
        tmp_path / "spell",
        "spellpkg",
        registry=textwrap.dedent(registry),
        catalog={
            "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
            "a.out": {"type": "pandas.CSVDataset", "filepath": "data/a.csv"},
            "b.out": {"type": "pandas.CSVDataset", "filepath": "data/b.csv"},
        },
    )
    _init(project)
    write_dagster_yml(
        project,
        {
            "dev": {"log_level": "info", "port": "3001", "host": "127.0.0.1"},
            "jobs": {"only_a": {"pipeline": {"pipeline_name": "__default__", "namespace": "a"}}},
        },
    )
    result = run([KEDRO, "dagster", "list", "defs", "--json"], cwd=project, env=subprocess_env())
    assert result.stderr.count("the 'dev' section (kedro-dagster 0.x's") == 1
    assert "`kedro dagster dev --host 127.0.0.1 --port 3001 --log-level info`" in result.stderr
    assert (
        result.stderr.count(
            "Job 'only_a' in " + str(project / "conf/base/dagster.yml") + ": 'pipeline.namespace'"
        )
        == 1
    ), result.stderr[-3000:]
    assert "Rename the key to 'node_namespaces'" in result.stderr
    # The namespace filter was applied: the job runs a's node only.
    dagster_launch(project, "only_a", dagster_home)
    assert (project / "data/a.csv").is_file()
    assert not (project / "data/b.csv").exists()


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        (
            {"pipeline": {"pipeline_name": "main"}, "executor": {"multiprocess": {}}},
            [
                "Job 'j' declares its executor inline",
                "jobs.j.executor",
                "`executors: {j_executor: ...}` and write `executor: j_executor`",
            ],
        ),
        (
            {"pipeline": {"pipeline_name": "main"}, "schedule": {"cron_schedule": "0 * * * *"}},
            ["Job 'j' declares its schedule inline", "`schedule: j_schedule`"],
        ),
        (
            {"pipeline": {"pipeline_name": "main"}, "loggers": [{"log_level": "INFO"}]},
            ["Job 'j' declares a logger inline", "`loggers: [j_logger]`"],
        ),
        (
            {"pipeline": {"pipeline_name": "main"}, "config": {"ops": {}}},
            ["'config' key (kedro-dagster 0.x)", "resources.kedro_run.config.params"],
        ),
    ],
    ids=["inline-executor", "inline-schedule", "inline-logger", "job-config"],
)
def test_0x_inline_job_blocks_are_refused_with_the_fix(
    tmp_path: Path, job: dict, expected: list[str]
) -> None:
    project = _init(make_project(tmp_path / "inline", "inlinepkg", dagster={"jobs": {"j": job}}))
    stderr = _fails([KEDRO, "dagster", "check", "defs"], project)
    for text in [*expected, "dagster.yml"]:
        assert text in stderr, stderr[-3000:]


EMPTY_REGISTRY = """
from kedro.pipeline import Pipeline

def register_pipelines():
    return {"__default__": Pipeline([])}
"""


def test_job_of_a_pipeline_without_nodes_is_refused(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "empty",
        "emptypkg",
        registry=EMPTY_REGISTRY.replace("{", "{{").replace("}", "}}"),
        dagster={"jobs": {"nightly": {"pipeline": {"pipeline_name": "__default__"}}}},
    )
    _init(project)
    for command in (["list", "defs"], ["check", "defs"]):
        stderr = _fails([KEDRO, "dagster", *command], project)
        assert "Job 'nightly' runs pipeline '__default__', which has no nodes" in stderr
        assert "Pipeline contains no nodes" in stderr
        assert str(project / "conf/base/dagster.yml") in stderr
    write_dagster_yml(
        project,
        {"jobs": {"nightly": {"pipeline": {"pipeline_name": "__default__", "tags": ["x"]}}}},
    )
    stderr = _fails([KEDRO, "dagster", "list", "defs"], project)
    assert "with filters {'tags': ['x']}, which has no nodes" in stderr


def test_fresh_project_without_nodes_deploys_no_job_and_says_so(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "fresh",
        "freshpkg",
        registry=EMPTY_REGISTRY.replace("{", "{{").replace("}", "}}"),
    )
    notice = "Pipeline '__default__' has no nodes: no job is deployed for it"
    # `init` comments the empty pipeline's job out, so the project loads.
    _init(project)
    written = (project / "conf/base/dagster.yml").read_text()
    assert "# '__default__' has no nodes yet: uncomment once it has." in written
    assert not (yaml.safe_load(written) or {}).get("jobs")
    checked = run([KEDRO, "dagster", "check", "defs"], cwd=project, env=subprocess_env())
    assert checked.stderr.count(notice) == 1, checked.stderr[-3000:]

    # Without dagster.yml: no job either, said once.
    (project / "conf/base/dagster.yml").unlink()
    listed = run([KEDRO, "dagster", "list", "defs", "--json"], cwd=project, env=subprocess_env())
    assert listed.stderr.count(notice) == 1
    assert "__default__" not in listed.stdout
