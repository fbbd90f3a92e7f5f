"""Parameters as Dagster config: every parameter carries its current value as a default.

Dagster scaffolds a job's default run config (the launchpad's "Scaffold all default config",
GraphQL ``rootDefaultYaml``) from the fields' defaults; a mapping without a default hides all
its children. The config is checked through Dagster's public ``build_resources``, which
validates the given config and fills in the defaults exactly as a run does.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from dagster import DagsterInvalidConfigError, ResourceDefinition, build_resources

from kedro_dagster.translation.params import (
    config_field,
    has_parameter,
    parameters_note,
    used_parameters,
)


def _resolved(parameters: dict[str, Any], edited: dict[str, Any] | None = None) -> Any:
    """The ``params`` a run gets from the launchpad config ``edited`` (``None``: untouched)."""
    resource = ResourceDefinition(
        resource_fn=lambda context: context.resource_config,
        config_schema={"params": config_field(parameters)},
    )
    config = None if edited is None else {"r": {"config": {"params": edited}}}
    with build_resources({"r": resource}, resource_config=config) as resources:
        return resources.r["params"]


NESTED = {
    "report_precision": 3,
    "data_science": {
        "model_options": {"test_size": 0.2, "fit_intercept": True, "target": "price"},
        "deep": {"a": {"b": {"c": "leaf"}}},
    },
}


def test_nested_mappings_default_to_their_values() -> None:
    field = config_field(NESTED)
    assert field.default_provided
    assert field.default_value == NESTED
    assert _resolved(NESTED) == NESTED


def test_editing_one_key_keeps_every_other_value() -> None:
    edited = _resolved(NESTED, {"data_science": {"model_options": {"test_size": 0.3}}})
    expected = {
        **NESTED,
        "data_science": {
            **NESTED["data_science"],
            "model_options": {**NESTED["data_science"]["model_options"], "test_size": 0.3},
        },
    }
    assert edited == expected


def test_lists_default_to_their_values() -> None:
    parameters = {
        "features": ["engines", "crew"],
        "edges": [0.0, 0.7, 1.0],
        "mixed": [1, "a", None],
        "empty": [],
        "records": [{"name": "x", "weight": 1}],
    }
    assert config_field(parameters).default_value == parameters
    assert _resolved(parameters) == parameters
    # Typed from the values: a list of strings refuses a number.
    with pytest.raises(DagsterInvalidConfigError):
        _resolved(parameters, {"features": [1]})


def test_empty_mapping_and_none_are_shown() -> None:
    parameters = {"options": {}, "threshold": None, "inner": {"opts": {}, "none": None}}
    assert config_field(parameters).default_value == parameters
    assert _resolved(parameters) == parameters
    # An empty mapping stays open to new keys, as `kedro run --params` allows.
    assert _resolved(parameters, {"options": {"new": 1}})["options"] == {"new": 1}


def test_a_date_stays_editable_and_is_left_out_of_the_default() -> None:
    parameters = {"start": datetime.date(2024, 1, 2), "window": {"days": 7}}
    field = config_field(parameters)
    # Dagster cannot show a date: the rest of the tree is still scaffolded.
    assert field.default_value == {"window": {"days": 7}}
    assert _resolved(parameters) == {"window": {"days": 7}}
    assert _resolved(parameters, {"start": "2024-02-01"}) == {
        "start": "2024-02-01",
        "window": {"days": 7},
    }


def test_a_mistyped_key_fails_validation_naming_the_key_and_its_path() -> None:
    with pytest.raises(DagsterInvalidConfigError) as raised:
        _resolved(NESTED, {"data_science": {"model_options": {"tset_size": 0.3}}})
    message = str(raised.value)
    assert 'unexpected config entry "tset_size"' in message
    assert "params:data_science:model_options" in message


def test_parameters_note_names_each_parameter_in_backticks() -> None:
    note = parameters_note(["companies", "params:data_science.model_options", "parameters"])
    assert note.startswith("Parameters: `params:data_science.model_options`, `parameters`")
    assert "`resources.kedro_run.config.params`" in note
    assert parameters_note(["companies"]) == ""


def test_sub_trees_shared_through_the_cache_keep_their_own_types() -> None:
    """Equal sub-trees reuse one field; 1, 1.0 and True stay an int, a float and a bool."""
    cache: dict[Any, Any] = {}
    one_job = {"ns_a": {"scale": 1, "opts": {"power": 2.0}}}
    every_job = {
        "ns_a": {"scale": 1, "opts": {"power": 2.0}},
        "ns_b": {"scale": 1.0, "opts": {"power": 2.0}},
        "ns_c": {"scale": True, "opts": {"power": 2.0}},
    }
    first = config_field(one_job, cache)
    union = config_field(every_job, cache)
    assert union.config_type.fields["ns_a"] is first.config_type.fields["ns_a"]
    assert union.default_value == every_job
    scale = {ns: union.config_type.fields[ns].config_type.fields["scale"] for ns in every_job}
    assert [scale[ns].config_type.key for ns in ("ns_a", "ns_b", "ns_c")] == [
        "Int",
        "Float",
        "Bool",
    ]
    # What a run gets is what it got without the cache, edits included.
    resource = ResourceDefinition(
        resource_fn=lambda context: context.resource_config,
        config_schema={"params": union},
    )
    edited = {"r": {"config": {"params": {"ns_b": {"scale": 3.5}}}}}
    with build_resources({"r": resource}, resource_config=edited) as resources:
        assert resources.r["params"] == {**every_job, "ns_b": {**every_job["ns_b"], "scale": 3.5}}
    assert _resolved(every_job) == every_job


def test_a_key_holding_a_dot_is_found_as_kedro_names_it() -> None:
    parameters = {"model.v1": {"lr": 0.5}, "a": {"b": {"c": 1}}}
    # Kedro feeds `params:model.v1.lr` (key `model.v1`, child `lr`) and `params:a.b.c`.
    assert has_parameter(parameters, "model.v1.lr")
    assert has_parameter(parameters, "a.b.c")
    assert not has_parameter(parameters, "model.v2.lr")
    assert used_parameters(parameters, ["params:model.v1.lr", "params:a.b"]) == {
        "model.v1": {"lr": 0.5},
        "a": {"b": {"c": 1}},
    }
