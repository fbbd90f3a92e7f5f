"""``kedro dagster`` commands: ``init`` writes the Dagster entry points, ``dev`` serves them."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import click

__all__ = ["commands", "dagster_commands"]

_DEFAULT_DAGSTER_HOME = ".dagster_home"
_INSTANCE_YAML = """\
# Local Dagster instance of `kedro dagster dev`: SQLite storage in this folder.
telemetry:
  enabled: false
"""


def _template(name: str) -> Template:
    return Template(files("kedro_dagster.templates").joinpath(name).read_text(encoding="utf-8"))


def _jobs_yaml(pipeline_names: list[str]) -> str:
    from kedro_dagster.utils import is_valid_dagster_name

    names = ["__default__", *sorted(n for n in pipeline_names if n != "__default__")]
    lines = []
    for name in names:
        if not is_valid_dagster_name(name):
            continue
        lines += [f"  {name}:", "    pipeline:", f"      pipeline_name: {name}"]
        lines.append("    executor: sequential")
    return "\n".join(lines)


def _registered_pipelines(project_path: Path, env: str | None) -> list[str]:
    try:
        from kedro_dagster.project import KedroProject

        return list(KedroProject.load(project_path, env).pipelines)
    except Exception as exc:  # init must work on a project whose pipelines do not load yet
        click.secho(f"Could not list pipelines ({exc}); writing a __default__ job only.", fg="yellow")
        return ["__default__"]


def _write(path: Path, content: str, force: bool, project_path: Path) -> bool:
    shown = path.relative_to(project_path)
    if path.exists() and not force:
        click.echo(f"Kept existing {shown} (use --force to overwrite).")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    click.secho(f"Wrote {shown}", fg="green")
    return True


@click.group(name="Kedro-Dagster")
def commands() -> None:
    """Kedro-Dagster commands."""


@commands.group(name="dagster")
def dagster_commands() -> None:
    """Deploy and run the Kedro project on Dagster."""


@dagster_commands.command()
@click.option("--env", "-e", default=None, help="Write conf/<ENV>/dagster.yml (default: base).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def init(metadata: Any, env: str | None, force: bool) -> None:
    """Write conf/<env>/dagster.yml, src/<package>/definitions.py and dg.toml."""
    project_path = Path(metadata.project_path)
    package = metadata.package_name
    package_dir = Path(metadata.source_dir) / package
    definitions = package_dir / "definitions.py"
    depth = len(definitions.relative_to(project_path).parts) - 1
    conf_env = env or "base"
    from kedro.framework.project import settings

    dagster_yml = project_path / settings.CONF_SOURCE / conf_env / "dagster.yml"
    pipeline_names = _registered_pipelines(project_path, env)
    _write(
        dagster_yml,
        _template("dagster.yml.tmpl").substitute(jobs=_jobs_yaml(pipeline_names)),
        force,
        project_path,
    )
    _write(
        definitions,
        _template("definitions.py.tmpl").substitute(depth=depth),
        force,
        project_path,
    )
    _write(
        project_path / "dg.toml",
        _template("dg.toml.tmpl").substitute(package_name=package),
        force,
        project_path,
    )


def dev_environment(project_path: Path, env: str | None) -> dict[str, str]:
    """Environment of ``kedro dagster dev``: ``DAGSTER_HOME`` (created) and ``KEDRO_ENV``."""
    environ = dict(os.environ)
    home = Path(environ.get("DAGSTER_HOME") or project_path / _DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(_INSTANCE_YAML, encoding="utf-8")
    environ["DAGSTER_HOME"] = str(home)
    if env:
        environ["KEDRO_ENV"] = env
    return environ


def dev_command(
    definitions: Path, project_path: Path, host: str, port: int, log_level: str
) -> list[str]:
    """The ``dagster dev`` command line serving ``definitions`` (webserver and daemon)."""
    return [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-f",
        str(definitions),
        "-d",
        str(project_path),
        "-h",
        host,
        "-p",
        str(port),
        "--log-level",
        log_level,
    ]


@dagster_commands.command()
@click.option("--env", "-e", default=None, help="Kedro environment (sets KEDRO_ENV).")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Webserver host.")
@click.option("--port", "-p", default=3000, show_default=True, type=int, help="Webserver port.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="Log level of the Dagster processes.",
)
@click.pass_obj
def dev(metadata: Any, env: str | None, host: str, port: int, log_level: str) -> None:
    """Start the Dagster webserver and daemon on this project.

    DAGSTER_HOME defaults to <project>/.dagster_home (SQLite storage).
    """
    project_path = Path(metadata.project_path)
    definitions = Path(metadata.source_dir) / metadata.package_name / "definitions.py"
    if not definitions.is_file():
        raise click.ClickException(
            f"{definitions} does not exist: run `kedro dagster init` first."
        )
    environ = dev_environment(project_path, env)
    click.echo(f"DAGSTER_HOME={environ['DAGSTER_HOME']}")
    completed = subprocess.run(
        dev_command(definitions, project_path, host, port, log_level),
        env=environ,
        cwd=project_path,
        check=False,
    )
    sys.exit(completed.returncode)
