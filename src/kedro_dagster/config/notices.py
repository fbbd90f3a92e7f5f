"""Warnings about ``dagster.yml``: one log line each, once per process.

Dagster imports ``definitions.py`` in every process and a code server reloads it, so a warning
raised at each load would repeat; the user needs to read it once per command.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

__all__ = ["names", "warn_once"]

logger = logging.getLogger("kedro_dagster.config")

# Process-wide on purpose: "once per process" is the whole point of this module.
_emitted: set[str] = set()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning of the ``kedro_dagster.config`` logger, once per process."""
    if message in _emitted:
        return
    _emitted.add(message)
    logger.warning(message)


def names(items: Iterable[str], limit: int = 5) -> str:
    """``'a', 'b' and 3 more``: a short list of names for a one-line message."""
    quoted = [f"'{item}'" for item in items]
    shown = ", ".join(quoted[:limit])
    return shown + (f" and {len(quoted) - limit} more" if len(quoted) > limit else "")
