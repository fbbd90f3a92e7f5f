"""Executor options to Dagster executor definitions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

from kedro_dagster.config.models import (
    BaseExecutorOptions,
    DockerExecutorOptions,
    InProcessExecutorOptions,
    MultiprocessExecutorOptions,
)
from kedro_dagster.errors import KedroDagsterConfigError

__all__ = ["ExecutorCreator"]


def _retries(options: BaseExecutorOptions) -> dict[str, Any]:
    return {options.retries: {}}


def _in_process(options: InProcessExecutorOptions) -> ExecutorDefinition:
    return in_process_executor.configured({"retries": _retries(options)})


def _multiprocess(options: MultiprocessExecutorOptions) -> ExecutorDefinition:
    config: dict[str, Any] = {"retries": _retries(options)}
    if options.max_concurrent is not None:
        config["max_concurrent"] = options.max_concurrent
    if options.start_method is not None:
        config["start_method"] = {options.start_method: {}}
    return multiprocess_executor.configured(config)


def _docker(options: DockerExecutorOptions) -> ExecutorDefinition:
    try:
        from dagster_docker import docker_executor
    except ImportError:
        raise KedroDagsterConfigError(
            "The 'docker_executor' executor needs dagster-docker: "
            "pip install 'kedro-dagster[docker]'."
        ) from None
    config: dict[str, Any] = {"retries": _retries(options)}
    for key in ("image", "network", "networks", "container_kwargs", "env_vars", "max_concurrent"):
        value = getattr(options, key)
        if value is not None:
            config[key] = value
    if isinstance(options.registry, str):
        config["registry"] = {"url": options.registry}
    elif options.registry is not None:
        config["registry"] = dict(options.registry)
    return docker_executor.configured(config)


class ExecutorCreator:
    """Creates one Dagster executor definition per named executor options.

    Executor kinds map to Dagster's own executors (``in_process_executor``,
    ``multiprocess_executor``); definitions are created once and shared by jobs.
    """

    _BUILDERS: dict[type[BaseExecutorOptions], Callable[[Any], ExecutorDefinition]] = {
        InProcessExecutorOptions: _in_process,
        MultiprocessExecutorOptions: _multiprocess,
        DockerExecutorOptions: _docker,
    }

    def __init__(self) -> None:
        self._cache: dict[BaseExecutorOptions, ExecutorDefinition] = {}

    def create(self, options: BaseExecutorOptions) -> ExecutorDefinition:
        """The Dagster executor definition for ``options``.

        Parameters
        ----------
        options : BaseExecutorOptions
            One executor kind's options.

        Returns
        -------
        ExecutorDefinition
        """
        cached = self._cache.get(options)
        if cached is None:
            cached = self._BUILDERS[type(options)](options)
            self._cache[options] = cached
        return cached
