"""Every public name of DESIGN.md imports from the package."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

TOP_LEVEL = [
    "KedroProjectTranslator",
    "KedroProjectComponent",
    "KedroDagsterTranslator",
    "KedroDagsterTranslatorSettings",
    "CatalogTranslator",
    "NodeTranslator",
    "PipelineTranslator",
    "ExecutorCreator",
    "ScheduleCreator",
    "LoggerCreator",
    "DagsterPartitionedDataset",
    "DagsterNothingDataset",
    "dagster_colored_formatter",
    "dagster_json_formatter",
    "dagster_rich_formatter",
    "PipelineOptions",
    "ScheduleOptions",
    "ExecutorOptions",
    "InProcessExecutorOptions",
    "MultiprocessExecutorOptions",
    "ParallelExecutorOptions",
    "DockerExecutorOptions",
    "DaskExecutorOptions",
    "CeleryExecutorOptions",
    "CeleryDockerExecutorOptions",
    "K8sJobExecutorOptions",
    "CeleryK8sJobExecutorOptions",
]
QUALIFIED = [
    ("kedro_dagster.logging", "getLogger"),
    ("kedro_dagster.utils", "format_dataset_name"),
    ("kedro_dagster.utils", "format_node_name"),
    ("kedro_dagster.utils", "unformat_asset_name"),
    ("kedro_dagster.datasets", "DagsterPartitionedDataset"),
    ("kedro_dagster.datasets", "DagsterNothingDataset"),
]


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name(name: str) -> None:
    import kedro_dagster

    assert getattr(kedro_dagster, name) is not None
    assert name in kedro_dagster.__all__


@pytest.mark.parametrize(("module", "name"), QUALIFIED)
def test_qualified_name(module: str, name: str) -> None:
    assert callable(getattr(importlib.import_module(module), name))


def test_import_is_lazy() -> None:
    """`import kedro_dagster` (done by Kedro's CLI for plugins) must not import Dagster."""
    code = "import sys, kedro_dagster; print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_public_name_is_in_one_stability_tier() -> None:
    """docs/reference.md#stability lists each name of `__all__` once, as stable or advanced."""
    import re
    from pathlib import Path

    import kedro_dagster

    text = (Path(__file__).resolve().parents[1] / "docs" / "reference.md").read_text()
    section = text.split("## Stability", 1)[1].split("\n## ", 1)[0]
    tiers = {
        tier: re.findall(
            r"`(\w+)`", section.split(f"**{tier}**", 1)[1].split("\n- **", 1)[0].split("\n\n", 1)[0]
        )
        for tier in ("Stable", "Advanced")
    }
    listed = tiers["Stable"] + tiers["Advanced"]
    assert sorted(listed) == sorted(set(listed)), "a name is listed twice"
    assert set(listed) == set(kedro_dagster.__all__)
