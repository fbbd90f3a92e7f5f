"""The logging configuration of the Dagster processes the ``kedro dagster`` commands start.

Those processes (``dg list defs``, ``dg launch``, ``dg dev`` and the servers it starts) apply
the project's Kedro logging configuration, which usually logs to stdout through Kedro's
``RichHandler``. Three things then hide what the user needs: ``dg`` captures stdout while it
loads definitions (a load error is swallowed), ``--json`` output shares stdout with the logs,
and Rich markup parses text in brackets (a file path in an error message crashes the handler).
So the processes get, through ``KEDRO_LOGGING_CONFIG``, the project's configuration with:

- every console handler on stderr, Rich ones as :class:`kedro_dagster.logging.RichHandler`
  (markup only where Kedro asks for it);
- a stderr handler for warnings and errors when no console handler is attached to the root
  logger (a project logging to files only), so a failure is never silent;
- Dagster's ``dagster`` logger writing through the root logger's handlers, not to stdout;
- the ``--log-level`` and ``--log-format`` chosen on the command line.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["CONSOLE_HANDLER_NAME", "kedro_logging_config"]

#: The handler added when the root logger has no console handler.
CONSOLE_HANDLER_NAME = "kedro_dagster_console"
_FORMATTER_NAME = "kedro_dagster"
_STDERR = "ext://sys.stderr"
_SAFE_RICH_HANDLER = "kedro_dagster.logging.RichHandler"
_RICH_HANDLERS = {"kedro.logging.RichHandler", "rich.logging.RichHandler", _SAFE_RICH_HANDLER}
_STREAM_HANDLERS = {"StreamHandler", "logging.StreamHandler"}
_FORMATTER_CLASSES = {
    "colored": "kedro_dagster.logging.DagsterColoredFormatter",
    "json": "kedro_dagster.logging.DagsterJsonFormatter",
    "rich": "kedro_dagster.logging.DagsterRichFormatter",
}
_FALLBACK_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


def _is_console(handler: Any) -> bool:
    if not isinstance(handler, dict):
        return False
    cls = handler.get("class")
    if cls in _RICH_HANDLERS:
        return True
    # A StreamHandler without a stream writes to stderr; with one, only the standard streams
    # are the console (a handler given another stream object is left alone).
    return cls in _STREAM_HANDLERS and handler.get("stream", _STDERR) in (
        _STDERR,
        "ext://sys.stdout",
    )


def kedro_logging_config(
    base: dict[str, Any],
    log_level: str | None = None,
    log_format: str | None = None,
    package_name: str | None = None,
) -> dict[str, Any]:
    """The Kedro logging configuration ``base``, made safe for the processes of a command.

    Parameters
    ----------
    base : dict
        A Kedro logging configuration (``conf/logging.yml`` or Kedro's default).
    log_level : str, optional
        Level of the ``kedro``, ``kedro_dagster`` and project package loggers and of the
        console handlers.
    log_format : str, optional
        ``colored``, ``json`` or ``rich``: the console handlers become stream handlers with
        the matching formatter of :mod:`kedro_dagster.logging`.
    package_name : str, optional
        The project package, whose logger takes ``log_level`` too.

    Returns
    -------
    dict
        A new configuration, with ``class`` keys only: Kedro's ``configure_logging`` accepts it
        when ``kedro_dagster`` is in ``KEDRO_LOGGING_MODULE_ALLOWLIST``. File handlers are kept
        as they are.
    """
    config = copy.deepcopy(base)
    config.setdefault("version", 1)
    config.setdefault("disable_existing_loggers", False)
    handlers = config.get("handlers") or {}
    config["handlers"] = handlers
    formatters = config.get("formatters") or {}
    if log_format:
        formatters[_FORMATTER_NAME] = {"class": _FORMATTER_CLASSES[log_format.lower()]}
    consoles = [name for name, handler in handlers.items() if _is_console(handler)]
    for name in consoles:
        handlers[name] = _on_stderr(handlers[name], log_format)

    root = config.get("root") or {}
    config["root"] = root
    if not set(root.get("handlers") or []) & set(consoles):
        # Files only: errors (a definitions load failing, a run failing) still reach the user.
        handler: dict[str, Any] = {"class": "logging.StreamHandler", "stream": _STDERR}
        if log_format:
            handler["formatter"] = _FORMATTER_NAME
        else:
            formatters["kedro_dagster_plain"] = {"format": _FALLBACK_FORMAT}
            handler["formatter"] = "kedro_dagster_plain"
            handler["level"] = "WARNING"
        handlers[CONSOLE_HANDLER_NAME] = handler
        root["handlers"] = [*(root.get("handlers") or []), CONSOLE_HANDLER_NAME]
        consoles.append(CONSOLE_HANDLER_NAME)
    if formatters:
        config["formatters"] = formatters
    loggers = config.get("loggers") or {}
    config["loggers"] = loggers
    # Dagster gives its `dagster` logger a stdout handler (`dg check defs`, the code server);
    # applied after it, this sends Dagster's records (a definitions load error among them)
    # through the root's handlers instead: on stderr, once.
    loggers.setdefault("dagster", {"handlers": [], "propagate": True})

    if log_level:
        level = log_level.upper()
        for name in consoles:
            handlers[name]["level"] = level
        for name in filter(None, ("kedro", "kedro_dagster", package_name)):
            loggers[name] = {**(loggers.get(name) or {}), "level": level}
    return config


def _on_stderr(handler: dict[str, Any], log_format: str | None) -> dict[str, Any]:
    """A console handler writing to stderr, formatted as ``log_format`` when given."""
    if log_format:
        new = {"class": "logging.StreamHandler", "formatter": _FORMATTER_NAME, "stream": _STDERR}
        new.update({key: handler[key] for key in ("level", "filters") if key in handler})
        return new
    if handler["class"] in _RICH_HANDLERS:
        return {**handler, "class": _SAFE_RICH_HANDLER}
    return {**handler, "stream": _STDERR}
