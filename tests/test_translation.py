"""What Dagster shows for a Kedro project: assets, metadata, credentials, and load-time errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compat import RESOLVE_SOURCE
from conftest import KEDRO, dagster_launch, run, runs_in, subprocess_env
from kedro_factory import describe, make_project, translate

SECRET = "SUPERSECRET-7f3a9c"


def test_assets_carry_metadata_a_dagster_user_expects(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "meta_project")
    described = describe(project)
    assets = described["assets"]
    assert set(assets) == {"raw", "table", "summary"}

    table = assets["table"]
    assert table["description"] == "Scaled table"
    assert table["group"] == "tables"  # from the dataset's metadata
    assert assets["summary"]["group"] == "main"  # default: the node's registered pipeline
    assert {"kedro", "pandas", "csv"} <= set(table["kinds"])
    assert table["metadata"]["kedro/dataset"] == "table"
    assert table["metadata"]["kedro/filepath"] == "data/table.csv"
    assert "kedro_datasets.pandas" in table["metadata"]["kedro/type"]
    assert "nodes.py" in table["metadata"]["dagster/code_references"]
    assert table["deps"] == ["raw"]
    assert assets["summary"]["deps"] == ["table"]
    # Pipeline inputs are external assets: visible, not materializable by us.
    assert assets["raw"]["materializable"] is False
    assert table["materializable"] is True
    assert described["jobs"] == ["__ASSET_JOB", "__default__", "main"]


def test_credentials_never_shown(tmp_path: Path) -> None:
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "table": {
            "type": "pandas.CSVDataset",
            "filepath": "data/table.csv",
            "credentials": "local_fs",
        },
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    project = make_project(
        tmp_path / "p",
        "cred_project",
        catalog=catalog,
        credentials={"local_fs": {"secret_token": SECRET}},
    )
    described = describe(project)
    assert SECRET not in str(described)

    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    result = dagster_launch(project, "__default__", home)
    assert SECRET not in result.stdout + result.stderr
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert SECRET not in str(dagster_run.tags) and SECRET not in str(dagster_run.run_config)

    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        logs = instance.all_logs(dagster_run.run_id)
    assert logs
    assert all(SECRET not in repr(entry) for entry in logs)
    assert (project / "data/table.csv").exists()


def test_materializing_an_asset_recomputes_its_memory_inputs(tmp_path: Path) -> None:
    """`summary` reads `table`, a MemoryDataset: materializing `summary` alone still works."""
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    }
    project = make_project(tmp_path / "p", "memory_asset_project", catalog=catalog)
    described = describe(project)
    assert set(described["assets"]) == {"raw", "summary"}
    assert described["assets"]["summary"]["deps"] == ["raw"]  # lineage through the memory hop

    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    run(
        [KEDRO, "dagster", "launch", "--assets", "summary"],
        cwd=project,
        env=subprocess_env(home),
    )
    summary = (project / "data/summary.csv").read_text()
    assert "scaled" in summary  # computed from the recomputed `table`
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"


ERROR_CASES = {
    "empty_filter": (
        {"dagster": {"jobs": {"nothing": {"pipeline": {"tags": ["no_such_tag"]}}}}},
        ["Job 'nothing'", "jobs.nothing.pipeline", "Fix the job's 'pipeline' filters"],
    ),
    "op_name_clash": (
        {
            "registry": """
            from kedro.pipeline import Pipeline, node
            from {package}.nodes import identity
            def register_pipelines():
                p = Pipeline([
                    node(identity, "raw", "a", name="x.y"),
                    node(identity, "a", "b", name="x__y"),
                ])
                return {{"__default__": p}}
            """,
        },
        ["'x.y'", "'x__y'", "op name", "Rename one"],
    ),
    "asset_name_clash": (
        {
            "registry": """
            from kedro.pipeline import Pipeline, node
            from {package}.nodes import identity
            def register_pipelines():
                p = Pipeline([
                    node(identity, "raw", "d.e", name="first"),
                    node(identity, "d.e", "d__e", name="second"),
                ])
                return {{"__default__": p}}
            """,
            "catalog": {
                "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
                "d.e": {"type": "pandas.CSVDataset", "filepath": "data/de1.csv"},
                "d__e": {"type": "pandas.CSVDataset", "filepath": "data/de2.csv"},
            },
        },
        ["'d.e'", "'d__e'", "asset name", "Rename one"],
    ),
    "unknown_dataset_type": (
        {
            "catalog": {
                "raw": {"type": "nowhere_lib.MissingDataset", "filepath": "data/raw.csv"},
                "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
                "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
            }
        },
        ["Dataset 'raw'", "nowhere_lib.MissingDataset", "Fix its 'type'"],
    ),
    "job_names_missing_pipeline": (
        {"dagster": {"jobs": {"j": {"pipeline": {"pipeline_name": "mian"}}}}},
        ["dagster.yml", "jobs.j.pipeline.pipeline_name", "Did you mean 'main'"],
    ),
    "dagster_yml_not_a_mapping": (
        {"dagster": ["jobs"]},
        ["dagster.yml must be a mapping"],
    ),
    "undeclared_pipeline_input": (
        {"catalog": {"summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"}}},
        ["Job '__default__'", "'make_table'", "'raw'", "not declared in the catalog"],
    ),
    "missing_memory_input": (
        {
            "dagster": {"jobs": {"only_summary": {"pipeline": {"node_names": ["summarise"]}}}},
            "catalog": {
                "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
                "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
            },
        },
        ["dagster.yml", "Job 'only_summary'", "'summarise'", "'table'", "MemoryDataset"],
    ),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_project_errors_say_what_to_fix(tmp_path: Path, case: str) -> None:
    kwargs, expected = ERROR_CASES[case]
    project = make_project(tmp_path / "p", f"err_{case}", **kwargs)
    result = translate(project)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "KedroDagsterConfigError" in result.stderr
    message = result.stderr[result.stderr.rindex("KedroDagsterConfigError") :]
    for part in expected:
        assert part in message, message


def test_unknown_env_is_named_with_a_hint(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "env_project")
    (project / "conf/prod").mkdir()
    result = translate(project, env=subprocess_env(KEDRO_ENV="prdo"))
    assert result.returncode != 0
    assert "Kedro environment 'prdo' does not exist" in result.stderr
    assert "Did you mean 'prod'" in result.stderr


def test_not_a_kedro_project(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = translate(tmp_path / "empty")
    assert result.returncode != 0
    assert "No Kedro project here" in result.stderr


def test_materializations_carry_run_metadata(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "mat_project")
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    dagster_launch(project, "__default__", home)
    (dagster_run,) = runs_in(home)

    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(
            dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
        )
    by_asset = {}
    for entry in entries:
        event = entry.dagster_event
        by_asset[event.asset_key.to_user_string()] = event.event_specific_data.materialization
    assert set(by_asset) == {"table", "summary"}
    metadata = by_asset["table"].metadata
    assert metadata["row_count"].value == 3
    assert metadata["columns"].value == "value, scaled"
    assert metadata["path"].value.endswith("data/table.csv")
    assert metadata["kedro/dataset"].value == "table"


TRANSCODED_REGISTRY = """
from kedro.pipeline import Pipeline, node
from {package}.nodes import make_table


