"""Op names of Kedro nodes, and the Kedro names shown in Dagster's (Markdown) descriptions.

Kedro names a node without ``name=`` ``<function>__<8 hex>``. Its op is called after the
function (namespace kept, as :func:`~kedro_dagster.utils.format_node_name` maps it) unless
another node of a registered pipeline, or one of the job's hook ops, would get that op name:
then Kedro's suffixed name is kept. Deciding from every registered pipeline, not only the
deployed jobs, keeps an op's name stable when a job is added or filtered differently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from kedro_dagster import _kedro_internals as internals
from kedro_dagster.translation.namespace import NO_NAMESPACE, Namespace
from kedro_dagster.utils import format_node_name

__all__ = [
    "AFTER_PIPELINE_RUN_OP",
    "BEFORE_PIPELINE_RUN_OP",
    "HOOK_OPS",
    "OpNames",
    "code",
    "node_label",
    "unique_nodes",
]

#: The op of every job calling ``before_pipeline_run`` (and the process hooks) first.
BEFORE_PIPELINE_RUN_OP = "before_pipeline_run"
#: The op of every job calling ``after_pipeline_run`` once every node op is done.
AFTER_PIPELINE_RUN_OP = "after_pipeline_run"
HOOK_OPS = (BEFORE_PIPELINE_RUN_OP, AFTER_PIPELINE_RUN_OP)

#: Kedro's suffix of an unnamed node's name (``Node._set_unique_name``).
_KEDRO_SUFFIX = re.compile(r"__[0-9a-f]{8}$")


def code(text: str) -> str:
    """``text`` as Markdown inline code: Dagster renders descriptions as Markdown.

    Kedro names are full of underscores (``__default__`` would render as bold **default**).
    """
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _is_unnamed(node: Node) -> bool:
    return internals.node_given_name(node) is None


def node_label(node: Node) -> str:
    """How a description names ``node``: its name, or Kedro's ``str(node)`` when unnamed."""
    return code(str(node) if _is_unnamed(node) else node.name)


def _readable_name(node: Node) -> str:
    """An unnamed node's Kedro name without the hash suffix (namespace kept)."""
    return _KEDRO_SUFFIX.sub("", node.name)


def unique_nodes(pipelines: Iterable[Pipeline]) -> dict[str, Node]:
    """Every node of ``pipelines`` once, by name, in order of first appearance."""
    nodes: dict[str, Node] = {}
    for pipeline in pipelines:
        for node in pipeline.nodes:
            nodes.setdefault(node.name, node)
    return nodes


class OpNames:
    """The op name of each node of the registered pipelines.

    Parameters
    ----------
    pipelines : Mapping of str to Pipeline
        Every registered pipeline.
    namespace : Namespace, optional
        Prefixes every op name (``<namespace>__<op>``), so that two projects' ops coexist.
    """

    def __init__(
        self, pipelines: Mapping[str, Pipeline], namespace: Namespace = NO_NAMESPACE
    ) -> None:
        self._namespace = namespace
        nodes = unique_nodes(pipelines.values())
        wanted = {
            name: format_node_name(_readable_name(node) if _is_unnamed(node) else name)
            for name, node in nodes.items()
        }
        taken = Counter(wanted.values())
        taken.update(HOOK_OPS)
        self._names = {
            name: op if taken[op] == 1 or not _is_unnamed(nodes[name]) else format_node_name(name)
            for name, op in wanted.items()
        }

    def __call__(self, node: Node) -> str:
        """The op name of ``node`` (a node of no registered pipeline: its mapped Kedro name)."""
        return self.of_name(node.name)

    def of_name(self, name: str) -> str:
        """The op name of the node called ``name`` in Kedro (another name: mapped as one)."""
        op = self._names.get(name)
        return self._namespace(op if op is not None else format_node_name(name))

    def hook_op(self, name: str) -> str:
        """The op name of the hook op ``name`` (one of :data:`HOOK_OPS`)."""
        return self._namespace(name)
