"""A schedule of dagster.yml runs its job under the real Dagster daemon.

The schedule (``cron_schedule: "* * * * *"``, ``default_status: running``) becomes
``<job>__<schedule>``, running as soon as it is deployed: the test runs ``dagster-daemon run``
on the project without starting the schedule by hand, and waits for a run the schedule
launched to succeed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import BIN, EXAMPLE, copy_project, persisted_outputs, run, write_dagster_yml
from test_distributed import _background, _tails, _worker_env

PACKAGE = "spaceflights"
JOB = "data_processing"
SCHEDULE = f"{JOB}__every_minute"
SCHEDULE_TAG = "dagster/schedule_name"
#: A tick comes within a minute of the start; the daemon then queues, launches and runs it.
WAIT_SECONDS = 170


def _schedule_runs(home: Path) -> list:
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.from_config(str(home)) as instance:
        return list(instance.get_runs(filters=RunsFilter(tags={SCHEDULE_TAG: SCHEDULE})))


def _init_instance(home: Path) -> None:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_asset_keys()
        instance.get_daemon_heartbeats()


def _failures(home: Path, run_id: str) -> list[str]:
    """The messages and errors of a run's failure events, for the assertion message."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        lines = []
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or ("FAILURE" not in event.event_type_value and not entry.error_info):
                continue
            error = entry.error_info or getattr(event.event_specific_data, "error", None)
            lines.append(f"{event.event_type_value}: {entry.message}\n{error or ''}")
        return lines


@pytest.mark.timeout(600)
def test_schedule_launches_a_successful_run_under_the_daemon(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path / "project")
    write_dagster_yml(
        project,
        {
            "schedules": {
                "every_minute": {"cron_schedule": "* * * * *", "default_status": "running"}
            },
            "jobs": {JOB: {"pipeline": {"pipeline_name": JOB}, "schedule": "every_minute"}},
        },
    )
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = _worker_env(project, home)
    location = ["-m", f"{PACKAGE}.definitions", "-d", str(project)]
    dagster = str(BIN / "dagster")

    # Create the SQLite storages once, before several processes open them at the same time
    # (concurrent first use races on table creation).
    _init_instance(home)
    daemon = [str(BIN / "dagster-daemon"), "run", *location, "--log-level", "debug"]
    with _background({"daemon": daemon}, project, env, tmp_path / "logs") as logs:
        deadline = time.monotonic() + WAIT_SECONDS
        finished = []
        while time.monotonic() < deadline and not finished:
            time.sleep(3)
            runs = _schedule_runs(home)
            finished = [r for r in runs if r.status.value in ("SUCCESS", "FAILURE", "CANCELED")]
        if not finished:
            states = [(r.run_id, r.status.value) for r in _schedule_runs(home)]
            raise AssertionError(
                f"no run of {SCHEDULE} finished within {WAIT_SECONDS} s (runs: {states})\n"
                f"{_tails(logs)}"
            )
        # Stop the schedule before the daemon, so no further tick launches a run.
        run([dagster, "schedule", "stop", SCHEDULE, *location], project, env)

    scheduled = finished[0]
    assert scheduled.status.value == "SUCCESS", (
        f"scheduled run {scheduled.run_id} ended {scheduled.status.value}:\n"
        + "\n".join(_failures(home, scheduled.run_id))
        + f"\n{_tails(logs)}"
    )
    assert scheduled.job_name == JOB
    assert scheduled.tags["kedro/job"] == JOB
    # The run did the pipeline's work.
    written = persisted_outputs(project)
    assert any("model_input_table" in name for name in written), sorted(written)


def test_schedules_are_stopped_unless_declared_running() -> None:
    from dagster import DefaultScheduleStatus, job, op

    from kedro_dagster.config.models import ScheduleOptions
    from kedro_dagster.translation.schedules import ScheduleCreator

    @op
    def noop() -> None:
        pass

    @job
    def work() -> None:
        noop()

    creator = ScheduleCreator()
    stopped = creator.create(work, "daily", ScheduleOptions(cron_schedule="0 0 * * *"))
    running = creator.create(
        work, "daily", ScheduleOptions(cron_schedule="0 0 * * *", default_status="Running")
    )
    assert stopped.default_status == DefaultScheduleStatus.STOPPED
    assert running.default_status == DefaultScheduleStatus.RUNNING
    assert running.name == "work__daily"
