"""Bit-identity check for refactors: digests of every output kind, per setting.

Run it on two versions of the package (e.g. before and after a redesign) with
the same machine and compare the JSON files::

    python benchmarks/identity.py --import-from /path/to/old/checkout --out old.json --save-models old/
    python benchmarks/identity.py --out new.json --load-models old/
    python benchmarks/identity.py --compare old.json new.json

``--save-models`` writes each fitted model with the version under test;
``--load-models`` loads those files with the version under test and records the
digests of what they sample, so that files written by the old version are
checked to load and sample the same rows. Each setting fits a small model for a
few epochs: ``fit_resample``, ``sample``, ``sample_dataset`` and ``history_`` are
digested (images, DP, early stopping, interpolation, the neighbour filter,
pooled categories and integer-coded categories included).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

SMALL = dict(
    epochs=3, batch_size=50, embedding_dim=8, generator_dims=(16, 16),
    discriminator_dims=(16,), pac=5, max_modes=3, device="cpu",
)


def digest(value) -> str:
    h = hashlib.sha256()
    if isinstance(value, pd.DataFrame):
        h.update(repr([str(d) for d in value.dtypes]).encode())
        h.update(repr(list(value.columns)).encode())
        h.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
    else:
        array = np.asarray(value)
        h.update(f"{array.dtype}{array.shape}".encode())
        if array.dtype == object:
            h.update(repr(array.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def mixed(n=400, seed=0, int_categories=False):
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.15, "rare", "common")
    colour = rng.choice(["red", "green", "blue", "teal", "plum"], n)
    frame = pd.DataFrame({
        "x": rng.normal(size=n) + (y == "rare") * 2,
        "count": rng.poisson(3, n).astype(np.int64),
        "colour": pd.Categorical(colour),
        "shape": rng.choice(["a", "b", "c"], n).astype(object),
        "flag": rng.random(n) < 0.3,
    })
    if int_categories:
        frame["grade"] = rng.integers(1, 13, n).astype(object)
    return frame, y


def settings():
    from sklearn.datasets import load_digits, make_classification

    X_num, y_num = make_classification(
        n_samples=300, n_features=6, weights=[0.85], random_state=0
    )
    frame, y_frame = mixed()
    frame_int, y_int = mixed(int_categories=True)
    all_cat = frame[["colour", "shape", "flag"]]
    multi = frame.assign(
        many=np.random.default_rng(1).choice(list("abcdefghij"), len(frame)).astype(object)
    )
    y_multi = np.random.default_rng(2).choice([0, 1, 2], len(frame), p=[0.7, 0.2, 0.1])
    digits = load_digits()
    keep = np.isin(digits.target, [0, 1, 2])
    images = digits.images[keep][:300].astype(np.float64)
    y_images = digits.target[keep][:300]
    private_X, private_y = mixed(1500, seed=3)
    domain = {"x": (-5.0, 7.0), "count": (0, 15)}
    return {
        "numeric-default": (X_num, y_num, {}),
        "numeric-gan-only": (X_num, y_num, {"interpolation": 0.0}),
        "mixed-default": (frame, y_frame, {}),
        "mixed-gan-only": (frame, y_frame, {"interpolation": 0.0}),
        "mixed-smote-only": (frame, y_frame, {"interpolation": 1.0}),
        "mixed-filter": (frame, y_frame, {"interpolation": 0.0, "synthetic_filter": "neighbours"}),
        "mixed-filter-mix": (frame, y_frame, {"synthetic_filter": "neighbours"}),
        "mixed-early-stopping": (frame, y_frame, {"early_stopping": True, "epochs": 8,
                                                  "interpolation": 0.0}),
        "all-categorical": (all_cat, y_frame, {}),
        "multiclass-pooled": (multi, y_multi, {"max_categories": 3}),
        "int-categories": (frame_int, y_int, {}),
        "int-categories-gan-only": (frame_int, y_int, {"interpolation": 0.0}),
        "minimax-ncritic2": (frame, y_frame, {"loss": "minimax", "n_critic": 2,
                                              "interpolation": 0.0}),
        "private": (private_X, private_y, {"dp_epsilon": 2.0, "dp_domain": domain,
                                            "epochs": 2, "pac": "auto", "batch_size": 100}),
        "private-int-categories": (
            mixed(1500, seed=3, int_categories=True)[0], private_y,
            {"dp_epsilon": 20.0, "dp_domain": domain, "epochs": 2, "pac": "auto",
             "batch_size": 100},
        ),
        "images": (images, y_images, {"epochs": 2, "batch_size": 32, "embedding_dim": 16,
                                      "conv_width": 8, "pac": "auto", "max_modes": 10,
                                      "generator_dims": (256, 256)}),
    }


def run(save_models: Path | None, load_models: Path | None) -> dict:
    import gan_augment

    print("testing", gan_augment.__file__, flush=True)
    out = {"cpu": torch.backends.cpu.get_cpu_capability(), "settings": {}}
    for name, (X, y, extra) in settings().items():
        params = {**SMALL, **extra, "random_state": 0}
        record = {}
        try:
            record.update(_run_one(name, X, y, params, save_models, load_models))
        except Exception as exc:  # an error is an output too: compare its message
            record["error"] = f"{type(exc).__name__}: {exc}"
        out["settings"][name] = record
        print(name, record, flush=True)
    return out


def _run_one(name, X, y, params, save_models, load_models) -> dict:
    from gan_augment import GANOversampler

    record = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_before = X.copy()
        sampler = GANOversampler(**params)
        X_res, y_res = sampler.fit_resample(X, y)
        record["X_res"], record["y_res"] = digest(X_res), digest(y_res)
        record["history"] = digest(sampler.history_.to_numpy())
        labels, counts = np.unique(np.asarray(y), return_counts=True)
        label = labels[np.argmin(counts)]
        record["sample"] = digest(sampler.sample(25, y=label))
        X_syn, y_syn = sampler.sample_dataset(60)
        record["dataset"] = digest(X_syn) + digest(y_syn)
        record["unaltered"] = (
            X.equals(X_before) if isinstance(X, pd.DataFrame)
            else bool(np.array_equal(X, X_before))
        )
        refit = GANOversampler(**params).fit(X, y)
        record["fit-sample"] = digest(refit.sample(25, y=label))
        if getattr(sampler, "dp_epsilon_spent_", None) is not None:
            record["dp"] = [sampler.dp_epsilon_spent_, sampler.dp_noise_multiplier_,
                            sampler.dp_history_]
        if save_models is not None:
            save_models.mkdir(parents=True, exist_ok=True)
            sampler.save(save_models / f"{name}.gan")
        if load_models is not None and (load_models / f"{name}.gan").exists():
            loaded = GANOversampler.load(load_models / f"{name}.gan", device="cpu")
            record["loaded-sample"] = digest(loaded.sample(25, y=label))
            X_l, y_l = loaded.sample_dataset(60)
            record["loaded-dataset"] = digest(X_l) + digest(y_l)
    return record


def compare(old_path: str, new_path: str) -> int:
    old = json.loads(Path(old_path).read_text())["settings"]
    new = json.loads(Path(new_path).read_text())["settings"]
    differ = 0
    for name, record in old.items():
        for key, value in record.items():
            other = new.get(name, {}).get(key)
            same = other == value
            differ += not same
            print(f"{'same  ' if same else 'DIFFER'} {name:26s} {key}")
        for key in ("loaded-sample", "loaded-dataset"):
            if key in new.get(name, {}):
                target = "sample" if key == "loaded-sample" else "dataset"
                same = new[name][key] == record[target]
                differ += not same
                print(f"{'same  ' if same else 'DIFFER'} {name:26s} {key} (0.1 file) vs old {target}")
    print(f"{differ} differences")
    return int(differ > 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out")
    parser.add_argument("--save-models", type=Path)
    parser.add_argument("--load-models", type=Path)
    parser.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"))
    parser.add_argument(
        "--import-from", type=Path,
        help="a checkout whose gan_augment to test instead of the installed one",
    )
    args = parser.parse_args()
    if args.import_from:
        # An editable install's finder would win over sys.path: drop it.
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
        sys.path.insert(0, str(args.import_from.resolve()))
    if args.compare:
        return compare(*args.compare)
    torch.set_num_threads(1)
    result = run(args.save_models, args.load_models)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
