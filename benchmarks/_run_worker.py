"""One in-process run measurement, run by ``bench_run.py`` in a fresh interpreter.

Usage::

    python benchmarks/_run_worker.py ours    DEFINITIONS_PY JOB   [--warmup K]
    python benchmarks/_run_worker.py dagster CHAIN_JOB N_OPS      [--warmup K]
    python benchmarks/_run_worker.py shaped  PROJECT_DIR          [--warmup K]
    python benchmarks/_run_worker.py kedro   PROJECT_DIR          [--warmup K]

``ours`` loads a Kedro project's ``definitions.py`` (as Dagster does, by file) and runs the
job ``JOB`` with ``dagster.execute_job`` on the instance of ``$DAGSTER_HOME``; ``dagster``
does the same with a hand-written chain of ``_dagster_chain.py``; ``shaped`` with the
hand-written job of ``_dagster_shaped.py`` of a generated project's shape (in that project's
directory, writing its persisted files where ``kedro run`` writes them); ``kedro`` runs the
project's ``__default__`` pipeline with ``KedroSession.run()`` (SequentialRunner).

Imports, loading and translation happen before the clock starts: only the run itself is
timed (wall clock and the process's CPU time). ``K`` untimed runs come first in the same
process (default 1), so one-off lazy imports of the first run are excluded too. The result
is printed as one ``BENCH_RESULT {json}`` line on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
BENCH_DIR = Path(__file__).resolve().parent


class _Clock:
    """Wall and CPU time of the block it wraps."""

    def __enter__(self) -> _Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def _timed(run_once: Callable[[], dict[str, Any]], warmup: int) -> dict[str, Any]:
    """The last of ``warmup + 1`` runs; each run times itself (``wall``, ``cpu``)."""
    for _ in range(warmup):
        run_once()
    return run_once()


def _execute(job: Any) -> dict[str, Any]:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        with _Clock() as clock:
            result = dg.execute_job(job, instance=instance)  # runs the job before returning
        with result:
            kinds = Counter(event.event_type_value for event in result.all_events)
            if not result.success:
                raise RuntimeError(f"run {result.run_id} failed: {dict(kinds)}")
        return {
            "wall": clock.wall,
            "cpu": clock.cpu,
            "steps": kinds["STEP_SUCCESS"],
            "events": sum(kinds.values()),
        }


def ours(definitions_py: str, job_name: str, warmup: int) -> dict[str, Any]:
    """Run ``job_name`` of a translated Kedro project in this process."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    path = Path(definitions_py).resolve()
    project = path.parents[2]
    os.chdir(project)
    sys.path.insert(0, str(path.parents[1]))
    repository = ReconstructableRepository.for_file(
        str(path), "defs", working_directory=str(project)
    )
    job = repository.get_reconstructable_job(job_name)
    job.get_definition()  # translation happens here, before the clock
    return _timed(lambda: _execute(job), warmup)


def dagster_chain(job_name: str, n_ops: int, warmup: int) -> dict[str, Any]:
    """Run a hand-written chain job of ``_dagster_chain.py`` in this process."""
    os.environ["BENCH_CHAIN_NODES"] = str(n_ops)
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_file(
        str(BENCH_DIR / "_dagster_chain.py"), "defs", working_directory=str(BENCH_DIR)
    )
    job = repository.get_reconstructable_job(job_name)
    job.get_definition()
    return _timed(lambda: _execute(job), warmup)


def dagster_shaped(project_dir: str, warmup: int) -> dict[str, Any]:
    """Run ``_dagster_shaped.py``'s hand-written job of the project in ``project_dir``."""
    project = Path(project_dir).resolve()
    os.chdir(project)
    os.environ["BENCH_SHAPED_PROJECT"] = str(project)
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_file(
        str(BENCH_DIR / "_dagster_shaped.py"), "defs", working_directory=str(BENCH_DIR)
    )
    job = repository.get_reconstructable_job("shaped_in_process")
    job.get_definition()
    return _timed(lambda: _execute(job), warmup)


def kedro(project_dir: str, warmup: int) -> dict[str, Any]:
    """``kedro run`` of ``__default__`` in this process, only ``session.run()`` timed."""
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    project = Path(project_dir).resolve()
    os.chdir(project)
    bootstrap_project(project)
    n_nodes = len(pipelines["__default__"].nodes)

    def run_once() -> dict[str, Any]:
        # A session runs only once: a new one per run, created before the clock.
        with KedroSession.create(project_path=project) as session, _Clock() as clock:
            session.run()
        return {"wall": clock.wall, "cpu": clock.cpu, "steps": n_nodes}

    return _timed(run_once, warmup)


def main(argv: list[str]) -> int:
    """Run one measurement and print its ``BENCH_RESULT`` line."""
    parser = argparse.ArgumentParser(description=__doc__.split("Usage::")[0] if __doc__ else None)
    parser.add_argument("mode", choices=["ours", "dagster", "shaped", "kedro"])
    parser.add_argument("target")
    parser.add_argument("extra", nargs="?")
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    if args.mode == "ours":
        result = ours(args.target, args.extra or "__default__", args.warmup)
    elif args.mode == "dagster":
        result = dagster_chain(args.target, int(args.extra or 20), args.warmup)
    elif args.mode == "shaped":
        result = dagster_shaped(args.target, args.warmup)
    else:
        result = kedro(args.target, args.warmup)
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
