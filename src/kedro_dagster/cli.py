"""``kedro dagster`` commands: ``init`` writes the Dagster entry points, ``dev`` serves them."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import click
import yaml

from kedro_dagster.console_logging import kedro_logging_config

__all__ = ["commands", "dagster_commands", "kedro_logging_config"]

_DEFAULT_DAGSTER_HOME = ".dagster_home"
_INSTANCE_YAML = """\
# Local Dagster instance of `kedro dagster dev`: SQLite storage in this folder.
telemetry:
  enabled: false
"""


def _template(name: str) -> Template:
    return Template(files("kedro_dagster.templates").joinpath(name).read_text(encoding="utf-8"))


def _jobs_yaml(pipeline_names: list[str], empty: Collection[str] = ()) -> str:
    from kedro_dagster.utils import is_valid_dagster_name

    names = ["__default__", *sorted(n for n in pipeline_names if n != "__default__")]
    lines = []
    for name in names:
        if not is_valid_dagster_name(name):
            continue
        job = [f"  {name}:", "    pipeline:", f"      pipeline_name: {name}"]
        job.append("    executor: sequential")
        if name in empty:
            # A job of an empty pipeline is refused at load, as `kedro run` refuses it.
            lines.append(f"  # '{name}' has no nodes yet: uncomment once it has.")
            job = [f"  # {line[2:]}" for line in job]
        lines += job
    return "\n".join(lines)


def _registered_pipelines(project_path: Path) -> tuple[list[str], set[str]]:
    """The registered pipeline names and those without nodes (not dependent on the env).

    A fresh ``kedro new`` registers an empty ``__default__``.
    """
    try:
        from kedro.framework.project import pipelines
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(project_path)
        return list(pipelines), {name for name, p in pipelines.items() if not p.nodes}
    except Exception as exc:  # init must work on a project whose pipelines do not load yet
        click.secho(
            f"Could not list pipelines ({exc}); writing a __default__ job only.", fg="yellow"
        )
        return ["__default__"], set()


def _write(path: Path, content: str, force: bool, project_path: Path) -> bool:
    # A CONF_SOURCE elsewhere (absolute, or beside the project) is shown as it is.
    shown = path.relative_to(project_path) if path.is_relative_to(project_path) else path
    if path.exists() and not force:
        click.echo(f"Kept existing {shown} (use --force to overwrite).")
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    click.secho(f"Wrote {shown}", fg="green")
    return True


#: The program name of :mod:`kedro_dagster.standalone` (``kedro-dagster <command>``).
STANDALONE_NAME = "kedro-dagster"


@click.group(name="Kedro-Dagster")
def commands() -> None:
    """Kedro-Dagster commands."""


class _DgPassthroughGroup(click.Group):
    """Our commands first; any other name runs the ``dg`` command of that name in the project."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Name ``kedro-dagster <command>`` as typed in usage lines, not as ``... dagster ...``.

        The standalone command runs ``kedro dagster`` under the program name
        ``kedro-dagster``: without this its usage lines would read ``kedro-dagster dagster
        launch``, which runs ``dg dagster``.
        """
        if parent is not None and parent.parent is None and parent.info_name == STANDALONE_NAME:
            parent.info_name = None
            info_name = STANDALONE_NAME
        return super().make_context(info_name, args, parent=parent, **extra)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        return _dg_command(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Our commands, then the dg commands run inside the project, with dg's summaries."""
        super().format_commands(ctx, formatter)
        ours = set(self.list_commands(ctx))
        rows = [(name, summary) for name, summary in _dg_commands() if name not in ours]
        if rows:
            with formatter.section(_DG_SECTION):
                formatter.write_dl(rows)


_LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]
_LOG_FORMATS = ["colored", "json", "rich"]
#: dg commands taking ``--log-level``/``--log-format``, when dg cannot be introspected.
_DG_LOG_OPTION_COMMANDS = {("check", "defs"), ("dev",)}
_LOG_LEVEL_HELP = (
    "Log level of Kedro and kedro-dagster (and of the command's Dagster services when the "
    "dg command has its own --log-level)."
)
_LOG_FORMAT_HELP = (
    "Format of the console logs of Kedro and kedro-dagster (and of the command's Dagster "
    "services when the dg command has its own --log-format)."
)


