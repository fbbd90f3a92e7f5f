"""Every bad input shows our message where the user looks: the real CLI, on stderr, once.

Each case breaks a fresh copy of a small real project (config, catalog, parameters, registry,
names, environment, project location) and runs the commands a user runs. Every case goes
through `kedro dagster list defs` with Kedro's default rich logging; each case also goes
through one more surface (`check defs`, `launch`), logging setup (file-only `conf/logging.yml`)
or `--log-format`, in rotation, so every surface, setup and format meets many kinds of error.
`kedro dagster dev` shows each case's message in the code location error over GraphQL.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from compat import listed_job_names
from conftest import BIN, KEDRO, run, subprocess_env
from dev_server import graphql, serve
from kedro_factory import make_project

PACKAGE = "errpkg"
KEDRO_DAGSTER = str(BIN / "kedro-dagster")
MARKUP_ERRORS = ("MarkupError", "doesn't match any open tag")

FILE_ONLY_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"simple": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
    "handlers": {
        "info_file_handler": {
            "class": "logging.handlers.RotatingFileHandler",
            "level": "INFO",
            "formatter": "simple",
            "filename": "info.log",
        }
    },
    "loggers": {"kedro": {"level": "INFO"}},
    "root": {"handlers": ["info_file_handler"]},
}


def _dagster_yml(root: Path, config: object) -> None:
    (root / "conf/base/dagster.yml").write_text(yaml.safe_dump(config, sort_keys=False))


def _job(**options: object) -> dict:
    return {"jobs": {"main_job": {"pipeline": {"pipeline_name": "main"}, **options}}}


def _write(relative: str, text: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / relative).write_text(textwrap.dedent(text))

    return mutate


def _config(config: object) -> Callable[[Path], None]:
    return lambda root: _dagster_yml(root, config)


def _registry(body: str) -> Callable[[Path], None]:
    header = "from kedro.pipeline import Pipeline, node\nfrom errpkg.nodes import identity\n\n"
    return _write(f"src/{PACKAGE}/pipeline_registry.py", header + textwrap.dedent(body))


def _nodes(*nodes: str) -> Callable[[Path], None]:
    """A registry whose `__default__` and `main` pipelines hold ``nodes`` (Python source)."""
    return _registry(
        "def register_pipelines():\n"
        f"    p = Pipeline([{', '.join(nodes)}])\n"
        "    return {'__default__': p, 'main': p}\n"
    )


def _catalog(entries: dict) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / "conf/base/catalog.yml"
        catalog = yaml.safe_load(path.read_text())
        catalog.update(entries)
        path.write_text(yaml.safe_dump(catalog))

    return mutate


def _without_dataset(root: Path, name: str) -> None:
    path = root / "conf/base/catalog.yml"
    catalog = yaml.safe_load(path.read_text())
    del catalog[name]
    path.write_text(yaml.safe_dump(catalog))


def _wrong_definitions_folder(root: Path) -> None:
    path = root / "src" / PACKAGE / "definitions.py"
    path.write_text(path.read_text().replace("parents[2]", "parents[1]"))


@dataclass(frozen=True)
class Case:
    """A broken project: how to break it, and what our message must say."""

    id: str
    mutate: Callable[[Path], None]
    expected: tuple[str, ...]  # single-line fragments; the first must appear exactly once
    args: tuple[str, ...] = ()  # extra CLI arguments (``--env``)


CASES = [
    # dagster.yml
    Case(
        "job-key-typo",
        _config({"jobs": {"j": {"pipelin": {}}}}),
        ("Did you mean 'pipeline'", "jobs.j.pipelin"),
    ),
    Case(
        "pipeline-typo",
        _config({"jobs": {"j": {"pipeline": {"pipeline_name": "mian"}}}}),
        ("Did you mean 'main'",),
    ),
    Case("executor-typo", _config(_job(executor="multiproces")), ("Did you mean 'multiprocess'",)),
    Case("schedule-undeclared", _config(_job(schedule="daily")), ("Declare it under 'schedules'",)),
    Case("logger-undeclared", _config(_job(loggers=["console"])), ("Declare it under 'loggers'",)),
    Case("job-name", _config({"jobs": {"bad-name": {}}}), ("letters, digits and underscores",)),
    Case(
        "executor-kind-typo",
        _config({"executors": {"e": {"multiproces": {}}}}),
        ("executors.e.multiproces",),
    ),
    Case(
        "executor-option-type",
        _config({"executors": {"e": {"multiprocess": {"max_concurrent": "two"}}}}),
        ("executors.e.multiprocess.max_concurrent",),
    ),
    Case(
        "executor-two-kinds",
        _config({"executors": {"e": {"in_process": {}, "multiprocess": {}}}}),
        ("exactly one executor kind",),
    ),
    Case(
        "cron",
        _config({"schedules": {"s": {"cron_schedule": "every day"}}}),
        ("not a valid cron string",),
    ),
    Case(
        "timezone",
        _config(
            {
                "schedules": {
                    "s": {"cron_schedule": "0 0 * * *", "execution_timezone": "Mars/Olympus"}
                }
            }
        ),
        ("IANA timezone",),
    ),
    Case("schedule-no-cron", _config({"schedules": {"s": {}}}), ("schedules.s.cron_schedule",)),
    Case(
        "default-status",
        _config({"schedules": {"s": {"cron_schedule": "0 0 * * *", "default_status": "paused"}}}),
        ("'STOPPED' or 'RUNNING'",),
    ),
    Case(
        "logger-level", _config({"loggers": {"l": {"log_level": "LOUD"}}}), ("not a logging level",)
    ),
    Case("top-level-typo", _config({"jobz": {}}), ("Did you mean 'jobs'",)),
    Case(
        "dagster-not-mapping",
        _write("conf/base/dagster.yml", "- jobs\n- executors\n"),
        ("must be a mapping",),
    ),
    Case(
        "dagster-yaml-syntax",
        _write("conf/base/dagster.yml", "jobs:\n  j:\n    pipeline: {pipeline_name: main\n"),
        ("Cannot read the 'dagster' configuration", "line 4"),
    ),
    Case(
        "filters-match-nothing",
        _config({"jobs": {"j": {"pipeline": {"pipeline_name": "main", "tags": ["nope"]}}}}),
        ("filtering pipeline 'main' with {'tags': ['nope']}", "no nodes"),
    ),
    Case(
        "node-name-filter-typo",
        _config(
            {"jobs": {"j": {"pipeline": {"pipeline_name": "main", "node_names": ["make_tabel"]}}}}
        ),
        ("Pipeline does not contain nodes named ['make_tabel']", "dagster.yml"),
    ),
    # catalog.yml and parameters.yml
    Case(
        "catalog-yaml-syntax",
        _write("conf/base/catalog.yml", "raw:\n  type: pandas.CSVDataset\n   filepath: x\n"),
        ("Cannot read the 'catalog' configuration", "line 3"),
    ),
    Case(
        "catalog-not-mapping",
        _write("conf/base/catalog.yml", "- raw\n"),
        ("catalog.yml must be a mapping of dataset names",),
    ),
    Case(
        "parameters-yaml-syntax",
        _write("conf/base/parameters.yml", "factor: [2.0\n"),
        ("Cannot read the 'parameters' configuration",),
    ),
    Case(
        "missing-memory-input",
        lambda root: (
            _config({"jobs": {"j": {"pipeline": {"pipeline_name": "main", "tags": ["report"]}}}})(
                root
            ),
            _without_dataset(root, "table"),
        ),
        ("read 'table', which is not declared in the catalog",),
    ),
    Case(
        "dataset-name-clash",
        lambda root: (
            _nodes("node(identity, 'raw', 'a.b', name='n1')", "node(identity, 'raw', 'a__b')")(
                root
            ),
            _catalog(
                {
                    "a.b": {"type": "pandas.CSVDataset", "filepath": "data/ab.csv"},
                    "a__b": {"type": "pandas.CSVDataset", "filepath": "data/a__b.csv"},
                }
            )(root),
        ),
        ("both map to the Dagster asset name 'a__b'",),
    ),
    # pipeline registry and node names
    Case(
        "registry-raises",
        _registry(
            "def register_pipelines():\n"
            "    raise ValueError('registry exploded: ' + 'check the config')\n"
        ),
        ("registry exploded: check the config",),
    ),
    Case(
        "registry-not-pipeline",
        _registry(
            "def register_pipelines():\n    return {'__default__': ['not', 'a', 'pipeline']}\n"
        ),
        ("maps '__default__' to a list, not a Pipeline",),
    ),
    Case(
        "registry-import-error",
        _registry("import not_a_module_anywhere\n\ndef register_pipelines():\n    return {}\n"),
        ("No module named 'not_a_module_anywhere'",),
    ),
    Case(
        "node-name-spaces",
        _nodes("node(identity, 'raw', 'out', name='my' + ' node')"),
        ("'my node' is not a valid node name",),
    ),
    Case(
        "node-name-clash",
        _nodes(
            "node(identity, 'raw', 'x1', name='a.b')", "node(identity, 'raw', 'x2', name='a__b')"
        ),
        ("Nodes 'a.b' and 'a__b' both map",),
    ),
    # preflight at load
    Case(
        "factory-pattern",
        _catalog({"{name_csv": {"type": "pandas.CSVDataset", "filepath": "data/out.csv"}}),
        ("dataset factory pattern '{name_csv' is malformed",),
    ),
    Case(
        "parameter-missing",
        _nodes("node(identity, 'params:factr', 'out', name='n')"),
        ("node 'n' reads 'params:factr'", "Did you mean 'factor'"),
    ),
    Case(
        "credentials-missing",
        _catalog(
            {"raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv", "credentials": "db"}}
        ),
        ("dataset 'raw' uses credentials 'db'",),
    ),
    # environment and project location
    Case(
        "env-missing",
        lambda root: None,
        ("Kedro environment 'nope' does not exist",),
        ("--env", "nope"),
    ),
    Case(
        "env-typo",
        lambda root: (root / "conf/prod").mkdir(),
        ("Did you mean 'prod'",),
        ("--env", "prd"),
    ),
    Case("definitions-wrong-folder", _wrong_definitions_folder, ("pyproject.toml' is missing",)),
]

# One more surface per case, in rotation: (command, logging setup, --log-format).
VARIANTS = [
    (("check", "defs"), "rich", None),
    (("launch", "--job", "main_job"), "files", None),
    (("list", "defs"), "rich", "colored"),
    (("check", "defs"), "files", "json"),
    (("list", "defs"), "files", None),
    (("launch", "--job", "main_job"), "rich", "rich"),
    (("list", "defs"), "rich", "json"),
    (("check", "defs"), "rich", "colored"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working project with `kedro dagster init` done and a `main_job` job."""
    root = make_project(tmp_path_factory.mktemp("cli_errors") / "template", PACKAGE)
    run([KEDRO, "dagster", "init"], cwd=root, env=subprocess_env())
    _dagster_yml(root, _job())
    return root


