"""Logging: getLogger in and out of Dagster runs, the formatters, the `loggers` of dagster.yml.

The YAML examples are those of the user guide, loaded as written (through
``logging.config.dictConfig``, through Kedro's own ``configure_logging`` and through
``dagster.yml``), and the output of every formatter and logger is checked.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import KEDRO, run, runs_in, subprocess_env
from kedro_factory import make_project, translate

GUIDE_LOGGING_YML = """\
formatters:
  simple:
    format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
  colored:
    "()": kedro_dagster.dagster_colored_formatter
  json:
    "()": kedro_dagster.dagster_json_formatter
  rich:
    "()": kedro_dagster.dagster_rich_formatter
handlers:
  console:
    class: logging.StreamHandler
    level: INFO
    stream: ext://sys.stdout
    formatter: colored
loggers:
  kedro:
    level: INFO
  kedro_dagster:
    level: INFO
root:
  handlers: [console]
"""

#: The same, in the only form Kedro >= 1.3 accepts in conf/logging.yml (no "()" keys).
GUIDE_LOGGING_YML_KEDRO = GUIDE_LOGGING_YML
for _kind, _class in [("colored", "Colored"), ("json", "Json"), ("rich", "Rich")]:
    GUIDE_LOGGING_YML_KEDRO = GUIDE_LOGGING_YML_KEDRO.replace(
        f'"()": kedro_dagster.dagster_{_kind}_formatter',
        f"class: kedro_dagster.Dagster{_class}Formatter",
    )

GUIDE_CONSOLE_LOGGER = """\
loggers:
  console_logger:
    log_level: INFO
    handlers:
      - class: logging.StreamHandler
        level: INFO
        stream: ext://sys.stdout
        formatter: simple
    formatters:
      simple:
        format: "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
jobs:
  my_job:
    pipeline:
      pipeline_name: __default__
    executor: sequential
    loggers: [console_logger]
"""

GUIDE_ADVANCED_LOGGER = """\
loggers:
  advanced_logger:
    log_level: DEBUG
    formatters:
      custom_formatter:
        "()": my_package.formatters.CustomFormatter
        prefix: "CUSTOM"
        format: "%(message)s"
      class_formatter:
        class: my_package.formatters.AnotherFormatter
        custom_param: "value"
    filters:
      custom_filter:
        "()": my_package.filters.CustomFilter
        keyword: "important"
    handlers:
      - class: logging.StreamHandler
        level: DEBUG
        formatter: custom_formatter
        filters: [custom_filter]
"""

FORMATTERS_PY = """
import logging


class CustomFormatter(logging.Formatter):
    def __init__(self, prefix, format=None):
        super().__init__(format)
        self.prefix = prefix

    def format(self, record):
        return f"{self.prefix}: {super().format(record)}"


class AnotherFormatter(logging.Formatter):
    def __init__(self, custom_param, fmt=None):
        super().__init__(fmt or "%(levelname)s %(message)s")
        self.custom_param = custom_param

    def format(self, record):
        return f"[{self.custom_param}] {super().format(record)}"
"""

FILTERS_PY = """
import logging


class CustomFilter(logging.Filter):
    def __init__(self, keyword):
        super().__init__()
        self.keyword = keyword

    def filter(self, record):
        return self.keyword in record.getMessage()
"""

ANSI_LEVEL = re.compile(r"\x1b\[[0-9;]+mINFO\x1b\[0m")
RICH_LINE = re.compile(r"^\d{2}:\d{2}:\d{2} \| INFO     \| (?P<name>\S+) \| (?P<message>.*)$")


def _python(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter (dictConfig changes the whole process)."""
    return run([sys.executable, "-c", script, *args], cwd=Path.cwd(), env=subprocess_env(**env))


def _versioned(text: str) -> str:
    """A logging YAML with the ``version: 1`` every dictConfig configuration needs."""
    return "version: 1\n" + text


def _check_formatted(kind: str, line: str, message: str, name: str) -> None:
    if kind == "simple":
        assert f" - {name} - INFO - {message}" in line, line
    elif kind == "colored":
        assert ANSI_LEVEL.search(line), repr(line)
        assert f" - {name} - " in line and line.endswith(message), repr(line)
    elif kind == "json":
        payload = json.loads(line)
        assert payload["message"] == message and payload["level"] == "INFO", payload
        assert payload["name"] == name and payload["timestamp"], payload
    else:
        match = RICH_LINE.match(line)
        assert match, repr(line)
        assert match["name"] == name and match["message"] == message, line


