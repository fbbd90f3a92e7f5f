"""Explain YAML syntax errors in configuration files, with the fix for common mistakes.

Two mistakes appear in the user guide itself, so users copy them:

- a key with both a value and an indented block (``partition: dagster.StaticPartitionsDefinition``
  followed by ``partitions:``);
- an unquoted key starting with ``{`` (``{namespace}.dataset:``), which YAML reads as a mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

__all__ = ["explain_yaml_error"]

_KEDRO_MESSAGE = re.compile(r"Invalid YAML or JSON file (?P<file>.+?), unable to read line")
_KEY_WITH_VALUE = re.compile(
    r"^(?P<indent>\s*)(?P<key>[^\s#:'\"][^:#]*?):\s+(?P<value>[^\s#][^#]*?)\s*(#.*)?$"
)
_LIST_ITEM = re.compile(r"^\s*-\s+(?P<item>[^#]+?)\s*(#.*)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _partition_example(indent: str, lines: list[str], start: int) -> str:
    """The well-formed ``partition:`` block, reusing the keys listed under the broken one."""
    items = []
    for line in lines[start:]:
        match = _LIST_ITEM.match(line)
        if match:
            items.append(match.group("item").strip("'\""))
        elif not _is_blank(line) and items:
            break
    keys = ", ".join(f'"{item}"' for item in items) or '"key_1", "key_2"'
    return (
        f"{indent}partition:\n"
        f"{indent}  type: dagster.StaticPartitionsDefinition\n"
        f"{indent}  partition_keys: [{keys}]"
    )


def _hint(lines: list[str], line_no: int) -> str:
    """A hint for the error reported at ``line_no`` (0-based), or an empty string."""
    if line_no >= len(lines):
        return ""
    problem = lines[line_no]
    if problem.lstrip().startswith("{"):
        key = problem.strip().split(":", 1)[0].strip()
        return (
            f" A key starting with '{{' must be quoted, or YAML reads it as a mapping: write "
            f"'\"{key}\":'."
        )
    for index in range(line_no - 1, -1, -1):
        previous = lines[index]
        if _is_blank(previous):
            continue
        match = _KEY_WITH_VALUE.match(previous)
        if match is None or _indent(problem) <= len(match.group("indent")):
            return ""
        key, value = match.group("key"), match.group("value")
        hint = (
            f" Line {index + 1}: '{key}:' has a value ('{value}') and an indented block under "
            "it; a YAML key takes one or the other."
        )
        if key == "partition":
            hint += " Write the partition type inside the block:\n" + _partition_example(
                match.group("indent"), lines, line_no
            )
        else:
            hint += f" Move '{value}' into the block (e.g. as 'type: {value}')."
        return hint
    return ""


def explain_yaml_error(message: str, candidates: Iterable[Path] = ()) -> str:
    """Where a YAML error is (file, 1-based line) and how to fix it, or an empty string.

    Parameters
    ----------
    message : str
        The error raised while reading configuration (Kedro names the file).
    candidates : Iterable of Path
        Files to check when the message names none.

    Returns
    -------
    str
        Text to append to the error message.
    """
    named = _KEDRO_MESSAGE.search(message)
    files = [Path(named.group("file"))] if named else list(candidates)
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError:
            continue
        try:
            yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            if mark is None:
                continue
            where = f"line {mark.line + 1}" + ("" if named else f" of {file}")
            return f" (That is {where}, counting from 1.){_hint(text.splitlines(), mark.line)}"
        except yaml.YAMLError:
            continue
    return ""
