"""The auxiliary classifier: where real rows of each class lie, for the generator's loss.

With ``classifier_weight > 0`` (AC-GAN, Odena et al. 2017; the clipped form
Engelmann & Lessmann 2021 used on tables), a small classifier is fitted on the
encoded real rows before the GAN trains, and then frozen. Each generator step
adds, for every row generated for class ``c``,
``classifier_weight * max(0, cross_entropy(classifier(row), c) - log 2)``: a
row the classifier already places in ``c`` with probability above one half
costs nothing, so the term moves rows out of other classes' regions (label
noise for the classifier downstream) without pulling them towards a prototype
of their class, and it cannot outweigh the adversarial loss once rows are where
they belong.

The classifier is a one-hidden-layer network trained on the whole encoded
table with class-balanced cross-entropy (every class weighs the same, so that a
rare class's region is not swallowed by a frequent one's) and weight decay,
with full-batch Adam: a few hundred steps, under a second on the tables of the
quality benchmark. It draws only from the training stream it is given.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy

from .networks import initialise

__all__ = ["AuxiliaryClassifier", "fit_auxiliary"]

#: Hidden units of the classifier.
HIDDEN = 64
#: Full-batch Adam steps, learning rate and weight decay of its fit.
STEPS, LEARNING_RATE, WEIGHT_DECAY = 300, 1e-2, 1e-3
#: Rows per step beyond which its fit draws mini-batches.
MAX_BATCH = 4096
#: Cross-entropy below which a generated row costs nothing: probability 1/2.
MARGIN = math.log(2.0)


class AuxiliaryClassifier(nn.Module):
    """Class logits of encoded rows: ``Linear -> ReLU -> Linear``.

    Parameters
    ----------
    width : int
        Width of an encoded row.
    n_classes : int
    """

    def __init__(self, width: int, n_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, HIDDEN, device="meta"),
            nn.ReLU(),
            nn.Linear(HIDDEN, n_classes, device="meta"),
        )

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.net(rows)

    def loss(self, rows: torch.Tensor, class_index: torch.Tensor) -> torch.Tensor:
        """Mean of ``max(0, cross_entropy - log 2)`` over the rows."""
        per_row = cross_entropy(self(rows), class_index, reduction="none")
        return torch.relu(per_row - MARGIN).mean()


def fit_auxiliary(
    encoded: torch.Tensor,
    y_codes: np.ndarray,
    n_classes: int,
    generator: torch.Generator,
) -> AuxiliaryClassifier:
    """Fit the classifier on encoded real rows (on their device) and freeze it.

    Examples
    --------
    >>> import numpy as np, torch
    >>> rows = torch.tensor([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.1]])
    >>> clf = fit_auxiliary(rows, np.array([0, 0, 1, 1]), 2, torch.Generator().manual_seed(0))
    >>> clf(rows).argmax(1).tolist()
    [0, 0, 1, 1]
    """
    device = encoded.device
    classifier = initialise(AuxiliaryClassifier(encoded.shape[1], n_classes), device, generator)
    labels = torch.as_tensor(y_codes, device=device, dtype=torch.long)
    counts = torch.bincount(labels, minlength=n_classes).clamp_min(1).to(encoded.dtype)
    weights = counts.sum() / (n_classes * counts)
    optimiser = torch.optim.Adam(
        classifier.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
    )
    n_rows = len(encoded)
    with torch.enable_grad():
        for _ in range(STEPS):
            if n_rows > MAX_BATCH:
                rows = torch.randint(n_rows, (MAX_BATCH,), generator=generator, device=device)
                x, y = encoded[rows], labels[rows]
            else:
                x, y = encoded, labels
            loss = cross_entropy(classifier(x), y, weight=weights)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
    classifier.eval()
    classifier.requires_grad_(False)
    return classifier
