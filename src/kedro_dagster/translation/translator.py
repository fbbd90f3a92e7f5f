"""The translator: how a Kedro dataset appears in Dagster (key, group, owners, tags, ...).

Like ``dagster-dbt``'s ``DagsterDbtTranslator``: pass an instance, parametrised with
:class:`KedroDagsterTranslatorSettings` or subclassed, to
``KedroProjectTranslator(translator=...)``. Every asset key and attribute Dagster sees comes
from :meth:`KedroDagsterTranslator.get_asset_spec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster import AssetKey, AssetSpec
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from kedro_dagster.translation.catalog import DatasetSpec

__all__ = ["KedroDagsterTranslator", "KedroDagsterTranslatorSettings"]


class KedroDagsterTranslatorSettings(BaseModel):
    """Options of the default :class:`KedroDagsterTranslator` (``translation:`` of the Component).

    Attributes
    ----------
    asset_key_prefix : list of str
        Prepended to every asset key (``["spaceflights"]``: ``spaceflights/companies``).
    group_name : str, optional
        Group of every asset whose dataset sets no ``metadata.group_name`` (instead of the
        group of its pipeline).
    owners : list of str
        Owners of every asset (``team:data``, ``someone@example.com``).
    tags : dict of str to str
        Tags of every asset.
    automation_condition : dagster.AutomationCondition, optional
        Automation condition of every asset materialized by a node.
    enable_code_references : bool
        Link each asset to its node's source (``dagster/code_references``).
    enable_row_count : bool
        Record the row and column counts of table outputs in materializations.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    asset_key_prefix: list[str] = Field(default_factory=list)
    group_name: str | None = None
    owners: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    automation_condition: Any = None
    enable_code_references: bool = True
    enable_row_count: bool = True


class KedroDagsterTranslator:
    """Turns a Kedro dataset into the Dagster asset spec every definition uses.

    Subclass and override :meth:`get_asset_key` or :meth:`get_asset_spec` to change how
    datasets appear in Dagster; keys and attributes returned here are used for the asset,
    its lineage (deps of downstream assets, through MemoryDatasets too), external assets,
    job-run materializations and partitions. A dataset has one key, whatever the
    ``group_name`` argument, and no two datasets share one (both are errors at load).

    Parameters
    ----------
    settings : KedroDagsterTranslatorSettings, optional
        Options of the default translation.
    """

    def __init__(self, settings: KedroDagsterTranslatorSettings | None = None) -> None:
        self.settings = settings or KedroDagsterTranslatorSettings()

    def get_asset_key(self, dataset: DatasetSpec) -> AssetKey:
        """The asset key of ``dataset``: the settings' prefix, then its Dagster-safe name."""
        return AssetKey([*self.settings.asset_key_prefix, dataset.asset_name])

    def get_asset_spec(
        self,
        dataset: DatasetSpec,
        *,
        group_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        partitions_def: Any = None,
    ) -> AssetSpec:
        """The Dagster asset spec of ``dataset``.

        Parameters
        ----------
        dataset : DatasetSpec
            The dataset, as the catalog configures it.
        group_name : str, optional
            Default group (from the node's pipeline). The dataset's ``metadata.group_name``
            wins, then the settings' ``group_name``.
        metadata : Mapping, optional
            Static metadata of the dataset (name, type, path).
        partitions_def : PartitionsDefinition, optional
            Partitions of a ``DagsterPartitionedDataset``.

        Returns
        -------
        AssetSpec
        """
        settings = self.settings
        return AssetSpec(
            key=self.get_asset_key(dataset),
            description=dataset.description,
            group_name=dataset.group_name or settings.group_name or group_name,
            metadata=dict(metadata or {}),
            kinds=dataset.kinds,
            partitions_def=partitions_def,
            owners=list(settings.owners) or None,
            tags=dict(settings.tags) or None,
            automation_condition=settings.automation_condition,
        )
