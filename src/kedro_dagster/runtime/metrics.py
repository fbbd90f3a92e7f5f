"""Numbers of a small mapping output (Kedro's usual metrics) as float materialization metadata.

Dagster plots numeric materialization metadata across runs: a node returning
``{"r2": 0.91, "mae": 1234.5}`` to a JSON or YAML dataset gets ``r2`` and ``mae`` plotted in
the asset's page. Informative only: nothing here may fail the step that saved the data.
"""

from __future__ import annotations

import logging
import numbers
import os
from collections.abc import Mapping
from typing import Any

from dagster import MetadataValue

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_METRICS",
    "METRICS_ENV",
    "METRIC_PREFIX",
    "SWITCH_KEY",
    "metrics_enabled",
    "metrics_metadata",
]

logger = logging.getLogger(__name__)

#: A mapping with more entries than this is a table or a configuration, not metrics: no entry.
MAX_METRICS = 50
#: Keys longer than this are skipped (they would not read as a plot title).
MAX_KEY_LENGTH = 100
#: Prefix of a metric whose key is ours or another tool's (``path``, ``kedro/...``, ...).
METRIC_PREFIX = "kedro/metric/"
#: Namespaces of keys Dagster, kedro-dagster and the MLflow integration give a meaning to.
_RESERVED_PREFIXES = ("dagster/", "kedro/", "mlflow/")
#: Project-wide switch: ``off`` (or ``0``, ``false``, ``no``) records no metrics by default.
METRICS_ENV = "KEDRO_DAGSTER_METRICS"
_OFF = frozenset({"0", "false", "no", "off"})
#: Key of the catalog entry's ``metadata`` holding kedro-dagster's settings of the dataset
#: (``metadata: {kedro-dagster: {metrics: false}}``), as kedro-viz reads ``kedro-viz``.
SWITCH_KEY = "kedro-dagster"


def metrics_enabled(dataset: Any) -> bool:
    """Whether the outputs of ``dataset`` get metrics metadata.

    The dataset's ``metadata: {kedro-dagster: {metrics: <bool>}}`` (kept by Kedro datasets as
    their ``metadata`` attribute) wins; else ``KEDRO_DAGSTER_METRICS`` decides (on by default).
    """
    metadata = getattr(dataset, "metadata", None)
    settings = metadata.get(SWITCH_KEY) if isinstance(metadata, Mapping) else None
    switch = settings.get("metrics") if isinstance(settings, Mapping) else None
    if isinstance(switch, bool):
        return switch
    return os.environ.get(METRICS_ENV, "").strip().lower() not in _OFF


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (numpy scalars too), never a boolean."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None  # numpy.bool_ is not a numbers.Real
    try:
        return float(value)
    except (OverflowError, ValueError):  # an int too large for a float
        return None


def metrics_metadata(data: Any, taken: Mapping[str, Any]) -> dict[str, Any]:
    """Float metadata of the numbers of a flat mapping of at most ``MAX_METRICS`` entries.

    Parameters
    ----------
    data : Any
        What the node saved. Anything but a mapping gives nothing.
    taken : Mapping
        The metadata recorded already: a metric never replaces one of its keys.

    Returns
    -------
    dict
        ``{key: MetadataValue.float(value)}`` for every string key (at most ``MAX_KEY_LENGTH``
        characters) whose value is a number; booleans, strings, nested values are skipped.
        NaN and infinities are kept (Dagster stores them, its UI shows ``nan`` / ``inf``).
        A key already taken, or starting with ``dagster/``, ``kedro/`` or ``mlflow/``, is
        recorded as ``kedro/metric/<key>``. Empty if reading ``data`` raises.
    """
    if not isinstance(data, Mapping):
        return {}
    try:
        if len(data) > MAX_METRICS:
            return {}
        metrics: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
                continue
            number = _number(value)
            if number is None:
                continue
            reserved = key in taken or key.startswith(_RESERVED_PREFIXES)
            metrics[METRIC_PREFIX + key if reserved else key] = MetadataValue.float(number)
        return metrics
    except Exception as exc:  # a mapping raising while read: its data is saved, keep the step
        logger.debug("No metrics metadata from %s: %r", type(data).__name__, exc)
        return {}
