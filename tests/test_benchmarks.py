"""Smoke tests of the run benchmark: it runs end to end and prints its side-by-side table.

Only the shape of the report is checked (rows present, ratios numeric), never the values:
timings are measured by running the benchmark, not by tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    REPO,
    assert_same_outputs,
    kedro_run,
    match_kedro_init_version,
    materialized_assets,
    persisted_outputs,
    run,
    runs_in,
    subprocess_env,
)

BENCH_RUN = REPO / "benchmarks" / "bench_run.py"
RUN_WORKER = REPO / "benchmarks" / "_run_worker.py"
SAME_SHAPE = "a hand-written Dagster job of the same shape"
RATIO = re.compile(r"^\d+\.\d+x$")


def table_rows(stdout: str) -> dict[str, list[str]]:
    """The summary table's rows (figure -> the other cells), as the user reads them."""
    lines = stdout.splitlines()
    start = lines.index("| figure | ours | anchor | ratio | goal | met? |")
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def bench(tmp_path: Path, *args: str) -> tuple[dict[str, list[str]], dict]:
    out = tmp_path / "out.json"
    result = run(
        [sys.executable, str(BENCH_RUN), *args, "--repeat", "1", "--json", str(out)],
        cwd=tmp_path,
        env=subprocess_env(),
    )
    return table_rows(result.stdout), json.loads(out.read_text())


def test_inprocess_table_has_every_figure_with_numeric_ratios(tmp_path: Path) -> None:
    rows, payload = bench(tmp_path, "--only", "inprocess", "--nodes", "10")

    assert list(rows) == [
        "in-process, 10 nodes, CPU per step",
        "in-process, 10 nodes, wall per step",
        f"in-process, 10 nodes, CPU per step vs {SAME_SHAPE}",
        f"in-process, 10 nodes, wall per step vs {SAME_SHAPE}",
        "in-process, 10 nodes, CPU per step vs fs IO",
        "in-process, 10 nodes, CPU per step beyond Kedro's own node work",
        "in-process, 10 nodes, CPU per step vs kedro",
    ]
    for figure, (ours, anchor, ratio, _goal, _met) in rows.items():
        assert ours.endswith(" ms/step") and anchor.split(" ")[1] == "ms/step", (figure, ours)
        assert RATIO.match(ratio), (figure, ratio)
    anchors = [cells[1] for cells in rows.values()]
    assert all("(Dagster 10-op chain" in anchor for anchor in anchors[:2] + anchors[4:6])
    assert all(anchor.endswith("(Dagster 10-op job of the same shape)") for anchor in anchors[2:4])
    assert anchors[6].endswith("(kedro run, SequentialRunner)")
    for figure in (f"CPU per step vs {SAME_SHAPE}", f"wall per step vs {SAME_SHAPE}"):
        assert rows[f"in-process, 10 nodes, {figure}"][3] == "≤ 1.3x", figure
    # Ours less kedro run's cost per node (both medians of this invocation).
    beyond = float(
        rows["in-process, 10 nodes, CPU per step beyond Kedro's own node work"][0].split()[0]
    )
    ours = float(rows["in-process, 10 nodes, CPU per step"][0].split()[0])
    kedro = float(rows["in-process, 10 nodes, CPU per step vs kedro"][1].split()[0])
    assert abs(beyond - (ours - kedro)) < 0.11, (beyond, ours, kedro)
    assert rows["in-process, 10 nodes, CPU per step"][3:] in (["≤ 1.3x", "yes"], ["≤ 1.3x", "no"])
    # ours ran the translated job: 10 node ops + the two pipeline-hook ops, Dagster 10 ops.
    assert payload["variants"]["inprocess.dagster_mem.10"]["runs"][0]["steps"] == 10
    # The same-shape job ran one op per node, each reported a success.
    assert payload["variants"]["inprocess.dagster_shaped.10"]["runs"][0]["steps"] == 10
    assert payload["variants"]["inprocess.ours.10"]["runs"][0]["steps"] >= 10


