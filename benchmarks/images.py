"""Image minority classes: GANOversampler's generators against SMOTE and random over-sampling.

Tasks (each seed draws its own split, cut and model seeds):

* ``mnist``: MNIST's t10k set (10,000 28x28 digits, ``--data-dir``/mnist),
  split stratified 50/50 into a training and an evaluation half; in the
  training half the digits 3, 5 and 8 are cut to 1 % of their rows (5 each);
* ``mnist-binary``: digit 5 against digit 3 from the same halves, the 5s of the
  training half cut to 60 images (about 500 3s);
* ``digits``: scikit-learn's ``load_digits`` (1,797 8x8 digits), split and cut
  as ``mnist`` (2 images each of 3, 5 and 8).

Over-samplers: none, RandomOverSampler, SMOTE (``k_neighbors`` at most the
smallest cut class minus one), and each variant of :data:`VARIANTS`
(``latent-transfer-2-batch-32`` is ``GANOversampler()``'s image defaults; ``--samplers
default`` runs the defaults under that name). Two classifiers are trained on each balanced
training half: a logistic regression on the pixels and a small CNN. Scores on
the untouched evaluation half: balanced accuracy and the mean recall of the cut
classes. Fidelity: the Frechet distance, averaged over the cut classes, between
the features of the evaluation half's real images of a class and of the images
an over-sampler added, in the 64-d penultimate layer of a small CNN trained on
the *uncut* training half (no downloaded Inception weights, so the values are
not comparable with published FIDs); ``real (train)`` is the uncut training
half's own class, the floor to read the others against.

Every (task, seed, over-sampler) is one row per classifier in
``--out``/images_folds.csv; a rerun skips the rows already there (``--fresh``
starts again), so the benchmark can be stopped and resumed. The summary
(mean and standard deviation over seeds) goes to ``--out``/images.md, and
sample grids of the cut classes (seed 0) to ``--out``/grid_<task>_<sampler>.png.
Run from the repository root, one process per task to use several cores::

    OMP_NUM_THREADS=1 python benchmarks/images.py --tasks mnist-binary --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
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
from gan_augment.options import IMAGE, resolve

RESULTS = Path(__file__).resolve().parent / "results"
MINORITY = (3, 5, 8)
BINARY = {"rare": 5, "common": 3, "rare_images": 60}
CNN_EPOCHS = {"mnist": 4, "mnist-binary": 10, "digits": 20}
COLUMNS = ["task", "seed", "sampler", "classifier", "balanced_accuracy", "rare_recall",
           "frechet", "fit_seconds", "n_steps", "cpu"]

#: The adversarial variants' common settings: version 0.1's conditional DCGAN
#: (WGAN-GP, 5 critic steps), made small enough for 3 seeds of 2 MNIST tasks on
#: 2 cores; ``steps`` (generator steps) is turned into ``epochs`` per task.
ADVERSARIAL = dict(generator="conditional", augment=None, loss="wgan-gp", n_critic=5,
                   conv_width=16, batch_size=32, learning_rate=1e-3, steps=300)
#: The generators compared, as GANOversampler parameters on top of the defaults.
VARIANTS: dict[str, dict] = {
    "gan": dict(ADVERSARIAL),
    "gan-augment-0.5": dict(ADVERSARIAL, augment="translation,cutout,colour",
                            augment_strength=0.5),
    "gan-augment-adaptive": dict(ADVERSARIAL, augment="translation,cutout,colour",
                                 augment_strength="adaptive"),
    # DiffAugment's recipe for few images: translation and cutout on every image.
    "gan-augment-tc": dict(ADVERSARIAL, augment="translation,cutout", augment_strength=1.0),
    "gan-pretrain": dict(ADVERSARIAL, pretrain="autoencoder"),
    "gan-batchnorm": dict(ADVERSARIAL, image_conditioning="batchnorm"),
    # The latent variants before latent_transfer ran with batches of 64.
    "latent": dict(generator="latent", latent_residual=False, latent_transfer=0, batch_size=64),
    "latent-residual": dict(generator="latent", latent_residual=True, latent_transfer=0,
                            batch_size=64),
    # Codes moved along other images' neighbour differences (any class).
    **{
        f"latent-transfer-{s}": dict(generator="latent", latent_transfer=float(s), batch_size=64)
        for s in (1, 2, 3, 4)
    },
    "latent-transfer-3-batch-32": dict(generator="latent", latent_transfer=3.0, batch_size=32),
    "latent-transfer-4-batch-32": dict(generator="latent", latent_transfer=4.0, batch_size=32),
    # The image defaults: latent generation, residuals, transfer 2, batches of 32.
    "latent-transfer-2-batch-32": dict(generator="latent", latent_transfer=2.0, batch_size=32),
    # Item 4's sweep: the batch, and the budget ("budget" multiplies the steps
    # that epochs="auto" gives).
    "latent-transfer-2-batch-128": dict(generator="latent", latent_transfer=2.0, batch_size=128),
    "latent-transfer-2-budget-0.5": dict(generator="latent", latent_transfer=2.0, batch_size=64,
                                         budget=0.5),
    "latent-transfer-2-budget-2": dict(generator="latent", latent_transfer=2.0, batch_size=64,
                                       budget=2.0),
}


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


def make_task(task: str, data: tuple[np.ndarray, np.ndarray], seed: int):
    """``(X_train, y_train, X_cut, y_cut, X_eval, y_eval, rare)`` for one seed."""
    X, y = data
    X_train, X_eval, y_train, y_eval = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=seed
    )
    rng = np.random.default_rng(seed)
    if task == "mnist-binary":
        pair = [BINARY["rare"], BINARY["common"]]
        train, held = np.isin(y_train, pair), np.isin(y_eval, pair)
        X_train, y_train, X_eval, y_eval = X_train[train], y_train[train], X_eval[held], y_eval[held]
        cut = {BINARY["rare"]: BINARY["rare_images"]}
    else:
        cut = {d: max(2, int(0.01 * (y_train == d).sum())) for d in MINORITY}
    keep = np.ones(len(y_train), dtype=bool)
    for digit, n in cut.items():
        rows = np.flatnonzero(y_train == digit)
        keep[rng.permutation(rows)[n:]] = False
    return X_train, y_train, X_train[keep], y_train[keep], X_eval, y_eval, tuple(cut)


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


def fit_cnn(X: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> SmallCNN:
    torch.manual_seed(seed)
    model = SmallCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    data, target = torch.as_tensor(X[:, None]), torch.as_tensor(y)
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
    with warnings.catch_warnings():
        # A class of a few images has a singular covariance; the distance stands.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def gan(params: dict, seed: int, n_rows: int, side: int) -> GANOversampler:
    params = dict(params)
    steps = params.pop("steps", None)
    budget = params.pop("budget", None)
    if budget is not None:
        defaults = GANOversampler(image_shape=(side, side), **params).get_params()
        epochs, per_epoch = resolve(defaults, IMAGE, n_rows=n_rows).budget(n_rows)
        steps = round(budget * epochs * per_epoch)
    if steps is not None:
        per_epoch = max(1, n_rows // params.get("batch_size", 64))
        params["epochs"] = -(-steps // per_epoch)
    # Flat rows, as in an imblearn Pipeline: image_shape says they are images.
    return GANOversampler(random_state=seed, image_shape=(side, side), **params)


def samplers(names: list[str], seed: int, k: int, n_rows: int, side: int) -> dict:
    fixed = {
        "none": None,
        "RandomOverSampler": RandomOverSampler(random_state=seed),
        "SMOTE": SMOTE(k_neighbors=k, random_state=seed),
    }
    return {
        name: fixed[name] if name in fixed else gan(
            {} if name == "default" else VARIANTS[name], seed, n_rows, side
        )
        for name in names
    }


def done_keys(path: Path) -> set:
    if not path.exists():
        return set()
    with path.open() as handle:
        return {(r["task"], int(r["seed"]), r["sampler"]) for r in csv.DictReader(handle)}


def run_cell(task, data, seed, names, path, out):
    X_train, y_train, X_cut, y_cut, X_eval, y_eval, rare = make_task(task, data, seed)
    side = X_cut.shape[1]
    flat = side * side
    k = min(5, min(int((y_cut == d).sum()) for d in rare) - 1)
    todo = [n for n in names if (task, seed, n) not in done_keys(path)]
    if not todo:
        return
    print(f"{task} seed {seed}: {len(y_cut)} training images "
          f"({ {d: int((y_cut == d).sum()) for d in rare} }), {len(y_eval)} evaluation", flush=True)
    labels = np.unique(y_train)
    code = {c: i for i, c in enumerate(labels)}
    features = fit_cnn(X_train, np.vectorize(code.get)(y_train), CNN_EPOCHS[task], seed + 1000)
    real_features = {d: cnn_features(features, X_eval[y_eval == d]) for d in rare}
    cpu = torch.backends.cpu.get_cpu_capability()
    for name, sampler in samplers(todo, seed, k, len(y_cut), side).items():
        start = time.perf_counter()
        if sampler is None:
            X_res, y_res = X_cut.reshape(-1, flat), y_cut
        else:
            X_res, y_res = sampler.fit_resample(X_cut.reshape(-1, flat), y_cut)
        seconds = time.perf_counter() - start
        added_X, added_y = X_res[len(y_cut):], y_res[len(y_cut):]
        distances = [
            frechet(real_features[d], cnn_features(
                features, added_X[added_y == d].reshape(-1, side, side).astype(np.float32)))
            for d in rare if (added_y == d).sum() > 1
        ]
        fd = float(np.mean(distances)) if distances else float("nan")
        rows = []
        for clf_name in ("logistic regression", "small CNN"):
            if clf_name == "logistic regression":
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    clf = LogisticRegression(max_iter=200).fit(X_res, y_res)
                predicted = clf.predict(X_eval.reshape(-1, flat))
            else:
                model = fit_cnn(X_res.reshape(-1, side, side).astype(np.float32),
                                np.vectorize(code.get)(y_res), CNN_EPOCHS[task], seed)
                predicted = labels[cnn_predict(model, X_eval)]
            recall = recall_score(y_eval, predicted, labels=list(rare), average=None).mean()
            rows.append(dict(
                task=task, seed=seed, sampler=name, classifier=clf_name,
                balanced_accuracy=balanced_accuracy_score(y_eval, predicted),
                rare_recall=recall, frechet=fd, fit_seconds=seconds,
                n_steps=getattr(sampler, "n_steps_", 0), cpu=cpu,
            ))
        new = not path.exists()
        with path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            if new:
                writer.writeheader()
            writer.writerows(rows)
        print(f"  {name}: {seconds:.0f} s fit, " + ", ".join(
            f"{r['classifier']} {r['balanced_accuracy']:.3f}" for r in rows
        ) + f", FD {fd:.1f}", flush=True)
        if seed == 0 and isinstance(sampler, GANOversampler):
            shown = sorted(set(rare) | set(labels[:3].tolist()))
            plot.sample_grid(sampler, classes=shown, n_per_class=8,
                             X_real=X_cut.reshape(-1, flat), y_real=y_cut,
                             path=out / f"grid_{task}_{name}.png")
    if (task, seed, "real (train)") not in done_keys(path):
        distances = [frechet(real_features[d], cnn_features(features, X_train[y_train == d]))
                     for d in rare]
        with path.open("a", newline="") as handle:
            csv.DictWriter(handle, COLUMNS).writerow(dict(
                task=task, seed=seed, sampler="real (train)", classifier="-",
                balanced_accuracy="", rare_recall="", frechet=float(np.mean(distances)),
                fit_seconds=0, n_steps=0, cpu=cpu))


def summary(path: Path) -> str:
    import pandas as pd

    frame = pd.read_csv(path)
    lines = [f"CPU: {', '.join(sorted(frame['cpu'].astype(str).unique()))}; "
             f"seeds per cell: {frame.groupby(['task', 'sampler', 'classifier']).size().max()}.\n"]
    for task, part in frame.groupby("task", sort=False):
        scored = part[part["classifier"] != "-"]
        table = scored.groupby(["sampler", "classifier"], sort=False).agg(
            bacc=("balanced_accuracy", "mean"), bacc_sd=("balanced_accuracy", "std"),
            recall=("rare_recall", "mean"), fd=("frechet", "mean"),
            seconds=("fit_seconds", "mean"), n=("seed", "size"),
        ).reset_index()
        lines += [f"\n### {task}\n",
                  "| over-sampler | logistic regression | small CNN | rare recall (LR / CNN) "
                  "| Frechet | fit s | seeds |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for sampler, rows in table.groupby("sampler", sort=False):
            lr = rows[rows.classifier == "logistic regression"].iloc[0]
            cnn = rows[rows.classifier == "small CNN"].iloc[0]
            lines.append(
                f"| {sampler} | {lr.bacc:.3f} ({lr.bacc_sd:.3f}) | {cnn.bacc:.3f} "
                f"({cnn.bacc_sd:.3f}) | {lr.recall:.2f} / {cnn.recall:.2f} | {lr.fd:.1f} | "
                f"{lr.seconds:.0f} | {int(lr.n)} |"
            )
        floor = part[part["sampler"] == "real (train)"]["frechet"]
        if len(floor):
            lines.append(f"| real (train) | | | | {floor.mean():.1f} | | {len(floor)} |")
    lines += overall(frame[frame["classifier"] != "-"])
    return "\n".join(lines) + "\n"


def overall(frame) -> list[str]:
    """Each over-sampler across the cells (task x classifier): its mean balanced
    accuracy, and in how many cells its mean beats both RandomOverSampler's and
    SMOTE's."""
    means = frame.groupby(["task", "classifier", "sampler"])["balanced_accuracy"].mean()
    cells = means.unstack("sampler")
    if not {"RandomOverSampler", "SMOTE"} <= set(cells.columns):
        return []
    best_baseline = cells[["RandomOverSampler", "SMOTE"]].max(axis=1)
    lines = ["\n### All cells\n",
             f"Mean balanced accuracy over the {len(cells)} cells (task x classifier), "
             "and the cells where the over-sampler's mean beats both RandomOverSampler's "
             "and SMOTE's:\n",
             "| over-sampler | mean balanced accuracy | cells won | cells |",
             "| --- | --- | --- | --- |"]
    for sampler in cells.mean().sort_values(ascending=False).index:
        column = cells[sampler]
        won = int((column > best_baseline)[column.notna()].sum())
        lines.append(f"| {sampler} | {column.mean():.3f} | {won} | {int(column.notna().sum())} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"),
                        help="folder holding mnist/ (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--tasks", nargs="+", default=["mnist", "mnist-binary", "digits"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="+",
                        default=["none", "RandomOverSampler", "SMOTE", *VARIANTS])
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="an extra GANOversampler variant, e.g. 'fast={\"epochs\": 5}'")
    parser.add_argument("--fresh", action="store_true", help="discard earlier rows")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args()
    for spec in args.variant:
        name, _, params = spec.partition("=")
        VARIANTS[name] = json.loads(params)
        args.samplers.append(name)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "images_folds.csv"
    if args.fresh and path.exists():
        path.unlink()
    if not args.summary_only:
        mnist = load_mnist(args.data_dir)
        for task in args.tasks:
            if task.startswith("mnist") and mnist is None:
                print(f"MNIST not found under {args.data_dir / 'mnist'}: skipping {task}.")
                continue
            data = load_small_digits() if task == "digits" else mnist
            for seed in args.seeds:
                run_cell(task, data, seed, args.samplers, path, args.out)
    text = "## Image minority classes: balanced accuracy on the evaluation half\n\n" + summary(path)
    (args.out / "images.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
