"""The documentation site builds strictly, and every snippet in it is loaded or run.

Snippets are the fenced ``yaml``/``python``/``toml``/``json`` blocks of README.md and
docs/*.md, found generically so snippets added later are covered too. What a snippet is
decides what is checked:

- YAML always parses; a ``dagster.yml`` (top-level keys among jobs, executors, schedules,
  loggers, intermediate_storage) is validated by our config models and its executors by
  Dagster's own schemas; a catalog (every entry a mapping with ``type``) constructs each
  dataset; a ``logging.yml`` (``version: 1``) goes through ``logging.config.dictConfig``.
- Python compiles; a snippet that uses no name it does not bind (a complete program) runs.

An HTML comment on the line before a fence overrides this (see docs/index.md, "Snippets"):
``<!-- snippet: skip REASON -->`` (only parsed/compiled), ``<!-- snippet: invalid REASON -->``
(a mistake shown on purpose: checking it must fail), or
``<!-- snippet: dagster.yml | catalog | logging -->`` to force the kind.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from compat import tomllib
from conftest import BIN, REPO

DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MKDOCS = str(BIN / "mkdocs")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w.+-]*)")
_MARKER = re.compile(r"<!--\s*snippet:\s*(?P<kind>[\w.-]+)\s*(?P<reason>.*?)\s*-->")
_KINDS = {"skip", "invalid", "dagster.yml", "catalog", "logging"}
_DAGSTER_YML_KEYS = {"jobs", "executors", "schedules", "loggers", "intermediate_storage"}


@dataclass(frozen=True)
class Snippet:
    file: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    marker: str | None  # the kind given by a `<!-- snippet: ... -->` comment
    reason: str

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line}"


def snippets_of(path: Path) -> list[Snippet]:
    """The fenced code blocks of a Markdown file (indented ones included)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match["indent"], match["fence"], match["lang"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        previous = next((line for line in reversed(lines[:i]) if line.strip()), "")
        marker = _MARKER.search(previous)
        found.append(
            Snippet(
                file=path,
                line=i + 1,
                lang=lang,
                code=textwrap.dedent("\n".join(body)) + "\n",
                marker=marker["kind"] if marker else None,
                reason=marker["reason"] if marker else "",
            )
        )
        i = j + 1
    return found


ALL_SNIPPETS = [s for path in DOC_FILES for s in snippets_of(path)]


def _of(*langs: str) -> list[Any]:
    return [pytest.param(s, id=s.id) for s in ALL_SNIPPETS if s.lang in langs]


# ----------------------------------------------------------------------------- the site


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MKDOCS, "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(BIN), "HOME": str(site.parent)},
    )


# Anchors the original user guide links (spec/user-guide.md): they must keep working.
GUIDE_LINKS = {
    "reference": [
        "catalogtranslator",
        "dagsternothingdataset",
        "dagsterpartitioneddataset",
        "dockerexecutoroptions",
        "executoroptions",
        "multiprocessexecutoroptions",
        "nodetranslator",
        "pipelineoptions",
        "pipelinetranslator",
        "scheduleoptions",
    ],
    "guide": ["customizing-schedules", "customizing-executors", "custom-logger-configuration"],
    "example": ["custom-logging-integration"],
    "getting-started": [],
}


