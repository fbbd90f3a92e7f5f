"""Names shared by translation and runtime: run tags, resource keys, op wiring."""

from __future__ import annotations

__all__ = [
    "DATASET_METADATA_KEY",
    "DONE_OUTPUT",
    "ENV_TAG",
    "FILTERS_TAG",
    "JOB_TAG",
    "KEDRO_RUN_RESOURCE",
    "MEMORY_IO_MANAGER",
    "METADATA_PREFIX",
    "NODE_TAG",
    "PIPELINE_TAG",
    "START_INPUT",
    "START_OUTPUT",
]

#: Prefix of every tag and metadata key kedro-dagster writes.
METADATA_PREFIX = "kedro"

#: Run tags describing the Kedro run a Dagster job stands for.
ENV_TAG = "kedro/env"
PIPELINE_TAG = "kedro/pipeline_name"
FILTERS_TAG = "kedro/filters"
JOB_TAG = "kedro/job"

#: Resource holding the Kedro catalog, hooks and parameters of one run in one process.
KEDRO_RUN_RESOURCE = "kedro_run"
#: IO manager of MemoryDatasets (kept in memory or in run-scoped storage, per executor).
MEMORY_IO_MANAGER = "kedro_memory_io_manager"

#: Metadata key naming the Kedro dataset of an op input or output.
DATASET_METADATA_KEY = "kedro/dataset"
#: Op tag (and asset metadata key) naming the Kedro node of an op.
NODE_TAG = "kedro/node"

#: Nothing-typed wiring of node ops: after the job's start op, before its end op.
START_INPUT = "_kedro_start"
START_OUTPUT = "_kedro_started"
DONE_OUTPUT = "_kedro_done"
