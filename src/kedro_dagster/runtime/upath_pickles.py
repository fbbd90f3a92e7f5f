"""Run intermediates pickled under a local folder or an fsspec URL (``intermediate_storage``).

Its own module: universal-pathlib is imported by runs that use it, not by every definitions
load.
"""

from __future__ import annotations

import pickle
from typing import Any

from dagster import InputContext, OutputContext, UPathIOManager
from upath import UPath

__all__ = ["PickleUPathIOManager"]


class PickleUPathIOManager(UPathIOManager):
    """Pickles run intermediates under a local folder or an fsspec URL (``s3://``, ``gs://``...).

    Paths are ``<base>/<run_id>/<step>/<output>``, as with Dagster's filesystem IO manager, so a
    re-execution from failure reads its parent run's intermediates.
    """

    extension: str = ".pickle"

    def dump_to_path(self, context: OutputContext, obj: Any, path: UPath) -> None:
        """Pickle ``obj`` to ``path``."""
        with path.open("wb") as file:
            pickle.dump(obj, file, protocol=pickle.HIGHEST_PROTOCOL)

    def load_from_path(self, context: InputContext, path: UPath) -> Any:
        """Unpickle the object at ``path``."""
        with path.open("rb") as file:
            return pickle.load(file)
