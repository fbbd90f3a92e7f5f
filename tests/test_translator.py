"""A translator instance (``KedroProjectTranslator(translator=...)``) shapes the assets."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from compat import RESOLVE_SOURCE, resolve
from conftest import EXAMPLE, KEDRO, copy_project, dagster_launch, run, runs_in, subprocess_env
from kedro_dagster import (
    CatalogTranslator,
    KedroDagsterTranslator,
    KedroDagsterTranslatorSettings,
    KedroProjectTranslator,
)
from kedro_dagster.errors import KedroDagsterError
from partition_project import make_partition_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(EXAMPLE, tmp_path_factory.mktemp("translator") / "spaceflights")


def _specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    graph = resolve(defs, "asset_graph")
    return {
        key.to_user_string(): graph.get(key).to_asset_spec()  # type: ignore[attr-defined]
        for key in graph.get_all_asset_keys()
    }


def test_settings_reach_the_assets_of_nodes(project: Path) -> None:
    settings = KedroDagsterTranslatorSettings(group_name="spaceflights")
    defs = KedroProjectTranslator(
        project, translator=KedroDagsterTranslator(settings=settings)
    ).to_definitions()
    specs = _specs(defs)
    # No `group_name` in its catalog metadata: the settings' group, not its pipeline's.
    predictions = specs["data_science__test_predictions"]
    assert predictions.group_name == "spaceflights"
    # The dataset's own `metadata.group_name` wins over the settings.
    assert specs["model_input_table"].group_name == "primary"


def test_subclass_overrides_the_spec(project: Path) -> None:
    class Described(KedroDagsterTranslator):
        def get_asset_spec(self, dataset, **kwargs):  # type: ignore[no-untyped-def]
            spec = super().get_asset_spec(dataset, **kwargs)
            return spec.replace_attributes(description=f"From Kedro: {dataset.name}")

    defs = KedroProjectTranslator(project, translator=Described()).to_definitions()
    assert _specs(defs)["model_input_table"].description == "From Kedro: model_input_table"


# --- one translator, honoured everywhere ----------------------------------------------------

PREFIX = "spaceflights"


def _prefixed(**options: Any) -> KedroDagsterTranslator:
    return KedroDagsterTranslator(
        settings=KedroDagsterTranslatorSettings(asset_key_prefix=[PREFIX], **options)
    )


def _assert_prefixed_lineage(graph: Any, prefix: str = PREFIX) -> None:
    """Every key is under ``prefix`` and every dep of every asset is an asset of the graph."""
    keys = graph.get_all_asset_keys()
    unprefixed = [k.to_user_string() for k in keys if k.path[0] != prefix]
    assert not unprefixed, f"keys without the prefix: {unprefixed}"
    for key in keys:
        for dep in graph.get(key).to_asset_spec().deps:
            assert dep.asset_key in keys, f"{key.to_user_string()} depends on {dep.asset_key}"


def test_a_key_prefix_keeps_the_whole_lineage(project: Path) -> None:
    defs = KedroProjectTranslator(project, translator=_prefixed()).to_definitions()
    graph = resolve(defs, "asset_graph")
    _assert_prefixed_lineage(graph)
    specs = _specs(defs)
    # Through MemoryDatasets and from external inputs, on the prefixed keys.
    table = specs[f"{PREFIX}/model_input_table"]
    assert {d.asset_key.to_user_string() for d in table.deps} == {
        f"{PREFIX}/preprocessed_shuttles",
        f"{PREFIX}/data_processing__preprocessed_companies",
        f"{PREFIX}/data_processing__preprocessed_reviews",
    }
    assert not graph.get(dg.AssetKey([PREFIX, "companies"])).is_materializable  # external


def test_owners_tags_and_automation_condition_reach_the_asset_graph(project: Path) -> None:
    condition = dg.AutomationCondition.eager()
    settings = KedroDagsterTranslatorSettings(
        owners=["team:data", "someone@example.com"],
        tags={"domain": "aerospace"},
        automation_condition=condition,
    )
    defs = KedroProjectTranslator(
        project, translator=KedroDagsterTranslator(settings=settings)
    ).to_definitions()
    graph = resolve(defs, "asset_graph")
    regressor = graph.get(dg.AssetKey("data_science__regressor")).to_asset_spec()
    assert regressor.owners == ["team:data", "someone@example.com"]
    assert regressor.tags["domain"] == "aerospace"
    assert "dagster/kind/kedro" in regressor.tags  # the kinds are kept
    assert regressor.automation_condition == condition
    # An external input is never materialized by a node: owners and tags, no condition.
    companies = graph.get(dg.AssetKey("companies")).to_asset_spec()
    assert companies.owners == ["team:data", "someone@example.com"]
    assert companies.automation_condition is None


def test_code_references_can_be_turned_off(project: Path) -> None:
    on = _specs(KedroProjectTranslator(project).to_definitions())
    assert "dagster/code_references" in on["data_science__regressor"].metadata
    settings = KedroDagsterTranslatorSettings(enable_code_references=False)
    off = _specs(
        KedroProjectTranslator(
            project, translator=KedroDagsterTranslator(settings=settings)
        ).to_definitions()
    )
    assert not [key for key, spec in off.items() if "dagster/code_references" in spec.metadata]
    assert off["data_science__regressor"].metadata["kedro/node"] == "data_science.train_model_node"


def test_a_catalog_translator_subclass_changing_keys_keeps_the_lineage(project: Path) -> None:
    class Prefixed(CatalogTranslator):
        def get_asset_spec(self, spec, *, group_name=None):  # type: ignore[no-untyped-def]
            asset = super().get_asset_spec(spec, group_name=group_name)
            return asset.replace_attributes(key=asset.key.with_prefix("legacy"))

    defs = KedroProjectTranslator(project, catalog_translator_class=Prefixed).to_definitions()
    _assert_prefixed_lineage(resolve(defs, "asset_graph"), prefix="legacy")


def test_keys_by_namespace_from_a_subclass(project: Path) -> None:
    class ByNamespace(KedroDagsterTranslator):
        def get_asset_key(self, dataset):  # type: ignore[no-untyped-def]
            return dg.AssetKey(["kedro", *dataset.name.split("@")[0].split(".")])

    defs = KedroProjectTranslator(project, translator=ByNamespace()).to_definitions()
    graph = resolve(defs, "asset_graph")
    _assert_prefixed_lineage(graph, prefix="kedro")
    regressor = graph.get(dg.AssetKey(["kedro", "data_science", "regressor"]))
    assert {d.asset_key for d in regressor.to_asset_spec().deps} == {
        dg.AssetKey(["kedro", "model_input_table"])
    }


def test_every_attribute_of_a_subclass_spec_reaches_the_asset_graph(project: Path) -> None:
    class Versioned(KedroDagsterTranslator):
        def get_asset_spec(self, dataset, **kwargs):  # type: ignore[no-untyped-def]
            spec = super().get_asset_spec(dataset, **kwargs)
            return spec.replace_attributes(
                code_version="v2", owners=["team:models"], deps=[dg.AssetKey("upstream_table")]
            )

    defs = KedroProjectTranslator(project, translator=Versioned()).to_definitions()
    regressor = resolve(defs, "asset_graph").get(dg.AssetKey("data_science__regressor"))
    spec = regressor.to_asset_spec()
    assert spec.code_version == "v2"
    assert spec.owners == ["team:models"]
    # The translator's deps are kept, next to the node's inputs.
    assert {d.asset_key.to_user_string() for d in spec.deps} == {
        "upstream_table",
        "model_input_table",
    }


def test_two_datasets_on_one_key_is_an_error_naming_both(project: Path) -> None:
    class OneKey(KedroDagsterTranslator):
        def get_asset_key(self, dataset):  # type: ignore[no-untyped-def]
            return dg.AssetKey("everything")

    with pytest.raises(KedroDagsterError) as error:
        KedroProjectTranslator(project, translator=OneKey()).to_definitions()
    message = " ".join(str(error.value).split())
    named = re.search(r"datasets '(\S+)' and '(\S+)' the same asset key 'everything'", message)
    assert named and named[1] != named[2], message
    assert "Give each dataset its own key" in message


# --- real runs and dg commands on a project whose definitions.py uses a translator ----------


def use_translator(project: Path, translator: str) -> None:
    """Rewrite the project's definitions.py to pass ``translator`` (Python source)."""
    (path,) = project.glob("src/*/definitions.py")
    source = path.read_text()
    call = "KedroProjectTranslator(project_path=PROJECT_PATH)"
    assert call in source
    source = source.replace(
        call, f"KedroProjectTranslator(project_path=PROJECT_PATH, translator={translator})"
    )
    source = source.replace(
        "from kedro_dagster import KedroProjectTranslator",
        "from kedro_dagster import (\n    KedroDagsterTranslator,\n"
        "    KedroDagsterTranslatorSettings,\n    KedroProjectTranslator,\n)",
    )
    path.write_text(source)


