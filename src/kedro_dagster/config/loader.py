"""Load and check ``dagster.yml``: every mistake names the file, the key and the remedy."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kedro_dagster.config.models import (
    BUILTIN_EXECUTORS,
    JobOptions,
    KedroDagsterConfig,
    PipelineOptions,
)
from kedro_dagster.errors import KedroDagsterConfigError, did_you_mean
from kedro_dagster.utils import is_valid_dagster_name

__all__ = ["default_config", "load_config", "validate_config"]


def default_config(pipeline_names: Iterable[str]) -> KedroDagsterConfig:
    """The configuration used without a ``dagster.yml``: one in-process job per pipeline."""
    return KedroDagsterConfig(
        jobs={
            name: JobOptions(pipeline=PipelineOptions(pipeline_name=name))
            for name in sorted(pipeline_names)
            if is_valid_dagster_name(name)
        }
    )


def _describe_files(files: list[Path]) -> str:
    return " + ".join(str(f) for f in files) if files else "dagster.yml"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a model accepts at ``loc`` (for 'unknown key' hints), best effort."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                continue
            annotation = field.annotation
            args = getattr(annotation, "__args__", ())
            models = [
                a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)
            ]
            current = models[0] if models else None
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _error_from_validation(exc: ValidationError, files: list[Path]) -> KedroDagsterConfigError:
    messages = []
    first_loc: tuple[Any, ...] = ()
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        first_loc = first_loc or loc
        where = ".".join(loc) or "(top level)"
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(KedroDagsterConfig, loc)
            hint = did_you_mean(loc[-1], allowed) if allowed else ""
            known = f" Allowed keys here: {', '.join(allowed)}." if allowed else ""
            messages.append(
                f"'{where}': unknown key '{loc[-1]}'.{hint}{known} Remove or rename it."
            )
        elif error["type"] == "missing":
            messages.append(f"'{where}': required key is missing; add it.")
        else:
            got = error.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            msg = error["msg"].removeprefix("Value error, ")
            messages.append(f"'{where}': {msg}{shown}.")
    return KedroDagsterConfigError(
        "Invalid dagster.yml:\n  - " + "\n  - ".join(messages),
        file=_describe_files(files),
        key=first_loc,
    )


def validate_config(
    raw: Mapping[str, Any],
    *,
    pipeline_names: Iterable[str],
    files: list[Path] | None = None,
) -> KedroDagsterConfig:
    """Validate a ``dagster.yml`` mapping and its cross references.

    Parameters
    ----------
    raw : Mapping
        The merged content of ``dagster.yml``.
    pipeline_names : Iterable of str
        The registered pipelines, to check ``pipeline_name``.
    files : list of Path, optional
        The files ``raw`` comes from, named in error messages.

    Returns
    -------
    KedroDagsterConfig

    Raises
    ------
    KedroDagsterConfigError
        Naming the file, the key path and what to do.
    """
    files = files or []
    where = _describe_files(files)
    if not isinstance(raw, Mapping):
        raise KedroDagsterConfigError(
            "dagster.yml must be a mapping with the sections jobs, executors, schedules, loggers.",
            file=where,
        )
    try:
        config = KedroDagsterConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise _error_from_validation(exc, files) from None

    pipelines = set(pipeline_names)
    executors = set(config.executors) | set(BUILTIN_EXECUTORS)
    for job_name, job in config.jobs.items():
        key = ("jobs", job_name)
        if not is_valid_dagster_name(job_name):
            raise KedroDagsterConfigError(
                f"Job name '{job_name}' is not valid in Dagster: use only letters, digits and "
                "underscores.",
                file=where,
                key=key,
            )
        if job.pipeline.pipeline_name not in pipelines:
            name = job.pipeline.pipeline_name
            raise KedroDagsterConfigError(
                f"Job '{job_name}' runs pipeline '{name}', which is not registered."
                + did_you_mean(name, pipelines)
                + f" Registered pipelines: {', '.join(sorted(pipelines))}.",
                file=where,
                key=(*key, "pipeline", "pipeline_name"),
            )
        _check_reference(job.executor, executors, "executor", "executors", where, key)
        _check_reference(job.schedule, set(config.schedules), "schedule", "schedules", where, key)
        for index, logger in enumerate(job.loggers):
            if logger not in config.loggers:
                raise KedroDagsterConfigError(
                    f"Job '{job_name}' names logger '{logger}', which is not defined."
                    + did_you_mean(logger, config.loggers)
                    + " Declare it under 'loggers' or remove it from the job.",
                    file=where,
                    key=(*key, "loggers", index),
                )
    return config


def _check_reference(
    name: str | None,
    known: set[str],
    what: str,
    section: str,
    where: str,
    key: tuple[str, ...],
) -> None:
    if name is None or name in known:
        return
    raise KedroDagsterConfigError(
        f"Job '{key[-1]}' names {what} '{name}', which is not defined."
        + did_you_mean(name, known)
        + f" Declare it under '{section}' or pick one of: {', '.join(sorted(known)) or '(none)'}.",
        file=where,
        key=(*key, what),
    )


def load_config(project: Any) -> KedroDagsterConfig:
    """Read and validate the ``dagster.yml`` of a :class:`~kedro_dagster.project.KedroProject`.

    Without any ``dagster.yml`` every registered pipeline becomes an in-process job.
    """
    files = project.config_files("dagster")
    pipeline_names = list(project.pipelines)
    if not files:
        return default_config(pipeline_names)
    return validate_config(project.dagster_config, pipeline_names=pipeline_names, files=files)
