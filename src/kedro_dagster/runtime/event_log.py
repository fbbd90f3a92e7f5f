"""The run's SQLite event log held open while a process runs steps.

Dagster's SQLite event log opens a connection for every event it stores and closes it right
after. In WAL mode, the last connection to close a database checkpoints the write-ahead log
into it and deletes it, so with nothing else open every stored event paid a checkpoint (and
the next one recreated the WAL files): about a third of a step's cost on SQLite. One idle
connection held by the process running steps makes those closes plain closes; SQLite still
checkpoints on its own (every 1000 pages) and when the held connection closes, after the
process's steps. It holds no transaction, so readers and writers elsewhere are not blocked.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any

from kedro_dagster._dagster_internals import sqlite_event_log_files

__all__ = ["event_log_held_open"]

#: Files held open already, with the holding process (a parallel worker holds them for its
#: life and the ``kedro_run`` resource of each of its steps asks again; a forked child holds
#: its own).
_HELD: set[tuple[int, str]] = set()


@contextmanager
def event_log_held_open(instance: Any, run_id: str) -> Iterator[None]:
    """Hold the SQLite files of ``run_id``'s events open for the block (no-op elsewhere).

    Parameters
    ----------
    instance : DagsterInstance
        The run's instance.
    run_id : str
        The run whose event log shard (and the asset index) to hold.
    """
    with ExitStack() as stack:
        for path in sqlite_event_log_files(instance, run_id):
            key = (os.getpid(), path)
            if key in _HELD:
                continue
            _HELD.add(key)
            stack.callback(_HELD.discard, key)
            with suppress(sqlite3.Error):
                connection = sqlite3.connect(path, timeout=30)
                stack.callback(connection.close)
                # A read maps the WAL index: the connection now counts as open on the file.
                connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        yield
