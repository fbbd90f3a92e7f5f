"""Load-time preflight: mistakes found without importing any data library.

* factory patterns whose braces or placeholders are malformed (Kedro accepts them silently);
* ``credentials:`` names missing from the credentials configuration (only its keys are read);
* ``params:`` inputs of the deployed nodes naming no parameter;
* ``_SINGLE_PROCESS`` datasets in jobs whose executor runs steps in other processes (Kedro's
  ``ParallelRunner`` refuses them too).

Each check is linear in the catalog entries, parameters or node inputs it reads.
``KEDRO_DAGSTER_PREFLIGHT=full`` also constructs every deployed dataset (see
:func:`construct_datasets`), as the run's first step does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kedro.config import MissingConfigException
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

from kedro_dagster._compat import quiet_kedro_config_loader
from kedro_dagster.errors import did_you_mean
from kedro_dagster.preflight import PREFLIGHT_ENV
from kedro_dagster.preflight.datasets import check_datasets, secret_values
from kedro_dagster.preflight.locate import config_files, files_defining
from kedro_dagster.preflight.problems import Problem, raise_problems
from kedro_dagster.project import KedroProject
from kedro_dagster.translation.catalog import CatalogTranslator
from kedro_dagster.translation.params import has_parameter

__all__ = [
    "check_catalog_config",
    "check_parameters",
    "check_single_process",
    "construct_datasets",
    "pattern_error",
]

_CREDENTIALS_KEY = "credentials"
_SYNTAX_FIX = "Write each placeholder as '{name}', e.g. '{name}_csv'."
_PLACEHOLDERS_FIX = "Use only the pattern's placeholders in its entry, or add them to the pattern."
_PLACEHOLDER = re.compile(r"\{.*?\}")
_PLACEHOLDER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def pattern_error(pattern: str) -> str | None:
    """What is wrong with a dataset factory pattern, or ``None`` if ``parse`` can use it."""
    start: int | None = None
    for index, char in enumerate(pattern):
        if char == "{":
            if start is not None:
                return f"'{{' at position {index} opens a placeholder inside another one"
            start = index
        elif char == "}":
            if start is None:
                return f"'}}' at position {index} closes no placeholder"
            body = pattern[start + 1 : index]
            name = body.split(":", 1)[0]
            if not _PLACEHOLDER_NAME.fullmatch(name):
                return (
                    f"placeholder '{{{body}}}' needs a name (letters, digits, '_', not starting "
                    "with a digit)"
                )
            start = None
    if start is not None:
        return f"'{{' at position {start} is never closed"
    import parse

    try:
        parse.compile(pattern)
    except Exception as exc:  # e.g. an unknown format spec: {name:zz}
        return f"'parse' refuses it: {exc}"
    return None


def _strings(config: Any) -> Iterator[str]:
    if isinstance(config, str):
        yield config
    elif isinstance(config, Mapping):
        for value in config.values():
            yield from _strings(value)
    elif type(config) in (list, tuple):
        for value in config:
            yield from _strings(value)


def _unknown_placeholders(pattern: str, config: Any) -> str | None:
    """Placeholders the entry uses but its pattern does not define (Kedro's check, worded)."""
    defined = set(_PLACEHOLDER.findall(pattern))
    used = {p for text in _strings(config) for p in _PLACEHOLDER.findall(text)}
    unknown = sorted(used - defined)
    if not unknown:
        return None
    return (
        f"its entry uses {', '.join(unknown)}, which the pattern does not define "
        f"(it defines {', '.join(sorted(defined)) or 'none'})"
    )


def _credential_names(config: Any) -> Iterator[str]:
    """The ``credentials: <name>`` references of one catalog entry, where Kedro resolves them."""
    if not isinstance(config, Mapping):
        return
    for key, value in config.items():
        if key == _CREDENTIALS_KEY and isinstance(value, str):
            yield value
        elif isinstance(value, Mapping):
            yield from _credential_names(value)


def _credential_keys(project: KedroProject) -> set[str] | None:
    """The names defined in the credentials configuration; values are dropped at once.

    ``None`` when the configuration cannot be read here (e.g. an ``oc.env`` variable set only
    where runs execute): the run then reports it.
    """
    try:
        with quiet_kedro_config_loader():
            return {str(k) for k in project.config_loader[_CREDENTIALS_KEY]}
    except (MissingConfigException, KeyError):
        return set()
    except Exception:
        return None


def check_catalog_config(project: KedroProject) -> None:
    """Check factory patterns and credential names of the catalog configuration.

    Raises
    ------
    KedroDagsterConfigError
        Listing every malformed pattern and every missing credentials name.
    """
    catalog = project.catalog_config
    loader = project.config_loader
    problems: list[Problem] = []
    references: list[tuple[str, str]] = []
    for name, config in catalog.items():
        if name.startswith("_"):
            continue
        if "{" in name or "}" in name:
            error, fix = pattern_error(name), _SYNTAX_FIX
            if error is None:
                error, fix = _unknown_placeholders(name, config), _PLACEHOLDERS_FIX
            if error is not None:
                problems.append(
                    Problem(
                        f"dataset factory pattern '{name}' is malformed: {error}. {fix}",
                        file=files_defining(loader, "catalog", name),
                        key=(name,),
                    )
                )
        references.extend((name, ref) for ref in _credential_names(config))
    if references:
        known = _credential_keys(project)
        missing = [(n, ref) for n, ref in references if known is not None and ref not in known]
        if missing:
            files = " + ".join(str(f) for f in config_files(loader, _CREDENTIALS_KEY))
            where = files or f"no credentials file in {project.conf_source} for env '{project.env}'"
            for name, ref in missing:
                problems.append(
                    Problem(
                        f"dataset '{name}' uses credentials '{ref}', which the credentials "
                        f"configuration ({where}) does not define.{did_you_mean(ref, known or ())} "
                        f"Add a '{ref}' entry there or fix the dataset's 'credentials' key.",
                        file=files_defining(loader, "catalog", name),
                        key=(name, _CREDENTIALS_KEY),
                    )
                )
    raise_problems(problems, "The catalog configuration is invalid")


def _parameter_keys(parameters: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in parameters.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from _parameter_keys(value, f"{dotted}.")


def check_parameters(project: KedroProject, nodes: Iterable[Node]) -> None:
    """Check that every ``params:`` input of ``nodes`` names a parameter.

    Raises
    ------
    KedroDagsterConfigError
        Naming each node, the missing parameter, the parameters files and close keys.
    """
    parameters = project.parameters
    problems: list[Problem] = []
    candidates: list[str] | None = None
    files: str | None = None
    for node in nodes:
        for name in node.inputs:
            if not name.startswith("params:"):
                continue
            dotted = name.removeprefix("params:")
            if has_parameter(parameters, dotted):
                continue
            if candidates is None:  # only when something is missing
                candidates = list(_parameter_keys(parameters))
                found = config_files(project.config_loader, "parameters")
                files = " + ".join(str(f) for f in found) or None
            problems.append(
                Problem(
                    f"node '{node.name}' reads '{name}', but no parameter '{dotted}' is defined "
                    f"for env '{project.env}'.{did_you_mean(dotted, candidates)} Add '{dotted}' "
                    "to the parameters or fix the node's input in the pipeline.",
                    file=files,
                )
            )
    raise_problems(problems, "A node reads a parameter that does not exist")


def construct_datasets(project: KedroProject, names: Iterable[str]) -> None:
    """Create (not load) every dataset of ``names``, as the run's first step does.

    Used by ``KEDRO_DAGSTER_PREFLIGHT=full`` (``kedro dagster check defs``): imports the
    dataset classes, and needs the real credentials, which are only passed to the datasets
    and masked in messages.
    """
    from kedro.framework.project import settings

    try:
        with quiet_kedro_config_loader():
            credentials = dict(project.config_loader[_CREDENTIALS_KEY])
    except Exception:
        credentials = {}
    catalog = settings.DATA_CATALOG_CLASS.from_config(
        catalog=project.catalog_config, credentials=credentials
    )
    check_datasets(
        catalog,
        names,
        config_loader=project.config_loader,
        headline=f"Preflight of the deployed datasets ({PREFLIGHT_ENV}=full)",
        secrets=secret_values(credentials),
    )


def check_single_process(
    jobs: Iterable[tuple[str, str, Pipeline]],
    catalog: CatalogTranslator,
    file: str | None = None,
) -> None:
    """Refuse ``_SINGLE_PROCESS`` datasets in jobs whose steps run in other processes.

    Parameters
    ----------
    jobs : Iterable of (job name, executor name, pipeline)
        The jobs whose executor runs steps outside the run's process (multiprocess, dask,
        celery, docker, k8s...).
    catalog : CatalogTranslator
        Dataset records (kedro-datasets classes are imported for these jobs only).
    file : str, optional
        The ``dagster.yml`` file(s) declaring the jobs.

    Raises
    ------
    KedroDagsterConfigError
        Naming each job, dataset and executor, and the fix.
    """
    problems: list[Problem] = []
    for job_name, executor, pipeline in jobs:
        for name in sorted(pipeline.datasets()):
            if not catalog.is_single_process(name):
                continue
            problems.append(
                Problem(
                    f"job '{job_name}' uses dataset '{name}' "
                    f"({catalog.dataset(name).type}), which declares _SINGLE_PROCESS (it cannot "
                    f"be used from several processes), but its executor '{executor}' runs steps "
                    "in other processes. Give the job the in_process executor, or use another "
                    "dataset type.",
                    file=file,
                    key=("jobs", job_name, "executor"),
                )
            )
    raise_problems(problems, "A job cannot run its datasets in separate processes")
