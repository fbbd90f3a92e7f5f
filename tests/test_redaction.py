"""Credential values never reach what a run stores or prints: events, compute logs, database."""

from __future__ import annotations

import importlib.util
import logging
import pickle
import subprocess
import sys
import traceback
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import KEDRO, run, subprocess_env, write_dagster_yml
from kedro_dagster.runtime.redaction import RedactingFilter, Redactor
from kedro_factory import describe, make_project

PASSWORD = "Pa55/w@rd-XYZ"
TOKEN = "tok_9f8e7d6c5b4a"
URL_ONLY = "UrlOnly999"  # a URL password that is not in credentials.yml
SECRETS = (PASSWORD, quote(PASSWORD, safe=""), TOKEN, URL_ONLY)

DATASETS_PY = """
from kedro.io import AbstractDataset
from urllib.parse import quote


class BrokenDbDataset(AbstractDataset):
    def __init__(self, table, credentials=None):
        self._table = table
        self._credentials = credentials or {}

    def _connect(self):
        user, password = self._credentials["user"], self._credentials["password"]
        try:
            raise OSError(f"password authentication failed for {user!r} ({password})")
        except OSError as exc:
            error = ConnectionError(
                f"could not connect to postgresql://{user}:{quote(password, safe='')}@db/app"
                f" nor to redis://:UrlOnly999@cache:6379/0"
            )
            if hasattr(error, "add_note"):  # Python 3.11+
                error.add_note(f"dsn: user={user} password={password}")
            raise error from exc

    def _load(self):
        self._connect()

    def _save(self, data):
        self._connect()

    def _describe(self):
        return {"table": self._table}


class ConfigDataset(AbstractDataset):
    def __init__(self, credentials=None):
        self._credentials = credentials or {}

    def _load(self):
        return dict(self._credentials)

    def _save(self, data):
        raise NotImplementedError

    def _describe(self):
        return {}
"""

REGISTRY = """
import logging

from kedro.pipeline import Pipeline, node


def count(table):
    return len(table)


def login(conf):
    # Kedro's console handler writes this to the step's stdout (the compute logs).
    logging.getLogger(__name__).warning("logging in with %s", conf["api_token"])
    raise RuntimeError(f"token {{conf['api_token']}} was refused by the API")


def copy(raw):
    return raw


def register_pipelines():
    pipeline = Pipeline([
        node(count, "db_table", "db_count", name="count"),
        node(login, "api_conf", "login_out", name="login"),
        node(copy, "raw", "db_sink", name="copy"),
    ])
    return {{"__default__": pipeline}}
"""


def _project(root: Path, package: str) -> Path:
    catalog = {
        "raw": {
            "type": "pandas.CSVDataset",
            "filepath": "data/raw.csv",
            "metadata": {"source": f"postgresql://reader:{URL_ONLY}@warehouse/raw"},
        },
        "db_table": {
            "type": f"{package}.datasets.BrokenDbDataset",
            "table": "orders",
            "credentials": "db",
        },
        "db_sink": {
            "type": f"{package}.datasets.BrokenDbDataset",
            "table": "sink",
            "credentials": "db",
        },
        "api_conf": {"type": f"{package}.datasets.ConfigDataset", "credentials": "api"},
    }
    credentials = {
        "db": {"user": "kd_reader", "password": PASSWORD, "port": 5432},
        "api": {"api_token": TOKEN},
    }
    project = make_project(
        root, package, catalog=catalog, registry=REGISTRY, credentials=credentials
    )
    (project / "src" / package / "datasets.py").write_text(DATASETS_PY)
    sequential, parallel = {"executor": "sequential"}, {"executor": "parallel"}
    write_dagster_yml(
        project,
        {
            "executors": {
                "sequential": {"in_process": {}},
                "parallel": {"multiprocess": {"max_concurrent": 2}},
            },
            "jobs": {
                "in_process": {"pipeline": {"pipeline_name": "__default__"}, **sequential},
                "multiprocess": {"pipeline": {"pipeline_name": "__default__"}, **parallel},
            },
        },
    )
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    return project


