"""Every private (``_``-prefixed) Dagster symbol kedro-dagster uses, behind one function each.

The counterpart of :mod:`kedro_dagster._kedro_internals`: a Dagster upgrade that moves or
changes one of them fails ``tests/test_dagster_internals.py`` first, with the function's name.
Dagster is imported lazily, inside each function.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = [
    "default_loggers",
    "is_dagster_log_record",
    "is_valid_cron_string",
    "log_check_evaluation",
    "sqlite_event_log_files",
]


def default_loggers() -> dict[str, Any]:
    """Dagster's default loggers by name (``console``), as every job gets them."""
    from dagster._loggers import default_loggers as dagster_default_loggers

    return dict(dagster_default_loggers())


def is_dagster_log_record(record: logging.LogRecord) -> bool:
    """Whether Dagster's log handler converted ``record`` already (it carries Dagster metadata).

    Such records are in the run's event log already: those of ``get_dagster_logger`` loggers,
    of ``context.log``, of the loggers an instance manages.
    """
    from dagster._core.log_manager import has_log_record_metadata

    return bool(has_log_record_metadata(record))


def is_valid_cron_string(text: str) -> bool:
    """Whether Dagster accepts ``text`` as a schedule's cron string."""
    from dagster._utils.schedules import is_valid_cron_string as dagster_is_valid_cron_string

    return bool(dagster_is_valid_cron_string(text))


def log_check_evaluation(step_context: Any, evaluation: Any) -> None:
    """Log an ``AssetCheckEvaluation`` in a step now, from an IO manager's context.

    ``InputContext`` and ``OutputContext.log_event`` take materializations and observations
    only; ``DagsterEvent.asset_check_evaluation`` is what ``OpExecutionContext.log_event``
    calls for check evaluations, and it writes the event to the run's log at once.
    """
    from dagster import DagsterEvent

    DagsterEvent.asset_check_evaluation(step_context, evaluation)


def sqlite_event_log_files(instance: Any, run_id: str) -> list[str]:
    """The SQLite files a run's events are written to: the run's shard and the asset index.

    Empty when the instance's event log is not Dagster's sharded SQLite storage (PostgreSQL,
    the consolidated SQLite storage), or a file does not exist yet.
    """
    import os

    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        INDEX_SHARD_NAME,
        SqliteEventLogStorage,
    )

    storage = instance.event_log_storage
    if type(storage) is not SqliteEventLogStorage:
        return []
    paths = [storage.path_for_shard(shard) for shard in (run_id, INDEX_SHARD_NAME)]
    return [path for path in paths if os.path.exists(path)]
