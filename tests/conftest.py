"""Shared fixtures: real Kedro projects on disk, real `kedro run`, real Dagster runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from compat import match_kedro_init_version

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "spaceflights"
BIN = Path(sys.executable).parent
KEDRO = str(BIN / "kedro")

# Kedro's save versions: milliseconds under `kedro run`, microseconds under Dagster.
_VERSION_DIR = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}(?:\d{3})?Z")
_OUTPUT_IGNORE = shutil.ignore_patterns(".dagster_home", "__pycache__", "sessions", ".telemetry")

#: CI sets CI=true: there a test whose service is missing fails instead of skipping green.
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_service(reason: str) -> None:
    """Skip a test whose service (Redis, PostgreSQL, Chromium...) is missing; fail it in CI."""
    if IN_CI:
        pytest.fail(f"{reason}\n(CI=true: a missing service fails the suite instead of skipping)")
    pytest.skip(reason)


# Evaluates the project's `kedro_on_pipeline_error` sensor once, against the single failed run
# of `$DAGSTER_HOME`, as the daemon would (argv[1]: the project folder).
FAILURE_SENSOR_SCRIPT = """
import sys
import dagster as dg
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context
from kedro_dagster import KedroProjectTranslator

defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
sensor = defs.get_sensor_def("kedro_on_pipeline_error")
with DagsterInstance.get() as instance:
    (failed,) = [r for r in instance.get_runs() if r.status == dg.DagsterRunStatus.FAILURE]
    (entry,) = instance.all_logs(failed.run_id, of_type=DagsterEventType.RUN_FAILURE)
    context = build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=entry.dagster_event,
        dagster_instance=instance,
        dagster_run=failed,
    ).for_run_failure()
    sensor(context)
print("SENSOR_EVALUATED")
"""


# Re-executes a failed run from failure, as the UI's "Re-execute from failure" does
# (argv: the failed run id, the job, the project package); prints the new run's id and success.
REEXECUTION_SCRIPT = """
import os
import sys

from dagster import DagsterInstance, ReexecutionOptions, execute_job
from dagster._core.definitions.reconstruct import ReconstructableRepository

repository = ReconstructableRepository.for_module(
    sys.argv[3] + ".definitions", "defs", working_directory=os.getcwd()
)
job = repository.get_reconstructable_job(sys.argv[2])
with DagsterInstance.get() as instance:
    options = ReexecutionOptions.from_failure(sys.argv[1], instance)
    result = execute_job(job, instance=instance, reexecution_options=options)
    print("REEXECUTION", result.run_id, result.success)
"""

#: The executors the parity tests run jobs under, as `dagster.yml` declares them.
EXECUTORS = {
    "in_process": {"sequential": {"in_process": {}}},
    "multiprocess": {"parallel": {"multiprocess": {"max_concurrent": 2}}},
    "pool": {"pool": {"parallel": {"max_workers": 2}}},
}


def copy_project(src: Path, dest: Path) -> Path:
    """Copy a Kedro project without generated outputs (raw inputs kept)."""
    shutil.copytree(src, dest, ignore=_OUTPUT_IGNORE)
    data = dest / "data"
    if data.is_dir():
        for folder in data.iterdir():
            if folder.is_dir() and folder.name != "01_raw":
                for item in folder.iterdir():
                    if item.name != ".gitkeep":
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
    (dest / ".telemetry").write_text("consent: false\n")
    match_kedro_init_version(dest)
    return dest


def same_data(left: object, right: object) -> bool:
    """Whether two loaded objects hold the same data (DataFrames by `equals`, models by value)."""
    import numpy as np
    import pandas as pd

    if type(left) is not type(right):
        return False
    if isinstance(left, (pd.DataFrame, pd.Series, pd.Index)):
        return bool(left.equals(right))
    if isinstance(left, np.ndarray):
        return bool(np.array_equal(left, right, equal_nan=left.dtype.kind in "fc"))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_data(left[k], right[k]) for k in left)
    if isinstance(left, (list, tuple)):
        return len(left) == len(right) and all(map(same_data, left, right))
    if hasattr(left, "__dict__") and not isinstance(left, type):
        # A model (e.g. a fitted estimator): same class and same fitted attributes, so the
        # same predictions.
        return same_data(vars(left), vars(right))
    return bool(left == right)


class Output(bytes):
    """The bytes of a file a run wrote, equal to another's when their data are equal.

    Pickle and Parquet files hold the same data under different bytes across processes and
    library versions (pandas 2 pickles a DataFrame that crossed a process boundary in another
    block layout): when the bytes differ, both files are loaded and compared as data.
    """

    suffix: str

    def __new__(cls, data: bytes, suffix: str) -> Output:
        output = super().__new__(cls, data)
        output.suffix = suffix
        return output

    def __eq__(self, other: object) -> bool:
        if bytes.__eq__(self, other) is True:
            return True
        if not isinstance(other, Output) or other.suffix != self.suffix:
            return False
        if self.suffix in {".pickle", ".pkl"}:
            import pickle

            return same_data(pickle.loads(self), pickle.loads(other))
        if self.suffix == ".parquet":
            import io

            import pandas as pd

            return same_data(pd.read_parquet(io.BytesIO(self)), pd.read_parquet(io.BytesIO(other)))
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = bytes.__hash__


def persisted_outputs(project: Path) -> dict[str, Output]:
    """Every file a run wrote under data/ (raw inputs excluded), version folders normalized."""
    outputs: dict[str, Output] = {}
    data = project / "data"
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.name == ".gitkeep":
            continue
        rel = path.relative_to(data).as_posix()
        if rel.startswith("01_raw/"):
            continue
        outputs[_VERSION_DIR.sub("<version>", rel)] = Output(path.read_bytes(), path.suffix)
    return outputs


def subprocess_env(dagster_home: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KEDRO_ENV", None)
    env.pop("KEDRO_DAGSTER_NOTICES_SHOWN", None)  # notices given by this test process
    env["PYTHONWARNINGS"] = env.get("PYTHONWARNINGS", "")
    if dagster_home is not None:
        dagster_home.mkdir(parents=True, exist_ok=True)
        env["DAGSTER_HOME"] = str(dagster_home)
    env.update(extra)
    return env


def run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({result.returncode}) in {cwd}\n"
            f"--- stdout (tail) ---\n{result.stdout[-6000:]}\n"
            f"--- stderr (tail) ---\n{result.stderr[-6000:]}"
        )
    return result


def kedro_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`kedro run` with the given CLI filters."""
    return run([KEDRO, "run", *args], cwd=project, env=subprocess_env())


