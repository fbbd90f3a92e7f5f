"""Schedule options to Dagster schedule definitions."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, JobDefinition, ScheduleDefinition

from kedro_dagster.config.models import ScheduleOptions

__all__ = ["ScheduleCreator"]


class ScheduleCreator:
    """Creates the Dagster schedule of a job from the named :class:`ScheduleOptions`."""

    def schedule_name(self, job_name: str, schedule_name: str) -> str:
        """Name of the schedule of one job (a schedule may serve several jobs)."""
        return f"{job_name}__{schedule_name}"

    def create(
        self, job: JobDefinition, schedule_name: str, options: ScheduleOptions
    ) -> ScheduleDefinition:
        """The schedule running ``job`` on ``options.cron_schedule``.

        Parameters
        ----------
        job : JobDefinition
            The job to run.
        schedule_name : str
            Name of the schedule in ``dagster.yml``.
        options : ScheduleOptions
            Cron string, timezone, description, metadata and default status.

        Returns
        -------
        ScheduleDefinition
        """
        return ScheduleDefinition(
            name=self.schedule_name(job.name, schedule_name),
            cron_schedule=options.cron_schedule,
            job=job,
            execution_timezone=options.execution_timezone,
            description=options.description,
            metadata=options.metadata,
            default_status=DefaultScheduleStatus(options.default_status),
        )
