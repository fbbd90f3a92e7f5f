"""Loading the example's definitions prints no warnings and at most a few INFO lines."""

from __future__ import annotations

import sys
from pathlib import Path

from compat import RESOLVE_SOURCE
from conftest import KEDRO, run, subprocess_env

LOAD = (
    RESOLVE_SOURCE
    + """
import importlib.util, dagster as dg
spec = importlib.util.spec_from_file_location("d", "src/spaceflights/definitions.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
defs = m.defs if isinstance(m.defs, dg.Definitions) else m.defs()
jobs = resolve(defs, "all_job_defs")
print("LOADED", len(jobs))
"""
)


def test_loading_definitions_is_quiet(example_copy) -> None:
    project: Path = example_copy("project")
    result = run(
        [sys.executable, "-W", "default", "-c", LOAD],
        cwd=project,
        env=subprocess_env(COLUMNS="200"),
    )
    output = result.stdout + result.stderr
    assert "LOADED" in result.stdout
    assert "Warning" not in output and "WARNING" not in output, output
    info_lines = [ln for ln in output.splitlines() if " INFO " in ln]
    assert len(info_lines) <= 3, output
    # Nothing was written at load: no run happened, no data produced.
    written = [p for p in (project / "data").rglob("*") if p.is_file() and p.name != ".gitkeep"]
    assert all(p.relative_to(project / "data").parts[0] == "01_raw" for p in written), written


COUNTING_CONTEXT = """

import os as _os
import time as _time

from kedro.framework.context import KedroContext as _KedroContext


class CountingContext(_KedroContext):
    # Records when each Kedro context (the Kedro side of the run's resources) is created.
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with open(_os.environ["CONTEXT_LOG"], "a") as log:
            log.write(f"{_time.time()}\\n")


CONTEXT_CLASS = CountingContext
"""


def test_launching_the_example_is_quiet(example_copy, dagster_home: Path) -> None:
    from dagster import DagsterEventType, DagsterInstance

    project: Path = example_copy("project")
    settings = project / "src/spaceflights/settings.py"
    settings.write_text(settings.read_text() + COUNTING_CONTEXT)
    contexts = project / "contexts.log"
    result = run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(
            dagster_home, PYTHONWARNINGS="default", COLUMNS="400", CONTEXT_LOG=str(contexts)
        ),
    )
    output = result.stdout + result.stderr
    # No warning of ours, nor of a deprecated API we call (fs_io_manager, InitResourceContext
    # attributes, omegaconf's register_new_resolver through Kedro's config loader).
    assert "Warning" not in output and " WARNING " not in output, output
    assert "register_new_resolver" not in output
    # Kedro says it once per process (`kedro run` does); only the dg process makes contexts.
    assert output.count("No typed parameter requirements found") <= 1, output
    # One banner per process: the kedro CLI and the dg process it starts.
    assert output.count("as logging configuration") <= 2, output

    with DagsterInstance.from_config(str(dagster_home)) as instance:
        (dagster_run,) = instance.get_runs()
        (success,) = instance.all_logs(dagster_run.run_id, of_type=DagsterEventType.RUN_SUCCESS)
    created = [float(line) for line in contexts.read_text().split()]
    # Dagster initialises the resources again after the run (to read outputs): the Kedro
    # side of the run is not built again then.
    assert created and all(stamp < success.timestamp for stamp in created), (
        created,
        success.timestamp,
    )
