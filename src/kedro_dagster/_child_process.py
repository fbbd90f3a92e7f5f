"""Run a command as a child that stops, with its whole process tree, when we are told to stop.

``kedro dagster launch | dev | <dg command>`` run ``dg`` as a child process. SIGTERM and SIGINT
received by the ``kedro`` process are forwarded to it; Dagster turns either into an interrupt,
so a run being executed is marked failed and ``dg dev`` shuts its services down. A child that
has not stopped after :data:`GRACE_PERIOD` seconds, and every process it started (step
processes, webserver, daemon, code servers, including the ones that left its process group),
get SIGTERM, then SIGKILL after :data:`KILL_GRACE_PERIOD` more seconds. A second signal skips
the wait. The processes killed are passed to ``on_killed`` (to mark their runs failed).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from types import FrameType
from typing import Any

import psutil

#: Seconds the child has to stop after a forwarded signal (Dagster's own services shutdown
#: is much shorter; this bounds a run whose op ignores interrupts).
GRACE_PERIOD = 20.0
#: Seconds between SIGTERM and SIGKILL to the processes of the tree that are still alive.
KILL_GRACE_PERIOD = 5.0
#: Overrides :data:`GRACE_PERIOD` (seconds), for tests and impatient deployments.
GRACE_PERIOD_ENV = "KEDRO_DAGSTER_STOP_GRACE_PERIOD"

_FORWARDED = (signal.SIGTERM, signal.SIGINT)
_POLL = 0.1
# Seconds the processes left behind by a child that exited get before SIGTERM (a `dg dev` code
# server that missed its shutdown request would otherwise serve until its heartbeat times out).
_ORPHAN_GRACE_PERIOD = 1.0
# Seconds between scans for the child's descendants: before a signal (cheap for a long `dev`),
# then while the tree stops (its processes re-parented when their parent exits are kept).
_IDLE_REFRESH = 2.0
_REFRESH = 0.5


def run_child(
    cmd: Sequence[str],
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    on_killed: Callable[[Collection[int]], object] | None = None,
    stdout: int | None = None,
) -> int:
    """Run ``cmd`` until it exits, forwarding SIGTERM and SIGINT to it.

    Parameters
    ----------
    cmd
        The command line.
    env
        The environment of the child.
    cwd
        Its working directory.
    on_killed
        Called with the pids of the processes that had to be killed with SIGKILL, if any.
    stdout
        A file descriptor for the child's stdout (default: this process's stdout).

    Returns
    -------
    int
        The child's exit code, or ``128 + n`` when signal ``n`` ended it.
    """
    received: list[int] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, record) for sig in _FORWARDED}
    try:
        proc = subprocess.Popen(list(cmd), env=dict(env), cwd=cwd, stdout=stdout)
        killed = _Supervisor(proc, received).wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if killed and on_killed is not None:
        on_killed(killed)
    code = proc.returncode
    return 128 - code if code < 0 else code


class _Supervisor:
    """Waits for the child; told to stop, forwards the signal, then escalates to its tree."""

    def __init__(self, proc: subprocess.Popen[Any], received: list[int]) -> None:
        self._proc = proc
        self._received = received
        self._handled = 0
        self._tree: dict[int, psutil.Process] = {}
        self._refreshed = 0.0
        # None, then what was done last: "forwarded", "terminated" (SIGTERM) or "killed".
        self._stage: str | None = None
        self._deadline = 0.0  # when the next stage starts
        self._killed: set[int] = set()
        with contextlib.suppress(psutil.Error):  # psutil.Error: already gone
            self._tree[proc.pid] = psutil.Process(proc.pid)

    def wait(self) -> set[int]:
        """Wait until the child (and, once told to stop, its tree) ended; the pids killed."""
        while True:
            now = time.monotonic()
            if now - self._refreshed >= (_IDLE_REFRESH if self._stage is None else _REFRESH):
                self._refresh(now)
            while self._handled < len(self._received):
                self._on_signal(self._received[self._handled], now)
                self._handled += 1
            if self._proc.poll() is not None:
                # Told to stop, the child's orphans (re-parented away from it) must stop too.
                if self._stage is None or not self._alive():
                    return self._killed
                if self._stage == "forwarded":  # the child is done: what is left leaked
                    self._deadline = min(self._deadline, now + _ORPHAN_GRACE_PERIOD)
            if self._stage is not None and now >= self._deadline:
                if self._stage == "killed":
                    return self._killed  # unkillable (uninterruptible sleep): do not hang
                self._escalate(now)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=_POLL)

    def _on_signal(self, signum: int, now: float) -> None:
        if self._stage is None:
            self._refresh(now)  # before the child's exit re-parents its descendants
            self._stage, self._deadline = "forwarded", now + _grace_period()
            if self._proc.poll() is None and not (
                signum == signal.SIGINT and _interrupt_from_terminal()
            ):
                self._proc.send_signal(signum)
        elif self._stage == "forwarded":
            self._deadline = now  # a second signal: stop waiting

    def _escalate(self, now: float) -> None:
        if self._stage == "forwarded":
            self._stage = "terminated"
            self._send_tree(signal.SIGTERM)
        else:
            self._stage = "killed"
            self._killed = self._send_tree(signal.SIGKILL)
        self._deadline = now + KILL_GRACE_PERIOD

    def _refresh(self, now: float) -> None:
        """Add to the tree the descendants of its live processes (one scan of the process table)."""
        self._refreshed = now
        children: dict[int, list[psutil.Process]] = {}
        for process in psutil.process_iter(["ppid"]):
            children.setdefault(process.info["ppid"], []).append(process)
        stack = [pid for pid, process in self._tree.items() if _running(process)]
        while stack:
            for child in children.pop(stack.pop(), []):
                known = self._tree.get(child.pid)
                if known is None or not _running(known):  # new, or its pid was reused
                    self._tree[child.pid] = child
                stack.append(child.pid)

    def _alive(self) -> bool:
        self._refresh(time.monotonic())
        return any(_running(p) for p in self._tree.values())

    def _send_tree(self, sig: int) -> set[int]:
        self._refresh(time.monotonic())
        sent: set[int] = set()
        for process in self._tree.values():
            if _running(process):
                try:
                    process.send_signal(sig)
                except psutil.Error:
                    continue
                sent.add(process.pid)
        return sent


def _running(process: psutil.Process) -> bool:
    """Alive and not a zombie (``is_running`` also guards against a reused pid)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _interrupt_from_terminal() -> bool:
    """Whether a SIGINT most likely came from the terminal (Ctrl-C).

    The terminal sends it to its whole foreground process group, which the child shares with
    us: it already received it, and forwarding would interrupt it twice. (A Windows console
    sends Ctrl-C to every process attached to it.)
    """
    if not hasattr(os, "tcgetpgrp"):
        return True
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except OSError:
            continue
    return False


def _grace_period() -> float:
    value = os.environ.get(GRACE_PERIOD_ENV)
    try:
        return float(value) if value else GRACE_PERIOD
    except ValueError:
        return GRACE_PERIOD
