"""Executor options to Dagster executor definitions.

Every kind maps to Dagster's own executor, configured (``.configured``) with the options of
``dagster.yml``. Executors of the integration packages (dagster-dask, dagster-celery,
dagster-docker, dagster-k8s...) are imported only when a job uses them; a missing package is
a :class:`~kedro_dagster.errors.KedroDagsterConfigError` naming the extra to install.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from dagster import (
    Backoff,
    ExecutorDefinition,
    Jitter,
    RetryPolicy,
    in_process_executor,
    multiprocess_executor,
)

from kedro_dagster.config.models import (
    BaseExecutorOptions,
    CeleryDockerExecutorOptions,
    CeleryExecutorOptions,
    CeleryK8sJobExecutorOptions,
    DaskExecutorOptions,
    DockerExecutorOptions,
    InProcessExecutorOptions,
    K8sJobExecutorOptions,
    MultiprocessExecutorOptions,
    ParallelExecutorOptions,
)
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.runtime.preload import FORKSERVER_PRELOAD
from kedro_dagster.utils import format_node_name

__all__ = ["FORKSERVER_PRELOAD", "ExecutorCreator", "dagster_executor", "executor_config"]

#: Options that are kedro-dagster's own, never passed to Dagster's executors.
_OWN_OPTIONS = {"retries", "retry_policy", "start_method", "preload_modules"}
_DOCKER_CONTAINER_KEYS = ("image", "registry", "network", "env_vars", "container_kwargs")
_CELERY_KEYS = ("broker", "backend", "include", "config_source")


def _integration(options: BaseExecutorOptions, module: str, name: str) -> ExecutorDefinition:
    """Dagster's executor ``name`` of ``module``, or a config error naming the extra."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        package = module.replace("_", "-")
        raise KedroDagsterConfigError(
            f"The '{options.kind}' executor needs {package}, which is not installed "
            f"({exc}). Install it with: pip install 'kedro-dagster[{options.extra}]'."
        ) from None


def _retries(options: BaseExecutorOptions) -> dict[str, Any]:
    return {options.retries: {}}


