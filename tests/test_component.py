"""`kedro_dagster.KedroProjectComponent`: dg scaffolds it; `dg list/check defs`, `dev` load it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from conftest import KEDRO, materialized_assets, run, runs_in, subprocess_env
from dev_server import graphql, serve
from kedro_factory import make_project

DG = str(Path(sys.executable).parent / "dg")
COMPONENT = "kedro_dagster.KedroProjectComponent"

DEFINITIONS_PY = """
from pathlib import Path

import dagster as dg


@dg.definitions
def defs():
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
"""


def dg_project(root: Path, package: str = "dataplatform") -> Path:
    """A bare dg project (no Kedro): dg.toml and a package loading its defs folder."""
    (root / "src" / package / "defs").mkdir(parents=True)
    (root / "dg.toml").write_text(
        f'directory_type = "project"\n\n[project]\nroot_module = "{package}"\n'
    )
    (root / "src" / package / "__init__.py").write_text("")
    (root / "src" / package / "definitions.py").write_text(DEFINITIONS_PY)
    return root


def dg(root: Path, home: Path, *args: str) -> str:
    return run([DG, *args], cwd=root, env=subprocess_env(home, PYTHONPATH=str(root / "src"))).stdout


def list_defs(root: Path, home: Path) -> dict[str, Any]:
    return json.loads(dg(root, home, "list", "defs", "--json"))


def test_init_component_layout_loads_with_dg(tmp_path: Path, dagster_home: Path) -> None:
    project = make_project(tmp_path / "proj", "comp_proj")
    out = run(
        [KEDRO, "dagster", "init", "--layout", "component"],
        cwd=project,
        env=subprocess_env(),
    ).stdout
    defs_yaml = project / "src/comp_proj/defs/kedro/defs.yaml"
    assert "Wrote src/comp_proj/defs/kedro/defs.yaml" in out
    assert f"type: {COMPONENT}" in defs_yaml.read_text()
    assert "load_from_defs_folder" in (project / "src/comp_proj/definitions.py").read_text()

    listed = json.loads(
        run(
            [str(Path(sys.executable).parent / "kedro-dagster"), "list", "defs", "--json"],
            cwd=project,
            env=subprocess_env(dagster_home),
        ).stdout
    )
    assets = {a["asset_key"]: a for a in listed["assets"]}
    assert set(assets) == {"raw", "table", "summary"}
    assert assets["table"]["group_name"] == "tables"
    assert {j["name"] for j in listed["jobs"]} >= {"__default__", "main"}
    run([KEDRO, "dagster", "check", "defs"], cwd=project, env=subprocess_env(dagster_home))

    # The component's jobs run: the same outputs as under the definitions.py layout.
    run(
        [KEDRO, "dagster", "launch", "--job", "__default__"],
        cwd=project,
        env=subprocess_env(dagster_home),
    )
    assert (project / "data/summary.csv").is_file()


def test_init_keeps_definitions_layout_by_default(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", "plain_proj")
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    assert "KedroProjectTranslator" in (project / "src/plain_proj/definitions.py").read_text()
    assert not (project / "src/plain_proj/defs").exists()


def test_dg_scaffold_defs_writes_a_working_defs_yaml(tmp_path: Path, dagster_home: Path) -> None:
    root = dg_project(tmp_path / "platform")
    make_project(root / "kedro" / "sales", "sales_pkg")
    dg(root, dagster_home, "scaffold", "defs", COMPONENT, "sales", "--project-path", "kedro/sales")
    defs_yaml = root / "src/dataplatform/defs/sales/defs.yaml"
    assert "project_path: ../../../../kedro/sales" in defs_yaml.read_text()

    listed = list_defs(root, dagster_home)
    assert {a["asset_key"] for a in listed["assets"]} == {"raw", "table", "summary"}
    assert {j["name"] for j in listed["jobs"]} >= {"__default__", "main"}
    # The registry entry point lists the component for `dg list components`.
    assert COMPONENT in dg(root, dagster_home, "list", "components")


def _translated_summary(tmp_path: Path, dagster_home: Path) -> dict[str, Any]:
    """The `summary` asset of a component whose `translation:` sets every option."""
    root = dg_project(tmp_path / "platform")
    make_project(root / "sales", "sales_pkg")
    folder = root / "src/dataplatform/defs/sales"
    folder.mkdir()
    (folder / "defs.yaml").write_text(
        textwrap.dedent(
            """
            type: kedro_dagster.KedroProjectComponent
            attributes:
              project_path: ../../../../sales
              translation:
                group_name: "{{ env.SALES_GROUP }}"
                owners: ["team:sales"]
                tags: {tier: gold}
                automation_condition: "{{ dg.AutomationCondition.eager() }}"
            """
        )
    )
    listed = json.loads(
        run(
            [DG, "list", "defs", "--json"],
            cwd=root,
            env=subprocess_env(dagster_home, PYTHONPATH=str(root / "src"), SALES_GROUP="sales"),
        ).stdout
    )
    return next(a for a in listed["assets"] if a["asset_key"] == "summary")


def test_translation_group_is_templated(tmp_path: Path, dagster_home: Path) -> None:
    assert _translated_summary(tmp_path, dagster_home)["group_name"] == "sales"


def test_translation_owners_tags_automation_reach_the_assets(
    tmp_path: Path, dagster_home: Path
) -> None:
    summary = _translated_summary(tmp_path, dagster_home)
    assert summary["owners"] == [{"team": "sales"}]  # `dg list defs --json` shows team owners so
    assert "tier" in json.dumps(summary.get("tags"))
    assert summary.get("automation_condition")


def test_bad_project_path_names_the_defs_yaml(tmp_path: Path, dagster_home: Path) -> None:
    root = dg_project(tmp_path / "platform")
    folder = root / "src/dataplatform/defs/sales"
    folder.mkdir()
    (folder / "defs.yaml").write_text(f"type: {COMPONENT}\nattributes:\n  project_path: nowhere\n")
    result = subprocess.run(
        [DG, "check", "defs"],
        cwd=root,
        env=subprocess_env(dagster_home, PYTHONPATH=str(root / "src")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    seen = " ".join((result.stdout + result.stderr).split())  # Rich wraps long lines
    assert "is not a Kedro project (no pyproject.toml)" in seen
    assert "defs.yaml: key 'attributes.project_path'" in seen


def test_namespace_prefixes_jobs_schedules_and_sensor(tmp_path: Path, dagster_home: Path) -> None:
    root = dg_project(tmp_path / "platform")
    make_project(
        root / "sales",
        "sales_pkg",
        dagster={
            "schedules": {"daily": {"cron_schedule": "0 0 * * *"}},
            "jobs": {"main": {"pipeline": {"pipeline_name": "main"}, "schedule": "daily"}},
        },
    )
    dg(root, dagster_home, "scaffold", "defs", COMPONENT, "sales", "--project-path", "sales")
    path = root / "src/dataplatform/defs/sales/defs.yaml"
    path.write_text(
        path.read_text() + "  namespace: sales\n  translation:\n    asset_key_prefix: []\n"
    )
    listed = list_defs(root, dagster_home)
    assert {j["name"] for j in listed["jobs"]} - {"__ASSET_JOB"} == {"sales__main"}
    assert {s["name"] for s in listed["schedules"]} == {"sales__main__daily"}
    assert {s["name"] for s in listed["sensors"]} == {"sales__kedro_on_pipeline_error"}


def test_two_kedro_projects_as_two_components(tmp_path: Path, dagster_home: Path) -> None:
    root = dg_project(tmp_path / "platform")
    for name in ("sales", "stock"):
        make_project(root / name, f"{name}_pkg")
        dg(root, dagster_home, "scaffold", "defs", COMPONENT, name, "--project-path", name)
        path = root / f"src/dataplatform/defs/{name}/defs.yaml"
        path.write_text(path.read_text() + f"  namespace: {name}\n")
    listed = list_defs(root, dagster_home)
    jobs = {j["name"] for j in listed["jobs"]}
    assert {"sales____default__", "stock____default__", "sales__main", "stock__main"} <= jobs
    keys = {a["asset_key"] for a in listed["assets"]}
    assert {"sales/summary", "stock/summary", "sales/raw", "stock/raw"} <= keys
    dg(root, dagster_home, "check", "defs")


def step_keys(home: Path, run_id: str) -> set[str]:
    """The step keys of a run's events."""
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        return {e.step_key for e in instance.all_logs(run_id) if e.step_key}


