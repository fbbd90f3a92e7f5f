"""Every private (``_``-prefixed) Kedro symbol kedro-dagster uses, behind one small function each.

A Kedro upgrade that renames or changes one of them fails ``tests/test_kedro_internals.py``
first, with the function's name, instead of somewhere in a run. Import Kedro lazily here:
this module is imported by run-time code and, for the dataset attributes, by translation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "EPHEMERAL_ATTR",
    "SINGLE_PROCESS_ATTR",
    "absolute_catalog_config",
    "config_credentials",
    "context_parameters",
    "create_project_hook_manager",
    "dataset_config_resolver",
    "dataset_description",
    "dataset_is_versioned",
    "dataset_path",
    "declares_ephemeral",
    "declares_single_process",
    "make_catalog",
    "memory_copy",
    "node_given_name",
    "null_hook_manager",
    "partition_path",
    "project_package_name",
    "validator_cache",
]


#: Kedro's hint that a dataset's data does not outlive the run (class or instance attribute).
EPHEMERAL_ATTR = "_EPHEMERAL"
#: Kedro's mark of a dataset that cannot be used from other processes (class attribute).
SINGLE_PROCESS_ATTR = "_SINGLE_PROCESS"


def declares_ephemeral(dataset_or_class: Any) -> bool:
    """Whether a dataset (class or instance) sets Kedro's ``_EPHEMERAL``."""
    return bool(getattr(dataset_or_class, EPHEMERAL_ATTR, False))


def declares_single_process(dataset_class: Any) -> bool:
    """Whether a dataset class sets Kedro's ``_SINGLE_PROCESS``."""
    return bool(getattr(dataset_class, SINGLE_PROCESS_ATTR, False))


def project_package_name(project_path: Path) -> str:
    """The package name declared in the project's ``pyproject.toml`` (``[tool.kedro]``)."""
    from kedro.framework.startup import _get_project_metadata

    return str(_get_project_metadata(project_path).package_name)


def create_project_hook_manager() -> Any:
    """A hook manager with the project's hooks (``settings.HOOKS``) and plugin hooks.

    Built as Kedro's session builds it; the project must be bootstrapped.
    """
    from kedro.framework.hooks.manager import (
        _create_hook_manager,
        _register_hooks,
        _register_hooks_entry_points,
    )
    from kedro.framework.project import settings

    manager = _create_hook_manager()
    _register_hooks(manager, settings.HOOKS)
    _register_hooks_entry_points(manager, settings.DISABLE_HOOKS_FOR_PLUGINS)
    return manager


def null_hook_manager() -> Any:
    """A hook manager whose hooks do nothing (Kedro's ``_NullPluginManager``)."""
    from kedro.framework.hooks.manager import _NullPluginManager

    return _NullPluginManager()


def make_catalog(
    context: Any,
    catalog_class: type,
    save_version: str | None,
    load_versions: Mapping[str, str] | None,
) -> Any:
    """The context's catalog (``KedroContext._get_catalog``): datasets, parameters, versions.

    It fires ``after_catalog_created`` on the context's hook manager.
    """
    return context._get_catalog(
        catalog_class=catalog_class, save_version=save_version, load_versions=load_versions
    )


def absolute_catalog_config(project_path: Path, conf_catalog: Mapping[str, Any]) -> dict:
    """The catalog configuration with relative local paths made absolute, as Kedro does."""
    from kedro.framework.context.context import _convert_paths_to_absolute_posix

    return dict(
        _convert_paths_to_absolute_posix(
            project_path=project_path, conf_dictionary=dict(conf_catalog)
        )
    )


def config_credentials(context: Any) -> Any:
    """The context's resolved credentials (``KedroContext._get_config_credentials``)."""
    return context._get_config_credentials()


def context_parameters(context: Any) -> Any:
    """The context's parameters, runtime overrides applied (``KedroContext._get_parameters``)."""
    return context._get_parameters()


