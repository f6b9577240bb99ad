"""One data-parallel fit, run by torchrun in tests/test_distributed.py.

Usage: torchrun --standalone --nproc-per-node=2 distributed_fit.py OUT_DIR {fit,resume,mismatch}

``fit``: each rank writes OUT_DIR/rank{RANK}.npz (the generator's weights,
flattened, the history, rows it generated and the rows of fit_resample) and
saves the model to OUT_DIR/model.gan. ``mismatch``: each rank fits with input
that differs on rank 1 (columns, parameters, rows) and writes what fit raised
to OUT_DIR/{case}.rank{RANK}.txt. ``resume``: each rank writes
OUT_DIR/rank{RANK}.resume.npz, the weights of an uninterrupted fit and of one
resumed from its checkpoint. An unexpected error goes to rank{RANK}.err.
"""

import os
import sys
import traceback

import numpy as np
import torch

from gan_augment import GANOversampler


def table():
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.25).astype(int)
    X = np.column_stack([
        rng.normal(2.0 * y, 1.0),
        rng.normal(-1.0 + y, 0.5),
        rng.exponential(1.0 + y),
    ])
    return X, y


# Early stopping that never stops within the epochs: the validation score is
# taken (and broadcast from rank 0) every epoch, and the best generator kept.
PARAMS = dict(
    epochs=25, batch_size=100, pac=10, random_state=0, interpolation=0.0,
    early_stopping=True, n_iter_no_change=100,
)


def fit(out, rank, X, y, params):
    sampler = GANOversampler(**params)
    X_res, _ = sampler.fit_resample(X, y)
    weights = [t.detach().flatten().float() for t in sampler.generator_.state_dict().values()]
    np.savez(
        os.path.join(out, f"rank{rank}.npz"),
        weights=torch.cat(weights).numpy(),
        history=sampler.history_.to_numpy(),
        sample=sampler.sample(400, y=1),
        X_res=X_res,
    )
    sampler.save(os.path.join(out, "model.gan"))


def mismatch(out, rank, X, y):
    """Each way of giving the ranks different input, one after the other."""
    for case in ("columns", "parameters", "rows"):
        X_case, params = X, dict(PARAMS, epochs=1)
        if rank == 1 and case == "columns":
            X_case = X[:, :2]
        if rank == 1 and case == "parameters":
            params["learning_rate"] = 1e-3
        if rank == 1 and case == "rows":
            X_case = X.copy()
            X_case[0, 0] += 1.0
        try:
            GANOversampler(**params).fit(X_case, y)
            message = "no error"
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
        with open(os.path.join(out, f"{case}.rank{rank}.txt"), "w") as handle:
            handle.write(message)


def resume(out, rank, X, y):
    """An uninterrupted fit, and one stopped at half and resumed from its checkpoint."""
    params = dict(PARAMS, epochs=8, early_stopping=False, checkpoint_every=2)
    weights = {}
    for name, runs in (("whole", [8]), ("resumed", [4, 8])):
        for epochs in runs:
            sampler = GANOversampler(
                **dict(params, epochs=epochs), checkpoint_dir=os.path.join(out, name),
                resume=True,
            ).fit(X, y)
        weights[name] = torch.cat(
            [t.detach().flatten().float() for t in sampler.generator_.state_dict().values()]
        ).numpy()
        weights[f"{name}_sample"] = sampler.sample(100, y=1)
    np.savez(os.path.join(out, f"rank{rank}.resume.npz"), **weights)


def main(out, case):
    rank = int(os.environ["RANK"])
    X, y = table()
    try:
        if case == "fit":
            fit(out, rank, X, y, PARAMS)
        elif case == "resume":
            resume(out, rank, X, y)
        else:
            mismatch(out, rank, X, y)
    except Exception:
        with open(os.path.join(out, f"rank{rank}.err"), "w") as handle:
            traceback.print_exc(file=handle)
        raise


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
