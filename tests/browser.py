"""A real Chromium (Debian's package) driven by Playwright, for tests of the Dagster UI.

Playwright's own browser download is not used: the system browser is launched by path
(``KEDRO_DAGSTER_CHROMIUM``, else ``chromium`` on ``PATH``; ``scripts/services`` installs it).
Screenshots go to ``artifacts/ui-screenshots/`` (``KEDRO_DAGSTER_SCREENSHOTS`` overrides it),
which CI keeps as artifacts and ``docs/ui.md`` links to.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, missing_service

SCREENSHOTS = Path(
    os.environ.get("KEDRO_DAGSTER_SCREENSHOTS", REPO / "artifacts" / "ui-screenshots")
)

# Headless, offline, nothing started in the background: only the page under test talks.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 1000}


def chromium_path() -> str:
    """The system Chromium, installed by ``scripts/services`` when missing."""
    configured = os.environ.get("KEDRO_DAGSTER_CHROMIUM")
    if configured and os.access(configured, os.X_OK):
        return configured
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        result = subprocess.run(
            ["bash", str(REPO / "scripts" / "services")],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found is None:
            missing_service(
                "Chromium is not installed and scripts/services could not install it:\n"
                + result.stderr[-2000:]
            )
    assert found is not None
    return found


def browser_session() -> Iterator[Any]:
    """A Playwright browser on the system Chromium (generator for a pytest fixture)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # a dev dependency: scripts/setup installs it
        missing_service("Playwright for Python is not installed (uv sync installs it)")
        raise
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def dismiss_popups(page: Any) -> None:
    """Close Dagster's first-visit dialog ("Join the Dagster community") if it is open."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=3000)
    except Exception:
        return
    skip.click()
    skip.wait_for(state="hidden", timeout=5000)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ``<SCREENSHOTS>/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fail_with_page(page: Any, name: str, message: str) -> None:
    """Fail with what the page shows, its screenshot saved for the CI artifacts."""
    path = screenshot(page, f"FAILED-{name}")
    text = page.inner_text("body")[-4000:]
    pytest.fail(f"{message}\nscreenshot: {path}\n--- page text (end) ---\n{text}")
