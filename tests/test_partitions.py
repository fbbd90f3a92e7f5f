"""Partitions: fan-out per key, mappings, parity with `kedro run`, the asset API, the guide's YAML.

Every test builds a real Kedro project on disk and runs real Dagster runs (`kedro dagster
launch`, i.e. `dg launch`, and the `kedro dagster dev` webserver with its daemon for backfills).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from compat import RESOLVE_SOURCE
from conftest import (
    EXECUTORS,
    KEDRO,
    assert_parity,
    dagster_launch,
    kedro_run,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
    write_dagster_yml,
)
from dev_server import graphql, serve
from kedro_factory import describe, make_project, translate
from partition_project import (
    CATALOG,
    make_namespaced_partition_project,
    make_partition_project,
    write_catalog,
)

pytestmark = pytest.mark.xdist_group("partitions")

JOB_GRAPH = (
    RESOLVE_SOURCE
    + r"""
import json, sys
from kedro_dagster import KedroProjectTranslator

defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
job = resolve(defs, "job_def", sys.argv[2])
structure = job.graph.dependency_structure
upstream = {}
for node in job.graph.nodes:
    upstream[node.name] = sorted(
        {out.node_name for out in structure.all_upstream_outputs_from_node(node.name)}
    )
partitions = {}
graph = resolve(defs, "asset_graph")
for key in graph.get_all_asset_keys():
    pdef = graph.get(key).partitions_def
    partitions[key.to_user_string()] = pdef.get_partition_keys() if pdef else None
print("GRAPH " + json.dumps({"upstream": upstream, "partitions": partitions}))
"""
)


def job_graph(project: Path, job: str = "__default__") -> dict:
    result = subprocess.run(
        [sys.executable, "-c", JOB_GRAPH, str(project), job],
        capture_output=True,
        text=True,
        cwd=project,
        env=subprocess_env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("GRAPH "))
    return json.loads(line.removeprefix("GRAPH "))


def translation_error(project: Path) -> str:
    result = translate(project, env=subprocess_env())
    assert result.returncode != 0, "translation should fail"
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return " ".join(result.stderr.split())


def init(project: Path) -> None:
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())


def step_events(home: Path, run_id: str) -> dict[str, dict[str, float]]:
    """Start and end time and pid of each step of a run."""
    from dagster import DagsterEventType, DagsterInstance

    steps: dict[str, dict[str, float]] = {}
    with DagsterInstance.from_config(str(home)) as instance:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or entry.step_key is None:
                continue
            step = steps.setdefault(entry.step_key, {})
            if event.event_type == DagsterEventType.STEP_START:
                step["start"] = entry.timestamp
                step["pid"] = event.pid or 0
            elif event.event_type == DagsterEventType.STEP_SUCCESS:
                step["end"] = entry.timestamp
    return steps


def partition_materializations(home: Path, run_id: str | None = None) -> set[tuple[str, str]]:
    """(asset, partition) of every materialization of one run, or of every run."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        run_ids = [run_id] if run_id else [r.run_id for r in instance.get_runs()]
        found = set()
        for rid in run_ids:
            for entry in instance.all_logs(rid, of_type=DagsterEventType.ASSET_MATERIALIZATION):
                materialization = entry.asset_materialization
                assert materialization is not None
                found.add((materialization.asset_key.to_user_string(), materialization.partition))
        return found


def written(project: Path) -> set[str]:
    """Files written under data/ (the raw inputs of the test project excluded)."""
    return set(persisted_outputs(project)) - {"raw.csv"}


# --- fan-out in jobs ------------------------------------------------------------------------