def dagster_launch(
    project: Path, job: str, dagster_home: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run a job through Dagster (`kedro dagster launch`, i.e. `dg launch`) in a SQLite instance."""
    return run(
        [KEDRO, "dagster", "launch", "--job", job, *args],
        cwd=project,
        env=subprocess_env(dagster_home),
    )


def run_both_logging_hooks(
    kedro_side: Path,
    dagster_side: Path,
    job: str,
    dagster_home: Path,
    kedro_args: Sequence[str] = (),
    launch_args: Sequence[str] = (),
) -> tuple[Path, Path]:
    """`kedro run` on one copy, `kedro dagster launch --job` on the other, hooks logging.

    The projects' hooks write their calls to ``HOOK_LOG``; returns the two logs (`kedro run`'s,
    then Dagster's), next to ``dagster_home``.
    """
    kedro_log = dagster_home.parent / "kedro.jsonl"
    dagster_log = dagster_home.parent / "dagster.jsonl"
    run([KEDRO, "run", *kedro_args], cwd=kedro_side, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    run(
        [KEDRO, "dagster", "launch", "--job", job, *launch_args],
        cwd=dagster_side,
        env=subprocess_env(dagster_home, HOOK_LOG=str(dagster_log)),
    )
    return kedro_log, dagster_log


def write_dagster_yml(project: Path, config: dict, env: str = "base") -> None:
    path = project / "conf" / env / "dagster.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def launch_default_job(
    root: Path,
    package: str,
    executor: str,
    registry: str,
    nodes_py: str,
    catalog: dict[str, Any] | None = None,
) -> tuple[Path, Path, Any]:
    """A project whose `__default__` job runs under `EXECUTORS[executor]`, launched once.

    Returns the project, its `DAGSTER_HOME` and the run, which succeeded.
    """
    from kedro_factory import make_project

    (executor_name,) = EXECUTORS[executor]
    project = make_project(
        root / "project",
        package,
        catalog=catalog,
        registry=registry,
        dagster={
            "executors": EXECUTORS[executor],
            "jobs": {
                "__default__": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": executor_name,
                }
            },
        },
    )
    (project / "src" / package / "nodes.py").write_text(nodes_py)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    home = root / "home"
    run([KEDRO, "dagster", "launch", "--job", "__default__"], cwd=project, env=subprocess_env(home))
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    return project, home, dagster_run


def runs_in(dagster_home: Path) -> list:
    """The runs recorded in a DAGSTER_HOME instance, newest first."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return list(instance.get_runs())


def event_log_messages(dagster_home: Path, run_id: str) -> list[tuple[int, str, str | None]]:
    """(level, message, step key) of each plain message (not a Dagster event) of a run."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return [
            (entry.level, entry.user_message, entry.step_key)
            for entry in instance.all_logs(run_id)
            if entry.dagster_event is None
        ]


def materialized_assets(dagster_home: Path, run_id: str) -> set[str]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        return {e.dagster_event.asset_key.to_user_string() for e in entries if e.dagster_event}


def assert_same_outputs(expected: dict[str, Output], project: Path) -> None:
    """`project` holds exactly the persisted outputs `expected` (those of `kedro run`)."""
    actual = persisted_outputs(project)
    assert sorted(actual) == sorted(expected)
    different = [name for name in expected if actual[name] != expected[name]]
    assert not different, f"outputs differ from kedro run's: {different}"


def assert_parity(expected: dict[str, Output], project: Path, home: Path, job: str) -> str:
    """The Dagster side wrote exactly `expected`, its only run succeeded, with materializations."""
    assert_same_outputs(expected, project)
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert dagster_run.tags["kedro/job"] == job
    assert materialized_assets(home, dagster_run.run_id)
    return dagster_run.run_id


@pytest.fixture
def example_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Factory of fresh copies of the spaceflights example."""

    def make(name: str) -> Path:
        return copy_project(EXAMPLE, tmp_path / name)

    return make


@pytest.fixture(scope="session")
def generated_100(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project of 100 nodes in 10 namespaces, with our definitions.py."""
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks.generate_project import generate_project
    finally:
        sys.path.remove(str(REPO))
    root = generate_project(tmp_path_factory.mktemp("gen") / "bench_project", 100)
    (root / ".telemetry").write_text("consent: false\n")
    match_kedro_init_version(root)
    run([KEDRO, "dagster", "init"], cwd=root, env=subprocess_env())
    return root


@pytest.fixture
def dagster_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    yield home