# ----------------------------------------------------------------- formatters, dictConfig

DICTCONFIG_SCRIPT = """
import logging, logging.config, sys, yaml
config = yaml.safe_load(sys.argv[1])
for kind in ("simple", "colored", "json", "rich"):
    config["handlers"]["console"]["formatter"] = kind
    logging.config.dictConfig(config)
    print("FORMAT", kind, flush=True)
    logging.getLogger("kedro_dagster.check").info("hello %s", kind)
    logging.getLogger("kedro_dagster.check").debug("not shown")
"""


def test_guide_logging_yml_loads_with_dictconfig() -> None:
    config = yaml.safe_load(GUIDE_LOGGING_YML)
    assert config["handlers"]["console"]["formatter"] == "colored"
    with pytest.raises(ValueError, match="version"):  # checked before any change
        logging.config.dictConfig(config)
    result = _python(DICTCONFIG_SCRIPT, _versioned(GUIDE_LOGGING_YML))
    blocks = result.stdout.split("FORMAT ")[1:]
    assert [b.split()[0] for b in blocks] == ["simple", "colored", "json", "rich"]
    for block in blocks:
        kind, line = block.strip().split("\n")
        _check_formatted(kind, line, f"hello {kind}", "kedro_dagster.check")


def test_formatter_classes_with_class_key_and_options() -> None:
    from kedro_dagster import (
        DagsterColoredFormatter,
        DagsterJsonFormatter,
        DagsterRichFormatter,
        dagster_colored_formatter,
        dagster_json_formatter,
        dagster_rich_formatter,
    )

    record = logging.LogRecord("a.b", logging.INFO, __file__, 1, "x=%s", ("1",), None)
    assert dagster_colored_formatter(format="%(levelname)s|%(message)s").format(record) == (
        "\x1b[32mINFO\x1b[0m|x=1"
    )
    assert DagsterColoredFormatter("{levelname}:{message}", style="{").format(record) == (
        "\x1b[32mINFO\x1b[0m:x=1"
    )
    assert record.levelname == "INFO"  # restored after formatting
    record.run_id = "r1"  # an `extra=` attribute
    payload = json.loads(DagsterJsonFormatter(datefmt="%Y").format(record))
    assert payload == {
        "timestamp": payload["timestamp"],
        "name": "a.b",
        "level": "INFO",
        "message": "x=1",
        "run_id": "r1",
    }
    assert re.fullmatch(r"\d{4}", payload["timestamp"])
    assert json.loads(dagster_json_formatter().format(record))["message"] == "x=1"
    rich = dagster_rich_formatter(datefmt="%H").format(record)
    assert re.fullmatch(r"\d{2} \| INFO     \| a\.b \| x=1", rich), rich
    multi = logging.LogRecord("a", logging.WARNING, __file__, 1, "one\ntwo", None, None)
    first, second = DagsterRichFormatter().format(multi).split("\n")
    assert first.endswith("| WARNING  | a | one")
    assert second == " " * (len(first) - 3) + "two"
    with pytest.raises(TypeError, match="colour"):
        dagster_colored_formatter(colour="red")


# -------------------------------------------------------------- formatters, Kedro's rules

KEDRO_SCRIPT = """
import logging, sys, yaml
from kedro.framework.project import configure_logging

guide, kedro_form = yaml.safe_load(sys.argv[1]), yaml.safe_load(sys.argv[2])
try:
    configure_logging(guide)
except ValueError as exc:
    print("REFUSED", exc, flush=True)
for kind in ("simple", "colored", "json", "rich"):
    kedro_form["handlers"]["console"]["formatter"] = kind
    configure_logging(kedro_form)
    print("FORMAT", kind, flush=True)
    logging.getLogger("kedro_dagster.check").info("hello %s", kind)
"""


