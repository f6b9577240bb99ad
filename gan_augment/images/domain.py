"""The image domain: input checks, the conditional DCGAN's setup, generated rows.

See :mod:`gan_augment.domains` for the contract. Images are described by an
:class:`~gan_augment.images.layout.ImageLayout` (their layout, dtype and
range; no schema, no transformer), drawn by :class:`ImageBatches` and trained
with the conditional DCGAN of :mod:`gan_augment.images.networks`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_array, check_consistent_length, validate_data

from ..options import IMAGE, Options
from ..resampling import GeneratedRows
from ..seeding import Seeds
from ..training import TrainingSetup
from .data import ImageBatches
from .layout import ImageLayout
from .model import ImageModel
from .networks import ImageDiscriminator, ImageGenerator, initialise

__all__ = ["IMAGES", "ImageDomain"]


class ImageDomain:
    """Images of shape ``(n, H, W)``, ``(n, H, W, C)``, ``(n, C, H, W)`` or flat rows."""

    defaults = IMAGE

    def check_input(self, estimator: Any, X: Any, y: np.ndarray) -> tuple[np.ndarray, ImageLayout]:
        """Validate images (any layout) and read their layout."""
        frame = X if isinstance(X, pd.DataFrame) else None
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                "Images must all have the same shape and layout (one of (n, H, W), "
                "(n, H, W, C), (n, C, H, W) or flat (n, H*W*C) with image_shape); "
                f"got images of different shapes ({exc})."
            ) from exc
        X = check_array(X, dtype=None, allow_nd=True, ensure_all_finite=False)
        check_consistent_length(X, y)
        layout = ImageLayout.from_data(X, estimator.image_shape)
        if X.ndim == 2:
            validate_data(
                estimator, X=X if frame is None else frame, reset=True, skip_check_array=True
            )
        else:
            estimator.n_features_in_ = layout.n_features
            if hasattr(estimator, "feature_names_in_"):
                del estimator.feature_names_in_
        return X, layout

    def check_options(self, options: Options, layout: ImageLayout, n_rows: int) -> None:
        """Refuse the options that exist for tables only."""
        for name, on, reason, fix in (
            ("early_stopping", options.early_stopping,
             "its validation score is defined for tables", "without early_stopping"),
            (f"validation_score={options.validation_score!r}",
             options.validation_score != "mmd",
             "early stopping and its scores are defined for tables",
             "with the default validation_score='mmd'"),
            ("dp_epsilon", options.privacy is not None,
             "differential privacy is implemented for tables", "without dp_epsilon"),
            ("classifier_weight", options.classifier_weight > 0,
             "the auxiliary classifier is defined on encoded table rows",
             "with classifier_weight=0"),
            ("feature_matching", options.feature_matching > 0,
             "it matches the features of the tabular discriminator",
             "with feature_matching=0"),
            ("generator='anchored'", options.generator == "anchored",
             "anchored generation is implemented for tables",
             "with generator='conditional'"),
        ):
            if on:
                raise ValueError(
                    f"{name} is not available for images: {reason}. Fit images {fix}."
                )

    def setup(
        self,
        X: np.ndarray,
        y_codes: np.ndarray,
        classes: np.ndarray,
        layout: ImageLayout,
        options: Options,
        device: torch.device,
        seeds: Seeds,
    ) -> TrainingSetup:
        rng = seeds.torch("training", device)
        n_classes = len(classes)
        images = layout.to_tensor_array(X)
        generator = initialise(
            ImageGenerator(options.noise_dim, n_classes, layout.shape, options.conv_width),
            device,
            rng,
        )
        discriminator = initialise(
            ImageDiscriminator(
                layout.shape, n_classes, options.conv_width, options.spectral_norm,
                options.minibatch_std,
            ),
            device,
            rng,
        )
        epochs, steps_per_epoch = options.budget(len(y_codes))
        return TrainingSetup(
            source=ImageBatches(images, y_codes, n_classes, device),
            generator=generator,
            discriminator=discriminator,
            model=ImageModel(
                generator, options.noise_dim, classes,
                np.bincount(y_codes).astype(np.float64), layout,
            ),
            rng=rng,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            # The images as scaled to [-1, 1]: a function of X alone.
            fingerprint_data=[images, y_codes],
            description=(
                f"{epochs} epochs x {steps_per_epoch} steps of {options.batch_size} "
                f"{layout.shape} images (conditional DCGAN), loss={options.loss}"
            ),
        )

    def resampler(
        self, model: ImageModel, X: Any, y_codes: np.ndarray, options: Options, seeds: Seeds
    ) -> GeneratedRows:
        return GeneratedRows(model)


IMAGES = ImageDomain()
