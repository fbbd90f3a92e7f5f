"""A process running steps holds the run's SQLite event log open, and lets it go afterwards.

Dagster's SQLite event log opens and closes a connection per stored event; when the last
connection closes, SQLite checkpoints the write-ahead log and deletes it. While a step runs,
the run's ``<run_id>.db-wal`` must therefore exist (held open by the step's process), and once
the run is over it must be gone (nothing left open). The node itself looks at the files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import EXECUTORS, launch_default_job
from kedro_factory import NODES_PY

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import look, make_table


def register_pipelines():
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(look, "table", "seen", name="look"),
    ])
    return {{"__default__": pipeline}}
"""

LOOK = '''

def look(table):
    """The run's write-ahead log files while this node runs."""
    import glob
    import os

    import pandas as pd

    runs = os.path.join(os.environ["DAGSTER_HOME"], "history", "runs")
    return pd.DataFrame({"wal": sorted(os.path.basename(p) for p in glob.glob(runs + "/*.db-wal"))})
'''

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "seen": {"type": "pandas.CSVDataset", "filepath": "data/seen.csv"},
}


@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_the_run_event_log_is_held_open_during_steps_only(tmp_path: Path, executor: str) -> None:
    project, home, dagster_run = launch_default_job(
        tmp_path, "evlog", executor, REGISTRY, NODES_PY + LOOK, catalog=CATALOG
    )

    seen = (project / "data/seen.csv").read_text().split()
    assert f"{dagster_run.run_id}.db-wal" in seen, seen
    assert not (home / "history" / "runs" / f"{dagster_run.run_id}.db-wal").exists()
