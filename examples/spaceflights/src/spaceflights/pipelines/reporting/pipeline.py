"""Wiring of the ``reporting`` modular pipeline."""

from __future__ import annotations

from kedro.pipeline import Pipeline, node

from .nodes import (
    build_shuttle_company_view,
    compare_passenger_capacity,
    summarise_companies,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Create the namespaced ``reporting`` pipeline.

    The internal input ``shuttles`` is wired to the global
    ``preprocessed_shuttles`` dataset through an ``inputs`` mapping;
    ``report_precision`` is a global (non-namespaced) parameter kept as is
    with ``parameters=``.
    """
    base = Pipeline(
        [
            node(
                func=compare_passenger_capacity,
                inputs=["shuttles", "params:capacity", "params:report_precision"],
                outputs="passenger_capacity_by_type",
                name="compare_passenger_capacity_node",
                tags=["reporting"],
            ),
            node(
                func=build_shuttle_company_view,
                inputs=["model_input_table", "params:summary"],
                outputs="shuttle_company_view",
                name="build_shuttle_company_view_node",
                tags=["reporting"],
            ),
            node(
                func=summarise_companies,
                inputs=["shuttle_company_view", "params:summary", "params:report_precision"],
                outputs="company_summary",
                name="summarise_companies_node",
                tags=["reporting"],
            ),
        ]
    )
    return Pipeline(
        base,
        namespace="reporting",
        inputs={"shuttles": "preprocessed_shuttles", "model_input_table": "model_input_table"},
        parameters={"report_precision"},
    )
