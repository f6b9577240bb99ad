"""Image minority classes: GANOversampler against SMOTE and random over-sampling.

Two data sets, each split stratified 50/50 into a training and an evaluation
half (random_state=0):

* MNIST's t10k set (10,000 28x28 digits) from ``--data-dir``/mnist
  (``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``), skipped with
  a message when absent;
* scikit-learn's ``load_digits`` (1,797 8x8 digits).

In each training half, the digits 3, 5 and 8 are cut to 1 % of their rows
(at least 2 rows each: 5 per digit for MNIST, 2 for the 8x8 digits). Each
over-sampler (none, RandomOverSampler, SMOTE, GANOversampler) balances the
cut training half, then two classifiers are trained on it: a logistic
regression on the pixels and a small CNN (two convolutions, a few epochs).
Scores on the untouched evaluation half: balanced accuracy and the recall of
each cut digit.

Fidelity: the Frechet distance between the features of real and generated
images of each cut digit, in the 64-d penultimate layer of a small CNN
trained on the *uncut* real training half (no downloaded Inception weights,
so the values are not comparable with published FIDs). Real images are the
evaluation half's; "real (train)" compares the training half's full class
with them, the floor to read the others against.

Run from the repository root (about 8 minutes on one CPU core)::

    OMP_NUM_THREADS=1 python benchmarks/images.py --data-dir ../shared/data

The table is printed and written to ``benchmarks/results/images.md``; sample
grids go to ``benchmarks/results/images_<data>_grid.png``.
"""

from __future__ import annotations

import argparse
import gzip
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from imblearn.over_sampling import SMOTE, RandomOverSampler
from scipy import linalg
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from torch import nn

from gan_augment import GANOversampler, plot

MINORITY = (3, 5, 8)
RESULTS = Path(__file__).resolve().parent / "results"
# GAN settings per data set: sized so that the whole benchmark runs in about
# 8 minutes on one CPU core (see docs/images.md for the measured steps/s).
GAN_SETTINGS = {
    "mnist": dict(conv_width=16, steps=550),
    "digits": dict(conv_width=32, steps=500),
}
CNN_EPOCHS = {"mnist": 4, "digits": 20}


