"""Wiring of the ``data_science`` modular pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import create_model_report, evaluate_model, predict, split_data, train_model


def create_pipeline(**kwargs) -> Pipeline:
    """Create the namespaced ``data_science`` pipeline.

    ``model_input_table`` is consumed under its global name; the train/test
    splits stay in memory (``data_science.X_train`` ...), while the model,
    predictions, metrics and model report are persisted under
    ``data_science.*`` names. ``params:model_options`` resolves to
    ``params:data_science.model_options``; the global ``report_precision``
    parameter is left un-namespaced via ``parameters=``.
    """
    base = Pipeline(
        [
            node(
                func=split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
                tags=["training"],
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train", "params:model_options"],
                outputs="regressor",
                name="train_model_node",
                tags=["training"],
            ),
            node(
                func=predict,
                inputs=["regressor", "X_test"],
                outputs="test_predictions",
                name="predict_node",
                tags=["training"],
            ),
            node(
                func=evaluate_model,
                inputs=["test_predictions", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
                tags=["training"],
            ),
            node(
                func=create_model_report,
                inputs=["regressor", "metrics", "params:report_precision"],
                outputs="model_report",
                name="create_model_report_node",
                tags=["reporting", "evaluation"],
            ),
        ]
    )
    return Pipeline(
        base,
        namespace="data_science",
        inputs={"model_input_table"},
        parameters={"report_precision"},
    )
