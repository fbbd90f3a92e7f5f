"""Run benchmarks: kedro-dagster's runs side by side with Dagster's floor and ``kedro run``.

One invocation measures, interleaving the variants and repeating them (``--repeat``,
medians), and prints a Markdown table ``figure | ours | anchor | ratio | goal | met?``:

inprocess
    per-step cost of the ``__default__`` job of a generated project of N nodes
    (``--nodes``) with the in-process executor, ``dagster.execute_job`` on a SQLite
    instance, only the run timed (CPU and wall), against a hand-written N-op Dagster chain
    (``x + 1`` ops, ``mem_io_manager``, and ``fs_io_manager`` for information), a
    hand-written Dagster job of the project's own shape (``_dagster_shaped.py``: the same
    graph and node functions, in-memory intermediates, the persisted datasets written and
    read back as files by IO managers that record their materializations) and ``kedro run``
    (``session.run()`` only). Goal: ours <= 1.3x Dagster's chain, and <= 1.3x the
    same-shape job (Dagster's per-op cost on the same work).
multiprocess
    a 20-node job under the multiprocess executor (``max_concurrent: 2``, forkserver), whole
    ``kedro dagster launch --job`` process, against Dagster's own 20-op chain under the
    multiprocess executor (forkserver preloading its module; ``dagster job execute``, whole
    process), ``kedro run --runner ParallelRunner`` and ``kedro run``. Goal: <= 1.2x Dagster.
parallel
    generated projects under the executor kind ``parallel`` (``max_workers: 2``), whole
    ``launch`` process, against ``kedro run --runner ParallelRunner`` on the same project:
    chains of ``--parallel-nodes`` nodes (default 20 and 200; goal <= 2x at 20 nodes, the
    other sizes are figures) and ``--wide-nodes`` wide projects (default 100: independent
    namespaces of CPU-bound nodes, ``--wide-work`` loop rounds each), those also against
    ``kedro run`` (sequential). Skipped with a "not available" line when the installed
    kedro-dagster refuses that kind.
launch
    ``kedro dagster launch --job __default__`` of a copy of ``examples/spaceflights``
    (in-process executor) against ``kedro run``, both whole process. Goal: <= 1.3x. Also
    against ``kedro run`` plus Dagster's own launch of a job of as many steps (``dagster job
    execute`` of the ``x + 1`` chain): the least both start-ups cost together. And the bounds
    of any launch through Dagster: ``kedro run`` in a process that imported Dagster, then
    also opened its instance, each against ``kedro run`` with the same goal.

Whole-process variants run in a fresh subprocess each; in-process ones in a fresh
interpreter each (``_run_worker.py``), after one untimed run in that interpreter. Every run
has its own temporary ``DAGSTER_HOME`` (SQLite storage), created before a whole-process run is
timed, as a user's instance exists after its first run. The harness measures whatever
kedro-dagster is installed in ``--python``'s environment.

Usage::

    python benchmarks/bench_run.py [--only inprocess,multiprocess,parallel,launch]
                                   [--nodes 50 500] [--parallel-nodes 20 200]
                                   [--wide-nodes 100] [--wide-work 300000]
                                   [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.bench_load import environment_info  # noqa: E402
from benchmarks.generate_project import DEFAULT_WORK, generate_project  # noqa: E402

__all__ = [
    "ParallelSpec",
    "Row",
    "Variant",
    "build_variants",
    "main",
    "measure",
    "parallel_specs",
    "summary_rows",
]

WORKER = BENCH_DIR / "_run_worker.py"
RESULT_PREFIX = "BENCH_RESULT "
PACKAGE = "bench_project"
EXAMPLE = REPO / "examples" / "spaceflights"
GROUPS = ("inprocess", "multiprocess", "parallel", "launch")
MP_NODES = 20  # the multiprocess figures' job size, and the parallel figure with a goal
#: Steps of the spaceflights example's ``__default__`` job (12 nodes, 2 pipeline-hook ops).
LAUNCH_STEPS = 14
PARALLEL_NODES = [MP_NODES, 200]  # default chain sizes of the parallel group
WIDE_NODES = [100]  # default sizes of the parallel group's wide projects
INSTANCE_YAML = "telemetry:\n  enabled: false\n"

GOAL_INPROCESS = 1.3
GOAL_MULTIPROCESS = 1.2
GOAL_PARALLEL = 2.0
GOAL_LAUNCH = 1.3

SEQUENTIAL: dict[str, Any] = {"in_process": {}}
MULTIPROCESS: dict[str, Any] = {"multiprocess": {"max_concurrent": 2, "start_method": "forkserver"}}
PARALLEL: dict[str, Any] = {"parallel": {"max_workers": 2}}


class RunFailed(RuntimeError):
    """A measured command failed; the message ends with its stderr's tail."""


