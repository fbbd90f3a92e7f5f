"""Every private (``_``-prefixed) Dagster symbol kedro-dagster uses, behind one function each.

The counterpart of :mod:`kedro_dagster._kedro_internals`: a Dagster upgrade that moves or
changes one of them fails ``tests/test_dagster_internals.py`` first, with the function's name.
Dagster is imported lazily, inside each function.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from graphlib import CycleError, TopologicalSorter
from typing import Any

__all__ = [
    "default_loggers",
    "graph_definition",
    "is_dagster_log_record",
    "is_valid_cron_string",
    "log_check_evaluation",
    "op_input",
    "output_consumers",
    "sqlite_event_log_files",
]


def default_loggers() -> dict[str, Any]:
    """Dagster's default loggers by name (``console``), as every job gets them."""
    from dagster._loggers import default_loggers as dagster_default_loggers

    return dict(dagster_default_loggers())


def op_input(
    name: str,
    dagster_type: Any = None,
    *,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    input_manager_key: str | None = None,
) -> Any:
    """One input for ``OpDefinition(ins=...)``, built once to be shared by every op having it.

    Dagster's ``InputDefinition`` where ``OpDefinition`` takes one as it is (an ``In`` would
    resolve its Dagster type twice for every input of every op, ``In`` then
    ``In.to_definition``); an ``In`` with the same arguments on Dagster versions whose
    ``OpDefinition`` converts every entry of ``ins`` (1.10).
    """
    if not _ops_take_input_definitions():
        from dagster import In

        if dagster_type is None:  # untyped, as `In()`: its definition says "type not set"
            return In(
                description=description, metadata=metadata, input_manager_key=input_manager_key
            )
        return In(
            dagster_type,
            description=description,
            metadata=metadata,
            input_manager_key=input_manager_key,
        )
    from dagster._core.definitions.input import InputDefinition

    return InputDefinition(
        name=name,
        dagster_type=dagster_type,
        description=description,
        metadata=metadata,
        input_manager_key=input_manager_key,
    )


@cache
def _ops_take_input_definitions() -> bool:
    """Whether this Dagster's ``OpDefinition`` takes ``InputDefinition`` entries in ``ins``."""
    from dagster import OpDefinition
    from dagster._core.definitions.input import InputDefinition

    try:
        OpDefinition(
            compute_fn=lambda context, inputs: None,
            name="probe",
            ins={"value": InputDefinition(name="value")},  # type: ignore[dict-item]
        )
    except AttributeError:  # `InputDefinition` has no `to_definition`
        return False
    return True


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


def output_consumers(context: Any) -> dict[tuple[str, str], frozenset[str]]:
    """The steps of this run reading each step output, by ``(step key, output name)``.

    From the run's execution plan (``OutputContext.step_context``): only the steps the run
    executes. Empty when the context has no step (an output context built by hand).
    """
    try:
        plan = context.step_context.execution_plan
    except Exception:  # DagsterInvariantViolationError: no step context
        return {}
    consumers: dict[tuple[str, str], set[str]] = {}
    for key in plan.step_keys_to_execute:
        for step_input in getattr(plan.get_step_by_key(key), "step_inputs", ()):
            for handle in step_input.get_step_output_handle_dependencies():
                consumers.setdefault((handle.step_key, handle.output_name), set()).add(key)
    return {handle: frozenset(steps) for handle, steps in consumers.items()}


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


def graph_definition(**kwargs: Any) -> Any:
    """A ``GraphDefinition`` (same arguments) whose nodes are ordered in linear time.

    ``GraphDefinition.__init__`` orders its nodes with the ``toposort`` package, which scans
    every remaining node once per level: O(nodes x depth). A Kedro pipeline chaining its
    namespaces is as deep as it is long (900 levels at 1000 nodes: 80 ms, and four times that
    at 2000 nodes, in every process loading the definitions). This subclass computes the same
    order (levels by longest path from a root, each sorted by name) in O(nodes + edges).
    """
    return _linear_order_graph_class()(**kwargs)


@cache
def _linear_order_graph_class() -> type:
    from dagster import GraphDefinition

    class LinearOrderGraphDefinition(GraphDefinition):
        """Dagster's ``GraphDefinition``, ordering its nodes as Dagster does, in linear time."""

        def _get_nodes_in_topological_order(self) -> Any:
            upstream = {
                node.name: {
                    output.node.name
                    for output in self.dependency_structure.all_upstream_outputs_from_node(
                        node.name
                    )
                }
                for node in self.nodes
            }
            order = ordered_by_levels(upstream)
            if order is None:  # a cycle: Dagster's own ordering raises its error
                return super()._get_nodes_in_topological_order()
            return [self.node_named(name) for name in order]

    return LinearOrderGraphDefinition


def ordered_by_levels(upstream: Mapping[str, set[str]]) -> list[str] | None:
    """Names in Dagster's topological order, or ``None`` if the graph has a cycle.

    Dagster's order (``toposort_flatten``): level 0 is the nodes without upstream nodes, level
    k the nodes whose upstream nodes are all in earlier levels (the longest path from a root
    is k), each level sorted by name: the batches of ``graphlib``'s sorter when each batch is
    marked done whole. Upstream names outside ``upstream``'s keys are ignored, as Dagster
    ignores nodes of other graphs, and so are self-edges.
    """
    sorter = TopologicalSorter(
        {
            name: [s for s in sources if s in upstream and s != name]
            for name, sources in upstream.items()
        }
    )
    try:
        sorter.prepare()
    except CycleError:
        return None
    order: list[str] = []
    while sorter.is_active():
        level = sorted(sorter.get_ready())
        order.extend(level)
        sorter.done(*level)
    return order
