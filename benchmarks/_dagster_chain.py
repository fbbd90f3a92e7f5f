"""Dagster's own floor: a hand-written chain of N trivial ops, no Kedro, no kedro-dagster.

``bench_run.py`` runs these jobs to anchor its figures. N comes from the environment
variable ``BENCH_CHAIN_NODES`` (default 20) because Dagster re-imports this module in
every step process of a multiprocess run, where no argument can reach it.

Jobs (all the same chain ``op_0 -> op_1 -> ... -> op_{N-1}``, each op returning ``x + 1``):

``chain_in_process_mem``
    in-process executor, ``mem_io_manager``: the least Dagster does per step.
``chain_in_process_fs``
    in-process executor, Dagster's default ``fs_io_manager`` (pickles every output).
``chain_multiprocess``
    multiprocess executor (``max_concurrent: 2``, ``forkserver``), ``fs_io_manager``. Loaded
    by module (``dagster job execute -m _dagster_chain``), so Dagster's forkserver preloads
    this module, and with it Dagster, before forking the step processes.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

__all__ = ["CHAIN_NODES_ENV", "build_definitions", "defs"]

CHAIN_NODES_ENV = "BENCH_CHAIN_NODES"


def _make_op(index: int) -> dg.OpDefinition:
    if index == 0:

        @dg.op(name="op_0")
        def first() -> int:
            return 1

        return first

    @dg.op(name=f"op_{index}")
    def step(x: int) -> int:
        return x + 1

    return step


def _chain_job(
    name: str, ops: list[dg.OpDefinition], executor: Any, io_manager: Any
) -> dg.JobDefinition:
    @dg.job(name=name, executor_def=executor, resource_defs={"io_manager": io_manager})
    def chain() -> None:
        value = ops[0]()
        for op_def in ops[1:]:
            value = op_def(value)

    return chain


def build_definitions(n_ops: int) -> dg.Definitions:
    """The three chain jobs of ``n_ops`` ops."""
    ops = [_make_op(i) for i in range(n_ops)]
    multiprocess = dg.multiprocess_executor.configured(
        {"max_concurrent": 2, "start_method": {"forkserver": {}}}
    )
    return dg.Definitions(
        jobs=[
            _chain_job("chain_in_process_mem", ops, dg.in_process_executor, dg.mem_io_manager),
            _chain_job("chain_in_process_fs", ops, dg.in_process_executor, dg.fs_io_manager),
            _chain_job("chain_multiprocess", ops, multiprocess, dg.fs_io_manager),
        ]
    )


defs = build_definitions(int(os.environ.get(CHAIN_NODES_ENV, "20")))