@dataclass
class Variant:
    """One thing measured: a command run once per repetition."""

    key: str
    label: str
    run: Callable[[], dict[str, Any]]
    results: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def median(self, name: str) -> float | None:
        values = [r[name] for r in self.results if r.get(name) is not None]
        return statistics.median(values) if values else None

    def per_step(self, name: str) -> float | None:
        """Median over runs of ``name`` per step, in milliseconds."""
        values = [1000 * r[name] / r["steps"] for r in self.results if r.get("steps")]
        return statistics.median(values) if values else None


# ---------------------------------------------------------------------------- subprocesses


#: Creates the instance's storage in ``DAGSTER_HOME`` (before a whole-process run).
CREATE_INSTANCE = "from dagster import DagsterInstance; DagsterInstance.get().dispose()"


def base_env(
    dagster_home: pathlib.Path | None = None, pythonpath: str | None = None
) -> dict[str, str]:
    """The environment of a measured process: no telemetry, its own instance."""
    env = dict(os.environ)
    env.pop("KEDRO_ENV", None)
    env["KEDRO_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "1"
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    if dagster_home is not None:
        dagster_home.mkdir(parents=True)
        (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML, encoding="utf-8")
        env["DAGSTER_HOME"] = str(dagster_home)
    return env


def _run(
    cmd: list[str], cwd: pathlib.Path, env: dict[str, str], log: pathlib.Path
) -> tuple[float, str]:
    """Run ``cmd`` to completion; its wall time and stdout. Output kept in ``log``.*."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    log.parent.mkdir(parents=True, exist_ok=True)
    log.with_suffix(".out").write_text(proc.stdout, encoding="utf-8")
    log.with_suffix(".err").write_text(proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-25:])
        raise RunFailed(f"`{' '.join(cmd)}` exited {proc.returncode} in {cwd}:\n{tail}")
    return wall, proc.stdout


class Runner:
    """Builds the commands of the variants, each run in its own temporary instance."""

    def __init__(self, python: str, workdir: pathlib.Path, warmup: int):
        self.python = python
        self.bin = pathlib.Path(python).parent
        self.workdir = workdir
        self.warmup = warmup
        self._count = 0

    def _slot(self, key: str) -> tuple[pathlib.Path, pathlib.Path]:
        """A fresh DAGSTER_HOME and log path for one run of ``key``."""
        self._count += 1
        name = f"{self._count:03d}_{key}"
        return self.workdir / "homes" / name, self.workdir / "logs" / name

    def worker(
        self, key: str, cwd: pathlib.Path, pythonpath: str | None, *args: str
    ) -> Callable[[], dict[str, Any]]:
        """An in-process measurement by ``_run_worker.py`` in a fresh interpreter."""

        def run() -> dict[str, Any]:
            home, log = self._slot(key)
            cmd = [self.python, str(WORKER), *args, "--warmup", str(self.warmup)]
            _, out = _run(cmd, cwd, base_env(home, pythonpath), log)
            lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_PREFIX)]
            if not lines:
                raise RunFailed(f"no {RESULT_PREFIX.strip()} line from {' '.join(cmd)}")
            result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
            return result

        return run

    def whole(
        self, key: str, cwd: pathlib.Path, cmd: list[str], pythonpath: str | None = None, **env: str
    ) -> Callable[[], dict[str, Any]]:
        """A whole-process measurement: wall time of ``cmd`` from start to exit."""

        def run() -> dict[str, Any]:
            home, log = self._slot(key)
            run_env = {**base_env(home, pythonpath), **env}
            # Untimed: the instance's storage is created as a user's DAGSTER_HOME already is
            # after its first run (its one-time SQLite migrations are not what a run costs).
            _run(
                [self.python, "-c", CREATE_INSTANCE],
                cwd,
                run_env,
                log.with_name(f"{log.name}_home"),
            )
            wall, _ = _run(cmd, cwd, run_env, log)
            return {"wall": wall}

        return run

    def kedro(self, *args: str) -> list[str]:
        return [str(self.bin / "kedro"), *args]

    def dagster(self, *args: str) -> list[str]:
        return [str(self.bin / "dagster"), *args]


# ---------------------------------------------------------------------------- projects


def _write_dagster_yml(
    project: pathlib.Path, executors: dict[str, Any], jobs: dict[str, Any]
) -> None:
    config = {"executors": executors, "jobs": jobs}
    path = project / "conf" / "base" / "dagster.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def generated(
    runner: Runner,
    name: str,
    n_nodes: int,
    executors: dict[str, Any],
    jobs: dict[str, Any],
    shape: str = "chain",
    work: int = DEFAULT_WORK,
) -> pathlib.Path:
    """A generated project after ``kedro dagster init``, with the given ``dagster.yml``."""
    root = generate_project(runner.workdir / name, n_nodes, PACKAGE, shape, work)
    (root / ".telemetry").write_text("consent: false\n", encoding="utf-8")
    _run(
        runner.kedro("dagster", "init", "--force"), root, base_env(), runner.workdir / "logs" / name
    )
    _write_dagster_yml(root, executors, jobs)
    return root


def _job(executor: str) -> dict[str, Any]:
    return {"pipeline": {"pipeline_name": "__default__"}, "executor": executor}


def copy_example(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the spaceflights example without generated outputs (raw inputs kept)."""
    ignore = shutil.ignore_patterns(".dagster_home", "__pycache__", "sessions", ".telemetry")
    shutil.copytree(EXAMPLE, dest, ignore=ignore)
    for folder in (dest / "data").iterdir():
        if folder.is_dir() and folder.name != "01_raw":
            for item in folder.iterdir():
                if item.name != ".gitkeep":
                    shutil.rmtree(item) if item.is_dir() else item.unlink()
    (dest / ".telemetry").write_text("consent: false\n", encoding="utf-8")
    return dest


_PARALLEL_CHECK = """
import sys, yaml
from kedro_dagster.config import validate_config
try:
    validate_config(yaml.safe_load(open(sys.argv[1])), pipeline_names=["__default__"])
except Exception as exc:
    print(str(exc).splitlines()[0][:300])
    sys.exit(1)
"""


def parallel_refusal(python: str, project: pathlib.Path) -> str | None:
    """Why the installed kedro-dagster refuses the ``parallel`` kind, or None if it accepts it."""
    proc = subprocess.run(
        [python, "-c", _PARALLEL_CHECK, str(project / "conf/base/dagster.yml")],
        capture_output=True,
        text=True,
        env=base_env(),
        check=False,
    )
    if proc.returncode == 0:
        return None
    last_error_line = (proc.stderr.strip().splitlines() or ["refused"])[-1]
    return proc.stdout.strip() or last_error_line


# ---------------------------------------------------------------------------- variants


def inprocess_variants(runner: Runner, n: int) -> list[Variant]:
    """Ours, Dagster's chain (mem and fs IO), its same-shape job and ``kedro run``, in-process.

    The same-shape job runs in the project's directory and writes the files ``kedro run``
    and ours write there (the same bytes: the runs take turns, never at once).
    """
    root = generated(
        runner, f"inproc_{n}", n, {"sequential": SEQUENTIAL}, {"__default__": _job("sequential")}
    )
    src = str(root / "src")
    definitions = str(root / "src" / PACKAGE / "definitions.py")
    chain = f"Dagster {n}-op chain, in_process"
    return [
        Variant(
            f"inprocess.ours.{n}",
            f"ours, {n} nodes, in_process, execute_job",
            runner.worker(f"ours{n}", root, src, "ours", definitions, "__default__"),
        ),
        Variant(
            f"inprocess.dagster_mem.{n}",
            f"{chain}, mem_io_manager",
            runner.worker(
                f"dmem{n}", runner.workdir, None, "dagster", "chain_in_process_mem", str(n)
            ),
        ),
        Variant(
            f"inprocess.dagster_fs.{n}",
            f"{chain}, fs_io_manager",
            runner.worker(
                f"dfs{n}", runner.workdir, None, "dagster", "chain_in_process_fs", str(n)
            ),
        ),
        Variant(
            f"inprocess.dagster_shaped.{n}",
            f"Dagster {n}-op job of the same shape, in_process, files + mem IO",
            runner.worker(f"dshaped{n}", root, src, "shaped", str(root)),
        ),
        Variant(
            f"inprocess.kedro.{n}",
            f"kedro run, {n} nodes, session.run()",
            runner.worker(f"kedro{n}", root, src, "kedro", str(root)),
        ),
    ]


def multiprocess_variants(runner: Runner, root: pathlib.Path) -> list[Variant]:
    """Ours under the multiprocess executor and Dagster's chain under it, whole process."""
    chain_cmd = runner.dagster(
        "job", "execute", "-m", "_dagster_chain", "-a", "defs", "-j", "chain_multiprocess"
    )
    return [
        Variant(
            "multiprocess.ours",
            f"ours, {MP_NODES} nodes, `kedro dagster launch --job mp` (multiprocess)",
            runner.whole(
                "launch_mp", root, runner.kedro("dagster", "launch", "--job", "mp"), _src(root)
            ),
        ),
        Variant(
            "multiprocess.dagster",
            f"Dagster {MP_NODES}-op chain, multiprocess, `dagster job execute`",
            # The module on PYTHONPATH: Dagster's forkserver preloads it (and Dagster).
            runner.whole(
                "dagster_mp",
                runner.workdir,
                chain_cmd,
                str(BENCH_DIR),
                BENCH_CHAIN_NODES=str(MP_NODES),
            ),
        ),
    ]


@dataclass(frozen=True)
class ParallelSpec:
    """One project of the ``parallel`` group: its shape, size and per-node work."""

    shape: str
    nodes: int
    work: int = DEFAULT_WORK

    @property
    def suffix(self) -> str:
        """Key suffix of its variants; none for the 20-node chain (keys as before sizes)."""
        if self.shape == "chain" and self.nodes == MP_NODES:
            return ""
        return f".{self.shape}{self.nodes}"

    @property
    def figure(self) -> str:
        if self.shape == "chain":
            return f"{self.nodes}-node job"
        return (
            f"wide {self.nodes}-node job ({self.nodes // 5} independent branches, "
            f"{self.work} loop rounds per node)"
        )


def parallel_variants(
    runner: Runner, spec: ParallelSpec, refusal_checked: bool
) -> tuple[list[Variant], bool] | str:
    """Ours under the ``parallel`` kind on ``spec``'s project, and its anchors there.

    The 20-node chain's ``kedro run`` anchors come from the multiprocess group's project
    (the same generated files), so only ours is returned for it and the flag says so.
    Returns why the installed version refuses the kind, if it does (checked once).
    """
    name = f"par_{spec.shape}_{spec.nodes}"
    root = generated(
        runner,
        name,
        spec.nodes,
        {"parallel": PARALLEL},
        {"par": _job("parallel")},
        spec.shape,
        spec.work,
    )
    if not refusal_checked:
        refusal = parallel_refusal(runner.python, root)
        if refusal is not None:
            return refusal
    key = spec.suffix.lstrip(".") or str(spec.nodes)
    variants = [
        Variant(
            f"parallel.ours{spec.suffix}",
            f"ours, {spec.figure}, `kedro dagster launch --job par` (parallel)",
            runner.whole(
                f"launch_par_{key}",
                root,
                runner.kedro("dagster", "launch", "--job", "par"),
                _src(root),
            ),
        )
    ]
    if not spec.suffix:
        return variants, True
    variants += kedro_variants(runner, root, spec.shape == "wide", spec)
    return variants, False


def kedro_variants(
    runner: Runner,
    root: pathlib.Path,
    sequential: bool,
    spec: ParallelSpec = ParallelSpec("chain", MP_NODES),
) -> list[Variant]:
    """``kedro run --runner ParallelRunner`` (and ``kedro run``) of ``root``, whole process."""
    key = spec.suffix.lstrip(".") or str(spec.nodes)
    variants = [
        Variant(
            f"kedro.parallel_runner{spec.suffix}",
            f"`kedro run --runner ParallelRunner`, {spec.figure}",
            runner.whole(
                f"kedro_par_{key}",
                root,
                runner.kedro("run", "--runner", "ParallelRunner"),
                _src(root),
            ),
        )
    ]
    if sequential:
        variants.append(
            Variant(
                f"kedro.sequential{spec.suffix}",
                f"`kedro run`, {spec.figure}",
                runner.whole(f"kedro_seq_{key}", root, runner.kedro("run"), _src(root)),
            )
        )
    return variants


def launch_variants(runner: Runner) -> list[Variant]:
    """``kedro dagster launch`` of the spaceflights example, its ``kedro run``, Dagster's floor.

    The floor is what Dagster alone costs to launch a job of the example's step count
    (:data:`LAUNCH_STEPS`): ``dagster job execute`` of the ``x + 1`` chain in an instance on
    disk (interpreter, ``import dagster``, the instance's SQL storage, the job's load, the
    run and its stored events), with no Kedro and no node work. The bounds are ``kedro run``
    in a process that imported Dagster first, then also opened the instance
    (``_kedro_run_importing_dagster.py``): what any launch through Dagster costs at least.
    """
    example = copy_example(runner.workdir / "spaceflights")
    launch = runner.kedro("dagster", "launch", "--job", "__default__")

    def importing_dagster(*args: str) -> list[str]:
        return [runner.python, str(BENCH_DIR / "_kedro_run_importing_dagster.py"), *args]

    chain = runner.dagster(
        "job", "execute", "-m", "_dagster_chain", "-a", "defs", "-j", "chain_in_process_mem"
    )
    return [
        Variant(
            "launch.ours",
            "spaceflights, `kedro dagster launch --job __default__`",
            runner.whole("launch_sf", example, launch, _src(example)),
        ),
        Variant(
            "launch.kedro",
            "spaceflights, `kedro run`",
            runner.whole("kedro_sf", example, runner.kedro("run"), _src(example)),
        ),
        Variant(
            "launch.kedro_import_dagster",
            "spaceflights, `kedro run` in a process that imported Dagster",
            runner.whole("kedro_import_dagster_sf", example, importing_dagster(), _src(example)),
        ),
        Variant(
            "launch.kedro_dagster_instance",
            "spaceflights, `kedro run` in a process that imported Dagster and opened its instance",
            runner.whole(
                "kedro_dagster_instance_sf",
                example,
                importing_dagster("--instance"),
                _src(example),
            ),
        ),
        Variant(
            "launch.dagster",
            f"Dagster {LAUNCH_STEPS}-op chain, in_process, `dagster job execute`",
            runner.whole(
                "dagster_launch",
                runner.workdir,
                chain,
                str(BENCH_DIR),
                BENCH_CHAIN_NODES=str(LAUNCH_STEPS),
            ),
        ),
    ]


def _src(project: pathlib.Path) -> str:
    return str(project / "src")


def parallel_specs(
    parallel_nodes: list[int], wide_nodes: list[int], wide_work: int
) -> list[ParallelSpec]:
    """The ``parallel`` group's projects: chains first, then wide ones."""
    return [ParallelSpec("chain", n) for n in parallel_nodes] + [
        ParallelSpec("wide", n, wide_work) for n in wide_nodes
    ]


def build_variants(
    runner: Runner,
    groups: list[str],
    nodes: list[int],
    specs: list[ParallelSpec] | None = None,
) -> tuple[list[Variant], dict[str, str]]:
    """Prepare the projects and the variants to measure; and the skipped groups' reasons."""
    variants: list[Variant] = []
    skipped: dict[str, str] = {}
    if "inprocess" in groups:
        for n in nodes:
            variants += inprocess_variants(runner, n)
    parallel: list[Variant] = []
    # The 20-node chain's ParallelRunner anchor is the multiprocess group's.
    needs_mp_anchor = False
    if "parallel" in groups:
        for spec in specs if specs is not None else parallel_specs(PARALLEL_NODES, [], 0):
            found = parallel_variants(runner, spec, refusal_checked=bool(parallel))
            if isinstance(found, str):
                skipped["parallel"] = found
                break
            parallel += found[0]
            needs_mp_anchor = needs_mp_anchor or found[1]
    if "multiprocess" in groups or needs_mp_anchor:
        root = generated(
            runner,
            f"mp_{MP_NODES}",
            MP_NODES,
            {"multiprocess": MULTIPROCESS},
            {"mp": _job("multiprocess")},
        )
        if "multiprocess" in groups:
            variants += multiprocess_variants(runner, root)
        variants += kedro_variants(runner, root, sequential="multiprocess" in groups)
    variants += parallel
    if "launch" in groups:
        variants += launch_variants(runner)
    return variants, skipped


def measure(variants: list[Variant], repeat: int) -> None:
    """Run every variant ``repeat`` times, interleaved; a failed variant is not retried."""
    for i in range(repeat):
        for variant in variants:
            if variant.error is not None:
                continue
            try:
                result = variant.run()
            except RunFailed as exc:
                variant.error = str(exc)
                print(f"  [{i + 1}/{repeat}] {variant.key}: FAILED", file=sys.stderr, flush=True)
                continue
            variant.results.append(result)
            cpu = f", cpu {result['cpu']:.2f}s" if "cpu" in result else ""
            steps = f", {result['steps']} steps" if "steps" in result else ""
            print(
                f"  [{i + 1}/{repeat}] {variant.key}: wall {result['wall']:.2f}s{cpu}{steps}",
                file=sys.stderr,
                flush=True,
            )


# ---------------------------------------------------------------------------- report


@dataclass
class Row:
    """One line of the summary table."""

    figure: str
    ours: float | None
    anchor: float | None
    anchor_label: str
    unit: str
    goal: float | None = None
    note: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.anchor is None or self.anchor <= 0:
            return None
        return self.ours / self.anchor

    @property
    def met(self) -> str:
        if self.note is not None:
            return "skipped"
        if self.goal is None:
            return "-"
        if self.ratio is None:
            return "n/a"
        return "yes" if self.ratio <= self.goal else "no"

    def cells(self) -> list[str]:
        ours = self.note if self.note is not None else _fmt(self.ours, self.unit)
        anchor = f"{_fmt(self.anchor, self.unit)} ({self.anchor_label})"
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.2f}x"
        goal = "-" if self.goal is None else f"≤ {self.goal:g}x"
        return [self.figure, ours, anchor, ratio, goal, self.met]

    def as_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "ours": self.ours,
            "anchor": self.anchor,
            "anchor_label": self.anchor_label,
            "unit": self.unit,
            "ratio": self.ratio,
            "goal": self.goal,
            "met": self.met,
            "note": self.note,
        }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f} {unit}" if unit == "ms/step" else f"{value:.2f} {unit}"


