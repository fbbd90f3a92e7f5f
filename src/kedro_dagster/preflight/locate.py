"""Which configuration file defines a key: errors name the file the user must edit."""

from __future__ import annotations

import re
import tarfile
import zipfile
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["archive_environments", "config_files", "files_defining"]

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
    # An empty environment is the configuration folder itself, as Kedro's loader reads it.
    envs = list(dict.fromkeys((base_env or "", run_env or "")))
    if conf_source.is_file():
        return _archive_files(conf_source, envs, patterns)
    found: dict[Path, None] = {}
    for env in envs:
        root = conf_source / env
        if not root.is_dir():
            continue
        for pattern in patterns:
            # A trailing `**` matches folders only in pathlib before Python 3.13; in Kedro's
            # (fsspec's) glob it matches the files below them too.
            globs = [pattern, f"{pattern}/*"] if pattern.endswith("**") else [pattern]
            for path in sorted(p for glob in globs for p in root.glob(glob)):
                relative = path.relative_to(root).parts
                if (
                    path.suffix in _SUFFIXES
                    and path.is_file()
                    and not any(part.startswith(".") for part in relative)
                ):
                    found[path] = None
    return list(found)


def _archive_members(archive: Path) -> tuple[PurePosixPath, list[str], list[PurePosixPath]]:
    """The folder holding the environments of a configuration archive, those, and its files.

    Kedro reads an archive's environments in its last top-level folder (``conf/`` for the
    archive `kedro package` makes). An unreadable archive has none.
    """
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as opened:
                names = opened.namelist()
        else:
            with tarfile.open(archive) as opened:
                # Folders end with `/`, as in a zip: an environment may be an empty folder.
                names = [m.name + "/" if m.isdir() else m.name for m in opened.getmembers()]
    except (OSError, tarfile.TarError, zipfile.BadZipFile):
        return PurePosixPath(), [], []
    paths = [PurePosixPath(name) for name in names]
    tops = sorted({p.parts[0] for p in paths if len(p.parts) > 1})
    top = PurePosixPath(tops[-1]) if tops else PurePosixPath()
    envs = {
        p.relative_to(top).parts[0]
        for p, name in zip(paths, names, strict=True)
        if p.is_relative_to(top)
        and p != top
        and (len(p.relative_to(top).parts) > 1 or name.endswith("/"))
    }
    files = [p for p, name in zip(paths, names, strict=True) if not name.endswith("/")]
    return top, sorted(envs), files


def archive_environments(archive: Path) -> tuple[PurePosixPath, list[str]]:
    """The environments folder of a configuration archive and the environments in it."""
    top, envs, _ = _archive_members(archive)
    return top, envs


def _archive_files(archive: Path, envs: list[str], patterns: list[str]) -> list[Path]:
    """The members of a configuration archive (``CONF_SOURCE`` a .tar.gz or .zip) matching.

    The paths returned name the archive and the member, for messages; they cannot be opened.
    """
    top, _, members = _archive_members(archive)
    found: dict[Path, None] = {}
    for env in envs:
        for member in sorted(members):
            if not member.is_relative_to(top / env):
                continue
            relative = member.relative_to(top / env)
            matches = any(
                fnmatch(relative.as_posix(), pattern)
                or fnmatch(relative.as_posix(), pattern.removeprefix("**/"))
                for pattern in patterns
            )
            if (
                matches
                and member.suffix in _SUFFIXES
                and not any(part.startswith(".") for part in relative.parts)
            ):
                found[archive / member] = None
    return list(found)


def files_defining(config_loader: Any, group: str, key: str) -> str | None:
    """The file(s) of ``group`` where top-level ``key`` is written, or all files of the group.

    Only called to build an error message: reads the group's files as text, once.
    """
    files = config_files(config_loader, group)
    top_level = re.compile(rf"^[\"']?{re.escape(key)}[\"']?\s*:", re.MULTILINE)
    hits = [
        f
        for f in files
        if f.is_file() and top_level.search(f.read_text(encoding="utf-8", errors="replace"))
    ]
    chosen = hits or files
    return " + ".join(str(f) for f in chosen) or None
