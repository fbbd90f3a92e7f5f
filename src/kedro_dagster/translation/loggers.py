"""Logger options to Dagster logger definitions, built with ``logging.config``'s configurator.

Formatters and filters are declared as in ``logging.config.dictConfig``, with ``"()"`` (a
factory called with the other keys) or ``class``. For a formatter, ``class`` with only the
``logging.Formatter`` keys (``format``, ``datefmt``, ``style``, ``validate``) is handled as by
``dictConfig``; with other keys it is called with them too (``format`` given as ``fmt`` when
it has no ``format`` parameter), which ``dictConfig`` would not do. A filter's ``class`` is
called with the other keys.

The handlers, formatters and filters are built when a run starts, in the run's process, and
attached to the Python logger ``kedro_dagster.loggers.<name>`` only: the process's other
logging configuration is left as it is (``dictConfig`` would close every existing handler).
"""

from __future__ import annotations

import copy
import logging
import logging.config
import threading
from typing import Any

from dagster import LoggerDefinition

from kedro_dagster.config.models import LoggerOptions

__all__ = ["LoggerCreator"]

#: Keys ``dictConfig`` passes to a ``class:`` formatter (``defaults`` since Python 3.12).
_FORMATTER_CLASS_KEYS = frozenset({"class", "format", "datefmt", "style", "validate", "defaults"})
_build_lock = threading.Lock()


def _formatter_config(entry: dict[str, Any]) -> dict[str, Any]:
    """A formatter entry ``dictConfig``'s configurator builds as the user means it."""
    entry = dict(entry)
    if "()" in entry or "class" not in entry or set(entry) <= _FORMATTER_CLASS_KEYS:
        return entry
    entry["()"] = entry.pop("class")  # dictConfig passes ``format`` as ``fmt`` if refused
    return entry


def _filter_config(entry: dict[str, Any]) -> dict[str, Any]:
    """``dictConfig`` only calls filter factories given with ``"()"``."""
    entry = dict(entry)
    if "class" in entry and "()" not in entry:
        entry["()"] = entry.pop("class")
    return entry


def _dict_config(logger_name: str, options: LoggerOptions) -> dict[str, Any]:
    """The ``dictConfig``-style configuration of the logger ``logger_name``."""
    handlers = {
        f"{logger_name}.handler{index}": dict(conf)
        for index, conf in enumerate(options.handlers or [])
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            name: _formatter_config(conf) for name, conf in (options.formatters or {}).items()
        },
        "filters": {name: _filter_config(conf) for name, conf in (options.filters or {}).items()},
        "handlers": handlers,
        "loggers": {
            logger_name: {
                "level": options.log_level,
                "handlers": list(handlers),
                "propagate": False,
            }
        },
    }


def _configure_logger(logger_name: str, config: dict[str, Any]) -> logging.Logger:
    """Build the handlers of ``config`` and set them on ``logger_name`` alone.

    The steps of ``DictConfigurator.configure`` for formatters, filters and handlers, without
    its reset of the process's logging (which closes every handler of every logger).
    """
    configurator = logging.config.DictConfigurator(copy.deepcopy(config))
    conf = configurator.config
    for section, build in (
        ("formatters", configurator.configure_formatter),
        ("filters", configurator.configure_filter),
    ):
        for name in list(conf[section]):
            try:
                conf[section][name] = build(conf[section][name])
            except Exception as exc:
                raise ValueError(f"Unable to configure {section[:-1]} '{name}': {exc}") from exc
    handlers = []
    for name in list(conf["handlers"]):
        try:
            handler = configurator.configure_handler(conf["handlers"][name])
        except Exception as exc:
            raise ValueError(f"Unable to configure handler '{name}': {exc}") from exc
        handler.name = name
        conf["handlers"][name] = handler
        handlers.append(handler)

    logger = logging.getLogger(logger_name)
    for old in list(logger.handlers):  # from an earlier run in this process
        logger.removeHandler(old)
        old.close()
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(config["loggers"][logger_name]["level"])
    logger.propagate = False
    logger.disabled = False
    return logger


class LoggerCreator:
    """Creates Dagster loggers from the ``loggers`` section of ``dagster.yml``."""

    def logger_name(self, name: str) -> str:
        """The Python logger name used for Dagster logger ``name``."""
        return f"kedro_dagster.loggers.{name}"

    def create(self, name: str, options: LoggerOptions) -> LoggerDefinition:
        """A logger definition whose handlers, formatters and filters follow ``options``.

        Parameters
        ----------
        name : str
            Logger name in ``dagster.yml``.
        options : LoggerOptions
            Level, handlers, formatters and filters.

        Returns
        -------
        LoggerDefinition
            Built in the run's process when a run of a job using it starts.
        """
        python_name = self.logger_name(name)
        config = _dict_config(python_name, options)

        def build(_init_context: Any) -> logging.Logger:
            with _build_lock:
                return _configure_logger(python_name, config)

        return LoggerDefinition(
            logger_fn=build, description=f"kedro-dagster logger `{name}` ({options.log_level})"
        )

    @staticmethod
    def run_config(logger_names: list[str]) -> dict[str, Any]:
        """Default run config of a job activating Dagster's console logger and ``logger_names``.

        Dagster only uses the loggers a run's config names (the console logger when it names
        none), so a job choosing loggers needs this as its default config.
        """
        return {"loggers": {name: {} for name in ["console", *logger_names]}}
