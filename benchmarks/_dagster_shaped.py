"""Dagster's per-op cost on real work: a hand-written job of a generated project's shape.

``_dagster_chain.py`` measures the least Dagster does per step (``x + 1`` between ops).
The ops of a translated project do more: pandas merges on two or three inputs, and CSV,
Parquet and pickle files written and read back. This module writes, by hand and without
Kedro or kedro-dagster, the Dagster job a Dagster user would write for the same work, so
``bench_run.py`` can compare like with like (``inprocess.dagster_shaped.N``).

Same shape as ``generate_project.py``'s project of N nodes (one namespace per 10 nodes):

- one op per Kedro node, named like the translated op (``ns_000__node_4``), wired to the
  same upstream ops, in one job (``shaped_in_process``, in-process executor);
- the node functions are the generated project's own (``bench_project.nodes``, imported
  from ``<project>/src``): the ops call the same code on the same data, not a look-alike;
- Kedro's MemoryDatasets (``d_K``) pass in memory, through ``mem_io_manager``;
- each persisted dataset is written by an IO manager to the file the project's catalog
  names (CSV via pandas, Parquet for the explicit hand-off entries, pickle), and read back
  from that file by the ops that consume it, as ``kedro run`` reads it back;
- ``raw_input`` is read from the project's CSV by an input manager for every first op of a
  namespace, as every ``ns_XXX.node_0`` loads it;
- the parameters are op config (``scale``, ``offset``, ``opts`` or ``power``) whose
  defaults are the values of ``conf/base/parameters.yml``, editable in the launchpad as a
  Dagster user would expect; the run passes no run config, as the benchmark's other runs.

Persisted outputs are recorded as assets the way a hand-written *job of ops* records them:
the IO manager that writes a file logs an ``AssetMaterialization`` (path and row count)
right after the write. Ops cannot declare outputs as assets (``Out`` has no asset key);
rewriting the graph as ``@asset``s would turn it into an asset job, a different thing from
the op job both Kedro and kedro-dagster's ``__default__`` job run. The in-memory
intermediates are not assets, as in the translated project.

``bench_run.py`` runs this job through ``_run_worker.py shaped PROJECT_DIR`` in the
project's directory. The project comes from the environment variable
``BENCH_SHAPED_PROJECT`` (default: the working directory) because Dagster loads this file
by path, where no argument can reach it.
"""

# No ``from __future__ import annotations``: Dagster checks the op's context annotation.
import importlib
import os
import pickle
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pandas as pd
import yaml

__all__ = [
    "JOB_NAME",
    "SHAPED_PROJECT_ENV",
    "PersistedFile",
    "build_definitions",
    "build_job",
    "persisted_files",
]

SHAPED_PROJECT_ENV = "BENCH_SHAPED_PROJECT"
JOB_NAME = "shaped_in_process"
PACKAGE = "bench_project"
# The generated catalog's explicit entries (``generate_project.EXPLICIT_NAMESPACES``):
# Parquet hand-offs for the first namespaces, and ``ns_000.persisted_d_2``'s own file.
PARQUET_HANDOFFS = 3

#: One namespace's nodes: (function, dataset inputs, parameters, output), in node order.
#: Dataset names are local to the namespace; ``previous`` is the previous namespace's
#: hand-off (only for namespaces after the first); parameters are paths under the
#: namespace's block of ``parameters.yml``.
NAMESPACE_NODES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("start", ("raw_input",), ("scale",), "d_0"),
    ("scale_value", ("d_0",), ("scale",), "d_1"),
    ("mean_of_two", ("d_0", "d_1"), (), "persisted_d_2"),
    ("shift_value", ("d_1",), ("offset",), "d_3"),
    ("power_of_difference", ("persisted_d_2", "d_3"), ("opts.power",), "d_4"),
    ("cumulative", ("d_4",), (), "persisted_d_5"),
    ("concat_mean", ("d_3", "d_4", "persisted_d_5"), (), "d_6"),
    ("scale_value", ("d_6",), ("scale",), "d_7"),
    ("mean_of_two", ("d_6", "d_7"), (), "d_8"),
    ("finalise", ("d_8", "persisted_d_5"), ("opts",), "handoff"),
)