def test_guide_logging_yml_through_kedro_configure_logging() -> None:
    """Kedro refuses "()" keys; the `class:` form works with kedro_dagster allowlisted."""
    args = [_versioned(GUIDE_LOGGING_YML), _versioned(GUIDE_LOGGING_YML_KEDRO)]
    result = _python(KEDRO_SCRIPT, *args, KEDRO_LOGGING_MODULE_ALLOWLIST="kedro_dagster")
    refused, *blocks = result.stdout.split("FORMAT ")
    assert "REFUSED The '()' key is not allowed" in refused, result.stdout
    assert [b.split()[0] for b in blocks] == ["simple", "colored", "json", "rich"]
    for block in blocks:
        kind, line = block.strip().split("\n")
        _check_formatted(kind, line, f"hello {kind}", "kedro_dagster.check")

    # Without the allowlist, Kedro refuses any class outside `logging` and `kedro.logging`.
    denied = subprocess.run(
        [sys.executable, "-c", KEDRO_SCRIPT, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert denied.returncode != 0
    error = " ".join(denied.stderr.split())  # rich wraps the traceback
    assert "Module 'kedro_dagster' specified as a logging class is not permitted" in error, error


# ---------------------------------------------------------------------------- getLogger


def test_get_logger_outside_a_run_is_standard(caplog: pytest.LogCaptureFixture) -> None:
    from kedro_dagster.logging import getLogger

    assert getLogger() is logging.getLogger()
    logger = getLogger("kedro_dagster.tests.outside")
    assert isinstance(logger, logging.Logger) and logger.name == "kedro_dagster.tests.outside"
    assert getLogger("kedro_dagster.tests.outside") is logger
    with caplog.at_level(logging.INFO, logger="kedro_dagster.tests.outside"):
        logger.info("outside %s", "run")
        logger.debug("hidden")
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("kedro_dagster.tests.outside", "outside run")
    ]
    assert caplog.records[0].funcName == "test_get_logger_outside_a_run_is_standard"
    logger.setLevel(logging.WARNING)
    assert logging.getLogger("kedro_dagster.tests.outside").level == logging.WARNING
    assert not logger.isEnabledFor(logging.INFO)
    assert logger.getChild("sub").name == "kedro_dagster.tests.outside.sub"


class _LoggingBody:
    """An op body object, as kedro-dagster builds them (``OpDefinition(compute_fn=obj)``)."""

    def __init__(self, module_logger: logging.Logger) -> None:
        self.module_logger = module_logger

    def __call__(self, context, _inputs):  # no annotations: Dagster inspects them
        from dagster import Output

        from kedro_dagster.logging import getLogger

        inside = getLogger("kedro_dagster.tests.inside")
        assert inside.name == "dagster.builtin.kedro_dagster.tests.inside"
        inside.info("from getLogger in the op")
        self.module_logger.info("from a module-level logger")
        yield Output(1, "result")


def test_get_logger_inside_a_run_reaches_the_event_log() -> None:
    from dagster import DagsterInstance, GraphDefinition, OpDefinition, Out

    from kedro_dagster.logging import getLogger

    module_logger = getLogger("kedro_dagster.tests.module")  # created outside any run
    op = OpDefinition(compute_fn=_LoggingBody(module_logger), name="log_op", outs={"result": Out()})
    job = GraphDefinition(name="log_job", node_defs=[op]).to_job()
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert "from getLogger in the op" in messages
    assert "from a module-level logger" in messages


# ------------------------------------------------------------------------ LoggerCreator


@pytest.fixture
def my_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The guide's `my_package` with its formatters and filters, importable, unique name."""
    name = f"my_package_{uuid.uuid4().hex[:8]}"
    package = tmp_path / "pkgs" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "formatters.py").write_text(FORMATTERS_PY)
    (package / "filters.py").write_text(FILTERS_PY)
    monkeypatch.syspath_prepend(str(tmp_path / "pkgs"))
    return name


def _advanced_logger_options(package: str, log_file: Path) -> dict[str, Any]:
    options = yaml.safe_load(GUIDE_ADVANCED_LOGGER.replace("my_package", package))
    logger = options["loggers"]["advanced_logger"]
    logger["handlers"] += [
        {
            "class": "logging.FileHandler",
            "filename": str(log_file),
            "level": "DEBUG",
            "formatter": "custom_formatter",
            "filters": ["custom_filter"],
        },
        {
            "class": "logging.FileHandler",
            "filename": str(log_file.with_suffix(".class.log")),
            "formatter": "class_formatter",
        },
    ]
    return logger


