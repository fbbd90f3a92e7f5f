"""Logging for Kedro nodes run by Dagster, and formatters matching Dagster's output.

``getLogger`` returns Dagster's logger inside a Dagster run (messages reach the run's event
log) and a standard logger elsewhere, so node code works under ``kedro run`` and Dagster.
A logger obtained outside a run (typically ``logger = getLogger(__name__)`` at module level)
decides at each call: its records go to the Dagster run when one is in progress.

The formatters are usable in any ``logging`` dict configuration, with ``"()"`` (the
``dagster_*_formatter`` factories) or ``class`` (the ``Dagster*Formatter`` classes; the only
form Kedro >= 1.3 accepts in ``conf/logging.yml``, with ``kedro_dagster`` listed in
``KEDRO_LOGGING_MODULE_ALLOWLIST``). :class:`RichHandler` is Kedro's console handler made safe
for any message; the ``kedro dagster`` commands use it in the processes they start.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
from typing import Any

from kedro.logging import RichHandler as _KedroRichHandler
from rich.console import Console, ConsoleRenderable

__all__ = [
    "DagsterColoredFormatter",
    "DagsterJsonFormatter",
    "DagsterRichFormatter",
    "RichHandler",
    "dagster_colored_formatter",
    "dagster_json_formatter",
    "dagster_rich_formatter",
    "getLogger",
]

_DEFAULT_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
_RICH_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)s | %(message)s"
_COLORS = {
    logging.DEBUG: "\033[34m",
    logging.INFO: "\033[32m",
    logging.WARNING: "\033[33m",
    logging.ERROR: "\033[31m",
    logging.CRITICAL: "\033[1;31m",
}
_RESET = "\033[0m"
#: Attributes every LogRecord has; the others were passed with ``extra=``.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _in_dagster_run() -> bool:
    """Whether an op or asset of a Dagster run is executing in this thread."""
    if "dagster" not in sys.modules:  # a Dagster run has imported Dagster
        return False
    try:
        from dagster import OpExecutionContext

        OpExecutionContext.get()
    except Exception:
        return False
    return True


def _dagster_logger(name: str | None) -> logging.Logger:
    from dagster import get_dagster_logger

    return get_dagster_logger(name)


class _RunAwareLogger(logging.Logger):
    """A logger that writes to the Dagster run in progress, else to ``logging.getLogger(name)``.

    Not registered with ``logging``'s manager: levels, handlers and filters are those of the
    logger it forwards to, looked up at each call.
    """

    def _target(self) -> logging.Logger:
        if _in_dagster_run():
            return _dagster_logger(self.name)
        return logging.getLogger(self.name)

    def isEnabledFor(self, level: int) -> bool:
        return self._target().isEnabledFor(level)

    def getEffectiveLevel(self) -> int:
        return self._target().getEffectiveLevel()

    def handle(self, record: logging.LogRecord) -> None:
        self._target().handle(record)

    def setLevel(self, level: int | str) -> None:
        logging.getLogger(self.name).setLevel(level)

    def addHandler(self, hdlr: logging.Handler) -> None:
        logging.getLogger(self.name).addHandler(hdlr)

    def removeHandler(self, hdlr: logging.Handler) -> None:
        logging.getLogger(self.name).removeHandler(hdlr)

    def hasHandlers(self) -> bool:
        return self._target().hasHandlers()

    def getChild(self, suffix: str) -> _RunAwareLogger:
        return _run_aware(f"{self.name}.{suffix}")


_run_aware_loggers: dict[str, _RunAwareLogger] = {}


def _run_aware(name: str) -> _RunAwareLogger:
    logger = _run_aware_loggers.get(name)
    if logger is None:
        logger = _run_aware_loggers.setdefault(name, _RunAwareLogger(name))
    return logger


def getLogger(name: str | None = None) -> logging.Logger:
    """A logger that writes to the Dagster run's event log when called inside a run.

    Parameters
    ----------
    name : str, optional
        Logger name, usually ``__name__``.

    Returns
    -------
    logging.Logger
        Inside a Dagster run, Dagster's logger (``dagster.get_dagster_logger(name)``): records
        are in the run's event log and reach the run's loggers. Elsewhere a standard logger
        named ``name`` (the root logger without a name) which, when later called inside a
        Dagster run, writes to that run instead.
    """
    if _in_dagster_run():
        return _dagster_logger(name)
    if not name or name == "root":
        return logging.getLogger()
    return _run_aware(name)


def _format(fmt: str | None, kwargs: dict[str, Any], default: str | None) -> str | None:
    """The format string: ``fmt`` (``class`` configs) or ``format`` (``"()"`` configs)."""
    kwargs.pop("defaults", None)
    fmt = fmt or kwargs.pop("format", None) or default
    if kwargs:
        raise TypeError(f"Unexpected formatter arguments: {', '.join(sorted(kwargs))}")
    return fmt


class _ConfigurableFormatter(logging.Formatter):
    """A formatter built from ``class:`` configs (``fmt``) and ``"()"`` configs (``format``).

    Subclasses set their default format and date format.
    """

    default_format: str | None = None
    default_datefmt: str | None = None

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        style: Any = "%",
        validate: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            _format(fmt, kwargs, self.default_format),
            datefmt or self.default_datefmt,
            style,
            validate,
        )


class DagsterColoredFormatter(_ConfigurableFormatter):
    """Dagster-style console lines, the level name colored per level (ANSI codes).

    Parameters
    ----------
    fmt : str, optional
        Format string (``format`` in a logging config); Dagster's
        ``%(asctime)s - %(name)s - %(levelname)s - %(message)s`` by default.
    datefmt : str, optional
        Date format.
    """

    default_format = _DEFAULT_FORMAT

    def format(self, record: logging.LogRecord) -> str:
        """Format with the level name colored."""
        original = record.levelname
        color = _COLORS.get(record.levelno, "")
        record.levelname = f"{color}{original}{_RESET}" if color else original
        try:
            return super().format(record)
        finally:
            record.levelname = original


class DagsterJsonFormatter(_ConfigurableFormatter):
    """One JSON object per line: ``timestamp``, ``name``, ``level``, ``message`` and extras.

    Attributes passed with ``extra=`` (Dagster's ``dagster_meta``, a run id...) are added
    when JSON-serializable, as their string otherwise.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Format as JSON."""
        payload: dict[str, Any] = {
            "timestamp": self.formatTime(record, self.datefmt),
            "name": record.name,
            "level": record.levelname,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRS and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str)


class DagsterRichFormatter(_ConfigurableFormatter):
    """Aligned columns (time, level padded to 8, logger name, message), without ``rich``.

    Parameters
    ----------
    fmt : str, optional
        Format string; ``%(asctime)s | %(levelname)-8s | %(name)s | %(message)s`` by default.
    datefmt : str, optional
        Date format, ``%H:%M:%S`` by default.
    """

    default_format = _RICH_FORMAT
    default_datefmt = "%H:%M:%S"

    def format(self, record: logging.LogRecord) -> str:
        """Format; continuation lines of the message are indented under its first line."""
        text = super().format(record)
        first, _, rest = text.partition("\n")
        if not rest:
            return first
        indent = " " * (len(first) - len(record.getMessage().partition("\n")[0]))
        return "\n".join([first, *(indent + line for line in rest.split("\n"))])


def dagster_colored_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterColoredFormatter` for ``"()"`` in a logging config."""
    return DagsterColoredFormatter(**kwargs)


def dagster_json_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterJsonFormatter` for ``"()"`` in a logging config."""
    return DagsterJsonFormatter(**kwargs)


def dagster_rich_formatter(**kwargs: Any) -> logging.Formatter:
    """Factory of :class:`DagsterRichFormatter` for ``"()"`` in a logging config."""
    return DagsterRichFormatter(**kwargs)


_PLAIN_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


class RichHandler(_KedroRichHandler):
    """Kedro's ``RichHandler``, safe for any message and any output.

    Differences with ``kedro.logging.RichHandler`` (all other arguments are the same):

    - it writes to **stderr**: stdout belongs to the command's own output (``dg list defs
      --json``), and ``dg`` captures stdout while it loads definitions;
    - a message is read as Rich markup only when its record asks for it (Kedro's own
      ``rich_format`` records, or ``extra={"markup": True}``): any other text in brackets, such
      as a file path in an error message, is printed as written instead of being parsed as a
      tag (Kedro's handler fails with ``MarkupError`` or drops the text);
    - when stderr is not a terminal (CI, a pipe, a file), each record is one plain line
      (time, level, logger, message, traceback), never wrapped at 80 columns, and uncaught
      exceptions keep Python's plain traceback.

    Use it in ``conf/logging.yml`` with ``class: kedro_dagster.logging.RichHandler`` and
    ``kedro_dagster`` in ``KEDRO_LOGGING_MODULE_ALLOWLIST``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        console = kwargs.setdefault("console", Console(stderr=True))
        kwargs.setdefault("markup", False)
        if not console.is_terminal:
            # Rich tracebacks are panels wrapped at 80 columns off a terminal: keep Python's.
            kwargs["rich_tracebacks"] = False
        super().__init__(*args, **kwargs)
        self._plain = logging.Formatter(_PLAIN_FORMAT)

    def emit(self, record: logging.LogRecord) -> None:
        """Emit rich output on a terminal, one plain line elsewhere."""
        if self.console.is_terminal:
            super().emit(record)
            return
        try:
            self.console.file.write(self._plain.format(record) + "\n")
            self.console.file.flush()
        except Exception:
            self.handleError(record)

    def render_message(self, record: logging.LogRecord, message: str) -> ConsoleRenderable:
        """Render as markup only the records that carry markup on purpose."""
        if not hasattr(record, "markup") and getattr(record, "rich_format", None):
            record = copy.copy(record)
            record.markup = True
        return super().render_message(record, message)
