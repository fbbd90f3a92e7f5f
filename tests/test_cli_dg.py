"""`kedro dagster <dg command>`: dg run inside the project, with --env, --log-level/--log-format.

The subprocess tests run the real CLI on a copy of the spaceflights example.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLE, KEDRO, copy_project, run, subprocess_env
from kedro_dagster.cli import kedro_logging_config

PROD_JOB = "prod_only_job"
EXAMPLE_JOBS = {"__default__", "data_processing", "data_science", "reporting"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, with a conf/prod/dagster.yml declaring one more job."""
    root = copy_project(EXAMPLE, tmp_path_factory.mktemp("cli_dg") / "spaceflights")
    base = yaml.safe_load((root / "conf" / "base" / "dagster.yml").read_text())
    prod = {
        "jobs": {
            **base["jobs"],
            PROD_JOB: {"pipeline": {"pipeline_name": "data_processing"}, "executor": "sequential"},
        }
    }
    (root / "conf" / "prod").mkdir()
    (root / "conf" / "prod" / "dagster.yml").write_text(yaml.safe_dump(prod))
    return root


def _kedro_dagster(project: Path, *args: str, home: Path | None = None) -> Any:
    return run([KEDRO, "dagster", *args], cwd=project, env=subprocess_env(home))


def _listed(stdout: str) -> dict[str, Any]:
    """The JSON document of `dg list defs --json` (after Kedro's own log lines)."""
    start = next(i for i, line in enumerate(stdout.splitlines()) if line.startswith("{"))
    text = "\n".join(stdout.splitlines()[start:])
    document, _ = json.JSONDecoder().raw_decode(text)
    return document


def test_list_defs_selects_the_environment(project: Path, tmp_path: Path) -> None:
    base = _listed(_kedro_dagster(project, "list", "defs", "--env", "base", "--json").stdout)
    jobs = {job["name"] for job in base["jobs"]}
    assert jobs >= EXAMPLE_JOBS and PROD_JOB not in jobs
    assets = {asset["asset_key"] for asset in base["assets"]}
    assert {"companies", "shuttles", "reviews"} <= assets  # the raw inputs
    assert any(key.endswith("regressor") for key in assets), assets

    prod = _listed(_kedro_dagster(project, "list", "defs", "--json", "-e", "prod").stdout)
    assert {job["name"] for job in prod["jobs"]} >= {*EXAMPLE_JOBS, PROD_JOB}

    table = _kedro_dagster(project, "list", "defs", "--env", "base").stdout
    assert "data_processing" in table and "companies" in table


def test_check_defs(project: Path) -> None:
    result = _kedro_dagster(project, "check", "defs")
    assert "All definitions loaded successfully." in result.stdout


def test_help_shows_our_options_and_dg_options(project: Path) -> None:
    listed = _kedro_dagster(project, "list", "defs", "--help").stdout
    for option in ("--env", "--log-level", "--log-format"):
        assert option in listed, listed
    assert "Usage: dg list defs" in listed and "--json" in listed and "--columns" in listed

    checked = _kedro_dagster(project, "check", "defs", "--help").stdout
    assert "--env" in checked and "--check-yaml" in checked and "Usage: dg check defs" in checked

    launch = _kedro_dagster(project, "launch", "--help").stdout
    assert "--env" in launch and "--job" in launch and "--config-json" in launch

    group = _kedro_dagster(project, "list", "--help").stdout
    assert "--log-format" in group and "defs" in group and "Usage: dg list" in group


def test_log_format_json_and_log_level(project: Path) -> None:
    result = _kedro_dagster(project, "check", "defs", "--log-format", "json", "--log-level", "info")
    records = []
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    kedro = [r for r in records if r.get("name", "").startswith("kedro")]
    assert kedro, result.stderr
    assert all({"timestamp", "name", "level", "message"} <= set(r) for r in kedro)
    assert any("logging configuration" in r["message"] for r in kedro)
    # dg's own --log-level/--log-format were set too: Dagster's INFO lines, as JSON.
    assert any(
        r.get("level") in ("INFO", "info") and r.get("logger", r.get("name")) == "dagster"
        for r in records
    ), result.stderr
    assert "All definitions loaded successfully." in result.stdout


def test_log_options_keep_other_commands_working(project: Path, tmp_path: Path) -> None:
    """dg launch has no --log-* options: ours only configure the Kedro side."""
    home = tmp_path / "home"
    result = run(
        [KEDRO, "dagster", "launch", "--job", "data_processing", "--log-format", "json"],
        cwd=project,
        env=subprocess_env(home),
    )
    loading = [
        json.loads(line)
        for line in result.stderr.splitlines()
        if line.startswith("{") and "Loading data from" in line
    ]
    assert loading and all(r["name"] == "kedro.io.data_catalog" for r in loading), result.stderr


# --------------------------------------------------------------------- unit: the config


KEDRO_DEFAULT = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "rich": {"class": "kedro.logging.RichHandler", "rich_tracebacks": True},
        "info_file_handler": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": "info.log",
            "formatter": "simple",
        },
    },
    "formatters": {"simple": {"format": "%(message)s"}},
    "loggers": {"kedro": {"level": "INFO"}},
    "root": {"handlers": ["rich", "info_file_handler"]},
}