def load_mnist(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    folder = data_dir / "mnist"
    images, labels = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    if not (images.exists() and labels.exists()):
        return None
    X = np.frombuffer(gzip.open(images).read(), np.uint8, offset=16).reshape(-1, 28, 28)
    y = np.frombuffer(gzip.open(labels).read(), np.uint8, offset=8).astype(int)
    return X.astype(np.float32) / 255, y


def load_small_digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X.reshape(-1, 8, 8).astype(np.float32) / 16, y


def cut(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    """Keep 1 % (at least 2) of the rows of each MINORITY digit."""
    keep = np.ones(len(y), dtype=bool)
    for digit in MINORITY:
        rows = np.flatnonzero(y == digit)
        n = max(2, int(0.01 * len(rows)))
        keep[rng.permutation(rows)[n:]] = False
    return X[keep], y[keep]


class SmallCNN(nn.Module):
    """Two convolutions, then a 64-d feature layer (used for Frechet distances)."""

    def __init__(self, n_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(), nn.Linear(512, 64), nn.ReLU(),
        )
        self.out = nn.Linear(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x))


def fit_cnn(X: np.ndarray, y: np.ndarray, epochs: int, seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    model = SmallCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.as_tensor(X[:, None])
    target = torch.as_tensor(y)
    for _ in range(epochs):
        for rows in torch.randperm(len(y)).split(64):
            loss = nn.functional.cross_entropy(model(data[rows]), target[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


@torch.no_grad()
def cnn_predict(model: SmallCNN, X: np.ndarray) -> np.ndarray:
    return model(torch.as_tensor(X[:, None])).argmax(1).numpy()


@torch.no_grad()
def cnn_features(model: SmallCNN, X: np.ndarray) -> np.ndarray:
    return model.features(torch.as_tensor(X[:, None])).double().numpy()


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def run(name: str, X: np.ndarray, y: np.ndarray, lines: list[str]) -> None:
    X_train, X_eval, y_train, y_eval = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    X_cut, y_cut = cut(X_train, y_train, np.random.default_rng(0))
    side = X.shape[1]
    flat = side * side
    counts = {d: int((y_cut == d).sum()) for d in MINORITY}
    print(f"\n{name}: {len(y_train)} training images cut to {len(y_cut)} "
          f"(digits {counts}), {len(y_eval)} evaluation images")

    gan_settings = GAN_SETTINGS[name]
    steps_per_epoch = len(y_cut) // 64
    gan = GANOversampler(
        model="image",
        image_shape=(1, side, side),
        epochs=-(-gan_settings["steps"] // steps_per_epoch),
        batch_size=64,
        embedding_dim=64,
        conv_width=gan_settings["conv_width"],
        learning_rate=1e-3,
        random_state=0,
        device="cpu",
    )
    k = min(5, min(counts.values()) - 1)
    samplers = {
        "none": None,
        "RandomOverSampler": RandomOverSampler(random_state=0),
        "SMOTE": SMOTE(k_neighbors=k, random_state=0),
        "GANOversampler": gan,
    }
    resampled, fit_seconds = {}, {}
    for label, sampler in samplers.items():
        start = time.perf_counter()
        if sampler is None:
            resampled[label] = (X_cut.reshape(-1, flat), y_cut)
        else:
            resampled[label] = sampler.fit_resample(X_cut.reshape(-1, flat), y_cut)
        fit_seconds[label] = time.perf_counter() - start
    gan_seconds = fit_seconds["GANOversampler"]
    print(f"GANOversampler: {gan.n_steps_} steps in {gan_seconds:.0f} s "
          f"({gan.n_steps_ / gan_seconds:.1f} steps/s on one core)")

    lines += [
        f"\n### {name} ({side}x{side}; digits {MINORITY} cut to {counts} training images)\n",
        f"GANOversampler: conv_width={gan_settings['conv_width']}, batch_size=64, "
        f"embedding_dim=64, learning_rate=1e-3, loss='wgan-gp', n_critic=5, {gan.n_steps_} generator steps in "
        f"{gan_seconds:.0f} s ({gan.n_steps_ / gan_seconds:.1f} steps/s, one CPU core); "
        f"CNN: {CNN_EPOCHS[name]} epochs.\n",
        "| over-sampler | classifier | balanced accuracy | recall "
        + " / ".join(map(str, MINORITY)) + " |",
        "| --- | --- | --- | --- |",
    ]
    for label, (X_res, y_res) in resampled.items():
        for clf_name in ("logistic regression", "small CNN"):
            start = time.perf_counter()
            if clf_name == "logistic regression":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf = LogisticRegression(max_iter=200).fit(X_res, y_res)
                predicted = clf.predict(X_eval.reshape(-1, flat))
            else:
                model = fit_cnn(X_res.reshape(-1, side, side).astype(np.float32),
                                y_res, CNN_EPOCHS[name])
                predicted = cnn_predict(model, X_eval)
            score = balanced_accuracy_score(y_eval, predicted)
            recalls = recall_score(y_eval, predicted, labels=list(MINORITY), average=None)
            row = (f"| {label} | {clf_name} | {score:.3f} | "
                   + " / ".join(f"{r:.2f}" for r in recalls) + " |")
            lines.append(row)
            print(row, f"({time.perf_counter() - start:.0f} s)")

    features = fit_cnn(X_train, y_train, CNN_EPOCHS[name], seed=1)
    lines += [
        "",
        "Frechet distance to the evaluation half's images of each digit, in the "
        "64-d feature layer of a small CNN trained on the uncut training half "
        "(lower is closer):\n",
        "| images | " + " | ".join(f"digit {d}" for d in MINORITY) + " |",
        "| --- |" + " --- |" * len(MINORITY),
    ]
    sources = {"real (train)": (X_train.reshape(-1, flat), y_train)}
    for label in ("SMOTE", "GANOversampler"):
        X_res, y_res = resampled[label]
        sources[label] = (X_res[len(y_cut):], y_res[len(y_cut):])
    for label, (X_src, y_src) in sources.items():
        distances = []
        for digit in MINORITY:
            real = cnn_features(features, X_eval[y_eval == digit])
            other = cnn_features(features, X_src[y_src == digit].reshape(-1, side, side)
                                 .astype(np.float32))
            distances.append(frechet(real, other))
        lines.append(f"| {label} | " + " | ".join(f"{d:.1f}" for d in distances) + " |")
    print("\n".join(lines[-len(sources):]))

    RESULTS.mkdir(exist_ok=True)
    plot.sample_grid(gan, classes=list(range(10)), n_per_class=8,
                     X_real=X_train.reshape(-1, flat), y_real=y_train,
                     path=RESULTS / f"images_{name}_grid.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                        help="folder holding mnist/ (default: ../shared/data)")
    args = parser.parse_args()
    start = time.perf_counter()
    lines = ["## Image minority classes: balanced accuracy on the evaluation half"]
    mnist = load_mnist(args.data_dir)
    if mnist is None:
        print(f"MNIST not found under {args.data_dir / 'mnist'}: skipping it.")
    else:
        run("mnist", *mnist, lines)
    run("digits", *load_small_digits(), lines)
    lines.append(f"\nTotal time: {time.perf_counter() - start:.0f} s.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "images.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
