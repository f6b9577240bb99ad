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

from ..options import IMAGE, Options, refuse_parallel, refuse_unavailable
from ..resampling import GeneratedRows
from ..seeding import Seeds
from ..training import TrainingSetup
from .augment import AugmentedDiscriminator
from .autoencoder import encode, fit_autoencoder, reconstruct, train_autoencoder
from .data import ImageBatches
from .layout import ImageLayout
from .model import ImageModel, LatentImageModel
from .networks import ImageDiscriminator, ImageEncoder, ImageGenerator, initialise

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
        refuse_parallel(options, (
            ("An image model", True,
             "data-parallel training is built for tables (their shards, encoding "
             "and batches); images train in one process"),
        ))
        refuse_unavailable("images", (
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
             "with generator='conditional' or 'latent'"),
            ("latent_residual with this generator",
             options.latent_residual and options.generator != "latent",
             "it adds detail to latent interpolations", "with generator='latent'"),
            ("latent_transfer with this generator",
             options.latent_transfer > 0 and options.generator != "latent",
             "it moves the codes of latent generation", "with generator='latent'"),
            ("augment with generator='latent'",
             bool(options.augment) and options.generator == "latent",
             "augmentation is for a discriminator, and latent interpolation has none",
             "with generator='conditional', or augment=None"),
            ("pretrain with generator='latent'",
             options.pretrain is not None and options.generator == "latent",
             "latent interpolation is an autoencoder already",
             "with generator='conditional', or pretrain=None"),
            ("checkpoint_dir with generator='latent'",
             options.generator == "latent" and options.checkpoint_dir is not None,
             "the autoencoder of latent generation is not checkpointed",
             "without checkpoint_dir"),
        ))

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
        source = ImageBatches(images, y_codes, n_classes, device)
        generator = initialise(
            ImageGenerator(
                options.noise_dim, n_classes, layout.shape, options.conv_width,
                options.image_conditioning == "batchnorm",
            ),
            device,
            rng,
        )
        epochs, steps_per_epoch = options.budget(len(y_codes))
        class_weights = np.bincount(y_codes).astype(np.float64)
        common = dict(
            source=source, generator=generator, rng=rng, epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            # The images as scaled to [-1, 1]: a function of X alone.
            fingerprint_data=[images, y_codes],
        )
        if options.generator == "latent":
            encoder = initialise(
                ImageEncoder(layout.shape, options.conv_width, options.noise_dim), device, rng
            )
            model = LatentImageModel(
                generator, options.noise_dim, classes, class_weights, layout,
                transfer=options.latent_transfer,
            )

            def trainer(decoder, encoder, source, config, rng):
                result = fit_autoencoder(decoder, encoder, source, config, rng)
                data = torch.as_tensor(images, device=device)
                model.codes = encode(encoder, data)
                model.code_classes = torch.as_tensor(y_codes, device=device)
                if options.latent_residual:
                    model.residuals = data - reconstruct(
                        decoder, model.codes, model.code_classes, n_classes
                    )
                return result

            return TrainingSetup(
                **common, discriminator=encoder, model=model, trainer=trainer,
                description=(
                    f"{epochs} epochs x {steps_per_epoch} steps of {options.batch_size} "
                    f"{layout.shape} images (autoencoder for latent interpolation)"
                ),
            )
        discriminator = initialise(
            ImageDiscriminator(
                layout.shape, n_classes, options.conv_width, options.spectral_norm,
                options.minibatch_std,
            ),
            device,
            rng,
        )
        if options.pretrain == "autoencoder":
            self._pretrain(generator, discriminator, source, layout, options, device, rng,
                           epochs * steps_per_epoch)
        if options.augment:
            discriminator = AugmentedDiscriminator(
                discriminator, options.augment, options.augment_strength, rng,
                options.batch_size,
            )
        return TrainingSetup(
            **common, discriminator=discriminator,
            model=ImageModel(generator, options.noise_dim, classes, class_weights, layout),
            description=(
                f"{epochs} epochs x {steps_per_epoch} steps of {options.batch_size} "
                f"{layout.shape} images (conditional DCGAN), loss={options.loss}, "
                f"augment={options.augment or None}"
            ),
        )

    @staticmethod
    def _pretrain(generator, discriminator, source, layout, options, device, rng, steps):
        """BAGAN's start: an autoencoder whose decoder is ``generator``, trained
        for a fifth of the GAN's generator steps (at least 100), and whose
        encoder's convolutions then start ``discriminator``'s."""
        encoder = initialise(
            ImageEncoder(layout.shape, options.conv_width, options.noise_dim), device, rng
        )
        train_autoencoder(
            generator, encoder, source, max(100, steps // 5), options.batch_size,
            options.learning_rate, options.betas, rng, options.verbose,
        )
        # A spectrally normalised layer keeps its own power-iteration vector.
        own = discriminator.body.state_dict()
        own.update(encoder.body.state_dict())
        discriminator.body.load_state_dict(own)

    def resampler(
        self, model: ImageModel, X: Any, y_codes: np.ndarray, options: Options, seeds: Seeds
    ) -> GeneratedRows:
        return GeneratedRows(model)


IMAGES = ImageDomain()
