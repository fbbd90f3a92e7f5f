"""Loading the example's definitions prints no warnings and at most a few INFO lines."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import run, subprocess_env

LOAD = """
import importlib.util, dagster as dg
spec = importlib.util.spec_from_file_location("d", "src/spaceflights/definitions.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
defs = m.defs if isinstance(m.defs, dg.Definitions) else m.defs()
jobs = defs.resolve_all_job_defs()
print("LOADED", len(jobs))
"""


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
