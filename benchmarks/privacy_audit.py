"""The canary audit of differentially private training: an empirical lower bound on epsilon.

Run: ``python benchmarks/privacy_audit.py [--trials 200] [--settings none 1 4] [--out benchmarks/results]``
(Opacus is needed for the DP settings; one thread per process is best:
``OMP_NUM_THREADS=1``).

A small synthetic table (300 rows: three numeric columns, one categorical
column, two classes 70/30) and one out-of-distribution canary row (every
numeric value at 8, about 8 standard deviations out; category "a"; the
minority class) are played through
:func:`gan_augment.privacy.audit.canary_audit`: reference fits without the
canary, then trials alternately with and without it, each scored from the
synthetic rows and the fitted model. Under DP every column's domain is
declared (bounds of (-10, 10), wide enough for the canary, and the category
list) and so is ``dp_delta``, so the audit tests DP-SGD and the released
counts, not the bounds. Without DP the same game shows the attacks' power.

Each fit's record is appended to ``<out>/privacy_audit_<setting>.csv`` (its
scores and, as JSON, the model features the learned scores need), so an
interrupted run resumes where it stopped (``--fresh`` starts over);
``privacy_audit.md`` gets the table. The script uses only the estimator's
public API of version 19ab57c on, so it audits older code too: with
``PYTHONPATH=<old checkout>``, ``gan_augment`` comes from there and the audit
module, when that package lacks it, from ``--audit-module``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import gan_augment
from gan_augment import GANOversampler

N_ROWS = 300
NUMERIC = ["x1", "x2", "x3"]
CATEGORIES = ["a", "b", "c"]
CANARY_VALUE = 8.0
BOUND = 10.0
DELTA = 1e-4
HERE = Path(__file__).resolve().parent


def load_audit(path: Path):
    """The package's audit module, or (older packages) the one at ``path``."""
    try:
        from gan_augment.privacy import audit
    except ImportError:
        spec = importlib.util.spec_from_file_location("privacy_audit_module", path)
        audit = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = audit  # dataclasses look their module up
        spec.loader.exec_module(audit)
    return audit


def table(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, int]:
    """The rows, their labels, the canary and its class."""
    rng = np.random.default_rng(seed)
    y = (rng.random(N_ROWS) < 0.3).astype(int)
    X = pd.DataFrame({
        "x1": rng.normal(y, 1.0),
        "x2": rng.normal(-y, 1.0),
        "x3": rng.normal(0.0, 1.0, N_ROWS),
        "c": pd.Categorical(rng.choice(CATEGORIES, N_ROWS), categories=CATEGORIES),
    })
    canary = pd.DataFrame({**{c: [CANARY_VALUE] for c in NUMERIC}, "c": ["a"]})
    return X, y, canary.astype(X.dtypes.to_dict()), 1


def estimator(setting: str, epochs: int, dp_method: str | None = None):
    """``seed -> GANOversampler`` for a setting: "none" or an epsilon (and,
    when given, its ``dp_method``; packages before it have none)."""
    common = dict(
        epochs=epochs, batch_size=50, embedding_dim=16, generator_dims=(32, 32),
        discriminator_dims=(32, 32), device="cpu", n_jobs=1,
    )
    if setting != "none":
        common.update(
            dp_epsilon=float(setting), dp_delta=DELTA,
            dp_domain={**{c: (-BOUND, BOUND) for c in NUMERIC}, "c": list(CATEGORIES)},
        )
        if dp_method is not None:
            common["dp_method"] = dp_method

    def make(seed: int) -> GANOversampler:
        return GANOversampler(**common, random_state=seed)

    return make


