"""The Dagster UI of the example project, in a real browser, as a Kedro user meets it.

One real ``kedro dagster dev`` serves a copy of ``examples/spaceflights`` on 127.0.0.1; Debian's
Chromium, driven by Playwright, reads the pages a user reads and clicks what a user clicks. The
expected texts come from the project's own files (``catalog.yml``, ``parameters*.yml``, its node
code), not from our translation. Every page visited is saved as a screenshot (see
``tests/browser.py``), failed checks too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from browser import VIEWPORT, browser_session, dismiss_popups, fail_with_page, screenshot
from conftest import EXAMPLE, copy_project, kedro_run
from dev_server import graphql, serve

pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("ui_browser")]

#: The job whose parameter the launchpad test edits, and the parameter (a float of the example).
JOB = "data_science"
PARAMETER = ("data_science", "model_options", "test_size")
NEW_VALUE = "0.3"
METRICS = Path("data/08_reporting/metrics.json")
#: What the example's `evaluate_model` node logs with `logging.getLogger(__name__).info`.
NODE_LOG_PREFIX = "Model has a coefficient R^2 of"
RUN_TIMEOUT = 420.0

LOCATION_QUERY = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { location { name } } } } }"
)
RUN_STATUS_QUERY = """
query ($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }
"""


class UI:
    """The served project: its folder, the webserver's root URL and the code location."""

    def __init__(self, project: Path, graphql_url: str) -> None:
        self.project = project
        self.graphql_url = graphql_url
        self.root = graphql_url.removesuffix("/graphql")
        nodes = graphql(graphql_url, LOCATION_QUERY)["repositoriesOrError"]["nodes"]
        self.location = nodes[0]["location"]["name"]

    def url(self, path: str) -> str:
        return f"{self.root}{path}"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    root = tmp_path_factory.mktemp("ui")
    project = copy_project(EXAMPLE, root / "spaceflights")
    # `kedro run` writes the inputs of the data_science job and the metrics the edit must change.
    kedro_run(project)
    with serve(project, root / "dagster_home", root / "dev.log") as url:
        yield UI(project, url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_session()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    dismiss_popups(page)


def _catalog(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / "conf/base/catalog.yml").read_text())


def _parameter_value(project: Path) -> Any:
    """The value of PARAMETER in the project's base parameter files."""
    for path in sorted((project / "conf/base").glob("parameters*.yml")):
        node: Any = yaml.safe_load(path.read_text()) or {}
        for part in PARAMETER:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return node
    raise AssertionError(f"parameter {'.'.join(PARAMETER)} not found in conf/base")