def _two_components(tmp_path: Path, dagster_home: Path) -> Path:
    """A dg project holding the Kedro projects `sales` (factor 2) and `stock` (factor 3)."""
    root = dg_project(tmp_path / "platform")
    for name, factor in (("sales", 2.0), ("stock", 3.0)):
        make_project(root / name, f"{name}_pkg", parameters={"factor": factor})
        dg(root, dagster_home, "scaffold", "defs", COMPONENT, name, "--project-path", name)
        path = root / f"src/dataplatform/defs/{name}/defs.yaml"
        path.write_text(path.read_text() + f"  namespace: {name}\n")
    return root


def test_a_job_of_each_of_two_components_runs(tmp_path: Path, dagster_home: Path) -> None:
    root = _two_components(tmp_path, dagster_home)
    dg(root, dagster_home, "launch", "--job", "sales__main")
    # The launchpad's parameters sit under the project's own `kedro_run` resource.
    params = {"resources": {"stock__kedro_run": {"config": {"params": {"factor": 4.0}}}}}
    dg(root, dagster_home, "launch", "--job", "stock__main", "--config-json", json.dumps(params))
    # Each project's nodes ran with its own catalog and parameters, in its own folder.
    assert (root / "sales/data/table.csv").read_text().splitlines()[-1] == "3,6.0"
    assert (root / "stock/data/table.csv").read_text().splitlines()[-1] == "3,12.0"
    assert (root / "stock/data/summary.csv").is_file()
    runs = {r.job_name: r for r in runs_in(dagster_home)}
    assert set(runs) == {"sales__main", "stock__main"}
    for name, dagster_run in runs.items():
        assert dagster_run.status.value == "SUCCESS"
        ns = name.split("__")[0]
        assert materialized_assets(dagster_home, dagster_run.run_id) == {
            f"{ns}/table",
            f"{ns}/summary",
        }
        # The run's steps (the ops of the job) are the project's own.
        assert step_keys(dagster_home, dagster_run.run_id) == {
            f"{ns}__before_pipeline_run",
            f"{ns}__make_table",
            f"{ns}__summarise",
            f"{ns}__after_pipeline_run",
        }