class Record:
    """Each fit's record, one CSV row, appended as it comes (resumable)."""

    fields = ["fit", "seed", "role", "epsilon_reported", "delta_reported", "fit_seconds",
              "scores", "features"]

    def __init__(self, path: Path, config: dict, fresh: bool) -> None:
        self.path = path
        meta = path.with_suffix(".json")
        if fresh:
            path.unlink(missing_ok=True)
        if path.exists() and meta.exists() and json.loads(meta.read_text()) != config:
            raise SystemExit(f"{path} was written with other settings ({meta}); use --fresh.")
        meta.write_text(json.dumps(config, indent=1))

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.path.open(newline="") as handle:
            return [self._parse(row) for row in csv.DictReader(handle)]

    @staticmethod
    def _parse(row: dict) -> dict:
        def number(text: str):
            return None if text == "" else float(text)

        return {
            "fit": int(row["fit"]), "seed": int(row["seed"]), "role": row["role"],
            "epsilon_reported": number(row["epsilon_reported"]),
            "delta_reported": number(row["delta_reported"]),
            "fit_seconds": float(row["fit_seconds"]),
            **json.loads(row["scores"]), "features": json.loads(row["features"]),
        }

    def append(self, record: dict) -> None:
        new = not self.path.exists()
        scores = {k: v for k, v in record.items() if k not in self.fields}
        row = {k: record[k] for k in self.fields[:6]}
        row.update(scores=json.dumps(scores), features=json.dumps(record["features"]))
        with self.path.open("a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.fields)
            if new:
                writer.writeheader()
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def run(setting: str, args, audit) -> dict:
    X, y, canary, canary_y = table()
    config = {"setting": setting, "epochs": args.epochs, "rows": N_ROWS, "reference": args.reference,
              "synthetic": args.synthetic, "seed": args.seed, "dp_method": args.dp_method}
    suffix = "" if args.dp_method is None or setting == "none" else f"_{args.dp_method}"
    record = Record(args.out / f"privacy_audit_{setting}{suffix}.csv", config, args.fresh)
    done = record.read()
    start, before = time.perf_counter(), len(done)
    total = args.reference + args.trials

    def saved(entry: dict) -> None:
        record.append(entry)
        count = entry["fit"] + 1
        if count % 10 == 0 or count == total:
            rate = (time.perf_counter() - start) / max(1, count - before)
            print(f"{setting}: fit {count}/{total}, {rate:.2f} s a fit", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = audit.canary_audit(
            estimator(setting, args.epochs, args.dp_method), X, y, canary, canary_y, args.trials,
            confidence=args.confidence, random_state=args.seed, n_reference=args.reference,
            n_synthetic=args.synthetic, done=done, on_trial=saved,
        )
    row = {
        "setting": "no DP" if setting == "none" else f"dp_epsilon={setting}{suffix.replace('_', ', ')}",
        "epsilon reported": result.epsilon_reported,
        "delta": result.delta,
        "trials (in/out)": f"{result.trials['role'].eq('in').sum()}/{result.trials['role'].eq('out').sum()}",
        "reference fits": int(result.trials["role"].eq("reference").sum()),
        "s per fit": round(float(result.trials["fit_seconds"].mean()), 2),
    }
    for name, bound in result.bounds.items():
        row[name] = (f"{bound.epsilon:.2f} ({bound.k_in}/{bound.n_in} vs {bound.k_out}/{bound.n_out})"
                     if bound.epsilon > 0 else "0")
    row["epsilon lower bound"] = (
        f"{result.epsilon_lower:.2f} ({result.best_score})" if result.epsilon_lower > 0 else "0"
    )
    row["confidence"] = result.confidence
    print(json.dumps(row, default=str), flush=True)
    return row


def markdown(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            return f"{value:.3g}"
        return str(value)

    lines = ["| | " + " | ".join(map(str, frame.columns)) + " |",
             "|" + " --- |" * (len(frame.columns) + 1)]
    lines += [f"| {name} | " + " | ".join(cell(v) for v in row) + " |" for name, row in frame.iterrows()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200, help="trials counted in the bound, per setting")
    parser.add_argument("--reference", type=int, default=20, help="reference fits per setting")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--synthetic", type=int, default=1000, help="synthetic rows per trial")
    parser.add_argument("--settings", nargs="+", default=["none", "1", "4"],
                        help="'none' (no DP) or dp_epsilon values")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--dp-method", choices=["pairs", "dp-sgd", "marginals"], default=None,
                        help="dp_method of the DP settings (default: the estimator's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first fit")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--fresh", action="store_true", help="discard earlier records")
    parser.add_argument("--audit-module", type=Path,
                        default=HERE.parent / "gan_augment" / "privacy" / "audit.py",
                        help="the audit module, for packages without one")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    audit = load_audit(args.audit_module)
    print(f"gan_augment from {gan_augment.__file__}; audit from {audit.__file__}", flush=True)
    rows = [run(setting, args, audit) for setting in args.settings]
    frame = pd.DataFrame(rows).set_index("setting")
    n_scores = len(audit.ROW_SCORES) + len(audit.MODEL_FEATURES)
    text = (
        f"Canary audit: {N_ROWS} rows + 1 canary (numeric columns at {CANARY_VALUE:g}, "
        f"minority class), {args.epochs} epochs a fit, {args.synthetic} synthetic rows a trial. "
        f"Each score's bound holds at 1 - {1 - args.confidence:.2g}/{n_scores}, the largest at "
        f"{args.confidence}; cells: bound (trials in at or above the threshold / trials in, "
        f"vs the same out).\n\n"
        f"gan_augment {gan_augment.__file__}; torch {torch.__version__} "
        f"({torch.backends.cpu.get_cpu_capability()}), 1 thread, {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.processor() or platform.platform()}\n\n"
        + markdown(frame.T)
    )
    (args.out / "privacy_audit.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
