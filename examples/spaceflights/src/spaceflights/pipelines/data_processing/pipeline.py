"""Wiring of the ``data_processing`` modular pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    create_model_input_table,
    preprocess_companies,
    preprocess_reviews,
    preprocess_shuttles,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the namespaced ``data_processing`` pipeline.

    The raw inputs (``companies``, ``shuttles``, ``reviews``) and the outputs
    ``model_input_table`` and ``preprocessed_shuttles`` (consumed by
    ``reporting``) keep their global names; every other dataset is prefixed
    with ``data_processing.``.
    """
    base = Pipeline(
        [
            node(
                func=preprocess_companies,
                inputs="companies",
                outputs="preprocessed_companies",
                name="preprocess_companies_node",
                tags=["preprocessing"],
            ),
            node(
                func=preprocess_shuttles,
                inputs=["shuttles", "params:cleaning"],
                outputs="preprocessed_shuttles",
                name="preprocess_shuttles_node",
                tags=["preprocessing"],
            ),
            node(
                func=preprocess_reviews,
                inputs=["reviews", "params:cleaning"],
                outputs="preprocessed_reviews",
                name="preprocess_reviews_node",
                tags=["preprocessing"],
            ),
            node(
                func=create_model_input_table,
                inputs=["preprocessed_shuttles", "preprocessed_companies", "preprocessed_reviews"],
                outputs="model_input_table",
                name="create_model_input_table_node",
                tags=["preprocessing", "feature_engineering"],
            ),
        ]
    )
    return Pipeline(
        base,
        namespace="data_processing",
        inputs={"companies", "shuttles", "reviews"},
        outputs={"model_input_table", "preprocessed_shuttles"},
    )
