"""A read-only snapshot of one Kedro project in one environment, taken at load time.

Reading the project happens once per process: bootstrap, config loader, catalog
*configuration*, pipelines and parameters. Nothing here reads data, creates a Kedro session
or fires hooks, so importing ``definitions.py`` stays free of side effects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kedro.config import AbstractConfigLoader, MissingConfigException
from kedro.pipeline import Pipeline

if TYPE_CHECKING:
    from kedro.framework.startup import ProjectMetadata

from kedro_dagster._compat import (
    explain_node_limit,
    quiet_kedro_config_loader,
    raised_yaml_node_limit,
)
from kedro_dagster.config.yaml_hints import explain_yaml_error
from kedro_dagster.errors import KedroDagsterConfigError, did_you_mean

__all__ = ["DAGSTER_CONFIG_KEY", "KedroProject", "resolve_env"]

DAGSTER_CONFIG_KEY = "dagster"
_DAGSTER_CONFIG_PATTERNS = ["dagster*", "dagster*/**", "**/dagster*"]
#: What a configuration group must look like, said when it is readable YAML of another shape.
_SHAPE_HINTS = {
    DAGSTER_CONFIG_KEY: " dagster.yml must be a mapping with the sections jobs, executors, "
    "schedules, loggers.",
    "catalog": " catalog.yml must be a mapping of dataset names to their configuration "
    "(type, filepath, ...).",
    "parameters": " parameters.yml must be a mapping of parameter names to values.",
}


def resolve_env(env: str | None) -> str:
    """Return the Kedro environment to use: explicit, then ``KEDRO_ENV``, then the default.

    Must be called after the project is bootstrapped so ``settings`` holds the project's
    ``CONFIG_LOADER_ARGS``. Without ``default_run_env`` there (a ``CONFIG_LOADER_ARGS`` of
    ``custom_resolvers`` only, as Kedro's documentation shows), Kedro's loader reads the
    configuration folder itself as the run environment: that is ``""`` here too.
    """
    if env:
        return env
    if os.environ.get("KEDRO_ENV"):
        return os.environ["KEDRO_ENV"]
    from kedro.framework.project import settings

    return str(settings.CONFIG_LOADER_ARGS.get("default_run_env") or "")


class _RedactedCredentials(dict[str, str]):
    """Credentials that resolve to a placeholder: translation never holds secrets."""

    def __missing__(self, key: str) -> str:
        return "<redacted>"

    def __bool__(self) -> bool:
        # Kedro replaces falsy credentials by `{}`; this mapping answers every name.
        return True


@dataclass(frozen=True)
class KedroProject:
    """What translation needs to know about a Kedro project, read once.

    Parameters
    ----------
    project_path : Path
        Root of the Kedro project (the folder holding ``pyproject.toml``).
    env : str
        The Kedro environment the configuration was read from.
    metadata : ProjectMetadata
        Kedro's project metadata from ``bootstrap_project``.
    config_loader : AbstractConfigLoader
        The project's config loader for ``env``.
    """

    project_path: Path
    env: str
    metadata: ProjectMetadata
    config_loader: AbstractConfigLoader = field(repr=False)

    @classmethod
    def load(cls, project_path: str | Path, env: str | None = None) -> KedroProject:
        """Bootstrap the project at ``project_path`` and read its configuration for ``env``.

        Parameters
        ----------
        project_path : str or Path
            Root of the Kedro project.
        env : str, optional
            Kedro environment; defaults to ``KEDRO_ENV`` or the project's default run env.

        Returns
        -------
        KedroProject
        """
        path = Path(project_path).expanduser().resolve()
        if not (path / "pyproject.toml").is_file():
            raise KedroDagsterConfigError(
                "No Kedro project here: 'pyproject.toml' is missing. Pass the folder that holds "
                "the project's pyproject.toml with a [tool.kedro] section.",
                file=path,
            )
        # Imported here: `kedro.framework.project` configures logging when imported, which
        # must not happen when `dg` merely lists the components of this package.
        from kedro.framework.startup import bootstrap_project

        metadata = bootstrap_project(path)
        from kedro.framework.project import settings

        resolved_env = resolve_env(env)
        conf_source = path / settings.CONF_SOURCE
        if not conf_source.exists():
            raise KedroDagsterConfigError(
                f"The configuration folder does not exist: CONF_SOURCE is "
                f"'{settings.CONF_SOURCE}' ({conf_source}). Create it, or fix CONF_SOURCE in "
                f"{Path(metadata.source_dir) / metadata.package_name / 'settings.py'}.",
                file=conf_source,
            )
        if conf_source.is_file():  # a configuration archive (.tar.gz, .zip)
            from kedro_dagster.preflight.locate import archive_environments

            top, known = archive_environments(conf_source)
            missing = resolved_env not in known
            remedy = f"add the folder '{top / resolved_env}' to the archive '{conf_source}'"
        else:
            known = (
                [p.name for p in conf_source.iterdir() if p.is_dir()]
                if conf_source.is_dir()
                else []
            )
            missing = not (conf_source / resolved_env).is_dir()
            remedy = f"create '{conf_source / resolved_env}'"
        if missing:
            raise KedroDagsterConfigError(
                f"Kedro environment '{resolved_env}' does not exist: {remedy} or pick another "
                "with --env / KEDRO_ENV." + did_you_mean(resolved_env, known),
                file=conf_source,
            )
        with quiet_kedro_config_loader():
            loader = settings.CONFIG_LOADER_CLASS(
                conf_source=str(conf_source), env=resolved_env, **settings.CONFIG_LOADER_ARGS
            )
        patterns = getattr(loader, "config_patterns", None)
        if isinstance(patterns, dict):
            patterns.setdefault(DAGSTER_CONFIG_KEY, _DAGSTER_CONFIG_PATTERNS)
        return cls(project_path=path, env=resolved_env, metadata=metadata, config_loader=loader)

    @property
    def package_name(self) -> str:
        """The project's Python package name."""
        return str(self.metadata.package_name)

    @property
    def conf_source(self) -> Path:
        """The project's configuration folder (``conf/`` by default)."""
        from kedro.framework.project import settings

        return self.project_path / settings.CONF_SOURCE

    def config_files(self, stem: str) -> list[Path]:
        """The files of the configuration group ``stem`` in the base and run environments.

        Found with the loader's own patterns (``dagster*``, ``dagster*/**``, ``**/dagster*``
        by default), as Kedro reads them; in a configuration archive, they name its members.
        """
        from kedro_dagster.preflight.locate import config_files

        return config_files(self.config_loader, stem)

    def read_config(self, key: str) -> dict[str, Any]:
        """Read a configuration group (``catalog``, ``parameters``, ``dagster``), or ``{}``.

        Only a group the project does not have is ``{}``; any other failure (a malformed file,
        a resolver or a custom config loader raising, ``KeyError`` included) is an error
        naming the files.
        """
        loader = self.config_loader
        patterns = getattr(loader, "config_patterns", None)
        if isinstance(patterns, Mapping) and key not in patterns and key not in loader:
            return {}
        try:
            # dagster.yml grows with the number of jobs: omegaconf's default node limit
            # (10,000) refuses a few thousand jobs although the file has no alias.
            limit = raised_yaml_node_limit() if key == DAGSTER_CONFIG_KEY else nullcontext()
            with quiet_kedro_config_loader(), limit:
                return dict(loader[key])
        except MissingConfigException:
            return {}
        except KeyError as exc:
            if not isinstance(patterns, Mapping) and exc.args == (key,):
                return {}  # a dict-like loader without this group
            raise self._read_error(key, exc) from None
        except Exception as exc:  # a malformed file: say which one, not omegaconf's traceback
            raise self._read_error(key, exc) from None

    def _read_error(self, key: str, exc: Exception) -> KedroDagsterConfigError:
        files = self.config_files(key)
        where = " + ".join(str(f) for f in files) or f"{key}.yml"
        detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, KeyError) else str(exc)
        limit = explain_node_limit(detail)
        if limit:
            return KedroDagsterConfigError(
                f"Cannot read the '{key}' configuration: {limit}", file=where
            )
        shape_error = not isinstance(exc, KeyError) and "Invalid YAML" not in detail
        hint = _SHAPE_HINTS.get(key, "") if shape_error else ""
        return KedroDagsterConfigError(
            f"Cannot read the '{key}' configuration: {detail}{explain_yaml_error(detail, files)}"
            f"{hint}",
            file=where,
        )

    @cached_property
    def dagster_config(self) -> dict[str, Any]:
        """The merged ``dagster.yml`` of the base and run environments."""
        return self.read_config(DAGSTER_CONFIG_KEY)

    @cached_property
    def parameters(self) -> dict[str, Any]:
        """The project's parameters in this environment (as configured, not validated).

        A project ``CONTEXT_CLASS`` overriding ``params`` decides what nodes read under
        `kedro run`: its ``params`` are the parameters then (a context built without hooks).
        """
        configured = self.read_config("parameters")
        from kedro.framework.context import KedroContext
        from kedro.framework.project import settings

        context_class = settings.CONTEXT_CLASS
        if getattr(context_class, "params", None) is KedroContext.params:
            return configured
        from kedro_dagster._kedro_internals import null_hook_manager

        try:
            with quiet_kedro_config_loader():
                context = context_class(
                    package_name=self.package_name,
                    project_path=self.project_path,
                    config_loader=self.config_loader,
                    hook_manager=null_hook_manager(),
                    env=self.env,
                    runtime_params=None,
                )
                return dict(context.params)
        except Exception as exc:
            name = f"{context_class.__module__}.{context_class.__qualname__}"
            raise KedroDagsterConfigError(
                f"The project's CONTEXT_CLASS {name} failed to give its params: "
                f"{type(exc).__name__}: {exc}",
                file=Path(self.metadata.source_dir) / self.package_name / "settings.py",
            ) from None

    @cached_property
    def catalog_config(self) -> dict[str, Any]:
        """The merged catalog configuration (credentials unresolved)."""
        return self.read_config("catalog")

    @cached_property
    def catalog(self) -> Any:
        """A catalog built from configuration, with credentials replaced by placeholders.

        Datasets stay lazy: nothing is instantiated unless asked, and no data is read.
        """
        from kedro.framework.project import settings

        return settings.DATA_CATALOG_CLASS.from_config(
            catalog=self.catalog_config, credentials=_RedactedCredentials()
        )

    @cached_property
    def pipelines(self) -> Mapping[str, Pipeline]:
        """The registered pipelines, by name."""
        from kedro.framework.project import pipelines

        registered = dict(pipelines)
        for name, pipeline in registered.items():
            if not isinstance(pipeline, Pipeline):
                raise KedroDagsterConfigError(
                    f"register_pipelines() of '{self.package_name}.pipeline_registry' maps "
                    f"'{name}' to a {type(pipeline).__name__}, not a Pipeline. Return a "
                    "kedro.pipeline.Pipeline for every name (e.g. `Pipeline([...])`)."
                )
        return registered

    def get_pipeline(self, name: str) -> Pipeline:
        """Return the registered pipeline ``name`` or raise with close matches."""
        try:
            return self.pipelines[name]
        except KeyError:
            raise KedroDagsterConfigError(
                f"Pipeline '{name}' is not registered in "
                f"'{self.package_name}.pipeline_registry'."
                + did_you_mean(name, self.pipelines)
                + f" Registered pipelines: {', '.join(sorted(self.pipelines))}.",
            ) from None
