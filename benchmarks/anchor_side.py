"""The anchor's side of ``benchmarks/privacy_anchor.py``: run from the anchor's own venv.

smartnoise-synth pins an old Opacus, so it cannot live in the package's
environment; ``privacy_anchor.py`` builds ``$GAN_AUGMENT_ANCHOR_VENV``
(default ``../anchor-venv``) with ``pip install torch==2.13.0
smartnoise-synth==1.0.8`` and calls this script with that venv's Python.
It imports nothing of gan_augment: files in, files out.

* ``aim TRAIN OUT --epsilon E --delta D --seed S``: AIM (McKenna et al., 2022)
  on TRAIN (a CSV with the column types in a JSON beside it), with the domain
  declared as the issue describes (public bounds cut into 10 bins, the
  category lists of ``adult.names``), sampled with mbi's ``method="sample"``
  (its default ``"round"`` sets sibling columns in lockstep).
* ``pgm MEASUREMENTS OUT --seed S``: Private-PGM (mbi's mirror descent)
  fitted to the noisy marginals that gan-augment's ``dp_method="pairs"``
  measured (an ``.npz`` written by ``privacy_anchor.py``), and cells sampled
  from it; post-processing, no budget.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd


def aim(args) -> None:
    from snsynth.aim import AIMSynthesizer
    from snsynth.transform import BinTransformer, LabelTransformer, TableTransformer

    spec = json.load(open(args.input + ".json"))
    train = pd.read_csv(args.input, dtype={c: str for c in spec["categories"]})
    transformers = []
    for column in train.columns:
        if column in spec["bounds"]:
            low, high = spec["bounds"][column]
            transformers.append(BinTransformer(bins=10, lower=low, upper=high))
        else:
            transformers.append(LabelTransformer(nullable=False))
    transformer = TableTransformer(transformers)
    # The declared domain alone fits the encoders: category lists cycled, and
    # bounds spanned, to the training table's length (no row is read).
    public = pd.DataFrame({
        c: np.linspace(*spec["bounds"][c], len(train)) if c in spec["bounds"]
        else np.resize(np.asarray(spec["categories"][c], dtype=object), len(train))
        for c in train.columns
    })
    transformer.fit(public)
    np.random.seed(args.seed)
    start = time.perf_counter()
    synth = AIMSynthesizer(epsilon=args.epsilon, delta=args.delta)
    synth.fit(train, transformer=transformer, preprocessor_eps=0.0)
    rows = synth.synthesizer.synthetic_data(rows=len(train), method="sample")
    names = ["col" + str(i) for i in range(transformer.output_width)]
    data = [tuple(t[1:]) for t in rows.df[names].itertuples()]
    out = pd.DataFrame(transformer.inverse_transform(data), columns=train.columns)
    out.to_csv(args.output, index=False)
    json.dump({"fit_seconds": time.perf_counter() - start}, open(args.output + ".json", "w"))


def pgm(args) -> None:
    import jax.numpy as jnp
    from mbi import Domain, LinearMeasurement, estimation

    saved = np.load(args.input, allow_pickle=True)
    sizes = [int(s) for s in saved["sizes"]]
    n_classes = int(saved["n_classes"])
    names = ["y"] + [f"c{j}" for j in range(len(sizes))]
    domain = Domain(names, [n_classes] + sizes)
    measurements = []
    for columns, per_class, answer, std in saved["measurements"]:
        clique = (["y"] if per_class else []) + [f"c{j}" for j in columns]
        weight = np.broadcast_to(np.asarray(std, dtype=float), answer.shape).reshape(-1)
        noisy = np.asarray(answer, dtype=float).reshape(-1) / weight

        def query(factor, w=jnp.asarray(weight)):
            return factor.datavector() / w

        measurements.append(LinearMeasurement(jnp.asarray(noisy), tuple(clique), 1.0, query))
    start = time.perf_counter()
    total = float(saved["total"])
    model = estimation.mirror_descent(domain, measurements, known_total=total, iters=2000)
    np.random.seed(args.seed)
    rows = model.synthetic_data(rows=int(round(total)), method="sample").df
    rows[names].to_csv(args.output, index=False)
    json.dump({"fit_seconds": time.perf_counter() - start}, open(args.output + ".json", "w"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["aim", "pgm"])
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--epsilon", type=float, default=1.0)
    parser.add_argument("--delta", type=float, default=1e-5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    (aim if args.what == "aim" else pgm)(args)


if __name__ == "__main__":
    main()
