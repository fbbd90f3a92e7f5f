"""Load a project's definitions.py and print, as JSON, each job's ops and Kedro's own selection.

Run in a fresh subprocess: `python describe_jobs.py <project> <package>`.
"""

import importlib.util
import json
import sys
from pathlib import Path

import dagster as dg
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from compat import resolve

project, package = Path(sys.argv[1]), sys.argv[2]
spec = importlib.util.spec_from_file_location(
    "defs_module", project / "src" / package / "definitions.py"
)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
defs = module.defs if isinstance(module.defs, dg.Definitions) else module.defs()
jobs = {j.name: j for j in resolve(defs, "all_job_defs") if not j.name.startswith("__ASSET")}

from kedro.framework.project import pipelines  # noqa: E402  (bootstrapped by the translation)

from kedro_dagster.utils import format_node_name  # noqa: E402

config = yaml.safe_load((project / "conf/base/dagster.yml").read_text())
out = {}
definitions_by_op: dict[str, set[int]] = {}
for name, job in jobs.items():
    ops = sorted(
        n.name
        for n in job.graph.nodes
        if n.name not in ("before_pipeline_run", "after_pipeline_run")
    )
    for n in job.graph.nodes:
        definitions_by_op.setdefault(n.name, set()).add(id(n.definition))
    options = dict(config["jobs"][name]["pipeline"])
    pipeline = pipelines[options.pop("pipeline_name", "__default__")]
    if "node_namespace" in options:
        options["node_namespaces"] = [options.pop("node_namespace")]
    kedro_nodes = sorted(
        format_node_name(n.name)
        for n in (pipeline.filter(**options) if options else pipeline).nodes
    )
    out[name] = {"ops": ops, "kedro": kedro_nodes, "executor": job.executor_def.name}
out["_op_definitions_per_name"] = {k: len(v) for k, v in definitions_by_op.items()}
print("JOBS_JSON " + json.dumps(out))
