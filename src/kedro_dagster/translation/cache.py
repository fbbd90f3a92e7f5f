"""Definitions built once per process: Dagster asks for them again and again.

Dagster re-evaluates a lazy ``@dg.definitions`` function each time it reconstructs the
repository: three times in one in-process ``execute_job`` (``dg launch``), twice in every
step process of the multiprocess executor. Each call would bootstrap the project and
translate it again. The cache keeps the last few translations of this process, keyed on
what the translation reads: the project, the environment, the translator's settings, the
``KEDRO*`` environment variables, and a fingerprint (paths, sizes, mtimes) of the project's
configuration files, so that an edited ``conf/`` (``dagster dev``'s "Reload") translates
again. Code changes need a new process anyway (Python modules are imported once).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from dagster import Definitions

from kedro_dagster.config.notices import SHOWN_ENV

__all__ = ["cached_definitions", "clear_definitions_cache"]

#: A process translates one project, two with components: a few entries are plenty.
_MAX_ENTRIES = 8

#: key -> (configuration folder, its fingerprint, the definitions)
_CACHE: OrderedDict[Hashable, tuple[Path | None, Hashable, Definitions]] = OrderedDict()


def _fingerprint(project_path: Path, conf_source: Path | None) -> Hashable:
    """Paths, sizes and mtimes of ``pyproject.toml`` and of every file under ``conf_source``."""
    entries: list[tuple[str, int, int]] = []
    # A packaged configuration (``CONF_SOURCE`` a .tar.gz or .zip) is one file.
    paths = [project_path / "pyproject.toml", *([conf_source] if conf_source else [])]
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    if conf_source is not None:
        for root, dirs, files in os.walk(conf_source):
            dirs.sort()
            for name in sorted(files):
                path = Path(root, name)
                try:
                    stat = path.stat()
                except OSError:
                    continue
                entries.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def _kedro_environment() -> tuple[tuple[str, str], ...]:
    """``KEDRO_ENV``, ``KEDRO_DAGSTER_PREFLIGHT`` and the like change what is translated."""
    return tuple(
        sorted(
            (k, v)
            for k, v in os.environ.items()
            # Which notices were shown (set by a translation itself) changes nothing translated.
            if k.startswith("KEDRO") and k != SHOWN_ENV
        )
    )


def cached_definitions(
    key: Hashable,
    project_path: Path,
    build: Callable[[], tuple[Definitions, Path | None]],
) -> Definitions:
    """The definitions of ``key`` built earlier in this process, else ``build()``'s.

    Parameters
    ----------
    key : Hashable
        What identifies the translation (project, env, translator settings, namespace).
    project_path : Path
        Root of the Kedro project.
    build : Callable
        Translates the project; returns the definitions and the configuration folder read.

    Returns
    -------
    Definitions
    """
    full_key = (key, _kedro_environment())
    entry = _CACHE.get(full_key)
    if entry is not None:
        conf_source, fingerprint, definitions = entry
        if _fingerprint(project_path, conf_source) == fingerprint:
            _CACHE.move_to_end(full_key)
            return definitions
        del _CACHE[full_key]
    definitions, conf_source = build()
    _CACHE[full_key] = (conf_source, _fingerprint(project_path, conf_source), definitions)
    while len(_CACHE) > _MAX_ENTRIES:
        _CACHE.popitem(last=False)
    return definitions


def clear_definitions_cache() -> None:
    """Forget every cached translation of this process (the next call translates again)."""
    _CACHE.clear()