def test_assets_of_two_components_materialize_in_one_run(
    tmp_path: Path, dagster_home: Path
) -> None:
    root = _two_components(tmp_path, dagster_home)
    dg(root, dagster_home, "launch", "--assets", "sales/table,stock/table")
    (dagster_run,) = runs_in(dagster_home)
    assert dagster_run.status.value == "SUCCESS"
    assert materialized_assets(dagster_home, dagster_run.run_id) == {"sales/table", "stock/table"}
    assert (root / "sales/data/table.csv").read_text().splitlines()[-1] == "3,6.0"
    assert (root / "stock/data/table.csv").read_text().splitlines()[-1] == "3,9.0"


def test_dev_serves_the_component_layout(tmp_path: Path, dagster_home: Path) -> None:
    project = make_project(tmp_path / "proj", "dev_proj")
    run([KEDRO, "dagster", "init", "--layout", "component"], cwd=project, env=subprocess_env())
    with serve(project, dagster_home, tmp_path / "dev.log") as url:
        data = graphql(
            url,
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { jobs { name } "
            "assetNodes { assetKey { path } } } } } }",
        )
    (repo,) = data["repositoriesOrError"]["nodes"]
    assert {"__default__", "main"} <= {j["name"] for j in repo["jobs"]}
    assert ["summary"] in [a["assetKey"]["path"] for a in repo["assetNodes"]]
