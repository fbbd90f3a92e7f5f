"""Parity on distributed executors: real Dask and Celery (Redis) workers on loopback.

The default job of the example runs through Dagster's ``dask`` executor against a Dask
scheduler with two worker processes, and through the ``celery`` executor with a Redis
broker and a Celery worker: outputs must be those of ``kedro run``. Workers load the job
from the project's ``<package>.definitions`` with ``src/`` on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from conftest import (
    BIN,
    EXAMPLE,
    REPO,
    assert_parity,
    copy_project,
    dagster_launch,
    event_log_messages,
    kedro_run,
    missing_service,
    persisted_outputs,
    subprocess_env,
    write_dagster_yml,
)

PACKAGE = "spaceflights"
REDIS_PORT = int(os.environ.get("KEDRO_DAGSTER_REDIS_PORT", "6379"))
#: A Redis database of its own, so a shared Redis is not disturbed.
REDIS_DB = int(os.environ.get("KEDRO_DAGSTER_REDIS_DB", "11"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _worker_env(project: Path, home: Path) -> dict[str, str]:
    """The environment of worker processes: the project importable, the run's instance."""
    env = subprocess_env(home)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(project / "src"), env.get("PYTHONPATH", "")) if p
    )
    env["PATH"] = os.pathsep.join((str(BIN), env.get("PATH", "")))
    return env


@contextmanager
def _background(
    commands: dict[str, list[str]], cwd: Path, env: dict[str, str], logs: Path
) -> Iterator[dict[str, Path]]:
    """Start long-running processes, each in its own session; stop them (and children) after."""
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    log_files: dict[str, Path] = {}
    try:
        for name, command in commands.items():
            log_files[name] = logs / f"{name}.log"
            with log_files[name].open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=cwd,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield log_files
    finally:
        for process in processes:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a process started by this module and the process group it leads."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            # The leader is gone; give its children (same group) the same signal once more.
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def _tails(log_files: dict[str, Path]) -> str:
    return "\n".join(
        f"--- {name} (tail) ---\n{path.read_text(errors='replace')[-4000:]}"
        for name, path in log_files.items()
        if path.exists()
    )