def dataset_config_resolver(resolver: Any) -> Callable[[str], dict[str, Any]]:
    """``resolver.resolve_pattern`` for many names, each pattern parsed once.

    Kedro's ``CatalogConfigResolver`` parses every pattern again for each name it matches
    against, and again at every level of the matched configuration: at definitions load that
    is ~0.1 ms a dataset for a few patterns and grows with their number (0.2 s for 2000
    datasets and 20 patterns), in every Dagster process. This matches the compiled patterns
    in Kedro's order (``list_patterns``: dataset patterns by specificity, the user catch-all,
    runtime patterns) and fills the matched configuration as Kedro does. Kedro resolves the
    names the user catch-all matches itself: it warns about them.
    """
    from copy import deepcopy

    from parse import compile as compile_pattern  # a Kedro dependency

    explicit = resolver.config
    patterns = [(pattern, compile_pattern(pattern)) for pattern in resolver.list_patterns()]
    catch_all = set(resolver._user_catch_all_pattern)

    def fill(config: Any, values: Mapping[str, Any]) -> Any:
        if isinstance(config, dict):
            return {key: fill(value, values) for key, value in config.items()}
        if type(config) in (list, tuple):
            return [fill(value, values) for value in config]
        if isinstance(config, str):
            return config.format_map(values) if "}" in config else config
        return deepcopy(config)  # Kedro resolves a deep copy of the pattern's configuration

    def resolve(name: str) -> dict[str, Any]:
        config = explicit.get(name)
        if config is not None:
            return config
        for pattern, parser in patterns:
            match = parser.parse(name)
            if match is None:
                continue
            if pattern in catch_all:
                break
            return fill(resolver._get_pattern_config(pattern), match.named)
        return resolver.resolve_pattern(name)

    return resolve


def dataset_description(dataset: Any) -> dict[str, Any]:
    """A dataset's ``_describe()`` (``{}`` when it has none)."""
    describe = getattr(dataset, "_describe", None)
    return dict(describe()) if callable(describe) else {}


def dataset_is_versioned(dataset: Any) -> bool:
    """Whether a dataset is versioned (its ``_version`` is set)."""
    return getattr(dataset, "_version", None) is not None


def dataset_path(dataset: Any, default: str) -> str:
    """The root path of a partitioned dataset (``_path``), or ``default``."""
    return str(getattr(dataset, "_path", default))


def partition_path(dataset: Any, key: str) -> str | None:
    """The file path of partition ``key`` of a partitioned dataset (``_partition_to_path``)."""
    to_path = getattr(dataset, "_partition_to_path", None)
    return str(to_path(key)) if callable(to_path) else None


def node_given_name(node: Any) -> str | None:
    """The name given to ``node(..., name=...)`` (``Node._name``), ``None`` when unnamed.

    Kedro names an unnamed node ``<function>__<8 hex>`` (``Node._set_unique_name``).
    """
    name = node._name
    return None if name is None else str(name)


def validator_cache(catalog: Any) -> dict[str, Any] | None:
    """The resolved validators a catalog's load/save funnel uses, by dataset (``_validators``).

    ``DataCatalog._validate`` takes a dataset's validator from this dict before resolving its
    spec: a validator placed here is the one Kedro calls. ``None`` for a catalog without
    validators (Kedro < 1.7, or another catalog class).
    """
    cache = getattr(catalog, "_validators", None)
    return cache if isinstance(cache, dict) else None


def memory_copy(data: Any, dataset: Any = None) -> Any:
    """``data`` copied as Kedro's ``MemoryDataset`` copies what it hands to a node.

    The copy mode is the dataset's ``copy_mode`` (``_copy_mode``) when ``dataset`` is a
    declared MemoryDataset that sets one, else inferred from the data (``_infer_copy_mode``:
    ``copy`` for pandas and numpy, ``assign`` for Spark and Ibis tables, ``deepcopy`` for the
    rest), then applied (``_copy_with_mode``).
    """
    from kedro.io.memory_dataset import _copy_with_mode, _infer_copy_mode

    mode = getattr(dataset, "_copy_mode", None) or _infer_copy_mode(data)
    return _copy_with_mode(data, copy_mode=mode)
