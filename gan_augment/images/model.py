"""The fitted image models: a generator and the image layout, and for latent
interpolation the training images' codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.neighbors import NearestNeighbors

from ..fitted import FittedModel
from .data import generate_images
from .layout import ImageLayout
from .networks import ImageGenerator

__all__ = ["ImageModel", "LatentImageModel"]

# Neighbours among which latent interpolation picks a partner (SMOTE's k).
LATENT_NEIGHBOURS = 5


@dataclass(eq=False)
class ImageModel(FittedModel):
    """An image generator and the layout its images go back to.

    Parameters
    ----------
    generator, noise_dim, classes, class_weights
        As for :class:`~gan_augment.fitted.FittedModel`.
    layout : ImageLayout
        The input's layout, dtype and value range.
    """

    layout: ImageLayout

    kind = "conditional"

    def fitted_attributes(self) -> dict:
        return {"image_layout_": self.layout}

    def generate(self, class_index: int, n: int, rng: torch.Generator) -> np.ndarray:
        images = generate_images(
            self.generator, class_index, n, self.n_classes, self.noise_dim, rng
        )
        return self.layout.restore(images)

    def empty(self) -> np.ndarray:
        return self.layout.restore(np.empty((0, *self.layout.shape), dtype=np.float32))

    def _state(self) -> tuple[dict, dict]:
        return {"image_layout": self.layout.get_state(), "generator_kind": self.kind}, {}

    @classmethod
    def _from_state(cls, fitted, tensors, params, device, class_weights) -> ImageModel:
        # Files written before latent interpolation existed have no kind.
        kind = fitted.get("generator_kind", "conditional")
        if kind not in ("conditional", "latent"):
            raise ValueError(f"generator_kind is {kind!r}, not 'conditional' or 'latent'")
        own = {"codes", "code_classes", "residuals"} if kind == "latent" else set()
        unexpected = sorted(set(tensors) - {"generator"} - own)
        if unexpected:
            raise ValueError(f"weights.pt holds unexpected entries {unexpected}")
        layout = ImageLayout.from_state(fitted["image_layout"])
        classes = fitted["classes_"]
        noise_dim, width = params["embedding_dim"], params["conv_width"]
        norm = params.get("image_conditioning", "embedding") == "batchnorm"
        generator = cls._load_generator(
            lambda: ImageGenerator(noise_dim, len(classes), layout.shape, width, norm),
            tensors["generator"],
            device,
        )
        if kind == "conditional":
            return ImageModel(generator, noise_dim, classes, class_weights, layout)
        codes, code_classes = tensors.get("codes"), tensors.get("code_classes")
        if not (
            isinstance(codes, torch.Tensor) and isinstance(code_classes, torch.Tensor)
            and codes.ndim == 2 and codes.shape[1] == noise_dim and codes.is_floating_point()
            and bool(torch.isfinite(codes).all())
            and code_classes.shape == codes.shape[:1] and not code_classes.is_floating_point()
            and bool(((code_classes >= 0) & (code_classes < len(classes))).all())
        ):
            raise ValueError(
                f"the latent model's codes are not finite ({{n}}, {noise_dim}) floats with "
                "one class index per code"
            )
        residuals = tensors.get("residuals")
        if residuals is not None and not (
            isinstance(residuals, torch.Tensor) and residuals.is_floating_point()
            and tuple(residuals.shape) == (len(codes), *layout.shape)
            and bool(torch.isfinite(residuals).all())
        ):
            raise ValueError(
                f"the latent model's residuals are not finite ({len(codes)}, "
                f"{', '.join(map(str, layout.shape))}) floats"
            )
        return LatentImageModel(
            generator, noise_dim, classes, class_weights, layout,
            codes.to(device, torch.float32), code_classes.to(device, torch.long),
            None if residuals is None else residuals.to(device, torch.float32),
            # Files written before latent_transfer existed interpolated.
            transfer=_transfer(fitted.get("latent_transfer", 0.0)),
        )


@dataclass(eq=False)
class LatentImageModel(ImageModel):
    """Images decoded from codes between a training image and a neighbour.

    Parameters
    ----------
    generator
        The autoencoder's decoder, given ``[code, class one-hot]``.
    codes : Tensor of shape (n, noise_dim)
        The codes of the training images. **They encode real images**: a
        latent model is not synthetic data.
    code_classes : Tensor of int, shape (n,)
        The class index of each code.
    residuals : Tensor of shape (n, C, H, W) or None
        With ``latent_residual=True``: each training image minus its
        reconstruction, added to the images decoded from its interpolations
        (so they keep the detail the autoencoder blurs). Real images too.

    transfer : float
        ``latent_transfer``: 0 for DeepSMOTE's interpolation, else the scale
        of the moves along other images' neighbour differences.

    A new image of class ``c`` starts from a training image of ``c`` drawn
    uniformly. With ``transfer == 0``: one of its :data:`LATENT_NEIGHBOURS`
    nearest codes of ``c`` is drawn uniformly, and a point uniformly on the
    segment between their codes is decoded for ``c`` (DeepSMOTE's rule,
    SMOTE's in the code space). Otherwise a training image of any class is
    drawn uniformly, and one of its nearest codes in its own class; the
    start's code moves by ``u * transfer`` times their difference (``u``
    uniform in [0, 1]) and is decoded for ``c``: the variation neighbouring
    images show in the common classes, carried over to ``c`` (feature
    hallucination, Hariharan & Girshick, 2017).
    """

    codes: torch.Tensor = None
    code_classes: torch.Tensor = None
    residuals: torch.Tensor | None = None
    transfer: float = 0.0
    # Each class's neighbour table (indices into its own codes), and for
    # transfer one table of all codes (indices into ``codes``), made on first
    # use (not saved: derived).
    _partners: dict = field(default_factory=dict, repr=False)

    kind = "latent"

    def generate(self, class_index: int, n: int, rng: torch.Generator) -> np.ndarray:
        mine = self.code_classes == class_index
        own = self.codes[mine]
        if not len(own):
            raise ValueError(f"class {self.classes[class_index]!r} has no training images")
        device = own.device
        base = torch.randint(len(own), (n,), generator=rng, device=device)
        start = own[base]
        if self.transfer > 0:
            partners, points = self._class_partners(None), self.codes
            origin = torch.randint(len(points), (n,), generator=rng, device=device)
            scale = self.transfer
        else:
            partners, points, origin, scale = self._class_partners(class_index), own, base, 1.0
        pick = torch.randint(partners.shape[1], (n,), generator=rng, device=device)
        step = scale * torch.rand(n, 1, generator=rng, device=device)
        codes = start + step * (points[partners[origin, pick]] - points[origin])
        images = generate_images(
            self.generator, class_index, n, self.n_classes, self.noise_dim, rng, noise=codes
        )
        if self.residuals is not None:
            detail = self.residuals[mine][base].cpu().numpy()
            images = np.clip(images + detail, -1.0, 1.0)
        return self.layout.restore(images)

    def _class_partners(self, class_index: int | None) -> torch.Tensor:
        """The neighbour table of one class's codes, or with None of every code
        among its own class's (indices into :attr:`codes`), cached."""
        table = self._partners.get(class_index)
        if table is not None:
            return table
        if class_index is not None:
            table = _neighbours(self.codes[self.code_classes == class_index])
        else:
            table = torch.empty(
                len(self.codes), LATENT_NEIGHBOURS, dtype=torch.long, device=self.codes.device
            )
            for k in self.code_classes.unique().tolist():
                rows = torch.nonzero(self.code_classes == k).flatten()
                found = rows[self._class_partners(k)]
                # A class of fewer than 6 images has fewer neighbours: repeat them.
                table[rows] = found[
                    :, torch.arange(LATENT_NEIGHBOURS, device=found.device) % found.shape[1]
                ]
        self._partners[class_index] = table
        return table

    def _state(self) -> tuple[dict, dict]:
        fitted, _ = super()._state()
        fitted["latent_transfer"] = self.transfer
        tensors = {"codes": self.codes.cpu(), "code_classes": self.code_classes.cpu()}
        if self.residuals is not None:
            tensors["residuals"] = self.residuals.cpu()
        return fitted, tensors

    def to_cpu(self) -> LatentImageModel:
        clone = super().to_cpu()
        clone._partners = {}
        clone.codes, clone.code_classes = self.codes.cpu(), self.code_classes.cpu()
        if self.residuals is not None:
            clone.residuals = self.residuals.cpu()
        return clone


def _transfer(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"latent_transfer is {value!r}, not a number >= 0")
    return float(value)


def _neighbours(codes: torch.Tensor) -> torch.Tensor:
    """``(n, k)`` indices of each code's ``k`` nearest other codes (k at most
    :data:`LATENT_NEIGHBOURS`); a single code is its own partner."""
    k = min(LATENT_NEIGHBOURS, len(codes) - 1)
    if k == 0:
        # One image: its code, decoded (no partner to interpolate with).
        return torch.zeros(len(codes), 1, dtype=torch.long, device=codes.device)
    points = codes.cpu().double().numpy()
    _, found = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return torch.as_tensor(found[:, 1:], device=codes.device)
