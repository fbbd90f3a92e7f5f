"""Benchmarks for kedro-dagster (synthetic Kedro projects and load-time measurements)."""