def count_lines(text: str) -> str:
    return str(len(text.strip().splitlines()))


def register_pipelines():
    p = Pipeline([
        node(make_table, ["raw", "params:factor"], "table@pandas", name="make_table"),
        node(count_lines, "table@text", "line_count", name="count_lines"),
    ])
    return {{"__default__": p}}
"""


def test_transcoded_datasets_are_one_asset(tmp_path: Path) -> None:
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "table@pandas": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
        "table@text": {"type": "text.TextDataset", "filepath": "data/table.csv"},
        "line_count": {"type": "text.TextDataset", "filepath": "data/line_count.txt"},
    }
    project = make_project(
        tmp_path / "p", "transcode_project", catalog=catalog, registry=TRANSCODED_REGISTRY
    )
    assets = describe(project)["assets"]
    assert set(assets) == {"raw", "table", "line_count"}
    assert assets["line_count"]["deps"] == ["table"]

    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    dagster_launch(project, "__default__", tmp_path / "home")
    # count_lines ran after make_table wrote the file: header + 3 rows.
    assert (project / "data/line_count.txt").read_text() == "4"


NAMESPACED_REGISTRY = """
from kedro.pipeline import Pipeline, node
from {package}.nodes import make_table, summarise


def register_pipelines():
    def part(ns):
        return Pipeline(
            [
                node(make_table, ["raw", "params:factor"], "table", name="make_table"),
                node(summarise, "table", "summary", name="summarise"),
            ],
            namespace=ns,
            inputs={{"raw"}},
            parameters={{"params:factor"}},
        )

    return {{"__default__": part("alpha") + part("beta")}}
