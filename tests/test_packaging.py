"""What the wheel ships: type information, and one version string."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import kedro_dagster
from compat import tomllib
from conftest import REPO


def test_version_comes_from_pyproject() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert kedro_dagster.__version__ == pyproject["project"]["version"]
    # Nothing else spells it: a release bumps pyproject.toml only.
    init = (REPO / "src" / "kedro_dagster" / "__init__.py").read_text()
    assert pyproject["project"]["version"] not in init


def test_wheel_ships_py_typed(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv, "uv builds the wheel"
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("kedro_dagster-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kedro_dagster/py.typed" in names
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name.startswith(f"kedro_dagster-{version}-")


def _release(version: str) -> tuple[int, ...]:
    parts = [int(part) for part in version.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def _supported_versions(markdown: str) -> dict[str, tuple[str, str]]:
    """Package -> (lowest, newest) of the first version table after `Supported`."""
    table = markdown[markdown.index("Supported") :]
    rows: dict[str, tuple[str, str]] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1][:1].isdigit():
            if rows:
                break
            continue
        for name in cells[0].split(", "):
            rows[name.split(" (")[0]] = (cells[1], cells[2].split(" ")[0])
    return rows


def test_supported_versions_table_is_what_is_declared_and_tested() -> None:
    """README's table: lower bounds of pyproject.toml = the pins CI tests, newest = uv.lock."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lower = {}
    for requirement in pyproject["dependencies"]:
        name, _, rest = requirement.partition(">=")
        lower[name] = rest.split(",")[0]
    lowest_in = {}
    for line in (REPO / ".ci" / "lowest.in").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, _, version = line.partition("==")
            lowest_in[name.split("[")[0]] = version
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    locked = {p["name"]: p["version"] for p in lock["package"] if "version" in p}

    readme = _supported_versions((REPO / "README.md").read_text())
    assert readme["Python"][0] == pyproject["requires-python"].removeprefix(">=")
    for name in ("kedro", "dagster", "dagster-webserver", "dagster-dg-cli", "kedro-datasets"):
        lowest, newest = readme[name]
        assert _release(lowest) == _release(lower[name]), name  # `>=8` is 8.0.0
        assert lowest_in[name] == lowest, name
        assert locked[name] == newest, name
    assert readme["pydantic"] == (lower["pydantic"], locked["pydantic"])
    # The docs site's table is the README's.
    docs = _supported_versions((REPO / "docs" / "getting-started.md").read_text())
    assert docs == {name: readme[name] for name in docs}