@dataclass(frozen=True)
class PersistedFile:
    """Where and how one persisted dataset is stored.

    Parameters
    ----------
    kind : str
        ``"csv"``, ``"parquet"`` or ``"pickle"``: the IO manager key of the output.
    path : Path
        The file, as the generated project's catalog names it.
    asset : str
        The asset key recorded when the file is written (the dataset name, ``.`` as ``__``).
    """

    kind: str
    path: Path
    asset: str


def persisted_files(root: Path, index: int) -> dict[str, PersistedFile]:
    """The persisted outputs of namespace ``index`` of the project in ``root``, by local name.

    Follows the generated ``catalog.yml``: its factories and its explicit entries.
    """
    ns = f"ns_{index:03d}"
    d_2 = "explicit_d_2" if index == 0 else "d_2"
    if index < PARQUET_HANDOFFS:
        handoff = PersistedFile("parquet", root / f"data/03_primary/{ns}/handoff.parquet", "")
    else:
        handoff = PersistedFile("csv", root / f"data/03_primary/{ns}/handoff.csv", "")
    return {
        "persisted_d_2": PersistedFile(
            "csv", root / f"data/02_intermediate/{ns}/{d_2}.csv", f"{ns}__persisted_d_2"
        ),
        "persisted_d_5": PersistedFile(
            "pickle", root / f"data/03_primary/{ns}/d_5.pkl", f"{ns}__persisted_d_5"
        ),
        "handoff": PersistedFile(handoff.kind, handoff.path, f"handoff_{ns}"),
    }


# ---------------------------------------------------------------------------- IO managers