def _generated(root: Path, n_nodes: int, **options: Any) -> Path:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.generate_project import generate_project
    finally:
        sys.path.remove(str(REPO))
    project = generate_project(root, n_nodes, **options)
    match_kedro_init_version(project)
    return project


def test_same_shape_job_writes_what_kedro_run_writes(tmp_path: Path, dagster_home: Path) -> None:
    # 40 nodes: Parquet hand-offs (explicit entries) and a CSV one (factory) both written.
    kedro_side = _generated(tmp_path / "kedro_side", 40)
    kedro_run(kedro_side)
    expected = persisted_outputs(kedro_side)
    dagster_side = _generated(tmp_path / "dagster_side", 40)

    result = run(
        [sys.executable, str(RUN_WORKER), "shaped", str(dagster_side), "--warmup", "0"],
        cwd=tmp_path,
        env=subprocess_env(dagster_home),
    )

    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    assert json.loads(line.removeprefix("BENCH_RESULT "))["steps"] == 40
    assert len(expected) == 12  # 3 persisted datasets per namespace
    assert_same_outputs(expected, dagster_side)
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "SUCCESS"
    assert materialized_assets(dagster_home, dagster_run.run_id) == {
        *(f"ns_00{i}__persisted_d_{k}" for i in range(4) for k in (2, 5)),
        *(f"handoff_ns_00{i}" for i in range(4)),
    }


def test_launch_table_compares_with_kedro_run(tmp_path: Path) -> None:
    rows, payload = bench(tmp_path, "--only", "launch")

    figure, with_dagster, imported, instance, ours_vs_bound = rows
    ours, anchor, ratio, goal, met = rows[figure]
    assert "launch --job __default__" in figure
    assert ours.endswith(" s") and anchor.endswith("(kedro run)")
    assert RATIO.match(ratio) and goal == "≤ 1.3x" and met in {"yes", "no"}
    # The second anchor adds Dagster's own launch of a 14-op chain to `kedro run`.
    ours_too, summed, ratio_too, _, _ = rows[with_dagster]
    assert ours_too == ours and "dagster job execute` of a 14-op chain" in summed
    assert RATIO.match(ratio_too)
    first, second = payload["rows"][:2]
    assert second["anchor"] > first["anchor"] > 0 and first["ratio"] > second["ratio"] > 0
    # The bounds: `kedro run` after `import dagster`, then after opening the instance too,
    # each measured against `kedro run` with the goal; ours against the second.
    for bound in (imported, instance):
        cost, anchor_too, bound_ratio, bound_goal, _ = rows[bound]
        assert cost.endswith(" s")
        assert anchor_too == anchor and bound_goal == "≤ 1.3x" and RATIO.match(bound_ratio)
    assert "import dagster" in imported and "instance" in instance
    assert rows[ours_vs_bound][0] == ours and RATIO.match(rows[ours_vs_bound][2])
    by_figure = {row["figure"]: row for row in payload["rows"]}
    assert by_figure[ours_vs_bound]["anchor"] == by_figure[instance]["ours"] > 0


#: For every node of ``__default__``: its namespace and those of the nodes it reads from.
_NODE_PARENTS = """
import json
from bench_project.pipeline_registry import register_pipelines

pipeline = register_pipelines()["__default__"]
print(json.dumps({
    node.name: [parent.namespace for parent in parents]
    for node, parents in pipeline.node_dependencies.items()
}))
"""


def test_wide_project_runs_under_kedro_run_with_independent_namespaces(tmp_path: Path) -> None:
    sequential = _generated(tmp_path / "sequential", 20, shape="wide", work=2000)
    in_parallel = _generated(tmp_path / "in_parallel", 20, shape="wide", work=2000)

    kedro_run(sequential)
    kedro_run(in_parallel, "--runner", "ParallelRunner")

    # Deterministic: the same files whichever runner and order ran the nodes.
    expected = persisted_outputs(sequential)
    assert sorted(expected) == [f"03_primary/ns_00{i}/result.csv" for i in range(2)]
    assert_same_outputs(expected, in_parallel)
    first, second = (bytes(expected[name]) for name in sorted(expected))
    assert first.startswith(b"id,group,value\n") and first != second
    result = run(
        [sys.executable, "-c", _NODE_PARENTS],
        cwd=sequential,
        env=subprocess_env(PYTHONPATH=str(sequential / "src")),
    )
    parents = json.loads(result.stdout)
    assert len(parents) == 20
    for name, namespaces in parents.items():
        # A namespace's seed reads only raw_input; every other node reads its own namespace.
        own = name.split(".")[0]
        assert namespaces == ([] if name.endswith(".node_0") else [own] * len(namespaces))
    # Per namespace: seed -> two 4-node branches -> join: 10 edges, no more.
    assert sum(map(len, parents.values())) == 2 * 10


