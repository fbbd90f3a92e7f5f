"""Measure the translation of partitioned Kedro projects (fan-out of one op per key).

For each number of partition keys K this script generates a project with a chain of M
partitioned nodes and one fan-in (see ``generate_partitioned_project.py``), writes the
``definitions.py`` that ``kedro dagster init`` would create, and times, each in a fresh
interpreter (``_bench_worker.py``):

floor
    ``bootstrap_project`` + config loader + ``DataCatalog.from_config`` + pipelines +
    parameters + ``import dagster``, as in ``bench_load.py``.
load
    importing ``definitions.py`` by path and building the ``Definitions`` (the translation,
    including the ``K * M`` partition ops).
defs()
    inside the load, the call of the lazy ``defs()`` alone: the translator's work including
    its project bootstrap and deferred imports, but not the import of dagster, kedro or
    ``definitions.py`` (much less noisy than ``load - floor``).
job
    the same interpreter, after also resolving the ``__default__`` job
    (``Definitions.resolve_job_def``), i.e. what Dagster does before it can run it.

``translation = load - floor``. The job has ``K * M + 1`` node ops and 2 hook ops; the
translation time should grow linearly with that op count.

Optionally (``--profile``) the largest size is run once more under cProfile, and
(``--run-compare``) a small project is run for real by ``kedro run`` and by
``kedro dagster launch`` (in-process executor).

Usage::

    python benchmarks/bench_partitions.py [--keys 10 100 1000] [--chain 5] [--repeat 3]
                                          [--out benchmarks/results_partitions.md]
                                          [--check-linear] [--profile] [--run-compare]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import pathlib
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

BENCH_DIR = pathlib.Path(__file__).resolve().parent
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR.parent))

from benchmarks.bench_load import (  # noqa: E402
    DEFINITIONS_PY,
    MeasurementError,
    environment_info,
    run_worker,
)
from benchmarks.generate_partitioned_project import (  # noqa: E402
    expected_ops,
    generate_partitioned_project,
)

PACKAGE_NAME = "bench_parts"
JOB_NAME = "__default__"
PROFILE_TOP = 12
RUN_COMPARE_KEYS = 10
RUN_COMPARE_CHAIN = 3


@dataclass
class PartitionResult:
    """Runs of one (K, M) project; medians over the timed runs."""

    n_keys: int
    chain: int
    floor: list[dict] = field(default_factory=list)
    job: list[dict] = field(default_factory=list)

    @property
    def expected_ops(self) -> int:
        return expected_ops(self.n_keys, self.chain)

    @property
    def ops(self) -> int | None:
        return self.job[0]["ops"] if self.job else None

    @property
    def floor_s(self) -> float:
        return statistics.median(r["seconds"] for r in self.floor)

    @property
    def load_s(self) -> float:
        return statistics.median(r["defs_seconds"] for r in self.job)

    @property
    def job_s(self) -> float:
        return statistics.median(r["seconds"] for r in self.job)

    @property
    def build_s(self) -> float:
        return statistics.median(r["build_seconds"] for r in self.job)

    @property
    def resolve_s(self) -> float:
        return statistics.median(r["seconds"] - r["defs_seconds"] for r in self.job)

    @property
    def translation_s(self) -> float:
        return self.load_s - self.floor_s

    @property
    def peak_mb(self) -> float:
        return statistics.median(r["peak_mb"] for r in self.job)


def prepare_project(root: pathlib.Path, n_keys: int, chain: int) -> pathlib.Path:
    """Generate the project and its ``definitions.py``; return the definitions path."""
    generate_partitioned_project(root, n_keys, chain, PACKAGE_NAME)
    definitions = root / "src" / PACKAGE_NAME / "definitions.py"
    definitions.write_text(DEFINITIONS_PY, encoding="utf-8")
    return definitions


def measure(
    python: str, workdir: pathlib.Path, n_keys: int, chain: int, repeat: int, warmup: int
) -> PartitionResult:
    """Measure floor and load+job for one K (runs interleaved, each in a fresh interpreter)."""
    project = workdir / f"parts_{n_keys}x{chain}"
    definitions = prepare_project(project, n_keys, chain)
    result = PartitionResult(n_keys, chain)
    size = result.expected_ops
    for i in range(warmup + repeat):
        floor = run_worker(python, "floor", project, project, size)
        job = run_worker(python, "job", definitions, project, size, JOB_NAME)
        if i >= warmup:
            result.floor.append(floor)
            result.job.append(job)
        label = f"run {i - warmup + 1}" if i >= warmup else f"warm-up {i + 1}"
        print(
            f"  K={n_keys:<5} M={chain} {label}: floor {floor['seconds']:.2f}s, "
            f"load {job['defs_seconds']:.2f}s, job {job['seconds']:.2f}s, {job['ops']} ops",
            file=sys.stderr,
            flush=True,
        )
    if result.ops != size:
        print(f"  WARNING: {result.ops} ops in the job, expected {size}", file=sys.stderr)
    return result


def linearity(results: list[PartitionResult]) -> tuple[list[str], bool]:
    """Growth of translation time against growth of op count; (lines, is_linear).

    Checked on ``load - floor`` (as ``bench_load.py``) and on the in-process ``defs()`` time,
    which excludes imports and so is far less noisy. Linear: growth <= 2x the op growth.
    """
    done = sorted(results, key=lambda r: r.n_keys)
    if len(done) < 2:
        return [], True
    small, large = done[0], done[-1]
    op_growth = (large.ops or 0) / (small.ops or 1)
    lines = []
    linear = True
    for label, attr in (("Translation (load - floor)", "translation_s"), ("`defs()`", "build_s")):
        lo, hi = getattr(small, attr), getattr(large, attr)
        if lo <= 0:
            lines.append(f"{label} at K={small.n_keys} is {lo:.3f}s (within noise): growth n/a.")
            continue
        growth = hi / lo
        ok = growth <= 2 * op_growth
        linear = linear and ok
        verdict = "linear or better" if ok else "SUPERLINEAR"
        lines.append(
            f"{label} K={large.n_keys} / K={small.n_keys} = {growth:.1f} for "
            f"{op_growth:.1f}x the ops: {verdict}."
        )
    # Marginal cost per added op between consecutive sizes: about constant if linear.
    marginal = []
    for a, b in itertools.pairwise(done):
        d_ops = (b.ops or 0) - (a.ops or 0)
        if d_ops > 0:
            marginal.append(
                f"K {a.n_keys}->{b.n_keys}: `defs()` {1000 * (b.build_s - a.build_s) / d_ops:.2f}, "
                f"load - floor {1000 * (b.translation_s - a.translation_s) / d_ops:.2f}, "
                f"resolve {1000 * (b.resolve_s - a.resolve_s) / d_ops:.2f}"
            )
    if marginal:
        lines.append("Marginal cost per added op (ms): " + "; ".join(marginal) + ".")
    return lines, linear


def render_markdown(
    results: list[PartitionResult], env: dict, repeat: int, warmup: int, extra: list[str]
) -> str:
    """Render the results table (machine line, linearity, extras) as Markdown."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Machine: {env['platform']} ({env['machine']}), {env['cpus']} CPUs; "
        f"Python {env['python']}, kedro {env['kedro']}, dagster {env['dagster']}, "
        f"kedro-dagster {env['kedro_dagster']}; {now}. "
        f"Median of {repeat} runs (after {warmup} warm-up), each in a fresh interpreter.",
        "",
        "| K keys | M chain | ops | floor (s) | load (s) | load/floor "
        "| translation (s) = load-floor | `defs()` (s) | resolve job (s) | job/floor | peak MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.n_keys} | {r.chain} | {r.ops} | {r.floor_s:.2f} | {r.load_s:.2f} "
            f"| {r.load_s / r.floor_s:.2f} | {r.translation_s:.2f} | {r.build_s:.2f} "
            f"| {r.resolve_s:.2f} "
            f"| {r.job_s / r.floor_s:.2f} | {r.peak_mb:.0f} |"
        )
    lines.append("")
    lines.extend(linearity(results)[0])
    lines.extend(extra)
    return "\n".join(lines) + "\n"


