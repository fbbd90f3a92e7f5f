"""Plugins that need more than Kedro hooks to span the processes of a Dagster run.

Kedro hooks assume one process per run; a Dagster run spreads over step processes (and asset
runs have no start or end op). A plugin whose state must follow the run across them (MLflow
through kedro-mlflow today) implements :class:`RunIntegration`; the run context calls it at
the few points where a process or a step begins or ends. Nothing else in the run world knows
about a given plugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["RunIntegration", "default_integrations"]


class RunIntegration(Protocol):
    """What the run context tells a plugin integration (one instance per run and process)."""

    def on_process_start(self, run: Any) -> None:
        """The process was prepared for the run (its context and catalog hooks fired)."""

    def on_step_start(self, run: Any) -> None:
        """A node, dataset or pipeline hook of the run is about to be used in this process.

        Called often (before every load and save): must be cheap once done.
        """

    def on_step_end(self, run: Any, failed: bool) -> None:
        """An asset step of the run ended (asset runs have no end op)."""

    def on_pipeline_start(self, run: Any, log: Any) -> None:
        """The job's start op fired ``before_pipeline_run`` (once per run)."""

    def output_metadata(self, run: Any) -> Mapping[str, Any]:
        """Extra materialization metadata for an output saved now."""

    def wants_run_tags(self, run: Any) -> bool:
        """Whether it may still read run tags another process adds (``run.tags`` kept fresh).

        A process running several steps of a run reads the stored run again before each
        step only while an integration says so.
        """


def default_integrations() -> list[RunIntegration]:
    """The integrations of a run: fresh state for each run context."""
    from kedro_dagster.runtime.mlflow import MlflowIntegration

    return [MlflowIntegration()]
