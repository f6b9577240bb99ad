"""Warnings and errors that gan-augment raises besides the standard ones."""

from __future__ import annotations

__all__ = ["SmallClassWarning", "TrainingWarning"]


class TrainingWarning(UserWarning):
    """Training recovered from a fault (a NaN rollback, an interruption) or
    stopped early; the message says what happened and what was kept."""


class SmallClassWarning(UserWarning):
    """A class to over-sample has so few rows that a GAN can learn little from
    it; interpolation (SMOTE and its variants) is likely the better tool."""
