"""Every private (``_``-prefixed) Dagster symbol kedro-dagster uses, behind one function each.

The counterpart of :mod:`kedro_dagster._kedro_internals`: a Dagster upgrade that moves or
changes one of them fails ``tests/test_dagster_internals.py`` first, with the function's name.
Dagster is imported lazily, inside each function.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "assets_from_op",
    "default_loggers",
    "is_valid_cron_string",
    "log_check_evaluation",
    "pickled_filesystem_io_manager",
]


def default_loggers() -> dict[str, Any]:
    """Dagster's default loggers by name (``console``), as every job gets them."""
    from dagster._loggers import default_loggers as dagster_default_loggers

    return dict(dagster_default_loggers())


def is_valid_cron_string(text: str) -> bool:
    """Whether Dagster accepts ``text`` as a schedule's cron string."""
    from dagster._utils.schedules import is_valid_cron_string as dagster_is_valid_cron_string

    return bool(dagster_is_valid_cron_string(text))


def pickled_filesystem_io_manager(base_dir: str) -> Any:
    """Dagster's pickling filesystem IO manager: ``<base_dir>/<run_id>/<step>/<output>``."""
    from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager

    return PickledObjectFilesystemIOManager(base_dir=base_dir)


def log_check_evaluation(step_context: Any, evaluation: Any) -> None:
    """Log an ``AssetCheckEvaluation`` in a step now, from an IO manager's context.

    ``InputContext`` and ``OutputContext.log_event`` take materializations and observations
    only; ``DagsterEvent.asset_check_evaluation`` is what ``OpExecutionContext.log_event``
    calls for check evaluations, and it writes the event to the run's log at once.
    """
    from dagster import DagsterEvent

    DagsterEvent.asset_check_evaluation(step_context, evaluation)


def assets_from_op(op_def: Any, check_specs: Any = None, **kwargs: Any) -> Any:
    """``AssetsDefinition.from_op``, with asset check specs (``AssetsDefinition._from_node``).

    ``from_op`` takes no ``check_specs``; the ``_from_node`` it calls does. The op must have
    one output per check, named ``spec.get_python_identifier()``.
    """
    from dagster import AssetsDefinition

    if not check_specs:
        return AssetsDefinition.from_op(op_def, **kwargs)
    return AssetsDefinition._from_node(node_def=op_def, check_specs=list(check_specs), **kwargs)
