"""Name mapping between Kedro and Dagster.

Dagster names (assets, ops, jobs) must match ``^[A-Za-z0-9_]+$``. These helpers map Kedro
names deterministically, so the same project always yields the same Dagster names.
"""

from __future__ import annotations

import hashlib
import keyword
import re

__all__ = [
    "format_dataset_name",
    "format_node_name",
    "is_valid_dagster_name",
    "unformat_asset_name",
]

_NAMESPACE_SEP = "."
_DAGSTER_SEP = "__"
_VALID_NAME = re.compile(r"^[A-Za-z0-9_]+$")
#: Names Dagster refuses for ops, inputs and outputs although their characters are valid
#: (``dagster._core.definitions.utils.DISALLOWED_NAMES``): Python keywords and a few more.
RESERVED_NAMES = frozenset(
    (
        *keyword.kwlist,
        "context",
        "conf",
        "config",
        "meta",
        "arg_dict",
        "dict",
        "input_arg_dict",
        "output_arg_dict",
        "int",
        "str",
        "float",
        "bool",
        "input",
        "output",
        "type",
    )
)


def is_valid_dagster_name(name: str) -> bool:
    """Return whether ``name`` is accepted by Dagster for assets, ops and jobs."""
    return bool(_VALID_NAME.match(name)) and name not in RESERVED_NAMES


def format_dataset_name(name: str) -> str:
    """Map a Kedro dataset name to a Dagster asset name.

    Only the namespace separator ``.`` is replaced, by ``__``; other characters are kept.

    Parameters
    ----------
    name : str
        Kedro dataset name, e.g. ``"data_processing.companies"``.

    Returns
    -------
    str
        The Dagster name, e.g. ``"data_processing__companies"``.
    """
    return name.replace(_NAMESPACE_SEP, _DAGSTER_SEP)


def unformat_asset_name(name: str) -> str:
    """Map a Dagster asset name back to the Kedro dataset name.

    Parameters
    ----------
    name : str
        Dagster asset name, e.g. ``"data_processing__companies"``.

    Returns
    -------
    str
        The Kedro dataset name, e.g. ``"data_processing.companies"``.
    """
    return name.replace(_DAGSTER_SEP, _NAMESPACE_SEP)


def format_node_name(name: str) -> str:
    """Map a Kedro node name to a Dagster op name.

    Dots become ``__``. A name that is still not valid for Dagster becomes
    ``unnamed_node_<md5 of the Kedro name>``, stable across runs and machines.

    Parameters
    ----------
    name : str
        Kedro node name.

    Returns
    -------
    str
        A valid Dagster op name.
    """
    formatted = name.replace(_NAMESPACE_SEP, _DAGSTER_SEP)
    if is_valid_dagster_name(formatted):
        return formatted
    digest = hashlib.md5(name.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"unnamed_node_{digest}"
