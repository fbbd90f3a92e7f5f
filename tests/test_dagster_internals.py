"""Each private Dagster symbol kedro-dagster relies on, one test per wrapper."""

from __future__ import annotations

import random

import dagster as dg
import pytest

from kedro_dagster import _dagster_internals as internals


def test_default_loggers_has_the_console_logger() -> None:
    loggers = internals.default_loggers()
    assert "console" in loggers
    assert all(isinstance(logger, dg.LoggerDefinition) for logger in loggers.values())


def test_is_valid_cron_string() -> None:
    assert internals.is_valid_cron_string("0 2 * * *")
    assert not internals.is_valid_cron_string("every day")


def test_is_dagster_log_record_tells_converted_records() -> None:
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep()
    dagster_logger = dg.get_dagster_logger("internals_probe")
    dagster_logger.addHandler(keep)
    plain = logging.makeLogRecord({"msg": "plain"})

    @dg.op
    def speak() -> None:
        dagster_logger.info("converted by Dagster")

    @dg.job
    def talk() -> None:
        speak()

    try:
        assert talk.execute_in_process().success
    finally:
        dagster_logger.removeHandler(keep)
    converted = [r for r in records if "converted by Dagster" in r.getMessage()]
    assert converted and all(internals.is_dagster_log_record(r) for r in converted)
    assert not internals.is_dagster_log_record(plain)


