"""Kedro parameters as Dagster config, typed from their values."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from dagster import Any as AnyType
from dagster import Field, Permissive, Shape

from kedro_dagster.constants import KEDRO_RUN_RESOURCE
from kedro_dagster.translation.names import code

__all__ = [
    "PARAMS_CONFIG_PATH",
    "config_field",
    "has_parameter",
    "parameters_note",
    "used_parameters",
]

_SCALARS: tuple[type, ...] = (bool, int, float, str)

#: Where a job's parameters sit in its run config: one block per job, one value per parameter.
PARAMS_CONFIG_PATH = f"resources.{KEDRO_RUN_RESOURCE}.config.params"


def _find(parameters: Mapping[str, Any], dotted: str) -> list[str] | None:
    """The keys leading to ``params:<dotted>``, as Kedro names nested parameters.

    Kedro feeds ``params:<key>`` for every key and ``params:<key>.<child>`` for every child of a
    mapping, recursively: a key may itself hold dots (``"model.v1": {lr: 0.1}`` gives
    ``params:model.v1.lr``), so each key that prefixes ``dotted`` is tried.
    """
    if dotted in parameters:
        return [dotted]
    parts = dotted.split(".")
    node: Any = parameters
    for part in parts:  # the usual case first: no key holds a dot
        if not isinstance(node, Mapping) or part not in node:
            break
        node = node[part]
    else:
        return parts
    for key, value in parameters.items():
        if isinstance(key, str) and isinstance(value, Mapping) and dotted.startswith(f"{key}."):
            rest = _find(value, dotted[len(key) + 1 :])
            if rest is not None:
                return [key, *rest]
    return None


def _at(parameters: Mapping[str, Any], path: list[str]) -> Any:
    node: Any = parameters
    for part in path:
        node = node[part]
    return node


def _lookup(parameters: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """Find ``a.b.c`` in nested parameters, as Kedro's ``params:a.b.c`` does."""
    path = _find(parameters, dotted)
    return (False, None) if path is None else (True, _at(parameters, path))


def has_parameter(parameters: Mapping[str, Any], dotted: str) -> bool:
    """Whether ``params:<dotted>`` names a parameter (``a.b.c`` walks nested mappings)."""
    return _lookup(parameters, dotted)[0]


def parameters_note(inputs: Iterable[str], run_key: str = KEDRO_RUN_RESOURCE) -> str:
    """Markdown naming the parameters a node reads, for its op's description ("" if none).

    Parameters
    ----------
    inputs : Iterable of str
        The node's inputs (``params:a.b`` and ``parameters`` are parameters).
    run_key : str
        Key of the ``kedro_run`` resource whose config holds them (namespaced or not).

    Returns
    -------
    str
    """
    names = [name for name in inputs if name == "parameters" or name.startswith("params:")]
    if not names:
        return ""
    listed = ", ".join(code(name) for name in names)
    path = f"resources.{run_key}.config.params"
    return f"Parameters: {listed} (edit them in the run config at {code(path)})."


def _insert(tree: dict[str, Any], path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def used_parameters(parameters: Mapping[str, Any], inputs: Iterable[str]) -> dict[str, Any]:
    """The part of the parameter tree that nodes with these inputs read.

    ``parameters`` selects everything; ``params:a.b`` selects ``{"a": {"b": ...}}``.
    """
    names = set(inputs)
    if "parameters" in names:
        return dict(parameters)
    tree: dict[str, Any] = {}
    for name in sorted(n for n in names if n.startswith("params:")):
        dotted = name.removeprefix("params:")
        path = _find(parameters, dotted)
        if path is not None:
            _insert(tree, path, _at(parameters, path))
    return tree


def _scalar_type(value: Any) -> type | None:
    for kind in _SCALARS:
        if type(value) is kind:
            return kind
    return None


#: Marks a value Dagster cannot show as a default (a date, a custom object).
_NO_DEFAULT: Any = object()


def config_field(value: Any, cache: dict[Hashable, tuple[Field, Any]] | None = None) -> Field:
    """A Dagster config field whose type and default come from a parameter value.

    Every field carries its current value as ``default_value``, mappings included (made of
    their children's defaults), so Dagster's default run config (what the launchpad scaffolds)
    shows the whole parameter tree. Values Dagster cannot show (dates, custom objects) stay
    editable without a default and are left out of their parent's default.

    Parameters
    ----------
    value : Any
        The parameter value (a mapping for a tree of parameters).
    cache : dict, optional
        Fields of the sub-trees built so far, reused for equal sub-trees (one job's namespace
        and the same namespace among every asset's parameters). Keys may hold the ``id`` of
        values that are not plain data: the cache must not outlive ``value``.

    Returns
    -------
    Field
    """
    return _field_and_default(value, cache)[0]


def _frozen(value: Any) -> Hashable:
    """A key equal for values that make the same field: types are part of it (1, 1.0, True)."""
    if isinstance(value, Mapping):
        return (dict, tuple((type(k), k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (list, tuple(_frozen(item) for item in value))
    if value is None or _scalar_type(value) is not None:
        return (type(value), value)
    return (object, id(value))


def _field_and_default(
    value: Any, cache: dict[Hashable, tuple[Field, Any]] | None = None
) -> tuple[Field, Any]:
    """The field of ``value`` and its default (``_NO_DEFAULT`` if none): one walk of the tree."""
    if isinstance(value, Mapping):
        if not value:
            return Field(Permissive(), default_value={}, is_required=False), {}
        key = _frozen(value) if cache is not None else None
        if cache is not None and key in cache:
            return cache[key]
        fields: dict[str, Field] = {}
        default: dict[str, Any] = {}
        for name, child in value.items():
            field, child_default = _field_and_default(child, cache)
            fields[str(name)] = field
            # A non-string key would come back as a string: a spurious `--params` edit.
            if child_default is not _NO_DEFAULT and isinstance(name, str):
                default[name] = child_default
        built = Field(Shape(fields), default_value=default, is_required=False), default
        if cache is not None:
            cache[key] = built
        return built
    scalar = _scalar_type(value)
    if scalar is not None:
        # A float field lets users type 1 where the default is 1.0.
        return Field(scalar, default_value=value, is_required=False), value
    if isinstance(value, list) and _json_like(value):
        kinds = {_scalar_type(item) for item in value}
        kind = kinds.pop() if len(kinds) == 1 else None
        config_type: Any = [kind] if kind is not None else AnyType
        return Field(config_type, default_value=list(value), is_required=False), list(value)
    if value is None:
        return Field(AnyType, default_value=None, is_required=False), None
    # Values Dagster cannot show (dates, custom objects): editable, no default shown.
    return Field(AnyType, is_required=False), _NO_DEFAULT


def _json_like(value: Any) -> bool:
    if value is None or _scalar_type(value) is not None:
        return True
    if isinstance(value, list):
        return all(_json_like(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False
