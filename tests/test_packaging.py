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
