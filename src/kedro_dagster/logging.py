"""Logging for Kedro nodes run by Dagster, and formatters matching Dagster's output.

``getLogger`` returns Dagster's logger inside a Dagster run (messages reach the run's event
log) and a standard logger elsewhere, so node code works under ``kedro run`` and Dagster.
"""

from __future__ import annotations

import json
import logging
from typing import Any

__all__ = [
    "DagsterColoredFormatter",
    "DagsterJsonFormatter",
    "DagsterRichFormatter",
    "dagster_colored_formatter",
    "dagster_json_formatter",
    "dagster_rich_formatter",
    "getLogger",
]

_DEFAULT_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
_COLORS = {
    logging.DEBUG: "\033[34m",
    logging.INFO: "\033[32m",
    logging.WARNING: "\033[33m",
    logging.ERROR: "\033[31m",
    logging.CRITICAL: "\033[1;31m",
}
_RESET = "\033[0m"


def _in_dagster_run() -> bool:
    try:
        from dagster import OpExecutionContext

        OpExecutionContext.get()
    except Exception:
        return False
    return True


def getLogger(name: str | None = None) -> logging.Logger:
    """A logger that writes to the Dagster run's event log when called inside a run.

    Parameters
    ----------
    name : str, optional
        Logger name, usually ``__name__``.

    Returns
    -------
    logging.Logger
        Dagster's logger inside a Dagster run, ``logging.getLogger(name)`` otherwise.
    """
    if _in_dagster_run():
        from dagster import get_dagster_logger

        return get_dagster_logger(name or "kedro_dagster")
    return logging.getLogger(name)


class DagsterColoredFormatter(logging.Formatter):
    """Dagster-style console lines, the level name colored per level."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, **_: Any) -> None:
        super().__init__(fmt or _DEFAULT_FORMAT, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        """Format with the level name colored."""
        original = record.levelname
        color = _COLORS.get(record.levelno, "")
        record.levelname = f"{color}{original}{_RESET}" if color else original
        try:
            return super().format(record)
        finally:
            record.levelname = original


class DagsterJsonFormatter(logging.Formatter):
    """One JSON object per line, with the fields Dagster's JSON console logger writes."""

    def format(self, record: logging.LogRecord) -> str:
        """Format as JSON."""
        payload: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "name": record.name,
            "level": record.levelname,
            "message": record.getMessage(),
        }
        for key in ("dagster_meta", "run_id", "step_key"):
            if hasattr(record, key):
                payload[key] = str(getattr(record, key))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class DagsterRichFormatter(logging.Formatter):
    """Readable aligned columns (a plain formatter, not based on the ``rich`` library)."""

    def __init__(self, datefmt: str | None = None, **_: Any) -> None:
        super().__init__(
            "%(asctime)s | %(levelname)-8s | %(name)s\n    %(message)s", datefmt or "%H:%M:%S"
        )


def dagster_colored_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterColoredFormatter` for ``"()"`` in logging config."""
    return DagsterColoredFormatter(**kwargs)


def dagster_json_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterJsonFormatter` for ``"()"`` in logging config."""
    return DagsterJsonFormatter(**kwargs)


def dagster_rich_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterRichFormatter` for ``"()"`` in logging config."""
    return DagsterRichFormatter(**kwargs)
