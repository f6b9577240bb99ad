"""gan-augment: balance imbalanced data sets with conditional GANs.

The heart of the package is :class:`GANOversampler`, an imbalanced-learn
over-sampler that drops into an ``imblearn.pipeline.Pipeline``.
"""

import logging

from .oversampler import GANOversampler

# A library logs, the application decides where it goes.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.2.0.dev0"

__all__ = ["GANOversampler", "__version__"]