def _minus(ours: float | None, kedro: float | None) -> float | None:
    """Our per-step cost less ``kedro run``'s per node (node code, catalog IO, Kedro's logs).

    What the orchestration adds to a node, to set against a Dagster op doing ``x + 1``.
    """
    if ours is None or kedro is None:
        return None
    return ours - kedro


def _plus(kedro: float | None, dagster: float | None) -> float | None:
    """``kedro run`` plus Dagster's own launch: the least Kedro's work under Dagster costs
    when the two share no start-up."""
    if kedro is None or dagster is None:
        return None
    return kedro + dagster


def summary_rows(
    variants: list[Variant],
    skipped: dict[str, str],
    groups: list[str],
    nodes: list[int],
    specs: list[ParallelSpec] | None = None,
) -> list[Row]:
    """The table's rows, from the medians of the variants."""
    by_key = {v.key: v for v in variants}

    def get(key: str) -> Variant | None:
        return by_key.get(key)

    def per_step(key: str, what: str) -> float | None:
        v = get(key)
        return v.per_step(what) if v else None

    def wall(key: str) -> float | None:
        v = get(key)
        return v.median("wall") if v else None

    rows: list[Row] = []
    if "inprocess" in groups:
        for n in nodes:
            ours, mem, fs, shaped, kedro = (
                f"inprocess.{k}.{n}"
                for k in ("ours", "dagster_mem", "dagster_fs", "dagster_shaped", "kedro")
            )
            chain = f"Dagster {n}-op chain, mem IO"
            same_shape = f"Dagster {n}-op job of the same shape"
            rows += [
                Row(
                    f"in-process, {n} nodes, CPU per step",
                    per_step(ours, "cpu"),
                    per_step(mem, "cpu"),
                    chain,
                    "ms/step",
                    GOAL_INPROCESS,
                ),
                Row(
                    f"in-process, {n} nodes, wall per step",
                    per_step(ours, "wall"),
                    per_step(mem, "wall"),
                    chain,
                    "ms/step",
                    GOAL_INPROCESS,
                ),
                Row(
                    f"in-process, {n} nodes, CPU per step vs a hand-written Dagster job "
                    "of the same shape",
                    per_step(ours, "cpu"),
                    per_step(shaped, "cpu"),
                    same_shape,
                    "ms/step",
                    GOAL_INPROCESS,
                ),
                Row(
                    f"in-process, {n} nodes, wall per step vs a hand-written Dagster job "
                    "of the same shape",
                    per_step(ours, "wall"),
                    per_step(shaped, "wall"),
                    same_shape,
                    "ms/step",
                    GOAL_INPROCESS,
                ),
                Row(
                    f"in-process, {n} nodes, CPU per step vs fs IO",
                    per_step(ours, "cpu"),
                    per_step(fs, "cpu"),
                    f"Dagster {n}-op chain, fs IO",
                    "ms/step",
                ),
                Row(
                    f"in-process, {n} nodes, CPU per step beyond Kedro's own node work",
                    _minus(per_step(ours, "cpu"), per_step(kedro, "cpu")),
                    per_step(mem, "cpu"),
                    chain,
                    "ms/step",
                    GOAL_INPROCESS,
                ),
                Row(
                    f"in-process, {n} nodes, CPU per step vs kedro",
                    per_step(ours, "cpu"),
                    per_step(kedro, "cpu"),
                    "kedro run, SequentialRunner",
                    "ms/step",
                ),
            ]
    if "multiprocess" in groups:
        figure = f"{MP_NODES}-node job, multiprocess (max 2, forkserver), whole process"
        rows += [
            Row(
                figure,
                wall("multiprocess.ours"),
                wall("multiprocess.dagster"),
                f"Dagster {MP_NODES}-op chain, multiprocess",
                "s",
                GOAL_MULTIPROCESS,
            ),
            Row(
                f"{figure} vs ParallelRunner",
                wall("multiprocess.ours"),
                wall("kedro.parallel_runner"),
                "kedro run --runner ParallelRunner",
                "s",
            ),
            Row(
                f"{figure} vs kedro run",
                wall("multiprocess.ours"),
                wall("kedro.sequential"),
                "kedro run",
                "s",
            ),
        ]
    if "parallel" in groups:
        note = f"not available: {skipped['parallel']}" if "parallel" in skipped else None
        for spec in specs if specs is not None else parallel_specs(PARALLEL_NODES, [], 0):
            figure = f"{spec.figure}, parallel executor (max_workers 2), whole process"
            ours = wall(f"parallel.ours{spec.suffix}")
            rows.append(
                Row(
                    figure,
                    ours,
                    wall(f"kedro.parallel_runner{spec.suffix}"),
                    "kedro run --runner ParallelRunner",
                    "s",
                    # The goal is the 20-node chain's; the other projects are figures.
                    GOAL_PARALLEL if not spec.suffix else None,
                    note,
                )
            )
            if spec.shape == "wide":
                rows.append(
                    Row(
                        f"{figure} vs kedro run",
                        ours,
                        wall(f"kedro.sequential{spec.suffix}"),
                        "kedro run, SequentialRunner",
                        "s",
                        note=note,
                    )
                )
    if "launch" in groups:
        rows += [
            Row(
                "spaceflights, `launch --job __default__` (in_process), whole process",
                wall("launch.ours"),
                wall("launch.kedro"),
                "kedro run",
                "s",
                GOAL_LAUNCH,
            ),
            Row(
                "spaceflights, `launch` vs `kedro run` plus Dagster's own launch",
                wall("launch.ours"),
                _plus(wall("launch.kedro"), wall("launch.dagster")),
                f"kedro run + `dagster job execute` of a {LAUNCH_STEPS}-op chain",
                "s",
            ),
            # The goal applied to the least a launch through Dagster costs: no job is run.
            Row(
                "spaceflights, `kedro run` after `import dagster` (no Dagster run)",
                wall("launch.kedro_import_dagster"),
                wall("launch.kedro"),
                "kedro run",
                "s",
                GOAL_LAUNCH,
            ),
            Row(
                "spaceflights, `kedro run` after `import dagster` and opening the instance",
                wall("launch.kedro_dagster_instance"),
                wall("launch.kedro"),
                "kedro run",
                "s",
                GOAL_LAUNCH,
            ),
            Row(
                "spaceflights, `launch` vs `kedro run` after `import dagster` and the instance",
                wall("launch.ours"),
                wall("launch.kedro_dagster_instance"),
                "kedro run, Dagster imported, instance opened",
                "s",
            ),
        ]
    return rows


