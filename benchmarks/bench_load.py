"""Measure how long Dagster takes to load a translated Kedro project, against a floor.

For each size N this script generates a synthetic Kedro project (see
``generate_project.py``), writes the ``definitions.py`` that ``kedro dagster init``
would create, and times, each in a fresh interpreter (``_bench_worker.py``):

floor
    ``bootstrap_project`` + config loader + ``DataCatalog.from_config`` + loading every
    registered pipeline + parameters + ``import dagster``: the work any Kedro-on-Dagster
    integration must do, whatever the translator.
load
    importing ``definitions.py`` by path and resolving every Dagster job (what a Dagster
    code server does), including the imports of kedro, dagster and kedro_dagster.
shaped
    the floor's work, then building by hand, with plain Dagster and no kedro-dagster, the
    ``Definitions`` a Dagster user would write for the same project (``@op``, ``@job``,
    ``@multi_asset``), and resolving every job (``_dagster_shaped_load.py``): the same node
    ops, assets and asset deps as the translation, in the same jobs shape. A like-for-like
    anchor: Dagster's own cost of the definitions, which the floor does not contain.
lean
    the same definitions through Dagster's constructors (``OpDefinition``,
    ``GraphDefinition``, ``AssetsDefinition.from_op``) instead of its decorators, which
    inspect every function, with the cyclic garbage collector paused while they are built:
    what Dagster costs at least for them through its public API, built as kedro-dagster
    builds its own.

``translation = load - floor`` is the cost attributable to the translator and to Dagster
building its definitions; ``load/shaped`` and ``load/lean`` compare with what Dagster costs
for the same definitions written by hand. The target is load <= 1.5x floor at 1000 nodes
with one job per namespace (<= 1.3x with one job), and a translation time linear in the
number of nodes.

The jobs shape (``--jobs``) is the ``dagster.yml`` written into the project: ``one`` (a
single ``__default__`` job) or ``per-namespace`` (one job per namespace pipeline,
``ns_000`` ... , N/10 jobs). The project shape (``--shapes``) is ``generate_project.py``'s:
``chain`` (the default: namespaces chained into a graph about 0.9 N levels deep) or ``wide``
(independent namespaces of a few levels each, fewer persisted datasets); the anchors are
written for the chain only.

Usage::

    python benchmarks/bench_load.py [--sizes 100 500 1000] [--repeat 3]
                                    [--jobs one per-namespace]
                                    [--out benchmarks/results.md] [--check-linear]
                                    [--no-compile] [--anchors shaped lean | --no-anchors]
                                    [--shapes chain wide]

Before measuring, the bytecode of the ``kedro_dagster`` package the interpreter imports is
written (``compileall``), as installing a package does: kedro and dagster are compiled in
site-packages, and an editable install under ``PYTHONDONTWRITEBYTECODE=1`` would otherwise
recompile the translator's source in every measured interpreter. ``--no-compile`` does not
write it (bytecode already in ``__pycache__``, e.g. from an earlier run, is still read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from string import Template

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR.parent))

from benchmarks.generate_project import SHAPES, generate_project  # noqa: E402

WORKER = BENCH_DIR / "_bench_worker.py"
RESULT_PREFIX = "BENCH_RESULT "
PACKAGE_NAME = "bench_project"
TARGET_LOAD_OVER_FLOOR = 1.5
JOB_SHAPES = ("one", "per-namespace")
#: The hand-written anchors, by name: the ``_dagster_shaped_load.py`` style each builds.
ANCHORS = {"shaped": "decorators", "lean": "constructors"}

# The ``definitions.py`` written into every generated project: the package's own template,
# exactly what `kedro dagster init` writes (definitions.py sits two folders below the root).
DEFINITIONS_PY = Template(
    (REPO / "src/kedro_dagster/templates/definitions.py.tmpl").read_text(encoding="utf-8")
).substitute(depth=2)

_ENV_INFO_CODE = """
import importlib.metadata as m, json, os, platform, sys
def v(name):
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None
print(json.dumps({
    "platform": platform.platform(),
    "machine": platform.machine(),
    "processor": platform.processor(),
    "cpus": os.cpu_count(),
    "python": platform.python_version(),
    "kedro": v("kedro"),
    "dagster": v("dagster"),
    "kedro_dagster": v("kedro-dagster"),
}))
"""


class MeasurementError(RuntimeError):
    """A worker subprocess failed; carries its output."""

    def __init__(self, mode: str, n_nodes: int, returncode: int, stdout: str, stderr: str):
        super().__init__(f"{mode} measurement failed for {n_nodes} nodes (exit {returncode})")
        self.mode = mode
        self.n_nodes = n_nodes
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


@dataclass
class SizeResult:
    n_nodes: int
    jobs: str = "per-namespace"
    shape: str = "chain"
    floor: list[dict] = field(default_factory=list)
    load: list[dict] = field(default_factory=list)
    anchors: dict[str, list[dict]] = field(default_factory=dict)
    load_error: MeasurementError | None = None
    anchor_error: MeasurementError | None = None

    @staticmethod
    def _median(runs: list[dict], key: str) -> float | None:
        return statistics.median(r[key] for r in runs) if runs else None

    @property
    def floor_s(self) -> float | None:
        return self._median(self.floor, "seconds")

    @property
    def load_s(self) -> float | None:
        return self._median(self.load, "seconds")

    @property
    def floor_cpu(self) -> float | None:
        return self._median(self.floor, "cpu_s")

    @property
    def load_cpu(self) -> float | None:
        return self._median(self.load, "cpu_s")

    @property
    def cpu_ratio(self) -> float | None:
        if not self.floor_cpu or self.load_cpu is None:
            return None
        return self.load_cpu / self.floor_cpu

    def anchor_s(self, name: str) -> float | None:
        """Median wall time of the anchor ``name`` (``shaped`` or ``lean``)."""
        return self._median(self.anchors.get(name, []), "seconds")

    def anchor_cpu(self, name: str) -> float | None:
        """Median CPU time of the anchor ``name``."""
        return self._median(self.anchors.get(name, []), "cpu_s")

    def anchor_ratio(self, name: str, cpu: bool = False) -> float | None:
        """Load over the anchor ``name``, wall clock or CPU time."""
        anchor = self.anchor_cpu(name) if cpu else self.anchor_s(name)
        load = self.load_cpu if cpu else self.load_s
        if not anchor or load is None:
            return None
        return load / anchor

    @property
    def floor_mb(self) -> float | None:
        return self._median(self.floor, "peak_mb")

    @property
    def load_mb(self) -> float | None:
        return self._median(self.load, "peak_mb")

    @property
    def translation_s(self) -> float | None:
        if self.floor_s is None or self.load_s is None:
            return None
        return self.load_s - self.floor_s

    @property
    def ratio(self) -> float | None:
        if self.floor_s is None or self.load_s is None:
            return None
        return self.load_s / self.floor_s


def dagster_yml(n_nodes: int, jobs: str) -> str:
    """The ``dagster.yml`` of a jobs shape: one ``__default__`` job, or one per namespace."""
    if jobs == "one":
        names = ["__default__"]
    elif jobs == "per-namespace":
        names = [f"ns_{i:03d}" for i in range(n_nodes // 10)]
    else:
        raise ValueError(f"unknown jobs shape {jobs!r}; use one of {', '.join(JOB_SHAPES)}")
    lines = ["jobs:"]
    for name in names:
        lines += [f"  {name}:", "    pipeline:", f"      pipeline_name: {name}"]
    return "\n".join(lines) + "\n"


def prepare_project(
    root: pathlib.Path, n_nodes: int, jobs: str = "per-namespace", shape: str = "chain"
) -> pathlib.Path:
    """Generate the project, its ``dagster.yml`` and ``definitions.py``; return the latter."""
    generate_project(root, n_nodes, PACKAGE_NAME, shape)
    (root / "conf" / "base" / "dagster.yml").write_text(
        dagster_yml(n_nodes, jobs), encoding="utf-8"
    )
    definitions = root / "src" / PACKAGE_NAME / "definitions.py"
    definitions.write_text(DEFINITIONS_PY, encoding="utf-8")
    return definitions


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never let kedro-telemetry prompt or phone home during measurements.
    env.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_worker(
    python: str, mode: str, target: pathlib.Path, cwd: pathlib.Path, n_nodes: int, *extra: str
) -> dict:
    """Run one measurement in a fresh interpreter and return its parsed result.

    ``extra`` arguments follow the target on the worker's command line (the job name of
    the ``job`` mode used by ``bench_partitions.py``).
    """
    proc = subprocess.run(
        [python, str(WORKER), mode, str(target), *extra],
        cwd=cwd,
        env=_worker_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise MeasurementError(mode, n_nodes, proc.returncode, proc.stdout, proc.stderr)
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


_COMPILE_CODE = """
import compileall, importlib.util, sys
spec = importlib.util.find_spec("kedro_dagster")
folders = list(spec.submodule_search_locations or []) if spec is not None else []
if folders and compileall.compile_dir(folders[0], quiet=1):
    print(folders[0])