def test_fanned_out_job_matches_kedro_run(tmp_path: Path, dagster_home: Path) -> None:
    expected_project = make_partition_project(tmp_path / "kedro")
    kedro_run(expected_project)
    expected = persisted_outputs(expected_project)
    assert {
        "02_intermediate/scaled/10.csv",
        "03_primary/flagged/30.csv",
        "04_feature/rollup/low.csv",
        "04_feature/rollup/high.csv",
        "08_reporting/summary.csv",
    } <= set(expected)

    project = make_partition_project(tmp_path / "dagster")
    init(project)
    graph = job_graph(project)
    upstream = graph["upstream"]
    start = "before_pipeline_run"
    # One op per partition key, named with the key made valid for Dagster.
    assert upstream["scale__10_csv"] == [start]
    assert upstream["flag__20_csv"] == ["scale__20_csv"]
    # Keys map downstream: rollup 'low' reads flagged 10 and 20 (a many-to-one static mapping).
    assert upstream["rollup__low_csv"] == ["flag__10_csv", "flag__20_csv"]
    assert upstream["rollup__high_csv"] == ["flag__30_csv"]
    # A node reading partitions without writing any is a fan-in: one op after every partition.
    assert upstream["summarize"] == ["flag__10_csv", "flag__20_csv", "flag__30_csv"]
    assert "scale" not in upstream
    # Assets carry their partitions definitions.
    assert graph["partitions"]["scaled_parts"] == ["10.csv", "20.csv", "30.csv"]
    assert graph["partitions"]["raw_parts"] == ["1.csv", "2.csv", "3.csv"]
    assert graph["partitions"]["rollup"] == ["low.csv", "high.csv"]
    assert graph["partitions"]["summary"] is None

    dagster_launch(project, "__default__", dagster_home)
    run_id = assert_parity(expected, project, dagster_home, "__default__")
    # The job records each partition it wrote on the partitioned asset.
    materialized = partition_materializations(dagster_home, run_id)
    assert {("scaled_parts", k) for k in ("10.csv", "20.csv", "30.csv")} <= materialized
    assert {("rollup", "low.csv"), ("rollup", "high.csv"), ("summary", None)} <= materialized


@pytest.mark.timeout(900)
def test_partition_ops_run_in_parallel_under_multiprocess(
    tmp_path: Path, dagster_home: Path
) -> None:
    expected_project = make_partition_project(tmp_path / "kedro")
    kedro_run(expected_project)

    project = make_partition_project(tmp_path / "dagster")
    init(project)
    write_dagster_yml(
        project,
        {
            "executors": {"multi": {"multiprocess": {"max_concurrent": 3}}},
            "jobs": {"parts": {"pipeline": {"pipeline_name": "__default__"}, "executor": "multi"}},
        },
    )
    run(
        [KEDRO, "dagster", "launch", "--job", "parts"],
        cwd=project,
        env=subprocess_env(dagster_home, PARTITION_NODE_SLEEP="4"),
    )
    run_id = assert_parity(persisted_outputs(expected_project), project, dagster_home, "parts")
    steps = step_events(dagster_home, run_id)
    scale = [steps[f"scale__{k}_csv"] for k in ("10", "20", "30")]
    # Each partition op ran in its own process, and some ran at the same time.
    assert len({s["pid"] for s in scale}) == 3
    overlapping = [
        (a, b)
        for i, a in enumerate(scale)
        for b in scale[i + 1 :]
        if a["start"] < b["end"] and b["start"] < a["end"]
    ]
    assert overlapping, f"partition ops ran one after another: {scale}"


# --- the asset API --------------------------------------------------------------------------


PARTITION_30 = ("--partition", "30.csv")


def test_materializing_one_partition_writes_only_it(tmp_path: Path, dagster_home: Path) -> None:
    project = make_partition_project(tmp_path / "project")
    init(project)
    run(
        [KEDRO, "dagster", "launch", "--assets", "scaled_parts,report__flagged", *PARTITION_30],
        cwd=project,
        env=subprocess_env(dagster_home),
    )
    assert written(project) == {"02_intermediate/scaled/30.csv", "03_primary/flagged/30.csv"}
    # Same values as kedro run for that partition.
    expected_project = make_partition_project(tmp_path / "kedro")
    kedro_run(expected_project)
    expected = persisted_outputs(expected_project)
    actual = persisted_outputs(project)
    assert all(actual[name] == expected[name] for name in actual)
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.tags["dagster/partition"] == "30.csv"
    assert partition_materializations(dagster_home) == {
        ("scaled_parts", "30.csv"),
        ("report__flagged", "30.csv"),
    }


LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
  }
}
"""
BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}
"""


@pytest.mark.timeout(900)
def test_backfill_of_two_partitions_follows_the_mappings(
    tmp_path: Path, dagster_home: Path
) -> None:
    project = make_partition_project(tmp_path / "project")
    init(project)
    with serve(project, dagster_home, tmp_path / "dev.log") as url:
        params = {
            "partitionNames": ["10.csv", "20.csv"],
            "assetSelection": [
                {"path": ["scaled_parts"]},
                {"path": ["report__flagged"]},
                {"path": ["rollup"]},
            ],
        }
        launched = graphql(url, LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        deadline = time.monotonic() + 720
        status = None
        while time.monotonic() < deadline:
            answer = graphql(url, BACKFILL_STATUS, {"id": launched["backfillId"]})
            status = answer["partitionBackfillOrError"].get("status")
            if status not in ("REQUESTED", None):
                break
            time.sleep(3)
        assert status == "COMPLETED_SUCCESS", status
    # Exactly the two partitions, and downstream only the partitions they map to.
    assert written(project) == {
        "02_intermediate/scaled/10.csv",
        "02_intermediate/scaled/20.csv",
        "03_primary/flagged/10.csv",
        "03_primary/flagged/20.csv",
        "04_feature/rollup/low.csv",
    }
    assert partition_materializations(dagster_home) == {
        ("scaled_parts", "10.csv"),
        ("scaled_parts", "20.csv"),
        ("report__flagged", "10.csv"),
        ("report__flagged", "20.csv"),
        ("rollup", "low.csv"),
    }


@pytest.mark.timeout(600)
@pytest.mark.parametrize("executor", ["in_process", "multiprocess"])
def test_namespaced_partitioned_job_matches_kedro_run(tmp_path: Path, executor: str) -> None:
    """A namespace and a MemoryDataset between partitioned nodes: the job writes what
    `kedro run` writes.
    """
    dagster = {
        "executors": EXECUTORS[executor],
        "jobs": {
            "job": {
                "pipeline": {"pipeline_name": "__default__"},
                "executor": next(iter(EXECUTORS[executor])),
            }
        },
    }
    expected_project = make_namespaced_partition_project(tmp_path / "kedro", "nsparts")
    kedro_run(expected_project)
    expected = persisted_outputs(expected_project)
    assert "03_primary/flagged/30.csv" in expected

    job_project = make_namespaced_partition_project(tmp_path / "job", "nsparts", dagster)
    init(job_project)
    dagster_launch(job_project, "job", tmp_path / "job_home")
    assert_parity(expected, job_project, tmp_path / "job_home", "job")


# --- the guide's YAML -----------------------------------------------------------------------

GUIDE_FIRST = """\
my_downstream_partitioned_dataset:
  type: kedro_dagster.datasets.DagsterPartitionedDataset
  path: data/01_raw/my_data/
  dataset: # Underlying Kedro PartitionedDataset configuration
    type: pandas.CSVDataSet
  partition: dagster.StaticPartitionsDefinition # Define Dagster partitions
    partitions:
      - 2023-01-01.csv
      - 2023-01-02.csv
      - 2023-01-03.csv
"""

GUIDE_MAPPING = """\
my_upstream_partitioned_dataset:
  type: kedro_dagster.datasets.DagsterPartitionedDataset
  partition: dagster.StaticPartitionsDefinition
    partitions:
      - 2023-01-01.csv
      - 2023-01-02.csv
      - 2023-01-03.csv
  partition_mappings:
    my_downstream_partitioned_dataset: # Map to downstream dataset
      type: dagster.StaticPartitionMapping
      downstream_partition_keys_by_upstream_partition_key:
        1.csv: 2023-01-01.csv
        2.csv: 2023-01-02.csv
        3.csv: 2023-01-03.csv
"""

GUIDE_PATTERN = """\
my_upstream_partitioned_dataset:
  type: kedro_dagster.datasets.DagsterPartitionedDataset
  path: data/01_raw/upstream/
  dataset:
    type: pandas.CSVDataset
  partition:
    type: dagster.StaticPartitionsDefinition
    partition_keys: ["1.csv", "2.csv", "3.csv"]
  partition_mappings:
    {namespace}.partitioned_dataset: # Map to downstream dataset
      type: dagster.IdentityPartitionMapping
"""

GUIDE_STATIC = """\
upstream_dataset:
  type: kedro_dagster.DagsterPartitionedDataset
  path: data/02_raw/upstream/
  dataset:
    type: pandas.CSVDataSet
  partition:
    type: dagster.StaticPartitionsDefinition
    partition_keys: ["1.csv", "2.csv", "3.csv"]
  partition_mappings:
    downstream_dataset:
      type: dagster.StaticPartitionMapping
      downstream_partition_keys_by_upstream_partition_key:
        1.csv: 10.csv
        2.csv: 20.csv
        3.csv: 30.csv
"""

GUIDE_IDENTITY = """\
upstream_dataset:
  type: kedro_dagster.DagsterPartitionedDataset
  path: data/02_raw/upstream/
  dataset:
    type: pickle.PickleDataset
  partition:
    type: dagster.StaticPartitionsDefinition
    partition_keys: ["A.pkl", "B.pkl", "C.pkl"]
  partition_mappings:
    downstream_dataset:
      type: dagster.IdentityPartitionMapping  # Keys match exactly
"""

GUIDE_NOTHING = """\
my_nothing_dataset:
  type: kedro_dagster.datasets.DagsterNothingDataset
  metadata:
      description: "Nothing dataset."
"""

RENAME_NODES = """
import pandas as pd


def to_tens(parts):
    return {f"{int(k.split('.')[0]) * 10}.csv": load() for k, load in parts.items()}


def same_keys(parts):
    return {key: load() for key, load in parts.items()}


def seed(parts):
    return {key: {"key": key} for key in ("A.pkl", "B.pkl", "C.pkl")}
"""

GUIDE_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import {func}


def register_pipelines():
    pipeline = Pipeline([node({func}, "upstream_dataset", "downstream_dataset", name="move")])
    return {{"__default__": pipeline}}
"""


def _guide_project(root: Path, catalog_text: str, func: str) -> Path:
    make_project(root, "guide_parts", catalog={}, registry=GUIDE_REGISTRY.replace("{func}", func))
    (root / "src/guide_parts/nodes.py").write_text(RENAME_NODES)
    (root / "conf/base/catalog.yml").write_text(catalog_text)
    return root


@pytest.mark.parametrize("text", [GUIDE_FIRST, GUIDE_MAPPING], ids=["partitions", "mappings"])
def test_guide_malformed_partition_yaml_says_how_to_write_it(tmp_path: Path, text: str) -> None:
    project = _guide_project(tmp_path / "project", text, "same_keys")
    message = translation_error(project)
    assert "catalog.yml" in message
    assert "'partition:' has a value ('dagster.StaticPartitionsDefinition')" in message
    # The fix, with the keys the user listed.
    assert (
        "partition: type: dagster.StaticPartitionsDefinition "
        'partition_keys: ["2023-01-01.csv", "2023-01-02.csv", "2023-01-03.csv"]'
    ) in message


def test_guide_unquoted_pattern_key_says_to_quote_it(tmp_path: Path) -> None:
    project = _guide_project(tmp_path / "project", GUIDE_PATTERN, "same_keys")
    message = translation_error(project)
    assert "line 10" in message
    assert "must be quoted" in message and "'\"{namespace}.partitioned_dataset\":'" in message


def test_guide_examples_as_the_hint_writes_them_load(tmp_path: Path) -> None:
    fixed = GUIDE_FIRST.replace(
        "  partition: dagster.StaticPartitionsDefinition # Define Dagster partitions\n"
        "    partitions:\n",
        "  partition:\n    type: dagster.StaticPartitionsDefinition\n    partitions:\n",
    )
    pattern = GUIDE_PATTERN.replace(
        "{namespace}.partitioned_dataset:", '"{namespace}.partitioned_dataset":'
    )
    catalog = (
        fixed
        + pattern
        + GUIDE_NOTHING
        + "ns.partitioned_dataset:\n"
        + "  type: kedro_dagster.DagsterPartitionedDataset\n"
        + "  path: data/02_intermediate/ns/\n  dataset: pandas.CSVDataset\n"
        + "  partition:\n    partition_keys: ['1.csv', '2.csv', '3.csv']\n"
    )
    project = make_project(
        tmp_path / "project",
        "fixed_parts",
        catalog={},
        registry="""
from kedro.pipeline import Pipeline, node


def copy(parts):
    return {{k: load() for k, load in parts.items()}}


def register_pipelines():
    return {{"__default__": Pipeline([
        node(copy, "my_upstream_partitioned_dataset", "ns.partitioned_dataset", name="copy"),
        node(copy, "my_downstream_partitioned_dataset", "my_nothing_dataset", name="touch"),
    ])}}
""",
    )
    (project / "conf/base/catalog.yml").write_text(catalog)
    graph = job_graph(project)
    assert graph["partitions"]["my_downstream_partitioned_dataset"] == [
        "2023-01-01.csv",
        "2023-01-02.csv",
        "2023-01-03.csv",
    ]
    assert graph["partitions"]["ns__partitioned_dataset"] == ["1.csv", "2.csv", "3.csv"]
    assert graph["upstream"]["copy__2_csv"] == ["before_pipeline_run"]
    # A fan-in writing only an ordering edge: one op.
    assert "touch" in graph["upstream"]


@pytest.mark.parametrize(
    ("catalog_text", "func", "written_files"),
    [
        (GUIDE_STATIC, "to_tens", {"10.csv", "20.csv", "30.csv"}),
        (GUIDE_IDENTITY, "seed", {"A.pkl", "B.pkl", "C.pkl"}),
    ],
    ids=["static-mapping", "identity-mapping"],
)
def test_guide_mapping_examples_load_and_run(
    tmp_path: Path, dagster_home: Path, catalog_text: str, func: str, written_files: set[str]
) -> None:
    keys = sorted(written_files)
    downstream = {
        "downstream_dataset": {
            "type": "kedro_dagster.DagsterPartitionedDataset",
            "path": "data/03_primary/downstream/",
            "dataset": {"type": "pickle.PickleDataset" if func == "seed" else "pandas.CSVDataset"},
            "partition": {"type": "dagster.StaticPartitionsDefinition", "partition_keys": keys},
        }
    }
    project = _guide_project(tmp_path / "project", catalog_text + yaml.safe_dump(downstream), func)
    upstream = project / "data/02_raw/upstream"
    upstream.mkdir(parents=True)
    if func == "seed":
        import pickle

        for key in ("A.pkl", "B.pkl", "C.pkl"):
            (upstream / key).write_bytes(pickle.dumps({"key": key}))
    else:
        for index in (1, 2, 3):
            (upstream / f"{index}.csv").write_text(f"value\n{index}\n")
    init(project)
    dagster_launch(project, "__default__", dagster_home)
    out = project / "data/03_primary/downstream"
    assert {p.name for p in out.iterdir()} == written_files
    if func == "to_tens":
        assert (out / "20.csv").read_text().split() == ["value", "2"]
    graph = job_graph(project)
    assert sorted(op for op in graph["upstream"] if op.startswith("move__")) == sorted(
        "move__" + k.replace(".", "_") for k in keys
    )


# --- errors ---------------------------------------------------------------------------------


def _with(**changes: dict) -> dict:
    catalog = json.loads(json.dumps(CATALOG))
    for name, entry in changes.items():
        if entry is None:
            catalog.pop(name)
        else:
            catalog[name] = {**catalog[name], **entry}
    return catalog


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        (
            _with(scaled_parts={"partition": {"type": "dagster.DailyPartitionsDefinition"}}),
            [
                "scaled_parts",
                "'dagster.DailyPartitionsDefinition' is not supported",
                "StaticPartitionsDefinition",
            ],
        ),
        (
            _with(
                scaled_parts={
                    "partition_mappings": {
                        "{namespace}.flaged": {"type": "dagster.IdentityPartitionMapping"}
                    }
                }
            ),
            ["'{namespace}.flaged', which matches no dataset", "partition_mappings"],
        ),
        (
            _with(
                raw_parts={
                    "partition_mappings": {
                        "scaled_part": {"type": "dagster.IdentityPartitionMapping"}
                    }
                }
            ),
            ["'scaled_part', which matches no dataset", "Did you mean 'scaled_parts'"],
        ),
        (
            _with(
                raw_parts={
                    "partition_mappings": {"summary": {"type": "dagster.IdentityPartitionMapping"}}
                }
            ),
            ["'summary', which is not a DagsterPartitionedDataset"],
        ),
        (
            _with(
                raw_parts={
                    "partition_mappings": {
                        "scaled_parts": {
                            "type": "dagster.StaticPartitionMapping",
                            "downstream_partition_keys_by_upstream_partition_key": {
                                "1.csv": "40.csv"
                            },
                        }
                    }
                }
            ),
            ["maps partition '1.csv' to ['40.csv'] of 'scaled_parts'"],
        ),
        (
            _with(raw_parts={"partition_mappings": None}),
            [
                "reads 'raw_parts'",
                "declares no partition mapping to 'scaled_parts'",
                "type: dagster.StaticPartitionMapping",
            ],
        ),
        (
            _with(
                raw_parts={
                    "partition_mappings": {
                        "scaled_parts": {"type": "dagster.TimeWindowPartitionMapping"}
                    }
                }
            ),
            ["'dagster.TimeWindowPartitionMapping' is not supported", "IdentityPartitionMapping"],
        ),
        (
            _with(scaled_parts={"overwrite": True}),
            ["'overwrite: true' is not supported"],
        ),
        (
            _with(scaled_parts={"partition": {"partition_keys": "10.csv"}}),
            ["must be a non-empty list of keys"],
        ),
    ],
    ids=[
        "unsupported-type",
        "pattern-matches-nothing",
        "unknown-target",
        "target-not-partitioned",
        "unknown-downstream-key",
        "no-mapping-different-keys",
        "unsupported-mapping",
        "overwrite",
        "keys-not-a-list",
    ],
)
def test_partition_configuration_errors(tmp_path: Path, catalog: dict, expected: list[str]) -> None:
    project = make_partition_project(tmp_path / "project")
    write_catalog(project, catalog)
    message = translation_error(project)
    for text in expected:
        assert text in message, message


def test_node_writing_partitioned_and_plain_outputs_is_refused(tmp_path: Path) -> None:
    project = make_partition_project(tmp_path / "project")
    registry = project / "src/parts_project/pipeline_registry.py"
    registry.write_text(
        textwrap.dedent(
            """
            from kedro.pipeline import Pipeline, node


            def both(parts):
                return parts, 1


            def register_pipelines():
                return {"__default__": Pipeline([
                    node(both, "raw_parts", ["scaled_parts", "summary"], name="both"),
                ])}
            """
        )
    )
    message = translation_error(project)
    assert "Node 'both' writes partitioned 'scaled_parts' and also ['summary']" in message
    assert "Split the node" in message


def test_keys_that_do_not_match_the_files_fail_the_run_clearly(
    tmp_path: Path, dagster_home: Path
) -> None:
    project = make_partition_project(tmp_path / "project")
    (project / "data/01_raw/parts/3.csv").rename(project / "data/01_raw/parts/4.csv")
    init(project)
    result = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(dagster_home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    output = " ".join((result.stdout + result.stderr).split())
    assert "Partition(s) ['3.csv'] of dataset 'raw_parts' not found" in output
    assert "['1.csv', '2.csv', '4.csv']" in output
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "FAILURE"
    # The other partitions were still written: nothing lost that could be saved.
    assert (project / "data/02_intermediate/scaled/10.csv").is_file()


def test_partition_keys_in_describe_and_kinds(tmp_path: Path) -> None:
    project = make_partition_project(tmp_path / "project")
    described = describe(project)
    asset = described["assets"]["scaled_parts"]
    assert asset["kinds"] == ["csv", "kedro", "pandas"]
    assert asset["deps"] == ["raw_parts"]
    assert described["assets"]["rollup"]["deps"] == ["report__flagged"]
