"""What loading the definitions costs a Dagster process: the garbage collector, the bench shapes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from compat import RESOLVE_SOURCE
from conftest import REPO, subprocess_env
from kedro_factory import describe, make_project

# Loads the project's definitions twice, as a code server then a reload in the same process
# would, and reports the collector's state after each (argv[1]: the project folder).
GC_STATE = (
    RESOLVE_SOURCE
    + r"""
import gc, sys
from kedro_dagster import KedroProjectTranslator

def state(tag):
    print(tag, gc.isenabled(), gc.get_freeze_count())

state("BEFORE")
defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
resolve(defs, "all_job_defs")
state("FIRST")
KedroProjectTranslator(sys.argv[1]).to_definitions()
state("SECOND")
gc.disable()
KedroProjectTranslator(sys.argv[1]).to_definitions()
state("DISABLED")
"""
)


def _gc_states(project: Path) -> dict[str, tuple[bool, int]]:
    result = subprocess.run(
        [sys.executable, "-c", GC_STATE, str(project)],
        cwd=project,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    states = {}
    for line in result.stdout.splitlines():
        tag, *rest = line.split()
        if tag in {"BEFORE", "FIRST", "SECOND", "DISABLED"}:
            states[tag] = (rest[0] == "True", int(rest[1]))
    return states


def test_first_load_freezes_its_heap_and_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", "gc_proj")
    states = _gc_states(project)

    assert states["BEFORE"] == (True, 0)
    enabled, frozen = states["FIRST"]
    # The collector is back on, and the objects of the first load (imports, definitions)
    # are out of its reach: later collections in runs and job resolution skip them.
    assert enabled
    assert frozen > 10_000
    # A second load in the same process is collectable as usual: nothing more is frozen
    # (frozen objects freed by reference counting leave the count).
    assert states["SECOND"][0]
    assert states["SECOND"][1] <= frozen
    # A process that turned the collector off keeps it off.
    assert not states["DISABLED"][0]
    assert states["DISABLED"][1] <= frozen


def _bench_project(tmp_path: Path, jobs: str) -> Path:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.bench_load import prepare_project
    finally:
        sys.path.remove(str(REPO))
    root = tmp_path / jobs
    prepare_project(root, 30, jobs)
    (root / ".telemetry").write_text("consent: false\n")
    return root


def test_bench_load_jobs_shapes(tmp_path: Path) -> None:
    per_namespace = describe(_bench_project(tmp_path, "per-namespace"))
    assert [j for j in per_namespace["jobs"] if not j.startswith("__ASSET")] == [
        "ns_000",
        "ns_001",
        "ns_002",
    ]
    one = describe(_bench_project(tmp_path, "one"))
    assert [j for j in one["jobs"] if not j.startswith("__ASSET")] == ["__default__"]
    # The same assets whatever the jobs.
    assert sorted(one["assets"]) == sorted(per_namespace["assets"])
