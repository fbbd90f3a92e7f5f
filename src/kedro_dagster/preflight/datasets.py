"""Construct (never load) a run's datasets, so a bad catalog entry fails before any node runs.

A wrong ``type`` or a missing constructor argument is only found by importing and creating the
dataset class. The job's first step does it for every dataset of the job
(``KEDRO_DAGSTER_PREFLIGHT=full`` does it at load). All failures are reported at once.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterable, Mapping
from typing import Any

from kedro_dagster.preflight.locate import files_defining
from kedro_dagster.preflight.problems import Problem, raise_problems

__all__ = ["check_datasets", "secret_values"]

_PARSE_PREFIX = "An exception occurred when parsing config for dataset"
_REDACTED = "***"
_MIN_SECRET_LEN = 4
_CUTOFF = 0.8
# The class's complaint says the ``type`` itself is wrong.
_TYPE_MARKERS = ("not found", "No module named", "is not a subclass")


def secret_values(credentials: Any) -> set[str]:
    """Every string value of a credentials mapping, to be masked in messages."""
    found: set[str] = set()
    stack = [credentials]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= _MIN_SECRET_LEN:
            found.add(item)
    return found


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text


def _complaint(exc: BaseException) -> str:
    """The class's own words: Kedro wraps them in a preamble and install hints."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith((_PARSE_PREFIX, "Hint:", "http"))]
    kept = [line for line in lines if not line.startswith("Dataset '") or "not found" in line]
    return " ".join(kept or lines or [type(exc).__name__]).rstrip(".") + "."


def _class_names(module_name: str) -> list[str]:
    try:
        module = importlib.import_module(module_name)
    except Exception:
        return []
    names = getattr(module, "__all__", None) or dir(module)
    return [str(n) for n in names if str(n)[:1].isupper()]


def _kedro_datasets_groups() -> list[str]:
    try:
        import kedro_datasets
    except ImportError:
        return []
    modules = pkgutil.iter_modules(kedro_datasets.__path__)
    return [m.name for m in modules if not m.name.startswith("_")]


def suggest_type(type_value: Any) -> str:
    """``Did you mean 'pandas.ParquetDataset'?`` for a mistyped dataset ``type``, or ``""``.

    Looks in the named module (``kedro_datasets.<group>`` first, as Kedro does), then among
    kedro-datasets' groups when the module itself is mistyped.
    """
    if not isinstance(type_value, str) or "." not in type_value:
        return ""
    module, _, cls = type_value.rpartition(".")
    for prefix in ("kedro_datasets.", ""):
        names = _class_names(prefix + module)
        if names:
            return _hint([f"{module}.{n}" for n in _close(cls, names)])
    # The module is mistyped: a close kedro-datasets group that has this class.
    groups = _close(module.removeprefix("kedro_datasets."), _kedro_datasets_groups())
    return _hint([f"{g}.{cls}" for g in groups if cls in _class_names(f"kedro_datasets.{g}")])


def _close(name: str, candidates: Iterable[str]) -> list[str]:
    """Candidates close to ``name``, ignoring case (``CsvDataset`` finds ``CSVDataset``)."""
    by_lower = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=_CUTOFF)
    return [by_lower[m] for m in matches]


def _hint(matches: list[str]) -> str:
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"


def _fix(complaint: str, type_value: Any) -> str:
    if any(marker in complaint for marker in _TYPE_MARKERS):
        return (
            suggest_type(type_value)
            + " Fix its 'type': a dataset class path such as 'pandas.CSVDataset'."
        )
    if "missing" in complaint and "argument" in complaint:
        return " Add the missing argument to its catalog entry."
    if "unexpected keyword argument" in complaint:
        return " Remove or rename that argument in its catalog entry."
    return " Fix its catalog entry."


def check_datasets(
    catalog: Any,
    names: Iterable[str],
    *,
    config_loader: Any,
    headline: str,
    secrets: Iterable[str] = (),
) -> None:
    """Create every dataset of ``names`` through ``catalog``; raise one error for all failures.

    Parameters
    ----------
    catalog : DataCatalog
        The catalog of the run (or one built like it); factories and runtime patterns resolve.
    names : Iterable of str
        Dataset names (no parameters).
    config_loader : AbstractConfigLoader
        The project's loader, to name the catalog file of each failing dataset.
    headline : str
        What this means for the user, e.g. ``"Job 'main' stopped before its first node"``.
    secrets : Iterable of str
        Credential values to mask in the class's complaints.

    Raises
    ------
    KedroDagsterConfigError
        Listing each dataset that cannot be created, its file, the class's complaint and the fix.
    """
    problems: list[Problem] = []
    secret_set = set(secrets)
    resolver = getattr(catalog, "config_resolver", None)
    for name in dict.fromkeys(names):
        try:
            catalog.get(name, fallback_to_runtime_pattern=True)
        except Exception as exc:
            complaint = _redact(_complaint(exc), secret_set)
            config = _config_of(resolver, name)
            declared = _declared_key(resolver, name)
            problems.append(
                Problem(
                    f"dataset '{name}' cannot be created: {complaint}"
                    + _fix(complaint, config.get("type")),
                    file=files_defining(config_loader, "catalog", declared),
                    key=(declared,),
                )
            )
    raise_problems(problems, headline)


def _config_of(resolver: Any, name: str) -> dict[str, Any]:
    if resolver is None:
        return {}
    config = resolver.config.get(name)
    if config is None:
        try:
            config = resolver.resolve_pattern(name)
        except Exception:
            config = None
    return dict(config) if isinstance(config, Mapping) else {}


def _declared_key(resolver: Any, name: str) -> str:
    """The catalog key a dataset comes from: its own name or the factory pattern it matches."""
    if resolver is None or name in resolver.config:
        return name
    try:
        pattern = resolver.match_dataset_pattern(name) or resolver.match_user_catch_all_pattern(
            name
        )
    except Exception:
        pattern = None
    return str(pattern) if pattern else name
