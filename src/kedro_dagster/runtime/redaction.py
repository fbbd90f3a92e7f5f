"""Credential values replaced by ``***`` in what a run emits: errors, metadata, log records.

A :class:`Redactor` is built once per process and run from the Kedro environment's
credentials (``conf/<env>/credentials*``, resolved by the project's config loader). It masks:

- every string value of the credentials of at least :data:`MIN_SECRET_LENGTH` characters,
  and its URL-encoded forms (shorter values would mask innocent text everywhere);
- the password of any ``scheme://user:password@host`` URL, credentials or not, as
  SQLAlchemy and Dagster users expect.

Exceptions leaving our run code are replaced by sanitized copies (:meth:`Redactor.sanitize`):
same class name (a subclass of the original class, so ``isinstance`` and retry policies keep
working), redacted message and notes, redacted ``__cause__`` / ``__context__`` chain, and the
original traceback minus any frame whose source line shows a credential. Dagster builds its
``SerializableErrorInfo`` (message, stack, cause, context) from that copy, so the secret never
reaches events, the event log database or compute logs.
"""

from __future__ import annotations

import builtins
import functools
import linecache
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from dagster import Failure

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "RedactingFilter",
    "Redactor",
    "install_log_redaction",
]

MASK = "***"
#: Credential values shorter than this are not masked: they would hide innocent words.
MIN_SECRET_LENGTH = 4

# The password of `scheme://user:password@host`: the last `@` of the authority ends it.
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/?#@'\"]*:)(?P<password>[^\s/?#'\"]+)(?=@)"
)
_T = TypeVar("_T")
# Exception groups (Python 3.11+): their members are part of the chain to redact.
_GROUP: type[BaseException] | None = getattr(builtins, "BaseExceptionGroup", None)


def _is_group(exc: BaseException) -> bool:
    return _GROUP is not None and isinstance(exc, _GROUP)


