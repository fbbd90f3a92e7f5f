"""Dagster's per-definition cost at load: the hand-written code location of a generated project.

``bench_load.py`` compares the load of a translated project (``definitions.py`` imported,
every job resolved) with a *floor* (Kedro's bootstrap, catalog, pipelines, parameters and
``import dagster``). The floor holds none of the Dagster objects that any deployment of
the same project needs: ~1000 ``OpDefinition``s, a job graph ~1000 levels deep, ~300
assets, the implicit asset job. This module builds, by hand with plain Dagster APIs and
without kedro-dagster, the ``Definitions`` a Dagster user would write for the project that
``generate_project.py`` wrote, so ``_bench_worker.py shaped`` can time floor + these, a
like-for-like anchor for the load (as ``_dagster_shaped.py`` is for the run):

- the op job(s): ``_dagster_shaped.build_job``'s job of one op per Kedro node, wired like
  the translated ``__default__`` job (``one``), or one job per namespace of its ten ops
  (``per-namespace``, the previous namespace's hand-off read from its file by an input
  manager, as the translated namespace job reads it from the catalog);
- the assets: ``raw_input`` as an external asset, and one ``@multi_asset`` per node that
  writes a persisted dataset (CSV, Parquet, pickle), grouped by namespace, whose inputs are
  the persisted datasets it reads directly or through in-memory intermediates (lineage
  through MemoryDatasets, as the translation's). Materializing one recomputes those
  intermediates from the loaded inputs, as a Dagster user folding in-memory steps into an
  asset would write it;
- shared IO managers, one per file format (a file's path is its asset's metadata), and an
  input manager for ``raw_input``, given to ``Definitions(resources=...)``.

Two styles of the same definitions: ``decorators`` (``@op``, ``@job``, ``@multi_asset``, as
Dagster's documentation writes them: ``bench_load.py``'s ``shaped``) and ``constructors``
(``OpDefinition``, ``GraphDefinition(...).to_job``, ``AssetsDefinition.from_op``, which skip
the decorators' inspection of every function, built with the cyclic garbage collector paused,
as kedro-dagster builds its own: ``lean``, the least Dagster costs for these definitions
through its public API).

The translation has two more ops in each job (Kedro's ``before_pipeline_run`` and
``after_pipeline_run`` hooks); these jobs have only the node ops.
"""

# No ``from __future__ import annotations``: Dagster checks the op's context annotation.
import gc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from _dagster_shaped import (
    JOB_NAME,
    NAMESPACE_NODES,
    FileIOManager,
    PersistedFile,
    _config_schema,
    _nodes_module,
    _op,
    _out,
    _parameter,
    _raw_input_manager,
    _read,
    _write,
    build_job,
    persisted_files,
)

__all__ = ["JOB_SHAPES", "STYLES", "build_load_definitions"]

JOB_SHAPES = ("one", "per-namespace")
STYLES = ("decorators", "constructors")
RAW_INPUT = "raw_input"
#: Resource keys of the assets' IO managers (distinct from the op job's own resources).
ASSET_IO_MANAGER = "asset_{kind}"
RAW_INPUT_MANAGER = "asset_raw_input"


class AssetFileIOManager(dg.ConfigurableIOManager):
    """Writes an asset to the file named in its metadata (``path``), and reads it back."""

    kind: str

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write ``obj`` to the asset's file."""
        path = Path(context.definition_metadata["path"])
        _write(self.kind, path, obj)
        context.add_output_metadata({"dagster/row_count": len(obj)})

    def load_input(self, context: dg.InputContext) -> Any:
        """Read the upstream asset's file."""
        upstream = context.upstream_output
        if upstream is None:
            raise dg.Failure(f"input {context.name} has no upstream output")
        return _read(self.kind, Path(upstream.definition_metadata["path"]))


def _namespace_nodes(index: int) -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    """Namespace ``index``'s nodes; after the first, node 0 also reads the previous hand-off."""
    nodes = list(NAMESPACE_NODES)
    if index > 0:
        _, _, params, output = nodes[0]
        nodes[0] = ("start_from_previous", (RAW_INPUT, "previous"), params, output)
    return nodes


