"""`kedro dagster init` and the files it writes, run through the real Kedro CLI.

Every test works on a fresh copy of ``examples/spaceflights`` from which the files that
``kedro dagster init`` generates have been removed.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compat import RESOLVE_SOURCE, tomllib
from conftest import EXAMPLE, KEDRO, copy_project

PACKAGE = "spaceflights"
REGISTERED_PIPELINES = {"__default__", "data_processing", "data_science", "reporting"}

DAGSTER_YML = Path("conf/base/dagster.yml")
DEFINITIONS = Path("src/spaceflights/definitions.py")
DG_TOML = Path("dg.toml")
GENERATED = (DAGSTER_YML, DEFINITIONS, DG_TOML)

pytestmark = pytest.mark.timeout(300)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KEDRO_ENV", None)
    env.pop("DAGSTER_HOME", None)
    env["COLUMNS"] = "250"  # keep Kedro's rich log lines (and paths in them) on one line
    env.update(extra)
    return env


def _kedro(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [KEDRO, *args], cwd=project, env=_env(), capture_output=True, text=True, timeout=240
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"kedro {' '.join(args)} failed ({result.returncode})\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def _job_names(dagster_yml: Path) -> set[str]:
    config = yaml.safe_load(dagster_yml.read_text())
    assert isinstance(config, dict), f"{dagster_yml} is not a YAML mapping"
    return set(config["jobs"])


@pytest.fixture
def bare_project(tmp_path: Path) -> Path:
    """A copy of the example project without the files `kedro dagster init` writes."""
    project = tmp_path / "spaceflights"
    copy_project(EXAMPLE, project)
    for rel in GENERATED:
        (project / rel).unlink()
    return project


@pytest.fixture
def initialised_project(bare_project: Path) -> Path:
    _kedro(bare_project, "dagster", "init")
    return bare_project


def test_init_writes_the_three_files(bare_project: Path) -> None:
    result = _kedro(bare_project, "dagster", "init")

    for rel in GENERATED:
        assert (bare_project / rel).is_file(), f"{rel} was not written"
        assert f"Wrote {rel.as_posix()}" in result.stdout

    # One job per registered pipeline, each running the pipeline of the same name.
    config = yaml.safe_load((bare_project / DAGSTER_YML).read_text())
    assert set(config["jobs"]) == REGISTERED_PIPELINES
    for name, job in config["jobs"].items():
        assert job["pipeline"]["pipeline_name"] == name

    # The Kedro environment is never hard-coded in definitions.py: it comes from KEDRO_ENV.
    source = (bare_project / DEFINITIONS).read_text()
    assert "local" not in source
    tree = ast.parse(source)
    strings = {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    env_names = {"local", "base", "prod", "dev", "test", "staging"}
    assert not strings & env_names, (
        f"environment name hard-coded in definitions.py: {strings & env_names}"
    )
    env_kwargs = [
        kw
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        for kw in n.keywords
        if kw.arg == "env"
    ]
    assert not env_kwargs, "definitions.py passes env=... explicitly"

    dg_toml = tomllib.loads((bare_project / DG_TOML).read_text())
    assert dg_toml["project"]["code_location_target_module"] == f"{PACKAGE}.definitions"
    assert dg_toml["project"]["root_module"] == PACKAGE
    # No defs folder: dg 1.10 to early 1.13 would stop on `<package>.defs` (`Cannot find module`).
    assert dg_toml["project"]["defs_module"] == f"{PACKAGE}.definitions"


def test_init_keeps_existing_files_unless_forced(initialised_project: Path) -> None:
    project = initialised_project
    sentinel = "# sentinel: edited by the user"
    dagster_yml = project / DAGSTER_YML
    dagster_yml.write_text(dagster_yml.read_text() + f"\n{sentinel}\n")
    definitions_before = (project / DEFINITIONS).read_text()

    again = _kedro(project, "dagster", "init")
    for rel in GENERATED:
        assert f"Kept existing {rel.as_posix()}" in again.stdout, again.stdout
        assert f"Wrote {rel.as_posix()}" not in again.stdout
    assert sentinel in dagster_yml.read_text()
    assert (project / DEFINITIONS).read_text() == definitions_before

    forced = _kedro(project, "dagster", "init", "--force")
    for rel in GENERATED:
        assert f"Wrote {rel.as_posix()}" in forced.stdout, forced.stdout
    assert "Kept existing" not in forced.stdout
    assert sentinel not in dagster_yml.read_text()
    assert _job_names(dagster_yml) == REGISTERED_PIPELINES


def test_init_env_writes_conf_env_dagster_yml(initialised_project: Path) -> None:
    project = initialised_project
    (project / "conf" / "prod").mkdir()
    base_before = (project / DAGSTER_YML).read_text()

    result = _kedro(project, "dagster", "init", "--env", "prod")

    prod_yml = project / "conf" / "prod" / "dagster.yml"
    assert prod_yml.is_file()
    assert "Wrote conf/prod/dagster.yml" in result.stdout
    assert _job_names(prod_yml) == REGISTERED_PIPELINES
    # The other two files exist already and the base configuration is untouched.
    assert f"Kept existing {DEFINITIONS.as_posix()}" in result.stdout
    assert f"Kept existing {DG_TOML.as_posix()}" in result.stdout
    assert (project / DAGSTER_YML).read_text() == base_before


def test_init_env_creates_missing_env_folder_with_every_job(initialised_project: Path) -> None:
    project = initialised_project
    assert not (project / "conf" / "prod").exists()

    result = _kedro(project, "dagster", "init", "--env", "prod")

    prod_yml = project / "conf" / "prod" / "dagster.yml"
    assert prod_yml.is_file()
    assert "Could not list pipelines" not in result.stdout + result.stderr
    assert _job_names(prod_yml) == REGISTERED_PIPELINES


_LOAD_DEFINITIONS = (
    RESOLVE_SOURCE
    + """
