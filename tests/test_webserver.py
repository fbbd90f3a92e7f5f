"""`kedro dagster dev` serves the example project: every asset and job is visible over GraphQL.

The webserver is started exactly as a user would (the real ``kedro dagster dev`` CLI in a
copy of ``examples/spaceflights``). The expected assets and jobs are derived from the Kedro
project itself (its pipeline, ``catalog.yml`` and ``dagster.yml``), not from the translator.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLE, copy_project
from dev_server import dev_env, graphql, serve

ASSETS_QUERY = "{ assetNodes { assetKey { path } } }"
JOBS_QUERY = """
{
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name jobs { name } } }
    ... on PythonError { message }
  }
}
"""


def _expected_from_kedro(project: Path) -> tuple[set[str], set[str]]:
    """Assets: catalog datasets used by `__default__`; jobs: the keys of `jobs` in dagster.yml."""
    script = (
        "import json, sys\n"
        "from kedro.framework.startup import bootstrap_project\n"
        "bootstrap_project(sys.argv[1])\n"
        "from kedro.framework.project import pipelines\n"
        "print('DATASETS=' + json.dumps(sorted(pipelines['__default__'].datasets())))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(project)],
        cwd=project,
        env=dev_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("DATASETS="))
    used = set(json.loads(line.removeprefix("DATASETS=")))

    catalog = yaml.safe_load((project / "conf/base/catalog.yml").read_text())
    declared = {name for name in catalog if not name.startswith("_")}  # `_x` = YAML anchors
    persisted = {
        name for name in used & declared if name != "parameters" and not name.startswith("params:")
    }
    assets = {name.replace(".", "__") for name in persisted}

    dagster_yml = yaml.safe_load((project / "conf/base/dagster.yml").read_text())
    jobs = set(dagster_yml["jobs"])
    assert assets and jobs
    return assets, jobs


@pytest.fixture
def served_project(tmp_path: Path) -> Iterator[tuple[Path, str, Path]]:
    """A copy of the example served by the real `kedro dagster dev`: (project, graphql url, log)."""
    project = tmp_path / "spaceflights"
    copy_project(EXAMPLE, project)
    dagster_home = tmp_path / "dagster_home"
    log = tmp_path / "kedro_dagster_dev.log"
    with serve(project, dagster_home, log) as url:
        # `kedro dagster dev` honours DAGSTER_HOME and writes the instance config there.
        assert (dagster_home / "dagster.yaml").is_file()
        assert not (project / ".dagster_home").exists()
        yield project, url, log


@pytest.mark.timeout(300)
def test_dev_webserver_serves_every_asset_and_job(served_project: tuple[Path, str, Path]) -> None:
    project, url, _log = served_project
    expected_assets, expected_jobs = _expected_from_kedro(project)

    asset_nodes = graphql(url, ASSETS_QUERY)["assetNodes"]
    served_assets = {"/".join(node["assetKey"]["path"]) for node in asset_nodes}
    missing_assets = expected_assets - served_assets
    assert not missing_assets, (
        f"assets missing from the webserver: {sorted(missing_assets)}; "
        f"served: {sorted(served_assets)}"
    )

    repositories = graphql(url, JOBS_QUERY)["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    served_jobs = {job["name"] for repo in repositories["nodes"] for job in repo["jobs"]}
    missing_jobs = expected_jobs - served_jobs
    assert not missing_jobs, (
        f"jobs missing from the webserver: {sorted(missing_jobs)}; served: {sorted(served_jobs)}"
    )
    unexpected = served_jobs - expected_jobs - {"__ASSET_JOB"}
    assert not unexpected, f"jobs not declared in dagster.yml: {sorted(unexpected)}"
