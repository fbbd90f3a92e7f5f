"""Executor options produce config that Dagster's own executors accept.

Every kind's config is validated against the executor's config schema (Dagster's config
validation API), then resolved through the configured executor definition, for defaults
and for the examples of the user guide. No engine (Docker, Kubernetes, Celery) is needed.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest
from dagster import Backoff, ExecutorDefinition, Jitter, RetryPolicy
from dagster._config import validate_config as dagster_validate

from kedro_dagster.config import (
    EXECUTOR_OPTIONS,
    BaseExecutorOptions,
    ExecutorOptions,
    validate_config,
)
from kedro_dagster.errors import KedroDagsterConfigError
from kedro_dagster.translation.executors import ExecutorCreator, dagster_executor, executor_config

PIPELINES = ["__default__", "data_processing", "data_science"]

#: The Docker executor example of the user guide, as written there.
GUIDE_DOCKER = {
    "image": "my-custom-image:latest",
    "registry": "my_registry.com",
    "network": "my_network",
    "networks": ["my_network_1", "my_network_2"],
    "container_kwargs": {
        "volumes": ["/host/path:/container/path"],
        "environment": ["ENV_VAR=value"],
    },
}

CASES: dict[str, dict[str, Any]] = {
    "docker_defaults": {"docker_executor": {}},
    "docker_guide": {"docker_executor": GUIDE_DOCKER},
    "docker_full": {
        "docker_executor": {
            "image": "registry.example.com:5000/team/image:1.0",
            "registry": {
                "url": "registry.example.com:5000",
                "username": "bot",
                "password": {"env": "REGISTRY_PASSWORD"},
            },
            "networks": ["a", "b"],
            "env_vars": ["DAGSTER_HOME", "KEDRO_ENV=prod"],
            "container_kwargs": {"volumes": ["/data:/data"], "environment": {"A": "1"}},
            "max_concurrent": 4,
            "tag_concurrency_limits": [
                {"key": "database", "value": "redshift", "limit": 2},
                {"key": "team", "value": {"applyLimitPerUniqueValue": True}, "limit": 1},
            ],
            "retries": "disabled",
        }
    },
    "celery_docker_defaults": {"celery_docker": {}},
    "celery_docker_guide": {
        "celery_docker": {k: v for k, v in GUIDE_DOCKER.items() if k != "networks"}
    },
    "celery_docker_full": {
        "celery_docker": {
            "broker": "redis://redis:6379/0",
            "backend": "redis://redis:6379/1",
            "include": ["my_module"],
            "config_source": {"task_acks_late": True},
            "image": "my_repo.com/image_name:latest",
            "registry": {
                "url": "my_repo.com",
                "username": "my_user",
                "password": {"env": "DOCKER_PASSWORD"},
            },
            "env_vars": ["DAGSTER_HOME", "KEDRO_ENV=prod"],
            "container_kwargs": {"volumes": ["/home/user1/:/mnt/vol2"]},
            "network": "backend",
        }
    },
    "k8s_defaults": {"k8s_job_executor": {}},
    "k8s_full": {
        "k8s_job_executor": {
            "job_image": "my-company/project:1.0",
            "job_namespace": "dagster",
            "load_incluster_config": False,
            "kubeconfig_file": "/root/.kube/config",
            "image_pull_policy": "IfNotPresent",
            "image_pull_secrets": [{"name": "regcred"}],
            "service_account_name": "dagster",
            "env_config_maps": ["project-env"],
            "env_secrets": ["project-secrets"],
            "env_vars": ["KEDRO_ENV=prod"],
            "volume_mounts": [{"name": "data", "mount_path": "/data"}],
            "volumes": [{"name": "data", "persistent_volume_claim": {"claim_name": "data"}}],
            "labels": {"team": "ml"},
            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            "scheduler_name": "default-scheduler",
            "security_context": {"run_as_user": 1000},
            "step_k8s_config": {"container_config": {"resources": {"requests": {"cpu": "1"}}}},
            "per_step_k8s_config": {
                "data_science.train_model_node": {
                    "container_config": {"resources": {"requests": {"memory": "8Gi"}}},
                    "merge_behavior": "DEEP",
                }
            },
            "enable_owner_references": True,
            "max_concurrent": 8,
            "tag_concurrency_limits": [{"key": "gpu", "limit": 1}],
            "retry_policy": {"max_retries": 2, "delay": 10, "backoff": "exponential"},
        }
    },
    "celery_k8s_defaults": {"celery_k8s_job_executor": {}},
    "celery_k8s_full": {
        "celery_k8s_job_executor": {
            "broker": {"env": "CELERY_BROKER"},
            "backend": "rpc://",
            "include": ["my_module"],
            "config_source": {"worker_prefetch_multiplier": 1},
            "job_image": "my-company/project:1.0",
            "job_namespace": "dagster",
            "load_incluster_config": True,
            "image_pull_policy": "Always",
            "env_config_maps": ["project-env"],
            "volume_mounts": [{"name": "data", "mountPath": "/data"}],
            "volumes": [{"name": "data", "emptyDir": {}}],
            "per_step_k8s_config": {"train_model_node": {"pod_spec_config": {"node_name": "a"}}},
            "repo_location_name": "spaceflights",
            "job_wait_timeout": 3600,
        }
    },
    "dask_defaults": {"dask": {}},
    "dask_existing": {"dask": {"cluster": {"existing": {"address": "tcp://scheduler:8786"}}}},
    "dask_local": {"dask": {"cluster": {"local": {"n_workers": 2, "threads_per_worker": 1}}}},
    "celery_defaults": {"celery": {}},
    "celery_full": {
        "celery": {
            "broker": "redis://localhost:6379/0",
            "backend": "redis://localhost:6379/0",
            "include": ["my_module"],
            "config_source": {"task_acks_late": True},
            "retries": "disabled",
        }
    },
    "parallel": {
        "parallel": {
            "max_workers": 2,
            "start_method": "spawn",
            "retry_policy": {"max_retries": 1},
        }
    },
    "multiprocess_limits": {
        "multiprocess": {
            "max_concurrent": 2,
            "tag_concurrency_limits": [{"key": "kind", "value": "io", "limit": 1}],
            "retry_policy": {"max_retries": 3, "delay": 1, "jitter": "full"},
        }
    },
}


def _options(raw: dict[str, Any]) -> BaseExecutorOptions:
    config = validate_config(
        {"executors": {"the_executor": raw}},
        pipeline_names=PIPELINES,
    )
    options = config.executor("the_executor")
    assert options is not None
    return options


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_is_valid_for_dagster_executor(case: str) -> None:
    options = _options(CASES[case])
    config = executor_config(options, ["dagster"])
    executor_def = dagster_executor(options)
    result = dagster_validate(executor_def.config_schema.config_type, config)
    assert result.success, f"{case}: {config} rejected by {executor_def.name}: {result.errors}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_configured_executor_resolves(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The configured definition resolves its config as Dagster does when a run starts."""
    for name in ("REGISTRY_PASSWORD", "DOCKER_PASSWORD", "CELERY_BROKER"):
        monkeypatch.setenv(name, "secret")
    options = _options(CASES[case])
    configured = ExecutorCreator("spaceflights").create(options)
    assert isinstance(configured, ExecutorDefinition)
    resolved = configured.config_schema.resolve_config({})
    assert resolved.success, resolved.errors
    assert isinstance(resolved.value, dict)


