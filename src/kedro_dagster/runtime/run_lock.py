"""A file lock shared by the local processes of one Dagster run."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["run_folder", "run_lock"]

_LOCK_FILE = "kedro_dagster_run.lock"


def run_folder(instance: Any, run_id: str) -> Path | None:
    """The Dagster run's folder in the instance's storage (shared by its local processes)."""
    storage = getattr(instance, "storage_directory", None) if instance is not None else None
    if storage is None:
        return None
    folder = Path(storage()) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def run_lock(instance: Any, run_id: str) -> Iterator[Path | None]:
    """Hold the run's lock: a file lock in the run's folder, shared by its local processes.

    Yields the run's folder, or ``None`` (and locks nothing) without a storage folder.
    """
    folder = run_folder(instance, run_id)
    if folder is None:
        yield None
        return
    from filelock import FileLock  # a dependency of dagster

    with FileLock(folder / _LOCK_FILE):
        yield folder
