"""A SQLite run storage that notes every read of run records, for tests across processes.

Configured in a test instance's ``dagster.yaml`` (``run_storage``), it appends one line per
``get_run_records`` call, ``<process name> <pid>``, to the file named by the environment
variable ``COUNTING_RUN_STORAGE_LOG``: the run's process and every worker it starts (which
reconstruct the instance from its ``dagster.yaml``) write there.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from dagster._core.storage.runs import SqliteRunStorage

LOG_VAR = "COUNTING_RUN_STORAGE_LOG"


class CountingRunStorage(SqliteRunStorage):
    """``SqliteRunStorage`` noting each ``get_run_records`` call with the calling process."""

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> CountingRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    def get_run_records(self, *args: Any, **kwargs: Any) -> Any:
        log = os.environ.get(LOG_VAR)
        if log:
            with open(log, "a", encoding="utf-8") as stream:
                stream.write(f"{multiprocessing.current_process().name} {os.getpid()}\n")
        return super().get_run_records(*args, **kwargs)


def instance_yaml(base_dir: str) -> str:
    """A ``dagster.yaml`` whose run storage is :class:`CountingRunStorage` in ``base_dir``."""
    return (
        "telemetry:\n  enabled: false\n"
        "run_storage:\n"
        "  module: counting_run_storage\n"
        "  class: CountingRunStorage\n"
        f"  config:\n    base_dir: {base_dir}\n"
    )
