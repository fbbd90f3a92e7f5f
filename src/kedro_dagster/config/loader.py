"""Load and check ``dagster.yml``: every mistake names the file, the key and the remedy."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kedro_dagster._compat import is_class
from kedro_dagster.config.legacy import upgrade_legacy_keys
from kedro_dagster.config.models import (
    BUILTIN_EXECUTORS,
    JobOptions,
    KedroDagsterConfig,
    PipelineOptions,
)
from kedro_dagster.config.notices import names, warn_once
from kedro_dagster.errors import KedroDagsterConfigError, did_you_mean
from kedro_dagster.utils import is_valid_dagster_name

__all__ = ["default_config", "load_config", "validate_config"]


def default_config(
    pipeline_names: Iterable[str], empty_pipelines: Collection[str] = ()
) -> KedroDagsterConfig:
    """The configuration used without a ``dagster.yml``: one in-process job per pipeline.

    A pipeline without nodes (``__default__`` of a fresh ``kedro new``) gets no job, as
    ``kedro run`` refuses to run it; a warning says so once.
    """
    skipped = sorted(name for name in pipeline_names if name in empty_pipelines)
    if skipped:
        subject = (
            f"Pipeline '{skipped[0]}' has"
            if len(skipped) == 1
            else f"Pipelines {names(skipped)} have"
        )
        warn_once(
            f"{subject} no nodes: no job is deployed for it (`kedro run` refuses a pipeline "
            "without nodes). Add nodes in pipeline_registry.py to get its job."
        )
    return KedroDagsterConfig(
        jobs={
            name: JobOptions(pipeline=PipelineOptions(pipeline_name=name))
            for name in sorted(pipeline_names)
            if is_valid_dagster_name(name) and name not in empty_pipelines
        }
    )


def _describe_files(files: list[Path]) -> str:
    return " + ".join(str(f) for f in files) if files else "dagster.yml"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a model accepts at ``loc`` (for 'unknown key' hints), best effort."""
    current: Any = model
    for part in loc[:-1]:
        if is_class(current) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                continue
            annotation = field.annotation
            args = getattr(annotation, "__args__", ())
            models = [a for a in (annotation, *args) if is_class(a) and issubclass(a, BaseModel)]
            current = models[0] if models else None
        if current is None:
            return []
    if is_class(current) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _error_from_validation(exc: ValidationError, files: list[Path]) -> KedroDagsterConfigError:
    problems: list[tuple[tuple[str, ...], str]] = []
    for error in exc.errors():
        loc = tuple(str(p) for p in error["loc"])
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(KedroDagsterConfig, loc)
            hint = did_you_mean(loc[-1], allowed) if allowed else ""
            known = f" Allowed keys here: {', '.join(allowed)}." if allowed else ""
            text = f"unknown key '{loc[-1]}'.{hint}{known} Remove or rename it."
        elif error["type"] == "missing":
            text = "required key is missing; add it."
        else:
            got = error.get("input")
            shown = f" (got {got!r})" if not isinstance(got, (dict, list)) else ""
            text = f"{error['msg'].removeprefix('Value error, ')}{shown}."
        problems.append((loc, text))
    if len(problems) == 1:  # the key is in the error's prefix: say it once
        loc, text = problems[0]
        return KedroDagsterConfigError(text, file=_describe_files(files), key=loc)
    listed = [f"'{'.'.join(loc) or '(top level)'}': {text}" for loc, text in problems]
    return KedroDagsterConfigError(
        f"{len(listed)} problems in dagster.yml:\n  - " + "\n  - ".join(listed),
        file=_describe_files(files),
    )


NAMESPACE_PLACEHOLDER = "{namespace}"
_DEFAULT_PIPELINE = "__default__"


def _expand_job_factories(
    config: KedroDagsterConfig,
    namespaces_of: Callable[[str], list[str]],
    where: str,
) -> KedroDagsterConfig:
    """Expand ``"{namespace}_job"`` entries into one job per namespace of their pipeline."""
    if not any(NAMESPACE_PLACEHOLDER in name for name in config.jobs):
        return config
    jobs: dict[str, JobOptions] = {}
    explicit = {name for name in config.jobs if NAMESPACE_PLACEHOLDER not in name}
    for name, job in config.jobs.items():
        if NAMESPACE_PLACEHOLDER not in name:
            jobs[name] = job
            continue
        key = ("jobs", name)
        if job.pipeline.node_namespaces:
            raise KedroDagsterConfigError(
                f"Job factory '{name}' sets 'node_namespaces' itself; a job named with "
                f"'{NAMESPACE_PLACEHOLDER}' gets one namespace per job. Remove the filter.",
                file=where,
                key=(*key, "pipeline", "node_namespaces"),
            )
        namespaces = namespaces_of(job.pipeline.pipeline_name)
        if not namespaces:
            raise KedroDagsterConfigError(
                f"Job factory '{name}': pipeline '{job.pipeline.pipeline_name}' has no "
                "namespaced nodes to make jobs of. Name the job without "
                f"'{NAMESPACE_PLACEHOLDER}' or pick a pipeline with namespaces.",
                file=where,
                key=key,
            )
        for namespace in namespaces:
            job_name = name.replace(NAMESPACE_PLACEHOLDER, namespace)
            if job_name in explicit or job_name in jobs:
                raise KedroDagsterConfigError(
                    f"Job factory '{name}' makes job '{job_name}', which is already defined. "
                    "Rename one of them.",
                    file=where,
                    key=key,
                )
            pipeline = job.pipeline.model_copy(update={"node_namespaces": [namespace]})
            jobs[job_name] = job.model_copy(update={"pipeline": pipeline})
    return config.model_copy(update={"jobs": jobs})


