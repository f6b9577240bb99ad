"""The tabular domain: data transformer, conditions, networks and batch source."""

from .transformer import TabularTransformer

__all__ = ["TabularTransformer"]
