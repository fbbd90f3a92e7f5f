"""What a step writes to the run's event log: Dagster's events for the node, little more.

Every stored event is a write to the instance's storage (a connection and a commit on SQLite):
the per-step cost of a run grows with them. A node op emits one output event per dataset it
writes (none extra to order the end op), no hook event (``on_pipeline_error`` is not a
Dagster hook of every op), Kedro's INFO progress lines stay on the console, and MemoryDatasets
passed between processes log no file lines. The ``after_pipeline_run`` op still runs after
every node, also after a node writing nothing.
"""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from conftest import EXECUTORS, launch_default_job
from kedro_factory import NODES_PY

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import check, identity, make_table, summarise


def register_pipelines():
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
        node(identity, "summary", "summary_copy", name="copy_summary"),
        node(check, "table", None, name="check_table"),
    ])
    return {{"__default__": pipeline}}
"""

CHECK = '''

def check(table):
    """A node writing nothing."""
    assert len(table) == 3
'''


def _events(tmp_path: Path, executor: str) -> list:
    from dagster import DagsterInstance

    _, home, dagster_run = launch_default_job(
        tmp_path, "stepev", executor, REGISTRY, NODES_PY + CHECK
    )
    with DagsterInstance.from_config(str(home)) as instance:
        return list(instance.all_logs(dagster_run.run_id))


@pytest.mark.parametrize("executor", sorted(EXECUTORS))
def test_a_step_emits_its_outputs_only(tmp_path: Path, executor: str) -> None:
    events = _events(tmp_path, executor)
    outputs = collections.Counter(
        e.step_key for e in events if e.dagster_event and e.dagster_event_type == "STEP_OUTPUT"
    )
    # One output event per dataset a node writes; one for the node writing nothing.
    assert outputs["make_table"] == 1, outputs
    assert outputs["summarise"] == 1, outputs
    assert outputs["copy_summary"] == 1, outputs
    assert outputs["check_table"] == 1, outputs
    # The end op waits for every node, the one writing nothing and the last of the chain.
    order = [
        (e.step_key, e.dagster_event_type)
        for e in events
        if e.dagster_event and e.dagster_event_type in {"STEP_SUCCESS", "STEP_START"}
    ]
    end = order.index(("after_pipeline_run", "STEP_START"))
    for step in ("make_table", "summarise", "copy_summary", "check_table"):
        assert order.index((step, "STEP_SUCCESS")) < end, order
    # Kedro's "Loading data from ..." / "Running node ..." are not events of the run, nor are
    # the file lines of MemoryDatasets passed between processes.
    messages = [e.user_message for e in events if e.dagster_event is None]
    noise = ("Loading data", "Running node", "Writing file at", "Loading file from")
    assert not [m for m in messages if m.startswith(noise)], messages
    # A successful step stores no hook event (HOOK_SKIPPED / HOOK_COMPLETED).
    hooks = [
        e.dagster_event_type
        for e in events
        if e.dagster_event and "HOOK" in str(e.dagster_event_type)
    ]
    assert not hooks, hooks


def test_run_scoped_pickles_keep_dagsters_paths_and_log_no_file_lines(tmp_path: Path) -> None:
    import pickle

    import dagster as dg

    from kedro_dagster.runtime.io_managers import RunScopedPickles

    @dg.op
    def produce() -> dict:
        return {"a": 1}

    @dg.op
    def consume(value: dict) -> dict:
        return value

    manager = dg.IOManagerDefinition.hardcoded_io_manager(RunScopedPickles(str(tmp_path)))

    @dg.job(resource_defs={"io_manager": manager})
    def chain() -> None:
        consume(produce())

    result = chain.execute_in_process()
    assert result.success and result.output_for_node("consume") == {"a": 1}
    # <base>/<run_id>/<step>/<output>, as Dagster's filesystem IO manager (re-execution).
    stored = tmp_path / result.run_id / "produce" / "result"
    assert pickle.loads(stored.read_bytes()) == {"a": 1}
    messages = [e.message for e in result.all_events]
    assert not [m for m in messages if m and m.startswith(("Writing file", "Loading file"))]
