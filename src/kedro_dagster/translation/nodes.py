"""Node translation: one op per Kedro node (shared by every job) and one multi-asset per node."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetDep,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BetaWarning,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    Nothing,
    OpDefinition,
    Out,
)
from kedro.pipeline.node import Node

from kedro_dagster._dagster_internals import op_input
from kedro_dagster.constants import (
    DATASET_METADATA_KEY,
    DONE_OUTPUT,
    METADATA_PREFIX,
    NODE_TAG,
    START_INPUT,
)
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.runtime.ops import (
    AssetNodeCompute,
    NodeCompute,
    PartitionSelection,
    is_parameter,
)
from kedro_dagster.translation.catalog import (
    CatalogTranslator,
    arg_name,
    strip_transcoding,
)
from kedro_dagster.translation.names import code, node_label
from kedro_dagster.translation.params import parameters_note
from kedro_dagster.translation.partitions import PartitionPlanner, partition_op_suffixes
from kedro_dagster.translation.validators import check_spec
from kedro_dagster.utils import format_node_name

__all__ = ["NodeTranslator"]

_ASSET_OP_SUFFIX = "__asset"


def _code_reference(node: Node) -> CodeReferencesMetadataValue | None:
    """Where the node's function is defined, for Dagster's "open source" links."""
    try:
        func = inspect.unwrap(node.func)
        code = func.__code__
    except (AttributeError, ValueError):
        return None
    # Code references are a Dagster beta API: its warning would repeat at every load of every
    # Dagster process and tell users nothing they can act on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)
        return CodeReferencesMetadataValue(
            code_references=[
                LocalFileCodeReference(file_path=code.co_filename, line_number=code.co_firstlineno)
            ]
        )


def _without(deps: Mapping[AssetKey, AssetDep], taken: Iterable[AssetDep]) -> list[AssetDep]:
    """The ``deps`` on keys not among ``taken``."""
    keys = {dep.asset_key for dep in taken}
    return [dep for key, dep in deps.items() if key not in keys]


def _with_parameters(description: str, node: Node, run_key: str) -> str:
    """The op description followed by the parameters the node reads (a Markdown paragraph)."""
    note = parameters_note(node.inputs, run_key)
    return f"{description}\n\n{note}" if note else description


def _unique_args(node: Node, names: list[str]) -> dict[str, str]:
    """Map dataset names to op argument names, refusing two datasets on one argument."""
    args: dict[str, str] = {}
    for name in names:
        arg = arg_name(name)
        if arg in args and args[arg] != name:
            raise KedroDagsterConfigError(
                f"Node '{node.name}' uses datasets '{args[arg]}' and '{name}', which map to the "
                f"same Dagster name '{arg}'. Rename one of them.",
            )
        args[arg] = name
    return args


class NodeTranslator:
    """Builds the op and the multi-asset of each node, once, whatever the number of jobs.

    Parameters
    ----------
    catalog : CatalogTranslator
        Dataset records and asset specs.
    producers : Mapping of str to Node
        The node producing each dataset (transcoding removed) across deployed pipelines.
    group_of_node : Callable
        Default asset group of a node (its pipeline), by node name.
    partitions : PartitionPlanner
        Which nodes fan out over partition keys.
    op_names : Callable, optional
        The op name of a node (see :class:`~kedro_dagster.translation.names.OpNames`);
        its Kedro name mapped by ``format_node_name`` by default.
    code_references : bool
        Whether assets link to their node's source (``dagster/code_references``).
    """

    def __init__(
        self,
        catalog: CatalogTranslator,
        producers: Mapping[str, Node],
        group_of_node: Callable[[str], str | None],
        partitions: PartitionPlanner,
        op_names: Callable[[Node], str] | None = None,
        code_references: bool = True,
    ) -> None:
        self._op_names = op_names
        self._code_references = code_references
        self._catalog = catalog
        self._producers = producers
        self._group_of_node = group_of_node
        self._ops: dict[str, dict[str | None, OpDefinition]] = {}
        self._partitions = partitions
        self._roots: dict[str, frozenset[AssetKey]] = {}
        self._input_defs: dict[tuple[Any, ...], Any] = {}

    def op_name(self, node: Node) -> str:
        """The Dagster op name of ``node``."""
        if self._op_names is not None:
            return self._op_names(node)
        return format_node_name(node.name)

    def asset_op_name(self, node: Node) -> str:
        """The name of the op of ``node``'s multi-asset."""
        return self.op_name(node) + _ASSET_OP_SUFFIX

    def _dataset_inputs(self, node: Node) -> list[str]:
        return [name for name in node.inputs if not is_parameter(name)]

    def _input(
        self,
        arg: str,
        *,
        nothing: bool = False,
        description: str | None = None,
        dataset: str | None = None,
        manager_key: str | None = None,
    ) -> Any:
        """The definition of one op input, shared by every op with an identical one.

        What ``In(...)`` would give, built once: the start input of every op, a dataset read
        by several nodes, an asset op's inputs (see ``_dagster_internals.op_input``).
        """
        key = (arg, nothing, description, dataset, manager_key)
        cached = self._input_defs.get(key)
        if cached is None:
            cached = self._input_defs[key] = op_input(
                arg,
                Nothing if nothing else None,
                description=description,
                metadata={DATASET_METADATA_KEY: dataset} if dataset is not None else None,
                input_manager_key=manager_key,
            )
        return cached

    def get_op(self, node: Node) -> OpDefinition:
        """The op running ``node`` once in jobs (see :meth:`get_ops` for fanned-out nodes)."""
        ops = self.get_ops(node)
        if None not in ops:
            raise KedroDagsterConfigError(
                f"Node '{node.name}' is fanned out over partitions; use get_ops()."
            )
        return ops[None]

    def get_ops(self, node: Node) -> dict[str | None, OpDefinition]:
        """The ops running ``node`` in jobs, by partition key (``None``: not fanned out).

        Created on first use and shared by every job containing the node.
        """
        cached = self._ops.get(node.name)
        if cached is not None:
            return cached
        plan = self._partitions.plan(node)
        if plan is None:
            ops: dict[str | None, OpDefinition] = {None: self._build_op(node)}
        else:
            suffixes = partition_op_suffixes(plan)
            ops = {
                key: self._build_op(node, selection, suffixes[key])
                for key, selection in plan.items()
            }
        self._ops[node.name] = ops
        return ops

    def _build_op(
        self, node: Node, selection: PartitionSelection | None = None, suffix: str = ""
    ) -> OpDefinition:
        catalog = self._catalog
        input_args = _unique_args(node, self._dataset_inputs(node))
        output_args = _unique_args(node, list(node.outputs))
        ins: dict[str, Any] = {}
        direct = [name for name in (*node.inputs, *node.outputs) if catalog.is_direct(name)]
        for arg, name in input_args.items():
            spec = catalog.dataset(name)
            if name in direct:
                ins[arg] = self._input(
                    arg, nothing=True, description=f"Kedro dataset {code(name)} (read by the op)"
                )
                continue
            ins[arg] = self._input(
                arg,
                manager_key=None if spec.ephemeral else catalog.io_manager_key(name),
                description=f"Kedro dataset {code(name)}",
                dataset=name,
            )
        ins[START_INPUT] = self._input(START_INPUT, nothing=True)
        outs: dict[str, Out] = {}
        for arg, name in output_args.items():
            spec = catalog.dataset(name)
            if name in direct:
                outs[arg] = Out(
                    Nothing, description=f"Kedro dataset {code(name)} (saved by the op)"
                )
                continue
            key = (
                catalog.namespace.memory_io_manager
                if spec.ephemeral
                else catalog.io_manager_key(name)
            )
            outs[arg] = Out(
                io_manager_key=key,
                description=f"Kedro dataset {code(name)}",
                metadata={DATASET_METADATA_KEY: name},
            )
        if not outs:
            # The end op waits for the last ops of a job through one of their outputs: a node
            # without outputs gets one (an extra output per op would be an extra event per step).
            outs[DONE_OUTPUT] = Out(Nothing)
        compute = NodeCompute(
            node,
            input_args,
            {name: arg for arg, name in output_args.items()},
            direct,
            selection,
            run_key=catalog.namespace.kedro_run,
        )
        tags = self._op_tags(node)
        description = f"Kedro node {node_label(node)}"
        if selection is not None:
            tags[f"{METADATA_PREFIX}/partition"] = selection.key
            description += f", partition {code(selection.key)}"
        description = _with_parameters(description, node, catalog.namespace.kedro_run)
        # OpDefinition with a plain compute function: no signature inspection or docstring
        # parsing per op, which the @op decorator would pay for every node at every load.
        return OpDefinition(
            compute_fn=compute,
            name=self.op_name(node) + (f"__{suffix}" if suffix else ""),
            ins=ins,
            outs=outs,
            required_resource_keys={catalog.namespace.kedro_run},
            tags=tags,
            description=description,
        )

    def _op_tags(self, node: Node) -> dict[str, str]:
        tags = {NODE_TAG: node.name}
        if node.tags:
            tags[f"{METADATA_PREFIX}/tags"] = ",".join(sorted(node.tags))
        if node.namespace:
            tags[f"{METADATA_PREFIX}/namespace"] = node.namespace
        return tags

    def persisted_roots(self, dataset_name: str) -> frozenset[AssetKey]:
        """Persisted datasets a MemoryDataset is computed from (for asset lineage)."""
        cached = self._roots.get(dataset_name)
        if cached is not None:
            return cached
        if not self._catalog.is_ephemeral(dataset_name):
            roots = frozenset({self._catalog.asset_key(dataset_name)})
        else:
            producer = self._producers.get(strip_transcoding(dataset_name))
            keys: set[AssetKey] = set()
            if producer is not None:
                for name in self._dataset_inputs(producer):
                    keys |= self.persisted_roots(name)
            roots = frozenset(keys)
        self._roots[dataset_name] = roots
        return roots

    def get_asset(
        self, node: Node, resource_defs: Mapping[str, Any] | None = None
    ) -> AssetsDefinition | None:
        """The multi-asset of ``node``'s persisted outputs, or ``None`` if it has none.

        Parameters
        ----------
        node : Node
            The Kedro node.
        resource_defs : Mapping, optional
            Resources bound to the asset as it is built (as ``with_resources`` would, without
            building the asset a second time).

        Returns
        -------
        AssetsDefinition or None
        """
        catalog = self._catalog
        # Outputs another deployed node stands for in the asset graph (two registered
        # pipelines writing one dataset) are left to that node's asset.
        persisted = [
            name
            for name in node.outputs
            if not catalog.is_ephemeral(name)
            and self._producers[strip_transcoding(name)].name == node.name
        ]
        if not persisted:
            return None
        group = self._group_of_node(node.name)
        code_ref = _code_reference(node) if self._code_references else None
        output_args = _unique_args(node, persisted)
        outs: dict[str, Out] = {}
        keys_by_output: dict[str, AssetKey] = {}
        specs: list[AssetSpec] = []
        node_metadata: dict[str, Any] = {NODE_TAG: node.name}
        if code_ref is not None:
            node_metadata["dagster/code_references"] = code_ref
        for arg, name in output_args.items():
            spec = catalog.asset_spec(name, group_name=group)
            direct = catalog.is_direct(name)
            outs[arg] = Out(Nothing) if direct else Out(io_manager_key=catalog.io_manager_key(name))
            keys_by_output[arg] = spec.key
            specs.append(spec)
        check_specs = self._check_specs(output_args.values())
        for check in check_specs:
            # Reported by the IO manager when Kedro validates the saved output.
            outs[check.get_python_identifier()] = Out(Nothing, is_required=False)

        ins: dict[str, Any] = {}
        keys_by_input: dict[str, AssetKey] = {}
        input_args: dict[str, str] = {}
        deps: set[AssetKey] = set()
        for arg, name in _unique_args(node, self._dataset_inputs(node)).items():
            if catalog.is_ephemeral(name):
                deps |= self.persisted_roots(name)
                continue
            keys_by_input[arg] = catalog.asset_key(name)
            if catalog.is_direct(name):
                ins[arg] = self._input(arg, nothing=True)
                continue
            ins[arg] = self._input(arg, manager_key=catalog.io_manager_key(name))
            input_args[arg] = name
        # Lineage through MemoryDatasets: ordering-only inputs on the persisted roots.
        deps -= set(keys_by_input.values()) | set(keys_by_output.values())
        for index, key in enumerate(sorted(deps, key=lambda k: k.to_user_string())):
            arg = f"_kedro_dep_{index}"
            ins[arg] = self._input(arg, nothing=True)
            keys_by_input[arg] = key
        compute = AssetNodeCompute(
            node,
            input_args,
            {name: arg for arg, name in output_args.items()},
            producers=self._producers,
            is_ephemeral=catalog.is_ephemeral,
            direct=[n for n in (*node.inputs, *node.outputs) if catalog.is_direct(n)],
            selections=self._partitions.plan(node),
            run_key=catalog.namespace.kedro_run,
        )
        input_mappings = self._partitions.input_mappings(node)
        arg_of = {name: arg for arg, name in _unique_args(node, list(input_mappings)).items()}
        mapping_of_key = {keys_by_input[arg_of[name]]: m for name, m in input_mappings.items()}
        asset_deps = {
            key: AssetDep(key, partition_mapping=mapping_of_key.get(key))
            for key in keys_by_input.values()
        }
        partitions_def = self._partitions.partitions_def(node)
        op_def = OpDefinition(
            compute_fn=compute,
            name=self.asset_op_name(node),
            ins=ins,
            outs=outs,
            required_resource_keys={catalog.namespace.kedro_run},
            tags=self._op_tags(node),
            description=_with_parameters(
                f"Kedro node {node_label(node)}", node, catalog.namespace.kedro_run
            ),
        )
        # Built from the translator's whole specs (owners, tags, kinds, automation condition,
        # code version...): only the deps and the fan-out's partitions are the node's.
        return AssetsDefinition(
            node_def=op_def,
            check_specs_by_output_name={c.get_python_identifier(): c for c in check_specs},
            keys_by_input_name=keys_by_input,
            keys_by_output_name=keys_by_output,
            resource_defs=resource_defs,
            specs=[
                # One copy of the translator's spec (each copy validates every attribute).
                spec.replace_attributes(
                    # The node's metadata is added to the translator's (as merge_attributes).
                    metadata={**spec.metadata, **node_metadata},
                    # Deps the translator sets win over the node's for the same key.
                    deps=[*spec.deps, *_without(asset_deps, spec.deps)],
                    partitions_def=spec.partitions_def or partitions_def,
                )
                for spec in specs
            ],
        )

    def _check_specs(self, outputs: Iterable[str]) -> list[AssetCheckSpec]:
        """Checks of the outputs Kedro validates on save (see ``translation.validators``)."""
        specs: dict[AssetKey, AssetCheckSpec] = {}
        for name in outputs:
            check = self._catalog.validator_check(name)
            if check is not None and check.asset_key not in specs:
                modes = self._catalog.dataset(name).validator.on
                if "save" in modes:
                    specs[check.asset_key] = check_spec(check, modes)
        return list(specs.values())
