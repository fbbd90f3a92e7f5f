"""Projects whose ``settings.py`` is not the template's, run by `kedro run` and through Dagster.

Each variant customises one area of ``settings.py`` (configuration loader, configuration
source, context and catalog classes, hooks, source folder), then runs `kedro dagster init`,
adds a job to the ``dagster.yml`` it wrote and runs that job through Dagster on one copy and
the same filter with `kedro run` on another: the files written and what hooks saw must match.
The job exists only in ``dagster.yml``: a run proves the file was read where Kedro's loader
reads configuration.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    KEDRO,
    assert_same_outputs,
    copy_project,
    persisted_outputs,
    run,
    run_both_logging_hooks,
    runs_in,
    subprocess_env,
)
from kedro_factory import make_project, translate

HOOKS = """
import json
import os

from kedro.framework.hooks import hook_impl


class Recorder:
    def __init__(self, label):  # a hook instance taking constructor arguments
        self.label = label

    def _write(self, record):
        if "HOOK_LOG" in os.environ:
            with open(os.environ["HOOK_LOG"], "a") as f:
                f.write(json.dumps({"label": self.label, **record}, sort_keys=True) + "\\n")

    @hook_impl
    def after_context_created(self, context):
        self._write({
            "hook": "after_context_created",
            "context": type(context).__name__,
            "attribute": getattr(context, "team", None),
            "params": context.params,
            # A configuration group of the project's own (`config_patterns`), as hooks read.
            "team": (
                context.config_loader["team"]
                if "team" in context.config_loader.config_patterns else None
            ),
        })

    @hook_impl
    def after_catalog_created(self, catalog):
        self._write({"hook": "after_catalog_created", "catalog": type(catalog).__name__})

    @hook_impl
    def before_node_run(self, node, catalog, inputs):
        self._write({"hook": "before_node_run", "node": node.name,
                     "params": {k: v for k, v in inputs.items() if k.startswith("params:")},
                     "catalog": type(catalog).__name__})
"""

CUSTOM = """
from kedro.framework.context import KedroContext
from kedro.framework.session.store import BaseSessionStore
from kedro.io import DataCatalog


class TeamContext(KedroContext):
    team = "analytics"  # an attribute hooks read

    @property
    def params(self):
        params = dict(super().params)
        params["factor"] = params["factor"] * 10
        params["computed"] = {"from_context": True}  # in no parameters file
        return params


class TeamCatalog(DataCatalog):
    pass


class TeamStore(BaseSessionStore):
    pass
"""

REGISTRY = """
from kedro.pipeline import Pipeline, node

from {package}.nodes import identity, make_table, summarise


def register_pipelines():
    pipeline = Pipeline([
        node(make_table, ["raw", "params:factor"], "table", name="make_table"),
        node(summarise, "table", "summary", name="summarise"),
        node(identity, "params:nested", "nested_out", name="nested"),
    ])
    return {{"__default__": pipeline}}
