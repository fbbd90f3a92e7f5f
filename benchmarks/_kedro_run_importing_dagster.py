"""``kedro run`` in a process that has imported Dagster (and opened its instance) first.

The least any launch through Dagster can cost beyond ``kedro run``: a run of a Dagster job
needs ``import dagster`` and the instance (its SQL storage), whatever runs the job. No
Dagster job is run here.

Usage (in a Kedro project, ``DAGSTER_HOME`` set)::

    python _kedro_run_importing_dagster.py [--instance] [kedro run options]
"""

from __future__ import annotations

import sys

import dagster


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--instance"]:
        args = args[1:]
        # Opening the storages as a run does: the run storage (a query) and the event log.
        with dagster.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.event_log_storage.get_maximum_record_id()
    from kedro.framework.cli import main as kedro_main

    sys.argv = ["kedro", "run", *args]
    kedro_main()


if __name__ == "__main__":
    main()
