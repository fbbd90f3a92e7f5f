"""Standard ``logging`` records of a step in the run's event log.

Kedro ("Running node", "Loading data from ...") and node code log with the standard
``logging`` module. Dagster captures only the loggers an instance lists in
``python_logs.managed_python_loggers``, which a Kedro project cannot count on. So while a step
of ours runs (an op body, an IO manager loading an input), one handler on the root logger hands
each record that reaches it to that step's log manager (``context.log``): the record becomes a
message of the run's event log, with its level, and reaches the run's Dagster loggers.

Routing is by thread: a record goes to the step running in the thread that logged it, so
steps running at once in one process (threads of a Dask worker) never get each other's
records. A record from another thread (a thread the node started) goes to the step in progress
when there is exactly one in the process, and is left out of the event log otherwise.

Kedro's own INFO progress records (loggers ``kedro.io``, ``kedro.runner``, ``kedro.pipeline``:
"Loading data from ...", "Running node ...") are not forwarded: Dagster's step events say the
same, and each forwarded record is one more event-log write. Records Dagster converted already
(``get_dagster_logger``, ``kedro_dagster.logging.getLogger``) or Dagster's own loggers are left
alone, and nothing is forwarded when the instance already
manages the root logger, so no record appears twice. Records below a logger's level never reach
handlers: what reaches the event log is what ``conf/logging.yml`` lets through.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from kedro_dagster._dagster_internals import is_dagster_log_record

__all__ = ["step_log_capture"]


class _Capture:
    """One step capturing in one thread: its log manager, what identifies the step, masking."""

    __slots__ = ("log", "redact", "step", "thread")

    def __init__(
        self, log: logging.Logger, thread: int, redact: Callable[[str], str] | None
    ) -> None:
        self.log = log
        self.thread = thread
        self.redact = redact
        metadata = getattr(log, "metadata", None) or {}
        step_key = metadata.get("step_key")
        # The op body and the IO managers of one step are one step, whatever their log managers.
        self.step: object = (metadata.get("run_id"), step_key) if step_key else id(log)


class _StepHandler(logging.Handler):
    """Root handler forwarding records to the log manager of the step that emitted them."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._captures: list[_Capture] = []
        self._forwarding = threading.local()

    def begin(self, capture: _Capture) -> None:
        with self._lock:
            self._captures.append(capture)
            root = logging.getLogger()
            # Also after a `dictConfig` (Kedro's logging setup) removed it from root.
            if self not in root.handlers:
                root.addHandler(self)

    def end(self, capture: _Capture) -> None:
        with self._lock:
            if capture in self._captures:
                self._captures.remove(capture)
            if not self._captures:
                logging.getLogger().removeHandler(self)

    def _target(self, thread: int | None) -> _Capture | None:
        with self._lock:
            captures = list(self._captures)
        for capture in reversed(captures):
            if capture.thread == thread:
                return capture
        # A thread the node started: unambiguous only with one step in progress.
        if captures and len({capture.step for capture in captures}) == 1:
            return captures[-1]
        return None

    def emit(self, record: logging.LogRecord) -> None:
        """Hand ``record`` to its step's log manager, once."""
        if getattr(self._forwarding, "active", False):  # a handler of the step logging again
            return
        if _is_dagsters(record) or _is_kedro_bookkeeping(record):
            return
        target = self._target(record.thread)
        if target is None or not target.log.isEnabledFor(record.levelno):
            return
        self._forwarding.active = True
        try:
            target.log.handle(_for_event_log(record, target.redact))
        except Exception:
            self.handleError(record)
        finally:
            self._forwarding.active = False


def _is_dagsters(record: logging.LogRecord) -> bool:
    """Records Dagster converted already, or of Dagster's own loggers."""
    name = record.name
    return name == "dagster" or name.startswith("dagster.") or is_dagster_log_record(record)


#: Loggers of Kedro's own progress lines ("Loading data from ...", "Saving data to ...",
#: "Running node ...", "Completed n out of m tasks").
_KEDRO_BOOKKEEPING = ("kedro.io", "kedro.runner", "kedro.pipeline")


def _is_kedro_bookkeeping(record: logging.LogRecord) -> bool:
    """Kedro's INFO (and lower) progress records, which repeat Dagster's own step events.

    Dagster records each load (``LOADED_INPUT``), save (``HANDLED_OUTPUT``) and step start
    itself; every forwarded record is one more event-log write per dataset. Kedro's warnings
    and errors are still forwarded; the console (captured stderr) keeps every line.
    """
    if record.levelno >= logging.WARNING:
        return False
    name = record.name
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _KEDRO_BOOKKEEPING)


_formatter = logging.Formatter()


def _for_event_log(
    record: logging.LogRecord, redact: Callable[[str], str] | None
) -> logging.LogRecord:
    """A copy of ``record`` whose message carries its traceback, credentials masked.

    Dagster's log manager rewrites the record it handles (message, metadata): the other
    handlers of the original, such as the console's, keep seeing it unchanged. The event log
    keeps only the message, so the traceback goes into it (and not twice to Dagster's loggers).
    """
    forwarded = copy.copy(record)
    message = record.getMessage()
    if record.exc_info:
        message = f"{message}\n{_formatter.formatException(record.exc_info)}"
    elif record.exc_text:
        message = f"{message}\n{record.exc_text}"
    if record.stack_info:
        message = f"{message}\n{_formatter.formatStack(record.stack_info)}"
    forwarded.msg = redact(message) if redact is not None else message
    forwarded.args = ()
    forwarded.exc_info = None
    forwarded.exc_text = None
    forwarded.stack_info = None
    return forwarded


_handler = _StepHandler()


def _root_managed(context: Any) -> bool:
    """Whether the instance already captures the root logger (``managed_python_loggers``)."""
    try:
        managed = context.instance.managed_python_loggers
    except Exception:  # no instance at hand: nothing manages root
        return False
    return "root" in managed


@contextmanager
def step_log_capture(context: Any, redact: Callable[[str], str] | None = None) -> Iterator[None]:
    """Forward standard ``logging`` records of this thread to the step's event log meanwhile.

    Parameters
    ----------
    context : Any
        A Dagster context of the step with ``log`` and ``instance`` (an op's execution
        context, an IO manager's input or output context).
    redact : Callable, optional
        Masks credentials in a message (the run's ``Redactor.redact``), as the root
        logger's own handlers do.
    """
    log = getattr(context, "log", None)
    if not isinstance(log, logging.Logger) or _root_managed(context):
        yield
        return
    capture = _Capture(log, threading.get_ident(), redact)
    _handler.begin(capture)
    try:
        yield
    finally:
        _handler.end(capture)
