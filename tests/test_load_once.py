"""Each process translates the project once, however often Dagster asks for the definitions."""

from __future__ import annotations

import collections
import sys
import textwrap
from pathlib import Path

import pytest

from compat import RESOLVE_SOURCE
from conftest import BIN, KEDRO, run, runs_in, subprocess_env
from kedro_factory import make_project

# The registry notes each call (one per translation) with the calling process id, and each
# import of its module ("import <pid>").
COUNTING_REGISTRY = """
import os
from pathlib import Path

from kedro.pipeline import Pipeline, node

from {package}.nodes import identity, make_table, summarise

with Path(os.environ["REGISTRY_LOG"]).with_suffix(".imports").open("a") as handle:
    handle.write(f"{{os.getpid()}}\\n")


def register_pipelines():
    log = Path(os.environ["REGISTRY_LOG"])
    with log.open("a") as handle:
        handle.write(f"{{os.getpid()}}\\n")
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
        node(identity, "summary", "copy", name="copy_summary"),
    ])
    return {{"__default__": pipeline}}
"""

DEFINITIONS = """
from pathlib import Path

import dagster as dg

from kedro_dagster import KedroProjectTranslator


@dg.definitions
def defs() -> dg.Definitions:
    return KedroProjectTranslator(project_path=Path(__file__).resolve().parents[2]).to_definitions()
"""


def _project(tmp_path: Path, executor: dict) -> Path:
    project = make_project(
        tmp_path / "project",
        "counted",
        registry=COUNTING_REGISTRY,
        dagster={
            "executors": {"chosen": executor},
            "jobs": {
                "__default__": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "chosen",
                }
            },
        },
    )
    (project / "src/counted/definitions.py").write_text(DEFINITIONS)
    (project / "dg.toml").write_text(
        textwrap.dedent(
            """
            directory_type = "project"

            [project]
            root_module = "counted"
            code_location_target_module = "counted.definitions"
            """
        )
    )
    return project


