"""`run_params` of pipeline hooks: the keys `kedro run` gives them on the installed Kedro.

Kedro 1.0-1.2 name the run `session_id` (1.3+: `run_id`) and Kedro 1.0-1.1 give one
`pipeline_name` (1.2+: a `pipeline_names` list). A project hook written against its Kedro
must find the same keys under Dagster; CI runs this test on both ends of the supported range.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import KEDRO, run, runs_in, subprocess_env, write_dagster_yml
from kedro_factory import make_project

RECORDER = """
import json
import os

from kedro.framework.hooks import hook_impl


class RunParamsRecorder:
    def _record(self, hook, run_params):
        run_id = run_params.get("run_id", run_params.get("session_id"))
        with open(os.environ["HOOK_LOG"], "a") as f:
            f.write(json.dumps({"hook": hook, "keys": sorted(run_params), "id": run_id}) + "\\n")

    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        self._record("before_pipeline_run", run_params)

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        self._record("after_pipeline_run", run_params)
"""


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_run_params_keys_match_kedro_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", "run_params_keys")
    package = project / "src" / "run_params_keys"
    (package / "hooks.py").write_text(RECORDER)
    (package / "settings.py").write_text(
        "from run_params_keys.hooks import RunParamsRecorder\n\nHOOKS = (RunParamsRecorder(),)\n"
    )
    write_dagster_yml(project, {"jobs": {"__default__": {}}})
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())  # keeps dagster.yml

    kedro_log, dagster_log = tmp_path / "kedro.jsonl", tmp_path / "dagster.jsonl"
    run([KEDRO, "run"], cwd=project, env=subprocess_env(HOOK_LOG=str(kedro_log)))
    home = tmp_path / "home"
    run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(home, HOOK_LOG=str(dagster_log)),
    )

    kedro_records, dagster_records = _records(kedro_log), _records(dagster_log)
    assert [r["hook"] for r in dagster_records] == [r["hook"] for r in kedro_records]
    for kedro_record, dagster_record in zip(kedro_records, dagster_records, strict=True):
        assert dagster_record["keys"] == kedro_record["keys"], dagster_record["hook"]
    # The key Kedro names the run by carries the Dagster run id.
    (dagster_run,) = runs_in(home)
    assert {r["id"] for r in dagster_records} == {dagster_run.run_id}


def test_runtime_params_of_a_run_config() -> None:
    """Edited `params` (what differs from the launchpad's values) over `runtime_params`."""
    from kedro_dagster.runtime.context import config_runtime_params

    defaults = {"model": {"alpha": 0.1, "depth": 3}, "title": "base"}
    unedited = {"params": defaults}
    assert config_runtime_params(unedited, defaults) is None
    edited = {"params": {"model": {"alpha": 0.5, "depth": 3}, "title": "base"}}
    assert config_runtime_params(edited, defaults) == {"model": {"alpha": 0.5}}
    both = {
        **edited,
        "runtime_params": {"run_date": "2024-01-01", "model": {"alpha": 9, "seed": 1}},
    }
    assert config_runtime_params(both, defaults) == {
        "run_date": "2024-01-01",
        "model": {"alpha": 0.5, "seed": 1},
    }
