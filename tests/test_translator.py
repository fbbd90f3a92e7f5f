"""A translator instance (``KedroProjectTranslator(translator=...)``) shapes the assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from conftest import EXAMPLE, copy_project
from kedro_dagster import (
    KedroDagsterTranslator,
    KedroDagsterTranslatorSettings,
    KedroProjectTranslator,
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(EXAMPLE, tmp_path_factory.mktemp("translator") / "spaceflights")


def _specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    graph = defs.resolve_asset_graph()
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
