"""Differentiable augmentation of the image discriminator's input.

A discriminator that sees a few dozen real images of a class memorises them
within a few hundred steps and stops teaching the generator. Augmenting real
and generated images alike, with transforms through which gradients flow to
the generator, keeps it from memorising without teaching the generator the
transforms (DiffAugment, Zhao et al. 2020, arXiv 2006.10738; ADA, Karras et
al. 2020, arXiv 2006.06676).

:class:`AugmentedDiscriminator` wraps the discriminator: every image it scores
(real, generated, and the gradient penalty's interpolates) goes through each
transform of the policy with probability ``p``, drawn per image from the
fit's own ``torch.Generator``, so fits stay reproducible. ``p`` is fixed, or
adapted as in ADA: after each discriminator step the share of real images
scored above the mean generated score is compared with a target (0.6); ``p``
rises while the discriminator tells them apart too well and falls otherwise.
The share replaces ADA's ``E[sign(D(real))]``, which assumes a score whose
sign means something; a Wasserstein critic's scores are defined up to a
constant.

Transforms (images in [-1, 1]):

* ``"translation"``: shift by up to 1/8 of each side, in whole pixels, the
  border filled with -1 (the background of scaled images);
* ``"cutout"``: a square of half the smaller side set to 0, at a random place;
* ``"colour"``: brightness (add U(-0.5, 0.5)), contrast (scale the deviations
  from the image's mean by U(0.5, 1.5)) and, for 3 channels or more,
  saturation (scale the deviations from the pixel's channel mean by U(0, 2)).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["POLICIES", "AugmentedDiscriminator", "augment", "parse_policy"]

#: The transforms, in the order they are applied.
POLICIES = ("translation", "cutout", "colour")

# The adaptive strength: its target for the share of real images scored above
# the mean generated score, and how many real images it takes to move p from
# 0 to 1 (ADA takes 500k on its budgets of millions; these fits see 10^4-10^5).
ADAPTIVE_TARGET = 0.6
ADAPTIVE_IMAGES = 20_000


def parse_policy(policy: str) -> tuple[str, ...]:
    """The transforms named in a comma-separated ``policy``.

    Examples
    --------
    >>> parse_policy("translation, cutout")
    ('translation', 'cutout')
    """
    names = tuple(part.strip() for part in policy.split(",") if part.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown or not names:
        which = f" (unknown: {unknown})" if unknown else ""
        raise ValueError(
            f"augment must name transforms among {list(POLICIES)}, separated by commas; "
            f"got {policy!r}{which}."
        )
    return tuple(name for name in POLICIES if name in names)


def _chosen(images: torch.Tensor, p: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """A (n, 1, 1, 1) boolean mask: which images a transform applies to."""
    draw = torch.rand(len(images), 1, 1, 1, generator=rng, device=images.device)
    return draw < p


def _translate(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, height, width = images.shape
    device = images.device
    pad_y, pad_x = max(1, height // 8), max(1, width // 8)
    shift_y = torch.randint(-pad_y, pad_y + 1, (n, 1, 1), generator=rng, device=device)
    shift_x = torch.randint(-pad_x, pad_x + 1, (n, 1, 1), generator=rng, device=device)
    padded = nn.functional.pad(images, (pad_x, pad_x, pad_y, pad_y), value=-1.0)
    rows = torch.arange(height, device=device)[None, :, None] + pad_y - shift_y
    cols = torch.arange(width, device=device)[None, None, :] + pad_x - shift_x
    batch = torch.arange(n, device=device)[:, None, None]
    # Advanced indexing puts the indexed axes first: (n, H, W, C) -> (n, C, H, W).
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def _cutout(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, _, height, width = images.shape
    device = images.device
    side = max(1, min(height, width) // 2)
    top = torch.randint(0, height - side + 1, (n, 1, 1), generator=rng, device=device)
    left = torch.randint(0, width - side + 1, (n, 1, 1), generator=rng, device=device)
    rows = torch.arange(height, device=device)[None, :, None]
    cols = torch.arange(width, device=device)[None, None, :]
    inside = (rows >= top) & (rows < top + side) & (cols >= left) & (cols < left + side)
    return images * (~inside)[:, None].to(images.dtype)


def _colour(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    n, channels = images.shape[:2]
    device, dtype = images.device, images.dtype

    def uniform(low: float, high: float) -> torch.Tensor:
        draw = torch.rand(n, 1, 1, 1, generator=rng, device=device, dtype=dtype)
        return low + (high - low) * draw

    images = images + uniform(-0.5, 0.5)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = (images - mean) * uniform(0.5, 1.5) + mean
    if channels >= 3:
        mean = images.mean(dim=1, keepdim=True)
        images = (images - mean) * uniform(0.0, 2.0) + mean
    return images


_TRANSFORMS = {"translation": _translate, "cutout": _cutout, "colour": _colour}


def augment(
    images: torch.Tensor, policy: tuple[str, ...], p: torch.Tensor | float,
    rng: torch.Generator,
) -> torch.Tensor:
    """Each transform of ``policy`` applied to each image with probability ``p``.

    Differentiable in ``images``; every random draw comes from ``rng``.

    Examples
    --------
    >>> import torch
    >>> rng = torch.Generator().manual_seed(0)
    >>> x = torch.rand(4, 1, 8, 8) * 2 - 1
    >>> bool((augment(x, ("cutout",), 0.0, rng) == x).all())
    True
    >>> augment(x, POLICIES, 1.0, rng).shape
    torch.Size([4, 1, 8, 8])
    """
    p = torch.as_tensor(p, device=images.device)
    for name in policy:
        changed = _TRANSFORMS[name](images, rng)
        images = torch.where(_chosen(images, p, rng), changed, images)
    return images


class AugmentedDiscriminator(nn.Module):
    """A discriminator that scores augmented images.

    Parameters
    ----------
    discriminator : nn.Module
        Of ``(images, cond)``.
    policy : tuple of str
        Transforms among :data:`POLICIES`.
    strength : float or "adaptive"
        The probability of each transform; ``"adaptive"`` starts at 0 and
        follows :meth:`adapt`.
    rng : torch.Generator
        The fit's training stream (its state is the loop's to save).
    batch_size : int
        Real images per discriminator step, for the adaptive rate.

    The probability is a buffer, so checkpoints and roll-backs keep it.
    """

    def __init__(
        self,
        discriminator: nn.Module,
        policy: tuple[str, ...],
        strength: float | str,
        rng: torch.Generator,
        batch_size: int,
    ) -> None:
        super().__init__()
        self.inner = discriminator
        self.policy = policy
        self.adaptive = strength == "adaptive"
        self.rng = rng
        self.rate = batch_size / ADAPTIVE_IMAGES
        device = next(discriminator.parameters()).device
        start = 0.0 if self.adaptive else float(strength)
        self.register_buffer("p", torch.tensor(start, device=device))

    def forward(self, images: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.inner(augment(images, self.policy, self.p, self.rng), cond)

    @torch.no_grad()
    def adapt(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> None:
        """Move an adaptive ``p`` after a discriminator step (no host sync)."""
        if not self.adaptive:
            return
        share = (real_scores > fake_scores.mean()).float().mean()
        self.p.add_(torch.sign(share - ADAPTIVE_TARGET) * self.rate).clamp_(0.0, 1.0)
