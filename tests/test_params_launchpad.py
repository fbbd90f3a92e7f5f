"""Parameters in the launchpad of the real `kedro dagster dev`, over GraphQL as the UI asks.

On a copy of ``examples/spaceflights``: the default run config the launchpad scaffolds
(``rootDefaultYaml``) holds every parameter with its value from ``conf/base/parameters*.yml``,
ops say which parameters they read, a mistyped key is refused naming it, and the scaffolded
config edited on one key is launched and changes an output file as ``kedro run --params``.
"""

from __future__ import annotations

import copy
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import EXAMPLE, copy_project, kedro_run
from dev_server import graphql, serve

LOCATION_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
DEFAULT_CONFIG = """
query($selector: PipelineSelector!) {
  runConfigSchemaOrError(selector: $selector) {
    __typename
    ... on RunConfigSchema { rootDefaultYaml }
    ... on PythonError { message }
  }
}
"""
VALIDATE = """
query($selector: PipelineSelector!, $config: RunConfigData) {
  isPipelineConfigValid(pipeline: $selector, mode: "default", runConfigData: $config) {
    __typename
    ... on RunConfigValidationInvalid { errors { message reason } }
  }
}
"""
OPS = """
query($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { solids { name definition { description } } }
  }
}
"""
LAUNCH = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on PythonError { message stack }
  }
}
"""
ASSET_OP = """
query($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) { op { name description } }
}
"""
STATUS = """
query($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }
"""
CAPACITY = "data/08_reporting/passenger_capacity_by_type.csv"


def _parameters_from_files(project: Path) -> dict[str, Any]:
    """The project's parameters, read from its YAML files (every one is used by `__default__`)."""
    merged: dict[str, Any] = {}
    for path in sorted((project / "conf/base").glob("parameters*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    assert merged
    return merged


def _wait_for_run(url: str, run_id: str, log: Path, seconds: float = 600) -> str:
    deadline = time.monotonic() + seconds
    status = "?"
    while time.monotonic() < deadline:
        status = graphql(url, STATUS, {"runId": run_id})["runOrError"]["status"]
        if status in {"SUCCESS", "FAILURE", "CANCELED"}:
            return str(status)
        time.sleep(2)
    raise AssertionError(f"run {run_id} still {status}\n{log.read_text()[-4000:]}")


@pytest.mark.timeout(900)
def test_launchpad_scaffolds_parameter_values_and_runs_an_edit(tmp_path: Path) -> None:
    project = copy_project(EXAMPLE, tmp_path / "spaceflights")
    expected_params = _parameters_from_files(project)
    kedro_side = copy_project(EXAMPLE, tmp_path / "kedro")
    kedro_run(kedro_side, "--params", "report_precision=1")
    log = tmp_path / "dev.log"
    with serve(project, tmp_path / "dagster_home", log) as url:
        (entry,) = graphql(url, LOCATION_QUERY)["workspaceOrError"]["locationEntries"]
        repository = {"repositoryLocationName": entry["name"], "repositoryName": "__repository__"}

        def selector(job: str) -> dict[str, str]:
            return {**repository, "pipelineName": job}

        # 1. What "Scaffold all default config" writes: every parameter, with its value.
        scaffolds = {}
        for job in ("__default__", "__ASSET_JOB"):
            answer = graphql(url, DEFAULT_CONFIG, {"selector": selector(job)})
            schema = answer["runConfigSchemaOrError"]
            assert schema["__typename"] == "RunConfigSchema", schema
            scaffolds[job] = yaml.safe_load(schema["rootDefaultYaml"])
            params = scaffolds[job]["resources"]["kedro_run"]["config"]["params"]
            assert params == expected_params, job
        assert "test_size: 0.2" in schema["rootDefaultYaml"]

        # 2. Each op names the parameters its node reads (Markdown, in backticks).
        answer = graphql(url, OPS, {"selector": selector("__default__")})["pipelineOrError"]
        assert answer["__typename"] == "Pipeline", answer
        descriptions = {s["name"]: s["definition"]["description"] for s in answer["solids"]}
        assert (
            "Parameters: `params:data_science.model_options`"
            in (descriptions["data_science__split_data_node"])
        )
        assert "`params:report_precision`" in descriptions["reporting__summarise_companies_node"]
        assert "Parameters" not in descriptions["data_science__predict_node"]
        keys = [{"path": ["data_science__regressor"]}]
        (asset,) = graphql(url, ASSET_OP, {"keys": keys})["assetNodes"]
        assert "Parameters: `params:data_science.model_options`" in asset["op"]["description"]

        # 3. A mistyped key is refused, naming the key and where it is.
        wrong = copy.deepcopy(scaffolds["__default__"])
        options = wrong["resources"]["kedro_run"]["config"]["params"]["data_science"]
        options["model_options"]["tset_size"] = options["model_options"].pop("test_size")
        answer = graphql(url, VALIDATE, {"selector": selector("__default__"), "config": wrong})
        result = answer["isPipelineConfigValid"]
        assert result["__typename"] == "RunConfigValidationInvalid", result
        messages = " | ".join(e["message"] for e in result["errors"])
        assert 'unexpected config entry "tset_size"' in messages, messages
        assert "params:data_science:model_options" in messages, messages

        # 4. The scaffold, edited on one key, launched: the run uses the edit.
        edited = copy.deepcopy(scaffolds["__default__"])
        edited["resources"]["kedro_run"]["config"]["params"]["report_precision"] = 1
        launched = graphql(
            url,
            LAUNCH,
            {
                "params": {
                    "selector": {**repository, "jobName": "__default__"},
                    "runConfigData": edited,
                }
            },
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        assert _wait_for_run(url, launched["run"]["runId"], log) == "SUCCESS"

    written = (project / CAPACITY).read_text()
    assert written == (kedro_side / CAPACITY).read_text()
    # The default precision (3) would leave 3 decimals in the means: the edit took effect.
    decimals = [len(d) for d in re.findall(r"\d\.(\d+)", written)]
    assert decimals and max(decimals) == 1, written