"""


def compile_translator(python: str) -> str | None:
    """Write the bytecode of the ``kedro_dagster`` that ``python`` imports, as an install does.

    ``pip``/``uv`` compile an installed package (and Python writes bytecode on first import),
    but an editable install under ``PYTHONDONTWRITEBYTECODE=1`` (this machine) recompiles the
    whole package from source in every fresh interpreter: tens of milliseconds that no user's
    deployment pays, while kedro and dagster, in site-packages, are compiled. Returns the
    package folder, or ``None`` if it is not found or cannot be written.
    """
    done = subprocess.run(
        [python, "-c", _COMPILE_CODE], capture_output=True, text=True, env=_worker_env()
    )
    return done.stdout.strip() or None


def environment_info(python: str) -> dict:
    """Versions and machine of the interpreter that runs the measurements."""
    out = subprocess.run(
        [python, "-c", _ENV_INFO_CODE], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)


def measure_size(
    python: str,
    workdir: pathlib.Path,
    n_nodes: int,
    repeat: int,
    warmup: int,
    skip_load: bool,
    jobs: str = "per-namespace",
    anchors: tuple[str, ...] = tuple(ANCHORS),
    shape: str = "chain",
) -> SizeResult:
    """Measure floor, anchors and load for one size, jobs shape and project shape (runs are
    interleaved). The anchors are hand-written for the chain shape: none for ``wide``."""
    project = (
        workdir / f"project_{n_nodes}_{jobs}"
        if shape == "chain"
        else (workdir / f"project_{n_nodes}_{jobs}_{shape}")
    )
    definitions = prepare_project(project, n_nodes, jobs, shape)
    result = SizeResult(n_nodes, jobs, shape)
    if shape != "chain":
        anchors = ()
    do_load = not skip_load
    for i in range(warmup + repeat):
        timed = i >= warmup
        floor = run_worker(python, "floor", project, project, n_nodes)
        anchor_runs: dict[str, dict] = {}
        for name in anchors if result.anchor_error is None else ():
            try:
                anchor_runs[name] = run_worker(
                    python, "shaped", project, project, n_nodes, jobs, ANCHORS[name]
                )
            except MeasurementError as exc:
                result.anchor_error = exc
                break
        load: dict | None = None
        if do_load:
            try:
                load = run_worker(python, "load", definitions, project, n_nodes)
            except MeasurementError as exc:
                result.load_error = exc
                do_load = False
        if timed:
            result.floor.append(floor)
            if load is not None:
                result.load.append(load)
            for name, run in anchor_runs.items():
                result.anchors.setdefault(name, []).append(run)
        label = f"run {i - warmup + 1}" if timed else f"warm-up {i + 1}"
        print(
            f"  N={n_nodes:<5} jobs={jobs} shape={shape} {label}: floor {floor['seconds']:.2f}s, "
            + "".join(
                f"{name} {_seconds(anchor_runs.get(name), result.anchor_error)}, "
                for name in anchors
            )
            + f"load {_seconds(load, result.load_error)}",
            file=sys.stderr,
            flush=True,
        )
    if result.load_error is not None:
        result.load.clear()
    if result.anchor_error is not None:
        result.anchors.clear()
    return result


def _seconds(run: dict | None, error: MeasurementError | None) -> str:
    return "FAILED" if error else "-" if run is None else f"{run['seconds']:.2f}s"


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def render_markdown(results: list[SizeResult], env: dict, repeat: int, warmup: int) -> str:
    """Render the results table (with machine line and sanity counts) as Markdown."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Machine: {env['platform']} ({env['machine']}), {env['cpus']} CPUs; "
        f"Python {env['python']}, kedro {env['kedro']}, dagster {env['dagster']}, "
        f"kedro-dagster {env['kedro_dagster']}; {now}. "
        f"Median of {repeat} runs (after {warmup} warm-up), each in a fresh interpreter"
        + (
            "; kedro_dagster's bytecode compiled, as installed."
            if env.get("compiled")
            else "; kedro_dagster's bytecode not written first (`--no-compile`)."
        ),
        "",
        "| nodes | jobs | project | floor (s) | load (s) | load/floor "
        "| translation (s) = load-floor "
        "| CPU floor (s) | CPU load (s) | CPU load/floor | peak MB floor | peak MB load "
        + "".join(f"| {a} (s) | load/{a} | CPU {a} (s) | CPU load/{a} " for a in ANCHORS)
        + "|",
        "|---:|---|---|" + "---:|" * (9 + 4 * len(ANCHORS)),
    ]
    for r in results:
        lines.append(
            f"| {r.n_nodes} | {r.jobs} | {r.shape} "
            f"| {_fmt(r.floor_s, '.2f')} | {_fmt(r.load_s, '.2f')} "
            f"| {_fmt(r.ratio, '.2f')} | {_fmt(r.translation_s, '.2f')} "
            f"| {_fmt(r.floor_cpu, '.2f')} | {_fmt(r.load_cpu, '.2f')} "
            f"| {_fmt(r.cpu_ratio, '.2f')} "
            f"| {_fmt(r.floor_mb, '.0f')} | {_fmt(r.load_mb, '.0f')} "
            + "".join(
                f"| {_fmt(r.anchor_s(a), '.2f')} | {_fmt(r.anchor_ratio(a), '.2f')} "
                f"| {_fmt(r.anchor_cpu(a), '.2f')} | {_fmt(r.anchor_ratio(a, cpu=True), '.2f')} "
                for a in ANCHORS
            )
            + "|"
        )
    lines.append("")
    sanity = [
        f"{r.n_nodes} nodes ({_label(r)}): {r.load[0]['jobs']} jobs, {r.load[0]['assets']} assets"
        for r in results
        if r.load
    ]
    if sanity:
        lines.append("Translated: " + "; ".join(sanity) + ".")
    shapes = [
        f"{r.n_nodes} nodes ({_label(r)}): {_shape(r.load[0])} translated"
        + "".join(f", {_shape(runs[0])} {a}" for a, runs in r.anchors.items())
        for r in results
        if r.load and r.anchors
    ]
    if shapes:
        lines.append(
            "Anchors (`_dagster_shaped_load.py`, plain Dagster written by hand: `shaped` with "
            "its decorators, `lean` with its constructors; the same node ops, assets and asset "
            "deps as the translation, whose jobs also hold the two Kedro pipeline-hook ops): "
            + "; ".join(shapes)
            + "."
        )
    for group, members in _groups(results).items():
        for cpu in (False, True):
            linear = linearity_summary(members, cpu=cpu)
            if linear:
                lines.append(f"{group}: {linear[0]}")
    return "\n".join(lines) + "\n"


