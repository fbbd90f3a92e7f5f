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


def _registered_pipelines(project_path: Path) -> list[str]:
    """The registered pipeline names (they do not depend on the Kedro environment)."""
    try:
        from kedro.framework.project import pipelines
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(project_path)
        return list(pipelines)
    except Exception as exc:  # init must work on a project whose pipelines do not load yet
        click.secho(
            f"Could not list pipelines ({exc}); writing a __default__ job only.", fg="yellow"
        )
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


class _DgPassthroughGroup(click.Group):
    """Our commands first; any other name runs the ``dg`` command of that name in the project."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        return _dg_command(cmd_name)


def _dg_command(name: str) -> click.Command:
    @click.command(
        name=name,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
        help=f"Run `dg {name}` in this Kedro project.",
    )
    @click.option("--env", "-e", default=None, help="Kedro environment (sets KEDRO_ENV).")
    @click.argument("dg_args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_obj
    def run_dg(metadata: Any, env: str | None, dg_args: tuple[str, ...]) -> None:
        project_path = Path(metadata.project_path)
        environ = dev_environment(project_path, env, source_dir=Path(metadata.source_dir))
        completed = subprocess.run(
            [_dg_executable(), name, *dg_args], env=environ, cwd=project_path, check=False
        )
        sys.exit(completed.returncode)

    return run_dg


def _dg_executable() -> str:
    candidate = Path(sys.executable).parent / "dg"
    return str(candidate) if candidate.exists() else "dg"


@commands.group(name="dagster", cls=_DgPassthroughGroup)
def dagster_commands() -> None:
    """Deploy and run the Kedro project on Dagster.

    Besides the commands below, `kedro dagster <dg command> [ARGS]` runs any `dg` command
    (`launch`, `list defs`, `check defs`...) inside the project.
    """


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
    pipeline_names = _registered_pipelines(project_path)
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


def dev_environment(
    project_path: Path, env: str | None, source_dir: Path | None = None
) -> dict[str, str]:
    """Environment of Dagster processes started for the project.

    ``DAGSTER_HOME`` (created, SQLite storage), ``KEDRO_ENV`` and, so that Dagster can import
    the project package, its source folder on ``PYTHONPATH``.
    """
    environ = dict(os.environ)
    if source_dir is not None:
        paths = [str(source_dir), *filter(None, [environ.get("PYTHONPATH")])]
        environ["PYTHONPATH"] = os.pathsep.join(paths)
    home = Path(environ.get("DAGSTER_HOME") or project_path / _DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(_INSTANCE_YAML, encoding="utf-8")
    environ["DAGSTER_HOME"] = str(home)
    if env:
        environ["KEDRO_ENV"] = env
    return environ


def dev_command(host: str, port: int, log_level: str) -> list[str]:
    """The ``dg dev`` command line serving the project (webserver and daemon).

    Run from the project root, where ``dg.toml`` names the definitions module.
    """
    return [_dg_executable(), "dev", "--host", host, "--port", str(port), "--log-level", log_level]


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
        raise click.ClickException(f"{definitions} does not exist: run `kedro dagster init` first.")
    environ = dev_environment(project_path, env, source_dir=Path(metadata.source_dir))
    click.echo(f"DAGSTER_HOME={environ['DAGSTER_HOME']}")
    if not (project_path / "dg.toml").is_file():
        raise click.ClickException(
            f"{project_path / 'dg.toml'} does not exist: run `kedro dagster init` first."
        )
    completed = subprocess.run(
        dev_command(host, port, log_level),
        env=environ,
        cwd=project_path,
        check=False,
    )
    sys.exit(completed.returncode)