def _asset(
    ns: str,
    k: int,
    nodes: list[tuple[str, tuple[str, ...], tuple[str, ...], str]],
    functions: Any,
    params: Mapping[str, Any],
    keys: Mapping[str, str],
    files: Mapping[str, PersistedFile],
    style: str,
) -> dg.AssetsDefinition:
    """The multi-asset of node ``k`` of namespace ``ns`` (which writes a persisted dataset).

    ``keys`` maps the namespace's local names of persisted and external datasets to their
    asset keys: every other dataset is in memory, recomputed from those.
    """
    producers = {output: (function, inputs, ps) for function, inputs, ps, output in nodes}

    def roots(name: str) -> set[str]:
        if name in keys:
            return {name}
        return set().union(*(roots(i) for i in producers[name][1]))

    _, inputs, _, output = nodes[k]
    upstream = sorted(set().union(*(roots(i) for i in inputs)) - {output})
    written = files[output]
    config_schema = {key: _config_schema(value) for key, value in params.items()}

    def compute(config: Mapping[str, Any], loaded: Mapping[str, Any]) -> Any:
        values: dict[str, Any] = dict(loaded)

        def value(name: str) -> Any:
            # The in-memory intermediates this asset needs, computed from its loaded inputs.
            if name not in values:
                function, needs, ps = producers[name]
                args = [value(i) for i in needs] + [_parameter(config, p) for p in ps]
                values[name] = getattr(functions, function)(*args)
            return values[name]

        return value(output)

    if style == "constructors":

        def op_compute(context, loaded: Mapping[str, Any]) -> Any:
            yield dg.Output(compute(context.op_config, loaded))

        op_def = dg.OpDefinition(
            compute_fn=op_compute,
            name=f"{ns}__node_{k}__asset",
            ins={
                name: dg.In(input_manager_key=RAW_INPUT_MANAGER if name == RAW_INPUT else None)
                for name in upstream
            },
            outs={
                "result": dg.Out(
                    io_manager_key=ASSET_IO_MANAGER.format(kind=written.kind),
                    metadata={"path": str(written.path)},
                )
            },
            config_schema=config_schema,
        )
        return dg.AssetsDefinition.from_op(
            op_def,
            keys_by_input_name={name: dg.AssetKey(keys[name]) for name in upstream},
            keys_by_output_name={"result": dg.AssetKey(written.asset)},
            group_name=ns,
        )

    @dg.multi_asset(
        name=f"{ns}__node_{k}__asset",
        outs={
            "result": dg.AssetOut(
                key=written.asset,
                io_manager_key=ASSET_IO_MANAGER.format(kind=written.kind),
                metadata={"path": str(written.path)},
            )
        },
        ins={
            name: dg.AssetIn(
                key=keys[name], input_manager_key=RAW_INPUT_MANAGER if name == RAW_INPUT else None
            )
            for name in upstream
        },
        group_name=ns,
        config_schema=config_schema,
    )
    def node_asset(context: dg.AssetExecutionContext, **loaded: Any) -> Any:
        return compute(context.op_execution_context.op_config, loaded)

    return node_asset


def _namespace_job(
    root: Path, index: int, ns: str, params: Mapping[str, Any], functions: Any
) -> dg.JobDefinition:
    """The op job of namespace ``index`` alone: its ten ops, the previous hand-off from file."""
    files = persisted_files(root, index)
    previous = persisted_files(root, index - 1)["handoff"] if index > 0 else None
    resources: dict[str, Any] = {
        "io_manager": dg.mem_io_manager,
        RAW_INPUT: _raw_input_manager(root / "data/01_raw/raw_input.csv"),
    }
    ops: list[tuple[dg.OpDefinition, tuple[str, ...], str]] = []
    for k, (function, inputs, ps, output) in enumerate(_namespace_nodes(index)):
        config = {p.rsplit(".", 1)[-1]: _parameter(params, p) for p in ps}
        name = f"{ns}__node_{k}"
        if previous is not None and "previous" in inputs:
            op_def = _first_op(name, getattr(functions, function), config, previous)
            resources["previous"] = _handoff_manager(previous)
        else:
            op_def = _op(name, getattr(functions, function), inputs, config, files.get(output))
        ops.append((op_def, inputs, output))
    resources.update({kind: FileIOManager(kind=kind) for kind in ("csv", "parquet", "pickle")})

    @dg.job(name=ns, executor_def=dg.in_process_executor, resource_defs=resources)
    def namespace_job() -> None:
        produced: dict[str, Any] = {}
        for op_def, inputs, output in ops:
            upstream = {a: produced[a] for a in inputs if a not in (RAW_INPUT, "previous")}
            produced[output] = op_def(**upstream)

    return namespace_job


