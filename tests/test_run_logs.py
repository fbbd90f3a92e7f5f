"""Standard ``logging`` records of nodes (and Kedro's warnings) are messages of the run's event log.

A real project whose node logs with ``logging.getLogger(__name__)`` (INFO, WARNING, DEBUG, an
error with its traceback, a line from a thread it starts) and with ``kedro_dagster.logging``'s
``getLogger`` runs through ``kedro dagster launch`` under the in-process and multiprocess
executors, and as an asset materialization. The run's event log, read from the Dagster
instance, holds each line once with its level; the DEBUG line, below the project's INFO level,
is not there. The Dask and Celery executors are checked in ``test_distributed.py``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from conftest import EXECUTORS, KEDRO, event_log_messages, run, runs_in, subprocess_env
from kedro_factory import make_project

PACKAGE = "logproj"

NODES_PY = """
import logging
import threading

from kedro_dagster.logging import getLogger

logger = logging.getLogger(__name__)
ours = getLogger(__name__ + ".ours")


def make_table(raw, factor):
    logger.info("node says info %d", 42)
    logger.warning("node says warning")
    logger.debug("node says debug")
    logger.info("node connects with %s", "s3cr3t-passw0rd")
    ours.info("our getLogger says hello")
    worker = threading.Thread(target=logger.info, args=("node thread says hi",))
    worker.start()
    worker.join()
    try:
        raise ValueError("kaboom")
    except ValueError:
        logger.error("node caught an error", exc_info=True)
    out = raw.copy()
    out["scaled"] = out["value"] * factor
    return out


def summarise(table):
    return table.describe().reset_index()


def identity(x):
    return x