def _broken(template: Path, case: Case, dest: Path, logging_setup: str = "rich") -> Path:
    root = dest / case.id
    shutil.copytree(template, root)
    if logging_setup == "files":
        (root / "conf/logging.yml").write_text(yaml.safe_dump(FILE_ONLY_LOGGING))
    case.mutate(root)
    return root


def _run_cli(
    root: Path, command: tuple[str, ...], case: Case, log_format: str | None, home: Path
) -> subprocess.CompletedProcess[str]:
    args = [KEDRO, "dagster", *command, *case.args]
    if log_format:
        args += ["--log-format", log_format]
    return subprocess.run(
        args, cwd=root, env=subprocess_env(home), capture_output=True, text=True, timeout=300
    )


def _assert_shown_once(result: subprocess.CompletedProcess[str], case: Case, what: str) -> None:
    shown = (
        f"{what}\n--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-5000:]}"
    )
    assert result.returncode != 0, shown
    for marker in MARKUP_ERRORS:
        assert marker not in result.stdout + result.stderr, shown
    for fragment in case.expected:
        assert fragment in result.stderr, f"{fragment!r} not on stderr: {shown}"
    assert result.stderr.count(case.expected[0]) == 1, f"shown more than once: {shown}"
    assert case.expected[0] not in result.stdout, f"on stdout: {shown}"


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.id for c in CASES])
def test_error_reaches_the_user(template: Path, tmp_path: Path, index: int) -> None:
    case = CASES[index]
    root = _broken(template, case, tmp_path / "rich")
    result = _run_cli(root, ("list", "defs"), case, None, tmp_path / "home")
    _assert_shown_once(result, case, "list defs")

    command, logging_setup, log_format = VARIANTS[index % len(VARIANTS)]
    if logging_setup != "rich":
        root = _broken(template, case, tmp_path / logging_setup, logging_setup)
    result = _run_cli(root, command, case, log_format, tmp_path / "home")
    _assert_shown_once(result, case, f"{' '.join(command)} [{logging_setup}, {log_format}]")
    if command[0] == "launch":
        assert not (root / "data/table.csv").exists()


