"""Project settings for the spaceflights example.

Only values that differ from Kedro's defaults are set here; see
https://docs.kedro.org/en/stable/configure/configuration_basics/ for the rest.
"""

from spaceflights.hooks import ProjectHooks

# Instantiated project hooks (executed in LIFO order).
HOOKS = (ProjectHooks(),)

# Keyword arguments passed to the default OmegaConfigLoader.
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
