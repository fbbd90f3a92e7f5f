"""Workarounds for dependency versions, in one place."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any, get_origin

__all__ = [
    "explain_node_limit",
    "is_class",
    "kedro_run_params",
    "log_once_per_process",
    "quiet_kedro_config_loader",
    "raised_yaml_node_limit",
]

#: omegaconf 2.4's limit on the YAML nodes of a file (its default is 10,000).
YAML_NODE_LIMIT_ENV = "OMEGACONF_MAX_YAML_EXPANDED_NODES"
_DAGSTER_YML_NODE_LIMIT = "1000000"
_NODE_LIMIT_MESSAGE = re.compile(r"exceeds the configured limit of (?P<limit>\d+)")


@contextmanager
def quiet_kedro_config_loader() -> Iterator[None]:
    """Silence omegaconf 2.4's deprecation of ``register_new_resolver`` raised inside Kedro.

    Kedro's ``OmegaConfigLoader`` (1.7) calls the deprecated function every time a loader is
    created or a configuration group is read, so each Dagster process would print it several
    times; users cannot act on it. Only that message is filtered, only while we create or read
    a config loader.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
        )
        yield


@contextmanager
def raised_yaml_node_limit() -> Iterator[None]:
    """Let omegaconf read a YAML file of up to a million nodes, unless the user set a limit.

    omegaconf 2.4 refuses any YAML document of more than 10,000 nodes (aliases expanded) with
    a message about aliases: a ``dagster.yml`` of a few thousand jobs hits it without any
    alias. Its alias-expansion ratio check, the protection against alias bombs, still applies.
    The variable is read by omegaconf when it builds its YAML loader, i.e. during the read;
    a limit the user set (``OMEGACONF_MAX_YAML_EXPANDED_NODES``) is kept.
    """
    if YAML_NODE_LIMIT_ENV in os.environ:
        yield
        return
    os.environ[YAML_NODE_LIMIT_ENV] = _DAGSTER_YML_NODE_LIMIT
    try:
        yield
    finally:
        os.environ.pop(YAML_NODE_LIMIT_ENV, None)


def explain_node_limit(message: str) -> str | None:
    """What omegaconf's node-limit error means and how to raise the limit, or ``None``."""
    match = _NODE_LIMIT_MESSAGE.search(message)
    if match is None or YAML_NODE_LIMIT_ENV not in message:
        return None
    return (
        f"the file has more than {match['limit']} YAML nodes (keys, values and list items), "
        "the limit omegaconf puts on every YAML file Kedro reads; it counts all nodes, not "
        "only aliases. Raise it in the environment of every Dagster process, e.g. "
        f"{YAML_NODE_LIMIT_ENV}=100000, or split the file."
    )


class _FirstOnly(logging.Filter):
    """Lets the first record starting with ``prefix`` through, and drops the others."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith(self.prefix):
            return True
        if self.seen:
            return False
        self.seen = True
        return True


def log_once_per_process(logger_name: str, prefix: str) -> None:
    """Let the logger ``logger_name`` log its message starting with ``prefix`` once per process.

    For dependency messages that are true but repeated once per object we create where their
    own CLI creates one object per process. Idempotent.
    """
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _FirstOnly) and f.prefix == prefix for f in logger.filters):
        logger.addFilter(_FirstOnly(prefix))


@cache
def _kedro_release() -> tuple[int, int]:
    from kedro import __version__

    major, minor = __version__.split(".")[:2]
    return int(major), int(minor)


#: Filters of ``run_params`` that ``kedro run`` gives as tuples (the others are lists).
_TUPLE_FILTERS = ("tags", "node_names")
_LIST_FILTERS = ("from_nodes", "to_nodes", "from_inputs", "to_outputs", "namespaces")


def kedro_run_params(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` (keys of Kedro 1.3+) with the keys the installed Kedro gives its own hooks.

    A project hook reads ``run_params`` as ``kedro run`` fills it: Kedro 1.0-1.2 name the run
    ``session_id`` (``run_id`` from 1.3) and Kedro 1.0-1.1 give one ``pipeline_name`` where
    later ones give a ``pipeline_names`` list. The filters are never None: ``kedro run`` gives
    ``tags`` and ``node_names`` as tuples, the other filters as lists, empty when not given,
    and ``load_versions`` as a dict (every Kedro 1.x). Any other key is kept as it is.
    """
    params = dict(record)
    for key in _TUPLE_FILTERS:
        params[key] = tuple(params.get(key) or ())
    for key in _LIST_FILTERS:
        params[key] = list(params.get(key) or ())
    params["load_versions"] = dict(params.get("load_versions") or {})
    release = _kedro_release()
    if release < (1, 3) and "run_id" in params:
        params = {("session_id" if key == "run_id" else key): v for key, v in params.items()}
    if release < (1, 2) and "pipeline_names" in params:
        names = params.pop("pipeline_names")
        # Kedro 1.0-1.1 runs one pipeline; a job always runs one.
        params["pipeline_name"] = names[0] if names else None
    return params


def is_class(annotation: object) -> bool:
    """Whether a type annotation is a class ``issubclass`` accepts.

    On Python 3.10 ``isinstance(dict[str, int], type)`` is true, yet ``issubclass`` refuses
    such a generic alias.
    """
    return isinstance(annotation, type) and get_origin(annotation) is None