def _wait_for(check: Callable[[], bool], timeout: float, what: str, logs: dict[str, Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"{what} not ready after {timeout:.0f} s\n{_tails(logs)}")


def _kedro_side(tmp_path: Path) -> dict[str, bytes]:
    project = copy_project(EXAMPLE, tmp_path / "kedro")
    kedro_run(project)
    expected = persisted_outputs(project)
    assert expected, "kedro run wrote nothing: the parity check would be empty"
    return expected


#: A line of the example's node, and what the Dagster side's copy adds after it.
_NODE_LOG_LINE = '    logger.info("Preprocessed %d companies", len(out))\n'
_NODE_EXTRA_LOGS = (
    '    logger.warning("Companies preprocessed: a warning for the event log")\n'
    '    logger.debug("Companies preprocessed: a debug line under the INFO level")\n'
)


def _log_more(project: Path) -> None:
    """A WARNING and a DEBUG line in a node of the example, with the standard module."""
    nodes = project / "src" / PACKAGE / "pipelines" / "data_processing" / "nodes.py"
    text = nodes.read_text()
    assert _NODE_LOG_LINE in text, "the example's preprocess_companies changed"
    nodes.write_text(text.replace(_NODE_LOG_LINE, _NODE_LOG_LINE + _NODE_EXTRA_LOGS))


def _assert_node_logs(home: Path, run_id: str) -> None:
    """The node's standard logging lines are in the event log, once, level kept."""
    messages = event_log_messages(home, run_id)
    step = [m for m in messages if m[2] and "preprocess_companies" in m[2]]

    def once(matches: Callable[[str], bool], level: int) -> None:
        found = [m for m in step if matches(m[1])]
        assert len(found) == 1 and found[0][0] == level, (found, messages)

    once(lambda text: text.startswith("Preprocessed ") and text.endswith(" companies"), 20)
    once(lambda text: text == "Companies preprocessed: a warning for the event log", 30)
    # Kedro's INFO progress lines repeat Dagster's step events: on the console only.
    assert not [m for m in step if m[1].startswith(("Loading data ", "Running node: "))], step
    assert not [m for m in messages if "a debug line" in m[1]], messages
    # The example's hooks log at DEBUG: below the project's INFO level, not recorded.
    assert not [m for m in messages if m[1].startswith("Finished node ")], messages


def _dagster_side(tmp_path: Path, executor: dict) -> tuple[Path, Path]:
    project = copy_project(EXAMPLE, tmp_path / "dagster")
    _log_more(project)
    write_dagster_yml(
        project,
        {
            "executors": {"distributed": executor},
            "jobs": {
                "parity": {"pipeline": {"pipeline_name": "__default__"}, "executor": "distributed"}
            },
        },
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return project, home


def _step_pids(home: Path, run_id: str) -> set[int]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.STEP_SUCCESS)
        return {e.dagster_event.pid for e in entries if e.dagster_event and e.dagster_event.pid}


def _engine_messages(home: Path, run_id: str) -> list[str]:
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
        return [e.message or "" for e in entries]


@pytest.mark.timeout(600)
def test_dask_executor_parity(tmp_path: Path) -> None:
    from distributed import Client

    expected = _kedro_side(tmp_path)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    cluster = {"existing": {"address": address}}
    project, home = _dagster_side(tmp_path, {"dask": {"cluster": cluster}})
    env = _worker_env(project, home)
    dask = str(BIN / "dask")
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port)]
    workers = [dask, "worker", address, "--nthreads", "1", "--nworkers", "2", "--host", "127.0.0.1"]
    commands = {
        "scheduler": [*scheduler, "--no-dashboard", "--no-show"],
        "workers": [*workers, "--no-dashboard", "--local-directory", str(tmp_path / "dask")],
    }
    with _background(commands, project, env, tmp_path / "logs") as logs:
        client: Client | None = None

        def connected() -> bool:
            nonlocal client
            try:
                client = Client(address, timeout="2s")
            except OSError:
                return False
            return True

        _wait_for(connected, 60, "Dask scheduler", logs)
        assert client is not None
        with client:
            try:
                client.wait_for_workers(2, timeout=90)
            except TimeoutError:
                raise AssertionError(f"Dask workers did not start\n{_tails(logs)}") from None
            worker_pids = set(client.run(os.getpid).values())
            try:
                dagster_launch(project, "parity", home)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{_tails(logs)}") from None

    run_id = assert_parity(expected, project, home, "parity")
    # Every node ran in a Dask worker process, none in the run's own process.
    step_pids = _step_pids(home, run_id)
    assert step_pids, "no step ran"
    assert step_pids <= worker_pids, (step_pids, worker_pids)
    _assert_node_logs(home, run_id)


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_url() -> str:
    """Redis on loopback: the one `scripts/services` started, or started by it now."""
    if not _redis_up():
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "services")],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "KEDRO_DAGSTER_REDIS_PORT": str(REDIS_PORT)},
        )
        if not _redis_up():
            if shutil.which("redis-server") is None:
                missing_service(
                    "redis-server is not installed and scripts/services could not install "
                    f"it:\n{result.stderr[-2000:]}"
                )
            raise AssertionError(f"scripts/services did not start Redis:\n{result.stderr}")
    return f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}"


@pytest.mark.timeout(600)
def test_celery_executor_parity(tmp_path: Path, redis_url: str) -> None:
    import redis
    from celery import Celery

    # The test's own Redis database: no task left over by an interrupted earlier run.
    redis.Redis.from_url(redis_url).flushdb()
    expected = _kedro_side(tmp_path)
    celery_config = {"broker": redis_url, "backend": redis_url}
    project, home = _dagster_side(tmp_path, {"celery": celery_config})
    worker_yaml = tmp_path / "celery.yaml"
    worker_yaml.write_text(yaml.safe_dump({"execution": {"config": celery_config}}))
    env = _worker_env(project, home)
    name = f"kedro-dagster-test-{os.getpid()}"
    worker = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"]
    celery_args = ["--concurrency", "2", "--without-heartbeat", "--without-gossip"]
    commands = {"celery_worker": [*worker, "-y", str(worker_yaml), "-n", name, "--", *celery_args]}
    app = Celery("probe", broker=redis_url, backend=redis_url)
    with _background(commands, project, env, tmp_path / "logs") as logs:
        _wait_for(
            lambda: any(
                host.startswith(f"{name}@") for r in app.control.ping(timeout=1) for host in r
            ),
            90,
            "Celery worker",
            logs,
        )
        try:
            dagster_launch(project, "parity", home)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_tails(logs)}") from None
        finally:
            app.close()

    run_id = assert_parity(expected, project, home, "parity")
    # Every step was delegated to the Celery worker.
    delegated = [m for m in _engine_messages(home, run_id) if "in celery worker" in m]
    assert delegated, _engine_messages(home, run_id)
    _assert_node_logs(home, run_id)
