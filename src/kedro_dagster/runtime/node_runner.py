"""One node run, shaped like Kedro's ``kedro/runner/task.py``; used by job and asset ops alike.

Kedro's task: load inputs with dataset hooks, let ``before_node_run`` override inputs, run
the node between ``on_node_error`` / ``after_node_run``, then save each output with dataset
hooks, streaming every chunk of a generator node to its outputs in turn. Under Dagster, the
IO managers load most inputs and save most outputs (through the same
:class:`~kedro_dagster.runtime.dataset_io.DatasetIO`); the op loads the rest and calls
:func:`run_node`.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping
from typing import Any

from kedro.pipeline.node import Node

from kedro_dagster.runtime.dataset_io import Streamed

__all__ = ["confirm_datasets", "is_generator_node", "node_of", "run_node", "unstreamed"]

SaveChunk = Callable[[str, Any], None]


def node_of(op_def: Any) -> Node | None:
    """The Kedro node an op definition runs, or ``None`` for other ops."""
    return getattr(getattr(op_def, "compute_fn", None), "node", None)


def is_generator_node(node: Node) -> bool:
    """Whether Kedro streams the node's outputs chunk by chunk (a generator function)."""
    return inspect.isgeneratorfunction(node.func)


def unstreamed(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs as values (the last chunk of a streamed output), for nodes run downstream."""
    return {k: v.data if isinstance(v, Streamed) else v for k, v in outputs.items()}


def _input_overrides(run: Any, node: Node, inputs: dict[str, Any], kwargs: dict) -> dict:
    """What ``before_node_run`` hooks return to replace inputs (Kedro's checks and message)."""
    responses = run.hooks.before_node_run(node=node, inputs=dict(inputs), **kwargs)
    overrides: dict[str, Any] = {}
    for response in responses or ():
        if response is not None and not isinstance(response, dict):
            raise TypeError(
                "'before_node_run' must return either None or a dictionary mapping dataset "
                f"names to updated values, got '{type(response).__name__}' instead."
            )
        overrides.update(response or {})
    return overrides


def _stream(outputs: Mapping[str, Any], save: SaveChunk) -> dict[str, Streamed]:
    """Save each chunk in turn (a, b, a, b, ...) as Kedro does, keeping the last of each."""
    from more_itertools import interleave  # a Kedro dependency

    names = list(outputs)
    last: dict[str, Any] = {}
    for name, chunk in zip(itertools.cycle(names), interleave(*outputs.values()), strict=False):
        save(name, chunk)
        last[name] = chunk
    return {name: Streamed(last.get(name)) for name in names}


def run_node(
    run: Any, node: Node, inputs: Mapping[str, Any], save_chunk: SaveChunk | None = None
) -> dict[str, Any]:
    """Run one node as Kedro's task does, from its loaded inputs.

    Parameters
    ----------
    run : KedroRunContext
        The run's Kedro side in this process.
    node : Node
        The node.
    inputs : Mapping of str to Any
        Its inputs by dataset name, loaded with dataset hooks.
    save_chunk : Callable, optional
        Saves one chunk of a generator node's output, with dataset hooks (the run's catalog
        by default).

    Returns
    -------
    dict
        The outputs by dataset name. Outputs of a generator node are :class:`Streamed`:
        already saved chunk by chunk.

    Raises
    ------
    dagster.Failure
        When the node raises (after ``on_node_error``), with the redacted error as cause.
    """
    run.join_tracking()
    kwargs = {"catalog": run.catalog, "is_async": False, "run_id": run.run_id}
    values = dict(inputs)
    values.update(_input_overrides(run, node, values, kwargs))
    try:
        outputs = node.run(values)
    except Exception as exc:
        # Project hooks see the original error, as under `kedro run`.
        run.hooks.on_node_error(error=exc, node=node, inputs=values, **kwargs)
        error = run.redactor.sanitize(exc)
    else:
        run.hooks.after_node_run(node=node, inputs=values, outputs=outputs, **kwargs)
        if outputs and is_generator_node(node):
            return dict(_stream(outputs, save_chunk or _catalog_saver(run, node)))
        return outputs
    # Imported here: the sensor's module imports Kedro's project settings (and its logging
    # configuration), which importing the op bodies must not do.
    from kedro_dagster.runtime.hooks import node_failure

    # The Failure keeps the (redacted) exception as its cause, shown in the UI, and records
    # its class for the run-failure sensor calling `on_pipeline_error`. Raised outside the
    # `except` block: the original error must not become its context.
    raise node_failure(node.name, error) from error


def confirm_datasets(run: Any, node: Node) -> None:
    """Confirm the datasets the node names in ``confirms``, once its outputs are saved.

    An ``IncrementalDataset`` then moves its checkpoint. Kedro's task does it last, outside
    the node hooks, on the catalog instance that loaded the node's inputs.
    """
    for name in node.confirms:
        run.catalog.confirm(name)


def _catalog_saver(run: Any, node: Node) -> SaveChunk:
    def save(name: str, chunk: Any) -> None:
        run.io.save_chunk(name, chunk, node)

    return save
