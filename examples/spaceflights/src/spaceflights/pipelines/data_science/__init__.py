"""Data science pipeline: split, fit a linear price model, evaluate it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