def test_json_output_is_valid_on_stdout(template: Path, tmp_path: Path) -> None:
    """`list defs --json` is parseable as a whole: every log line is on stderr."""
    root = tmp_path / "ok"
    shutil.copytree(template, root)
    env = subprocess_env(tmp_path / "home")
    for args in (("list", "defs", "--json"), ("list", "defs", "--json", "--log-format", "json")):
        result = run([KEDRO, "dagster", *args], cwd=root, env=env)
        document = json.loads(_without_kedro_banner(result.stdout))
        assert listed_job_names(document) >= {"main_job"}
        assert "logging configuration" in result.stderr


def test_standalone_command_prints_json_only(template: Path, tmp_path: Path) -> None:
    """`kedro-dagster list defs --json`: stdout is the JSON document and nothing else."""
    root = tmp_path / "ok"
    shutil.copytree(template, root)
    result = run([KEDRO_DAGSTER, "list", "defs", "--json"], cwd=root, env=subprocess_env())
    assert listed_job_names(json.loads(result.stdout)) >= {"main_job"}
    assert "logging configuration" in result.stderr


def test_standalone_command_usage_names_the_command_as_typed(template: Path) -> None:
    """`kedro-dagster launch --help` shows `kedro-dagster launch`, not `kedro-dagster dagster
    launch` (which would run `dg dagster`); `kedro dagster` keeps its own name."""
    group = run([KEDRO_DAGSTER, "--help"], cwd=template, env=subprocess_env()).stdout
    assert "Usage: kedro-dagster [OPTIONS] COMMAND" in group, group
    launch = run([KEDRO_DAGSTER, "launch", "--help"], cwd=template, env=subprocess_env()).stdout
    assert "Usage: kedro-dagster launch [OPTIONS]" in launch, launch
    assert "Usage: dg launch" in launch
    kedro = run([KEDRO, "dagster", "launch", "--help"], cwd=template, env=subprocess_env()).stdout
    assert "Usage: kedro dagster launch [OPTIONS]" in kedro, kedro