def _editor_text(page: Any) -> str:
    """The launchpad's YAML, as its CodeMirror editor holds it (off-screen lines included)."""
    return str(page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()"))


def test_asset_page_shows_description_group_and_kinds(ui: UI, page: Any) -> None:
    entry = _catalog(ui.project)["companies"]
    _open(page, ui.url("/assets/companies"))
    page.get_by_text(entry["metadata"]["description"]).wait_for()
    screenshot(page, "01-asset-companies")
    # The right-hand "Definition" panel: its smallest ancestor that also holds "Kinds".
    definition = page.get_by_text("Definition", exact=True).locator(
        "xpath=ancestor::*[.//text()[.='Kinds']][1]"
    )
    text = definition.inner_text()
    group = entry["metadata"]["group_name"]
    if not re.search(rf"Group\s+{re.escape(group)}\b", text):
        fail_with_page(page, "asset-group", f"group {group!r} not shown in the Definition panel")
    library = entry["type"].split(".")[0]  # pandas.CSVDataset -> pandas
    for kind in ("Kedro", library):
        if kind not in text.split("Kinds", 1)[-1]:
            fail_with_page(page, "asset-kinds", f"kind {kind!r} not shown under Kinds")


def test_job_page_renders_the_description_as_written(ui: UI, page: Any) -> None:
    _open(page, ui.url(f"/locations/{ui.location}/jobs/__default__"))
    description = page.locator("p", has_text="Kedro pipeline").first
    description.wait_for()
    screenshot(page, "02-job-default")
    text = description.inner_text()
    if "__default__" not in text or description.locator("strong, b").count():
        fail_with_page(
            page, "job-description", f"the description reads {text!r}, not the pipeline name"
        )


@pytest.fixture(scope="module")
def launched(ui: UI, browser: Any) -> Iterator[dict[str, Any]]:
    """Edit the parameter in the launchpad, launch, wait for the run: what the user saw."""
    before = (ui.project / METRICS).read_bytes()
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _open(page, ui.url(f"/locations/{ui.location}/jobs/{JOB}/playground"))
        page.locator(".CodeMirror").wait_for()
        scaffold = page.get_by_role("button", name="Scaffold all default config")
        if scaffold.is_enabled():
            scaffold.click()
        default = _parameter_value(ui.project)
        key = PARAMETER[-1]
        try:
            page.wait_for_function(
                f"() => document.querySelector('.CodeMirror').CodeMirror.getValue()"
                f".includes({json.dumps(f'{key}: {default}')})",
                timeout=15_000,
            )
        except Exception:
            fail_with_page(
                page, "launchpad-scaffold", f"the launchpad never shows '{key}: {default}'"
            )
        scaffolded = _editor_text(page)
        screenshot(page, "03-launchpad-scaffolded")

        # Edit the value as a user does: cursor at the end of its line, delete, type.
        lines = scaffolded.splitlines()
        line = next(i for i, text in enumerate(lines) if text.strip().startswith(f"{key}:"))
        page.evaluate(
            "(line) => { const cm = document.querySelector('.CodeMirror').CodeMirror;"
            " cm.focus(); cm.setCursor({line: line, ch: cm.getLine(line).length}); }",
            line,
        )
        for _ in str(default):
            page.keyboard.press("Backspace")
        page.keyboard.type(NEW_VALUE)
        edited = _editor_text(page)
        assert f"{key}: {NEW_VALUE}" in edited, edited
        screenshot(page, "04-launchpad-edited")

        page.get_by_role("button", name="Launch Run").click()
        page.wait_for_url(re.compile(r".*/runs/[0-9a-f-]{36}.*"), timeout=60_000)
        run_id = re.search(r"/runs/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
        status = _wait_for_run(ui, run_id)
        page.reload(wait_until="networkidle")
        dismiss_popups(page)
        yield {
            "page": page,
            "run_id": run_id,
            "status": status,
            "scaffolded": scaffolded,
            "before": before,
            "after": (ui.project / METRICS).read_bytes(),
        }
    finally:
        context.close()


def _wait_for_run(ui: UI, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    status = "?"
    while time.monotonic() < deadline:
        run = graphql(ui.graphql_url, RUN_STATUS_QUERY, {"runId": run_id})["runOrError"]
        status = run.get("status", run["__typename"])
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(2)
    return status


def test_launchpad_edit_acts_as_params_and_changes_the_output(
    ui: UI, launched: dict[str, Any]
) -> None:
    page = launched["page"]
    screenshot(page, "05-run")
    if launched["status"] != "SUCCESS":
        fail_with_page(page, "run-status", f"the launched run ended {launched['status']}")
    page.get_by_text("Success", exact=True).first.wait_for()
    assert launched["after"] != launched["before"], "metrics.json did not change with the edit"
    baseline = json.loads(launched["before"])
    edited = json.loads(launched["after"])
    assert set(edited) == set(baseline)


def test_event_log_shows_the_nodes_own_log_line(ui: UI, launched: dict[str, Any]) -> None:
    page = launched["page"]
    source = (ui.project / "src/spaceflights/pipelines/data_science/nodes.py").read_text()
    assert NODE_LOG_PREFIX in source  # the line comes from the project's own logging call
    search = page.get_by_placeholder(re.compile("Filter", re.IGNORECASE)).first
    search.fill(NODE_LOG_PREFIX)
    line = page.get_by_text(NODE_LOG_PREFIX).first
    try:
        line.wait_for(timeout=20_000)
    except Exception:
        fail_with_page(page, "event-log", f"no event log message starting {NODE_LOG_PREFIX!r}")
    screenshot(page, "06-run-event-log-node-line")
