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
    "input_definition",
    "is_dagster_log_record",
    "is_valid_cron_string",
    "log_check_evaluation",
]


def default_loggers() -> dict[str, Any]:
    """Dagster's default loggers by name (``console``), as every job gets them."""
    from dagster._loggers import default_loggers as dagster_default_loggers

    return dict(dagster_default_loggers())


def input_definition(
    name: str,
    dagster_type: Any = None,
    *,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    input_manager_key: str | None = None,
) -> Any:
    """Dagster's ``InputDefinition``: what ``OpDefinition`` makes of each ``In``, built directly.

    ``OpDefinition(ins=...)`` takes these as they are: an ``In`` would resolve its Dagster type
    twice (``In`` then ``In.to_definition``) for every input of every op, and identical
    definitions (the start input, a dataset read by several nodes) can be shared between ops.
    """
    from dagster._core.definitions.input import InputDefinition

    return InputDefinition(
        name=name,
        dagster_type=dagster_type,
        description=description,
        metadata=metadata,
        input_manager_key=input_manager_key,
    )


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
