"""Serve a Kedro project with the real `kedro dagster dev` and talk to it over GraphQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import KEDRO

LOAD_TIMEOUT = 180.0

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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dev_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KEDRO_ENV", None)
    env["COLUMNS"] = "250"
    env.update(extra)
    return env


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
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


def tail(path: Path, chars: int = 8000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=30)
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
    return body["data"]


def wait_until_loaded(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + LOAD_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"`kedro dagster dev` exited with {proc.returncode}\n--- log tail ---\n{tail(log)}"
            )
        try:
            data = graphql(url, LOCATIONS_QUERY)
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
        f"--- log tail ---\n{tail(log)}"
    )


@contextlib.contextmanager
def serve(project: Path, dagster_home: Path, log: Path) -> Iterator[str]:
    """Run `kedro dagster dev` (webserver + daemon) on a free port; yield the GraphQL URL."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [KEDRO, "dagster", "dev", "--port", str(port)],
            cwd=project,
            env=dev_env(DAGSTER_HOME=str(dagster_home)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_loaded(url, proc, log)
        yield url
    finally:
        stop_process_group(proc)