def validate_config(
    raw: Mapping[str, Any],
    *,
    pipeline_names: Iterable[str],
    files: list[Path] | None = None,
    namespaces_of: Callable[[str], list[str]] | None = None,
    empty_pipelines: Collection[str] = (),
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
    namespaces_of : Callable, optional
        Top-level node namespaces of a pipeline, by pipeline name; expands job factories
        (jobs named with ``{namespace}``) into one job per namespace.
    empty_pipelines : Collection of str, optional
        Registered pipelines without nodes: no default job is made for them.

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
    raw, legacy_notices = upgrade_legacy_keys(raw, where)
    for notice in legacy_notices:
        warn_once(notice, inherited=True)
    try:
        config = KedroDagsterConfig.model_validate(raw)
    except ValidationError as exc:
        raise _error_from_validation(exc, files) from None

    pipelines = set(pipeline_names)
    # Defaults that change what is deployed are said once the file is known to be valid.
    notices: list[str] = []
    if not config.jobs:
        config = config.model_copy(update={"jobs": default_config(pipelines, empty_pipelines).jobs})
        notices.append(
            f"{where} defines no jobs: deploying one job per registered pipeline, as without "
            "dagster.yml. To choose the jobs, add a `jobs:` section, e.g. "
            "`jobs: {my_job: {pipeline: {pipeline_name: __default__}}}`."
        )
    else:
        notices.extend(_jobs_without_pipeline(config, pipelines, where))
    for job_name, job in config.jobs.items():
        if job.pipeline.pipeline_name not in pipelines:
            name = job.pipeline.pipeline_name
            raise KedroDagsterConfigError(
                f"Job '{job_name}' runs pipeline '{name}', which is not registered."
                + did_you_mean(name, pipelines)
                + f" Registered pipelines: {', '.join(sorted(pipelines))}.",
                file=where,
                key=("jobs", job_name, "pipeline", "pipeline_name"),
            )
    if namespaces_of is not None:
        config = _expand_job_factories(config, namespaces_of, where)
    executors = set(config.executors) | set(BUILTIN_EXECUTORS)
    for job_name, job in config.jobs.items():
        key = ("jobs", job_name)
        if not is_valid_dagster_name(job_name):
            raise KedroDagsterConfigError(
                f"Job name '{job_name}' is not valid in Dagster: use only letters, digits and "
                "underscores, and not a name Dagster reserves (a Python keyword, 'input', "
                "'output', 'type', 'config', 'context'...).",
                file=where,
                key=key,
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
    used = {job.schedule for job in config.jobs.values()}
    unused = [name for name in config.schedules if name not in used]
    if unused:
        subject = (
            f"Schedule '{unused[0]}' in {where} is used by no job, so it is"
            if len(unused) == 1
            else f"Schedules {names(unused)} in {where} are used by no job, so they are"
        )
        notices.append(
            f"{subject} not deployed: add `schedule: {unused[0] if len(unused) == 1 else '<name>'}`"
            " to a job."
        )
    for notice in notices:
        warn_once(notice)
    return config


def _jobs_without_pipeline(
    config: KedroDagsterConfig, pipelines: set[str], where: str
) -> list[str]:
    """The notice for jobs without a ``pipeline`` key, which run ``__default__``."""
    missing = [
        name
        for name, job in config.jobs.items()
        if "pipeline" not in job.model_fields_set and name != _DEFAULT_PIPELINE
    ]
    if not missing:
        return []
    if len(missing) == 1:
        job = missing[0]
        remedy = (
            f"add `pipeline: {{pipeline_name: {job}}}` to run pipeline '{job}'"
            if job in pipelines
            else "add `pipeline: {pipeline_name: <name>}` to choose another"
        )
        return [
            f"Job '{job}' in {where} has no `pipeline`: it runs the '{_DEFAULT_PIPELINE}' "
            f"pipeline; {remedy}."
        ]
    return [
        f"Jobs {names(missing)} in {where} have no `pipeline`: they run the "
        f"'{_DEFAULT_PIPELINE}' pipeline; add `pipeline: {{pipeline_name: <name>}}` to each "
        "to choose another."
    ]


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
    pipelines = project.pipelines
    empty = {name for name, pipeline in pipelines.items() if not pipeline.nodes}
    if not files:
        return default_config(list(pipelines), empty)

    def namespaces_of(pipeline_name: str) -> list[str]:
        nodes = pipelines[pipeline_name].nodes
        return sorted({node.namespace.split(".")[0] for node in nodes if node.namespace})

    return validate_config(
        project.dagster_config,
        pipeline_names=list(pipelines),
        files=files,
        namespaces_of=namespaces_of,
        empty_pipelines=empty,
    )
