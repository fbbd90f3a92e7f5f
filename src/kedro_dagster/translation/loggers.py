"""Logger options to Dagster logger definitions, built with ``logging.config``."""

from __future__ import annotations

import logging
import logging.config
from typing import Any

from dagster import LoggerDefinition

from kedro_dagster.config.models import LoggerOptions

__all__ = ["LoggerCreator"]


def _factory_form(entry: dict[str, Any]) -> dict[str, Any]:
    """``class:`` and ``"()":`` both name a factory; dictConfig wants ``"()"`` for filters."""
    entry = dict(entry)
    if "class" in entry and "()" not in entry:
        entry["()"] = entry.pop("class")
    return entry


def _dict_config(logger_name: str, options: LoggerOptions) -> dict[str, Any]:
    formatters = {
        name: _factory_form(conf) if "class" in conf and "format" not in conf else dict(conf)
        for name, conf in (options.formatters or {}).items()
    }
    filters = {name: _factory_form(conf) for name, conf in (options.filters or {}).items()}
    handlers = {
        f"{logger_name}.handler{index}": dict(conf)
        for index, conf in enumerate(options.handlers or [])
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters,
        "filters": filters,
        "handlers": handlers,
        "loggers": {
            logger_name: {
                "level": options.log_level,
                "handlers": list(handlers),
                "propagate": False,
            }
        },
    }


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
        """
        python_name = self.logger_name(name)
        config = _dict_config(python_name, options)

        def build(_init_context: Any) -> logging.Logger:
            logging.config.dictConfig(config)
            return logging.getLogger(python_name)

        return LoggerDefinition(
            logger_fn=build, description=f"kedro-dagster logger '{name}' ({options.log_level})"
        )