def test_kedro_logging_config_format_and_level() -> None:
    config = kedro_logging_config(KEDRO_DEFAULT, "debug", "json", "spaceflights")
    assert config["handlers"]["rich"] == {
        "class": "logging.StreamHandler",
        "formatter": "kedro_dagster",
        "stream": "ext://sys.stderr",
        "level": "DEBUG",
    }
    assert config["handlers"]["info_file_handler"] == KEDRO_DEFAULT["handlers"]["info_file_handler"]
    assert config["formatters"]["kedro_dagster"] == {
        "class": "kedro_dagster.logging.DagsterJsonFormatter"
    }
    assert config["formatters"]["simple"] == {"format": "%(message)s"}
    assert {name: conf.get("level") for name, conf in config["loggers"].items()} == {
        "kedro": "DEBUG",
        "kedro_dagster": "DEBUG",
        "spaceflights": "DEBUG",
        "dagster": None,  # Dagster's own level; its records go through the root's handlers
    }
    assert config["loggers"]["dagster"] == {"handlers": [], "propagate": True}
    assert config["root"] == KEDRO_DEFAULT["root"]
    assert KEDRO_DEFAULT["handlers"]["rich"]["class"] == "kedro.logging.RichHandler"  # copied


def test_kedro_logging_config_level_only_and_no_console() -> None:
    level_only = kedro_logging_config(KEDRO_DEFAULT, "warning", None, "pkg")
    assert level_only["handlers"]["rich"]["class"] == "kedro_dagster.logging.RichHandler"
    assert level_only["handlers"]["rich"]["level"] == "WARNING"
    assert "kedro_dagster" not in level_only.get("formatters", {})

    files_only = {"version": 1, "handlers": {}, "root": {"handlers": []}}
    added = kedro_logging_config(files_only, None, "rich", "pkg")
    assert added["handlers"]["kedro_dagster_console"]["formatter"] == "kedro_dagster"
    assert added["handlers"]["kedro_dagster_console"]["stream"] == "ext://sys.stderr"
    assert added["root"]["handlers"] == ["kedro_dagster_console"]
    assert added["formatters"]["kedro_dagster"]["class"].endswith("DagsterRichFormatter")


def test_kedro_logging_config_is_accepted_by_kedro(tmp_path: Path) -> None:
    """The generated configuration passes Kedro's own validation (class keys only)."""
    config = kedro_logging_config(KEDRO_DEFAULT, "info", "colored", "pkg")
    config["handlers"].pop("info_file_handler")
    config["root"]["handlers"] = ["rich"]
    script = (
        "import sys, yaml; from kedro.framework.project import configure_logging; "
        "configure_logging(yaml.safe_load(sys.argv[1])); "
        "import logging; logging.getLogger('kedro.check').info('accepted')"
    )
    result = run(
        [sys.executable, "-c", script, yaml.safe_dump(config)],
        cwd=tmp_path,
        env=subprocess_env(KEDRO_LOGGING_MODULE_ALLOWLIST="kedro_dagster"),
    )
    assert "\x1b[32mINFO\x1b[0m - accepted" in result.stderr


def _imported_modules(stderr: str) -> set[str]:
    """The modules named by `python -X importtime`'s report."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize("command", [["launch"], ["check", "defs"], ["list", "defs"]])
def test_one_off_dg_commands_skip_the_rest_of_dgs_command_tree(
    project: Path, command: list[str]
) -> None:
    # How `kedro dagster launch | check | list` run dg: its own CLI, the same help, without
    # importing the modules of dg's other commands first (on dg releases that define them only
    # when needed).
    ours = run(
        [sys.executable, "-X", "importtime", "-m", "kedro_dagster._dg_main", *command, "--help"],
        cwd=project,
        env=subprocess_env(),
    )
    dg_script = str(Path(sys.executable).parent / "dg")
    dg = run(
        [sys.executable, "-X", "importtime", dg_script, *command, "--help"],
        cwd=project,
        env=subprocess_env(),
    )
    assert ours.stdout == dg.stdout
    assert f"Usage: dg {' '.join(command)}" in ours.stdout
    from dagster_dg_cli import cli as dg_cli

    if "launch" in dg_cli.cli.commands:  # a dg defining every command at import
        return
    assert "dagster_dg_cli.cli.labs" in _imported_modules(dg.stderr)
    assert "dagster_dg_cli.cli.labs" not in _imported_modules(ours.stderr)


def test_dev_logs_on_stderr_and_keeps_stdout_for_its_own_output(
    project: Path, tmp_path: Path
) -> None:
    # dg dev, its daemon and its webserver log through a stdout handler of Dagster's: under
    # `kedro dagster dev` those lines are on stderr, like every other log line of the commands.
    import subprocess
    import time

    import requests

    from dev_server import dev_env, free_port, stop_process_group

    port = free_port()
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [KEDRO, "dagster", "dev", "--port", str(port)],
            cwd=project,
            env=dev_env(DAGSTER_HOME=str(tmp_path / "home")),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while "Serving dagster-webserver" not in out.read_text() + err.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()[-4000:]
            time.sleep(1)
        assert requests.get(f"http://127.0.0.1:{port}/server_info", timeout=30).ok
    finally:
        stop_process_group(proc)
    printed, logged = out.read_text(), err.read_text()
    assert "Serving dagster-webserver" in logged and "Launching Dagster services" in logged
    for line in ("Launching Dagster services", "dagster.daemon", "Serving dagster-webserver"):
        assert line not in printed, printed
    assert f"DAGSTER_HOME={tmp_path / 'home'}" in printed