def _kedro_dagster(project: Path, *args: str) -> Any:
    return run([KEDRO, "dagster", *args], cwd=project, env=subprocess_env())


def _listed(stdout: str) -> dict[str, Any]:
    """The JSON document of `dg list defs --json` (after Kedro's own log lines)."""
    start = stdout.index("\n{") + 1 if not stdout.startswith("{") else 0
    document, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return dict(document)


PREFIXED = (
    "KedroDagsterTranslator(settings=KedroDagsterTranslatorSettings("
    f"asset_key_prefix=[{PREFIX!r}], enable_row_count=False))"
)


def _materializations(home: Path, run_id: str) -> dict[tuple[str, str | None], dict[str, Any]]:
    """(asset, partition) -> metadata of every materialization of one run."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    found = {}
    for entry in entries:
        materialization = entry.asset_materialization
        assert materialization is not None
        key = (materialization.asset_key.to_user_string(), materialization.partition)
        found[key] = dict(materialization.metadata)
    return found


@pytest.fixture(scope="module")
def prefixed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(EXAMPLE, tmp_path_factory.mktemp("prefixed") / "spaceflights")
    use_translator(root, PREFIXED)
    return root


def test_a_job_run_materializes_the_prefixed_keys(prefixed_project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    dagster_launch(prefixed_project, "__default__", home)
    (dagster_run,) = runs_in(home)
    assert dagster_run.status == dg.DagsterRunStatus.SUCCESS
    materialized = _materializations(home, dagster_run.run_id)
    # Exactly the assets the graph shows (every persisted output of the job), prefixed.
    assets = _listed(_kedro_dagster(prefixed_project, "list", "defs", "--json").stdout)["assets"]
    raw_inputs = {f"{PREFIX}/{name}" for name in ("companies", "reviews", "shuttles")}
    materializable = {asset["asset_key"] for asset in assets} - raw_inputs
    assert {asset for asset, _ in materialized} == materializable
    assert all(asset.startswith(f"{PREFIX}/") for asset, _ in materialized)
    # enable_row_count=False: no table shape, the rest of the metadata stays.
    table = materialized[(f"{PREFIX}/model_input_table", None)]
    assert "row_count" not in table and "columns" not in table
    assert table["kedro/dataset"].value == "model_input_table"


def test_dg_check_and_list_defs_with_a_prefix(prefixed_project: Path) -> None:
    checked = _kedro_dagster(prefixed_project, "check", "defs")
    assert "All definitions loaded successfully." in checked.stdout
    listed = _listed(_kedro_dagster(prefixed_project, "list", "defs", "--json").stdout)
    keys = {asset["asset_key"] for asset in listed["assets"]}
    assert f"{PREFIX}/data_science__regressor" in keys
    assert all(key.startswith(f"{PREFIX}/") for key in keys), keys


PARTITION_GRAPH = (
    RESOLVE_SOURCE
    + r"""
