"""Project hooks. They only log at DEBUG level: no prints, no files."""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class ProjectHooks:
    """Lightweight hooks used to check that project hooks are preserved on Dagster."""

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Log how many datasets the catalog knows about."""
        logger.debug("Catalog created with %d datasets", len(list(catalog.keys())))

    @hook_impl
    def before_node_run(self, node: Any, inputs: dict[str, Any]) -> None:
        """Log the node about to run and its input names."""
        logger.debug("Running node %s with inputs %s", node.name, sorted(inputs))

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        """Log the node that just finished and its output names."""
        logger.debug("Finished node %s with outputs %s", node.name, sorted(outputs))
