"""The repository-level names of one translated project, prefixed with its namespace.

Dagster requires an op name, and a resource key bound to different objects, to be unique in
a repository (a code location). Two Kedro projects loaded together (two
``KedroProjectComponent``) both have a ``kedro_run`` resource, ``before_pipeline_run`` op
and, often, nodes and datasets of the same names: with a namespace each of these is
``<namespace>__<name>``. Without one every name is the one earlier releases gave (past runs'
configs and step keys name them).
"""

from __future__ import annotations

from dataclasses import dataclass

from kedro_dagster.constants import KEDRO_RUN_RESOURCE, MEMORY_IO_MANAGER

__all__ = ["NO_NAMESPACE", "Namespace"]


@dataclass(frozen=True)
class Namespace:
    """Prefixes the op names and resource keys of one project.

    Parameters
    ----------
    name : str, optional
        The namespace (``[A-Za-z0-9_]+``); ``None`` keeps every name unprefixed.
    """

    name: str | None = None

    def __call__(self, name: str) -> str:
        """``<namespace>__<name>``, or ``name`` without a namespace."""
        return f"{self.name}__{name}" if self.name else name

    @property
    def kedro_run(self) -> str:
        """Key of the resource holding the run's Kedro catalog, hooks and parameters."""
        return self(KEDRO_RUN_RESOURCE)

    @property
    def memory_io_manager(self) -> str:
        """Key of the IO manager of MemoryDatasets."""
        return self(MEMORY_IO_MANAGER)


#: Every name as earlier releases gave it.
NO_NAMESPACE = Namespace()
