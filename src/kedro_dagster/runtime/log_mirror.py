"""Step log capture for long-lived worker processes, without two processes per stream.

Dagster's local compute log manager captures a step's stdout and stderr into files and, to
still show them on the process's own streams, starts for each stream a ``tail -F`` process and a
Python process watching it (``watch_orphans.py``): four processes per step. A process running
one step pays them once; a ``parallel`` executor worker runs a step every few milliseconds and
paid them for each. :func:`mirror_step_logs_in_threads` makes a worker's manager capture into
the same files, mark them complete the same way, and copy them to the worker's streams from a
thread that follows each file while the step runs.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any, TextIO

from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)

__all__ = ["mirror_step_logs_in_threads"]

#: Seconds between two looks at a followed file (``tail -F`` looks once a second).
_POLL = 0.05


def _fileno(stream: Any) -> int | None:
    try:
        fd = stream.fileno()
    except (AttributeError, io.UnsupportedOperation, ValueError):
        return None
    return fd if isinstance(fd, int) else None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _follow(path: str, out_fd: int, done: threading.Event) -> None:
    """Copy what is appended to ``path`` to ``out_fd`` until ``done``, then the rest."""
    with open(path, "rb") as source:
        while True:
            finished = done.is_set()
            data = source.read()
            if data:
                try:
                    _write_all(out_fd, data)
                except OSError:  # the stream is gone: the capture file still has it all
                    return
            elif finished:
                return
            else:
                done.wait(_POLL)


@contextmanager
def _mirrored_to_file(stream: TextIO, path: str) -> Iterator[None]:
    """Send the file descriptor of ``stream`` to ``path``, copied back to it from a thread."""
    fd = _fileno(stream)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+", buffering=1, encoding="utf8") as target:
        if fd is None:  # a stream without a descriptor (a test runner's): not captured
            yield
            return
        stream.flush()
        original = os.dup(fd)
        done = threading.Event()
        follower = threading.Thread(
            target=_follow, args=(path, original, done), name="kedro-dagster-log-mirror"
        )
        os.dup2(target.fileno(), fd)
        follower.start()
        try:
            yield
        finally:
            stream.flush()
            target.flush()
            os.dup2(original, fd)
            done.set()
            follower.join()
            os.close(original)


def _capture_logs(
    manager: LocalComputeLogManager, log_key: Sequence[str]
) -> Iterator[CapturedLogContext]:
    out = manager.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
    err = manager.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
    with ExitStack() as stack:
        stack.enter_context(_mirrored_to_file(sys.stdout, out))
        stack.enter_context(_mirrored_to_file(sys.stderr, err))
        yield CapturedLogContext(log_key)
    # As the manager does: the artifact says the capture is complete.
    with open(manager.complete_artifact_path(log_key), "a", encoding="utf8"):
        pass


def mirror_step_logs_in_threads(instance: Any) -> None:
    """Make ``instance``'s local compute log manager mirror step logs from threads.

    Only the manager object of this process changes, and only Dagster's own local manager
    (cloud managers upload what it captured and keep their behaviour).

    Parameters
    ----------
    instance : DagsterInstance
        The worker's instance.
    """
    manager = instance.compute_log_manager
    if type(manager) is not LocalComputeLogManager or os.name == "nt":
        return
    manager.capture_logs = types.MethodType(  # type: ignore[method-assign]
        contextmanager(_capture_logs), manager
    )
