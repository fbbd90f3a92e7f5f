"""Node functions of the ``data_science`` pipeline (numpy/pandas only).

The "model" is an ordinary least-squares linear regression fitted with
``numpy.linalg.lstsq``; it is stored as a plain dictionary so that it pickles
to the same bytes on every run.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def split_data(
    data: pd.DataFrame, model_options: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Shuffle with a fixed seed and split the table into train and test sets."""
    features = list(model_options["features"])
    target = model_options["target"]
    rng = np.random.default_rng(int(model_options["random_state"]))
    order = rng.permutation(len(data))
    n_test = round(len(data) * float(model_options["test_size"]))
    test_idx = np.sort(order[:n_test])
    train_idx = np.sort(order[n_test:])

    x = data[features].astype("float64")
    y = data[target].astype("float64")
    x_train = x.iloc[train_idx].reset_index(drop=True)
    x_test = x.iloc[test_idx].reset_index(drop=True)
    y_train = y.iloc[train_idx].reset_index(drop=True)
    y_test = y.iloc[test_idx].reset_index(drop=True)
    return x_train, x_test, y_train, y_test


def train_model(
    x_train: pd.DataFrame, y_train: pd.Series, model_options: dict[str, Any]
) -> dict[str, Any]:
    """Fit ``y = intercept + x @ coef`` by least squares and return it as a dict."""
    design = x_train.to_numpy(dtype="float64")
    if model_options.get("fit_intercept", True):
        design = np.column_stack([np.ones(len(design)), design])
    solution, *_ = np.linalg.lstsq(design, y_train.to_numpy(dtype="float64"), rcond=None)
    solution = [float(v) for v in solution]
    intercept = solution.pop(0) if model_options.get("fit_intercept", True) else 0.0
    model = {
        "model_type": "ols_linear_regression",
        "target": model_options["target"],
        "features": list(x_train.columns),
        "intercept": intercept,
        "coefficients": dict(zip(x_train.columns, solution, strict=True)),
    }
    logger.info("Fitted a linear model on %d rows", len(x_train))
    return model


def predict(regressor: dict[str, Any], x_test: pd.DataFrame) -> pd.DataFrame:
    """Apply the fitted linear model to the test features."""
    coef = np.array([regressor["coefficients"][f] for f in regressor["features"]])
    values = x_test[regressor["features"]].to_numpy(dtype="float64") @ coef
    return pd.DataFrame({"predicted_price": values + regressor["intercept"]})


def evaluate_model(predictions: pd.DataFrame, y_test: pd.Series) -> dict[str, float | int]:
    """Compute R2, MAE and RMSE of the predictions on the test set."""
    y_true = y_test.to_numpy(dtype="float64")
    y_pred = predictions["predicted_price"].to_numpy(dtype="float64")
    residuals = y_true - y_pred
    ss_res = float(np.sum(residuals**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    metrics = {
        "r2": round(1.0 - ss_res / ss_tot, 6) if ss_tot else 0.0,
        "mae": round(float(np.mean(np.abs(residuals))), 6),
        "rmse": round(float(np.sqrt(np.mean(residuals**2))), 6),
        "n_test": len(y_true),
    }
    logger.info("Model has a coefficient R^2 of %.3f on test data.", metrics["r2"])
    return metrics


def create_model_report(
    regressor: dict[str, Any], metrics: dict[str, Any], report_precision: int
) -> dict[str, Any]:
    """Combine the fitted coefficients and the evaluation metrics into one report."""
    digits = int(report_precision)
    return {
        "model_type": regressor["model_type"],
        "target": regressor["target"],
        "intercept": round(regressor["intercept"], digits),
        "coefficients": {
            name: round(regressor["coefficients"][name], digits) for name in regressor["features"]
        },
        "metrics": {key: metrics[key] for key in sorted(metrics)},
    }
