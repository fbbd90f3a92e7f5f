"""``KedroProjectTranslator.to_dagster()``: the code location shape of kedro-dagster 0.x.

Projects set up with kedro-dagster 0.x have a generated ``definitions.py`` that builds its own
``dg.Definitions`` from ``translator.to_dagster()``'s ``named_*`` mappings, adds an
``io_manager`` resource and a default executor. This module gives that file what it reads,
built from :meth:`KedroProjectTranslator.to_definitions`: the jobs keep the executors, loggers
and resources they were built with, so the file's additions only reach what they reached in
0.x (MemoryDatasets' default IO manager, jobs without an executor: none here).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetsDefinition,
    AssetSpec,
    ExecutorDefinition,
    JobDefinition,
    LoggerDefinition,
    ScheduleDefinition,
    SensorDefinition,
)

from kedro_dagster._dagster_internals import default_loggers
from kedro_dagster.config import load_config
from kedro_dagster.config.notices import warn_once
from kedro_dagster.project import KedroProject

if TYPE_CHECKING:
    from kedro_dagster.translation.project import KedroProjectTranslator

__all__ = ["DagsterCodeLocation", "code_location"]


@dataclass(frozen=True)
class DagsterCodeLocation:
    """Every Dagster definition of a Kedro project, by name (kedro-dagster 0.x's shape).

    Attributes
    ----------
    named_assets : dict of str to AssetsDefinition or AssetSpec
        Assets and asset checks by node (op) name; external assets by asset key.
    named_resources : dict of str to ResourceDefinition
        Every resource the jobs and assets are bound to, by resource key.
    named_jobs : dict of str to JobDefinition
        Jobs by name, each with its executor, loggers and resources.
    named_schedules : dict of str to ScheduleDefinition
        Schedules by Dagster name (``<job>__<schedule>``).
    named_sensors : dict of str to SensorDefinition
    named_executors : dict of str to ExecutorDefinition
        The executors of ``dagster.yml`` (and the built-in names) the jobs use, by name.
    named_loggers : dict of str to LoggerDefinition
        The loggers of ``dagster.yml`` the jobs use, by name.
    """

    named_assets: dict[str, AssetsDefinition | AssetSpec] = field(default_factory=dict)
    named_resources: dict[str, Any] = field(default_factory=dict)
    named_jobs: dict[str, JobDefinition] = field(default_factory=dict)
    named_schedules: dict[str, ScheduleDefinition] = field(default_factory=dict)
    named_sensors: dict[str, SensorDefinition] = field(default_factory=dict)
    named_executors: dict[str, ExecutorDefinition] = field(default_factory=dict)
    named_loggers: dict[str, LoggerDefinition] = field(default_factory=dict)


def _env_notice(given: str, kedro_env: str | None) -> str:
    """The warning for an ``env`` passed to ``KedroProjectTranslator`` by a 0.x file."""
    if kedro_env and kedro_env != given:
        used = f"KEDRO_ENV='{kedro_env}' (from --env or the environment) is used instead"
    else:
        used = f"environment '{given}' is used (--env / KEDRO_ENV naming another would win)"
    return (
        f"definitions.py builds KedroProjectTranslator(env='{given}') and calls to_dagster(), "
        f"the kedro-dagster 0.x template: {used}. Regenerate the file with "
        "`kedro dagster init --force` (the Kedro environment then comes from --env / "
        "KEDRO_ENV only); see the 'Upgrading from 0.x' page of the docs."
    )


def code_location(translator: KedroProjectTranslator) -> DagsterCodeLocation:
    """Translate the project of ``translator`` into a :class:`DagsterCodeLocation`.

    An ``env`` given to the translator is honoured unless ``KEDRO_ENV`` names another one
    (``kedro dagster dev --env prod`` must not deploy the ``local`` a 0.x file hard-codes);
    either way it is said once per command (step processes stay silent).
    """
    if translator.env:
        kedro_env = os.environ.get("KEDRO_ENV")
        warn_once(_env_notice(translator.env, kedro_env), inherited=True)
        if kedro_env and kedro_env != translator.env:
            translator = copy.copy(translator)
            translator.env = kedro_env
    defs = translator.to_definitions()
    jobs = {job.name: job for job in defs.jobs or () if isinstance(job, JobDefinition)}
    assets = list(defs.assets or ())
    return DagsterCodeLocation(
        named_assets=_named_assets(assets),
        named_resources=_named_resources(jobs.values(), assets),
        named_jobs=jobs,
        named_schedules={
            s.name: s for s in defs.schedules or () if isinstance(s, ScheduleDefinition)
        },
        named_sensors={s.name: s for s in defs.sensors or () if isinstance(s, SensorDefinition)},
        named_executors=_named_executors(translator, jobs),
        named_loggers=_named_loggers(jobs.values()),
    )


def _named_assets(assets: Iterable[Any]) -> dict[str, AssetsDefinition | AssetSpec]:
    named: dict[str, AssetsDefinition | AssetSpec] = {}
    for asset in assets:
        if isinstance(asset, AssetSpec):
            name = asset.key.to_user_string()
        elif isinstance(asset, AssetsDefinition):
            name = asset.node_def.name if asset.is_executable else asset.key.to_user_string()
        else:
            continue
        named[name] = asset
    return named


def _named_resources(jobs: Iterable[JobDefinition], assets: Iterable[Any]) -> dict[str, Any]:
    """The resources the jobs are bound to that no asset is bound to.

    A 0.x file passes them as ``Definitions`` resources. Every job and asset is already bound
    to all it needs (a job's bindings win over ``Definitions`` resources, so each job keeps its
    own ``kedro_run``), and Dagster refuses a ``Definitions`` resource under a key an asset
    is bound to (``io_manager`` excepted): those keys, and the resources requiring them, are
    left out.
    """
    on_assets = {
        key
        for asset in assets
        if isinstance(asset, AssetsDefinition)
        for key in asset.resource_defs
    }
    named: dict[str, Any] = {}
    for job in jobs:
        for key, resource in job.resource_defs.items():
            if key not in on_assets and key != "io_manager":
                named.setdefault(key, resource)
    # Dagster also checks what Definitions resources require: drop those needing a left-out
    # key (the memory IO manager needs `kedro_run`), until none does.
    while missing := [
        key
        for key, resource in named.items()
        if not set(getattr(resource, "required_resource_keys", ())) <= named.keys()
    ]:
        for key in missing:
            del named[key]
    return named


def _named_executors(
    translator: KedroProjectTranslator, jobs: Mapping[str, JobDefinition]
) -> dict[str, ExecutorDefinition]:
    """Each executor a job uses, by its ``dagster.yml`` name (the job's own definition).

    The configuration is read again (cheap next to the translation: Kedro caches the
    project's pipelines) because the jobs only know their executor's Dagster kind.
    """
    project = KedroProject.load(translator.project_path, translator.env)
    config = load_config(project)
    prefix = f"{translator.namespace}__" if translator.namespace else ""
    named: dict[str, ExecutorDefinition] = {}
    for job_name, job_options in config.jobs.items():
        job = jobs.get(prefix + job_name)
        if job is not None and job.executor_def is not None:
            named.setdefault(job_options.executor or "in_process", job.executor_def)
    return named


def _named_loggers(jobs: Iterable[JobDefinition]) -> dict[str, LoggerDefinition]:
    """The ``dagster.yml`` loggers the jobs use (Dagster's own ``console`` left out)."""
    builtin = set(default_loggers())
    named: dict[str, LoggerDefinition] = {}
    for job in jobs:
        for name, logger_def in job.loggers.items():
            if name not in builtin:
                named.setdefault(name, logger_def)
    return named