def test_every_kind_is_covered() -> None:
    kinds = {next(iter(raw)) for raw in CASES.values()}
    assert kinds | {"in_process"} == set(EXECUTOR_OPTIONS)
    assert set(EXECUTOR_OPTIONS) == set(ExecutorOptions.model_fields)


def test_guide_docker_example_becomes_valid_docker_config() -> None:
    """Decisions for the guide's example, which Dagster would refuse as written."""
    from dagster_docker.utils import validate_docker_config

    config = executor_config(_options({"docker_executor": GUIDE_DOCKER}))
    # A registry host qualifies the image (pulled with the Docker host's credentials).
    assert config["image"] == "my_registry.com/my-custom-image:latest"
    assert "registry" not in config
    # `network` joins `networks`; `container_kwargs.environment` goes to `env_vars`.
    assert config["networks"] == ["my_network", "my_network_1", "my_network_2"]
    assert "network" not in config
    assert config["env_vars"] == ["ENV_VAR=value"]
    assert config["container_kwargs"] == {"volumes": ["/host/path:/container/path"]}
    validate_docker_config(
        config.get("network"), config.get("networks"), config.get("container_kwargs")
    )


def test_docker_executor_initializes_from_guide_config() -> None:
    """Dagster's own executor factory accepts the resolved config (no Docker engine needed)."""
    configured = ExecutorCreator().create(_options({"docker_executor": GUIDE_DOCKER}))
    resolved = configured.config_schema.resolve_config({}).value["config"]
    executor = configured.executor_creation_fn(SimpleNamespace(executor_config=resolved))
    assert executor.retries.value == "enabled"


def test_registry_dict_is_passed_for_login() -> None:
    config = executor_config(_options(CASES["docker_full"]))
    assert config["registry"] == {
        "url": "registry.example.com:5000",
        "username": "bot",
        "password": {"env": "REGISTRY_PASSWORD"},
    }
    assert config["image"] == "registry.example.com:5000/team/image:1.0"
    assert config["env_vars"] == ["DAGSTER_HOME", "KEDRO_ENV=prod", "A=1"]


