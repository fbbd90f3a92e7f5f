"""dagster.yml never changes what is deployed without a word, and big files load.

Each case loads a real project twice in one fresh interpreter (as a code server reloading its
definitions would) with a plain one-line log format, and checks what the user reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import yaml

from compat import RESOLVE_SOURCE
from conftest import subprocess_env
from kedro_factory import make_project

LOAD_TWICE = (
    RESOLVE_SOURCE
    + r"""
import json, sys
from kedro_dagster import KedroProjectTranslator
from kedro_dagster.errors import KedroDagsterError

try:
    for _ in range(2):
        defs = KedroProjectTranslator(sys.argv[1]).to_definitions()
except KedroDagsterError as exc:
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    sys.exit(1)
jobs = sorted(j.name for j in resolve(defs, "all_job_defs") if not j.name.startswith("__ASSET"))
assets = [k for k in resolve(defs, "asset_graph").get_all_asset_keys()]
schedules = sorted(s.name for s in defs.schedules or [])
print("LOADED " + json.dumps({"jobs": jobs, "assets": len(assets), "schedules": schedules}))
"""
)

LOAD_CONFIG = r"""
import sys
from kedro_dagster.config import load_config
from kedro_dagster.project import KedroProject

config = load_config(KedroProject.load(sys.argv[1]))
print("JOBS", len(config.jobs))
"""

PLAIN_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "err": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
        }
    },
    "root": {"level": "INFO", "handlers": ["err"]},
}


def _load(
    project: Path, script: str = LOAD_TWICE, **env: str
) -> tuple[int, dict[str, Any] | None, str]:
    logging_yml = project / "plain_logging.yml"
    logging_yml.write_text(yaml.safe_dump(PLAIN_LOGGING))
    result = subprocess.run(
        [sys.executable, "-c", script, str(project)],
        capture_output=True,
        text=True,
        cwd=project,
        env={**subprocess_env(), "KEDRO_LOGGING_CONFIG": str(logging_yml), **env},
        timeout=600,
    )
    loaded = next(
        (json.loads(ln[7:]) for ln in result.stdout.splitlines() if ln.startswith("LOADED ")),
        None,
    )
    return result.returncode, loaded, result.stdout + result.stderr


def _warnings(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("WARNING")]


def test_empty_dagster_yml_deploys_every_pipeline_with_one_warning(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "empty_cfg")
    config = project / "conf/base/dagster.yml"
    config.write_text("# nothing yet\n")
    code, loaded, output = _load(project)
    assert code == 0, output
    assert loaded is not None and loaded["jobs"] == ["__default__", "main"], output
    assert loaded["assets"] > 0
    (line,) = _warnings(output)
    assert line.startswith("WARNING kedro_dagster"), line
    assert str(config) in line and "no jobs" in line and "one job per registered pipeline" in line
    assert "jobs:" in line  # says what to write


def test_job_without_pipeline_warns_once_naming_job_and_file(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "p", "no_pipeline", dagster={"jobs": {"main": {"executor": "in_process"}}}
    )
    code, loaded, output = _load(project)
    assert code == 0, output
    assert loaded is not None and loaded["jobs"] == ["main"]
    (line,) = _warnings(output)
    assert "'main'" in line and str(project / "conf/base/dagster.yml") in line, line
    assert "'__default__'" in line and "pipeline_name: main" in line, line


def test_unused_schedule_is_one_warning(tmp_path: Path) -> None:
    dagster = {
        "schedules": {
            "nightly": {"cron_schedule": "0 2 * * *"},
            "hourly": {"cron_schedule": "0 * * * *"},
        },
        "jobs": {"main": {"pipeline": {"pipeline_name": "main"}, "schedule": "hourly"}},
    }
    project = make_project(tmp_path / "p", "unused_schedule", dagster=dagster)
    code, loaded, output = _load(project)
    assert code == 0, output
    assert loaded is not None and loaded["schedules"] == ["main__hourly"], loaded
    (line,) = _warnings(output)
    assert "'nightly'" in line and "hourly" not in line, line
    assert str(project / "conf/base/dagster.yml") in line
    assert "add `schedule: nightly` to a job" in line, line


def test_complete_config_loads_without_warning(tmp_path: Path) -> None:
    dagster = {
        "schedules": {"nightly": {"cron_schedule": "0 2 * * *"}},
        "jobs": {"main": {"pipeline": {"pipeline_name": "main"}, "schedule": "nightly"}},
    }
    project = make_project(tmp_path / "p", "complete_cfg", dagster=dagster)
    code, loaded, output = _load(project)
    assert code == 0, output
    assert loaded is not None and loaded["schedules"] == ["main__nightly"], output
    assert _warnings(output) == [], output


def test_a_3000_job_dagster_yml_loads(tmp_path: Path) -> None:
    jobs = {
        f"job_{i}": {
            "pipeline": {"pipeline_name": "main", "tags": ["build"]},
            "executor": "in_process",
        }
        for i in range(3000)
    }
    project = make_project(tmp_path / "p", "many_jobs", dagster={"jobs": jobs})
    result = subprocess.run(
        [sys.executable, "-c", LOAD_CONFIG, str(project)],
        capture_output=True,
        text=True,
        cwd=project,
        env=subprocess_env(),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "JOBS 3000" in result.stdout


def test_yaml_node_limit_names_the_limit_and_how_to_raise_it(tmp_path: Path) -> None:
    catalog = {
        f"table_{i}": {"type": "pandas.CSVDataset", "filepath": f"data/t{i}.csv"}
        for i in range(2600)
    }
    catalog["raw"] = {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"}
    project = make_project(tmp_path / "p", "big_catalog", catalog=catalog)
    code, _, output = _load(project)
    assert code == 1, output
    (line,) = [ln for ln in output.splitlines() if ln.startswith("KedroDagsterConfigError")]
    assert str(project / "conf/base/catalog.yml") in line
    assert "OMEGACONF_MAX_YAML_EXPANDED_NODES" in output
    assert "not only aliases" in output and "10000" in output


def test_user_node_limit_is_respected_for_dagster_yml(tmp_path: Path) -> None:
    jobs = {f"job_{i}": {"pipeline": {"pipeline_name": "main"}} for i in range(20)}
    project = make_project(tmp_path / "p", "small_limit", dagster={"jobs": jobs})
    code, _, output = _load(project, OMEGACONF_MAX_YAML_EXPANDED_NODES="50")
    assert code == 1, output
    assert str(project / "conf/base/dagster.yml") in output
    assert "OMEGACONF_MAX_YAML_EXPANDED_NODES" in output and "more than 50 YAML nodes" in output


SETTINGS_WITH_LOADER = """
import os

from kedro.config import OmegaConfigLoader


class TeamConfigLoader(OmegaConfigLoader):
    def __getitem__(self, key):
        config = super().__getitem__(key)
        if key == "dagster":
            config["team"] = os.environ["DAGSTER_TEAM"]  # KeyError when unset
        return config


CONFIG_LOADER_CLASS = TeamConfigLoader
"""


def test_key_error_reading_dagster_yml_is_an_error_not_missing_config(tmp_path: Path) -> None:
    dagster = {"jobs": {"main": {"pipeline": {"pipeline_name": "main"}}}}
    project = make_project(tmp_path / "p", "loader_key_error", dagster=dagster)
    (project / "src/loader_key_error/settings.py").write_text(textwrap.dedent(SETTINGS_WITH_LOADER))
    code, loaded, output = _load(project)
    assert code == 1 and loaded is None, output
    (line,) = [ln for ln in output.splitlines() if ln.startswith("KedroDagsterConfigError")]
    assert str(project / "conf/base/dagster.yml") in line and "DAGSTER_TEAM" in line, output