def render(
    rows: list[Row],
    variants: list[Variant],
    env: dict[str, Any],
    args: argparse.Namespace,
    load: str,
) -> str:
    """The Markdown report: machine, per-variant medians, the summary table."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Machine: {env['platform']} ({env['machine']}), {env['cpus']} CPUs, load average "
        f"{load}; Python {env['python']}, kedro {env['kedro']}, dagster {env['dagster']}, "
        f"kedro-dagster {env['kedro_dagster']}; {now}. Median of {args.repeat} run(s) per "
        "variant, interleaved; SQLite DAGSTER_HOME per run.",
        "",
        "| variant | runs | wall (s) | CPU (s) | steps | wall ms/step | CPU ms/step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        if v.error is not None:
            lines.append(f"| {v.label} | FAILED | | | | | |")
            continue
        steps = v.median("steps")
        lines.append(
            f"| {v.label} | {len(v.results)} | {_num(v.median('wall'), '.2f')} "
            f"| {_num(v.median('cpu'), '.2f')} | {_num(steps, '.0f')} "
            f"| {_num(v.per_step('wall'), '.1f')} | {_num(v.per_step('cpu'), '.1f')} |"
        )
    lines += [
        "",
        "| figure | ours | anchor | ratio | goal | met? |",
        "|---|---:|---:|---:|---:|---|",
    ]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _loadavg() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("Usage::")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups")
    parser.add_argument(
        "--nodes",
        type=int,
        nargs="+",
        default=[50, 500],
        help="project sizes of the in-process figure (multiples of 10)",
    )
    parser.add_argument(
        "--parallel-nodes",
        type=int,
        nargs="*",
        default=PARALLEL_NODES,
        help="chain sizes of the parallel group (multiples of 10; default 20 200; none: no chain)",
    )
    parser.add_argument(
        "--wide-nodes",
        type=int,
        nargs="*",
        default=WIDE_NODES,
        help="wide project sizes of the parallel group (multiples of 10; default 100; none: "
        "no wide project)",
    )
    parser.add_argument(
        "--wide-work",
        type=int,
        default=DEFAULT_WORK,
        help=f"loop rounds per node of the wide projects (default {DEFAULT_WORK}, ~35 ms)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (median)")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs inside each in-process interpreter first",
    )
    parser.add_argument("--json", type=pathlib.Path, help="write every run and row here")
    parser.add_argument("--python", default=sys.executable, help="interpreter measured")
    parser.add_argument(
        "--keep", type=pathlib.Path, help="work (projects, instances, logs) here and keep it"
    )
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")
    for option in ("nodes", "parallel_nodes", "wide_nodes"):
        for n in getattr(args, option):
            if n <= 0 or n % 10:
                flag = "--" + option.replace("_", "-")
                parser.error(f"{flag} must be positive multiples of 10, got {n}")
    if args.wide_work < 0:
        parser.error("--wide-work must be >= 0")
    specs = parallel_specs(args.parallel_nodes, args.wide_nodes, args.wide_work)

    env = environment_info(args.python)
    load_before = _loadavg()
    print(
        f"Python {env['python']} ({args.python}), kedro {env['kedro']}, dagster "
        f"{env['dagster']}, kedro-dagster {env['kedro_dagster']}; load {load_before}",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="kedro_dagster_run_bench_") as tmp:
        workdir = args.keep.resolve() if args.keep else pathlib.Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        runner = Runner(args.python, workdir, args.warmup)
        try:
            variants, skipped = build_variants(runner, groups, args.nodes, specs)
        except RunFailed as exc:
            print(f"SETUP FAILED: {exc}", file=sys.stderr)
            return 1
        for group, reason in skipped.items():
            print(f"{group}: not available ({reason})", file=sys.stderr)
        measure(variants, args.repeat)

    rows = summary_rows(variants, skipped, groups, args.nodes, specs)
    load = f"{load_before} before, {_loadavg()} after"
    report = render(rows, variants, env, args, load)
    print(report)
    failed = [v for v in variants if v.error is not None]
    for v in failed:
        print(f"FAILED {v.key}: {v.error}", file=sys.stderr)
    if args.json:
        payload = {
            "command": [
                pathlib.Path(sys.argv[0]).name,
                *(argv if argv is not None else sys.argv[1:]),
            ],
            "date": dt.datetime.now(dt.timezone.utc).isoformat(),
            "environment": env,
            "load_average": load,
            "skipped": skipped,
            "variants": {
                v.key: {"label": v.label, "runs": v.results, "error": v.error} for v in variants
            },
            "rows": [row.as_dict() for row in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        print(f"Wrote {args.json}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
