"""Imported last by a ``parallel`` run's own forkserver: resolves the run's job there once.

Its workers are forked from that forkserver with the project imported and its definitions
built, so none translates the project again (see ``run_forkserver.RunForkServer``).
"""

from __future__ import annotations

from kedro_dagster.runtime.run_forkserver import preload_job_from_environment

preload_job_from_environment()
