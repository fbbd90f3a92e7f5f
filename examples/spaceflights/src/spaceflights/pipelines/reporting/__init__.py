"""Reporting pipeline: summary tables and a model report."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
