"""A ``parallel`` run's own forkserver, which may resolve the run's job once before forking.

Workers forked from it start with Dagster, Kedro, the data libraries and (unless
``preload_project`` is false) the project's definitions already loaded.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import signal
import socket
import tempfile
import time
from contextlib import suppress
from multiprocessing import forkserver, popen_forkserver, reduction, spawn, util
from multiprocessing.context import ForkServerContext, ForkServerProcess, set_spawning_popen
from typing import Any

from kedro_dagster.runtime.pool_worker import WarmJob

__all__ = ["RunForkServer", "preload_job_from_environment"]

#: Seconds the run's process waits for its forkserver to ask for the job (its imports done).
_LOAD_TIMEOUT = 120.0
#: How often the run's process checks, while waiting, that its forkserver is still alive.
_ACCEPT_POLL = 0.2
#: Where the run's own forkserver asks for the run's job (read and removed there).
_PRELOAD_ADDRESS_VAR = "KEDRO_DAGSTER_PARALLEL_PRELOAD_ADDRESS"
#: Imported last by the run's own forkserver: receives and resolves the run's job.
_PROJECT_PRELOAD_MODULE = "kedro_dagster.runtime.project_preload"


def preload_job_from_environment() -> None:
    """In a run's own forkserver: resolve the run's job once, so forked workers start warm.

    The forkserver connects to the address its run's process left in the environment and
    receives the job, the run process's environment and working directory (taken when the job
    is sent, so that the forkserver loads what the run loads). Without an address,
    or when nothing comes (the run's process gave up waiting, or has gone), nothing is loaded:
    the workers resolve the job themselves. A failure to resolve is left to the workers too,
    which report it on a step.
    """
    address = os.environ.pop(_PRELOAD_ADDRESS_VAR, None)
    if address is None:
        return
    chunks = []
    try:
        with socket.socket(socket.AF_UNIX) as channel:
            channel.connect(address)
            while chunk := channel.recv(1 << 16):
                chunks.append(chunk)
        job, environ, cwd, load_project = pickle.loads(b"".join(chunks))
    except Exception:
        return
    os.environ.clear()
    os.environ.update(environ)
    with suppress(Exception):
        os.chdir(cwd)
        if load_project:
            WarmJob._make(job).get_definition()


class RunForkServer:
    """A forkserver of one run, with its environment; it may resolve the run's job once.

    Not the process-wide forkserver of ``multiprocessing``: that one lives as long as the
    process and would keep this project's modules and definitions for later runs of other
    projects or settings (tests, ``dagster dev``-like hosts), and Dagster's multiprocess
    executor forks its step processes from it too. This one serves one run and is stopped at
    its end, so a worker never runs a stale job.

    It starts in two phases: spawned (it imports ``preload``, most of its start-up), then
    given the job (:meth:`load`: it imports the project and translates it, with the
    environment of that moment).
    """

    def __init__(self, preload: list[str]) -> None:
        self.server = forkserver.ForkServer()
        self.server.set_forkserver_preload([*preload, _PROJECT_PRELOAD_MODULE])
        self._folder = tempfile.mkdtemp(prefix="kedro-dagster-")
        self._address = os.path.join(self._folder, "job")
        self._listener: socket.socket | None = socket.socket(socket.AF_UNIX)
        self._listener.bind(self._address)
        self._listener.listen(1)
        # The forkserver inherits the environment when it is spawned: the variable is set
        # only for that moment.
        previous = os.environ.get(_PRELOAD_ADDRESS_VAR)
        os.environ[_PRELOAD_ADDRESS_VAR] = self._address
        try:
            self.server.ensure_running()
        except BaseException:
            self._close_listener()
            raise
        finally:
            if previous is None:
                os.environ.pop(_PRELOAD_ADDRESS_VAR, None)
            else:
                os.environ[_PRELOAD_ADDRESS_VAR] = previous

    def load(self, recon_job: Any, project: bool = True) -> bool:
        """Send the run's job to the forkserver; ``False`` if it did not ask for it in time.

        With ``project=False`` it only takes the run's environment and working directory.
        """
        listener = self._listener
        if listener is None:
            return False
        payload = pickle.dumps((recon_job, dict(os.environ), os.getcwd(), project))
        deadline = time.monotonic() + _LOAD_TIMEOUT
        try:
            listener.settimeout(_ACCEPT_POLL)
            while True:
                try:
                    channel, _ = listener.accept()
                    break
                except TimeoutError:
                    if not self.alive or time.monotonic() > deadline:
                        return False
            with channel:
                channel.sendall(payload)
            return True
        except OSError:
            return False
        finally:
            self._close_listener()

    @property
    def alive(self) -> bool:
        """Whether the forkserver process still runs."""
        pid = self.server._forkserver_pid  # type: ignore[attr-defined]
        if pid is None:
            return False
        with suppress(ChildProcessError):
            return os.waitpid(pid, os.WNOHANG) == (0, 0)
        return False

    def _close_listener(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            shutil.rmtree(self._folder, ignore_errors=True)

    def context(self) -> Any:
        """A ``multiprocessing`` context whose processes this forkserver forks."""
        return _RunContext(self.server)

    def stop(self) -> None:
        """End the forkserver (its workers have exited), without waiting on other processes."""
        self._close_listener()
        pid = self.server._forkserver_pid  # type: ignore[attr-defined]
        if pid is None:
            return
        # It exits once every holder of its "alive" pipe closed it, which a process forked
        # from the run's process meanwhile may never do: it is ended rather than waited for.
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        # Already reaped when :attr:`alive` saw it end.
        with suppress(ChildProcessError):
            self.server._stop()  # type: ignore[attr-defined]


class _RunPopen(popen_forkserver.Popen):
    """Starts a process from a given forkserver rather than the process-wide one."""

    def __init__(self, process_obj: Any, server: forkserver.ForkServer) -> None:
        self._server = server
        super().__init__(process_obj)

    def _launch(self, process_obj: Any) -> None:
        # The standard forkserver launch, with this Popen's server, except that the worker does
        # not re-run the main module of the run's process (``dg``'s CLI, 0.1-0.2 s of imports):
        # a worker's target and tasks live in importable modules.
        preparation = spawn.get_preparation_data(process_obj._name)
        preparation.pop("init_main_from_path", None)
        preparation.pop("init_main_from_name", None)
        data = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(preparation, data)
            reduction.dump(process_obj, data)
        finally:
            set_spawning_popen(None)
        fds: list[int] = self._fds  # type: ignore[attr-defined]
        self.sentinel, writer = self._server.connect_to_new_process(fds)
        # The child watches this duplicate to learn that its parent has gone.
        parent_end = os.dup(writer)
        close_fds = util.close_fds  # type: ignore[attr-defined]
        self.finalizer = util.Finalize(self, close_fds, (parent_end, self.sentinel))
        with open(writer, "wb", closefd=True) as stream:
            stream.write(data.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _RunProcess(ForkServerProcess):
    """A process forked by the forkserver it is given (taken off before it is pickled)."""

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _RunPopen(process_obj, process_obj.__dict__.pop("_run_forkserver"))


class _RunContext(ForkServerContext):
    """A forkserver context whose processes start from a run's own forkserver."""

    def __init__(self, server: forkserver.ForkServer) -> None:
        self._server = server

    def Process(self, *args: Any, **kwargs: Any) -> _RunProcess:  # type: ignore[override]
        """A process to be forked by the run's forkserver."""
        process = _RunProcess(*args, **kwargs)
        process._run_forkserver = self._server  # type: ignore[attr-defined]
        return process
