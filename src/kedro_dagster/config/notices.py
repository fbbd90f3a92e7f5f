"""Warnings about ``dagster.yml``: one log line each, once per process.

Dagster imports ``definitions.py`` in every process and a code server reloads it, so a warning
raised at each load would repeat; the user needs to read it once per command.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable

__all__ = ["names", "warn_once"]

logger = logging.getLogger("kedro_dagster.config")

# Process-wide on purpose: "once per process" is the whole point of this module.
_emitted: set[str] = set()


#: Digests of the messages given with ``inherited=True`` by this process or its ancestors.
SHOWN_ENV = "KEDRO_DAGSTER_NOTICES_SHOWN"


def _digest(message: str) -> str:
    return hashlib.sha1(message.encode(), usedforsecurity=False).hexdigest()[:12]


def warn_once(message: str, *, inherited: bool = False) -> None:
    """Log ``message`` as a warning of the ``kedro_dagster.config`` logger, once per process.

    With ``inherited``, also once per process tree: the processes this one starts afterwards
    (a run's step processes, which import ``definitions.py`` again) stay silent about it.
    """
    if message in _emitted:
        return
    _emitted.add(message)
    if inherited:
        shown = os.environ.get(SHOWN_ENV, "")
        digest = _digest(message)
        if digest in shown.split(","):
            return
        os.environ[SHOWN_ENV] = f"{shown},{digest}" if shown else digest
    logger.warning(message)


def names(items: Iterable[str], limit: int = 5) -> str:
    """``'a', 'b' and 3 more``: a short list of names for a one-line message."""
    quoted = [f"'{item}'" for item in items]
    shown = ", ".join(quoted[:limit])
    return shown + (f" and {len(quoted) - limit} more" if len(quoted) > limit else "")
