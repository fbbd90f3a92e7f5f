"""Preflight: configuration mistakes found before any node computes.

Load-time checks (credential names, parameter keys, factory patterns) live in
``kedro_dagster.translation.preflight``; constructing datasets, shared by the run's first step
and ``KEDRO_DAGSTER_PREFLIGHT=full`` loads, lives in :mod:`kedro_dagster.preflight.datasets`.
"""

from __future__ import annotations

import os

__all__ = ["PREFLIGHT_ENV", "preflight_mode"]

#: ``load`` (default): cheap checks at load, datasets constructed in the run's first step;
#: ``full``: also construct every dataset at load (``kedro dagster check defs``);
#: ``off``: no preflight.
PREFLIGHT_ENV = "KEDRO_DAGSTER_PREFLIGHT"
_MODES = ("load", "full", "off")


def preflight_mode() -> str:
    """The preflight mode chosen by ``KEDRO_DAGSTER_PREFLIGHT`` (``load`` when unset)."""
    value = os.environ.get(PREFLIGHT_ENV, "").strip().lower() or "load"
    if value not in _MODES:
        from kedro_dagster.errors import KedroDagsterConfigError

        raise KedroDagsterConfigError(
            f"{PREFLIGHT_ENV}={value!r} is not a preflight mode: use one of {', '.join(_MODES)}."
        )
    return value
