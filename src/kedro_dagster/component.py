"""``KedroProjectComponent``: a Kedro project as a Dagster Component of a ``dg`` project.

``defs.yaml``::

    type: kedro_dagster.KedroProjectComponent
    attributes:
      project_path: ../../../..        # relative to this file's folder, or absolute
      env: prod                        # default: KEDRO_ENV, else the project's default
      namespace: spaceflights          # names spaceflights__<name>, keys spaceflights/<dataset>
      translation:
        group_name: kedro
        owners: [team:data]
        automation_condition: "{{ dg.AutomationCondition.eager() }}"

The definitions are those of ``definitions.py`` (``KedroProjectTranslator``): the component
only maps its attributes onto it.
"""

# No `from __future__ import annotations`: Dagster derives the defs.yaml schema from the
# dataclass fields' annotations, which must be real types, not strings.
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from dagster import AutomationCondition, Definitions
from dagster.components import (
    Component,
    ComponentLoadContext,
    Resolvable,
    Resolver,
    Scaffolder,
    ScaffoldRequest,
    scaffold_with,
)
from pydantic import BaseModel

from kedro_dagster.errors import KedroDagsterConfigError

if TYPE_CHECKING:
    from kedro_dagster.translation import KedroDagsterTranslatorSettings

# The translation (and Kedro) is imported when the component builds its definitions, not with
# this module: `dg` imports it at start-up to list components, before it sets up its logging.

__all__ = ["KedroProjectComponent", "KedroTranslationArgs"]

_NAMESPACE = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class KedroTranslationArgs(Resolvable):
    """``translation:`` of the component: the fields of :class:`KedroDagsterTranslatorSettings`.

    Values are templated as every component attribute is (``{{ env.TEAM }}``); the
    automation condition is one, e.g. ``"{{ dg.AutomationCondition.eager() }}"``.
    """

    asset_key_prefix: Sequence[str] | None = None
    group_name: str | None = None
    owners: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    automation_condition: Annotated[
        AutomationCondition | None,
        Resolver.default(
            model_field_type=str | None,
            description="Automation condition of every asset a node materializes, e.g. "
            "'{{ dg.AutomationCondition.eager() }}'.",
        ),
    ] = None
    enable_code_references: bool = True
    enable_row_count: bool = True


class KedroProjectScaffoldParams(BaseModel):
    """Parameters of ``dg scaffold defs kedro_dagster.KedroProjectComponent <path>``."""

    project_path: str | None = None
    env: str | None = None
    namespace: str | None = None


class KedroProjectScaffolder(Scaffolder[KedroProjectScaffoldParams]):
    """Writes a ``defs.yaml`` that loads as it is.

    Without ``--project-path`` the Kedro project is the ``dg`` project itself (the layout of
    ``kedro dagster init --layout component``); otherwise the path is written relative to the
    new folder.
    """

    @classmethod
    def get_scaffold_params(cls) -> type[KedroProjectScaffoldParams]:
        return KedroProjectScaffoldParams

    def scaffold(self, request: ScaffoldRequest[KedroProjectScaffoldParams]) -> None:
        params = request.params or KedroProjectScaffoldParams()
        request.target_path.mkdir(parents=True, exist_ok=True)
        (request.target_path / "defs.yaml").write_text(
            defs_yaml(request.type_name, request.target_path, params), encoding="utf-8"
        )


def defs_yaml(type_name: str, folder: Path, params: KedroProjectScaffoldParams) -> str:
    """The ``defs.yaml`` the scaffolder and ``kedro dagster init --layout component`` write."""
    attributes: dict[str, Any] = {}
    if params.project_path:
        target = Path(params.project_path).expanduser().resolve()
        attributes["project_path"] = os.path.relpath(target, folder.resolve())
    if params.env:
        attributes["env"] = params.env
    if params.namespace:
        attributes["namespace"] = params.namespace
    header = (
        "# A Kedro project as Dagster definitions (kedro-dagster): jobs from\n"
        "# conf/<env>/dagster.yml, datasets as assets. project_path: relative to this\n"
        "# folder (default: the dg project).\n"
        "# Options: env, namespace, translation (asset_key_prefix, group_name, owners, tags,\n"
        "# automation_condition, enable_code_references, enable_row_count).\n"
    )
    body = {"type": type_name, "attributes": attributes} if attributes else {"type": type_name}
    return header + yaml.safe_dump(body, sort_keys=False)


@scaffold_with(KedroProjectScaffolder)
@dataclass
class KedroProjectComponent(Component, Resolvable):
    """A Kedro project as Dagster definitions: datasets as assets, pipelines as jobs.

    Parameters
    ----------
    project_path : str, optional
        Root of the Kedro project, relative to the folder of ``defs.yaml`` or absolute; the
        ``dg`` project's root by default.
    env : str, optional
        Kedro environment; ``KEDRO_ENV``, else the project's default run environment.
    namespace : str, optional
        Keeps two Kedro projects of one ``dg`` project apart: jobs, schedules, the failure
        sensor, ops and resource keys are named ``<namespace>__<name>`` and asset keys start
        with ``<namespace>`` (unless ``translation.asset_key_prefix`` says otherwise).
    translation : KedroTranslationArgs, optional
        The options of :class:`KedroDagsterTranslatorSettings`.
    """

    project_path: str | None = None
    env: str | None = None
    namespace: str | None = None
    translation: KedroTranslationArgs | None = field(default=None)

    def project_root(self, context: ComponentLoadContext) -> Path:
        """The Kedro project's root this component translates."""
        if self.project_path is None:
            return context.project_root
        path = Path(self.project_path).expanduser()
        return path if path.is_absolute() else (context.path / path).resolve()

    def translator_settings(self) -> "KedroDagsterTranslatorSettings":
        """The translator settings of ``translation:`` (and of ``namespace``)."""
        from kedro_dagster.translation import KedroDagsterTranslatorSettings

        args = self.translation or KedroTranslationArgs()
        prefix = args.asset_key_prefix
        if prefix is None:
            prefix = [self.namespace] if self.namespace else []
        return KedroDagsterTranslatorSettings(
            asset_key_prefix=list(prefix),
            group_name=args.group_name,
            owners=list(args.owners),
            tags=dict(args.tags),
            automation_condition=args.automation_condition,
            enable_code_references=args.enable_code_references,
            enable_row_count=args.enable_row_count,
        )

    def build_defs(self, context: ComponentLoadContext) -> Definitions:
        """Translate the Kedro project, as ``definitions.py`` would."""
        where = context.path / "defs.yaml"
        if self.namespace is not None and not _NAMESPACE.match(self.namespace):
            raise KedroDagsterConfigError(
                f"'{self.namespace}' is not a valid namespace: use letters, digits and "
                "underscores (it starts Dagster job names).",
                file=where,
                key=("attributes", "namespace"),
            )
        root = self.project_root(context)
        if not (root / "pyproject.toml").is_file():
            raise KedroDagsterConfigError(
                f"{root} is not a Kedro project (no pyproject.toml). Set `project_path` to the "
                "folder of the Kedro project's pyproject.toml, relative to this file's folder "
                "or absolute.",
                file=where,
                key=("attributes", "project_path"),
            )
        from kedro_dagster.translation import KedroDagsterTranslator, KedroProjectTranslator

        return KedroProjectTranslator(
            project_path=root,
            env=self.env,
            translator=KedroDagsterTranslator(settings=self.translator_settings()),
            namespace=self.namespace,
        ).to_definitions()