# Imports first (not profiled), then the translation and the job resolution under cProfile.
_PROFILE_CODE = """
import cProfile, importlib.util, sys
import dagster as dg
import kedro.framework.session
import kedro_dagster.translation
import kedro_dagster.translation.project

spec = importlib.util.spec_from_file_location("_bench_definitions", sys.argv[1])
module = importlib.util.module_from_spec(spec)
profiler = cProfile.Profile()
profiler.enable()
spec.loader.exec_module(module)
defs = module.defs if isinstance(module.defs, dg.Definitions) else module.defs()
job = defs.resolve_job_def(sys.argv[2])
profiler.disable()
profiler.dump_stats(sys.argv[3])
print("ops", len(job.graph.nodes))
"""


def profile(python: str, workdir: pathlib.Path, n_keys: int, chain: int) -> list[str]:
    """Profile one translation + job resolution (imports excluded); hotspots as Markdown."""
    project = workdir / f"parts_{n_keys}x{chain}"
    definitions = project / "src" / PACKAGE_NAME / "definitions.py"
    if not definitions.exists():
        definitions = prepare_project(project, n_keys, chain)
    out = workdir / f"profile_{n_keys}x{chain}.prof"
    cmd = [python, "-c", _PROFILE_CODE, str(definitions), JOB_NAME, str(out)]
    env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    subprocess.run(cmd, cwd=project, env=env, capture_output=True, check=True)
    raw = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    total = max(ct for _, _, _, ct, _ in raw.values())  # exec_module + defs() + resolve

    def label(func: tuple[str, int, str]) -> str:
        path, line, name = func
        short = path.split("site-packages/")[-1].split("/src/")[-1]
        return f"`{short}:{line}({name})`"

    ours = sorted(
        (
            (f, v)
            for f, v in raw.items()
            if "kedro_dagster" in f[0] and f[2] not in {"<module>", "__getattr__"}
        ),
        key=lambda item: item[1][3],
        reverse=True,
    )
    own = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)
    lines = [
        "",
        f"cProfile at K={n_keys}, M={chain}: importing `definitions.py`, building the "
        f"`Definitions` and resolving `{JOB_NAME}`, after the imports of dagster, kedro and "
        f"kedro_dagster ({total:.2f}s under the profiler = 100%).",
        "",
        "Cumulative time, kedro_dagster functions:",
        "",
    ]
    for func, (_, ncalls, _, ct, _) in ours[:PROFILE_TOP]:
        lines.append(f"- {100 * ct / total:5.1f}% {label(func)} ({ncalls} calls)")
    lines += ["", "Own time, any function:", ""]
    for func, (_, ncalls, tt, _, _) in own[:PROFILE_TOP]:
        lines.append(f"- {100 * tt / total:5.1f}% {label(func)} ({ncalls} calls)")
    return lines