def test_celery_docker_env_values_go_to_environment() -> None:
    config = executor_config(_options(CASES["celery_docker_full"]))
    assert config["docker"]["env_vars"] == ["DAGSTER_HOME"]
    assert config["docker"]["container_kwargs"]["environment"] == ["KEDRO_ENV=prod"]
    assert config["docker"]["network"] == "backend"
    assert config["broker"] == "redis://redis:6379/0"


def test_k8s_per_step_config_uses_op_names() -> None:
    config = executor_config(_options(CASES["k8s_full"]))
    assert list(config["per_step_k8s_config"]) == ["data_science__train_model_node"]
    assert config["max_concurrent"] == 8


def test_k8s_per_step_config_of_an_unnamed_node_uses_its_op_name() -> None:
    """An unnamed node's op is named after its function: its Kedro name maps to that op."""
    from kedro.pipeline import Pipeline, node

    from kedro_dagster.translation.names import OpNames

    unnamed = node(sorted, "a", "b", namespace="data_science")
    op_names = OpNames({"__default__": Pipeline([unnamed])})
    raw = {"k8s_job_executor": {"per_step_k8s_config": {unnamed.name: {}}}}
    config = executor_config(_options(raw), op_name=op_names.of_name)
    assert list(config["per_step_k8s_config"]) == ["data_science__sorted"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"docker_executor": {"registry": "my_registry.com"}},
            "names the registry of 'image'",
        ),
        (
            {"docker_executor": {"image": "other.io/x:1", "registry": "my_registry.com"}},
            "is in registry 'other.io'",
        ),
        (
            {"docker_executor": {"registry": {"url": "r.io", "username": "u"}}},
            "password",
        ),
        (
            {"docker_executor": {"container_kwargs": {"image": "x"}}},
            "use the 'image' option",
        ),
        ({"dask": {"retries": "enabled"}}, "does not retry"),
        ({"dask": {"cluster": {"local": {}, "existing": {"address": "x"}}}}, "exactly one"),
        ({"dask": {"cluster": {"existing": {}}}}, "address"),
        ({"celery": {"brocker": "redis://"}}, "brocker"),
        ({"k8s_job_executor": {"image_pull_policy": "Sometimes"}}, "image_pull_policy"),
        ({"k8s_job_executor": {"volumes": [{"emptyDir": {}}]}}, "needs a 'name'"),
        ({"celery_k8s_job_executor": {"max_concurrent": 2}}, "max_concurrent"),
        ({"multiprocess": {"retries": "disabled", "retry_policy": {}}}, "retry_policy"),
        ({"multiprocess": {"max_concurrent": 0}}, "max_concurrent"),
        ({"multiprocess": {"retry_policy": {"backoff": "linear"}}}, "set 'delay' too"),
    ],
)
def test_invalid_options_are_config_errors(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(KedroDagsterConfigError, match=message):
        _options(raw)


def test_retry_policy() -> None:
    creator = ExecutorCreator()
    policy = creator.retry_policy(_options(CASES["k8s_full"]))
    assert policy == RetryPolicy(max_retries=2, delay=10, backoff=Backoff.EXPONENTIAL)
    policy = creator.retry_policy(_options(CASES["multiprocess_limits"]))
    assert policy == RetryPolicy(max_retries=3, delay=1, jitter=Jitter.FULL)
    assert creator.retry_policy(_options({"in_process": {}})) is None


def test_executor_definitions_are_shared() -> None:
    creator = ExecutorCreator()
    first = creator.create(_options(CASES["k8s_full"]))
    assert creator.create(_options(CASES["k8s_full"])) is first
    assert creator.create(_options(CASES["k8s_defaults"])) is not first


@pytest.mark.parametrize(
    ("raw", "module", "extra"),
    [
        ({"dask": {}}, "dagster_dask", "dask"),
        ({"docker_executor": {}}, "dagster_docker", "docker"),
        ({"celery": {}}, "dagster_celery", "celery"),
        ({"celery_docker": {}}, "dagster_celery_docker", "celery-docker"),
        ({"k8s_job_executor": {}}, "dagster_k8s", "k8s"),
        ({"celery_k8s_job_executor": {}}, "dagster_celery_k8s", "celery-k8s"),
    ],
)
def test_missing_integration_names_the_extra(
    raw: dict[str, Any], module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes every import of the module fail with ImportError.
    monkeypatch.setitem(sys.modules, module, None)
    options = _options(raw)
    with pytest.raises(KedroDagsterConfigError) as info:
        ExecutorCreator().create(options)
    message = str(info.value)
    assert f"pip install 'kedro-dagster[{extra}]'" in message
    assert module.replace("_", "-") in message