def _handoff_manager(previous: PersistedFile) -> dg.InputManagerDefinition:
    """Reads the previous namespace's hand-off from the file its job wrote."""

    @dg.input_manager
    def previous_handoff() -> Any:
        return _read(previous.kind, previous.path)

    return previous_handoff


def _first_op(
    name: str, function: Callable[..., Any], params: Mapping[str, Any], previous: PersistedFile
) -> dg.OpDefinition:
    """A namespace's first op when its job runs alone: both inputs from input managers."""
    keys = list(params)

    @dg.op(
        name=name,
        ins={
            RAW_INPUT: dg.In(input_manager_key=RAW_INPUT),
            "previous": dg.In(input_manager_key="previous"),
        },
        config_schema={key: _config_schema(params[key]) for key in keys},
    )
    def first(context: dg.OpExecutionContext, raw_input: Any, previous: Any) -> Any:
        return function(raw_input, previous, *(context.op_config[key] for key in keys))

    return first


def _plain_op(
    name: str,
    function: Callable[..., Any],
    inputs: tuple[str, ...],
    params: Mapping[str, Any],
    output: PersistedFile | None,
    managed: Mapping[str, str],
) -> dg.OpDefinition:
    """``_dagster_shaped._op`` through ``OpDefinition``'s constructor; ``managed``: the
    inputs read by an input manager (argument -> resource key)."""
    keys = list(params)

    # No annotation on ``context``: Dagster accepts only its own context types there.
    def compute(context, loaded: Mapping[str, Any]) -> Any:
        args = [loaded[arg] for arg in inputs] + [context.op_config[k] for k in keys]
        yield dg.Output(function(*args))

    return dg.OpDefinition(
        compute_fn=compute,
        name=name,
        ins={arg: dg.In(input_manager_key=managed.get(arg)) for arg in inputs},
        outs={"result": _out(output)},
        config_schema={k: _config_schema(params[k]) for k in keys},
    )


def _plain_jobs(
    root: Path, namespaces: list[str], parameters: Mapping[str, Any], functions: Any, jobs: str
) -> list[dg.JobDefinition]:
    """The op job(s) through ``GraphDefinition``: the same ops, wiring and resources as
    ``build_job`` (``one``) or ``_namespace_job`` (``per-namespace``)."""
    standalone = jobs == "per-namespace"
    raw_manager = _raw_input_manager(root / "data/01_raw/raw_input.csv")
    base: dict[str, Any] = {
        "io_manager": dg.mem_io_manager,
        RAW_INPUT: raw_manager,
        **{kind: FileIOManager(kind=kind) for kind in ("csv", "parquet", "pickle")},
    }
    graphs: list[tuple[str, list[dg.OpDefinition], dict[str, Any], dict[str, Any]]] = []
    node_defs: list[dg.OpDefinition] = []
    deps: dict[str, Any] = {}
    producer: dict[str, str] = {}
    resources = dict(base)
    for index, ns in enumerate(namespaces):
        files = persisted_files(root, index)
        previous_producer = producer.get("handoff")
        producer = {}
        if standalone:
            node_defs, deps, resources = [], {}, dict(base)
        for k, (function, inputs, ps, output) in enumerate(_namespace_nodes(index)):
            name = f"{ns}__node_{k}"
            managed = {RAW_INPUT: RAW_INPUT}
            if standalone and "previous" in inputs:
                managed["previous"] = "previous"
                resources["previous"] = _handoff_manager(
                    persisted_files(root, index - 1)["handoff"]
                )
            config = {p.rsplit(".", 1)[-1]: _parameter(parameters[ns], p) for p in ps}
            node_defs.append(
                _plain_op(
                    name, getattr(functions, function), inputs, config, files.get(output), managed
                )
            )
            upstream = dict(producer)
            if previous_producer is not None:
                upstream["previous"] = previous_producer
            deps[name] = {
                arg: dg.DependencyDefinition(upstream[arg], "result")
                for arg in inputs
                if arg not in managed
            }
            producer[output] = name
        if standalone:
            graphs.append((ns, node_defs, deps, resources))
    if not standalone:
        graphs.append((JOB_NAME, node_defs, deps, resources))
    return [
        dg.GraphDefinition(name=name, node_defs=ops, dependencies=wiring).to_job(
            resource_defs=resource_defs, executor_def=dg.in_process_executor
        )
        for name, ops, wiring, resource_defs in graphs
    ]