def test_logger_creator_builds_the_guide_advanced_logger(my_package: str, tmp_path: Path) -> None:
    from kedro_dagster.config import LoggerOptions
    from kedro_dagster.translation import LoggerCreator

    log_file = tmp_path / "advanced.log"
    options = LoggerOptions(**_advanced_logger_options(my_package, log_file))
    definition = LoggerCreator().create("advanced_logger", options)
    root_handlers = list(logging.getLogger().handlers)

    logger = definition.logger_fn(None)
    assert logger.name == "kedro_dagster.loggers.advanced_logger"
    assert logger.level == logging.DEBUG and not logger.propagate
    logger.debug("an important detail")
    logger.info("trivial news")
    again = definition.logger_fn(None)  # a second run in the same process
    assert again is logger and len(logger.handlers) == 3
    logger.info("important again")
    for handler in logger.handlers:
        handler.flush()

    assert log_file.read_text().splitlines() == [
        "CUSTOM: an important detail",
        "CUSTOM: important again",
    ]
    assert log_file.with_suffix(".class.log").read_text().splitlines() == [
        "[value] DEBUG an important detail",
        "[value] INFO trivial news",
        "[value] INFO important again",
    ]
    # Other loggers keep their handlers (dictConfig would have closed them all).
    assert logging.getLogger().handlers == root_handlers
    for handler in logger.handlers:
        handler.close()


def test_logger_creator_class_forms(my_package: str, tmp_path: Path) -> None:
    from kedro_dagster.config import LoggerOptions
    from kedro_dagster.translation import LoggerCreator

    log_file = tmp_path / "forms.log"
    options = LoggerOptions(
        log_level="info",
        formatters={
            "plain": {"class": "logging.Formatter", "format": "%(levelname)s:%(message)s"},
            "colored": {"class": "kedro_dagster.DagsterColoredFormatter", "format": "%(message)s"},
            "prefixed": {
                "class": f"{my_package}.formatters.CustomFormatter",
                "prefix": "P",
                "format": "%(message)s",
            },
        },
        filters={"kw": {"class": f"{my_package}.filters.CustomFilter", "keyword": "keep"}},
        handlers=[
            {"class": "logging.FileHandler", "filename": str(log_file), "formatter": name}
            for name in ("plain", "colored")
        ]
        + [
            {
                "class": "logging.FileHandler",
                "filename": str(log_file),
                "formatter": "prefixed",
                "filters": ["kw"],
            }
        ],
    )
    logger = LoggerCreator().create("forms", options).logger_fn(None)
    logger.info("keep me")
    logger.info("drop me")
    logger.debug("below the level")
    for handler in logger.handlers:
        handler.close()
    assert log_file.read_text().splitlines() == [
        "INFO:keep me",
        "keep me",
        "P: keep me",
        "INFO:drop me",
        "drop me",
    ]


def test_logger_creator_errors_name_the_entry() -> None:
    from kedro_dagster.config import LoggerOptions
    from kedro_dagster.translation import LoggerCreator

    options = LoggerOptions(formatters={"bad": {"()": "no_such_module.Formatter"}})
    with pytest.raises(ValueError, match="formatter 'bad'"):
        LoggerCreator().create("broken", options).logger_fn(None)


def test_run_config_activates_the_chosen_loggers() -> None:
    from kedro_dagster.translation import LoggerCreator

    assert LoggerCreator.run_config(["a", "b"]) == {"loggers": {"console": {}, "a": {}, "b": {}}}


# ------------------------------------------------------------------- end to end, Dagster

PACKAGE = "logproj"

LOGGING_NODES = """
from kedro_dagster.logging import getLogger


def shout(raw, factor):
    logger = getLogger(__name__)
    logger.info("important: hello from node {marker}")
    logger.info("trivial: unfiltered chatter {marker}")
    return raw
"""

LOGGING_REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.log_nodes import shout


def register_pipelines():
    pipeline = Pipeline([node(shout, ["raw", "params:factor"], "echoed", name="shout")])
    return {{"__default__": pipeline}}
