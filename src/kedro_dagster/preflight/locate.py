"""Which configuration file defines a key: errors name the file the user must edit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

__all__ = ["config_files", "files_defining"]

_SUFFIXES = (".yml", ".yaml", ".json")


def config_files(config_loader: Any, group: str) -> list[Path]:
    """The files of a configuration group (``catalog``, ``credentials``...) in the loader's envs.

    Uses the loader's own ``config_patterns``, base and run environments, as Kedro's
    ``OmegaConfigLoader`` does; unknown loaders fall back to Kedro's default patterns.
    """
    conf_source = Path(str(getattr(config_loader, "conf_source", "conf")))
    patterns = (getattr(config_loader, "config_patterns", None) or {}).get(group) or [
        f"{group}*",
        f"{group}*/**",
        f"**/{group}*",
    ]
    base_env = getattr(config_loader, "base_env", "base")
    run_env = getattr(config_loader, "env", None) or getattr(config_loader, "default_run_env", "")
    found: dict[Path, None] = {}
    for env in dict.fromkeys(e for e in (base_env, run_env) if e):
        root = conf_source / env
        if not root.is_dir():
            continue
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                relative = path.relative_to(root).parts
                if (
                    path.suffix in _SUFFIXES
                    and path.is_file()
                    and not any(part.startswith(".") for part in relative)
                ):
                    found[path] = None
    return list(found)


def files_defining(config_loader: Any, group: str, key: str) -> str | None:
    """The file(s) of ``group`` where top-level ``key`` is written, or all files of the group.

    Only called to build an error message: reads the group's files as text, once.
    """
    files = config_files(config_loader, group)
    top_level = re.compile(rf"^[\"']?{re.escape(key)}[\"']?\s*:", re.MULTILINE)
    hits = [f for f in files if top_level.search(f.read_text(encoding="utf-8", errors="replace"))]
    chosen = hits or files
    return " + ".join(str(f) for f in chosen) or None