import json, sys
sys.path.insert(0, "src")
from parts_project.definitions import defs

graph = resolve(defs(), "asset_graph")
deps = {}
for key in graph.get_all_asset_keys():
    deps[key.to_user_string()] = {
        dep.asset_key.to_user_string(): type(dep.partition_mapping).__name__
        for dep in graph.get(key).to_asset_spec().deps
    }
print("GRAPH " + json.dumps(deps))
"""
)


def test_a_partitioned_project_keeps_partitions_and_mappings_on_prefixed_keys(
    tmp_path: Path,
) -> None:
    project = make_partition_project(tmp_path / "project")
    run([KEDRO, "dagster", "init"], cwd=project, env=subprocess_env())
    use_translator(project, PREFIXED)
    result = run([sys.executable, "-c", PARTITION_GRAPH], cwd=project, env=subprocess_env())
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("GRAPH "))
    deps = json.loads(line.removeprefix("GRAPH "))
    assert all(key.startswith(f"{PREFIX}/") for key in deps), deps
    assert deps[f"{PREFIX}/scaled_parts"][f"{PREFIX}/raw_parts"] == "StaticPartitionMapping"
    assert deps[f"{PREFIX}/rollup"][f"{PREFIX}/report__flagged"] == "StaticPartitionMapping"

    # A job run records each partition on the prefixed keys.
    home = tmp_path / "home"
    dagster_launch(project, "__default__", home)
    (job_run,) = runs_in(home)
    assert set(_materializations(home, job_run.run_id)) == {
        *((f"{PREFIX}/scaled_parts", k) for k in ("10.csv", "20.csv", "30.csv")),
        *((f"{PREFIX}/report__flagged", k) for k in ("10.csv", "20.csv", "30.csv")),
        *((f"{PREFIX}/rollup", k) for k in ("low.csv", "high.csv")),
        (f"{PREFIX}/summary", None),
    }

    # Materializing one partition of prefixed assets from the asset graph.
    asset_home = tmp_path / "asset_home"
    run(
        [
            KEDRO,
            "dagster",
            "launch",
            "--assets",
            f"{PREFIX}/scaled_parts,{PREFIX}/report__flagged",
            "--partition",
            "30.csv",
        ],
        cwd=project,
        env=subprocess_env(asset_home),
    )
    (asset_run,) = runs_in(asset_home)
    assert set(_materializations(asset_home, asset_run.run_id)) == {
        (f"{PREFIX}/scaled_parts", "30.csv"),
        (f"{PREFIX}/report__flagged", "30.csv"),
    }
