"""Mark failed the runs whose process we had to kill, so that none stays STARTED forever.

A run interrupted by SIGTERM or SIGINT is marked failed by Dagster itself. One whose op does
not return to Python in time (a long call into C) is killed with SIGKILL, which leaves it
STARTED: this records its failure in its place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Mapping, Sequence
from functools import partial

from kedro_dagster._child_process import run_child

logger = logging.getLogger(__name__)

MESSAGE = (
    "kedro-dagster killed this run's process: it had not stopped within the grace period "
    "after SIGTERM or SIGINT."
)


def run_dagster_child(
    cmd: Sequence[str],
    env: Mapping[str, str],
    cwd: str | os.PathLike[str],
    stdout: int | None = None,
) -> int:
    """:func:`~kedro_dagster._child_process.run_child` for a Dagster command of ``env``'s instance.

    Parameters
    ----------
    cmd
        The command line.
    env
        The environment of the child, with ``DAGSTER_HOME``.
    cwd
        Its working directory.
    stdout
        A file descriptor for the child's stdout (default: this process's stdout).

    Returns
    -------
    int
        The exit code of the command (``128 + n`` when signal ``n`` ended it).
    """
    on_killed = partial(fail_killed_runs, env["DAGSTER_HOME"])
    return run_child(cmd, env, cwd, on_killed=on_killed, stdout=stdout)


def fail_killed_runs(dagster_home: str, pids: Collection[int]) -> list[str]:
    """Mark failed the unfinished runs of ``dagster_home`` started by one of ``pids``.

    Parameters
    ----------
    dagster_home
        The instance's folder.
    pids
        The processes killed.

    Returns
    -------
    list[str]
        The ids of the runs marked failed.
    """
    try:
        return _fail(dagster_home, set(pids), MESSAGE)
    except Exception as exc:  # the exit must not hide the stop; the user is told what remains
        logger.warning("Could not mark the killed runs as failed in %s: %s", dagster_home, exc)
        return []


def _fail(dagster_home: str, pids: set[int], message: str) -> list[str]:
    from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunsFilter

    failed: list[str] = []
    unfinished = [DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
    with DagsterInstance.from_config(dagster_home) as instance:
        for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
            starts = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
            if not any(e.dagster_event and e.dagster_event.pid in pids for e in starts):
                continue
            if run.status == DagsterRunStatus.CANCELING:
                instance.report_run_canceled(run, message)
            else:
                instance.report_run_failed(run, message)
            failed.append(run.run_id)
    return failed
