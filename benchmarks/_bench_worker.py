"""One timed measurement, run by ``bench_load.py`` in a fresh interpreter.

Usage::

    python benchmarks/_bench_worker.py floor PROJECT_DIR
    python benchmarks/_bench_worker.py load  PROJECT_DIR/src/<pkg>/definitions.py
    python benchmarks/_bench_worker.py job   PROJECT_DIR/src/<pkg>/definitions.py JOB_NAME
    python benchmarks/_bench_worker.py shaped PROJECT_DIR JOBS [STYLE]

``load`` resolves every job (``bench_load.py``); ``job`` records two times in one
interpreter, when the ``Definitions`` are built and when the one job ``JOB_NAME`` is
resolved, plus the job's op count (``bench_partitions.py``); ``shaped`` does the floor's
work, then builds and resolves the hand-written Dagster ``Definitions`` of the same project
(``_dagster_shaped_load.py``) in the jobs shape ``JOBS`` (``one`` or ``per-namespace``) and
``STYLE`` (``decorators``, the default, or ``constructors``): ``bench_load.py``'s anchors.

The clock starts before any third-party import (only ``time`` is imported first), so the
measured time includes importing kedro, dagster, the project and the translator. The
result is printed as one ``BENCH_RESULT {json}`` line on stdout; on failure the traceback
goes to stderr and the exit code is non-zero.
"""

import time

_T0 = time.perf_counter()
_CPU0 = time.process_time()

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

RESULT_PREFIX = "BENCH_RESULT "


def _cpu_s() -> float:
    """CPU time (user + system) since the clock started: steadier than wall time when busy."""
    return time.process_time() - _CPU0


def _peak_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _floor_work(project_path: str) -> dict:
    """Bootstrap, config, catalog, all pipelines, parameters, dagster: the floor's work."""
    from pathlib import Path

    from kedro.framework.startup import bootstrap_project

    path = Path(project_path).resolve()
    bootstrap_project(path)

    from kedro.framework.project import pipelines, settings

    config_loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(path / settings.CONF_SOURCE),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    catalog = settings.DATA_CATALOG_CLASS.from_config(config_loader["catalog"])
    n_nodes = 0
    for name in list(pipelines.keys()):
        pipeline = pipelines[name]
        if name == "__default__":
            n_nodes = len(pipeline.nodes)
    parameters = config_loader["parameters"]

    import dagster

    return {
        "nodes": n_nodes,
        "pipelines": len(pipelines),
        "parameters": len(parameters),
        "catalog": type(catalog).__name__,
        "dagster": dagster.__version__,
    }


def floor(project_path: str) -> dict:
    """Unavoidable work: bootstrap, config, catalog, all pipelines, parameters, dagster."""
    counts = _floor_work(project_path)
    elapsed = time.perf_counter() - _T0
    return {"seconds": elapsed, "cpu_s": _cpu_s(), "peak_mb": _peak_mb(), **counts}


def shaped(project_path: str, jobs: str, style: str = "decorators") -> dict:
    """The floor's work, then a hand-written Dagster code location of the same project.

    ``_dagster_shaped_load.build_load_definitions`` (plain Dagster, no kedro-dagster) in the
    jobs shape ``jobs`` and ``style`` (decorators or constructors), every job resolved as
    ``load`` does: Dagster's own cost of the definitions any deployment of the project needs.
    """
    counts = _floor_work(project_path)
    bench_dir = os.path.dirname(os.path.abspath(__file__))
    if bench_dir not in sys.path:
        sys.path.insert(0, bench_dir)
    from _dagster_shaped_load import build_load_definitions

    defs = build_load_definitions(project_path, jobs, style)
    resolved = _resolve_jobs(defs)
    elapsed = time.perf_counter() - _T0
    cpu = _cpu_s()
    peak = _peak_mb()
    # Not timed: the shape, to compare with the translation's.
    return {
        "seconds": elapsed,
        "cpu_s": cpu,
        "peak_mb": peak,
        **counts,
        **shape_counts(defs, resolved),
    }


