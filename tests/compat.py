"""APIs that differ within the supported range of Kedro and Dagster, for the tests.

Dagster 1.10's ``Definitions.get_asset_graph``, ``get_all_job_defs`` and ``get_job_def`` are
``resolve_*`` from 1.11. Kedro 1.0 refuses a project whose ``kedro_init_version`` has
another minor version than its own (later releases compare the major only). ``tomllib``
is ``tomli`` on Python 3.10. ``dg list defs --json`` prints a flat list of definitions on
dagster-dg-cli 1.10, an object of lists (``{"jobs": [...], ...}``) later.
"""

import inspect
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package (a dev dependency there)
    import tomli as tomllib

from kedro import __version__ as KEDRO_VERSION

__all__ = [
    "KEDRO_VERSION",
    "RESOLVE_SOURCE",
    "listed_job_names",
    "match_kedro_init_version",
    "resolve",
    "tomllib",
]

_INIT_VERSION = re.compile(r'^kedro_init_version = "[^"]*"', re.M)


def resolve(defs, what, *args):
    """``defs.resolve_<what>(*args)``, or ``defs.get_<what>(*args)`` on Dagster 1.10."""
    method = getattr(defs, "resolve_" + what, None) or getattr(defs, "get_" + what)
    return method(*args)


#: ``resolve`` as source code: test scripts run in subprocesses start with it.
RESOLVE_SOURCE = inspect.getsource(resolve) + "\n\n"


def match_kedro_init_version(project: Path) -> None:
    """Set the project's ``kedro_init_version`` to the installed Kedro's, as ``kedro new`` does."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(_INIT_VERSION.sub(f'kedro_init_version = "{KEDRO_VERSION}"', text))


def listed_job_names(document) -> set[str]:
    """The job names of ``dg list defs --json``'s document.

    On dagster-dg-cli 1.10 the document is a list whose entries carry no kind: a job is
    ``{"name": ...}`` (as is a sensor, which only widens the set).
    """
    if isinstance(document, dict):
        return {job["name"] for job in document["jobs"]}
    return {entry["name"] for entry in document if set(entry) == {"name"}}
