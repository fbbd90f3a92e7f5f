"""Kedro parameters as Dagster config, typed from their values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dagster import Any as AnyType
from dagster import Field, Permissive, Shape

__all__ = ["config_field", "has_parameter", "used_parameters"]

_SCALARS: tuple[type, ...] = (bool, int, float, str)


def _lookup(parameters: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    """Find ``a.b.c`` in nested parameters, as Kedro's ``params:a.b.c`` does."""
    if dotted in parameters:
        return True, parameters[dotted]
    node: Any = parameters
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def has_parameter(parameters: Mapping[str, Any], dotted: str) -> bool:
    """Whether ``params:<dotted>`` names a parameter (``a.b.c`` walks nested mappings)."""
    return _lookup(parameters, dotted)[0]


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
        found, value = _lookup(parameters, dotted)
        if found:
            path = [dotted] if dotted in parameters else dotted.split(".")
            _insert(tree, path, value)
    return tree


def _scalar_type(value: Any) -> type | None:
    for kind in _SCALARS:
        if type(value) is kind:
            return kind
    return None


def config_field(value: Any) -> Field:
    """A Dagster config field whose type and default come from a parameter value."""
    if isinstance(value, Mapping):
        if not value:
            return Field(Permissive(), default_value={}, is_required=False)
        return Field(Shape({str(k): config_field(v) for k, v in value.items()}), is_required=False)
    scalar = _scalar_type(value)
    if scalar is float:
        # Let users type 1 where the default is 1.0.
        return Field(float, default_value=value, is_required=False)
    if scalar is not None:
        return Field(scalar, default_value=value, is_required=False)
    if isinstance(value, list):
        kinds = {_scalar_type(item) for item in value}
        if len(kinds) == 1 and None not in kinds:
            return Field([kinds.pop()], default_value=list(value), is_required=False)
        if _json_like(value):
            return Field(AnyType, default_value=list(value), is_required=False)
    if value is None:
        return Field(AnyType, default_value=None, is_required=False)
    if _json_like(value):
        return Field(AnyType, default_value=value, is_required=False)
    # Values Dagster cannot show (dates, custom objects): editable, no default shown.
    return Field(AnyType, is_required=False)


def _json_like(value: Any) -> bool:
    if value is None or _scalar_type(value) is not None:
        return True
    if isinstance(value, list):
        return all(_json_like(v) for v in value)
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False
