"""The naming rules of the user guide."""

from __future__ import annotations

import hashlib

import pytest

from kedro_dagster.utils import (
    format_dataset_name,
    format_node_name,
    is_valid_dagster_name,
    unformat_asset_name,
)


@pytest.mark.parametrize(
    ("kedro", "dagster"),
    [("my.dataset.name", "my__dataset__name"), ("plain", "plain"), ("with-hyphen", "with-hyphen")],
)
def test_dataset_names(kedro: str, dagster: str) -> None:
    assert format_dataset_name(kedro) == dagster
    assert unformat_asset_name(format_dataset_name("my.dataset.name")) == "my.dataset.name"


def test_node_names() -> None:
    assert format_node_name("my.node") == "my__node"
    weird = "my node (v2)"
    expected = "unnamed_node_" + hashlib.md5(weird.encode()).hexdigest()
    assert format_node_name(weird) == expected
    assert format_node_name(weird) == format_node_name(weird)
    assert is_valid_dagster_name(format_node_name("split: train/test"))
