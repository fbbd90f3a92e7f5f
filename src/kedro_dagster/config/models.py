"""Pydantic models of ``dagster.yml``: jobs, executors, schedules and loggers."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

__all__ = [
    "BUILTIN_EXECUTORS",
    "EXECUTOR_OPTIONS",
    "BaseExecutorOptions",
    "CeleryDockerExecutorOptions",
    "CeleryExecutorOptions",
    "CeleryK8sJobExecutorOptions",
    "DaskClusterOptions",
    "DaskExecutorOptions",
    "DaskExistingCluster",
    "DockerExecutorOptions",
    "DockerRegistry",
    "ExecutorOptions",
    "InProcessExecutorOptions",
    "JobOptions",
    "K8sJobExecutorOptions",
    "K8sResources",
    "K8sStepConfig",
    "KedroDagsterConfig",
    "LoggerOptions",
    "MultiprocessExecutorOptions",
    "PerUniqueValue",
    "PipelineOptions",
    "RetryPolicyOptions",
    "ScheduleOptions",
    "TagConcurrencyLimit",
]


class _Options(BaseModel):
    """Base of every options model: unknown keys are errors, values are immutable.

    Validators are built when a model is first used, not when this module is imported: the
    nested models are then built once, inside ``KedroDagsterConfig``'s, instead of once each
    and again in every model containing them (about 40 ms of every definitions load).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _as_list(value: Any) -> Any:
    """Let a single string stand for a one-element list, as a YAML user would write it."""
    return [value] if isinstance(value, str) else value


