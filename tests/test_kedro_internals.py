"""Each private Kedro symbol kedro-dagster relies on, one test per wrapper.

A Kedro upgrade that renames or changes one of them fails here first, with the wrapper's
name. Functions needing a bootstrapped project run in a fresh interpreter (Kedro's project
settings are global).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import subprocess_env
from kedro_dagster import _kedro_internals as internals
from kedro_factory import make_project

SESSION_SCRIPT = r"""
import json, sys
from pathlib import Path

from kedro.framework.project import settings
from kedro.framework.startup import bootstrap_project
from kedro_dagster import _kedro_internals as internals

root = Path(sys.argv[1])
bootstrap_project(root)
manager = internals.create_project_hook_manager()
config_loader = settings.CONFIG_LOADER_CLASS(
    conf_source=str(root / settings.CONF_SOURCE), env="local", runtime_params={"factor": 3.0},
    **settings.CONFIG_LOADER_ARGS,
)
context = settings.CONTEXT_CLASS(
    package_name=internals.project_package_name(root), project_path=root,
    config_loader=config_loader, env="local", runtime_params={"factor": 3.0},
    hook_manager=internals.null_hook_manager(),
)
catalog = internals.make_catalog(
    context, settings.DATA_CATALOG_CLASS, save_version="2026-01-01T00.00.00.000Z",
    load_versions=None,
)
raw = catalog.get("raw")
print("RESULT " + json.dumps({
    "hook_plugins": sorted(type(p).__name__ for p in manager.get_plugins()),
    "catalog_has_raw": "raw" in catalog,
    "catalog_params": catalog.load("params:factor"),
    "credentials": internals.config_credentials(context),
    "parameters": internals.context_parameters(context),
    "raw_description": internals.dataset_description(raw),
}, default=str))
"""

HOOKS_PY = """
from kedro.framework.hooks import hook_impl


class Probe:
    @hook_impl
    def after_context_created(self, context):
        pass
