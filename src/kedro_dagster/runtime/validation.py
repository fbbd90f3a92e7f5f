"""Kedro catalog validators (``validator:``, Kedro 1.7+) reported as Dagster asset checks.

Kedro's catalog validates a dataset when it loads or saves it (its "funnel": the ``on``
modes, ``enabled``, ``severity``, ``skip_load_after_save`` and ``KEDRO_DATASET_VALIDATION``
all decide there). A run keeps that behaviour untouched, so pass and fail are those of
``kedro run``: an ``error`` validator raises out of the load or save and fails the step, a
``warn`` one logs Kedro's warning and the run goes on. kedro-dagster only watches: the
validator Kedro calls is wrapped (:func:`observe`), and each call becomes an
``AssetCheckEvaluation`` of the dataset's asset check, logged in the step that loaded or saved
it (:func:`reporter`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
)

from kedro_dagster import _kedro_internals as internals
from kedro_dagster.constants import KEDRO_RUN_RESOURCE

__all__ = [
    "CHECK_NAME",
    "Report",
    "Validation",
    "ValidatorCheck",
    "evaluation",
    "observe",
    "reporter",
    "standalone_check",
]

logger = logging.getLogger(__name__)

#: Name of the asset check standing for a dataset's Kedro validator (one per dataset).
CHECK_NAME = "kedro_validator"


@dataclass(frozen=True)
class ValidatorCheck:
    """The asset check of one dataset's validator: what a run needs to report it.

    Built at translation time from the catalog configuration and handed to the IO manager
    of the dataset, so run-time code never reads the translation.

    Attributes
    ----------
    dataset : str
        Kedro dataset name.
    asset_key : AssetKey
        The dataset's asset (the check's target).
    validator : str
        The ``validator:`` class path (a class, a schema or a callable).
    severity : str
        Kedro's ``severity``: ``"error"`` or ``"warn"``.
    """

    dataset: str
    asset_key: AssetKey
    validator: str
    severity: str

    @property
    def dagster_severity(self) -> AssetCheckSeverity:
        """``error`` -> ERROR, ``warn`` -> WARN."""
        return AssetCheckSeverity.WARN if self.severity == "warn" else AssetCheckSeverity.ERROR


@dataclass(frozen=True)
class Validation:
    """One call of a dataset's validator by Kedro's catalog.

    Attributes
    ----------
    mode : str
        ``"load"`` or ``"save"``.
    error : Exception, optional
        The ``DataValidationError`` Kedro raised or logged (``None``: passed).
    """

    mode: str
    error: Exception | None = None

    @property
    def passed(self) -> bool:
        """Whether the validator accepted the data."""
        return self.error is None


#: Receives each validation of a load or save (see :func:`observe`).
Report = Callable[[Validation], None]


class _Observed:
    """The validator Kedro resolved for a dataset, noting each call for the current step."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[Exception | None] | None = None

    def validate(self, data: Any) -> Any:
        """Kedro's ``Validator.validate``: return the (possibly coerced) data or raise."""
        try:
            result = self.inner.validate(data)
        except Exception as exc:
            if self.calls is not None:
                self.calls.append(exc)
            raise
        if self.calls is not None:
            self.calls.append(None)
        return result

    def __repr__(self) -> str:
        return repr(self.inner)


def _observed(catalog: Any, name: str, mode: str) -> _Observed | None:
    """The catalog's validator of ``name``, wrapped in place; ``None`` if none would run."""
    cache = internals.validator_cache(catalog)
    specs = getattr(catalog, "validator_specs", None)
    spec = specs.get(name) if cache is not None and specs else None
    if spec is None or not spec.enabled or mode not in spec.on:
        return None
    current = cache.get(name)  # type: ignore[union-attr]
    if isinstance(current, _Observed):
        return current
    if current is None:
        from kedro.validation.core import resolve_validator

        try:
            current = resolve_validator(spec)
        except Exception:  # Kedro's funnel raises it, at the same place as under `kedro run`
            return None
    wrapped = _Observed(current)
    cache[name] = wrapped  # type: ignore[index]
    return wrapped


def _as_kedro_error(error: Exception, name: str, mode: str, validator: str) -> Exception:
    """The ``DataValidationError`` Kedro raises or logs for what a validator raised."""
    from kedro.validation.exceptions import DataValidationError

    if isinstance(error, DataValidationError):
        return error  # Kedro sets its dataset and mode in place
    wrapped = DataValidationError(str(error), dataset_name=name, mode=mode, validator=validator)
    wrapped.__cause__ = error
    return wrapped


