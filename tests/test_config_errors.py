"""A wrong dagster.yml ends in an error naming the file, the key and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from kedro_dagster.config import validate_config
from kedro_dagster.errors import KedroDagsterConfigError

PIPELINES = ["__default__", "data_processing", "data_science"]

CASES = [
    (
        {"jobs": {"j": {"pipeline": {"pipline_name": "x"}}}},
        "jobs.j.pipeline.pipline_name",
        "Did you mean 'pipeline_name'",
    ),
    (
        {"jobs": {"j": {"pipeline": {"pipeline_name": "data_sciense"}}}},
        "jobs.j.pipeline.pipeline_name",
        "Did you mean 'data_science'",
    ),
    (
        {"jobs": {"j": {"executor": "multiproces"}}},
        "jobs.j.executor",
        "Did you mean 'multiprocess'",
    ),
    ({"jobs": {"j": {"schedule": "daily"}}}, "jobs.j.schedule", "Declare it under 'schedules'"),
    ({"jobs": {"j": {"loggers": ["console"]}}}, "jobs.j.loggers.0", "Declare it under 'loggers'"),
    ({"jobs": {"bad-name": {}}}, "jobs.bad-name", "letters, digits and underscores"),
    (
        {"executors": {"e": {"multiproces": {}}}},
        "executors.e.multiproces",
        "Did you mean 'multiprocess'",
    ),
    # Dagster's function names (`dask_executor`, ...) point at our kind of the same stem.
    (
        {"executors": {"e": {"dask_executor": {}}}},
        "executors.e.dask_executor",
        "Did you mean 'dask'",
    ),
    (
        {"executors": {"e": {"celery_executor": {}}}},
        "executors.e.celery_executor",
        "Did you mean 'celery'",
    ),
    (
        {"executors": {"e": {"in_process_executor": {}}}},
        "executors.e.in_process_executor",
        "Did you mean 'in_process'",
    ),
    (
        {"executors": {"e": {"multiprocess": {"max_concurrent": "two"}}}},
        "executors.e.multiprocess.max_concurrent",
        "integer",
    ),
    (
        {"executors": {"e": {"multiprocess": {"max_concurrent": 0}}}},
        "executors.e.multiprocess.max_concurrent",
        "greater than 0",
    ),
    ({"executors": {"e": {}}}, "executors.e", "exactly one executor kind"),
    (
        {"executors": {"e": {"in_process": {}, "multiprocess": {}}}},
        "executors.e",
        "exactly one executor kind",
    ),
    (
        {"schedules": {"s": {"cron_schedule": "every day"}}},
        "schedules.s.cron_schedule",
        "not a valid cron string",
    ),
    (
        {"schedules": {"s": {"cron_schedule": "0 0 * * *", "execution_timezone": "Mars/Olympus"}}},
        "schedules.s.execution_timezone",
        "IANA timezone",
    ),
    ({"schedules": {"s": {}}}, "schedules.s.cron_schedule", "required key is missing"),
    (
        {"schedules": {"s": {"cron_schedule": "0 0 * * *", "default_status": "paused"}}},
        "schedules.s.default_status",
        "'STOPPED' or 'RUNNING'",
    ),
    ({"loggers": {"l": {"log_level": "LOUD"}}}, "loggers.l.log_level", "not a logging level"),
    ({"jobs": {"j": {"pipeline": {"tags": 3}}}}, "jobs.j.pipeline.tags", "valid list"),
    ({"jobz": {}}, "jobz", "Did you mean 'jobs'"),
]


@pytest.mark.parametrize(("raw", "key", "remedy"), CASES, ids=[c[1] for c in CASES])
def test_error_names_file_key_and_remedy(raw: dict, key: str, remedy: str) -> None:
    with pytest.raises(KedroDagsterConfigError) as info:
        validate_config(raw, pipeline_names=PIPELINES, files=[Path("conf/base/dagster.yml")])
    error = info.value
    assert error.key_path == key
    message = str(error)
    assert "conf/base/dagster.yml" in message
    assert remedy in message, message
    assert "pydantic" not in message.lower() and "Traceback" not in message


def test_guide_example_loads() -> None:
    """The dagster.yml example of the user guide (with its `node_namespace` spelling)."""
    config = validate_config(
        {
            "schedules": {"my_job_schedule": {"cron_schedule": "0 0 * * *"}},
            "executors": {"my_executor": {"multiprocess": {"max_concurrent": 2}}},
            "jobs": {
                "my_job": {
                    "pipeline": {"pipeline_name": "__default__", "node_namespace": "my_namespace"},
                    "executor": "my_executor",
                    "schedule": "my_job_schedule",
                }
            },
        },
        pipeline_names=PIPELINES,
    )
    assert config.jobs["my_job"].pipeline.node_namespaces == ["my_namespace"]
    assert config.executor("my_executor").max_concurrent == 2


def test_readme_example_loads() -> None:
    """The dagster.yml of README.md, read from the README itself so it stays true."""
    import yaml

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("### `conf/<env>/dagster.yml`", 1)[1].split("```yaml\n", 1)[1]
    config = validate_config(yaml.safe_load(block.split("```", 1)[0]), pipeline_names=PIPELINES)
    assert config.schedules["nightly"].default_status == "RUNNING"
    assert config.jobs["training"].pipeline.node_namespaces == ["data_science"]
    assert config.executor("parallel").max_workers == 2


def test_guide_logger_example_with_sequential_executor() -> None:
    config = validate_config(
        {
            "loggers": {
                "console_logger": {
                    "log_level": "INFO",
                    "handlers": [
                        {
                            "class": "logging.StreamHandler",
                            "level": "INFO",
                            "stream": "ext://sys.stdout",
                            "formatter": "simple",
                        }
                    ],
                    "formatters": {
                        "simple": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
                    },
                }
            },
            "jobs": {
                "my_job": {
                    "pipeline": {"pipeline_name": "__default__"},
                    "executor": "sequential",
                    "loggers": ["console_logger"],
                }
            },
        },
        pipeline_names=PIPELINES,
    )
    assert config.executor("sequential").in_process


def test_guide_docker_executor_example() -> None:
    config = validate_config(
        {
            "executors": {
                "my_docker_executor": {
                    "docker_executor": {
                        "image": "my-custom-image:latest",
                        "registry": "my_registry.com",
                        "network": "my_network",
                        "networks": ["my_network_1", "my_network_2"],
                        "container_kwargs": {
                            "volumes": ["/host/path:/container/path"],
                            "environment": ["ENV_VAR=value"],
                        },
                    }
                }
            }
        },
        pipeline_names=PIPELINES,
    )
    assert config.executor("my_docker_executor").image == "my-custom-image:latest"


def _factory(jobs: dict) -> object:
    return validate_config(
        {"jobs": jobs},
        pipeline_names=PIPELINES,
        files=[Path("conf/base/dagster.yml")],
        namespaces_of=lambda name: ["data_processing", "data_science"],
    )


def test_job_factory_expands_one_job_per_namespace() -> None:
    config = _factory(
        {"{namespace}_job": {"pipeline": {"tags": ["training"]}, "executor": "multiprocess"}}
    )
    assert sorted(config.jobs) == ["data_processing_job", "data_science_job"]
    job = config.jobs["data_science_job"]
    assert job.pipeline.filter_kwargs() == {
        "node_namespaces": ["data_science"],
        "tags": ["training"],
    }
    assert job.executor == "multiprocess"


@pytest.mark.parametrize(
    ("jobs", "remedy"),
    [
        ({"{namespace}_job": {"pipeline": {"node_namespaces": ["x"]}}}, "Remove the filter"),
        ({"{namespace}_job": {}, "data_science_job": {}}, "already defined"),
    ],
)
def test_job_factory_errors(jobs: dict, remedy: str) -> None:
    with pytest.raises(KedroDagsterConfigError, match=remedy):
        _factory(jobs)
