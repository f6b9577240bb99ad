"""Residual generator and packed discriminator for tabular rows (CTGAN, section 4.4).

Both are plain ``nn.Module``s: the training loop owns optimisers and steps.
They are built on the ``meta`` device and initialised by :func:`initialise`
from a local ``torch.Generator``, so building a model never reads or advances
torch's global random state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["Discriminator", "Generator", "initialise"]


class _Residual(nn.Module):
    """``[ReLU(BN(Linear(x))), x]``: the input is carried alongside the output."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, device="meta")
        self.norm = nn.BatchNorm1d(out_features, device="meta")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.norm(self.linear(x))), x], dim=1)


class Generator(nn.Module):
    """Map ``[noise, condition]`` to a raw encoded row (activations applied later).

    Parameters
    ----------
    in_features : int
        Noise dimension plus condition dimension.
    hidden : sequence of int
        Width of each residual layer.
    out_features : int
        Width of an encoded row.
    """

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int):
        super().__init__()
        self.hidden = tuple(hidden)
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers.append(_Residual(width, size))
            width += size
        layers.append(nn.Linear(width, out_features, device="meta"))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Discriminator(nn.Module):
    """Score packs of ``pac`` rows of one class: PacGAN plus a class projection.

    Rows and their conditions are concatenated, and a batch of ``(batch, width)``
    is viewed as ``(batch / pac, pac * width)``: one score per pack (PacGAN, Lin
    et al., 2018), which lets the discriminator see the diversity of a group of
    rows and so penalises mode collapse. Every pack holds rows of a single class
    (the batch source draws them so), and the score adds the projection term
    ``<embed(class), phi(pack)>`` of Miyato & Koyama (2018), which makes the
    discriminator judge how well the pack fits its class.

    Parameters
    ----------
    in_features : int
        Width of an encoded row plus the condition.
    hidden : sequence of int
    pac : int
    n_classes : int
        The first ``n_classes`` entries of a condition are the class one-hot.
    """

    def __init__(
        self, in_features: int, hidden: Sequence[int], pac: int, n_classes: int
    ) -> None:
        super().__init__()
        self.pac = pac
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        width = in_features * pac
        for size in hidden:
            layers += [nn.Linear(width, size, device="meta"), nn.LeakyReLU(0.2)]
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1, device="meta")
        self.embed = nn.Linear(n_classes, width, bias=False, device="meta")

    def features(self, rows: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's output, one row per pack (feature matching
        compares their means over real and generated packs)."""
        x = torch.cat([rows, cond], dim=1)
        return self.body(x.reshape(-1, self.pac * x.shape[1]))

    def forward(self, rows: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(rows, cond), cond)

    def score(self, features: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """One score per pack from its :meth:`features`: ``forward`` in two
        parts, so that feature matching and the score share one pass."""
        pack_class = cond[:: self.pac, : self.n_classes]
        projection = (self.embed(pack_class) * features).sum(dim=1)
        return self.head(features).squeeze(1) + projection


def initialise(
    module: nn.Module, device: torch.device, generator: torch.Generator
) -> nn.Module:
    """Materialise a meta-device module on ``device`` and initialise its weights.

    Linear layers get PyTorch's default initialisation (Kaiming-uniform weights
    with ``a = sqrt(5)``, uniform biases), drawn from ``generator``; batch norms
    start at identity.
    """
    module = module.to_empty(device=device)
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(layer.in_features)
            if layer.bias is not None:
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
        elif isinstance(layer, nn.BatchNorm1d):
            layer.reset_parameters()
    return module
