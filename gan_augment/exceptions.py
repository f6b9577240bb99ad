"""Warnings and errors that gan-augment raises besides the standard ones."""

from __future__ import annotations

__all__ = ["TrainingWarning"]


class TrainingWarning(UserWarning):
    """Training recovered from a fault (a NaN rollback, an interruption) or
    stopped early; the message says what happened and what was kept."""
