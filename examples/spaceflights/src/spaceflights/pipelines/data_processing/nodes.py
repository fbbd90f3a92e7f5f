"""Node functions of the ``data_processing`` pipeline (pandas only)."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)


def _is_true(column: pd.Series) -> pd.Series:
    """Convert a ``"t"``/``"f"`` text column into booleans (missing -> False)."""
    return column.astype("string").str.strip().str.lower().eq("t").fillna(False).astype(bool)


def _parse_percentage(column: pd.Series) -> pd.Series:
    """Convert ``"90%"`` strings into the float ``0.9``."""
    cleaned = column.astype("string").str.replace("%", "", regex=False).str.strip()
    return pd.to_numeric(cleaned, errors="coerce").astype("float64") / 100.0


def _parse_money(column: pd.Series) -> pd.Series:
    """Convert ``"$1,325.0"`` strings into the float ``1325.0``."""
    cleaned = (
        column.astype("string")
        .str.replace("$", "", regex=False)
        .str.replace(",", "", regex=False)
        .str.strip()
    )
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def preprocess_companies(companies: pd.DataFrame) -> pd.DataFrame:
    """Parse the rating and the IATA flag of the raw companies table."""
    out = companies.copy()
    out["iata_approved"] = _is_true(out["iata_approved"])
    out["company_rating"] = _parse_percentage(out["company_rating"])
    out["company_location"] = out["company_location"].fillna("Unknown")
    out["total_fleet_count"] = out["total_fleet_count"].astype("float64")
    out = out.sort_values("id", kind="mergesort").reset_index(drop=True)
    logger.info("Preprocessed %d companies", len(out))
    return out


def preprocess_shuttles(shuttles: pd.DataFrame, cleaning: dict[str, Any]) -> pd.DataFrame:
    """Parse flags and prices of the raw shuttles table and fill configured gaps."""
    out = shuttles.copy()
    for flag in ("d_check_complete", "moon_clearance_complete"):
        out[flag] = _is_true(out[flag])
    out["price"] = _parse_money(out["price"])
    fill_values = cleaning.get("fill_values", {}).get("shuttles", {})
    for column in sorted(fill_values):
        out[column] = out[column].fillna(fill_values[column])
    out = out.sort_values("id", kind="mergesort").reset_index(drop=True)
    return out


def preprocess_reviews(reviews: pd.DataFrame, cleaning: dict[str, Any]) -> pd.DataFrame:
    """Drop reviews without an overall rating and rescale the rating to [0, 1]."""
    out = reviews.dropna(subset=["review_scores_rating"]).copy()
    out["review_scores_rating"] = out["review_scores_rating"].astype("float64") / 100.0
    min_reviews = int(cleaning.get("min_number_of_reviews", 0))
    out = out[out["number_of_reviews"] >= min_reviews]
    out = out.sort_values("shuttle_id", kind="mergesort").reset_index(drop=True)
    return out


def create_model_input_table(
    shuttles: pd.DataFrame, companies: pd.DataFrame, reviews: pd.DataFrame
) -> pd.DataFrame:
    """Join shuttles, their reviews and their operating company into one table."""
    rated = shuttles.merge(reviews, left_on="id", right_on="shuttle_id", how="inner")
    table = rated.merge(
        companies, left_on="company_id", right_on="id", how="inner", suffixes=("", "_company")
    )
    table = table.drop(columns=["id_company"]).dropna()
    table = table.sort_values("shuttle_id", kind="mergesort").reset_index(drop=True)
    logger.info("Model input table has %d rows", len(table))
    return table
