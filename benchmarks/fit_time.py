"""Wall time of ``fit_resample`` with default settings on real data sets.

Run: ``python benchmarks/fit_time.py`` (Adult needs ``../shared/data`` or
``$GAN_AUGMENT_DATA``). Prints a markdown table.
"""

from __future__ import annotations

import platform
import time
from collections import Counter

import torch
from sklearn.datasets import load_breast_cancer

from gan_augment import GANOversampler
from datasets import load_adult


def main() -> None:
    sets = {"breast_cancer": load_breast_cancer(return_X_y=True, as_frame=True)}
    try:
        sets["adult (train)"] = load_adult("train")
    except FileNotFoundError as exc:
        print(f"skipping Adult: {exc}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print("| data set | rows | columns (cat) | rows generated | steps | epochs | seconds |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, (X, y) in sets.items():
        sampler = GANOversampler(random_state=0)
        start = time.perf_counter()
        X_res, y_res = sampler.fit_resample(X, y)
        seconds = time.perf_counter() - start
        n_cat = len(sampler.categorical_features_)
        print(
            f"| {name} | {len(X):,} | {X.shape[1]} ({n_cat}) | {len(X_res) - len(X):,} "
            f"| {sampler.n_steps_:,} | {sampler.n_epochs_} | {seconds:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
