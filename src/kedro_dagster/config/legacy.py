"""``dagster.yml`` as kedro-dagster 0.x wrote it: old spellings read, or refused with a fix.

Each old spelling is read with one warning naming the new key, or refused with the file, the
key and the fix; none is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kedro_dagster.config.notices import names
from kedro_dagster.errors import KedroDagsterConfigError

__all__ = ["upgrade_legacy_keys"]

_DEV_OPTIONS = {
    "host": "--host",
    "port": "--port",
    "log_level": "--log-level",
    "log_format": "--log-format",
}

# Job keys 0.x accepted inline where we take the name of an entry of a top-level section.
_INLINE = {"executor": "executors", "schedule": "schedules"}


def upgrade_legacy_keys(raw: Mapping[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    """``raw`` with 0.x spellings replaced, and the warnings to give about them.

    Parameters
    ----------
    raw : Mapping
        The merged content of ``dagster.yml``.
    where : str
        The file(s), named in warnings and errors.

    Returns
    -------
    tuple of dict and list of str
        The configuration in the current spelling, and one warning per old spelling.

    Raises
    ------
    KedroDagsterConfigError
        For a 0.x form that has no equivalent to read it as, naming the key and the fix.
    """
    data = dict(raw)
    notices: list[str] = []
    if "dev" in data:
        dev = data.pop("dev")
        flags = " ".join(
            f"{flag} {dev[key]}"
            for key, flag in _DEV_OPTIONS.items()
            if isinstance(dev, Mapping) and key in dev
        )
        notices.append(
            f"{where}: the 'dev' section (kedro-dagster 0.x's `kedro dagster dev` settings) is "
            "not read: give them on the command line, e.g. `kedro dagster dev"
            + (f" {flags}" if flags else " --host 127.0.0.1 --port 3000")
            + "`, and remove the section."
        )
    jobs = data.get("jobs")
    if isinstance(jobs, Mapping):
        renamed: list[str] = []
        data["jobs"] = {
            name: _upgrade_job(str(name), job, where, renamed) for name, job in jobs.items()
        }
        if renamed:
            subject = f"Job '{renamed[0]}'" if len(renamed) == 1 else f"Jobs {names(renamed)}"
            notices.append(
                f"{subject} in {where}: 'pipeline.namespace' is the kedro-dagster 0.x "
                "spelling of 'node_namespaces' (Kedro 1.x's filter, a list); it is read as "
                "such for now. Rename the key to 'node_namespaces'."
            )
    return data, notices


def _upgrade_job(name: str, job: Any, where: str, renamed: list[str]) -> Any:
    if not isinstance(job, Mapping):
        return job
    key = ("jobs", str(name))
    for field, section in _INLINE.items():
        if isinstance(job.get(field), Mapping):
            raise KedroDagsterConfigError(
                f"Job '{name}' declares its {field} inline, as kedro-dagster 0.x allowed; a job "
                f"now names an entry of the '{section}' section. Move the block under "
                f"`{section}: {{{name}_{field}: ...}}` and write `{field}: {name}_{field}`.",
                file=where,
                key=(*key, field),
            )
    loggers = job.get("loggers")
    if isinstance(loggers, list) and any(isinstance(item, Mapping) for item in loggers):
        raise KedroDagsterConfigError(
            f"Job '{name}' declares a logger inline, as kedro-dagster 0.x allowed; a job now "
            "lists names of entries of the 'loggers' section. Move each block under "
            f"`loggers: {{{name}_logger: ...}}` and write `loggers: [{name}_logger]`.",
            file=where,
            key=(*key, "loggers"),
        )
    if "config" in job:
        raise KedroDagsterConfigError(
            f"Job '{name}' has a 'config' key (kedro-dagster 0.x), which is not read: a job's "
            "parameters are its launchpad config `resources.kedro_run.config.params`, "
            "defaulting to parameters.yml. Remove the key and set values in parameters.yml or "
            "the launchpad.",
            file=where,
            key=(*key, "config"),
        )
    pipeline = job.get("pipeline")
    if isinstance(pipeline, Mapping) and "namespace" in pipeline:
        pipeline = dict(pipeline)
        if "node_namespaces" in pipeline or "node_namespace" in pipeline:
            raise KedroDagsterConfigError(
                f"Job '{name}' gives both 'namespace' (the kedro-dagster 0.x spelling) and "
                "'node_namespaces'. Keep 'node_namespaces' only.",
                file=where,
                key=(*key, "pipeline", "namespace"),
            )
        pipeline["node_namespaces"] = pipeline.pop("namespace")
        renamed.append(name)
        return {**job, "pipeline": pipeline}
    return job
