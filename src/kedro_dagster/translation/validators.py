"""Catalog ``validator:`` declarations (Kedro 1.7+) as Dagster asset checks, read at load time.

Nothing runs here: the declaration is parsed from the catalog configuration. Which check a
dataset gets follows where ``kedro run`` validates it:

- a dataset a deployed node writes, validated on save: a check of that node's multi-asset,
  evaluated when the node saves it (a validation on load by readers is reported to it too);
- a dataset no deployed node writes (a pipeline input), or one validated on load only: a
  check of its own, evaluated by each node that loads the dataset, and executable alone
  (it loads the dataset and validates it).

Kedro without ``kedro.validation`` (< 1.7): no declaration is read, nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetsDefinition, asset_check

from kedro_dagster.constants import KEDRO_RUN_RESOURCE
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.runtime.validation import CHECK_NAME, ValidatorCheck, standalone_check
from kedro_dagster.translation.names import code

__all__ = [
    "check_spec",
    "parse_validator",
    "standalone_check_definition",
    "standalone_checks",
    "validator_check",
]

#: The catalog entry key of a validator (``kedro.io.core.VALIDATOR_KEY`` in Kedro 1.7).
_VALIDATOR_KEY = "validator"


def parse_validator(name: str, config: Any) -> Any:
    """The dataset's ``validator:`` as Kedro parses it (a ``ValidatorSpec``), or ``None``.

    Raises
    ------
    KedroDagsterConfigError
        If the declaration is malformed (Kedro's message, with the dataset and key).
    """
    if not isinstance(config, Mapping) or config.get(_VALIDATOR_KEY) is None:
        return None
    try:  # feature detection: Kedro < 1.7 has no validators
        from kedro.validation.core import ValidatorSpec
        from kedro.validation.exceptions import ValidationConfigurationError
    except ImportError:
        return None
    try:
        return ValidatorSpec.from_dataset_config(name, config[_VALIDATOR_KEY])
    except ValidationConfigurationError as exc:
        raise KedroDagsterConfigError(str(exc), key=(name, _VALIDATOR_KEY)) from None


def validator_check(name: str, spec: Any, asset_key: AssetKey) -> ValidatorCheck | None:
    """What a run needs to report the validator ``spec`` of dataset ``name``; ``None`` if off."""
    if spec is None or not spec.enabled:
        return None
    return ValidatorCheck(
        dataset=name, asset_key=asset_key, validator=spec.class_path, severity=spec.severity
    )


def _description(check: ValidatorCheck, modes: tuple[str, ...]) -> str:
    return (
        f"Kedro validator {code(check.validator)} of dataset {code(check.dataset)}, "
        f"run on {' and '.join(modes)} (severity {code(check.severity)})."
    )


def check_spec(check: ValidatorCheck, modes: tuple[str, ...]) -> AssetCheckSpec:
    """The check spec of a validated dataset, for the multi-asset of the node writing it."""
    return AssetCheckSpec(
        CHECK_NAME,
        asset=check.asset_key,
        description=_description(check, modes),
        metadata={"kedro/validator": check.validator, "kedro/severity": check.severity},
    )


def standalone_check_definition(
    check: ValidatorCheck, modes: tuple[str, ...], run_key: str = KEDRO_RUN_RESOURCE
) -> AssetsDefinition:
    """The check of a validated dataset no deployed node writes on save (see module doc).

    Bind the ``kedro_run`` resource of asset runs to it (``with_resources``), under
    ``run_key``.
    """
    return asset_check(
        asset=check.asset_key,
        name=CHECK_NAME,
        description=_description(check, modes),
        metadata={"kedro/validator": check.validator, "kedro/severity": check.severity},
        required_resource_keys={run_key},
    )(standalone_check(check, run_key))


def standalone_checks(
    catalog: Any, datasets: Iterable[str], written_by_node: Callable[[str], bool]
) -> list[AssetsDefinition]:
    """The checks of validated datasets that no multi-asset holds (see module doc).

    Parameters
    ----------
    catalog : CatalogTranslator
        Dataset records and their validator checks.
    datasets : Iterable of str
        Every dataset the deployed nodes read or write.
    written_by_node : Callable
        Whether a deployed node writes a dataset (its multi-asset then holds a check validated
        on save).
    """
    checks: dict[AssetKey, AssetsDefinition] = {}
    for name in datasets:
        check = catalog.validator_check(name)
        if check is None or check.asset_key in checks:
            continue
        modes = tuple(catalog.dataset(name).validator.on)
        if "save" in modes and written_by_node(name):
            continue
        if "load" in modes:
            checks[check.asset_key] = standalone_check_definition(
                check, modes, catalog.namespace.kedro_run
            )
    return list(checks.values())
