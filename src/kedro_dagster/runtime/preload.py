"""Modules a forkserver imports once, so the processes it forks start warm.

Shared by Dagster's multiprocess executor (as its ``preload_modules``) and the ``parallel``
executor's workers.
"""

from __future__ import annotations

__all__ = ["FORKSERVER_PRELOAD"]

#: What a forkserver imports once, so step processes fork warm:
#: what every step process imports anyway (Dagster's SQL storage behind the instance,
#: Kedro's framework, the data libraries, our runtime) and that starts no thread at import.
#: Never the project's own modules: a node module importing torch or grpc starts threads,
#: and forking a process after threads started can deadlock. ``preload_modules`` in
#: ``dagster.yml`` replaces this list (a missing module is skipped by the forkserver).
FORKSERVER_PRELOAD: tuple[str, ...] = (
    "dagster",
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "dagster._core.storage.runs.sqlite.sqlite_run_storage",
    "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
    "sqlalchemy",
    "alembic.runtime.migration",
    "dynaconf",
    "kedro.framework.startup",
    "kedro.framework.session",
    "pandas",
    "kedro_datasets.pandas",
    "kedro_dagster.translation",
    "kedro_dagster.runtime.resources",
)
