"""``python -m kedro_dagster._dg_main <command> [args]``: dg's own CLI, told its command first.

``kedro dagster launch`` (and ``check``, ``list``) run dg in a child process. Given a command it
has not registered yet, dg defines its whole command tree first, which imports every command's
modules (``labs``, ``plus``, ``scaffold``, ...: about 0.3 s on each run). Registering the one
command asked for skips that; everything else is dg's CLI as the ``dg`` script runs it. dg
releases that define all commands at import are left as they are.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import suppress

#: The dg commands registered ahead, and where dg defines them.
_COMMANDS = {
    "launch": ("dagster_dg_cli.cli.launch", "launch_command"),
    "check": ("dagster_dg_cli.cli.check", "check_group"),
    "list": ("dagster_dg_cli.cli.list", "list_group"),
}


def main(argv: list[str] | None = None) -> None:
    """Run dg's CLI with ``argv`` (``sys.argv[1:]`` by default)."""
    args = sys.argv[1:] if argv is None else argv
    # `python -m` put the working directory first on `sys.path`, where the `dg` script has its
    # own folder: Dagster takes that first entry off when it imports the project, either way.
    from dagster_dg_cli import cli as dg_cli

    group = dg_cli.cli
    where = _COMMANDS.get(args[0]) if args else None
    if where is not None and args[0] not in group.commands:
        with suppress(ImportError, AttributeError):  # another dg layout: dg defines it
            group.add_command(getattr(importlib.import_module(where[0]), where[1]))
    group.main(args, prog_name="dg", auto_envvar_prefix=getattr(dg_cli, "ENV_PREFIX", "DAGSTER_DG"))


if __name__ == "__main__":
    main()