def _dump(options: BaseExecutorOptions, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The options that are set, as Dagster config (``None`` means Dagster's default)."""
    data = options.model_dump(exclude_none=True, exclude=_OWN_OPTIONS)
    if keys is not None:
        data = {key: value for key, value in data.items() if key in keys}
    return data


def _env_list(environment: list[str] | dict[str, Any]) -> list[str]:
    if isinstance(environment, dict):
        return [f"{key}={value}" for key, value in environment.items()]
    return [str(item) for item in environment]


def _docker_image(options: DockerExecutorOptions | CeleryDockerExecutorOptions) -> str | None:
    """The step image; a registry given as a host qualifies the image name with it."""
    image, registry = options.image, options.registry
    if isinstance(registry, str) and image is not None and not image.startswith(f"{registry}/"):
        image = f"{registry}/{image}"
    return image


def _docker_container(
    options: DockerExecutorOptions | CeleryDockerExecutorOptions,
) -> dict[str, Any]:
    """The container keys shared by the Docker executors, normalized for Dagster."""
    config = _dump(options, _DOCKER_CONTAINER_KEYS)
    config.pop("registry", None)
    image = _docker_image(options)
    if image is not None:
        config["image"] = image
    if options.registry is not None and not isinstance(options.registry, str):
        config["registry"] = options.registry.model_dump()
    return config


def _in_process(options: InProcessExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    return {"retries": _retries(options)}


def _start_method(
    options: MultiprocessExecutorOptions, preload: list[str]
) -> dict[str, dict[str, Any]]:
    if options.start_method != "forkserver":
        return {options.start_method: {}}
    modules = options.preload_modules if options.preload_modules is not None else preload
    return {"forkserver": {"preload_modules": list(modules)}}


def _multiprocess(options: MultiprocessExecutorOptions, preload: list[str]) -> dict[str, Any]:
    return {
        **_dump(options),
        "retries": _retries(options),
        "start_method": _start_method(options, preload),
    }


def _parallel(options: ParallelExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    return {**_dump(options), "retries": _retries(options), "start_method": options.start_method}


def _dask(options: DaskExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    # Dagster's dask executor has no `retries` key: it never retries.
    return {"cluster": options.cluster.model_dump(exclude_none=True)}


def _docker(options: DockerExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    config = {k: v for k, v in _dump(options).items() if k not in _DOCKER_CONTAINER_KEYS}
    config.update(_docker_container(options), retries=_retries(options))
    # Dagster refuses `network` with `networks`, and `environment` in `container_kwargs`:
    # both are merged into their list form (all networks joined, all variables set).
    networks = [*([options.network] if options.network else []), *(options.networks or [])]
    config.pop("network", None)
    if networks:
        config["networks"] = list(dict.fromkeys(networks))
    kwargs = dict(options.container_kwargs or {})
    environment = kwargs.pop("environment", None)
    if environment is not None:
        config["env_vars"] = [*(options.env_vars or []), *_env_list(environment)]
    if options.container_kwargs is not None:
        config["container_kwargs"] = kwargs
    return config


def _celery(options: CeleryExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    return {**_dump(options, _CELERY_KEYS), "retries": _retries(options)}


def _celery_docker(options: CeleryDockerExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    docker = _docker_container(options)
    # celery-docker copies `env_vars` by name from the worker's environment; `NAME=value`
    # entries go to the container's `environment` instead.
    names = [item for item in options.env_vars or [] if "=" not in item]
    values = [item for item in options.env_vars or [] if "=" in item]
    docker.pop("env_vars", None)
    if names:
        docker["env_vars"] = names
    if values:
        kwargs = dict(docker.get("container_kwargs") or {})
        environment = kwargs.get("environment") or []
        kwargs["environment"] = (
            {**environment, **dict(item.split("=", 1) for item in values)}
            if isinstance(environment, dict)
            else [*environment, *values]
        )
        docker["container_kwargs"] = kwargs
    return {**_celery(options, _preload), "docker": docker}


def _k8s_job(options: K8sJobExecutorOptions | CeleryK8sJobExecutorOptions) -> dict[str, Any]:
    config = _dump(options)
    for key in _CELERY_KEYS:
        config.pop(key, None)
    if options.per_step_k8s_config is not None:
        # By Kedro node name here: `executor_config` maps them to op names.
        config["per_step_k8s_config"] = {
            step: step_config.model_dump(exclude_none=True)
            for step, step_config in options.per_step_k8s_config.items()
        }
    return config


def _k8s(options: K8sJobExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    return {**_k8s_job(options), "retries": _retries(options)}


def _celery_k8s(options: CeleryK8sJobExecutorOptions, _preload: list[str]) -> dict[str, Any]:
    return {**_k8s_job(options), **_celery(options, _preload)}


#: Kind -> (module, executor name, config builder ``(options, preload) -> config``).
_EXECUTORS: dict[type[BaseExecutorOptions], tuple[str, str, Callable[[Any, list[str]], Any]]] = {
    InProcessExecutorOptions: ("dagster", "in_process_executor", _in_process),
    MultiprocessExecutorOptions: ("dagster", "multiprocess_executor", _multiprocess),
    ParallelExecutorOptions: ("kedro_dagster.runtime.worker_pool", "parallel_executor", _parallel),
    DaskExecutorOptions: ("dagster_dask", "dask_executor", _dask),
    DockerExecutorOptions: ("dagster_docker", "docker_executor", _docker),
    CeleryExecutorOptions: ("dagster_celery", "celery_executor", _celery),
    CeleryDockerExecutorOptions: (
        "dagster_celery_docker",
        "celery_docker_executor",
        _celery_docker,
    ),
    K8sJobExecutorOptions: ("dagster_k8s", "k8s_job_executor", _k8s),
    CeleryK8sJobExecutorOptions: ("dagster_celery_k8s", "celery_k8s_job_executor", _celery_k8s),
}
_CORE = {"in_process_executor": in_process_executor, "multiprocess_executor": multiprocess_executor}


def executor_config(
    options: BaseExecutorOptions,
    preload: list[str] | None = None,
    op_name: Callable[[str], str] = format_node_name,
) -> Any:
    """The config of Dagster's executor for ``options`` (what ``.configured`` receives).

    Parameters
    ----------
    options : BaseExecutorOptions
        One executor kind's options.
    preload : list of str, optional
        Modules the multiprocess forkserver imports when ``preload_modules`` is unset.
    op_name : Callable, optional
        The op name of a Kedro node name (or of an op name), for per-step settings.

    Returns
    -------
    dict
    """
    _module, _name, build = _EXECUTORS[type(options)]
    config = build(options, preload or [])
    steps = config.get("per_step_k8s_config") if isinstance(config, dict) else None
    if steps:
        # Steps are ops: Kedro node names are accepted and mapped to op names.
        config["per_step_k8s_config"] = {op_name(step): value for step, value in steps.items()}
    return config


def dagster_executor(options: BaseExecutorOptions) -> ExecutorDefinition:
    """Dagster's (unconfigured) executor definition for ``options``' kind."""
    module, name, _build = _EXECUTORS[type(options)]
    if name in _CORE:
        return _CORE[name]
    if options.extra is None:
        # kedro-dagster's own executors: always installed, imported only when used.
        return getattr(importlib.import_module(module), name)
    return _integration(options, module, name)


class ExecutorCreator:
    """Creates one Dagster executor definition per named executor options.

    Executor kinds map to Dagster's own executors (``in_process_executor``,
    ``multiprocess_executor``, kedro-dagster's ``parallel_executor`` (warm worker processes),
    ``dask_executor``, ``docker_executor``, ``celery_executor``,
    ``celery_docker_executor``, ``k8s_job_executor``, ``celery_k8s_job_executor``);
    definitions are created once and shared by jobs.

    Parameters
    ----------
    package_name : str, optional
        The Kedro project's package. Its modules are not preloaded by the multiprocess
        executor's forkserver (see ``FORKSERVER_PRELOAD``); accepted for compatibility.
    """

    def __init__(self, package_name: str | None = None) -> None:
        self._cache: dict[tuple[type, str], ExecutorDefinition] = {}
        self._preload = list(FORKSERVER_PRELOAD)

    def create(
        self, options: BaseExecutorOptions, op_name: Callable[[str], str] = format_node_name
    ) -> ExecutorDefinition:
        """The Dagster executor definition for ``options``.

        Parameters
        ----------
        options : BaseExecutorOptions
            One executor kind's options.
        op_name : Callable, optional
            The op name of a Kedro node name, for per-step settings (one per translation).

        Returns
        -------
        ExecutorDefinition

        Raises
        ------
        KedroDagsterConfigError
            When the kind's integration package (e.g. dagster-dask) is not installed.
        """
        key = (type(options), options.model_dump_json())
        cached = self._cache.get(key)
        if cached is None:
            executor_def = dagster_executor(options)
            cached = executor_def.configured(executor_config(options, self._preload, op_name))
            self._cache[key] = cached
        return cached

    @staticmethod
    def retry_policy(options: BaseExecutorOptions) -> RetryPolicy | None:
        """Dagster's ``RetryPolicy`` of every op of a job using ``options``, if any.

        Parameters
        ----------
        options : BaseExecutorOptions
            One executor kind's options.

        Returns
        -------
        RetryPolicy or None
            ``None`` when the options set no ``retry_policy``.
        """
        policy = options.retry_policy
        if policy is None:
            return None
        return RetryPolicy(
            max_retries=policy.max_retries,
            delay=policy.delay,
            backoff=Backoff[policy.backoff.upper()] if policy.backoff else None,
            jitter=Jitter[policy.jitter.upper()] if policy.jitter else None,
        )