"""

CATALOG = {
    "raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"},
    "table": {"type": "pandas.CSVDataset", "filepath": "data/table.csv"},
    "summary": {"type": "pandas.CSVDataset", "filepath": "data/summary.csv"},
    "nested_out": {"type": "json.JSONDataset", "filepath": "data/nested.json"},
}

#: The job added to dagster.yml, and the `kedro run` arguments selecting the same nodes.
JOB = {"pipeline": {"pipeline_name": "__default__", "node_names": ["make_table", "nested"]}}
KEDRO_ARGS = ["--nodes", "make_table,nested"]


def _write(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content))


def _settings_project(root: Path, variant: str) -> tuple[Path, Path]:
    """A project customising ``settings.py`` as ``variant`` says.

    Returns the project and where `kedro dagster init` must write ``dagster.yml``.
    """
    package = f"settings_{variant}"
    project = make_project(
        root, package, catalog=CATALOG, registry=REGISTRY, parameters={"factor": 2.0}
    )
    src = project / "src" / package
    conf = project / "conf"
    _write(conf / "base/parameters.yml", {"factor": 2.0, "nested": {"a": 1, "b": 2}})
    (src / "hooks.py").write_text(HOOKS)
    settings = f"from {package}.hooks import Recorder\n\nHOOKS = (Recorder('project'),)\n"
    dagster_yml = conf / "base/dagster.yml"
    if variant == "envs":
        # Neither `base` nor `local` (the run env holds an override), in a configuration
        # folder outside the project, given as an absolute CONF_SOURCE.
        shared = root.parent / "shared_conf"
        conf.rename(shared)
        settings += f'CONF_SOURCE = "{shared.as_posix()}"\n'
        settings += 'CONFIG_LOADER_ARGS = {"base_env": "common", "default_run_env": "dev"}\n'
        (shared / "base").rename(shared / "common")
        shutil.rmtree(shared / "local")
        _write(shared / "dev/parameters.yml", {"factor": 5.0})
        dagster_yml = shared / "common/dagster.yml"
    elif variant == "resolvers_only":
        # CONFIG_LOADER_ARGS as Kedro's documentation of resolvers shows it: without
        # base_env or default_run_env, Kedro reads `conf/` itself; no `local` folder.
        settings += 'CONFIG_LOADER_ARGS = {"custom_resolvers": {"twice": lambda x: 2 * x}}\n'
        shutil.rmtree(conf / "local")
        _write(conf / "base/parameters.yml", {"factor": "${twice:1.5}", "nested": {"a": 1}})
    elif variant == "patterns":
        # Catalog and parameters split in folders, read with other patterns and merged softly.
        settings += textwrap.dedent(
            """
            CONFIG_LOADER_ARGS = {
                "base_env": "base",
                "default_run_env": "local",
                "config_patterns": {
                    "catalog": ["catalog*", "catalog/**"],
                    "parameters": ["params*", "params/**"],
                    "team": ["team*"],
                },
                "merge_strategy": {"parameters": "soft", "catalog": "soft"},
            }
            """
        )
        (conf / "base/catalog.yml").unlink()
        (conf / "base/parameters.yml").unlink()
        _write(conf / "base/catalog/raw.yml", {"raw": CATALOG["raw"]})
        _write(conf / "base/catalog_outputs.yml", {k: CATALOG[k] for k in list(CATALOG)[1:]})
        _write(conf / "base/params/model.yml", {"factor": 2.0, "nested": {"a": 1, "b": 2}})
        _write(conf / "local/params.yml", {"factor": 3.0, "nested": {"a": 9}})
        _write(conf / "base/team.yml", {"owner": "analytics"})
    elif variant == "custom":
        (src / "custom.py").write_text(CUSTOM)
        settings += textwrap.dedent(
            f"""
            from {package}.custom import TeamCatalog, TeamContext, TeamStore

            CONTEXT_CLASS = TeamContext
            DATA_CATALOG_CLASS = TeamCatalog
            SESSION_STORE_CLASS = TeamStore
            SESSION_STORE_ARGS = {{"path": "sessions"}}
            DISABLE_HOOKS_FOR_PLUGINS = ("kedro-telemetry",)
            """
        )
        (src / "pipeline_registry.py").write_text(
            REGISTRY.replace('"params:nested"', '"params:computed"').format(package=package)
        )
    elif variant == "source_dir":
        # The package at the project's root, not under src/.
        shutil.move(src, project / package)
        (project / "src").rmdir()
        pyproject = project / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"src"', '"."'))
        src = project / package
    (src / "settings.py").write_text(settings)
    return project, dagster_yml


def _archive(project: Path, kind: str) -> None:
    """Replace ``conf/`` by an archive of it, as `kedro package` ships configuration."""
    conf = project / "conf"
    if kind == "tar.gz":
        with tarfile.open(project / "conf.tar.gz", "w:gz") as archive:
            archive.add(conf, arcname="conf")
    else:
        with zipfile.ZipFile(project / "conf.zip", "w") as archive:
            for path in sorted(conf.rglob("*")):
                archive.write(path, path.relative_to(project).as_posix())
    shutil.rmtree(conf)
    package = next(project.glob("src/*/settings.py"))
    package.write_text(package.read_text() + f'CONF_SOURCE = "conf.{kind}"\n')


VARIANTS = ["envs", "resolvers_only", "patterns", "custom", "source_dir", "tar.gz", "zip"]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("variant", VARIANTS)
def test_customised_settings_match_kedro_run(tmp_path: Path, variant: str) -> None:
    archive = variant in {"tar.gz", "zip"}
    project, dagster_yml = _settings_project(
        tmp_path / "project", "archive" if archive else variant
    )
    init = run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    shown = dagster_yml.relative_to(project) if dagster_yml.is_relative_to(project) else dagster_yml
    assert f"Wrote {shown.as_posix()}" in init.stdout
    config = yaml.safe_load(dagster_yml.read_text())
    # Step processes (multiprocess) and warm workers (parallel) read the settings again.
    executor = {"tar.gz": "multiprocess", "custom": "parallel"}
    config["jobs"]["selected"] = {**JOB, "executor": executor.get(variant, "sequential")}
    if variant == "patterns":  # dagster.yml in a folder: Kedro's loader reads `dagster*/**`
        dagster_yml.unlink()
        dagster_yml = project / "conf/base/dagster/jobs.yml"
    _write(dagster_yml, config)
    if archive:
        _archive(project, variant)
        # `init` cannot write into an archive: it says so, without a traceback.
        refused = subprocess.run(
            [KEDRO, "dagster", "init", "--force"],
            cwd=project,
            env=subprocess_env(),
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0
        assert "archive" in refused.stderr and "Traceback" not in refused.stderr

    kedro_side = copy_project(project, tmp_path / "kedro")
    dagster_side = copy_project(project, tmp_path / "dagster")
    home = tmp_path / "home"
    kedro_log, dagster_log = run_both_logging_hooks(
        kedro_side, dagster_side, "selected", home, KEDRO_ARGS
    )
    (dagster_run,) = runs_in(home)
    assert dagster_run.status.value == "SUCCESS"

    expected = persisted_outputs(kedro_side)
    assert set(expected) == {"raw.csv", "table.csv", "nested.json"}  # raw.csv: an input
    assert_same_outputs(expected, dagster_side)

    def records(log: Path) -> list[str]:
        return sorted({line for line in log.read_text().splitlines()})

    kedro_records = records(kedro_log)
    assert any('"hook": "before_node_run"' in line for line in kedro_records)
    assert records(dagster_log) == kedro_records
    # The comparison saw what the variant customises.
    (context,) = [json.loads(line) for line in kedro_records if "after_context_created" in line]
    if variant == "custom":
        assert context["context"] == "TeamContext" and context["attribute"] == "analytics"
        assert context["params"]["computed"] == {"from_context": True}
    if variant == "patterns":
        assert context["team"] == {"owner": "analytics"}
        assert context["params"] == {"factor": 3.0, "nested": {"a": 9, "b": 2}}  # soft merge
    if variant == "envs":
        assert context["params"]["factor"] == 5.0  # conf/dev over conf/common


#: settings.py lines Kedro refuses too -> what our message must say.
REFUSED = {
    "missing_conf_source": (
        'CONF_SOURCE = "nowhere"\n',
        "The configuration folder does not exist: CONF_SOURCE is 'nowhere'",
    ),
    "archive_without_env": (
        'CONF_SOURCE = "conf.tar.gz"\n'
        'CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "dev"}\n',
        "Kedro environment 'dev' does not exist: add the folder 'conf/dev' to the archive",
    ),
    "context_params_raise": (
        "from kedro.framework.context import KedroContext\n\n"
        "class Vault(KedroContext):\n"
        "    @property\n"
        "    def params(self):\n"
        "        raise RuntimeError('vault unreachable')\n\n"
        "CONTEXT_CLASS = Vault\n",
        "CONTEXT_CLASS settings_refused.settings.Vault failed to give its params: "
        "RuntimeError: vault unreachable",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_settings_kedro_refuses_are_explained(tmp_path: Path, case: str) -> None:
    settings, message = REFUSED[case]
    project = make_project(tmp_path / "project", "settings_refused")
    (project / "src/settings_refused/settings.py").write_text(settings)
    if case == "archive_without_env":
        _archive(project, "tar.gz")
        (project / "src/settings_refused/settings.py").write_text(settings)
    kedro = subprocess.run(
        [KEDRO, "run"], cwd=project, env=subprocess_env(), capture_output=True, text=True
    )
    assert kedro.returncode != 0  # Kedro refuses too
    result = translate(project, subprocess_env())
    assert result.returncode == 1
    assert message in result.stderr