def _without_kedro_banner(stdout: str) -> str:
    """stdout without the line Kedro logs when the `kedro` command starts, before any plugin.

    Kedro configures its logging, and logs which configuration it uses, when `kedro` imports
    `kedro.framework.project`: before plugins load, so kedro-dagster cannot move that line.
    `kedro-dagster` (our standalone command) has no such line (see the test below).
    """
    lines = stdout.splitlines()
    # An object, or (dagster-dg-cli 1.10) a list; not a Rich log line's "[date time]".
    start = next(
        i for i, line in enumerate(lines) if line[:1] == "{" or line[:2] in ("[", "[{", "[]")
    )
    banner = " ".join(lines[:start])
    assert not banner or "logging configuration" in " ".join(banner.split()), banner
    return "\n".join(lines[start:])


RELOAD = """
mutation Reload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) {
    __typename
    ... on WorkspaceLocationEntry { name }
    ... on PythonError { message }
  }
}
"""
#: One case of each kind, shown by the UI after the project changed under `kedro dagster dev`.
DEV_CASES = [
    "job-key-typo",
    "cron",
    "dagster-yaml-syntax",
    "catalog-not-mapping",
    "registry-raises",
    "node-name-spaces",
    "filters-match-nothing",
    "missing-memory-input",
]


LOCATION_ERROR = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message errorChain { error { message } } }
        }
      }
    }
  }
}
"""


def _location_error(url: str) -> tuple[str, str | None]:
    """The only code location's name and its load error, with its causes as the UI shows them."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        entries = graphql(url, LOCATION_ERROR)["workspaceOrError"]["locationEntries"]
        (entry,) = entries
        if entry["loadStatus"] == "LOADED":
            error = entry["locationOrLoadError"] or {}
            if error.get("__typename") != "PythonError":
                return entry["name"], None
            chain = [link["error"]["message"] for link in error["errorChain"]]
            return entry["name"], "\n".join([error["message"], *chain])
        time.sleep(0.5)
    raise AssertionError("the code location did not reload")


def test_dev_shows_the_message_in_the_code_location_error(template: Path, tmp_path: Path) -> None:
    """`kedro dagster dev` keeps serving; each broken project shows our message in the UI."""
    root = tmp_path / "served"
    shutil.copytree(template, root)
    pristine = tmp_path / "pristine"
    shutil.copytree(template, pristine)
    cases = {case.id: case for case in CASES}
    with serve(root, tmp_path / "home", tmp_path / "dev.log") as url:
        name, error = _location_error(url)
        assert error is None
        for case_id in DEV_CASES:
            case = cases[case_id]
            shutil.rmtree(root / "conf")
            shutil.rmtree(root / "src")
            shutil.copytree(pristine / "conf", root / "conf")
            shutil.copytree(pristine / "src", root / "src")
            case.mutate(root)
            graphql(url, RELOAD, {"name": name})
            _, error = _location_error(url)
            assert error is not None, case_id
            for marker in MARKUP_ERRORS:
                assert marker not in error, (case_id, error)
            for fragment in case.expected:
                assert fragment in error, (case_id, fragment, error)
            assert error.count(case.expected[0]) == 1, (case_id, error)