def _label(r: SizeResult) -> str:
    """``one``, or ``one, wide`` for a project that is not the default chain."""
    return r.jobs if r.shape == "chain" else f"{r.jobs}, {r.shape}"


def _groups(results: list[SizeResult]) -> dict[str, list[SizeResult]]:
    """Results by jobs shape and project shape, the sizes of one linearity check."""
    groups: dict[str, list[SizeResult]] = {}
    for r in results:
        groups.setdefault(_label(r), []).append(r)
    return groups


def _shape(run: dict) -> str:
    """Ops (summed over jobs, implicit asset job excluded), assets and asset deps of a run."""
    ops = run.get("ops")
    op_count = sum(ops.values()) if isinstance(ops, dict) else "?"
    return f"{op_count} ops, {run['assets']} assets, {run.get('asset_deps', '?')} asset deps"


def linearity_summary(
    results: list[SizeResult], cpu: bool = False
) -> tuple[str, float, float] | None:
    """Return (line, ratio, expected) comparing translation time of largest vs smallest N.

    With ``cpu``, translation is the CPU time load - floor (steadier on a busy machine).
    """

    def translation(r: SizeResult) -> float | None:
        if not cpu:
            return r.translation_s
        if r.floor_cpu is None or r.load_cpu is None:
            return None
        return r.load_cpu - r.floor_cpu

    what = "translation CPU" if cpu else "translation"
    done = sorted((r for r in results if translation(r) is not None), key=lambda r: r.n_nodes)
    if len(done) < 2 or done[0].n_nodes == done[-1].n_nodes:
        return None
    small, large = done[0], done[-1]
    expected = large.n_nodes / small.n_nodes
    small_t, large_t = translation(small), translation(large)
    if small_t is None or large_t is None:
        return None
    if small_t <= 0:
        line = (
            f"Linearity: {what} {large.n_nodes}/{small.n_nodes} = n/a "
            f"({what} at {small.n_nodes} nodes is {small_t:.3f}s, within noise)."
        )
        return line, float("nan"), expected
    ratio = large_t / small_t
    verdict = "~linear" if ratio <= 2 * expected else "SUPERLINEAR (quadratic?)"
    line = (
        f"Linearity: {what} {large.n_nodes}/{small.n_nodes} = {ratio:.1f} "
        f"(linear = {expected:.0f}; >> {expected:.0f} flags quadratic): {verdict}."
    )
    return line, ratio, expected


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("Usage::")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per size first")
    parser.add_argument(
        "--out", type=pathlib.Path, default=BENCH_DIR / "results.md", help="Markdown output"
    )
    parser.add_argument(
        "--check-linear",
        action="store_true",
        help="exit 3 if translation time grows more than 2x faster than the node count",
    )
    parser.add_argument(
        "--floor-only", action="store_true", help="measure the floor only (no translator needed)"
    )
    parser.add_argument(
        "--anchors",
        nargs="+",
        choices=list(ANCHORS),
        default=list(ANCHORS),
        help="hand-written Dagster anchors to measure (default: both)",
    )
    parser.add_argument(
        "--no-anchors", action="store_true", help="measure no hand-written Dagster anchor"
    )
    parser.add_argument(
        "--jobs",
        nargs="+",
        choices=JOB_SHAPES,
        default=list(JOB_SHAPES),
        help="jobs shape(s) of the generated dagster.yml (default: both)",
    )
    parser.add_argument(
        "--shapes",
        nargs="+",
        choices=SHAPES,
        default=["chain"],
        help="project shape(s) of generate_project.py (default: chain; wide has no anchors)",
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter for the measurements")
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write kedro_dagster's bytecode first, as installing the package does (default: "
        "on; --no-compile does not write it, existing __pycache__ is still read)",
    )
    parser.add_argument(
        "--keep", type=pathlib.Path, help="generate projects here and keep them (else a tempdir)"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")
    for n in args.sizes:
        if n <= 0 or n % 10:
            parser.error(f"sizes must be positive multiples of 10, got {n}")

    env = environment_info(args.python)
    print(
        f"Python {env['python']} ({args.python}), kedro {env['kedro']}, "
        f"dagster {env['dagster']}, kedro-dagster {env['kedro_dagster']}",
        file=sys.stderr,
    )

    compiled = compile_translator(args.python) if args.compile and not args.floor_only else None
    if compiled:
        print(f"Bytecode of kedro_dagster written in {compiled}/__pycache__", file=sys.stderr)
    env["compiled"] = compiled is not None

    results: list[SizeResult] = []
    error: MeasurementError | None = None
    with tempfile.TemporaryDirectory(prefix="kedro_dagster_bench_") as tmp:
        workdir = args.keep.resolve() if args.keep else pathlib.Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for project_shape in args.shapes:
            for jobs in args.jobs:
                for n in args.sizes:
                    result = measure_size(
                        args.python,
                        workdir,
                        n,
                        args.repeat,
                        args.warmup,
                        skip_load=args.floor_only or error is not None,
                        jobs=jobs,
                        anchors=()
                        if args.floor_only or args.no_anchors or error is not None
                        else tuple(args.anchors),
                        shape=project_shape,
                    )
                    results.append(result)
                    if error is None:
                        error = result.load_error or result.anchor_error

    report = render_markdown(results, env, args.repeat, args.warmup)
    print(report)

    if error is not None:
        print(f"{error.mode.upper()} FAILED: {error}", file=sys.stderr)
        print(f"---- {error.mode} stderr (traceback) ----", file=sys.stderr)
        print(error.stderr.rstrip() or "(empty)", file=sys.stderr)
        if error.stdout.strip():
            print(f"---- {error.mode} stdout (tail) ----", file=sys.stderr)
            print("\n".join(error.stdout.splitlines()[-20:]), file=sys.stderr)
        print(f"Results not written to {args.out}.", file=sys.stderr)
        return 1

    if args.floor_only:
        print(f"--floor-only: results not written to {args.out}.", file=sys.stderr)
        return 0

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(f"Wrote {args.out}", file=sys.stderr)

    if args.check_linear:
        for group, members in _groups(results).items():
            # CPU time: on a shared machine the wall-clock difference is mostly noise.
            linear = linearity_summary(members, cpu=True)
            if linear is None:
                print(
                    f"--check-linear: need at least two sizes with a load result ({group}).",
                    file=sys.stderr,
                )
                return 3
            _, ratio, expected = linear
            if ratio == ratio and ratio > 2 * expected:  # ratio == ratio: not NaN
                return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
