"""Images: over-sample rare digits with GANOversampler's image defaults inside a Pipeline.

scikit-learn's 8x8 digits (1,797 images) are split stratified 50/50; in the
training half the digits 3, 5 and 8 are cut to 5 images each. A logistic
regression on the pixels is trained without over-sampling, with random
over-sampling, with SMOTE and with GANOversampler (flat rows plus ``image_shape=(1, 8, 8)``, so it sits in
an imblearn Pipeline), and scored on the untouched half by balanced accuracy.
A logistic regression trained on all real training digits then says how many
generated digits it recognises as the digit they were generated for.

Run it with ``python examples/images.py`` (about 10 seconds on 2 cores).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import make_pipeline
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split

from gan_augment import GANOversampler
from gan_augment.exceptions import SmallClassWarning

RARE = (3, 5, 8)


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    rng = np.random.default_rng(0)
    keep = np.ones(len(y_train), dtype=bool)
    for digit in RARE:
        keep[rng.permutation(np.flatnonzero(y_train == digit))[5:]] = False
    X_cut, y_cut = X_train[keep], y_train[keep]
    print(f"digits: {len(y_cut)} training images, 5 each of {RARE}")

    # The image defaults (docs/images.md): 500 steps of 32 images here,
    # a few seconds.
    gan = GANOversampler(image_shape=(1, 8, 8), random_state=0)
    print(f"{'over-sampler':<18}{'balanced accuracy':>18}{'fit seconds':>13}")
    for name, sampler in [
        ("none", None),
        ("RandomOverSampler", RandomOverSampler(random_state=0)),
        ("SMOTE", SMOTE(k_neighbors=4, random_state=0)),
        ("GANOversampler", gan),
    ]:
        model = make_pipeline(*([sampler] if sampler else []), LogisticRegression(max_iter=500))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (ConvergenceWarning, SmallClassWarning))
            model.fit(X_cut, y_cut)
        seconds = time.perf_counter() - start
        score = balanced_accuracy_score(y_test, model.predict(X_test))
        print(f"{name:<18}{score:>18.3f}{seconds:>13.1f}")

    recogniser = LogisticRegression(max_iter=1000).fit(X_train, y_train)
    recognised = np.mean([
        (recogniser.predict(gan.sample(100, y=digit)) == digit).mean() for digit in RARE
    ])
    print(f"generated rare digits recognised as their digit: {recognised:.2f}")


if __name__ == "__main__":
    main()