def test_log_check_evaluation_from_an_op_context() -> None:
    """A plain op's multi-asset with a check, evaluated by an event logged from its context."""
    check = dg.AssetCheckSpec("valid", asset="numbers")

    def compute(context, _inputs):
        internals.log_check_evaluation(
            context.get_step_execution_context(),
            dg.AssetCheckEvaluation(asset_key=check.asset_key, check_name="valid", passed=False),
        )
        yield dg.Output(1, "numbers")

    op_def = dg.OpDefinition(
        compute_fn=compute,
        name="numbers_op",
        outs={
            "numbers": dg.Out(),
            check.get_python_identifier(): dg.Out(dg.Nothing, is_required=False),
        },
    )
    assets = dg.AssetsDefinition(
        node_def=op_def,
        keys_by_output_name={"numbers": dg.AssetKey("numbers")},
        check_specs_by_output_name={check.get_python_identifier(): check},
    )
    assert assets.check_keys == {check.key}
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([assets], instance=instance)
        entries = instance.all_logs(
            result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
    (entry,) = entries
    evaluation = entry.dagster_event.event_specific_data
    assert evaluation.asset_check_key == check.key and not evaluation.passed


def test_sqlite_event_log_files_are_the_run_shard_and_the_index(tmp_path) -> None:
    @dg.op
    def one() -> int:
        return 1

    @dg.job
    def tiny() -> None:
        one()

    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = tiny.execute_in_process(instance=instance)
        files = internals.sqlite_event_log_files(instance, result.run_id)
        assert [p.rsplit("/", 1)[-1] for p in files] == [f"{result.run_id}.db", "index.db"]
    with dg.DagsterInstance.ephemeral() as ephemeral:  # in-memory storage: nothing to hold
        assert internals.sqlite_event_log_files(ephemeral, "any") == []


@pytest.mark.parametrize("takes_definitions", [True, False], ids=["dagster>=1.11", "dagster-1.10"])
def test_op_input_is_what_an_in_gives(
    takes_definitions: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ``OpDefinition`` built from it has the inputs it has when built from ``In``s.

    Dagster 1.10's ``OpDefinition`` converts every entry of ``ins``: ``op_input`` gives an
    ``In`` there (the probe of this Dagster is replaced to exercise both branches here).
    """
    if takes_definitions and not internals._ops_take_input_definitions():
        pytest.skip("this Dagster's OpDefinition converts every entry of ins (1.10)")
    monkeypatch.setattr(internals, "_ops_take_input_definitions", lambda: takes_definitions)
    built = internals.op_input(
        "raw", description="Kedro dataset", metadata={"kedro": "raw"}, input_manager_key="io_raw"
    )
    start = internals.op_input("start", dg.Nothing)

    def compute(context, inputs):
        return None

    ours = dg.OpDefinition(compute_fn=compute, name="ours", ins={"raw": built, "start": start})
    theirs = dg.OpDefinition(
        compute_fn=compute,
        name="theirs",
        ins={
            "raw": dg.In(
                description="Kedro dataset", metadata={"kedro": "raw"}, input_manager_key="io_raw"
            ),
            "start": dg.In(dg.Nothing),
        },
    )
    for mine, dagsters in zip(ours.input_defs, theirs.input_defs, strict=True):
        assert mine.name == dagsters.name
        assert mine.dagster_type.key == dagsters.dagster_type.key
        assert mine.description == dagsters.description
        assert mine.metadata == dagsters.metadata
        assert mine.input_manager_key == dagsters.input_manager_key
        assert mine.has_default_value == dagsters.has_default_value
    assert [i.dagster_type.key for i in ours.input_defs] == ["Any", "Nothing"]


def _dag_kwargs(upstream: dict[str, list[str]]) -> dict:
    """``GraphDefinition`` arguments of ops wired as ``upstream`` says (Nothing edges)."""

    def compute(context, inputs):
        yield dg.Output(None, "result")

    ops = [
        dg.OpDefinition(
            name=name,
            ins={"after": dg.In(dg.Nothing)} if sources else {},
            outs={"result": dg.Out(dg.Nothing)},
            compute_fn=compute,
        )
        for name, sources in upstream.items()
    ]
    dependencies = {
        name: {
            "after": dg.MultiDependencyDefinition(
                [dg.DependencyDefinition(source, "result") for source in sources]
            )
        }
        for name, sources in upstream.items()
        if sources
    }
    return {"name": "graph", "node_defs": ops, "dependencies": dependencies}


def _random_dag(n: int, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    # Names whose alphabetical order is not the creation order: each level's sort matters.
    names = [f"op_{rng.randrange(10**6):06d}_{i}" for i in range(n)]
    return {
        name: rng.sample(names[:i], k=min(i, rng.choice([0, 1, 1, 2, 3])))
        for i, name in enumerate(names)
    }


@pytest.mark.parametrize(
    "upstream",
    [
        {f"n{i:03d}": [f"n{i - 1:03d}"] if i else [] for i in range(300)},  # a deep chain
        {"a": [], "c": ["a"], "b": ["a"], "d": ["b", "c"], "e": []},  # a diamond and a loner
        _random_dag(150, seed=1),
        _random_dag(150, seed=2),
    ],
    ids=["chain", "diamond", "random-1", "random-2"],
)
def test_graph_definition_orders_the_nodes_as_dagster_does(upstream: dict) -> None:
    ours = internals.graph_definition(**_dag_kwargs(upstream))
    dagsters = dg.GraphDefinition(**_dag_kwargs(upstream))

    assert isinstance(ours, dg.GraphDefinition)
    assert [n.name for n in ours.nodes_in_topological_order] == [
        n.name for n in dagsters.nodes_in_topological_order
    ]


def test_graph_definition_does_not_use_dagsters_quadratic_ordering(monkeypatch) -> None:
    import dagster._core.definitions.graph_definition as graph_module

    def refuse(data):
        raise AssertionError("toposort_flatten called")

    monkeypatch.setattr(graph_module, "toposort_flatten", refuse)
    upstream = {"a": [], "b": ["a"], "c": ["b"]}

    ours = internals.graph_definition(**_dag_kwargs(upstream))

    assert [n.name for n in ours.nodes_in_topological_order] == ["a", "b", "c"]
    with pytest.raises(AssertionError, match="toposort_flatten called"):
        dg.GraphDefinition(**_dag_kwargs(upstream))  # the spy does catch Dagster's own


def test_graph_definition_with_a_cycle_raises_dagsters_error() -> None:
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=r"[Cc]ircular"):
        internals.graph_definition(**_dag_kwargs({"a": ["c"], "b": ["a"], "c": ["b"]}))


def test_ordered_by_levels() -> None:
    assert internals.ordered_by_levels({"b": {"a"}, "a": set(), "c": {"a", "outside"}}) == [
        "a",
        "b",
        "c",
    ]
    assert internals.ordered_by_levels({"a": {"a"}, "b": {"a"}}) == ["a", "b"]  # self-edge
    assert internals.ordered_by_levels({"a": {"b"}, "b": {"a"}}) is None


def test_output_consumers_are_the_steps_reading_each_output() -> None:
    seen: dict[str, dict] = {}

    class Recording(dg.IOManager):
        values: dict = {}

        def handle_output(self, context: dg.OutputContext, obj: object) -> None:
            seen[context.step_key] = internals.output_consumers(context)
            self.values[(context.step_key, context.name)] = obj

        def load_input(self, context: dg.InputContext) -> object:
            upstream = context.upstream_output
            assert upstream is not None
            return self.values[(upstream.step_key, upstream.name)]

    @dg.op(out={"x": dg.Out(), "unused": dg.Out()})
    def a():
        return 1, 2

    @dg.op
    def b(x):
        return x

    @dg.op
    def c(x, y):
        return x + y

    @dg.job(resource_defs={"io_manager": dg.io_manager(lambda _: Recording())})
    def job():
        x, _ = a()
        c(x, b(x))

    assert job.execute_in_process().success
    expected = {("a", "x"): frozenset({"b", "c"}), ("b", "result"): frozenset({"c"})}
    assert seen["a"] == seen["c"] == expected
    # A subset runs fewer steps: only they are readers.
    seen.clear()
    assert job.execute_in_process(op_selection=["a", "b"]).success
    assert seen["a"] == {("a", "x"): frozenset({"b"})}
    assert internals.output_consumers(dg.build_output_context()) == {}


def test_reserved_names_are_the_names_dagster_refuses() -> None:
    """``utils.RESERVED_NAMES`` copies Dagster's list (``utils`` imports no Dagster)."""
    from dagster._core.definitions.utils import DISALLOWED_NAMES

    from kedro_dagster.utils import RESERVED_NAMES

    assert set(DISALLOWED_NAMES) == RESERVED_NAMES