def test_parallel_rows_say_why_they_are_skipped_or_have_ratios(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    rows, payload = bench(
        tmp_path,
        "--only",
        "parallel",
        *("--parallel-nodes", "20", "--wide-nodes", "10", "--wide-work", "1000"),
        *("--keep", str(work)),
    )

    wide = "wide 10-node job (2 independent branches, 1000 loop rounds per node)"
    figure = "parallel executor (max_workers 2), whole process"
    assert list(rows) == [
        f"20-node job, {figure}",
        f"{wide}, {figure}",
        f"{wide}, {figure} vs kedro run",
    ]
    goals = [cells[3] for cells in rows.values()]
    assert goals == ["≤ 2x", "-", "-"]
    if "parallel" in payload["skipped"]:
        # The installed kedro-dagster refuses the kind: the reason is its own config error.
        for ours, _anchor, ratio, _goal, met in rows.values():
            assert ours.startswith("not available: ") and "parallel" in ours
            assert (ratio, met) == ("n/a", "skipped")
        return
    for figure_name, (_ours, _anchor, ratio, _goal, _met) in rows.items():
        assert RATIO.match(ratio), (figure_name, ratio)
    assert [cells[1].split("(")[1] for cells in rows.values()] == [
        "kedro run --runner ParallelRunner)",
        "kedro run --runner ParallelRunner)",
        "kedro run, SequentialRunner)",
    ]
    # Our wide run went through the parallel executor and materialized each namespace's result.
    (home,) = (work / "homes").glob("*_launch_par_wide10")
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert materialized_assets(home, dagster_run.run_id) == {"ns_000__result"}


@pytest.mark.parametrize("args", [["--only", "nope"], ["--nodes", "15"], ["--wide-nodes", "15"]])
def test_bad_options_are_refused_before_measuring(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH_RUN), *args],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unknown group(s) nope" in result.stderr or "multiples of 10, got 15" in result.stderr


# ---------------------------------------------------------------------------- load anchor

BENCH_LOAD = REPO / "benchmarks" / "bench_load.py"
BENCH_WORKER = REPO / "benchmarks" / "_bench_worker.py"
# Kedro's before/after_pipeline_run hooks: two ops of every translated job, not node ops.
HOOK_OPS = 2

# Materializes every asset of the hand-written Definitions of the project in argv[1] (built
# in the style argv[2]).
MATERIALIZE_SHAPED = f"""
import sys
sys.path.insert(0, {str(REPO / "benchmarks")!r})
import dagster as dg
from _dagster_shaped_load import build_load_definitions

defs = build_load_definitions(sys.argv[1], "one", sys.argv[2])
job = defs.resolve_implicit_global_asset_job_def()
result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
print("MATERIALIZED", result.success, len(result.get_asset_materialization_events()))
"""


def _load_project(root: Path, n_nodes: int, jobs: str) -> Path:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.bench_load import prepare_project
    finally:
        sys.path.remove(str(REPO))
    prepare_project(root, n_nodes, jobs)
    match_kedro_init_version(root)
    return root


def _worker(project: Path, *args: str) -> dict:
    result = run([sys.executable, str(BENCH_WORKER), *args], cwd=project, env=subprocess_env())
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    return json.loads(line.removeprefix("BENCH_RESULT "))