import importlib.util, json, sys
import dagster as dg
spec = importlib.util.spec_from_file_location("generated_definitions", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
defs = module.defs
if not isinstance(defs, dg.Definitions):
    defs = defs()
assert isinstance(defs, dg.Definitions), type(defs)
print("JOBS=" + json.dumps(sorted(job.name for job in resolve(defs, "all_job_defs"))))
"""
)


def _jobs_of_generated_definitions(project: Path, cwd: Path, **env: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_DEFINITIONS, str(project / DEFINITIONS)],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, (
        f"loading definitions.py failed ({result.returncode})\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("JOBS="))
    return set(json.loads(line.removeprefix("JOBS=")))


def test_generated_definitions_load_and_follow_kedro_env(
    initialised_project: Path, tmp_path: Path
) -> None:
    project = initialised_project
    elsewhere = tmp_path / "elsewhere"  # the module must not depend on the working directory
    elsewhere.mkdir()

    default_jobs = _jobs_of_generated_definitions(project, cwd=elsewhere)
    assert default_jobs >= REGISTERED_PIPELINES
    assert "prod_only" not in default_jobs

    prod = project / "conf" / "prod"
    prod.mkdir()
    (prod / "dagster.yml").write_text(
        yaml.safe_dump({"jobs": {"prod_only": {"pipeline": {"pipeline_name": "data_science"}}}})
    )

    prod_jobs = _jobs_of_generated_definitions(project, cwd=elsewhere, KEDRO_ENV="prod")
    assert "prod_only" in prod_jobs

    # Without KEDRO_ENV the prod configuration is still ignored.
    assert "prod_only" not in _jobs_of_generated_definitions(project, cwd=elsewhere)


def test_dev_without_definitions_asks_for_init(bare_project: Path) -> None:
    result = _kedro(bare_project, "dagster", "dev", "--port", "1", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "kedro dagster init" in output, output
    assert not (bare_project / ".dagster_home").exists()
