"""A `parallel` worker plans each step from the job's whole plan, built once per run."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterRun
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.execution.retries import RetryMode

from kedro_dagster.runtime.pool_worker import StepPlans, Task

JOBS = """
import dagster as dg


@dg.op(config_schema={"factor": int})
def first(context) -> int:
    return context.op_config["factor"]


@dg.op
def double(x: int) -> int:
    return 2 * x


@dg.op
def add(x: int, y: int) -> int:
    return x + y


@dg.job
def static():
    value = first()
    add(double(value), double(value))


@dg.op(out=dg.DynamicOut(int))
def fan_out():
    for i in range(3):
        yield dg.DynamicOutput(i, mapping_key=str(i))


@dg.job
def dynamic():
    fan_out().map(double)
"""

RUN_CONFIG = {"ops": {"first": {"config": {"factor": 3}}}}


def _recon(tmp_path: Path, name: str) -> ReconstructableJob:
    module = tmp_path / "jobs_module.py"
    module.write_text(textwrap.dedent(JOBS))
    return ReconstructableJob.for_file(str(module), name)


def _task(step_key: str, run_id: str, run_config: Any, known: KnownExecutionState) -> Task:
    return Task(
        step_key=step_key,
        dagster_run=DagsterRun(job_name="static", run_id=run_id, run_config=run_config),
        run_config=run_config,
        known_state=known,
        retry_mode=RetryMode.DISABLED,
        repository_load_data=None,
    )


def _shape(plan: ExecutionPlan) -> tuple[Any, ...]:
    """What a step's execution reads of its plan."""
    steps = [plan.get_step_by_key(key) for key in plan.step_keys_to_execute]
    return (
        plan.step_keys_to_execute,
        plan.known_state,
        plan.artifacts_persisted,
        [[(i.name, i.source) for i in step.step_inputs] for step in steps],
        [[o.name for o in step.step_outputs] for step in steps],
    )


def test_each_step_plan_is_create_execution_plans_and_the_whole_plan_is_built_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recon = _recon(tmp_path, "static")
    builds: list[Any] = []
    original = ExecutionPlan.build

    def counted(*args: Any, **kwargs: Any) -> ExecutionPlan:
        builds.append(kwargs.get("step_keys_to_execute"))
        return original(*args, **kwargs)

    plans = StepPlans()
    keys = ["first", "double", "double_2", "add"]
    # A retried step: its known state carries the previous attempts.
    retried = KnownExecutionState(previous_retry_attempts={"double": 1})
    expected = {
        key: _shape(
            create_execution_plan(
                recon, RUN_CONFIG, step_keys_to_execute=[key], known_state=retried
            )
        )
        for key in keys
    }
    monkeypatch.setattr(ExecutionPlan, "build", staticmethod(counted))
    for key in keys:
        assert _shape(plans.plan(recon, _task(key, "run-1", RUN_CONFIG, retried))) == expected[key]
    assert builds == [None]  # the whole plan, once for the run
    # Another run (another config) is planned again.
    other = {"ops": {"first": {"config": {"factor": 5}}}}
    plans.plan(recon, _task("add", "run-2", other, KnownExecutionState()))
    assert builds == [None, None]


def test_a_job_with_dynamic_outputs_is_planned_for_each_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recon = _recon(tmp_path, "dynamic")
    known = KnownExecutionState(
        dynamic_mappings={"fan_out": {"result": ["0", "1", "2"]}},
        ready_outputs=set(),
    )
    expected = _shape(
        create_execution_plan(recon, {}, step_keys_to_execute=["double[1]"], known_state=known)
    )
    plans = StepPlans()
    assert _shape(plans.plan(recon, _task("double[1]", "run-1", {}, known))) == expected
    builds: list[Any] = []
    original = ExecutionPlan.build

    def counted(*args: Any, **kwargs: Any) -> ExecutionPlan:
        builds.append(kwargs.get("step_keys_to_execute"))
        return original(*args, **kwargs)

    monkeypatch.setattr(ExecutionPlan, "build", staticmethod(counted))
    assert _shape(plans.plan(recon, _task("double[2]", "run-1", {}, known)))[0] == ["double[2]"]
    assert builds == [["double[2]"]]  # from the step's known state, not a cached plan