def _timed(cmd: list[str], cwd: pathlib.Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def run_compare(python: str, workdir: pathlib.Path, repeat: int) -> list[str]:
    """Wall time of ``kedro run`` vs ``kedro dagster launch`` on a small partitioned project."""
    kedro = str(pathlib.Path(python).with_name("kedro"))
    if not pathlib.Path(kedro).exists():
        kedro = shutil.which("kedro") or "kedro"
    project = workdir / f"run_{RUN_COMPARE_KEYS}x{RUN_COMPARE_CHAIN}"
    generate_partitioned_project(project, RUN_COMPARE_KEYS, RUN_COMPARE_CHAIN, PACKAGE_NAME)
    home = workdir / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KEDRO_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    env["DAGSTER_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(project / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    env.pop("KEDRO_ENV", None)
    _timed([kedro, "dagster", "init"], project, env)
    kedro_s, dagster_s = [], []
    for i in range(repeat):
        kedro_s.append(_timed([kedro, "run"], project, env))
        dagster_s.append(_timed([kedro, "dagster", "launch", "--job", JOB_NAME], project, env))
        print(
            f"  run-compare {i + 1}: kedro run {kedro_s[-1]:.2f}s, "
            f"kedro dagster launch {dagster_s[-1]:.2f}s",
            file=sys.stderr,
            flush=True,
        )
    k, d = statistics.median(kedro_s), statistics.median(dagster_s)
    ops = expected_ops(RUN_COMPARE_KEYS, RUN_COMPARE_CHAIN)
    return [
        "",
        f"Real run, K={RUN_COMPARE_KEYS}, M={RUN_COMPARE_CHAIN} ({ops} ops), wall time of the "
        f"whole command, median of {repeat}: `kedro run` {k:.2f}s, `kedro dagster launch --job "
        f"{JOB_NAME}` (in-process executor, SQLite instance) {d:.2f}s: ratio {d / k:.2f}.",
    ]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("Usage::")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--keys", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--chain", type=int, default=5, help="partitioned nodes M (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per size first")
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=BENCH_DIR / "results_partitions.md",
        help="Markdown output",
    )
    parser.add_argument(
        "--check-linear",
        action="store_true",
        help="exit 3 if translation time grows more than 2x faster than the op count",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile one load of the largest K")
    parser.add_argument(
        "--run-compare",
        action="store_true",
        help=f"time kedro run vs kedro dagster launch at K={RUN_COMPARE_KEYS}, "
        f"M={RUN_COMPARE_CHAIN}",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the measurements")
    parser.add_argument(
        "--keep", type=pathlib.Path, help="generate projects here and keep them (else a tempdir)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or args.chain < 1 or min(args.keys) < 1:
        parser.error("--repeat, --chain and --keys must be >= 1 and --warmup >= 0")

    env = environment_info(args.python)
    print(
        f"Python {env['python']} ({args.python}), kedro {env['kedro']}, "
        f"dagster {env['dagster']}, kedro-dagster {env['kedro_dagster']}",
        file=sys.stderr,
    )
    results: list[PartitionResult] = []
    extra: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kedro_dagster_bench_parts_") as tmp:
        workdir = args.keep.resolve() if args.keep else pathlib.Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            for n_keys in sorted(args.keys):
                results.append(
                    measure(args.python, workdir, n_keys, args.chain, args.repeat, args.warmup)
                )
        except MeasurementError as exc:
            print(f"FAILED: {exc}\n{exc.stderr.rstrip()}", file=sys.stderr)
            return 1
        if args.profile:
            extra += profile(args.python, workdir, max(args.keys), args.chain)
        if args.run_compare:
            extra += run_compare(args.python, workdir, args.repeat)

    report = render_markdown(results, env, args.repeat, args.warmup, extra)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"Wrote {args.out}", file=sys.stderr)
    if args.check_linear and not linearity(results)[1]:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