def test_site_builds_strictly_with_the_anchors_the_user_guide_links(tmp_path: Path) -> None:
    result = _build(REPO / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for page, anchors in GUIDE_LINKS.items():
        html = (tmp_path / "site" / page / "index.html").read_text(encoding="utf-8")
        for anchor in anchors:
            assert f'id="{anchor}"' in html, f"{page}.md#{anchor}"
    # mkdocstrings rendered the API, not an empty page.
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert "Registered pipeline name" in reference  # PipelineOptions' docstring


def test_strict_build_fails_on_a_broken_anchor(tmp_path: Path) -> None:
    """The strictness the first test relies on: a link to a missing anchor fails the build."""
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    index = tmp_path / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[x](reference.md#no-such-anchor)\n")
    result = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 1
    assert "no-such-anchor" in result.stderr


def test_every_page_is_in_the_nav() -> None:
    nav = (REPO / "mkdocs.yml").read_text()
    for page in (REPO / "docs").glob("*.md"):
        assert page.name in nav, f"docs/{page.name} is not in mkdocs.yml's nav"


def test_readme_says_how_to_build_the_site() -> None:
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/mkdocs serve" in readme


# ----------------------------------------------------------------------------- snippets


def test_snippets_are_found() -> None:
    """The parser sees the snippets (a parser finding none would make the tests below vacuous)."""
    langs = {s.lang for s in ALL_SNIPPETS}
    assert {"yaml", "python"} <= langs
    assert all(s.marker is None or s.marker in _KINDS for s in ALL_SNIPPETS), [
        (s.id, s.marker) for s in ALL_SNIPPETS if s.marker not in (None, *_KINDS)
    ]
    skipped = [s for s in ALL_SNIPPETS if s.marker in ("skip", "invalid")]
    assert all(s.reason for s in skipped), "every `snippet: skip|invalid` says why"


def _kind(snippet: Snippet, data: Any) -> str:
    if snippet.marker:
        return snippet.marker
    if not isinstance(data, dict) or not data:
        return "other"
    if set(data) <= _DAGSTER_YML_KEYS:
        return "dagster.yml"
    if data.get("version") == 1:
        return "logging"
    if all(isinstance(v, dict) and "type" in v for v in data.values()):
        return "catalog"
    return "other"


def _check_dagster_yml(data: dict[str, Any]) -> None:
    from kedro_dagster.config import validate_config
    from kedro_dagster.translation import ExecutorCreator, LoggerCreator

    pipelines = {"__default__"} | {
        job["pipeline"]["pipeline_name"]
        for job in (data.get("jobs") or {}).values()
        if isinstance(job, dict)
        and isinstance(job.get("pipeline"), dict)
        and "pipeline_name" in job["pipeline"]
    }
    config = validate_config(
        data, pipeline_names=pipelines, namespaces_of=lambda _: ["data_processing", "data_science"]
    )
    creator = ExecutorCreator()
    for name, executor in config.executors.items():
        resolved = creator.create(executor.options).config_schema.resolve_config({})
        assert resolved.success, (name, resolved.errors)
    for name, options in config.loggers.items():
        LoggerCreator().create(name, options)


def _check_catalog(data: dict[str, Any], workdir: Path) -> None:
    from kedro.io import DataCatalog

    catalog = DataCatalog.from_config(data)
    for name in data:
        if "{" not in name:  # a factory pattern is resolved by the names that match it
            assert catalog.get(name) is not None, name


_DICT_CONFIG = """
import logging.config, sys, yaml
logging.config.dictConfig(yaml.safe_load(open(sys.argv[1])))
"""


def _check_logging(snippet: Snippet, workdir: Path) -> None:
    # In a process of its own: dictConfig changes the logging of the process running it.
    path = workdir / "logging.yml"
    path.write_text(snippet.code)
    result = subprocess.run(
        [sys.executable, "-c", _DICT_CONFIG, str(path)],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _check_yaml(snippet: Snippet, workdir: Path) -> None:
    data = yaml.safe_load(snippet.code)
    kind = _kind(snippet, data)
    if kind == "dagster.yml":
        _check_dagster_yml(data)
    elif kind == "catalog":
        _check_catalog(data, workdir)
    elif kind == "logging":
        _check_logging(snippet, workdir)
    elif (
        kind == "other"
        and isinstance(data, dict)
        and str(data.get("type", "")).startswith("kedro_dagster.")
    ):  # a component's defs.yaml: its attributes against the component's schema
        import kedro_dagster

        component = getattr(kedro_dagster, data["type"].split(".", 1)[1])
        component.model().model_validate(data.get("attributes") or {})


@pytest.mark.parametrize("snippet", _of("yaml", "yml"))
def test_yaml_snippet(snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths of catalogs resolve in a scratch folder
    if snippet.marker != "invalid":
        _check_yaml(snippet, tmp_path)
        return
    invalid = Snippet(snippet.file, snippet.line, snippet.lang, snippet.code, None, "")
    with pytest.raises(Exception):  # noqa: B017 (YAML, pydantic, Kedro or our error)
        _check_yaml(invalid, tmp_path)


@pytest.mark.parametrize("snippet", _of("toml", "json"))
def test_data_snippet(snippet: Snippet) -> None:
    """TOML and JSON blocks parse (a dg.toml names a definitions module)."""
    if snippet.lang == "json":
        json.loads(snippet.code)
        return
    data = tomllib.loads(snippet.code)
    if data.get("directory_type") == "project":
        assert data["project"]["code_location_target_module"].endswith(".definitions")


def unbound_names(tree: ast.AST) -> set[str]:
    """Names a program reads but never binds (scope-insensitive: good enough for snippets)."""
    loaded: set[str] = set()
    bound: set[str] = set(dir(builtins)) | {"__file__", "__name__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound


@pytest.mark.parametrize("snippet", _of("python", "py"))
def test_python_snippet(snippet: Snippet, tmp_path: Path) -> None:
    tree = ast.parse(snippet.code, filename=snippet.id)
    compile(tree, snippet.id, "exec")
    if snippet.marker == "skip" or unbound_names(tree):
        return  # an excerpt: compiling is what can be checked
    path = tmp_path / "snippet.py"
    path.write_text(snippet.code)
    result = subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert result.returncode == 0, result.stderr


def test_unbound_names_tell_excerpts_from_programs() -> None:
    program = "import pandas as pd\n\ndef f(x: pd.DataFrame):\n    return len(x)\n"
    excerpt = "def f(x: pd.DataFrame):\n    return len(x)\n"
    assert unbound_names(ast.parse(program)) == set()
    assert unbound_names(ast.parse(excerpt)) == {"pd"}


def test_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- snippet: skip needs a cluster -->\n```yaml\na: 1\n```\n\n"
        "- item\n\n  ```python\n  x = 1\n  ```\n"
    )
    first, second = snippets_of(page)
    assert (first.marker, first.reason, first.code) == ("skip", "needs a cluster", "a: 1\n")
    assert (second.marker, second.lang, second.code) == (None, "python", "x = 1\n")
