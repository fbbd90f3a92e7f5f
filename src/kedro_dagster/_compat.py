"""Workarounds for dependency versions, in one place."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_kedro_config_loader"]


@contextmanager
def quiet_kedro_config_loader() -> Iterator[None]:
    """Silence omegaconf 2.4's deprecation of ``register_new_resolver`` raised inside Kedro.

    Kedro's ``OmegaConfigLoader`` (1.7) calls the deprecated function every time a loader is
    created, so each Dagster process would print it several times; users cannot act on it. Only
    that message is filtered, only while we create or read a config loader.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning
        )
        yield