class PipelineOptions(_Options):
    """Which Kedro pipeline a job runs, and how it is filtered.

    The filters have the semantics of ``kedro run`` (``Pipeline.filter``): a node is kept
    when it meets every given condition.

    Attributes
    ----------
    pipeline_name : str
        Registered pipeline name; ``__default__`` by default.
    node_names, from_nodes, to_nodes, from_inputs, to_outputs, node_namespaces, tags : list of str
        Kedro's filters, as ``--nodes``, ``--from-nodes``, ``--to-nodes``,
        ``--from-inputs``, ``--to-outputs``, ``--namespaces`` and ``--tags``.
        ``node_namespace`` is accepted as an alias of ``node_namespaces``.
    """

    pipeline_name: str = "__default__"
    node_names: list[str] | None = None
    from_nodes: list[str] | None = None
    to_nodes: list[str] | None = None
    from_inputs: list[str] | None = None
    to_outputs: list[str] | None = None
    node_namespaces: list[str] | None = None
    tags: list[str] | None = None

    FILTER_FIELDS: ClassVar[tuple[str, ...]] = (
        "node_names",
        "from_nodes",
        "to_nodes",
        "from_inputs",
        "to_outputs",
        "node_namespaces",
        "tags",
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and "node_namespace" in data:
            data = dict(data)
            if "node_namespaces" in data:
                raise ValueError("give either 'node_namespace' or 'node_namespaces', not both")
            data["node_namespaces"] = data.pop("node_namespace")
        return data

    @field_validator(*FILTER_FIELDS, mode="before")
    @classmethod
    def _single_string_as_list(cls, value: Any) -> Any:
        return _as_list(value)

    def filter_kwargs(self) -> dict[str, list[str]]:
        """The filters that are set, as keyword arguments of ``Pipeline.filter``."""
        return {
            name: value for name in self.FILTER_FIELDS if (value := getattr(self, name)) is not None
        }


class ScheduleOptions(_Options):
    """A cron schedule that jobs can name.

    Attributes
    ----------
    cron_schedule : str
        A cron string, e.g. ``"0 0 * * *"``.
    execution_timezone : str, optional
        IANA timezone the cron string is read in (UTC when unset).
    description : str, optional
        Shown in the Dagster UI.
    metadata : dict, optional
        Extra metadata attached to the schedule.
    default_status : {"STOPPED", "RUNNING"}
        Whether the schedule runs as soon as it is deployed (``RUNNING``) or waits to be
        turned on in the UI or with ``dagster schedule start`` (``STOPPED``, Dagster's
        default). Case-insensitive. A status set in the UI or CLI takes precedence.
    """

    cron_schedule: str
    execution_timezone: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    default_status: Literal["STOPPED", "RUNNING"] = "STOPPED"

    @field_validator("default_status", mode="before")
    @classmethod
    def _upper_status(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cron_schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from kedro_dagster._dagster_internals import is_valid_cron_string

        if not is_valid_cron_string(value):
            raise ValueError(
                f"'{value}' is not a valid cron string; write five fields, "
                "e.g. '0 0 * * *' for every day at midnight"
            )
        return value

    @field_validator("execution_timezone")
    @classmethod
    def _valid_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"'{value}' is not a known IANA timezone, e.g. 'UTC' or 'Europe/Paris'"
            ) from None
        return value


# --- Executors ------------------------------------------------------------------------------
#
# Each kind maps to one of Dagster's executors; its fields are that executor's config keys
# (checked against Dagster's own schema by the tests), plus kedro-dagster's ``retry_policy``.

#: A string, or ``{env: VAR}`` to read it from the environment when the run starts.
StringOrEnv = str | dict[Literal["env"], str]


class RetryPolicyOptions(_Options):
    """Dagster's ``RetryPolicy`` for every op of the jobs using the executor.

    Attributes
    ----------
    max_retries : int
        How many times a failed node is retried (1 by default).
    delay : float, optional
        Seconds to wait before a retry.
    backoff : {"linear", "exponential"}, optional
        How the delay grows with retries.
    jitter : {"full", "plus_minus"}, optional
        Random variation of the delay.
    """

    max_retries: NonNegativeInt = 1
    delay: NonNegativeFloat | None = None
    backoff: Literal["linear", "exponential"] | None = None
    jitter: Literal["full", "plus_minus"] | None = None

    @model_validator(mode="after")
    def _delay_for_backoff(self) -> RetryPolicyOptions:
        for name in ("backoff", "jitter"):
            if getattr(self, name) is not None and self.delay is None:
                raise ValueError(f"'{name}' changes the 'delay' between retries; set 'delay' too")
        return self


class PerUniqueValue(_Options):
    """``{applyLimitPerUniqueValue: true}``: one limit per distinct value of a tag."""

    applyLimitPerUniqueValue: bool  # Dagster's own (camelCase) key


class TagConcurrencyLimit(_Options):
    """A limit on steps running at once among those carrying a tag (per run).

    Attributes
    ----------
    key : str
        Tag key.
    value : str or PerUniqueValue, optional
        Tag value the limit applies to; all values together when unset.
    limit : int
        Most steps with that tag running at once.
    """

    key: str
    value: str | PerUniqueValue | None = None
    limit: NonNegativeInt


class BaseExecutorOptions(_Options):
    """Options shared by every executor kind.

    Attributes
    ----------
    retries : {"enabled", "disabled"}
        Whether Dagster retries steps that ask for it (``RetryPolicy``/``RetryRequested``).
    retry_policy : RetryPolicyOptions, optional
        Retry every failed node of the job this way (Dagster's ``RetryPolicy``).
    """

    kind: ClassVar[str]
    #: The ``pip install`` extra providing the executor, for kinds outside Dagster itself.
    extra: ClassVar[str | None] = None
    retries: Literal["enabled", "disabled"] = "enabled"
    retry_policy: RetryPolicyOptions | None = None

    @model_validator(mode="after")
    def _policy_needs_retries(self) -> BaseExecutorOptions:
        if self.retry_policy is not None and self.retries == "disabled":
            raise ValueError(
                "'retry_policy' needs 'retries: enabled' (retries are disabled); remove one of them"
            )
        return self

    @property
    def in_process(self) -> bool:
        """Whether every step of a run executes in the run's own process."""
        return False


class _StepConcurrencyOptions(BaseExecutorOptions):
    """Per-run step concurrency, for the executors that offer it.

    Attributes
    ----------
    max_concurrent : int, optional
        Most steps running at once in a run.
    tag_concurrency_limits : list of TagConcurrencyLimit, optional
        Limits on steps running at once by op tag, e.g.
        ``[{key: database, value: redshift, limit: 2}]``.
    """

    max_concurrent: PositiveInt | None = None
    tag_concurrency_limits: list[TagConcurrencyLimit] | None = None


class InProcessExecutorOptions(BaseExecutorOptions):
    """Options of Dagster's ``in_process_executor``: steps run one by one in one process.

    This is the default, like ``kedro run``'s ``SequentialRunner``: MemoryDatasets stay in memory.
    """

    kind: ClassVar[str] = "in_process"

    @property
    def in_process(self) -> bool:
        """In-process: MemoryDatasets can stay in memory."""
        return True


class MultiprocessExecutorOptions(_StepConcurrencyOptions):
    """Options of Dagster's ``multiprocess_executor``: one process per step.

    Attributes
    ----------
    max_concurrent : int, optional
        Most steps running at once; Dagster uses the CPU count when unset.
    tag_concurrency_limits : list of TagConcurrencyLimit, optional
        Limits on steps running at once by op tag.
    start_method : {"forkserver", "spawn"}
        How step processes start. ``forkserver`` (the default) forks every step from a server
        that has already imported Dagster's storage, Kedro's framework, pandas and
        kedro-dagster's runtime.
    preload_modules : list of str, optional
        Modules the forkserver imports once, replacing the default list (``FORKSERVER_PRELOAD``
        of ``kedro_dagster.translation.executors``: none of the project's own modules, which
        may start threads when imported, and forking after threads started can deadlock).
    """

    kind: ClassVar[str] = "multiprocess"
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    preload_modules: list[str] | None = None


class ParallelExecutorOptions(BaseExecutorOptions):
    """Options of kedro-dagster's ``parallel`` executor: a pool of warm worker processes.

    Like ``kedro run --runner ParallelRunner``: ``max_workers`` processes start once per run,
    import the project once and then run steps one after another, so a step pays no process
    start-up. MemoryDatasets go through run-scoped storage, as under ``multiprocess``.

    Attributes
    ----------
    max_workers : int, optional
        Worker processes of a run (also the most steps running at once); the CPU count when
        unset.
    start_method : {"forkserver", "spawn", "fork"}, optional
        How the workers start. Unset (the default): as Kedro's ``ParallelRunner`` starts its
        workers, taken in the run's process: ``KEDRO_MP_CONTEXT`` when set, else Python's
        default for the platform (``fork`` on Linux up to Python 3.13, ``forkserver`` from
        3.14, ``spawn`` on macOS and Windows). ``fork``: workers are copies of the run's
        process, with everything loaded, at once; unsafe when a library of the run's process
        has started threads (gRPC, torch, some database clients): a fork copies their locks
        mid-use and can hang. ``forkserver``: forked from a forkserver of the run, with the
        project loaded there once (see ``preload_project``). ``spawn``: each worker imports
        the project and loads its definitions once.
    preload_project : bool
        Under ``forkserver`` (default ``True``): the run starts its own forkserver, which
        imports the project and loads the job's definitions once, before the workers are forked
        from it, so no worker translates the project again (as Kedro's ``ParallelRunner`` forks
        from a process that imported the project). The project's modules are then imported
        before a fork: a module starting threads at import (torch, gRPC) makes it a fork after
        threads, which can hang; ``False`` keeps the project out of the forkserver (each
        worker loads the definitions itself).
    """

    kind: ClassVar[str] = "parallel"
    max_workers: PositiveInt | None = None
    start_method: Literal["forkserver", "spawn", "fork"] | None = None
    preload_project: bool = True


_DASK_CLUSTER_TYPES: tuple[str, ...] = ("existing", "local", "yarn", "ssh", "pbs", "moab")
_DASK_CLUSTER_TYPES += ("sge", "lsf", "slurm", "oar", "kube")


class DaskExistingCluster(_Options):
    """A running Dask scheduler.

    Attributes
    ----------
    address : str or {env: VAR}
        The scheduler's address, e.g. ``tcp://dask-scheduler:8786``.
    """

    address: StringOrEnv


class DaskClusterOptions(_Options):
    """Which Dask cluster runs the steps: exactly one of the fields.

    ``existing`` connects to a running scheduler; the others create a cluster for the run with
    the given keyword arguments (``local``: ``distributed.LocalCluster``; ``yarn``,
    ``ssh``, ``pbs``, ``moab``, ``sge``, ``lsf``, ``slurm``, ``oar``, ``kube``: the
    cluster classes of dask-yarn, distributed, dask-jobqueue and dask-kubernetes).
    """

    existing: DaskExistingCluster | None = None
    local: dict[str, Any] | None = None
    yarn: dict[str, Any] | None = None
    ssh: dict[str, Any] | None = None
    pbs: dict[str, Any] | None = None
    moab: dict[str, Any] | None = None
    sge: dict[str, Any] | None = None
    lsf: dict[str, Any] | None = None
    slurm: dict[str, Any] | None = None
    oar: dict[str, Any] | None = None
    kube: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_cluster(cls, data: Any) -> Any:
        if data is None:
            return {"local": {}}
        if isinstance(data, dict):
            return {kind: {} if opts is None else opts for kind, opts in data.items()} or {
                "local": {}
            }
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> DaskClusterOptions:
        given = [name for name in _DASK_CLUSTER_TYPES if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one cluster type, e.g. "
                "'{existing: {address: tcp://scheduler:8786}}' or '{local: {n_workers: 2}}'; "
                f"types: {', '.join(_DASK_CLUSTER_TYPES)}"
            )
        return self


class DaskExecutorOptions(BaseExecutorOptions):
    """Options of ``dagster_dask.dask_executor``: steps are tasks of a Dask cluster.

    Needs the ``dask`` extra (``pip install 'kedro-dagster[dask]'``). Dask workers import the
    project's ``definitions`` module: install the project (or put its ``src`` on
    ``PYTHONPATH``) where they run.

    Attributes
    ----------
    cluster : DaskClusterOptions
        ``{existing: {address: ...}}``, ``{local: {...}}``...; a local cluster by default.
    retries : {"disabled"}
        Dagster's Dask executor never retries steps.
    """

    kind: ClassVar[str] = "dask"
    extra: ClassVar[str | None] = "dask"
    retries: Literal["enabled", "disabled"] = "disabled"
    cluster: DaskClusterOptions = Field(default_factory=lambda: DaskClusterOptions(local={}))

    @field_validator("retries")
    @classmethod
    def _no_retries(cls, value: str) -> str:
        if value != "disabled":
            raise ValueError(
                "Dagster's Dask executor does not retry steps; remove 'retries' "
                "(and 'retry_policy') or use another executor"
            )
        return value


_DOCKER_HOST_CHARS = (".", ":")


def _docker_registry_of(image: str) -> str | None:
    """The registry host an image reference names, if any (Docker's own rule)."""
    first, sep, _rest = image.partition("/")
    if sep and (any(c in first for c in _DOCKER_HOST_CHARS) or first == "localhost"):
        return first
    return None


class DockerRegistry(_Options):
    """A private Docker registry Dagster logs in to before pulling the step image.

    Attributes
    ----------
    url, username, password : str or {env: VAR}
        All three are required by Dagster; read secrets with ``{env: VAR}``.
    """

    url: StringOrEnv
    username: StringOrEnv
    password: StringOrEnv


class _DockerContainerOptions(BaseExecutorOptions):
    """The step containers of the Docker-based executors.

    Attributes
    ----------
    image : str, optional
        Image of the step containers (the code location's image when unset).
    registry : str or DockerRegistry, optional
        Either a registry host (e.g. ``my_registry.com``): ``image`` is pulled from it with the
        credentials of the Docker host (``docker login``), so it needs ``image``; or
        ``{url, username, password}``: Dagster logs in to the registry before pulling.
    network : str, optional
        Docker network of the containers.
    env_vars : list of str, optional
        Environment variables of the containers (``NAME`` to copy it, or ``NAME=value``).
    container_kwargs : dict, optional
        Extra arguments of docker-py's ``containers.run`` (``volumes``, ``environment``...).
        ``environment`` is merged into ``env_vars``; ``image`` and ``network`` have their own
        options.
    """

    image: str | None = None
    registry: str | DockerRegistry | None = None
    network: str | None = None
    env_vars: list[str] | None = None
    container_kwargs: dict[str, Any] | None = None

    @field_validator("container_kwargs")
    @classmethod
    def _no_duplicated_options(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        for key in ("image", "network"):
            if value and key in value:
                raise ValueError(
                    f"'{key}' cannot be given in 'container_kwargs': use the '{key}' option"
                )
        environment = (value or {}).get("environment")
        if environment is not None and not isinstance(environment, (list, dict)):
            raise ValueError(
                "'container_kwargs.environment' must be a list of 'NAME=value' or a mapping"
            )
        return value

    @model_validator(mode="after")
    def _registry_host_needs_image(self) -> _DockerContainerOptions:
        if isinstance(self.registry, str):
            if self.image is None:
                raise ValueError(
                    f"'registry: {self.registry}' names the registry of 'image'; set 'image', "
                    "or give 'registry' as {url, username, password} for Dagster to log in"
                )
            named = _docker_registry_of(self.image)
            if named is not None and named != self.registry:
                raise ValueError(
                    f"image '{self.image}' is in registry '{named}', not in '{self.registry}'"
                )
        return self


class DockerExecutorOptions(_DockerContainerOptions, _StepConcurrencyOptions):
    """Options of ``dagster_docker.docker_executor``: one container per step.

    Needs the ``docker`` extra (``pip install 'kedro-dagster[docker]'``), and a Docker engine
    where runs execute. The containers must see the same ``DAGSTER_HOME`` storage (a shared
    volume) and the project's data.

    Attributes
    ----------
    image, registry, network, env_vars, container_kwargs
        See the Docker container options above.
    networks : list of str, optional
        Several Docker networks; ``network`` is added to them.
    max_concurrent : int, optional
        Most step containers running at once in a run.
    tag_concurrency_limits : list of TagConcurrencyLimit, optional
        Limits on step containers running at once by op tag.
    """

    kind: ClassVar[str] = "docker_executor"
    extra: ClassVar[str | None] = "docker"
    networks: list[str] | None = None


class CeleryExecutorOptions(BaseExecutorOptions):
    """Options of ``dagster_celery.celery_executor``: steps are tasks of Celery workers.

    Needs the ``celery`` extra (``pip install 'kedro-dagster[celery]'``) and workers started
    with ``dagster-celery worker start -A dagster_celery.app`` (same broker), where the
    project's ``definitions`` module imports.

    Attributes
    ----------
    broker : str or {env: VAR}, optional
        Broker URL, e.g. ``redis://localhost:6379/0`` (Dagster's default is RabbitMQ on
        localhost: ``pyamqp://guest@localhost//``).
    backend : str or {env: VAR}, optional
        Results backend URL (``rpc://`` by default).
    include : list of str, optional
        Modules every worker imports.
    config_source : dict, optional
        Extra Celery settings (lowercase names, e.g. ``task_acks_late: true``).
    """

    kind: ClassVar[str] = "celery"
    extra: ClassVar[str | None] = "celery"
    broker: StringOrEnv | None = None
    backend: StringOrEnv | None = None
    include: list[str] | None = None
    config_source: dict[str, Any] | None = None


class CeleryDockerExecutorOptions(CeleryExecutorOptions, _DockerContainerOptions):
    """Options of ``dagster_celery_docker.celery_docker_executor``.

    Celery workers (``-A dagster_celery_docker.app``) run each step in a Docker container.
    Needs the ``celery-docker`` extra (``pip install 'kedro-dagster[celery-docker]'``).

    Attributes
    ----------
    broker, backend, include, config_source
        As for :class:`CeleryExecutorOptions`.
    image, registry, network, env_vars, container_kwargs
        The step containers, as for :class:`DockerExecutorOptions` (one ``network`` only).
    """

    kind: ClassVar[str] = "celery_docker"
    extra: ClassVar[str | None] = "celery-docker"


class K8sStepConfig(_Options):
    """Raw Kubernetes configuration of step jobs (Dagster's ``dagster-k8s/config``).

    Attributes
    ----------
    container_config, pod_template_spec_metadata, pod_spec_config, job_config, job_metadata,
    job_spec_config : dict, optional
        Merged into the generated Kubernetes objects (snake_case keys).
    merge_behavior : {"DEEP", "SHALLOW"}, optional
        How this config merges with the other levels.
    """

    container_config: dict[str, Any] | None = None
    pod_template_spec_metadata: dict[str, Any] | None = None
    pod_spec_config: dict[str, Any] | None = None
    job_config: dict[str, Any] | None = None
    job_metadata: dict[str, Any] | None = None
    job_spec_config: dict[str, Any] | None = None
    merge_behavior: Literal["DEEP", "SHALLOW"] | None = None


class K8sResources(_Options):
    """Compute resources of the step containers: ``{limits: {...}, requests: {...}}``."""

    limits: dict[str, Any] | None = None
    requests: dict[str, Any] | None = None


class _K8sJobOptions(BaseExecutorOptions):
    """The Kubernetes jobs of the Kubernetes-based executors.

    Attributes
    ----------
    job_image : str, optional
        Image of the step jobs (the code location's image when unset).
    job_namespace : str, optional
        Namespace of the step jobs.
    load_incluster_config : bool, optional
        Whether the executor runs inside the cluster; otherwise ``kubeconfig_file`` (or the
        default kubeconfig) is used.
    kubeconfig_file : str, optional
        Path of a kubeconfig file.
    image_pull_policy : str, optional
        ``Always``, ``IfNotPresent`` or ``Never``.
    image_pull_secrets : list of {name: str}, optional
        Secrets holding registry credentials.
    service_account_name : str, optional
        Service account of the step pods.
    env_config_maps, env_secrets : list of str, optional
        ConfigMaps and Secrets whose keys become environment variables.
    env_vars : list of str, optional
        ``NAME`` (copied from the run's environment) or ``NAME=value``.
    volume_mounts, volumes : list of dict, optional
        Kubernetes volume mounts and volumes (snake_case or camelCase keys).
    labels : dict, optional
        Labels of the step pods.
    resources : K8sResources, optional
        ``{limits: ..., requests: ...}`` of the step containers.
    scheduler_name : str, optional
        Custom Kubernetes scheduler.
    security_context : dict, optional
        Security context of the step containers.
    per_step_k8s_config : dict of str to K8sStepConfig, optional
        Raw config of one node's step, by Kedro node name (or Dagster op name).
    """

    job_image: str | None = None
    job_namespace: StringOrEnv | None = None
    load_incluster_config: bool | None = None
    kubeconfig_file: str | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    image_pull_secrets: list[dict[Literal["name"], str]] | None = None
    service_account_name: str | None = None
    env_config_maps: list[str] | None = None
    env_secrets: list[str] | None = None
    env_vars: list[str] | None = None
    volume_mounts: list[dict[str, Any]] | None = None
    volumes: list[dict[str, Any]] | None = None
    labels: dict[str, str] | None = None
    resources: K8sResources | None = None
    scheduler_name: str | None = None
    security_context: dict[str, Any] | None = None
    per_step_k8s_config: dict[str, K8sStepConfig] | None = None

    @field_validator("volume_mounts", "volumes")
    @classmethod
    def _named(cls, value: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        for item in value or []:
            if "name" not in item:
                raise ValueError("every volume and volume mount needs a 'name'")
        return value


class K8sJobExecutorOptions(_K8sJobOptions, _StepConcurrencyOptions):
    """Options of ``dagster_k8s.k8s_job_executor``: one Kubernetes job per step.

    Needs the ``k8s`` extra (``pip install 'kedro-dagster[k8s]'``).

    Attributes
    ----------
    job_image, job_namespace, load_incluster_config, kubeconfig_file, image_pull_policy,
    image_pull_secrets, service_account_name, env_config_maps, env_secrets, env_vars,
    volume_mounts, volumes, labels, resources, scheduler_name, security_context,
    per_step_k8s_config
        The step jobs, see above.
    step_k8s_config : K8sStepConfig, optional
        Raw config of every step job.
    enable_owner_references : bool, optional
        Make the run pod the owner of the step jobs (garbage-collected with it).
    max_concurrent : int, optional
        Most step pods running at once in a run.
    tag_concurrency_limits : list of TagConcurrencyLimit, optional
        Limits on step pods running at once by op tag.
    """

    kind: ClassVar[str] = "k8s_job_executor"
    extra: ClassVar[str | None] = "k8s"
    step_k8s_config: K8sStepConfig | None = None
    enable_owner_references: bool | None = None


class CeleryK8sJobExecutorOptions(CeleryExecutorOptions, _K8sJobOptions):
    """Options of ``dagster_celery_k8s.celery_k8s_job_executor``.

    Celery workers (``-A dagster_celery_k8s.app``) launch each step as a Kubernetes job; runs
    must be launched by ``CeleryK8sRunLauncher``. Needs the ``celery-k8s`` extra
    (``pip install 'kedro-dagster[celery-k8s]'``).

    Attributes
    ----------
    broker, backend, include, config_source
        As for :class:`CeleryExecutorOptions`.
    job_image, job_namespace, ..., per_step_k8s_config
        The step jobs, as for :class:`K8sJobExecutorOptions`.
    repo_location_name : str, optional
        Code location the workers load the job from.
    job_wait_timeout : float, optional
        Seconds to wait for a step job (one day by default).
    """

    kind: ClassVar[str] = "celery_k8s_job_executor"
    extra: ClassVar[str | None] = "celery-k8s"
    repo_location_name: str | None = None
    job_wait_timeout: PositiveFloat | None = None


EXECUTOR_OPTIONS: dict[str, type[BaseExecutorOptions]] = {
    model.kind: model
    for model in (
        InProcessExecutorOptions,
        MultiprocessExecutorOptions,
        ParallelExecutorOptions,
        DaskExecutorOptions,
        DockerExecutorOptions,
        CeleryExecutorOptions,
        CeleryDockerExecutorOptions,
        K8sJobExecutorOptions,
        CeleryK8sJobExecutorOptions,
    )
}


class ExecutorOptions(_Options):
    """One entry of the ``executors`` section: exactly one executor kind and its options.

    ``{my_executor: {multiprocess: {max_concurrent: 2}}}`` in YAML. Kinds: ``in_process``,
    ``multiprocess``, ``parallel``, ``dask``, ``docker_executor``, ``celery``, ``celery_docker``,
    ``k8s_job_executor``, ``celery_k8s_job_executor``.
    """

    in_process: InProcessExecutorOptions | None = None
    multiprocess: MultiprocessExecutorOptions | None = None
    parallel: ParallelExecutorOptions | None = None
    dask: DaskExecutorOptions | None = None
    docker_executor: DockerExecutorOptions | None = None
    celery: CeleryExecutorOptions | None = None
    celery_docker: CeleryDockerExecutorOptions | None = None
    k8s_job_executor: K8sJobExecutorOptions | None = None
    celery_k8s_job_executor: CeleryK8sJobExecutorOptions | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_options(cls, data: Any) -> Any:
        # `multiprocess:` with nothing after it means "defaults", not "absent".
        if isinstance(data, dict):
            return {kind: {} if opts is None else opts for kind, opts in data.items()}
        return data

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> ExecutorOptions:
        kinds = [kind for kind in EXECUTOR_OPTIONS if getattr(self, kind) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one executor kind, e.g. '{multiprocess: {max_concurrent: 2}}'; "
                f"kinds: {', '.join(EXECUTOR_OPTIONS)}"
            )
        return self

    @property
    def options(self) -> BaseExecutorOptions:
        """The options of the chosen kind."""
        return next(opts for kind in EXECUTOR_OPTIONS if (opts := getattr(self, kind)) is not None)


#: Executors every job can name without declaring them.
BUILTIN_EXECUTORS: dict[str, BaseExecutorOptions] = {
    "in_process": InProcessExecutorOptions(),
    "sequential": InProcessExecutorOptions(),
    "multiprocess": MultiprocessExecutorOptions(),
}


class LoggerOptions(_Options):
    """A Dagster logger built from ``logging`` dict-config pieces.

    Attributes
    ----------
    log_level : str
        Level of the logger (``DEBUG``, ``INFO``, ...).
    handlers : list of dict, optional
        Handler configs as in ``logging.config.dictConfig`` (``class``, ``level``,
        ``formatter``, ``filters``, other keyword arguments).
    formatters : dict, optional
        Formatter configs by name, with ``format``/``datefmt``, ``class`` or ``"()"``.
    filters : dict, optional
        Filter configs by name, with ``name``, ``class`` or ``"()"``.
    """

    log_level: str = "INFO"
    handlers: list[dict[str, Any]] | None = None
    formatters: dict[str, dict[str, Any]] | None = None
    filters: dict[str, dict[str, Any]] | None = None

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError(
                f"'{value}' is not a logging level; use DEBUG, INFO, WARNING, ERROR or CRITICAL"
            )
        return level


class JobOptions(_Options):
    """A Dagster job: a filtered Kedro pipeline with its executor, schedule and loggers.

    Attributes
    ----------
    pipeline : PipelineOptions
        The pipeline and its filters.
    executor : str, optional
        Name of an executor of the ``executors`` section (or ``in_process``,
        ``sequential``, ``multiprocess``); ``in_process`` by default.
    schedule : str, optional
        Name of a schedule of the ``schedules`` section.
    loggers : list of str, optional
        Names of loggers of the ``loggers`` section.
    description : str, optional
        Shown in the Dagster UI.
    """

    pipeline: PipelineOptions = Field(default_factory=PipelineOptions)
    executor: str | None = None
    schedule: str | None = None
    loggers: list[str] = Field(default_factory=list)
    description: str | None = None

    @field_validator("loggers", mode="before")
    @classmethod
    def _single_logger(cls, value: Any) -> Any:
        return _as_list(value)


class KedroDagsterConfig(_Options):
    """The whole of ``dagster.yml``.

    Attributes
    ----------
    jobs : dict of str to JobOptions
    executors : dict of str to ExecutorOptions
        Each entry is ``{name: {<kind>: {options}}}`` with a kind of ``EXECUTOR_OPTIONS``.
    schedules : dict of str to ScheduleOptions
    loggers : dict of str to LoggerOptions
    intermediate_storage : str, optional
        Where MemoryDatasets go between steps under executors that run steps in other
        processes or machines: a local folder or an fsspec URL (``s3://bucket/prefix``), shared
        by every worker. ``$DAGSTER_HOME/storage`` by default.
    """

    jobs: dict[str, JobOptions] = Field(default_factory=dict)
    executors: dict[str, ExecutorOptions] = Field(default_factory=dict)
    schedules: dict[str, ScheduleOptions] = Field(default_factory=dict)
    loggers: dict[str, LoggerOptions] = Field(default_factory=dict)
    intermediate_storage: str | None = None

    @field_validator("jobs", "executors", "schedules", "loggers", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value

    def executor(self, name: str) -> BaseExecutorOptions | None:
        """The executor options named ``name``, declared or built in."""
        if name in self.executors:
            return self.executors[name].options
        return BUILTIN_EXECUTORS.get(name)
