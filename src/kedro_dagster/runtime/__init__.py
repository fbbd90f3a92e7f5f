"""Run world: code executed inside Dagster runs (resources, IO managers, op bodies).

Nothing here imports :mod:`kedro_dagster.translation`.
"""
