"""Generate the synthetic raw inputs in ``data/01_raw`` for the spaceflights example.

The data is fully synthetic and deterministic: running this script again with the
same numpy/pandas versions reproduces byte-identical CSV files.

Usage (from the project root)::

    python scripts/make_raw_data.py
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

SEED = 20240611
N_COMPANIES = 120
N_SHUTTLES = 260
N_REVIEWS = 230

LOCATIONS = [
    "Niue",
    "Anguilla",
    "Russian Federation",
    "Barbados",
    "Sao Tome and Principe",
    "Malta",
    "Iceland",
    "Kiribati",
]
SHUTTLE_TYPES = ["Type V5", "Type F5", "Type A3", "Type N2"]
ENGINE_TYPES = ["Quantum", "Plasma", "Nuclear"]
ENGINE_VENDORS = ["ThetaBase Services", "Banks, Hall and Hodges", "Orbital Forge"]
CANCELLATION_POLICIES = ["strict", "moderate", "flexible"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _tf(flag: bool) -> str:
    return "t" if flag else "f"


def _money(value: float) -> str:
    return f"${value:,.1f}"


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def make_companies(rng: np.random.Generator) -> tuple[list[str], list[list[str]], np.ndarray]:
    ids = rng.choice(np.arange(1000, 40000), size=N_COMPANIES, replace=False)
    rows: list[list[str]] = []
    ratings = np.empty(N_COMPANIES)
    for i, company_id in enumerate(ids):
        rating = int(rng.integers(55, 101))
        ratings[i] = rating
        rating_str = "" if rng.random() < 0.06 else f"{rating}%"
        location = "" if rng.random() < 0.04 else str(rng.choice(LOCATIONS))
        fleet = int(rng.integers(1, 8))
        iata = _tf(bool(rng.random() < 0.55))
        rows.append([str(int(company_id)), rating_str, location, f"{fleet}.0", iata])
    header = ["id", "company_rating", "company_location", "total_fleet_count", "iata_approved"]
    return header, rows, ids


def make_shuttles(
    rng: np.random.Generator, company_ids: np.ndarray
) -> tuple[list[str], list[list[str]], np.ndarray]:
    ids = rng.choice(np.arange(10000, 90000), size=N_SHUTTLES, replace=False)
    rows: list[list[str]] = []
    for shuttle_id in ids:
        shuttle_type = str(rng.choice(SHUTTLE_TYPES))
        engine_type = str(rng.choice(ENGINE_TYPES))
        engine_vendor = str(rng.choice(ENGINE_VENDORS))
        engines = int(rng.integers(1, 5))
        capacity = int(rng.integers(1, 13))
        crew = int(rng.integers(1, 6))
        d_check = bool(rng.random() < 0.6)
        moon = bool(rng.random() < 0.3)
        policy = str(rng.choice(CANCELLATION_POLICIES))
        company_id = int(rng.choice(company_ids))
        type_bonus = {"Type V5": 400.0, "Type F5": 250.0, "Type A3": 120.0, "Type N2": 0.0}
        price = (
            300.0
            + 180.0 * engines
            + 95.0 * capacity
            + 60.0 * crew
            + 150.0 * d_check
            + 220.0 * moon
            + type_bonus[shuttle_type]
            + float(rng.normal(0.0, 120.0))
        )
        price = round(max(price, 50.0), 0)
        engines_str = "" if rng.random() < 0.03 else f"{engines}.0"
        rows.append(
            [
                str(int(shuttle_id)),
                str(rng.choice(LOCATIONS)),
                shuttle_type,
                engine_type,
                engine_vendor,
                engines_str,
                str(capacity),
                policy,
                f"{crew}.0",
                _tf(d_check),
                _tf(moon),
                _money(price),
                str(company_id),
            ]
        )
    header = [
        "id",
        "shuttle_location",
        "shuttle_type",
        "engine_type",
        "engine_vendor",
        "engines",
        "passenger_capacity",
        "cancellation_policy",
        "crew",
        "d_check_complete",
        "moon_clearance_complete",
        "price",
        "company_id",
    ]
    return header, rows, ids


def make_reviews(
    rng: np.random.Generator, shuttle_ids: np.ndarray
) -> tuple[list[str], list[list[str]]]:
    reviewed = rng.choice(shuttle_ids, size=N_REVIEWS, replace=False)
    rows: list[list[str]] = []
    for shuttle_id in reviewed:
        rating = float(np.clip(rng.normal(90.0, 6.0), 40.0, 100.0))
        sub_scores = [int(np.clip(rng.normal(9.3, 0.7), 2, 10)) for _ in range(5)]
        n_reviews = int(rng.integers(0, 250))
        per_month = round(float(rng.gamma(2.0, 0.6)), 2)
        rating_str = "" if rng.random() < 0.05 else f"{rating:.1f}"
        rows.append(
            [
                str(int(shuttle_id)),
                rating_str,
                *[f"{s}.0" for s in sub_scores],
                str(n_reviews),
                f"{per_month}",
            ]
        )
    header = [
        "shuttle_id",
        "review_scores_rating",
        "review_scores_comfort",
        "review_scores_amenities",
        "review_scores_trip",
        "review_scores_crew",
        "review_scores_location",
        "number_of_reviews",
        "reviews_per_month",
    ]
    return header, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "data" / "01_raw",
        help="Output directory (default: <project>/data/01_raw)",
    )
    args = parser.parse_args()

    rng = np.random.default_rng(SEED)
    c_header, c_rows, company_ids = make_companies(rng)
    s_header, s_rows, shuttle_ids = make_shuttles(rng, company_ids)
    r_header, r_rows = make_reviews(rng, shuttle_ids)

    _write_csv(args.out / "companies.csv", c_header, c_rows)
    _write_csv(args.out / "shuttles.csv", s_header, s_rows)
    _write_csv(args.out / "reviews.csv", r_header, r_rows)
    print(
        f"wrote {len(c_rows)} companies, {len(s_rows)} shuttles, {len(r_rows)} reviews"
        f" to {args.out}"
    )


if __name__ == "__main__":
    main()