@contextmanager
def observe(catalog: Any, name: str, mode: str, report: Report | None) -> Iterator[None]:
    """Report each validation of ``name`` done by ``catalog`` inside the block, even if it raises.

    Nothing changes what Kedro does: only the outcome is seen. Without ``report``, or when no
    validator of the dataset applies to ``mode``, this does nothing.
    """
    observed = _observed(catalog, name, mode) if report is not None else None
    if observed is None or report is None:
        yield
        return
    calls: list[Exception | None] = []
    observed.calls = calls
    try:
        yield
    finally:
        observed.calls = None
        spec = catalog.validator_specs.get(name)
        for error in calls:
            outcome = Validation(
                mode,
                None if error is None else _as_kedro_error(error, name, mode, spec.class_path),
            )
            try:
                report(outcome)
            except Exception as exc:  # a report must never hide the load or save's own error
                logger.warning("Validator check of dataset '%s' not recorded: %r", name, exc)


def _failures(error: Exception) -> list[dict[str, Any]]:
    """Kedro's structured failures (``CheckFailure``: a Pandera schema's failed checks)."""
    failures = []
    for failure in getattr(error, "failures", None) or ():
        failures.append(
            {
                "check": failure.check,
                "column": failure.column,
                "failure_count": failure.failure_count,
                "failure_examples": [
                    value
                    if isinstance(value, (str, int, float, bool)) or value is None
                    else repr(value)
                    for value in failure.failure_examples
                ],
                "message": failure.message,
            }
        )
    return failures


def evaluation(
    check: ValidatorCheck,
    validation: Validation,
    node_name: str | None = None,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> AssetCheckEvaluation:
    """The asset check evaluation of one validation, failure details as metadata.

    Metadata: the validator, the mode (``load``/``save``), the node, and on failure Kedro's
    message (``error``), the failed checks with their counts and examples (``failures``) and
    one line per failed check (``failed_checks``).
    """
    metadata: dict[str, Any] = {
        "kedro/dataset": check.dataset,
        "kedro/validator": check.validator,
        "kedro/mode": validation.mode,
        "kedro/severity": check.severity,
    }
    if node_name:
        metadata["kedro/node"] = node_name
    description = None
    error = validation.error
    if error is not None:
        message = str(error)
        description = message.splitlines()[0]
        metadata["error"] = message
        failures = _failures(error)
        if failures:
            metadata["failures"] = MetadataValue.json(failures)
            metadata["failed_checks"] = MetadataValue.md(
                "\n".join(
                    f"- `{f['column']}`: `{f['check']}` ({f['failure_count']})"
                    if f["column"]
                    else f"- `{f['check'] or f['message']}` ({f['failure_count']})"
                    for f in failures
                )
            )
    if redact is not None:
        metadata = redact(metadata)
    return AssetCheckEvaluation(
        asset_key=check.asset_key,
        check_name=CHECK_NAME,
        passed=validation.passed,
        metadata=metadata,
        severity=check.dagster_severity,
        description=description,
    )


def reporter(
    context: Any,
    check: ValidatorCheck | None,
    node: Any,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Report | None:
    """Logs each validation as an evaluation of ``check`` in the step of ``context``.

    ``context`` is an op's context, or an IO manager's input or output context (whose
    ``log_event`` takes no check evaluations). ``None`` when the dataset has no check.
    """
    if check is None:
        return None
    node_name = getattr(node, "name", None)

    def report(validation: Validation) -> None:
        event = evaluation(check, validation, node_name, redact)
        if hasattr(context, "get_step_execution_context"):  # an op's context
            context.log_event(event)
        else:
            from kedro_dagster._dagster_internals import log_check_evaluation

            log_check_evaluation(context.step_context, event)

    return report


def standalone_check(
    check: ValidatorCheck, run_key: str = KEDRO_RUN_RESOURCE
) -> Callable[[Any], AssetCheckResult]:
    """Body of the check of a dataset no deployed node writes: load it, validate it.

    Executed on its own (from the UI, a schedule), it validates as Kedro's catalog does on
    load, through ``kedro.validation.validate_dataset``. Runs of the nodes reading the
    dataset report the validations of their own loads to the same check.
    """

    def evaluate(context: AssetCheckExecutionContext) -> AssetCheckResult:
        from kedro.io.core import DatasetError
        from kedro.validation import validate_dataset
        from kedro.validation.exceptions import DataValidationError

        run = getattr(context.resources, run_key)
        result = run.redactor.call(validate_dataset, run.catalog, check.dataset, on="load")
        if result.status == "errored":
            raise run.redactor.sanitize(DatasetError(result.message or result.status))
        error = None
        if result.status == "failed":
            error = DataValidationError(
                result.message or "",
                dataset_name=check.dataset,
                mode="load",
                validator=check.validator,
                failures=list(result.failures),
            )
        event = evaluation(check, Validation("load", error), None, run.redactor.redact_metadata)
        return AssetCheckResult(
            asset_key=event.asset_key,
            check_name=event.check_name,
            passed=event.passed,
            metadata=event.metadata,
            severity=event.severity,
            description=event.description,
        )

    # Dagster reads the annotation as an object, not the string postponed annotations leave.
    evaluate.__annotations__["context"] = AssetCheckExecutionContext
    return evaluate
