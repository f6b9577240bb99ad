"""The image domain: layouts and scaling, the conditional DCGAN and its batch source."""

from .layout import ImageLayout

__all__ = ["ImageLayout"]