"""


@pytest.fixture(scope="module")
def logging_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """A tiny project logging from its node, with the guide's loggers: (project, marker, log)."""
    root = tmp_path_factory.mktemp("logging") / "project"
    marker = uuid.uuid4().hex
    log_file = root.parent / "advanced.log"
    config = yaml.safe_load(GUIDE_CONSOLE_LOGGER)
    advanced = _advanced_logger_options(PACKAGE, log_file)
    config["loggers"]["advanced_logger"] = advanced
    config["jobs"]["advanced_job"] = {
        "pipeline": {"pipeline_name": "__default__"},
        "executor": "sequential",
        "loggers": ["advanced_logger"],
    }
    make_project(
        root,
        PACKAGE,
        catalog={
            "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
            "echoed": {"type": "pandas.CSVDataset", "filepath": "data/echoed.csv"},
        },
        registry=LOGGING_REGISTRY,
        dagster=config,
    )
    package = root / "src" / PACKAGE
    (package / "log_nodes.py").write_text(textwrap.dedent(LOGGING_NODES).format(marker=marker))
    (package / "formatters.py").write_text(FORMATTERS_PY)
    (package / "filters.py").write_text(FILTERS_PY)
    (root / "conf" / "logging.yml").write_text(_versioned(GUIDE_LOGGING_YML_KEDRO))
    run([KEDRO, "dagster", "init"], cwd=root, env=_env())
    return root, marker, log_file


def _env(dagster_home: Path | None = None) -> dict[str, str]:
    return subprocess_env(dagster_home, KEDRO_LOGGING_MODULE_ALLOWLIST="kedro_dagster")


def test_guide_jobs_with_loggers_load(logging_project: tuple[Path, str, Path]) -> None:
    project, _, _ = logging_project
    result = translate(project, env=_env())  # conf/logging.yml needs kedro_dagster allowed
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("DESCRIBE "))
    assert {"my_job", "advanced_job"} <= set(json.loads(line.removeprefix("DESCRIBE "))["jobs"])


@pytest.fixture(scope="module")
def my_job_run(
    logging_project: tuple[Path, str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The guide's `my_job` run through Dagster: (the launch, its DAGSTER_HOME)."""
    project, _, _ = logging_project
    home = tmp_path_factory.mktemp("my_job_home")
    result = run([KEDRO, "dagster", "launch", "--job", "my_job"], cwd=project, env=_env(home))
    return result, home


def test_node_logs_reach_the_event_log(
    logging_project: tuple[Path, str, Path],
    my_job_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    from dagster import DagsterInstance

    _, marker, _ = logging_project
    _, home = my_job_run
    (dagster_run,) = runs_in(home)
    with DagsterInstance.from_config(str(home)) as instance:
        entries = [e.user_message for e in instance.all_logs(dagster_run.run_id)]
    assert f"important: hello from node {marker}" in entries
    assert f"trivial: unfiltered chatter {marker}" in entries


def test_job_logger_console_logger(
    logging_project: tuple[Path, str, Path],
    my_job_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """The guide's console_logger, chosen by `my_job`: its `simple` format, on stdout."""
    _, marker, _ = logging_project
    result, _ = my_job_run
    message = f"important: hello from node {marker}"
    lines = [ln for ln in result.stdout.splitlines() if message in ln]
    assert any(" - kedro_dagster.loggers.console_logger - INFO - " in ln for ln in lines), (
        result.stdout[-4000:]
    )


def test_advanced_logger_formats_and_filters(
    logging_project: tuple[Path, str, Path], tmp_path: Path
) -> None:
    project, marker, log_file = logging_project
    result = run(
        [KEDRO, "dagster", "launch", "--job", "advanced_job"],
        cwd=project,
        env=_env(tmp_path / "home"),
    )
    written = log_file.read_text().splitlines()
    assert written and all(line.startswith("CUSTOM: ") for line in written), written
    assert all("important" in line for line in written), written
    assert any(line.endswith(f"important: hello from node {marker}") for line in written)
    classed = log_file.with_suffix(".class.log").read_text()
    assert "[value] INFO " in classed and f"trivial: unfiltered chatter {marker}" in classed
    # The guide's StreamHandler (stderr): prefixed and filtered too.
    custom = [ln for ln in result.stderr.splitlines() if ln.startswith("CUSTOM: ")]
    assert any(f"hello from node {marker}" in ln for ln in custom), result.stderr[-4000:]
    assert not any("trivial" in ln for ln in custom)


def test_node_logs_under_kedro_run_use_the_standard_logger(
    logging_project: tuple[Path, str, Path],
) -> None:
    """`kedro run` with the guide's logging.yml (class form): colored lines on stdout."""
    project, marker, _ = logging_project
    result = run([KEDRO, "run"], cwd=project, env=_env())
    lines = [ln for ln in result.stdout.splitlines() if f"hello from node {marker}" in ln]
    assert len(lines) == 1, result.stdout[-4000:]
    assert ANSI_LEVEL.search(lines[0]) and f" - {PACKAGE}.log_nodes - " in lines[0]
