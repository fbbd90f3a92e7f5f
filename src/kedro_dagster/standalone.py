"""``kedro-dagster ...``: ``kedro dagster ...`` with stdout kept for the command's own output.

The ``kedro`` command configures logging, and logs which configuration it uses, when it
starts, before any plugin runs: with Kedro's default configuration that line is on stdout, in
front of ``kedro dagster list defs --json``'s document. ``kedro-dagster`` chooses the logging
configuration before Kedro starts (the project's, with consoles on stderr, see
:mod:`kedro_dagster.console_logging`), then runs the same commands.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from kedro_dagster.console_logging import kedro_logging_config

__all__ = ["main"]

_ALLOWLIST = "KEDRO_LOGGING_MODULE_ALLOWLIST"


def _base_logging_config() -> dict[str, Any]:
    """The configuration Kedro would apply here (same search order as Kedro's)."""
    candidates = [os.environ.get("KEDRO_LOGGING_CONFIG")]
    # Kedro looks for conf/logging.yml relative to the working directory.
    candidates += [f"conf/logging{suffix}" for suffix in (".yml", ".yaml")]
    spec = importlib.util.find_spec("kedro")
    if spec is not None and spec.origin:
        candidates.append(str(Path(spec.origin).parent / "framework/project/rich_logging.yml"))
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if path.is_file():
            return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return {}


def main() -> None:
    """Run ``kedro dagster`` with the arguments given, Kedro's own logs on stderr."""
    folder = tempfile.mkdtemp(prefix="kedro_dagster_logging_")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "logging.yml"
    path.write_text(yaml.safe_dump(kedro_logging_config(_base_logging_config())), "utf-8")
    os.environ["KEDRO_LOGGING_CONFIG"] = str(path)
    allowlist = [m for m in os.environ.get(_ALLOWLIST, "").split(",") if m]
    os.environ[_ALLOWLIST] = ",".join([*allowlist, "kedro_dagster"])

    from kedro.framework.cli.cli import main as kedro_main  # after the environment is set

    sys.argv = [sys.argv[0], "dagster", *sys.argv[1:]]
    kedro_main()