@pytest.mark.parametrize("style", ["decorators", "constructors"])
@pytest.mark.parametrize("jobs", ["one", "per-namespace"])
def test_load_anchor_has_the_shape_of_the_translation(
    tmp_path: Path, jobs: str, style: str
) -> None:
    project = _load_project(tmp_path / "project", 40, jobs)

    shaped = _worker(project, "shaped", str(project), jobs, style)
    ours = _worker(project, "load", str(project / "src/bench_project/definitions.py"))

    # One op per Kedro node, in one job or one job per namespace (ten nodes each).
    if jobs == "one":
        assert shaped["ops"] == {"shaped_in_process": 40}
        assert ours["ops"] == {"__default__": 40 + HOOK_OPS}
    else:
        namespaces = [f"ns_00{i}" for i in range(4)]
        assert shaped["ops"] == dict.fromkeys(namespaces, 10)
        assert ours["ops"] == dict.fromkeys(namespaces, 10 + HOOK_OPS)
    assert shaped["jobs"] == ours["jobs"]  # with Dagster's implicit asset job
    # raw_input and the 3 persisted datasets of each namespace, with the same lineage.
    assert shaped["assets"] == ours["assets"] == 13
    assert shaped["asset_deps"] == ours["asset_deps"] == 33
    assert shaped["nodes"] == 40 and shaped["seconds"] > 0 and shaped["cpu_s"] > 0


@pytest.mark.parametrize("style", ["decorators", "constructors"])
def test_load_anchor_assets_write_what_kedro_run_writes(tmp_path: Path, style: str) -> None:
    kedro_side = _generated(tmp_path / "kedro_side", 40)
    kedro_run(kedro_side)
    dagster_side = _generated(tmp_path / "dagster_side", 40)

    result = run(
        [sys.executable, "-c", MATERIALIZE_SHAPED, str(dagster_side), style],
        cwd=dagster_side,
        env=subprocess_env(),
    )

    assert "MATERIALIZED True 12" in result.stdout.splitlines()
    assert_same_outputs(persisted_outputs(kedro_side), dagster_side)


def _load_table(tmp_path: Path, *args: str) -> tuple[dict[str, str], str, Path]:
    """``bench_load.py`` at 20 nodes, one job, one run: its table's row, stdout and --out."""
    out = tmp_path / "results.md"
    result = run(
        [
            *(sys.executable, str(BENCH_LOAD), "--sizes", "20", "--repeat", "1"),
            *("--warmup", "0", "--jobs", "one", "--no-compile", "--out", str(out), *args),
        ],
        cwd=tmp_path,
        env=subprocess_env(),
    )
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| nodes |"))
    columns = [cell.strip() for cell in header.strip("|").split("|")]
    cells = [cell.strip() for cell in lines[lines.index(header) + 2].strip("|").split("|")]
    return dict(zip(columns, cells, strict=True)), result.stdout, out


def test_load_table_reports_the_anchors(tmp_path: Path) -> None:
    row, stdout, out = _load_table(tmp_path)

    assert (row["jobs"], row["project"]) == ("one", "chain")
    for anchor in ("shaped", "lean"):
        for column in (
            f"{anchor} (s)",
            f"load/{anchor}",
            f"CPU {anchor} (s)",
            f"CPU load/{anchor}",
        ):
            assert re.fullmatch(r"\d+\.\d\d", row[column]), (column, row[column])
    assert re.fullmatch(r"\d+\.\d\d", row["load/floor"]), row
    assert (
        "20 nodes (one): 22 ops, 7 assets, 15 asset deps translated, "
        "20 ops, 7 assets, 15 asset deps shaped, 20 ops, 7 assets, 15 asset deps lean."
    ) in stdout
    assert out.read_text(encoding="utf-8") in stdout


def test_load_table_measures_the_wide_project(tmp_path: Path) -> None:
    row, stdout, _ = _load_table(tmp_path, "--shapes", "wide")

    assert (row["jobs"], row["project"]) == ("one", "wide")
    assert re.fullmatch(r"\d+\.\d\d", row["CPU load/floor"]), row
    # The anchors are written for the chain shape: not measured on the wide one.
    assert row["CPU load/lean"] == row["CPU load/shaped"] == "n/a"
    # Two independent namespaces: raw_input and each namespace's persisted result.
    assert "20 nodes (one, wide): 2 jobs, 3 assets." in stdout
