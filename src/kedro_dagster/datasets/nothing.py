"""A dataset with no data: only an ordering edge between nodes (a Dagster ``Nothing`` asset)."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset

__all__ = ["DagsterNothingDataset"]


class DagsterNothingDataset(AbstractDataset[Any, None]):
    """Orders two nodes without storing anything.

    Saving discards the data; loading returns ``None``.

    Parameters
    ----------
    metadata : dict, optional
        Free-form metadata (``description`` is shown in Dagster).
    """

    def __init__(self, metadata: dict[str, Any] | None = None) -> None:
        self.metadata = metadata

    def load(self) -> None:
        """Return ``None``: there is no data."""
        return None

    def save(self, data: Any) -> None:
        """Discard ``data`` (replaced below by a version that also accepts ``None``)."""

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"type": "nothing"}


def _discard(self: DagsterNothingDataset, data: Any) -> None:
    """Discard ``data``; ``None`` included (what a node "returning nothing" gives)."""


# Kedro wraps the `save` of every dataset subclass at class creation with a check refusing
# `None`. A dataset that holds no data must accept it, so `save` is set after creation.
DagsterNothingDataset.save = _discard  # type: ignore[method-assign]