def _leaks(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    return [secret for secret in SECRETS if secret.encode() in data]


@pytest.mark.parametrize("job", ["in_process", "multiprocess"])
def test_secrets_are_nowhere_in_a_failed_run(tmp_path: Path, job: str) -> None:
    from dagster import DagsterEventType, DagsterInstance
    from dagster._serdes import serialize_value

    project = _project(tmp_path / "p", f"secret_{job}")
    home = tmp_path / "home"
    result = subprocess.run(
        [KEDRO, "dagster", "launch", "--job", job],
        cwd=project,
        env=subprocess_env(home),
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-4000:]
    assert not _leaks(output), output[-4000:]

    with DagsterInstance.from_config(str(home)) as instance:
        (dagster_run,) = instance.get_runs()
        assert dagster_run.status.value == "FAILURE"
        entries = instance.all_logs(dagster_run.run_id)
        for entry in entries:
            text = serialize_value(entry)
            assert not _leaks(text), text
        failures = {
            entry.step_key: serialize_value(entry)
            for entry in entries
            if entry.dagster_event and entry.dagster_event_type == DagsterEventType.STEP_FAILURE
        }
    # A failed load, a failed node and a failed save: each shows its class and the mask.
    assert set(failures) == {"count", "login", "copy"}, sorted(failures)
    assert "ConnectionError" in failures["count"] and "***" in failures["count"]
    # Every credential value is masked, the user name too.
    assert "could not connect to postgresql://***:***@db/app" in failures["count"]
    assert "redis://:***@cache" in failures["count"]
    if sys.version_info >= (3, 11):
        assert "password=***" in failures["count"]  # the note
    assert "ConnectionError" in failures["copy"] and "***" in failures["copy"]
    assert "RuntimeError" in failures["login"]
    assert "token *** was refused" in failures["login"]
    assert "builtins.RuntimeError" in failures["login"]  # for `on_pipeline_error`

    assert "logging in with ***" in output  # the node's log record, redacted
    storage = home / "storage"
    logs = [path for path in storage.rglob("*") if path.is_file()]
    assert any(path.suffix in (".err", ".out") for path in logs), logs
    for path in home.rglob("*"):  # compute logs, SQLite databases and their journals
        if path.is_file():
            assert not _leaks(path.read_bytes()), path


def test_asset_metadata_masks_url_passwords(tmp_path: Path) -> None:
    project = _project(tmp_path / "p", "secret_meta")
    raw = describe(project)["assets"]["raw"]
    assert raw["metadata"]["kedro/source"] == "postgresql://reader:***@warehouse/raw"


# The redactor itself ---------------------------------------------------------------------------


def _raise(exc: BaseException) -> None:
    raise exc


def _chained(redactor_secret: str) -> Exception:
    try:
        try:
            raise KeyError(f"context {redactor_secret}")
        except KeyError:
            _raise(OSError(f"cause {redactor_secret}"))
    except OSError as os_error:
        error = ValueError(f"top postgresql://u:{quote(redactor_secret, safe='')}@h/db")
        if hasattr(error, "add_note"):  # Python 3.11+
            error.add_note(f"note {redactor_secret}")
        try:
            raise error from os_error
        except ValueError as raised:
            return raised
    raise AssertionError("unreachable")


def test_redact_text() -> None:
    redactor = Redactor.from_credentials(
        {"db": {"password": "hunter22", "port": 5432, "user": "ab", "urls": ["s3://k:v@b"]}}
    )
    assert redactor.redact("pw hunter22 user ab") == "pw *** user ab"  # "ab": too short
    assert redactor.redact("x s3://k:v@b y") == "x *** y"  # the whole URL, not around parts
    assert (
        redactor.redact("http://h:8080/p and mysql://me:pw@h")
        == "http://h:8080/p and mysql://me:***@h"
    )
    assert redactor.redact("redis://:p@ss@h:1") == "redis://:***@h:1"
    assert "hunter22" not in repr(redactor)


def test_sanitize_nested_chain() -> None:
    redactor = Redactor([PASSWORD])
    original = _chained(PASSWORD)
    sanitized = redactor.sanitize(original)

    assert sanitized is not original
    assert type(sanitized).__name__ == "ValueError" and isinstance(sanitized, ValueError)
    assert str(sanitized) == "top postgresql://u:***@h/db"
    assert isinstance(sanitized.__cause__, OSError)
    assert str(sanitized.__cause__) == "cause ***"
    assert isinstance(sanitized.__cause__.__context__, KeyError)
    assert str(sanitized.__cause__.__context__) == "'context ***'"
    text = "".join(traceback.format_exception(sanitized))
    assert not _leaks(text), text
    assert "_chained" in text  # frames kept
    assert "note ***" in text or sys.version_info < (3, 11)
    assert "ValueError: top" in text and "OSError: cause" in text
    # Sanitized errors pickle (across processes) and print as the original class.
    assert (
        repr(pickle.loads(pickle.dumps(sanitized))) == "ValueError('top postgresql://u:***@h/db')"
    )
    # Nothing to hide: the very same exception, untouched.
    clean = ValueError("nothing secret")
    assert redactor.sanitize(clean) is clean


def test_dagster_error_info_and_outer_handler_hold_no_secret() -> None:
    from dagster._utils.error import serializable_error_info_from_exc_info

    redactor = Redactor([PASSWORD])
    try:
        try:
            raise RuntimeError(f"being handled {PASSWORD}")
        except RuntimeError:
            redactor.call(_raise, _chained(PASSWORD))
    except ValueError:
        info = serializable_error_info_from_exc_info(sys.exc_info())
    assert info.cls_name == "ValueError"
    assert not _leaks(info.to_string()), info.to_string()
    assert "***" in info.message and info.cause is not None


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups: Python 3.11+")
def test_exception_groups_and_unusual_constructors() -> None:
    import builtins

    exception_group = builtins.ExceptionGroup

    class NeedsTwo(Exception):
        def __init__(self, a: str, b: int) -> None:
            super().__init__(f"{a} {b}")

    redactor = Redactor([TOKEN])
    group = exception_group(f"group {TOKEN}", [NeedsTwo(TOKEN, 1), KeyError(TOKEN)])
    sanitized = redactor.sanitize(group)
    text = "".join(traceback.format_exception(sanitized))
    assert not _leaks(text), text
    assert "NeedsTwo: *** 1" in text and isinstance(sanitized, exception_group)


def test_traceback_frames_showing_a_secret_are_hidden(tmp_path: Path) -> None:
    module = tmp_path / "literal_secret.py"
    module.write_text(f"def connect():\n    raise ValueError('bad ' + {PASSWORD!r}[::-1][::-1])\n")
    spec = importlib.util.spec_from_file_location("literal_secret", module)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    try:
        loaded.connect()
    except ValueError as exc:
        sanitized = Redactor([PASSWORD]).sanitize(exc)
    text = "".join(traceback.format_exception(sanitized))
    assert not _leaks(text), text
    assert "1 traceback frame(s) hidden" in text
    assert "test_traceback_frames_showing_a_secret_are_hidden" in text


def test_failure_and_metadata_are_redacted() -> None:
    from dagster import Failure, MetadataValue

    redactor = Redactor([TOKEN])
    failure = Failure(description=f"failed {TOKEN}", metadata={"m": f"v {TOKEN}"})
    sanitized = redactor.sanitize(failure)
    assert isinstance(sanitized, Failure)
    assert sanitized.description == "failed ***"
    assert sanitized.metadata["m"] == MetadataValue.text("v ***")
    assert redactor.redact_metadata({"p": MetadataValue.path(f"/x/{TOKEN}"), "n": 3}) == {
        "p": MetadataValue.path("/x/***"),
        "n": 3,
    }


def test_log_filter_redacts_records(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("kedro_dagster.test_redaction")
    redacting = RedactingFilter(Redactor([TOKEN]))
    caplog.handler.addFilter(redacting)
    try:
        with caplog.at_level(logging.INFO, logger=logger.name):
            logger.info("token %s", TOKEN)
            try:
                raise ConnectionError(f"refused {TOKEN}")
            except ConnectionError:
                logger.exception("failed")
    finally:
        caplog.handler.removeFilter(redacting)
    assert not _leaks(caplog.text), caplog.text
    assert "token ***" in caplog.text and "ConnectionError: refused ***" in caplog.text
