"""The image batch source for the training loop, and generation after fitting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["ClassBatch", "ImageBatches", "generate_images"]


@dataclass
class ClassBatch:
    """The conditions of a batch of images.

    Attributes
    ----------
    cond : Tensor of shape (n, n_classes)
        Class one-hots.
    """

    cond: torch.Tensor


class ImageBatches:
    """Images on the device, drawn class by class: what the loop trains on.

    Each image of a batch gets a class drawn uniformly, then an image of that
    class uniformly, so rare classes are seen as often as common ones (the
    training-by-sampling of the tabular source, without categorical columns).

    Parameters
    ----------
    images : ndarray of float32, shape (n, C, H, W)
        Scaled to [-1, 1].
    y_codes : ndarray of int, shape (n,)
        Class indices 0..n_classes-1, each present at least once.
    n_classes : int
    device : torch.device

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_augment.images.data import ImageBatches
    >>> images = np.zeros((6, 1, 8, 8), dtype=np.float32)
    >>> source = ImageBatches(images, np.array([0, 0, 0, 0, 1, 1]), 2, torch.device("cpu"))
    >>> real, batch = source.sample(4, torch.Generator().manual_seed(0))
    >>> tuple(real.shape), tuple(batch.cond.shape)
    ((4, 1, 8, 8), (4, 2))
    """

    def __init__(
        self, images: np.ndarray, y_codes: np.ndarray, n_classes: int, device: torch.device
    ) -> None:
        order = np.argsort(y_codes, kind="stable")
        counts = np.bincount(y_codes, minlength=n_classes)
        self.data = torch.as_tensor(images[order], device=device)
        self.counts = torch.as_tensor(counts, device=device)
        self.starts = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]), device=device)
        self.n_classes = n_classes
        self.cond_dim = n_classes

    def _draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, ClassBatch]:
        """Row indices of a batch and its conditions."""
        device = self.data.device
        classes = torch.randint(self.n_classes, (n,), generator=generator, device=device)
        offset = (
            torch.rand(n, generator=generator, device=device) * self.counts[classes]
        ).long()
        rows = self.starts[classes] + offset
        cond = torch.nn.functional.one_hot(classes, self.n_classes).to(self.data.dtype)
        return rows, ClassBatch(cond)

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, ClassBatch]:
        rows, batch = self._draw(n, generator)
        return self.data[rows], batch

    def sample_conditions(self, n: int, generator: torch.Generator) -> ClassBatch:
        """Conditions for a generator step, drawn like a training batch's (the
        same random draws) without gathering images it would not use."""
        return self._draw(n, generator)[1]

    def activate(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The generator already ends in ``tanh``: its output is the image."""
        return raw

    def condition_loss(
        self, raw: torch.Tensor, fake: torch.Tensor, batch: ClassBatch
    ) -> torch.Tensor:
        """None: the class is the only condition, and the discriminator judges it."""
        return raw.new_zeros(())


@torch.no_grad()
def generate_images(
    generator: nn.Module,
    class_index: int,
    n_images: int,
    n_classes: int,
    noise_dim: int,
    rng: torch.Generator,
    chunk_size: int = 1024,
    noise: torch.Tensor | None = None,
) -> np.ndarray:
    """Generate ``n_images`` images of one class, in eval mode, chunk by chunk.

    ``noise``: the generator's inputs beside the class, ``(n_images,
    noise_dim)``; drawn from N(0, 1) with ``rng`` if None.

    Returns
    -------
    ndarray of float32, shape (n_images, C, H, W)
        In [-1, 1], ready for :meth:`ImageLayout.restore`.

    Examples
    --------
    >>> import torch
    >>> from gan_augment.images.data import generate_images
    >>> from gan_augment.images.networks import ImageGenerator, initialise
    >>> rng = torch.Generator().manual_seed(0)
    >>> g = initialise(ImageGenerator(8, 2, (1, 8, 8), 16), torch.device("cpu"), rng)
    >>> generate_images(g, 1, 3, 2, 8, rng).shape
    (3, 1, 8, 8)
    """
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = np.empty((n_images, *generator.shape), dtype=np.float32)
    cond_row = torch.nn.functional.one_hot(
        torch.tensor(class_index, device=device), n_classes
    ).float()
    try:
        for start in range(0, n_images, chunk_size):
            n = min(chunk_size, n_images - start)
            if noise is None:
                part = torch.randn(n, noise_dim, generator=rng, device=device)
            else:
                part = noise[start : start + n]
            images = generator(torch.cat([part, cond_row.expand(n, -1)], dim=1))
            out[start : start + n] = images.cpu().numpy()
    finally:
        generator.train(was_training)
    return out
