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


def _in_process(options: InProcessExecutorOptions, _preload: list[str]) -> ExecutorDefinition:
    return in_process_executor.configured({"retries": _retries(options)})


def _start_method(
    options: MultiprocessExecutorOptions, preload: list[str]
) -> dict[str, dict[str, Any]]:
    if options.start_method != "forkserver":
        return {options.start_method: {}}
    modules = options.preload_modules if options.preload_modules is not None else preload
    return {"forkserver": {"preload_modules": list(modules)}}


def _multiprocess(options: MultiprocessExecutorOptions, preload: list[str]) -> ExecutorDefinition:
    config: dict[str, Any] = {
        "retries": _retries(options),
        "start_method": _start_method(options, preload),
    }
    if options.max_concurrent is not None:
        config["max_concurrent"] = options.max_concurrent
    return multiprocess_executor.configured(config)


def _docker(options: DockerExecutorOptions, _preload: list[str]) -> ExecutorDefinition:
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
    ``multiprocess_executor``...); definitions are created once and shared by jobs.

    Parameters
    ----------
    package_name : str, optional
        The Kedro project's package: its ``settings`` and ``pipeline_registry`` are preloaded
        by the multiprocess executor's forkserver, so step processes start warm.
    """

    _BUILDERS: dict[type[BaseExecutorOptions], Callable[[Any, list[str]], ExecutorDefinition]] = {
        InProcessExecutorOptions: _in_process,
        MultiprocessExecutorOptions: _multiprocess,
        DockerExecutorOptions: _docker,
    }

    def __init__(self, package_name: str | None = None) -> None:
        self._cache: dict[BaseExecutorOptions, ExecutorDefinition] = {}
        self._preload = ["dagster", "kedro_dagster.translation"]
        if package_name:
            self._preload += [f"{package_name}.settings", f"{package_name}.pipeline_registry"]

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
            cached = self._BUILDERS[type(options)](options, self._preload)
            self._cache[options] = cached
        return cached
