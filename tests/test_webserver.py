"""`kedro dagster dev` serves the example project: every asset and job is visible over GraphQL.

The webserver is started exactly as a user would (the real ``kedro dagster dev`` CLI in a
copy of ``examples/spaceflights``). The expected assets and jobs are derived from the Kedro
project itself (its pipeline, ``catalog.yml`` and ``dagster.yml``), not from the translator.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from conftest import EXAMPLE, KEDRO, copy_project

LOAD_TIMEOUT = 180.0

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
LOCATIONS_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message stack } }
      }
    }
    ... on PythonError { message }
  }
}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KEDRO_ENV", None)
    env["COLUMNS"] = "250"
    env.update(extra)
    return env


def _stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group (`kedro`, `dagster dev`, webserver, daemon, code server), then SIGKILL.

    `dagster dev` 1.13 does not exit on SIGTERM/SIGINT here (its children linger), so the group
    is killed after a grace period.
    """
    pgid = proc.pid  # start_new_session=True: the kedro process leads its own group
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                try:
                    os.killpg(pgid, 0)  # are children of the group still alive?
                except ProcessLookupError:
                    return
            time.sleep(0.2)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _tail(path: Path, chars: int = 8000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _graphql(url: str, query: str) -> dict:
    response = requests.post(url, json={"query": query}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
    return body["data"]


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
        env=_env(),
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
    port = _free_port()
    log = tmp_path / "kedro_dagster_dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [KEDRO, "dagster", "dev", "--port", str(port)],
            cwd=project,
            env=_env(DAGSTER_HOME=str(dagster_home)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        _wait_until_loaded(url, proc, log)
        # `kedro dagster dev` honours DAGSTER_HOME and writes the instance config there.
        assert (dagster_home / "dagster.yaml").is_file()
        assert not (project / ".dagster_home").exists()
        yield project, url, log
    finally:
        _stop_process_group(proc)


def _wait_until_loaded(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + LOAD_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"`kedro dagster dev` exited with {proc.returncode}\n--- log tail ---\n{_tail(log)}"
            )
        try:
            data = _graphql(url, LOCATIONS_QUERY)
        except (requests.RequestException, ValueError, AssertionError) as exc:
            last = repr(exc)
            time.sleep(1)
            continue
        workspace = data["workspaceOrError"]
        entries = workspace.get("locationEntries") or []
        last = json.dumps(workspace)[:2000]
        if entries and all(e["loadStatus"] == "LOADED" for e in entries):
            errors = [
                e["locationOrLoadError"]
                for e in entries
                if (e["locationOrLoadError"] or {}).get("__typename") == "PythonError"
            ]
            if errors:
                pytest.fail(f"code location failed to load: {json.dumps(errors)[:6000]}")
            return
        time.sleep(1)
    pytest.fail(
        f"code location not loaded after {LOAD_TIMEOUT:.0f}s (last: {last})\n"
        f"--- log tail ---\n{_tail(log)}"
    )


@pytest.mark.timeout(300)
def test_dev_webserver_serves_every_asset_and_job(served_project: tuple[Path, str, Path]) -> None:
    project, url, _log = served_project
    expected_assets, expected_jobs = _expected_from_kedro(project)

    asset_nodes = _graphql(url, ASSETS_QUERY)["assetNodes"]
    served_assets = {"/".join(node["assetKey"]["path"]) for node in asset_nodes}
    missing_assets = expected_assets - served_assets
    assert not missing_assets, (
        f"assets missing from the webserver: {sorted(missing_assets)}; "
        f"served: {sorted(served_assets)}"
    )

    repositories = _graphql(url, JOBS_QUERY)["repositoriesOrError"]
    assert repositories["__typename"] == "RepositoryConnection", repositories
    served_jobs = {job["name"] for repo in repositories["nodes"] for job in repo["jobs"]}
    missing_jobs = expected_jobs - served_jobs
    assert not missing_jobs, (
        f"jobs missing from the webserver: {sorted(missing_jobs)}; served: {sorted(served_jobs)}"
    )
    unexpected = served_jobs - expected_jobs - {"__ASSET_JOB"}
    assert not unexpected, f"jobs not declared in dagster.yml: {sorted(unexpected)}"
