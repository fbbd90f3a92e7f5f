"""Collect every preflight problem, then raise one error listing them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kedro_dagster.errors import KedroDagsterConfigError

__all__ = ["Problem", "raise_problems"]


@dataclass(frozen=True)
class Problem:
    """One mistake: what is wrong and how to fix it, where it is written.

    Attributes
    ----------
    message : str
        What is wrong, naming the dataset (or node and parameter), and the fix.
    file : str, optional
        The configuration file(s) to edit.
    key : tuple of str
        The key inside the file, when it exists there.
    """

    message: str
    file: str | None = None
    key: tuple[str, ...] = ()


def raise_problems(problems: Sequence[Problem], headline: str) -> None:
    """Raise one :class:`KedroDagsterConfigError` for ``problems``; do nothing if empty.

    One problem keeps its own file and key; several are listed one per line, each with its
    file, under ``headline``.
    """
    if not problems:
        return
    if len(problems) == 1:
        (only,) = problems
        raise KedroDagsterConfigError(
            f"{headline}: {only.message}", file=only.file, key=only.key or None
        )
    lines = [f"{headline} ({len(problems)} problems):"]
    for problem in problems:
        where = f" ({problem.file})" if problem.file else ""
        lines.append(f"  - {problem.message}{where}")
    raise KedroDagsterConfigError("\n".join(lines))
