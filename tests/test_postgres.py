"""A Dagster instance on PostgreSQL (docs/production.md): runs and materializations land there.

A throw-away PostgreSQL server is started on loopback in a temporary data directory
(``initdb`` + ``pg_ctl``, as the ``postgres`` user when the tests run as root), with the
``dagster.yaml`` of docs/production.md pointing at it.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import (
    REPO,
    copy_project,
    dagster_launch,
    materialized_assets,
    missing_service,
    runs_in,
)

DB_NAME = "dagster_kedro_test"
_DATABASES = itertools.count()


def _pg_bindir() -> Path | None:
    given = os.environ.get("KEDRO_DAGSTER_PG_BINDIR")
    candidates = [Path(given)] if given else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(repr, command))]


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[dict[str, object]]:
    """A PostgreSQL server on 127.0.0.1 with an empty database; stopped and removed after."""
    bindir = _pg_bindir()
    if bindir is None:
        subprocess.run(["bash", str(REPO / "scripts" / "services")], timeout=600, check=False)
        bindir = _pg_bindir()
    if bindir is None:
        missing_service("PostgreSQL is not installed and scripts/services could not install it")
    if os.geteuid() == 0:
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            missing_service("running as root and there is no 'postgres' user to run PostgreSQL")

    root = Path(tempfile.mkdtemp(prefix="kedro-dagster-pg-"))
    root.chmod(0o755)
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        _run(_as_postgres_user([*initdb, "-E", "UTF8", "--no-sync"]))
        # Loopback only, the socket in the temporary folder, no fsync (throw-away data).
        options = f"-h 127.0.0.1 -p {port} -k {root} -F"
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-o", options]
        _run(_as_postgres_user([*pg_ctl, "-l", str(root / "postgres.log"), "-w", "start"]))

        yield {"hostname": "127.0.0.1", "port": port, "username": "postgres"}
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                capture_output=True,
                timeout=120,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres(postgres_server: dict[str, object]) -> dict[str, object]:
    """A new database of the module's server, for one test."""
    import psycopg2

    name = f"{DB_NAME}_{next(_DATABASES)}"
    connection = psycopg2.connect(
        host=postgres_server["hostname"],
        port=postgres_server["port"],
        user=postgres_server["username"],
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    connection.close()
    return {**postgres_server, "db_name": name}


def _documented_dagster_yaml() -> dict:
    """The PostgreSQL dagster.yaml of docs/production.md (the first yaml block there)."""
    text = (REPO / "docs" / "production.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block, "docs/production.md has no yaml block"
    return yaml.safe_load(block.group(1))


def _sql(postgres: dict[str, object], query: str, *args: object) -> list[tuple]:
    import psycopg2

    connection = psycopg2.connect(
        host=postgres["hostname"],
        port=postgres["port"],
        user=postgres["username"],
        dbname=postgres["db_name"],
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, args)
            return list(cursor.fetchall())
    finally:
        connection.close()


def _postgres_home(
    postgres: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A DAGSTER_HOME with the documented dagster.yaml, its variables pointing at ``postgres``."""
    config = _documented_dagster_yaml()
    env = {
        "DAGSTER_PG_HOST": str(postgres["hostname"]),
        "DAGSTER_PG_PORT": str(postgres["port"]),
        "DAGSTER_PG_USER": str(postgres["username"]),
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "DAGSTER_PG_DB": str(postgres["db_name"]),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config["telemetry"] = {"enabled": False}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


@pytest.mark.timeout(600)
def test_runs_and_materializations_are_stored_in_postgres(
    postgres: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _documented_dagster_yaml()
    # The documented file reads the connection from environment variables.
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["password"] == {"env": "DAGSTER_PG_PASSWORD"}
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert db["scheme"] == "postgresql+psycopg2"
    home = _postgres_home(postgres, tmp_path, monkeypatch)

    project = copy_project(REPO / "examples" / "spaceflights", tmp_path / "project")
    dagster_launch(project, "__default__", home)

    rows = _sql(postgres, "SELECT run_id, pipeline_name, status FROM runs")
    assert len(rows) == 1, rows
    run_id, job_name, status = rows[0]
    assert (job_name, status) == ("__default__", "SUCCESS")
    (run,) = runs_in(home)  # the instance API reads the same database
    assert run.run_id == run_id

    keys = {
        row[0]
        for row in _sql(
            postgres,
            "SELECT asset_key FROM event_logs WHERE run_id = %s "
            "AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            run_id,
        )
    }
    from dagster import AssetKey

    materialized = {AssetKey.from_db_string(key).to_user_string() for key in keys}
    assert "data_science__regressor" in materialized, materialized
    assert "model_input_table" in materialized, materialized
    assert materialized == materialized_assets(home, run_id)
    # The asset catalog (asset_keys) knows them as materialized by this run.
    indexed = {row[0] for row in _sql(postgres, "SELECT asset_key FROM asset_keys")}
    assert keys <= indexed
    # Schedule storage lives there too (its tables were created), and nothing went to SQLite.
    tables = {
        row[0]
        for row in _sql(
            postgres, "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
        )
    }
    assert {"runs", "event_logs", "jobs", "job_ticks"} <= tables, tables
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))


@pytest.mark.timeout(600)
def test_a_parallel_run_stores_its_workers_events_in_postgres(
    postgres: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers start from the run's process (forked, by default on Linux) while it holds
    # its PostgreSQL storage: each stores its steps' events over its own connections.
    home = _postgres_home(postgres, tmp_path, monkeypatch)
    project = copy_project(REPO / "examples" / "spaceflights", tmp_path / "project")
    dagster_yml = project / "conf" / "base" / "dagster.yml"
    config = yaml.safe_load(dagster_yml.read_text())
    config["jobs"]["__default__"]["executor"] = "parallel"
    dagster_yml.write_text(yaml.safe_dump(config, sort_keys=False))
    dagster_launch(project, "__default__", home)

    ((run_id, status),) = _sql(postgres, "SELECT run_id, status FROM runs")
    assert status == "SUCCESS"
    rows = _sql(
        postgres,
        "SELECT dagster_event_type, step_key, event FROM event_logs WHERE run_id = %s",
        run_id,
    )
    from dagster import deserialize_value

    pids = {
        kind: {deserialize_value(event).dagster_event.pid for k, _, event in rows if k == kind}
        for kind in ("RUN_START", "STEP_START")
    }
    succeeded = [key for kind, key, _ in rows if kind == "STEP_SUCCESS"]
    # The example's 12 nodes and the two pipeline-hook ops, each once, in worker processes.
    assert len(succeeded) == len(set(succeeded)) == 14, succeeded
    assert 1 <= len(pids["STEP_START"]) <= 2 and not pids["STEP_START"] & pids["RUN_START"]
    assert (project / "data" / "06_models" / "regressor.pickle").exists()