def _resolve_jobs(defs: Any) -> list:
    if hasattr(defs, "resolve_all_job_defs"):
        return list(defs.resolve_all_job_defs())
    return list(defs.get_repository_def().get_all_jobs())


def shape_counts(defs: Any, jobs: list) -> dict:
    """Jobs, ops per job, assets and asset deps of built ``Definitions`` (for the report).

    ``ops`` maps each job but Dagster's implicit asset job to its op count; ``asset_deps``
    counts the (asset, upstream asset) pairs of the asset graph.
    """
    graph = defs.get_repository_def().asset_graph
    keys = graph.get_all_asset_keys()
    return {
        "jobs": len(jobs),
        "ops": {j.name: len(j.graph.nodes) for j in jobs if not j.name.startswith("__ASSET_JOB")},
        "assets": len(keys),
        "asset_deps": sum(len(graph.get(key).parent_keys) for key in keys),
    }


_BUILD: dict[str, float] = {}


def _definitions(definitions_path: str) -> Any:
    """Import ``definitions.py`` by path and return its built ``dagster.Definitions``.

    Records in ``_BUILD["seconds"]`` the time spent calling the lazy ``defs()`` alone (the
    translator's work, after importing dagster, kedro and ``definitions.py``).
    """
    import importlib.util

    import dagster as dg

    module_name = "_kedro_dagster_bench_definitions"
    spec = importlib.util.spec_from_file_location(module_name, definitions_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot load {definitions_path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)

    defs = module.defs
    if not isinstance(defs, dg.Definitions):
        # ``@dg.definitions`` returns a lazy object; calling it builds the Definitions.
        start = time.perf_counter()
        defs = defs()
        _BUILD["seconds"] = time.perf_counter() - start
    if not isinstance(defs, dg.Definitions):
        raise TypeError(f"`defs` resolved to {type(defs).__name__}, not dagster.Definitions")
    return defs


def load(definitions_path: str) -> dict:
    """Import ``definitions.py`` by path and resolve every job, as a Dagster code server would."""
    defs = _definitions(definitions_path)
    jobs = _resolve_jobs(defs)

    elapsed = time.perf_counter() - _T0
    cpu = _cpu_s()
    peak = _peak_mb()
    # Not timed: sanity counts for the report.
    return {"seconds": elapsed, "cpu_s": cpu, "peak_mb": peak, **shape_counts(defs, jobs)}


def job(definitions_path: str, job_name: str) -> dict:
    """Build the ``Definitions`` (timed), then resolve the job ``job_name`` (timed)."""
    defs = _definitions(definitions_path)
    defs_seconds = time.perf_counter() - _T0
    job_def = defs.resolve_job_def(job_name)
    elapsed = time.perf_counter() - _T0
    peak = _peak_mb()
    # Not timed: sanity counts for the report.
    return {
        "defs_seconds": defs_seconds,
        "build_seconds": _BUILD.get("seconds", 0.0),
        "seconds": elapsed,
        "peak_mb": peak,
        "ops": len(job_def.graph.nodes),
        "assets": len(defs.resolve_asset_graph().get_all_asset_keys()),
    }


def main(argv: list) -> int:
    """Run one measurement and print its ``BENCH_RESULT`` line."""
    valid = (
        (len(argv) == 2 and argv[0] in {"floor", "load"})
        or (len(argv) == 3 and argv[0] == "job")
        or (len(argv) in (3, 4) and argv[0] == "shaped")
    )
    if not valid:
        print(__doc__, file=sys.stderr)
        return 2
    mode, target = argv[:2]
    if mode == "job":
        result = job(target, argv[2])
    elif mode == "shaped":
        result = shaped(target, *argv[2:])
    else:
        result = floor(target) if mode == "floor" else load(target)
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
