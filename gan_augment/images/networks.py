"""Conditional DCGAN: a generator with a class embedding, a projection discriminator.

Following Radford et al. (2016): the generator up-samples with transposed
convolutions, each followed by batch norm and ReLU, and ends in ``tanh``; the
discriminator down-samples with strided convolutions and LeakyReLU(0.2), with
no pooling and no fully connected hidden layer. Two departures, both for the
class condition and the losses: the class enters the generator as a learned
embedding concatenated to the noise, and the discriminator is a projection
discriminator (Miyato & Koyama, 2018): score = ``head(phi(x)) + <embed(y),
phi(x)>``, with ``phi`` the sum-pooled last feature map. The discriminator has
no batch norm, because the WGAN-GP penalty (the default loss) is defined per
image and batch norm would mix images.

Sizes: the generator works at ``P``, the smallest power of two that is at
least the image's larger side (and at least 8), starting from 4x4 and doubling
``log2(P) - 2`` times; its output is centre-cropped to ``H x W`` (28x28 MNIST
digits are the centre of a 32x32 output). The discriminator takes the
``H x W`` images as they are, with as many stride-2 layers as the generator
has up-sampling layers; the sum pooling makes it indifferent to the final map
size. So 8x8 images get one re-sampling layer each way, 28x28 and 32x32
three. Each network also has one stride-1 3x3 layer at its smallest map: without
it, 8x8 images got a single convolution per network, and fewer generated
digits were recognised as their class (0.2-0.4 against 0.4-0.52 with it,
after 1,000 steps with one discriminator step per generator step and an
earlier, fainter class embedding; see :func:`initialise`).

Both modules are built on the ``meta`` device and materialised by
:func:`initialise` from a local ``torch.Generator``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.functional import normalize

__all__ = [
    "ImageDiscriminator", "ImageEncoder", "ImageGenerator", "initialise", "working_size",
]


def working_size(height: int, width: int) -> int:
    """The generator's square output side: a power of two, at least 8.

    Examples
    --------
    >>> from gan_augment.images.networks import working_size
    >>> working_size(8, 8), working_size(28, 28), working_size(32, 32)
    (8, 32, 32)
    """
    return max(8, 1 << math.ceil(math.log2(max(height, width))))


class ConditionalBatchNorm2d(nn.BatchNorm2d):
    """Batch norm whose scale and shift also depend on the class (BigGAN's
    conditional batch norm): ``gamma + embed_g(onehot)``, ``beta + embed_b(onehot)``.

    The class one-hot is set by the generator before each forward pass.
    """

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__(channels, device="meta")
        self.gain = nn.Linear(n_classes, channels, bias=False, device="meta")
        self.shift = nn.Linear(n_classes, channels, bias=False, device="meta")
        self.onehot: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        onehot = self.onehot
        return out * (1 + self.gain(onehot))[:, :, None, None] + self.shift(onehot)[:, :, None, None]


class ImageGenerator(nn.Module):
    """Map ``[noise, class one-hot]`` to images ``(n, C, H, W)`` in [-1, 1].

    Parameters
    ----------
    noise_dim : int
    n_classes : int
    shape : (C, H, W)
    width : int
        Channels of the last hidden layer; each layer towards 4x4 doubles them.
    conditional_norm : bool
        Class-conditional batch norm (:class:`ConditionalBatchNorm2d`) besides
        the class embedding.
    """

    def __init__(
        self, noise_dim: int, n_classes: int, shape: tuple[int, int, int], width: int,
        conditional_norm: bool = False,
    ) -> None:
        super().__init__()
        self.noise_dim, self.shape = noise_dim, tuple(shape)
        channels, height, side = shape[0], shape[1], shape[2]
        n_up = int(math.log2(working_size(height, side))) - 2
        self.embed = nn.Linear(n_classes, noise_dim, bias=False, device="meta")

        def norm(size: int) -> nn.Module:
            if conditional_norm:
                return ConditionalBatchNorm2d(size, n_classes)
            return nn.BatchNorm2d(size, device="meta")

        hidden = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(2 * noise_dim, hidden, 4, 1, 0, bias=False, device="meta"),
            norm(hidden),
            nn.ReLU(),
            nn.ConvTranspose2d(hidden, hidden, 3, 1, 1, bias=False, device="meta"),
            norm(hidden),
            nn.ReLU(),
        ]
        for _ in range(n_up - 1):
            layers += [
                nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1, bias=False, device="meta"),
                norm(hidden // 2),
                nn.ReLU(),
            ]
            hidden //= 2
        layers += [nn.ConvTranspose2d(hidden, channels, 4, 2, 1, device="meta"), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.conditional = [m for m in layers if isinstance(m, ConditionalBatchNorm2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise, onehot = x[:, : self.noise_dim], x[:, self.noise_dim :]
        for layer in self.conditional:
            layer.onehot = onehot
        z = torch.cat([noise, self.embed(onehot)], dim=1)
        out = self.net(z[:, :, None, None])
        _, height, width = self.shape
        top = (out.shape[2] - height) // 2
        left = (out.shape[3] - width) // 2
        return out[:, :, top : top + height, left : left + width]


class _Conv2d(nn.Conv2d):
    """A convolution whose weight is optionally divided by its spectral norm.

    The norm is estimated by one power iteration per training forward pass
    (Miyato et al., 2018), from a vector ``u`` kept as a buffer and drawn by
    :func:`initialise` from the local generator (PyTorch's own
    ``spectral_norm`` draws it from the global random state).
    """

    def __init__(self, *args, spectral: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.spectral = spectral
        if spectral:
            self.register_buffer("u", torch.empty(self.out_channels, device="meta"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight
        if self.spectral:
            matrix = weight.flatten(1)
            with torch.no_grad():
                if self.training:
                    v = normalize(matrix.t() @ self.u, dim=0)
                    self.u.copy_(normalize(matrix @ v, dim=0))
                # A copy: the next forward pass updates the buffer in place,
                # which must not touch a graph still waiting for backward.
                u = self.u.clone()
                v = normalize(matrix.t() @ u, dim=0)
            weight = weight / (u @ matrix @ v)
        return self._conv_forward(x, weight, self.bias)


def _down_body(
    shape: tuple[int, int, int], width: int, spectral_norm: bool
) -> tuple[nn.Sequential, int]:
    """The discriminator's (and the encoder's) convolutions, and their output
    channels: stride-2 layers down to about 4x4, then one 3x3 layer."""
    channels, height, side = shape
    n_down = int(math.log2(working_size(height, side))) - 2
    layers: list[nn.Module] = []
    in_channels, out_channels = channels, width
    for _ in range(n_down):
        layers += [
            _Conv2d(in_channels, out_channels, 4, 2, 1, spectral=spectral_norm, device="meta"),
            nn.LeakyReLU(0.2),
        ]
        in_channels, out_channels = out_channels, out_channels * 2
    layers += [
        _Conv2d(in_channels, out_channels, 3, 1, 1, spectral=spectral_norm, device="meta"),
        nn.LeakyReLU(0.2),
    ]
    return nn.Sequential(*layers), out_channels


class ImageDiscriminator(nn.Module):
    """Score images of a class: strided convolutions and a class projection.

    Parameters
    ----------
    shape : (C, H, W)
    n_classes : int
        Conditions are class one-hots of this width.
    width : int
        Channels of the first layer; each further layer doubles them.
    spectral_norm : bool
        Spectral normalisation of every convolution.
    minibatch_std : bool
        Append the batch's mean feature standard deviation to every image's
        pooled features (Karras et al., 2018), so the discriminator can see
        a batch that lacks variety.
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        n_classes: int,
        width: int,
        spectral_norm: bool,
        minibatch_std: bool,
    ) -> None:
        super().__init__()
        self.body, in_channels = _down_body(shape, width, spectral_norm)
        self.minibatch_std = minibatch_std
        features = in_channels + int(minibatch_std)
        self.head = nn.Linear(features, 1, device="meta")
        self.embed = nn.Linear(n_classes, features, bias=False, device="meta")

    def forward(self, images: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        maps = self.body(images)
        features = maps.sum(dim=(2, 3))
        if self.minibatch_std:
            spread = maps.std(dim=0, unbiased=False).mean()
            features = torch.cat([features, spread.expand(len(maps), 1)], dim=1)
        projection = (self.embed(cond) * features).sum(dim=1)
        return self.head(features).squeeze(1) + projection


class ImageEncoder(nn.Module):
    """Encode images ``(n, C, H, W)`` to codes ``(n, code_dim)``.

    The discriminator's convolutions (so a BAGAN start can copy them into the
    discriminator), the last map flattened (the discriminator's sum pooling
    would lose where strokes are) and a linear layer, then batch norm without
    scale or shift: codes are standardised per dimension, like the noise the
    generator is given.
    """

    def __init__(self, shape: tuple[int, int, int], width: int, code_dim: int) -> None:
        super().__init__()
        self.body, channels = _down_body(shape, width, spectral_norm=False)
        with torch.device("meta"):
            side = self.body(torch.empty(1, *shape)).shape[2:]
        self.code = nn.Linear(channels * side[0] * side[1], code_dim, device="meta")
        self.norm = nn.BatchNorm1d(code_dim, affine=False, device="meta")

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.norm(self.code(self.body(images).flatten(1)))


def initialise(
    module: nn.Module, device: torch.device, generator: torch.Generator
) -> nn.Module:
    """Materialise a meta-device module on ``device`` and draw its weights.

    DCGAN's initialisation: convolution and linear weights from N(0, 0.02),
    batch-norm scales from N(1, 0.02), biases zero. The class embeddings of
    both networks are drawn from N(0, 1): in the generator that is the scale
    of the noise beside it, and in the discriminator a projection started at
    N(0, 0.02) left the class so faint that, on 8x8 digits after 1,000 steps,
    half the classes came out as other digits (0.97 of generated digits
    recognised as their class with N(0, 1), 0.52 with N(0, 0.02)). Spectral
    norm vectors ``u`` are uniform on the sphere. All drawn from ``generator``.
    """
    module = module.to_empty(device=device)
    for name, layer in module.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            std = 1.0 if name == "embed" else 0.02
            nn.init.normal_(layer.weight, 0.0, std, generator=generator)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm2d, nn.BatchNorm1d)):
            layer.reset_running_stats()
            if layer.affine:
                nn.init.normal_(layer.weight, 1.0, 0.02, generator=generator)
                nn.init.zeros_(layer.bias)
        if isinstance(layer, _Conv2d) and layer.spectral:
            nn.init.normal_(layer.u, generator=generator)
            layer.u.copy_(normalize(layer.u, dim=0))
    return module