def _translations(
    tmp_path: Path,
    executor: dict,
    command: tuple[str, ...] = (KEDRO, "dagster"),
    **env: str,
) -> collections.Counter[str]:
    """Translations per process of one `kedro dagster launch --job __default__`."""
    project = _project(tmp_path, executor)
    log = tmp_path / "registry.log"
    home = tmp_path / "home"
    run(
        [*command, "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home, REGISTRY_LOG=str(log), PYTHONPATH=str(project / "src"), **env),
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert (project / "data/summary.csv").is_file()
    return collections.Counter(log.read_text().split())


def test_launch_in_process_translates_once(tmp_path: Path) -> None:
    counts = _translations(tmp_path, {"in_process": {}})
    # One process translates (dg's), once; Dagster asked for the definitions three times.
    assert list(counts.values()) == [1], counts


def test_each_step_process_translates_once(tmp_path: Path) -> None:
    counts = _translations(tmp_path, {"multiprocess": {"max_concurrent": 2}})
    # dg's process and one per step (3 nodes, the start and end ops): each translates once.
    assert len(counts) >= 4, counts
    assert set(counts.values()) == {1}, counts
    # The forkserver preloads no module of the project (its node modules may start threads):
    # only the processes translating it import the registry.
    imports = collections.Counter((tmp_path / "registry.imports").read_text().split())
    assert set(imports) == set(counts), (imports, counts)


def _step_pids(home: Path) -> set[str]:
    """The processes that ran the steps of the instance's one run (from STEP_START events)."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        (dagster_run,) = instance.get_runs()
        return {
            str(entry.dagster_event.pid)
            for entry in instance.all_logs(dagster_run.run_id)
            if entry.dagster_event is not None
            and entry.dagster_event.event_type_value == "STEP_START"
        }


def _engine_messages(home: Path) -> list[str]:
    """The messages of the engine events of the instance's one run."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        (dagster_run,) = instance.get_runs()
        return [
            entry.user_message
            for entry in instance.all_logs(dagster_run.run_id)
            if entry.dagster_event is not None
            and entry.dagster_event.event_type_value == "ENGINE_EVENT"
        ]


def _python_default_start_method() -> str:
    """Python's documented default start method here, which Kedro's ParallelRunner follows."""
    if sys.platform == "linux":
        return "fork" if sys.version_info < (3, 14) else "forkserver"
    return "spawn"


@pytest.mark.parametrize("kedro_mp_context", [None, "spawn"])
def test_parallel_starts_its_workers_as_kedro_parallel_runner(
    tmp_path: Path, kedro_mp_context: str | None
) -> None:
    # No start_method: the run's process starts the workers as ParallelRunner would there.
    env = {"KEDRO_MP_CONTEXT": kedro_mp_context} if kedro_mp_context else {}
    counts = _translations(tmp_path, {"parallel": {"max_workers": 2}}, **env)
    home = tmp_path / "home"
    steps = _step_pids(home)
    method = kedro_mp_context or _python_default_start_method()
    assert any(
        f"start method {method} (as Kedro's ParallelRunner)" in message
        for message in _engine_messages(home)
    ), _engine_messages(home)
    imports = collections.Counter((tmp_path / "registry.imports").read_text().split())
    assert set(imports) == set(counts), (imports, counts)
    if method == "fork":
        # The workers are copies of dg's process, which alone translated and imported the
        # project; they ran every step without doing either again.
        assert len(counts) == 1 and set(counts.values()) == {1}, counts
        assert not steps & set(counts), (steps, counts)
    elif method == "spawn":
        # Each worker that ran steps imports the project and translates it once itself.
        assert set(counts.values()) == {1}, counts
        assert steps < set(counts) and len(counts) == len(steps) + 1, (steps, counts)


@pytest.mark.parametrize("launcher", ["kedro", "dg"])
def test_parallel_workers_start_with_the_project_loaded(tmp_path: Path, launcher: str) -> None:
    # Through our CLI and through dg itself: the executor starts the run's forkserver.
    command = (KEDRO, "dagster") if launcher == "kedro" else (str(BIN / "dg"),)
    executor = {"parallel": {"max_workers": 2, "start_method": "forkserver"}}
    counts = _translations(tmp_path, executor, command)
    steps = _step_pids(tmp_path / "home")
    # dg's process and the run's forkserver translate, once each; the workers are forked from
    # the forkserver with the definitions loaded and run their steps without translating.
    assert set(counts.values()) == {1}, counts
    assert len(counts) == 2, counts
    assert steps and not steps & set(counts), (steps, counts)
    # Nor do they import the project's modules again.
    imports = collections.Counter((tmp_path / "registry.imports").read_text().split())
    assert set(imports) == set(counts), (imports, counts)


def test_parallel_preload_project_false_workers_load_it_themselves(tmp_path: Path) -> None:
    executor = {
        "parallel": {"max_workers": 2, "start_method": "forkserver", "preload_project": False}
    }
    counts = _translations(tmp_path, executor)
    steps = _step_pids(tmp_path / "home")
    # dg's process and each worker that ran steps translate once; the forkserver imports no
    # module of the project.
    assert set(counts.values()) == {1}, counts
    assert steps and steps < set(counts) and len(counts) == len(steps) + 1, (steps, counts)
    imports = collections.Counter((tmp_path / "registry.imports").read_text().split())
    assert set(imports) == set(counts), (imports, counts)


EDIT_SCRIPT = (
    RESOLVE_SOURCE
    + """
import sys
from pathlib import Path

from kedro_dagster import KedroProjectTranslator

project = Path(sys.argv[1])
first = KedroProjectTranslator(project).to_definitions()
again = KedroProjectTranslator(project).to_definitions()
print("SAME", again is first)
dagster_yml = project / "conf/base/dagster.yml"
dagster_yml.write_text(
    dagster_yml.read_text() + "  second:\\n    pipeline:\\n      pipeline_name: __default__\\n"
)
edited = KedroProjectTranslator(project).to_definitions()
jobs = [j.name for j in resolve(edited, "all_job_defs")]
print("JOBS", sorted(j for j in jobs if j != "__ASSET_JOB"))
other_env = KedroProjectTranslator(project, env="local").to_definitions()
print("OTHER_ENV", other_env is not edited)
"""
)


def test_an_edited_configuration_translates_again(tmp_path: Path) -> None:
    project = _project(tmp_path, {"in_process": {}})
    log = tmp_path / "registry.log"
    result = run(
        [sys.executable, "-c", EDIT_SCRIPT, str(project)],
        cwd=project,
        env=subprocess_env(REGISTRY_LOG=str(log)),
    )
    assert "SAME True" in result.stdout
    # "Reload" in the UI re-evaluates the definitions: an edited dagster.yml is read again.
    assert "JOBS ['__default__', 'second']" in result.stdout
    assert "OTHER_ENV True" in result.stdout
    assert len(log.read_text().split()) == 3  # first, after the edit, the other env