def build_load_definitions(
    root: Path, jobs: str = "one", style: str = "decorators"
) -> dg.Definitions:
    """The hand-written ``Definitions`` of the generated project in ``root``.

    Parameters
    ----------
    root : Path
        A project written by ``generate_project.py``.
    jobs : str
        ``"one"``: ``_dagster_shaped.build_job``'s job of every node; ``"per-namespace"``:
        one job per namespace, named like it (``ns_000``...).
    style : str
        ``"decorators"``: ``@op``, ``@job`` and ``@multi_asset``, as Dagster's documentation
        writes them; ``"constructors"``: the same definitions through ``OpDefinition``,
        ``GraphDefinition`` and ``AssetsDefinition.from_op``, which skip the decorators'
        inspection of each function, built with the cyclic garbage collector paused and the
        built heap frozen after (as kedro-dagster builds its definitions).

    Returns
    -------
    dagster.Definitions
        The job(s), ``raw_input`` as an external asset, one multi-asset per node writing a
        persisted dataset, and the assets' IO managers.
    """
    if jobs not in JOB_SHAPES:
        raise ValueError(f"unknown jobs shape {jobs!r}; use one of {', '.join(JOB_SHAPES)}")
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; use one of {', '.join(STYLES)}")
    if style == "decorators":
        return _build(Path(root).resolve(), jobs, style)
    # What the translator does (``translation/gc_pause.py``): no collection walks the growing
    # heap while it is built, and later ones (job resolution) skip it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        defs = _build(Path(root).resolve(), jobs, style)
        if was_enabled:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
    return defs


def _build(root: Path, jobs: str, style: str) -> dg.Definitions:
    functions = _nodes_module(root)
    parameters = yaml.safe_load((root / "conf/base/parameters.yml").read_text(encoding="utf-8"))
    namespaces = sorted(parameters)

    assets: list[Any] = [dg.AssetSpec(RAW_INPUT, group_name=namespaces[0])]
    if style == "constructors":
        job_defs = _plain_jobs(root, namespaces, parameters, functions, jobs)
    else:
        job_defs = [] if jobs == "per-namespace" else [build_job(root)]
    for index, ns in enumerate(namespaces):
        files = persisted_files(root, index)
        keys = {RAW_INPUT: RAW_INPUT, **{name: f.asset for name, f in files.items()}}
        if index > 0:
            keys["previous"] = persisted_files(root, index - 1)["handoff"].asset
        nodes = _namespace_nodes(index)
        for k, (_, _, _, output) in enumerate(nodes):
            if output in files:
                assets.append(_asset(ns, k, nodes, functions, parameters[ns], keys, files, style))
        if jobs == "per-namespace" and style == "decorators":
            job_defs.append(_namespace_job(root, index, ns, parameters[ns], functions))

    resources: dict[str, Any] = {
        RAW_INPUT_MANAGER: _raw_input_manager(root / "data/01_raw/raw_input.csv"),
        **{
            ASSET_IO_MANAGER.format(kind=kind): AssetFileIOManager(kind=kind)
            for kind in ("csv", "parquet", "pickle")
        },
    }
    return dg.Definitions(assets=assets, jobs=job_defs, resources=resources)