"""


def _project(root: Path) -> Path:
    """The project, with one job of the default pipeline per executor of ``EXECUTORS``."""
    executors: dict = {}
    jobs = {}
    for kind, declared in EXECUTORS.items():
        executors.update(declared)
        (executor_name,) = declared
        jobs[f"job_{kind}"] = {
            "pipeline": {"pipeline_name": "__default__"},
            "executor": executor_name,
        }
    project = make_project(
        root,
        PACKAGE,
        dagster={"executors": executors, "jobs": jobs},
        credentials={"db": {"password": "s3cr3t-passw0rd"}},
    )
    (project / "src" / PACKAGE / "nodes.py").write_text(NODES_PY)
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml
    return project


def assert_node_lines(
    messages: list[tuple[int, str, str | None]], step: str, kedro_lines: bool = False
) -> None:
    """The node's lines, once each with their level, in the node's step.

    Kedro's own INFO lines only when ``kedro_lines``: when the instance manages the
    ``kedro`` logger itself.
    """

    def once(text: str, level: int) -> None:
        found = [m for m in messages if m[1] == text]
        assert len(found) == 1, (text, found, messages)
        assert found[0][0] == level, (text, found)
        assert found[0][2] is not None and step in found[0][2], (text, found)

    once("node says info 42", logging.INFO)
    once("node says warning", logging.WARNING)
    once("our getLogger says hello", logging.INFO)
    once("node thread says hi", logging.INFO)
    if kedro_lines:
        once("Loading data from raw (CSVDataset)...", logging.INFO)
        once("Saving data to table (CSVDataset)...", logging.INFO)
    else:
        # Kedro's INFO progress lines repeat Dagster's LOADED_INPUT / HANDLED_OUTPUT events:
        # left to the console (one event-log write less per dataset).
        kedro = [m for m in messages if m[1].startswith(("Loading data ", "Saving data "))]
        assert not kedro, kedro
    assert not [m for m in messages if "node says debug" in m[1]], messages
    errors = [m for m in messages if m[1].startswith("node caught an error")]
    assert len(errors) == 1, messages
    assert errors[0][0] == logging.ERROR
    # The traceback is part of the message: the event log keeps no exc_info.
    assert "ValueError: kaboom" in errors[0][1]
    # Credentials are masked, as in the console's and the compute logs' output.
    once("node connects with ***", logging.INFO)
    assert not [m for m in messages if "s3cr3t" in m[1]], messages


@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_node_and_kedro_logs_in_event_log(tmp_path: Path, executor: str) -> None:
    project = _project(tmp_path / "project")
    home = tmp_path / "home"
    result = run(
        [KEDRO, "dagster", "launch", "--job", f"job_{executor}"],
        cwd=project,
        env=subprocess_env(home),
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS", result.stderr[-4000:]
    messages = event_log_messages(home, dagster_run.run_id)
    assert_node_lines(messages, "make_table")
    # Dagster's STEP_START says it: Kedro's "Running node" stays on the console only.
    assert not [m for m in messages if m[1].startswith("Running node: ")], messages
    assert "Running node: make_table" in result.stderr
    assert "Loading data from table (CSVDataset)..." in result.stderr
    # The other node's step gets its own lines, not make_table's.
    summarise = [m for m in messages if m[2] and "summarise" in m[2]]
    assert not [m for m in summarise if m[1].startswith("node says")], summarise


def test_asset_materialization_logs_in_event_log(tmp_path: Path) -> None:
    project = _project(tmp_path / "project")
    home = tmp_path / "home"
    run(
        [KEDRO, "dagster", "launch", "--assets", "table"],
        cwd=project,
        env=subprocess_env(home),
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    assert_node_lines(event_log_messages(home, dagster_run.run_id), "make_table")


def _launch_managing(project: Path, home: Path, managed: str) -> list[tuple[int, str, str | None]]:
    """Run the in-process job in an instance whose dagster.yaml manages the logger ``managed``."""
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"telemetry:\n  enabled: false\npython_logs:\n  managed_python_loggers: [{managed}]\n"
    )
    run(
        [KEDRO, "dagster", "launch", "--job", "job_in_process"],
        cwd=project,
        env=subprocess_env(home),
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"
    return event_log_messages(home, dagster_run.run_id)


def test_no_duplicates_with_loggers_the_instance_manages(tmp_path: Path) -> None:
    """Lines Dagster captured itself (``managed_python_loggers``) are recorded once."""
    project = _project(tmp_path / "project")
    # Dagster converts Kedro's records ("kedro" managed); the node's come through us.
    messages = _launch_managing(project, tmp_path / "home_kedro", "kedro")
    assert_node_lines(messages, "make_table", kedro_lines=True)
    # Dagster captures root itself: we stay out of its way.
    messages = _launch_managing(project, tmp_path / "home_root", "root")
    for text in (
        "node says info 42",
        "node says warning",
        "our getLogger says hello",
        "Loading data from raw (CSVDataset)...",
    ):
        assert len([m for m in messages if m[1] == text]) == 1, (text, messages)


def test_steps_running_at_once_in_one_process_get_their_own_records() -> None:
    """Routing by thread, as two steps in the threads of one Dask worker run at once."""
    import threading

    import dagster as dg

    from kedro_dagster.runtime.log_capture import step_log_capture

    received: dict[str, list[str]] = {"a": [], "b": []}
    node_logger = logging.getLogger("logproj.routing")
    node_logger.setLevel(logging.INFO)
    both_started = threading.Barrier(2)
    both_logged = threading.Barrier(2)

    class Keep(logging.Handler):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def emit(self, record: logging.LogRecord) -> None:
            # Dagster prefixes the message with the step ("system - ..." out of a run).
            received[self.name].append(record.getMessage().rpartition(" - ")[2])

    def step(name: str) -> None:
        context = dg.build_op_context()
        context.log.addHandler(Keep(name))
        with step_log_capture(context):
            both_started.wait()
            node_logger.info("line of step %s", name)
            # A thread the node starts while two steps run: no step can claim it.
            worker = threading.Thread(target=node_logger.info, args=(f"thread of {name}",))
            worker.start()
            worker.join()
            both_logged.wait()
        # Once the other step ended too, a node thread belongs to the only step left.

    threads = [threading.Thread(target=step, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert received == {"a": ["line of step a"], "b": ["line of step b"]}

    context = dg.build_op_context()
    context.log.addHandler(Keep("a"))
    received["a"].clear()
    with step_log_capture(context):
        worker = threading.Thread(target=node_logger.info, args=("thread of the only step",))
        worker.start()
        worker.join()
    node_logger.info("after the step")
    assert received["a"] == ["thread of the only step"]
    # The root handler is gone with the last step.
    from kedro_dagster.runtime import log_capture

    assert log_capture._handler not in logging.getLogger().handlers
