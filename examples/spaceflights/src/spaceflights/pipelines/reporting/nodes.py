"""Node functions of the ``reporting`` pipeline (pandas only)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def compare_passenger_capacity(
    shuttles: pd.DataFrame, capacity: dict[str, Any], report_precision: int
) -> pd.DataFrame:
    """Aggregate passenger capacity per shuttle type (one row per type, sorted)."""
    group_by = capacity["group_by"]
    aggregations = list(capacity["aggregations"])
    table = (
        shuttles.groupby(group_by, sort=True)["passenger_capacity"]
        .agg(aggregations)
        .add_prefix("passenger_capacity_")
        .reset_index()
    )
    table["shuttle_count"] = shuttles.groupby(group_by, sort=True).size().to_numpy()
    return table.round(int(report_precision))


def build_shuttle_company_view(
    model_input_table: pd.DataFrame, summary: dict[str, Any]
) -> pd.DataFrame:
    """Attach a company rating band to every shuttle of the model input table."""
    bands = summary["rating_bands"]
    view = model_input_table[
        ["shuttle_id", "company_location", "company_rating", "iata_approved", "price"]
    ].copy()
    view["rating_band"] = pd.cut(
        view["company_rating"],
        bins=list(bands["edges"]),
        labels=list(bands["labels"]),
        include_lowest=True,
    ).astype("string")
    return view


def summarise_companies(
    shuttle_company_view: pd.DataFrame, summary: dict[str, Any], report_precision: int
) -> pd.DataFrame:
    """Count shuttles and average prices per company location and rating band."""
    table = (
        shuttle_company_view.groupby(["company_location", "rating_band"], sort=True)
        .agg(
            shuttle_count=("shuttle_id", "size"),
            mean_price=("price", "mean"),
            iata_share=("iata_approved", "mean"),
        )
        .reset_index()
    )
    table = table.sort_values(
        ["shuttle_count", "company_location", "rating_band"],
        ascending=[False, True, True],
        kind="mergesort",
    ).head(int(summary["top_n"]))
    return table.round(int(report_precision)).reset_index(drop=True)