def _strings(value: Any) -> Iterator[str]:
    """Every string leaf of a nested credentials structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<exception str() failed>"


def _frame_line(tb: TracebackType) -> str:
    frame = tb.tb_frame
    return linecache.getline(frame.f_code.co_filename, tb.tb_lineno, frame.f_globals)


def _traceback_frames(tb: TracebackType | None) -> Iterator[TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _rebuild(cls: type, message: str) -> BaseException:
    """Unpickle a sanitized exception (the dynamic class itself cannot be pickled by name)."""
    return _new_exception(cls, message, ())


@functools.cache
def _lookalike(cls: type, inherit: bool) -> type[BaseException]:
    """A class named as ``cls`` (name, module) whose instances print a stored message.

    It subclasses ``cls`` (``inherit``), so ``isinstance`` checks keep working, or else a
    plain ``Exception`` for classes that refuse subclasses or instances made without
    ``__init__``.
    """
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "__str__": lambda self: self.__dict__.get("_kd_message", ""),
        "__repr__": lambda self: f"{cls.__name__}({self.__dict__.get('_kd_message', '')!r})",
        "__reduce__": lambda self: (_rebuild, (cls, self.__dict__.get("_kd_message", ""))),
    }
    base: type[BaseException] = Exception if issubclass(cls, Exception) else BaseException
    try:
        return type(cls.__name__, (cls if inherit else base,), namespace)
    except TypeError:
        if not inherit:
            raise
        return _lookalike(cls, False)


def _new_exception(cls: type, message: str, group: tuple[BaseException, ...]) -> BaseException:
    """An exception shown as ``cls`` carrying ``message``, made without calling ``__init__``.

    ``__init__`` is skipped: constructors take other arguments and store attributes (SQL
    statements, file names, connection objects) that may hold the secret.
    """
    new: BaseException
    try:
        lookalike = _lookalike(cls, True)
        args = (message, list(group)) if group else (message,)
        new = lookalike.__new__(lookalike, *args)
    except Exception:  # a custom __new__ with other arguments
        lookalike = _lookalike(cls, False)
        new = lookalike.__new__(lookalike, message)
    if not _is_group(new):
        new.args = (message,)
    new.__dict__["_kd_message"] = message
    if isinstance(new, SyntaxError):
        new.msg = message
    return new


class Redactor:
    """Masks credential values and URL passwords in text, exceptions and metadata.

    Parameters
    ----------
    secrets : Iterable of str
        Values to mask wherever they appear (shorter than :data:`MIN_SECRET_LENGTH`: ignored).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = frozenset(
            s for s in secrets if isinstance(s, str) and len(s.strip()) >= MIN_SECRET_LENGTH
        )
        values: set[str] = set()
        for secret in self.secrets:
            values.update((secret, quote(secret), quote(secret, safe=""), quote_plus(secret)))
        # Longest first: a URL holding a password is masked whole, not around the password.
        ordered = sorted(values, key=lambda v: (-len(v), v))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @classmethod
    def from_credentials(cls, credentials: Any) -> Redactor:
        """A redactor for every string value of a (nested) credentials mapping."""
        return cls(_strings(credentials))

    def __repr__(self) -> str:
        # Never the values themselves.
        return f"Redactor({len(self.secrets)} masked values)"

    def merged(self, other: Redactor) -> Redactor:
        """A redactor masking what either masks (``self`` when it already does)."""
        if other.secrets <= self.secrets:
            return self
        return Redactor(self.secrets | other.secrets)

    def redact(self, text: str) -> str:
        """``text`` with credential values and URL passwords replaced by ``***``."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)

    def redact_value(self, value: Any) -> Any:
        """A metadata value with its text redacted (strings and Dagster text-like values)."""
        if isinstance(value, str):
            return self.redact(value)
        text = getattr(value, "value", None)
        if isinstance(text, str) and type(value).__module__.startswith("dagster"):
            redacted = self.redact(text)
            if redacted != text:
                return type(value)(redacted)
        return value

    def redact_metadata(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        """Materialization or output metadata with every string value redacted."""
        return {key: self.redact_value(value) for key, value in metadata.items()}

    # Exceptions -----------------------------------------------------------------------------

    def _chain(self, exc: BaseException) -> Iterator[BaseException]:
        """``exc`` and every exception it links to (cause, context, group members), once each."""
        seen: set[int] = set()
        stack = [exc]
        while stack:
            current = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            yield current
            linked = [current.__cause__, current.__context__]
            linked += list(getattr(current, "exceptions", None) or ())
            stack.extend(e for e in linked if isinstance(e, BaseException))

    def _shows_secret(self, text: str) -> bool:
        return self.redact(text) != text

    def needs_redaction(self, exc: BaseException) -> bool:
        """Whether the message, notes or traceback lines of ``exc`` or its chain show a secret."""
        for current in self._chain(exc):
            if self._shows_secret(_safe_str(current)):
                return True
            if any(self._shows_secret(str(note)) for note in getattr(current, "__notes__", ())):
                return True
            if any(
                self._shows_secret(_frame_line(tb))
                for tb in _traceback_frames(current.__traceback__)
            ):
                return True
        return False

    def _traceback(self, tb: TracebackType | None) -> tuple[TracebackType | None, int]:
        """``tb`` without the frames whose source line shows a secret, and how many were cut."""
        frames = list(_traceback_frames(tb))
        kept = [f for f in frames if not self._shows_secret(_frame_line(f))]
        if len(kept) == len(frames):
            return tb, 0
        rebuilt: TracebackType | None = None
        for frame in reversed(kept):
            rebuilt = TracebackType(rebuilt, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
        return rebuilt, len(frames) - len(kept)

    def _copy(self, exc: BaseException, memo: dict[int, BaseException]) -> BaseException:
        if id(exc) in memo:
            return memo[id(exc)]
        group = tuple(
            self._copy(e, memo) for e in (getattr(exc, "exceptions", None) or ()) if _is_group(exc)
        )
        message = self.redact(_safe_str(exc))
        if isinstance(exc, Failure):
            # Dagster reads a Failure's description and metadata into the step failure.
            new: BaseException = Failure(
                description=self.redact(exc.description or ""),
                metadata=self.redact_metadata(exc.metadata or {}),
                allow_retries=exc.allow_retries,
            )
        else:
            new = _new_exception(type(exc), message, group)
        memo[id(exc)] = new
        notes = [self.redact(str(note)) for note in getattr(exc, "__notes__", ())]
        traceback, cut = self._traceback(exc.__traceback__)
        if cut:
            notes.append(f"({cut} traceback frame(s) hidden: their source line shows a credential)")
        if notes:
            new.__dict__["__notes__"] = notes
        new.__traceback__ = traceback
        if exc.__cause__ is not None:
            new.__cause__ = self._copy(exc.__cause__, memo)
        if exc.__context__ is not None:
            new.__context__ = self._copy(exc.__context__, memo)
        new.__suppress_context__ = exc.__suppress_context__
        return new

    def sanitize(self, exc: _T) -> _T:
        """``exc`` itself when nothing in it shows a secret, else a redacted copy.

        The copy has the class name, redacted message, notes and chain of ``exc`` and its
        traceback without the frames whose source line shows a credential.
        """
        if not isinstance(exc, BaseException) or not self.needs_redaction(exc):
            return exc
        return self._copy(exc, {})  # type: ignore[return-value]

    def call(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
        """``fn(*args, **kwargs)``, re-raising any exception sanitized."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            error = self.sanitize(exc)
            if error is exc:
                raise
        if sys.exc_info()[1] is None:
            raise error
        # Raised while another exception is handled, Python would make that one (unsanitized)
        # the context: show the sanitized chain as the cause instead.
        cause = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        raise error from cause

    def wrap(self, fn: Callable[..., _T]) -> Callable[..., _T]:
        """``fn`` re-raising its exceptions sanitized."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> _T:
            return self.call(fn, *args, **kwargs)

        return wrapper


class RedactingFilter(logging.Filter):
    """Redacts the message, arguments and exception of every record passing a handler.

    Parameters
    ----------
    redactor : Redactor
        What to mask; :func:`install_log_redaction` merges later runs' redactors in.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # let the handler report the formatting error as it would
            return True
        redacted = self.redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            error = self.redactor.sanitize(record.exc_info[1])
            if error is not record.exc_info[1]:
                record.exc_info = (type(error), error, error.__traceback__)
                record.exc_text = None
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        return True


def install_log_redaction(redactor: Redactor) -> None:
    """Redact records written by this process's logging handlers during runs.

    The filter goes on the root logger's handlers (Kedro's console and file handlers: what
    compute logs capture) and on those of ``kedro_dagster.*`` loggers (the ``dagster.yml``
    loggers). Idempotent: a handler gets one filter, whose redactor grows with each run's.
    """
    loggers = [logging.getLogger()]
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if name.startswith("kedro_dagster") and isinstance(logger, logging.Logger):
            loggers.append(logger)
    for logger in loggers:
        for handler in logger.handlers:
            existing = next((f for f in handler.filters if isinstance(f, RedactingFilter)), None)
            if existing is None:
                handler.addFilter(RedactingFilter(redactor))
            else:
                existing.redactor = existing.redactor.merged(redactor)