"""


def test_job_factory_on_a_namespaced_project(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "factory_project",
        catalog={"raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"}},
        registry=NAMESPACED_REGISTRY,
        dagster={"jobs": {"{namespace}_job": {"pipeline": {"pipeline_name": "__default__"}}}},
    )
    assert describe(project)["jobs"] == ["__ASSET_JOB", "alpha_job", "beta_job"]


NOTHING_REGISTRY = """
from kedro.pipeline import Pipeline, node
from {package}.nodes import make_table, summarise


def mark_ready(raw):
    return None


def build(raw, ready, factor):
    return make_table(raw, factor)


def register_pipelines():
    p = Pipeline([
        node(mark_ready, "raw", "ready", name="mark_ready"),
        node(build, ["raw", "ready", "params:factor"], "table", name="build"),
    ])
    return {{"__default__": p}}
"""


def test_nothing_dataset_orders_nodes_and_writes_nothing(tmp_path: Path) -> None:
    catalog = {
        "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
        "ready": {
            "type": "kedro_dagster.datasets.DagsterNothingDataset",
            "metadata": {"description": "Nothing dataset."},
        },
        "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
    }
    project = make_project(
        tmp_path / "p", "nothing_project", catalog=catalog, registry=NOTHING_REGISTRY
    )
    assets = describe(project)["assets"]
    assert assets["ready"]["description"] == "Nothing dataset."
    assert assets["ready"]["deps"] == ["raw"]
    assert sorted(assets["table"]["deps"]) == ["raw", "ready"]  # ordering edge in the asset graph

    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    home = tmp_path / "home"
    before = {p.name for p in (project / "data").iterdir()}
    dagster_launch(project, "__default__", home)
    assert {p.name for p in (project / "data").iterdir()} - before == {"table.csv"}

    from dagster import DagsterEventType, DagsterInstance

    (dagster_run,) = runs_in(home)
    with DagsterInstance.from_config(str(home)) as instance:
        starts = [
            e.step_key
            for e in instance.all_logs(dagster_run.run_id, of_type=DagsterEventType.STEP_START)
        ]
    assert starts.index("mark_ready") < starts.index("build")  # ordering edge in the job graph


RETRY_SCRIPT = (
    RESOLVE_SOURCE
    + r"""
import sys
from dagster._core.definitions.dependency import NodeHandle
from kedro_dagster import KedroProjectTranslator

job = resolve(KedroProjectTranslator(sys.argv[1]).to_definitions(), "job_def", "retried")
policy = job.get_retry_policy_for_handle(NodeHandle("make_table", None))
print("POLICY", policy.max_retries, policy.delay)
"""
)


def test_executor_retry_policy_applies_to_node_ops(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p",
        "retry_project",
        dagster={
            "executors": {
                "retrying": {"in_process": {"retry_policy": {"max_retries": 3, "delay": 2}}}
            },
            "jobs": {"retried": {"executor": "retrying"}},
        },
    )
    result = run(
        [sys.executable, "-c", RETRY_SCRIPT, str(project)], cwd=project, env=subprocess_env()
    )
    assert "POLICY 3 2.0" in result.stdout
