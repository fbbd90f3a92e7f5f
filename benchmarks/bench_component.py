"""Load time: the Component layout against definitions.py (and what a snapshot could save).

    .venv/bin/python benchmarks/bench_component.py --nodes 100 500 --repeat 3

For each size, in a fresh interpreter per measurement (median of ``--repeat``):

- ``definitions``: what the generated ``definitions.py`` does, repository built;
- ``component``: the same project with ``kedro dagster init --layout component``, loaded by
  ``dg.load_from_defs_folder`` (what ``dg``'s code server does), repository built;
- ``read``: ``KedroProject.load`` alone (bootstrap, config, catalog, pipelines): the most a
  snapshot of the project (state-backed component) could save, since translation needs the
  live node functions anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

SNIPPETS = {
    "definitions": """
import sys, time
t = time.perf_counter()
from kedro_dagster import KedroProjectTranslator  # the body of the generated definitions.py
KedroProjectTranslator(project_path=sys.argv[1]).to_definitions().get_repository_def()
print(time.perf_counter() - t)
""",
    "component": """
import sys, time
from pathlib import Path
t = time.perf_counter()
import dagster as dg
defs = dg.load_from_defs_folder(path_within_project=Path(sys.argv[1]) / "src" / sys.argv[2])
defs.get_repository_def()
print(time.perf_counter() - t)
""",
    "read": """
import sys, time
t = time.perf_counter()
import dagster
from kedro_dagster.project import KedroProject
project = KedroProject.load(sys.argv[1], None)
project.pipelines, project.catalog, project.parameters
print(time.perf_counter() - t)
""",
}


def _time(mode: str, root: Path, package: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "DAGSTER_HOME": str(root / ".dh")}
    env.pop("KEDRO_ENV", None)
    out = subprocess.run(
        [sys.executable, "-c", SNIPPETS[mode], str(root), package],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from benchmarks.generate_project import generate_project

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.nodes:
            plain = generate_project(Path(tmp) / f"p{n}", n)
            (plain / ".telemetry").write_text("consent: false\n")
            package = next(p.name for p in (plain / "src").iterdir() if p.is_dir())
            comp = Path(tmp) / f"c{n}"
            shutil.copytree(plain, comp)
            kedro = [str(BIN / "kedro"), "dagster", "init"]
            subprocess.run(kedro, cwd=plain, check=True, capture_output=True)
            subprocess.run(
                [*kedro, "--layout", "component"], cwd=comp, check=True, capture_output=True
            )
            _time("definitions", plain, package)  # warm the file cache and .pyc files
            row = {}
            for mode, root in (("read", plain), ("definitions", plain), ("component", comp)):
                row[mode] = statistics.median(
                    _time(mode, root, package) for _ in range(args.repeat)
                )
            results[n] = row
            print(f"N={n}: " + ", ".join(f"{k} {v:.2f}s" for k, v in row.items()), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