def _write(kind: str, path: Path, frame: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        frame.to_csv(path, index=False)  # what Kedro's CSVDataset writes by default
    elif kind == "parquet":
        frame.to_parquet(path)
    else:
        with path.open("wb") as file:
            pickle.dump(frame, file)


def _read(kind: str, path: Path) -> Any:
    if kind == "csv":
        return pd.read_csv(path)
    if kind == "parquet":
        return pd.read_parquet(path)
    with path.open("rb") as file:
        return pickle.load(file)  # the file this job wrote itself


class FileIOManager(dg.ConfigurableIOManager):
    """Writes an op's output to the file named in its ``Out`` metadata, and reads it back.

    Each write is recorded as a materialization of the output's asset.
    """

    kind: str

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write ``obj``, then log its materialization."""
        metadata = context.definition_metadata
        path = Path(metadata["path"])
        _write(self.kind, path, obj)
        context.log_event(
            dg.AssetMaterialization(
                asset_key=metadata["asset"],
                metadata={
                    "path": dg.MetadataValue.path(str(path)),
                    "dagster/row_count": len(obj),
                },
            )
        )

    def load_input(self, context: dg.InputContext) -> Any:
        """Read the file the upstream output was written to."""
        upstream = context.upstream_output
        if upstream is None:
            raise dg.Failure(f"input {context.name} has no upstream output")
        return _read(self.kind, Path(upstream.definition_metadata["path"]))


def _raw_input_manager(path: Path) -> dg.InputManagerDefinition:
    @dg.input_manager
    def raw_input() -> pd.DataFrame:
        return pd.read_csv(path)

    return raw_input


# ---------------------------------------------------------------------------- ops


def _config_schema(value: Any) -> Any:
    """Op config typed from a parameter value, with that value as default."""
    if isinstance(value, Mapping):
        return {key: _config_schema(item) for key, item in value.items()}
    return dg.Field(type(value), default_value=value, is_required=False)


def _parameter(block: Mapping[str, Any], dotted: str) -> Any:
    value: Any = block
    for part in dotted.split("."):
        value = value[part]
    return value


def _out(output: PersistedFile | None) -> dg.Out:
    """A node op's output: in memory, or the file of a persisted dataset (its IO manager)."""
    if output is None:
        return dg.Out()
    return dg.Out(
        io_manager_key=output.kind,
        metadata={"path": str(output.path), "asset": output.asset},
    )


def _op(
    name: str,
    function: Any,
    inputs: tuple[str, ...],
    params: Mapping[str, Any],
    output: PersistedFile | None,
) -> dg.OpDefinition:
    """One node's op: its dataset inputs, then its parameters (op config), in node order."""
    ins = {
        arg: dg.In(input_manager_key="raw_input") if arg == "raw_input" else dg.In()
        for arg in inputs
    }
    out = _out(output)
    keys = list(params)

    @dg.op(name=name, ins=ins, out=out, config_schema={k: _config_schema(params[k]) for k in keys})
    def node(context: dg.OpExecutionContext, **loaded: Any) -> Any:
        return function(*(loaded[arg] for arg in inputs), *(context.op_config[k] for k in keys))

    return node


def _nodes_module(root: Path) -> ModuleType:
    src = str(root / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return importlib.import_module(f"{PACKAGE}.nodes")


def build_job(root: Path) -> dg.JobDefinition:
    """The hand-written job of the generated project in ``root``.

    Parameters
    ----------
    root : Path
        A project written by ``generate_project.py`` (its ``src/bench_project/nodes.py``,
        ``conf/base/parameters.yml`` and ``data/01_raw/raw_input.csv`` are used).

    Returns
    -------
    dagster.JobDefinition
        ``shaped_in_process``: one op per node, in-process executor.
    """
    root = Path(root).resolve()
    nodes = _nodes_module(root)
    parameters = yaml.safe_load((root / "conf/base/parameters.yml").read_text(encoding="utf-8"))
    namespaces = sorted(parameters)

    ops: list[tuple[dg.OpDefinition, tuple[str, ...], str]] = []
    for index, ns in enumerate(namespaces):
        files = persisted_files(root, index)
        for k, (function, inputs, params, output) in enumerate(NAMESPACE_NODES):
            if k == 0 and index > 0:
                function, inputs = "start_from_previous", ("raw_input", "previous")
            config = {p.rsplit(".", 1)[-1]: _parameter(parameters[ns], p) for p in params}
            op_def = _op(
                f"{ns}__node_{k}", getattr(nodes, function), inputs, config, files.get(output)
            )
            ops.append((op_def, inputs, output))

    resources = {
        "io_manager": dg.mem_io_manager,
        "raw_input": _raw_input_manager(root / "data/01_raw/raw_input.csv"),
        **{kind: FileIOManager(kind=kind) for kind in ("csv", "parquet", "pickle")},
    }

    @dg.job(name=JOB_NAME, executor_def=dg.in_process_executor, resource_defs=resources)
    def shaped() -> None:
        produced: dict[str, Any] = {}
        for position, (op_def, inputs, output) in enumerate(ops):
            if position % len(NAMESPACE_NODES) == 0:
                # A new namespace: its datasets are new; the previous hand-off is kept.
                produced = {"previous": produced.get("handoff")}
            upstream = {arg: produced[arg] for arg in inputs if arg != "raw_input"}
            produced[output] = op_def(**upstream)

    return shaped


def build_definitions(root: Path) -> dg.Definitions:
    """The :func:`build_job` job of the project in ``root``, as a code location."""
    return dg.Definitions(jobs=[build_job(root)])


@dg.definitions
def defs() -> dg.Definitions:
    """Built when Dagster loads this file, not when ``_dagster_shaped_load.py`` imports it."""
    return build_definitions(Path(os.environ.get(SHAPED_PROJECT_ENV, ".")))
