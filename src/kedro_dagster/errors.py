"""The exceptions kedro-dagster raises: one root, one for configuration with its location."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["KedroDagsterConfigError", "KedroDagsterError", "did_you_mean"]


class KedroDagsterError(Exception):
    """Root of every error raised by kedro-dagster."""


class KedroDagsterConfigError(KedroDagsterError):
    """A project or ``dagster.yml`` setting is wrong.

    Parameters
    ----------
    message : str
        What is wrong and what to do about it.
    file : Path or str, optional
        The configuration file (or folder) the setting comes from.
    key : Sequence of str or int, optional
        Path of the offending key inside the file, e.g. ``("jobs", "my_job", "executor")``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        key: Sequence[str | int] | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.key = tuple(key) if key else ()
        self.message = message
        super().__init__(self._render())

    @property
    def key_path(self) -> str:
        """The key as a dotted path, e.g. ``jobs.my_job.executor``."""
        return ".".join(str(part) for part in self.key)

    def _render(self) -> str:
        # ``<file>: key '<key>': <message>``, as compilers print it. No brackets: Rich markup
        # (Kedro's default console handler) would read ``[<file>]`` as a tag.
        where = []
        if self.file:
            where.append(self.file)
        if self.key:
            where.append(f"key '{self.key_path}'")
        return ": ".join([*where, self.message])


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """Return a ``Did you mean ...?`` hint for a mistyped name, or an empty string."""
    known = list(candidates)
    # A candidate plus a suffix (`dask_executor`, Dagster's name of the `dask` kind) is closer
    # than any spelling distance says, and difflib may not rank it at all: list those first.
    stems = sorted((c for c in known if name.startswith(f"{c}_")), key=len, reverse=True)
    close = difflib.get_close_matches(name, known, n=3)
    matches = list(dict.fromkeys([*stems, *close]))[:3]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
