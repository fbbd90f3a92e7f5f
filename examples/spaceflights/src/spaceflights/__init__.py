"""spaceflights: an example Kedro project used by kedro-dagster."""

__version__ = "0.1.0"
