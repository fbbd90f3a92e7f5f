"""Pydantic models of ``dagster.yml``: jobs, executors, schedules and loggers."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

__all__ = [
    "BUILTIN_EXECUTORS",
    "EXECUTOR_OPTIONS",
    "BaseExecutorOptions",
    "DockerExecutorOptions",
    "ExecutorOptions",
    "InProcessExecutorOptions",
    "JobOptions",
    "KedroDagsterConfig",
    "LoggerOptions",
    "MultiprocessExecutorOptions",
    "PipelineOptions",
    "ScheduleOptions",
]


class _Options(BaseModel):
    """Base of every options model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
    """

    cron_schedule: str
    execution_timezone: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("cron_schedule")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from dagster._utils.schedules import is_valid_cron_string

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


class BaseExecutorOptions(_Options):
    """Options shared by every executor kind.

    Attributes
    ----------
    retries : {"enabled", "disabled"}
        Whether Dagster retries steps that ask for it (``RetryPolicy``/``RetryRequested``).
    """

    kind: ClassVar[str]
    retries: Literal["enabled", "disabled"] = "enabled"

    @property
    def in_process(self) -> bool:
        """Whether every step of a run executes in the run's own process."""
        return False


class InProcessExecutorOptions(BaseExecutorOptions):
    """Options of Dagster's ``in_process_executor``: steps run one by one in one process.

    This is the default, like ``kedro run``'s ``SequentialRunner``: MemoryDatasets stay in memory.
    """

    kind: ClassVar[str] = "in_process"

    @property
    def in_process(self) -> bool:
        """In-process: MemoryDatasets can stay in memory."""
        return True


class MultiprocessExecutorOptions(BaseExecutorOptions):
    """Options of Dagster's ``multiprocess_executor``: one process per step.

    Attributes
    ----------
    max_concurrent : int, optional
        Most steps running at once; Dagster uses the CPU count when unset.
    start_method : {"forkserver", "spawn"}
        How step processes start. ``forkserver`` (the default) forks every step from a server
        that has already imported Dagster, kedro-dagster and the project's pipelines.
    preload_modules : list of str, optional
        Modules the forkserver imports once; by default Dagster, kedro-dagster's translation
        and the project's ``settings`` and ``pipeline_registry``.
    """

    kind: ClassVar[str] = "multiprocess"
    max_concurrent: PositiveInt | None = None
    start_method: Literal["forkserver", "spawn"] = "forkserver"
    preload_modules: list[str] | None = None


class DockerExecutorOptions(MultiprocessExecutorOptions):
    """Options of ``dagster_docker.docker_executor``: one container per step.

    Needs the ``docker`` extra (``pip install kedro-dagster[docker]``).

    Attributes
    ----------
    image : str, optional
        Image of the step containers (the code location's image when unset).
    registry : str or dict, optional
        Registry URL, or ``{url, username, password}``.
    network : str, optional
        Docker network of the containers.
    networks : list of str, optional
        Several Docker networks.
    container_kwargs : dict, optional
        Extra ``docker run`` arguments (``volumes``, ``environment``...).
    env_vars : list of str, optional
        Environment variables passed to the containers (``NAME`` or ``NAME=value``).
    """

    kind: ClassVar[str] = "docker_executor"
    image: str | None = None
    registry: str | dict[str, str] | None = None
    network: str | None = None
    networks: list[str] | None = None
    container_kwargs: dict[str, Any] | None = None
    env_vars: list[str] | None = None


EXECUTOR_OPTIONS: dict[str, type[BaseExecutorOptions]] = {
    model.kind: model
    for model in (InProcessExecutorOptions, MultiprocessExecutorOptions, DockerExecutorOptions)
}


class ExecutorOptions(_Options):
    """One entry of the ``executors`` section: exactly one executor kind and its options.

    ``{my_executor: {multiprocess: {max_concurrent: 2}}}`` in YAML.
    """

    in_process: InProcessExecutorOptions | None = None
    multiprocess: MultiprocessExecutorOptions | None = None
    docker_executor: DockerExecutorOptions | None = None

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
    """

    jobs: dict[str, JobOptions] = Field(default_factory=dict)
    executors: dict[str, ExecutorOptions] = Field(default_factory=dict)
    schedules: dict[str, ScheduleOptions] = Field(default_factory=dict)
    loggers: dict[str, LoggerOptions] = Field(default_factory=dict)

    @field_validator("jobs", "executors", "schedules", "loggers", mode="before")
    @classmethod
    def _empty_section(cls, value: Any) -> Any:
        return {} if value is None else value

    def executor(self, name: str) -> BaseExecutorOptions | None:
        """The executor options named ``name``, declared or built in."""
        if name in self.executors:
            return self.executors[name].options
        return BUILTIN_EXECUTORS.get(name)