def _dg_command(name: str) -> click.Command:
    @click.command(
        name=name,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
        help=f"Run `dg {name}` in this Kedro project. Other arguments are passed to dg.",
    )
    @click.option("--env", "-e", default=None, help="Kedro environment (sets KEDRO_ENV).")
    @click.option(
        "--log-level",
        default=None,
        type=click.Choice(_LOG_LEVELS, case_sensitive=False),
        help=_LOG_LEVEL_HELP,
    )
    @click.option(
        "--log-format",
        default=None,
        type=click.Choice(_LOG_FORMATS, case_sensitive=False),
        help=_LOG_FORMAT_HELP,
    )
    @click.option("--help", "show_help", is_flag=True, help="Show this message and dg's help.")
    @click.argument("dg_args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_context
    def run_dg(
        ctx: click.Context,
        env: str | None,
        log_level: str | None,
        log_format: str | None,
        show_help: bool,
        dg_args: tuple[str, ...],
    ) -> None:
        path = _dg_path(name, dg_args)
        if show_help:
            click.echo(ctx.get_help())
            click.echo(f"\nOptions of `dg {' '.join(path)}`:\n")
            click.echo(_dg_help(path))
            return
        metadata = ctx.obj
        project_path = Path(metadata.project_path)
        environ = dev_environment(project_path, env, source_dir=Path(metadata.source_dir))
        if path[:2] == ["check", "defs"]:  # the whole preflight: construct every dataset too
            environ.setdefault("KEDRO_DAGSTER_PREFLIGHT", "full")
        args = list(dg_args)
        # Resolving dg's command tree imports all of dg (~0.5 s): only when it matters.
        if (log_level or log_format) and _dg_has_log_options(path):
            if log_level:
                args += ["--log-level", log_level.lower()]
            if log_format:
                args += ["--log-format", log_format.lower()]
        with _kedro_logging(environ, log_level, log_format, metadata.package_name):
            from kedro_dagster._killed_runs import run_dagster_child

            returncode = run_dagster_child([*_dg_argv(name), *args], env=environ, cwd=project_path)
        sys.exit(returncode)

    return run_dg


_DG_SECTION = "dg commands (run in the project; --env, --log-level, --log-format added)"
#: Summaries of dg's commands, when dg is not importable here (another environment).
_DG_COMMANDS_FALLBACK = {
    "launch": "Launch a Dagster run.",
    "list": "Commands for listing Dagster entities.",
    "check": "Commands for checking the integrity of your Dagster code.",
    "scaffold": "Commands for scaffolding Dagster entities.",
    "utils": "Assorted utility commands.",
}


def _dg_commands() -> list[tuple[str, str]]:
    """The visible dg commands and their one-line summaries."""
    resolved = _resolve_dg([])
    group = resolved[0] if resolved is not None else None
    if resolved is None or not isinstance(group, click.Group):
        return list(_DG_COMMANDS_FALLBACK.items())
    ctx = resolved[1]
    commands = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is not None and not command.hidden:
            commands.append((name, command.get_short_help_str(limit=70)))
    return commands


def _dg_executable() -> str:
    candidate = Path(sys.executable).parent / "dg"
    return str(candidate) if candidate.exists() else "dg"


def _dg_argv(name: str) -> list[str]:
    """The start of the command line running dg's command ``name``.

    With dg in this environment, dg's CLI is run by :mod:`kedro_dagster._dg_main`, which spares
    a one-off command such as ``launch`` the import of dg's whole command tree.
    """
    if (Path(sys.executable).parent / "dg").exists():
        return [sys.executable, "-m", "kedro_dagster._dg_main", name]
    return [_dg_executable(), name]


def _dg_path(name: str, dg_args: tuple[str, ...]) -> list[str]:
    """The dg command path: ``name`` and the arguments before the first option (``list defs``)."""
    path = [name]
    for arg in dg_args:
        if arg.startswith("-"):
            break
        path.append(arg)
    return path


def _resolve_dg(path: list[str]) -> tuple[click.Command, click.Context] | None:
    """The click command of dg for ``path`` (subcommands of groups followed), and its context."""
    try:
        from dagster_dg_cli.cli import cli as dg_cli
    except Exception:  # dg in another environment: use its executable
        return None
    ctx = click.Context(dg_cli, info_name="dg")
    command: click.Command = dg_cli
    for part in path:
        if not isinstance(command, click.Group):
            break
        sub = command.get_command(ctx, part)
        if sub is None:
            break
        command = sub
        ctx = click.Context(sub, info_name=part, parent=ctx)
    return command, ctx


def _dg_help(path: list[str]) -> str:
    """The help of ``dg <path>``, plain (the rich help of dg may omit the options)."""
    resolved = _resolve_dg(path)
    if resolved is not None and resolved[0] is not resolved[1].find_root().command:
        command, ctx = resolved
        formatter = ctx.make_formatter()
        base = click.Group if isinstance(command, click.Group) else click.Command
        base.format_help(command, ctx, formatter)
        return formatter.getvalue().rstrip()
    completed = subprocess.run(
        [_dg_executable(), *path, "--help"], capture_output=True, text=True, check=False
    )
    return (completed.stdout + completed.stderr).rstrip()


def _dg_has_log_options(path: list[str]) -> bool:
    """Whether the dg command of ``path`` has its own ``--log-level`` and ``--log-format``."""
    resolved = _resolve_dg(path)
    if resolved is None:
        return any(tuple(path[: len(known)]) == known for known in _DG_LOG_OPTION_COMMANDS)
    options = {opt for param in resolved[0].params for opt in getattr(param, "opts", [])}
    return {"--log-level", "--log-format"} <= options


def _current_kedro_logging() -> dict[str, Any]:
    """The logging configuration Kedro applied in this process (project's or default)."""
    from kedro.framework.project import LOGGING

    return copy.deepcopy(dict(LOGGING.data))


@contextmanager
def _kedro_logging(
    environ: dict[str, str], log_level: str | None, log_format: str | None, package_name: str
) -> Iterator[None]:
    """Point ``KEDRO_LOGGING_CONFIG`` of ``environ`` at the configuration of the dg process.

    It is the project's own (or Kedro's default) with consoles on stderr and markup-safe, and
    the level and format chosen (see :mod:`kedro_dagster.console_logging`).
    """
    config = kedro_logging_config(_current_kedro_logging(), log_level, log_format, package_name)
    allowlist = [m for m in environ.get("KEDRO_LOGGING_MODULE_ALLOWLIST", "").split(",") if m]
    if "kedro_dagster" not in allowlist:
        allowlist.append("kedro_dagster")
    with tempfile.TemporaryDirectory(prefix="kedro_dagster_logging_") as folder:
        path = Path(folder) / "logging.yml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        environ["KEDRO_LOGGING_CONFIG"] = str(path)
        environ["KEDRO_LOGGING_MODULE_ALLOWLIST"] = ",".join(allowlist)
        yield


@commands.group(name="dagster", cls=_DgPassthroughGroup)
def dagster_commands() -> None:
    """Deploy and run the Kedro project on Dagster.

    `kedro dagster <dg command> [ARGS]` runs a `dg` command (listed below) inside the project,
    with the project's `src/` importable, `KEDRO_ENV` from `--env`, and every log line on
    stderr. `kedro dagster <command> --help` shows our options and dg's own.
    """


@dagster_commands.command()
@click.option(
    "--env",
    "-e",
    default=None,
    help="Write conf/<ENV>/dagster.yml (default: the base environment, "
    "CONFIG_LOADER_ARGS['base_env'] or base).",
)
@click.option(
    "--layout",
    type=click.Choice(["definitions", "component"]),
    default="definitions",
    show_default=True,
    help="definitions: src/<package>/definitions.py translates the project. component: "
    "src/<package>/defs/kedro/defs.yaml declares a kedro_dagster.KedroProjectComponent.",
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.pass_obj
def init(metadata: Any, env: str | None, layout: str, force: bool) -> None:
    """Write conf/<env>/dagster.yml, src/<package>/definitions.py and dg.toml.

    With --layout component, also src/<package>/defs/kedro/defs.yaml, and definitions.py
    loads the defs folder.
    """
    project_path = Path(metadata.project_path)
    package = metadata.package_name
    package_dir = Path(metadata.source_dir) / package
    definitions = package_dir / "definitions.py"
    depth = len(definitions.relative_to(project_path).parts) - 1
    from kedro.framework.project import settings

    # Where Kedro's loader reads the base environment: `base` unless settings.py says otherwise.
    conf_env = env or settings.CONFIG_LOADER_ARGS.get("base_env") or "base"
    conf_source = project_path / settings.CONF_SOURCE
    if conf_source.is_file():
        raise click.ClickException(
            f"CONF_SOURCE is an archive ({conf_source}): `kedro dagster init` cannot write "
            f"dagster.yml into it. Run it on the project with its configuration folder, then "
            f"archive that folder again (conf/{conf_env}/dagster.yml included)."
        )
    dagster_yml = conf_source / conf_env / "dagster.yml"
    pipeline_names, empty = _registered_pipelines(project_path)
    _write(
        dagster_yml,
        _template("dagster.yml.tmpl").substitute(jobs=_jobs_yaml(pipeline_names, empty)),
        force,
        project_path,
    )
    if layout == "component":
        from kedro_dagster.component import KedroProjectScaffoldParams, defs_yaml

        folder = package_dir / "defs" / "kedro"
        _write(
            folder / "defs.yaml",
            defs_yaml("kedro_dagster.KedroProjectComponent", folder, KedroProjectScaffoldParams()),
            force,
            project_path,
        )
        definitions_py = _template("definitions_component.py.tmpl").template
        defs_module = f"# defs_module: {package}.defs (the defs folder, dg's default)"
    else:
        definitions_py = _template("definitions.py.tmpl").substitute(depth=depth)
        # No defs folder: dg 1.10 to early 1.13 stops on a missing `<package>.defs` (`check defs`,
        # `list defs`, `dev`); later releases fall back to `<package>.definitions` themselves.
        defs_module = f'defs_module = "{package}.definitions"'
    _write(definitions, definitions_py, force, project_path)
    _write(
        project_path / "dg.toml",
        _template("dg.toml.tmpl").substitute(package_name=package, defs_module=defs_module),
        force,
        project_path,
    )


def _stderr_fd() -> int | None:
    """The file descriptor of our stderr, for a child's stdout (None when it has none)."""
    try:
        return sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a stream without a descriptor
        return None


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


def dev_command(host: str, port: int, log_level: str, log_format: str = "colored") -> list[str]:
    """The ``dg dev`` command line serving the project (webserver and daemon).

    Run from the project root, where ``dg.toml`` names the definitions module.
    """
    return [
        _dg_executable(),
        "dev",
        "--host",
        host,
        "--port",
        str(port),
        "--log-level",
        log_level,
        "--log-format",
        log_format,
    ]


@dagster_commands.command()
@click.option("--env", "-e", default=None, help="Kedro environment (sets KEDRO_ENV).")
@click.option("--host", "-h", default="127.0.0.1", show_default=True, help="Webserver host.")
@click.option("--port", "-p", default=3000, show_default=True, type=int, help="Webserver port.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    help="Log level of the Dagster processes; when given, of Kedro and kedro-dagster too.",
)
@click.option(
    "--log-format",
    default="colored",
    show_default=True,
    type=click.Choice(_LOG_FORMATS, case_sensitive=False),
    help="Log format of the Dagster processes; when given, of Kedro and kedro-dagster too.",
)
@click.pass_context
def dev(
    ctx: click.Context, env: str | None, host: str, port: int, log_level: str, log_format: str
) -> None:
    """Start the Dagster webserver and daemon on this project.

    DAGSTER_HOME defaults to <project>/.dagster_home (SQLite storage).
    """
    metadata = ctx.obj
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
    default = click.core.ParameterSource.DEFAULT
    with _kedro_logging(
        environ,
        log_level if ctx.get_parameter_source("log_level") != default else None,
        log_format if ctx.get_parameter_source("log_format") != default else None,
        metadata.package_name,
    ):
        from kedro_dagster._killed_runs import run_dagster_child

        # dg dev, its daemon and webserver log through Dagster's handler on stdout: sent to
        # stderr, where every other log line of these commands goes (stdout: DAGSTER_HOME).
        returncode = run_dagster_child(
            dev_command(host, port, log_level.lower(), log_format.lower()),
            env=environ,
            cwd=project_path,
            stdout=_stderr_fd(),
        )
    sys.exit(returncode)