"""


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = make_project(
        tmp_path_factory.mktemp("internals") / "p",
        "internals_probe",
        credentials={"db": {"password": "secret"}},
    )
    src = root / "src" / "internals_probe"
    (src / "hooks.py").write_text(HOOKS_PY)
    (src / "settings.py").write_text(
        "from internals_probe.hooks import Probe\nHOOKS = (Probe(),)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", SESSION_SCRIPT, str(root)],
        cwd=root,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("RESULT "))
    return {"root": root, **json.loads(line.removeprefix("RESULT "))}


def test_project_package_name(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", "named_pkg")
    assert internals.project_package_name(root) == "named_pkg"


def test_create_project_hook_manager(session: dict[str, Any]) -> None:
    assert "Probe" in session["hook_plugins"]


def test_null_hook_manager() -> None:
    manager = internals.null_hook_manager()
    assert manager.hook.after_context_created(context=None) is None


def test_make_catalog(session: dict[str, Any]) -> None:
    assert session["catalog_has_raw"]
    assert session["catalog_params"] == 3.0  # runtime params reach the catalog's parameters


def test_config_credentials(session: dict[str, Any]) -> None:
    assert session["credentials"] == {"db": {"password": "secret"}}


def test_context_parameters(session: dict[str, Any]) -> None:
    # What Kedro feeds the catalog and `after_catalog_created`: all parameters and each one.
    assert session["parameters"] == {"parameters": {"factor": 3.0}, "params:factor": 3.0}


def test_dataset_description(session: dict[str, Any]) -> None:
    assert session["raw_description"]["filepath"].endswith("data/raw.csv")
    assert internals.dataset_description(object()) == {}


def test_absolute_catalog_config(tmp_path: Path) -> None:
    conf = {"raw": {"type": "pandas.CSVDataset", "filepath": "data/raw.csv"}}
    absolute = internals.absolute_catalog_config(tmp_path, conf)
    assert absolute["raw"]["filepath"] == (tmp_path / "data/raw.csv").as_posix()


def test_dataset_is_versioned(tmp_path: Path) -> None:
    from kedro.io import Version
    from kedro_datasets.pandas import CSVDataset

    assert not internals.dataset_is_versioned(CSVDataset(filepath=str(tmp_path / "a.csv")))
    versioned = CSVDataset(filepath=str(tmp_path / "a.csv"), version=Version(None, None))
    assert internals.dataset_is_versioned(versioned)


def test_dataset_path_and_partition_path(tmp_path: Path) -> None:
    from kedro_datasets.partitions import PartitionedDataset

    dataset = PartitionedDataset(
        path=str(tmp_path / "parts"), dataset="pandas.CSVDataset", filename_suffix=".csv"
    )
    assert internals.dataset_path(dataset, "?") == (tmp_path / "parts").as_posix()
    assert internals.partition_path(dataset, "p1") == (tmp_path / "parts/p1.csv").as_posix()
    assert internals.dataset_path(object(), "?") == "?"
    assert internals.partition_path(object(), "p1") is None


FACTORY_CATALOG: dict[str, Any] = {
    "explicit": {"type": "pandas.CSVDataset", "filepath": "data/explicit.csv"},
    "{namespace}.int_{name}": {
        "type": "pandas.CSVDataset",
        "filepath": "data/{namespace}/{name}.csv",
        "save_args": {"index": False, "sep": ";"},
        "credentials": "db",
    },
    "{namespace}.{name}": {
        "type": "pandas.ParquetDataset",
        "filepath": "data/{namespace}/{name}.pq",
        "load_args": {"columns": ["a", "{name}"], "engine": ("pyarrow",), "n": 3, "x": None},
        "metadata": {"kedro-viz": {"layer": "{namespace}"}},
    },
    "model_{version}": {"type": "pickle.PickleDataset", "filepath": "data/m{version}.pkl"},
    "{default}": {"type": "pickle.PickleDataset", "filepath": "data/{default}.pkl"},
}
NAMES = [
    "explicit",
    "sales.int_orders",
    "Sales.INT_orders",  # Kedro's patterns ignore case
    "a.b.int_c",
    "sales.orders",
    "model_3",
    "model_x",
    "unmatched",
]


@pytest.mark.parametrize("catch_all", [True, False])
def test_dataset_config_resolver_resolves_as_kedro(
    catch_all: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same configuration as ``resolve_pattern`` for every name, each pattern parsed once."""
    import parse
    from kedro.io import DataCatalog

    config = {k: v for k, v in FACTORY_CATALOG.items() if catch_all or k != "{default}"}
    credentials = {"db": {"user": "u", "password": "p"}}
    resolver = DataCatalog.from_config(config, credentials).config_resolver
    expected = {name: resolver.resolve_pattern(name) for name in NAMES}

    built = []

    class CountingParser(parse.Parser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(parse, "Parser", CountingParser)
    resolve = internals.dataset_config_resolver(resolver)
    assert len(built) == len(resolver.list_patterns())
    resolved = {name: resolve(name) for name in NAMES if name != "unmatched"}
    assert len(built) == len(resolver.list_patterns())  # no pattern parsed again
    # A user catch-all is Kedro's to resolve (it warns); else the runtime pattern is ours.
    resolved["unmatched"] = resolve("unmatched")
    assert (len(built) > len(resolver.list_patterns())) == catch_all
    assert resolved == expected
    assert resolved["sales.int_orders"]["credentials"] == credentials["db"]
    assert resolved["sales.orders"]["load_args"]["columns"] == ["a", "orders"]
    assert resolved["model_3"]["filepath"] == "data/m3.pkl"
    # Copies: editing a resolved configuration leaves the patterns alone.
    resolved["sales.orders"]["load_args"]["columns"].append("z")
    assert resolve("sales.orders")["load_args"]["columns"] == ["a", "orders"]


def test_dataset_attributes_kedro_declares() -> None:
    from kedro.io import CachedDataset, MemoryDataset

    # Kedro 1.x sets `_EPHEMERAL` on instances, in `__init__`.
    assert internals.declares_ephemeral(MemoryDataset())
    assert internals.declares_ephemeral(CachedDataset(dataset=MemoryDataset()))  # yet it saves
    assert internals.declares_single_process(CachedDataset)
    assert not internals.declares_single_process(MemoryDataset)


def test_memory_copy_is_what_a_memory_dataset_hands_out() -> None:
    import pandas as pd
    from kedro.io import MemoryDataset

    data = {"items": [1, 2]}
    copied = internals.memory_copy(data)
    assert copied == data and copied["items"] is not data["items"]  # deepcopy, inferred
    frame = pd.DataFrame({"a": [1]})
    assert internals.memory_copy(frame) is not frame  # `copy`, inferred
    # A declared MemoryDataset's copy_mode wins, as MemoryDataset.load applies it.
    assert internals.memory_copy(data, MemoryDataset(copy_mode="assign")) is data
    assert internals.memory_copy(data, MemoryDataset())["items"] is not data["items"]


def test_node_given_name() -> None:
    from kedro.pipeline import node

    def create_confusion_matrix(x: Any) -> Any:
        return x

    named = node(create_confusion_matrix, "a", "b", name="confusion", namespace="ns")
    unnamed = node(create_confusion_matrix, "a", "b", namespace="ns")
    assert internals.node_given_name(named) == "confusion"
    assert internals.node_given_name(unnamed) is None
    # Kedro's own name of an unnamed node: the function name and a hash suffix.
    assert unnamed.name.startswith("ns.create_confusion_matrix__")


def test_validator_cache_is_what_the_catalog_validates_with() -> None:
    pytest.importorskip("kedro.validation")
    from kedro.io import DataCatalog

    catalog = DataCatalog.from_config(
        {"numbers": {"type": "MemoryDataset", "validator": "builtins.len"}}
    )
    cache = internals.validator_cache(catalog)
    assert cache is not None
    seen = []

    class Recording:
        def validate(self, data):
            seen.append(data)
            return data

    cache["numbers"] = Recording()
    catalog.save("numbers", [1, 2])
    assert seen == [[1, 2]]
