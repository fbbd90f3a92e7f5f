"""SIGTERM and SIGINT stop `kedro dagster launch | dev` and every process they started.

Real processes: `kedro dagster ...` is started as a user (or a process manager) would, the
process tree is recorded with psutil just before the signal, and after the signal no process of
that tree may survive. A run being executed must end FAILURE or CANCELED in the instance, and
the node after the interrupted one must not have written its output. Ctrl-C is typed into a
pseudo-terminal whose foreground group is the `kedro` process and its children, as in a shell.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shutil
import signal
import socket
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import requests

from conftest import KEDRO, run, subprocess_env, write_dagster_yml
from dev_server import free_port
from kedro_factory import make_project

# The first node says where it runs, then sleeps: the signal arrives while it is executing.
# With IGNORE_SIGNALS set, it ignores SIGINT and SIGTERM (as an op stuck in a C call would).
SLOW_REGISTRY = """
import os
import signal
import time
from pathlib import Path

from kedro.pipeline import Pipeline, node

from {package}.nodes import summarise


def slow(raw, factor):
    if os.environ.get("IGNORE_SIGNALS"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(os.environ["SLOW_STARTED"]).write_text(str(os.getpid()))
    time.sleep(120)
    return raw


def register_pipelines():
    pipeline = Pipeline([
        node(slow, ["raw", "params:factor"], "table", name="slow"),
        node(summarise, "table", "summary", name="summarise"),
    ])
    return {{"__default__": pipeline}}
"""

#: `kedro dagster` must have exited this long after the signal (Dagster needs ~2 s).
EXIT_BOUND = 30.0
#: Seconds to reach the slow node, or the webserver, on a loaded 2-core machine.
START_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(
        tmp_path_factory.mktemp("signals") / "project", "slow_project", registry=SLOW_REGISTRY
    )
    write_dagster_yml(
        root,
        {
            "executors": {
                "parallel": {"multiprocess": {"max_concurrent": 2}},
                "pool": {"parallel": {"max_workers": 2}},
            },
            "jobs": {
                "in_process": {"pipeline": {"pipeline_name": "__default__"}},
                "pool": {"pipeline": {"pipeline_name": "__default__"}, "executor": "pool"},
                "multiprocess": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "parallel",
                },
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=root, env=subprocess_env())  # keeps dagster.yml
    return root


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "project"))


class Kedro:
    """`kedro dagster ...` in its own session, its output in a file or on a pseudo-terminal."""

    def __init__(self, args: list[str], project: Path, env: dict[str, str], tty: bool) -> None:
        self._chunks: list[bytes] = []
        self.recorded: list[psutil.Process] = []
        self._log = project.parent / "kedro.log"
        if tty:
            master, slave = pty.openpty()
            self.proc = subprocess.Popen(
                [KEDRO, "dagster", *args],
                cwd=project,
                env=env,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                start_new_session=True,
                preexec_fn=_take_terminal,  # the pty becomes its controlling terminal
            )
            os.close(slave)
            self._master: int | None = master
            threading.Thread(target=self._read_terminal, daemon=True).start()
        else:
            with self._log.open("wb") as out:
                self.proc = subprocess.Popen(
                    [KEDRO, "dagster", *args],
                    cwd=project,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._master = None

    def _read_terminal(self) -> None:
        assert self._master is not None
        with contextlib.suppress(OSError):
            while chunk := os.read(self._master, 65536):
                self._chunks.append(chunk)

    def output(self) -> str:
        if self._master is not None:
            return b"".join(self._chunks).decode(errors="replace")
        return self._log.read_text(errors="replace")

    def ctrl_c(self) -> None:
        assert self._master is not None
        assert os.tcgetpgrp(self._master) == self.proc.pid  # kedro leads the foreground group
        os.write(self._master, b"\x03")

    def tree(self) -> list[psutil.Process]:
        root = psutil.Process(self.proc.pid)
        self.recorded = [root, *root.children(recursive=True)]
        return self.recorded

    def wait_exit(self) -> None:
        try:
            self.proc.wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(f"running {EXIT_BOUND:.0f}s after the signal\n{self.output()[-4000:]}")

    def kill_all(self) -> None:
        """Cleanup whatever the test's outcome: the recorded tree and today's children."""
        tree = list(self.recorded)
        with contextlib.suppress(psutil.Error):
            tree += psutil.Process(self.proc.pid).children(recursive=True)
        for process in tree:
            with contextlib.suppress(psutil.Error):
                process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self._master is not None:
            os.close(self._master)


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@contextlib.contextmanager
def started(
    args: list[str], project: Path, env: dict[str, str], tty: bool = False
) -> Iterator[Kedro]:
    kedro = Kedro(args, project, env, tty)
    try:
        yield kedro
    finally:
        kedro.kill_all()


def wait_for(condition: Callable[[], bool], kedro: Kedro, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if kedro.proc.poll() is not None:
            pytest.fail(f"exited ({kedro.proc.returncode}) before {what}\n{kedro.output()[-6000:]}")
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"no {what} after {START_TIMEOUT:.0f}s\n{kedro.output()[-6000:]}")


def survivors(tree: list[psutil.Process]) -> list[str]:
    """The processes of ``tree`` still running (zombies are dead), a moment after the exit."""
    deadline = time.monotonic() + 2.0
    while True:
        alive = []
        for process in tree:
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{process.pid}: {' '.join(process.cmdline())[:160]}")
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def the_run(home: Path) -> tuple[str, str]:
    """Status of the instance's only run, and the message of its end event."""
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        (dagster_run,) = instance.get_runs()
        end_types = {DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}
        ends = instance.all_logs(dagster_run.run_id, of_type=end_types)
        messages = [e.dagster_event.message or "" for e in ends if e.dagster_event]
        return dagster_run.status.value, " | ".join(messages)


def send(kedro: Kedro, how: str) -> None:
    if how == "ctrl-c":
        kedro.ctrl_c()
    else:
        kedro.proc.send_signal(getattr(signal, how))


# (Ctrl-C on `launch` is not here: it reaches `dg` from the terminal, so it stops it before this
# change too; the terminal path is tested on `dev`, where a second interrupt would show.)
@pytest.mark.parametrize(
    ("job", "how"), [("in_process", "SIGTERM"), ("multiprocess", "SIGINT"), ("pool", "SIGTERM")]
)
def test_signal_stops_launch_and_fails_the_run(
    project: Path, tmp_path: Path, job: str, how: str
) -> None:
    home, marker = tmp_path / "home", tmp_path / "slow_started"
    env = subprocess_env(home, SLOW_STARTED=str(marker))
    with started(["launch", "--job", job], project, env) as kedro:
        wait_for(marker.exists, kedro, "start of the slow node")
        tree = kedro.tree()
        node_pid = int(marker.read_text())
        assert node_pid in {p.pid for p in tree}
        kedro.proc.send_signal(getattr(signal, how))
        kedro.wait_exit()
        assert not survivors(tree), kedro.output()[-4000:]

    status, message = the_run(home)
    assert status == "FAILURE", message
    assert "Execution was interrupted" in message  # Dagster marked it: nothing had to be killed
    assert not (project / "data" / "summary.csv").exists()
    assert not (project / "data" / "table.csv").exists()


def test_run_ignoring_signals_is_killed_and_marked_failed(project: Path, tmp_path: Path) -> None:
    home, marker = tmp_path / "home", tmp_path / "slow_started"
    env = subprocess_env(
        home,
        SLOW_STARTED=str(marker),
        IGNORE_SIGNALS="1",
        KEDRO_DAGSTER_STOP_GRACE_PERIOD="1",
    )
    with started(["launch", "--job", "in_process"], project, env) as kedro:
        wait_for(marker.exists, kedro, "start of the slow node")
        tree = kedro.tree()
        kedro.proc.send_signal(signal.SIGTERM)
        kedro.wait_exit()
        assert not survivors(tree), kedro.output()[-4000:]

    status, message = the_run(home)
    assert status == "FAILURE"
    assert "kedro-dagster killed this run's process" in message
    assert not (project / "data" / "summary.csv").exists()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("how", ["SIGTERM", "ctrl-c"])
def test_signal_stops_dev_and_its_services(project: Path, tmp_path: Path, how: str) -> None:
    port = free_port()
    env = subprocess_env(tmp_path / "home")

    def serving() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/server_info", timeout=5).ok
        except requests.RequestException:
            return False

    with started(["dev", "--port", str(port)], project, env, tty=how == "ctrl-c") as kedro:
        wait_for(serving, kedro, "answer of the webserver")
        tree = kedro.tree()
        commands = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "dagster_webserver" in commands and "dagster._daemon" in commands, commands
        send(kedro, how)
        kedro.wait_exit()
        assert not survivors(tree), kedro.output()[-4000:]
        assert not _port_open(port)
        # One interrupt reached `dg dev`: it shut its services down instead of aborting.
        assert "Dagster services shut down." in kedro.output(), kedro.output()[-4000:]
