"""Scaling out on one machine: data-parallel training, many fits on Dask, partitioned export.

Three measurements (issue 14), each a row of ``benchmarks/records/scale.csv``
(resumable: a measurement already in the file is not run again; ``--fresh``
starts over):

* ``train``: training throughput (rows per second: generator steps x
  batch_size / training seconds, the transformer's fit left out) of one
  process (1 thread, and ``n_jobs`` = all cores) against ``torchrun`` with one
  process per core (gloo, 1 thread each), for a small and a large table and two
  batch sizes;
* ``grid``: wall time of a ``GridSearchCV`` of a GANOversampler pipeline (8 fits)
  under ``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 1 and of 2
  worker processes (1 thread each);
* ``export``: generation of 10 million rows with ``to_dask`` +
  ``write_parquet`` on 1 and on 2 workers: rows per second and each worker's
  peak resident memory.

Usage::

    python benchmarks/scale.py                # everything not yet in the record
    python benchmarks/scale.py --only train   # one measurement
    python benchmarks/scale.py --summary-only # the tables from the record

The CPU kind (``torch.backends.cpu.get_cpu_capability()``) is in every row;
compare figures only within one run of one machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

RECORD = Path(__file__).parent / "records" / "scale.csv"
FIELDS = ["kind", "setting", "processes", "value", "unit", "extra", "cpu", "cores", "torch"]

# name -> (rows, columns, batch sizes)
TABLES = {"small": (1_500, 8, (500,)), "large": (100_000, 8, (500, 4_000))}
TRAIN_STEPS = 120


def _cpu() -> dict:
    return {
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
    }


def _table(rows: int, columns: int, categorical: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=columns, n_informative=columns // 2,
        weights=[0.8], random_state=0,
    )
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(columns)])
    if not categorical:
        return frame, y
    # Two categorical columns, as mixed tables have.
    frame["a"] = pd.Categorical(np.digitize(X[:, 0], [-1, 0, 1]).astype(str))
    frame["b"] = pd.Categorical(np.digitize(X[:, 1], [-0.5, 0.5]).astype(str))
    return frame, y


class _TrainingTime(logging.Handler):
    """The loop's own time, from gan_augment.fitting's 'Trained ... in N s' record."""

    seconds = float("nan")

    def emit(self, record):
        if record.getMessage().startswith("Trained "):
            self.seconds = float(record.args[1])


def train_once(table: str, batch: int, n_jobs: int) -> dict:
    """One fit in this process (or in each torchrun process): rows per second."""
    from gan_augment import GANOversampler

    rows, columns, _ = TABLES[table]
    X, y = _table(rows, columns)
    steps_per_epoch = max(1, rows // batch)
    epochs = max(1, TRAIN_STEPS // steps_per_epoch)
    handler = _TrainingTime()
    logger = logging.getLogger("gan_augment.fitting")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    sampler = GANOversampler(
        epochs=epochs, batch_size=batch, random_state=0, n_jobs=n_jobs, interpolation=0.0,
    )
    start = time.perf_counter()
    sampler.fit(X, y)
    fit_s = time.perf_counter() - start
    return {
        "steps": sampler.n_steps_,
        "train_s": handler.seconds,
        "fit_s": fit_s,
        "rows_per_s": sampler.n_steps_ * batch / handler.seconds,
    }


def _torchrun_train(table: str, batch: int, processes: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        command = [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc-per-node={processes}", __file__, "--worker", table, str(batch), out,
        ]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=1800)
        return json.loads((Path(out) / "rank0.json").read_text())


def measure_train(done: set, write) -> None:
    cores = os.cpu_count() or 1
    for table, (_, _, batches) in TABLES.items():
        for batch in batches:
            setting = f"{table} table ({TABLES[table][0]:,} rows), batch {batch}"
            runs = [
                ("1 process, 1 thread", 1, lambda: train_once(table, batch, 1)),
                (f"1 process, {cores} threads", 1, lambda: train_once(table, batch, -1)),
                (f"torchrun, {cores} processes x 1 thread", cores,
                 lambda: _torchrun_train(table, batch, cores)),
            ]
            for how, processes, run in runs:
                key = ("train", f"{setting}; {how}")
                if key in done:
                    continue
                result = run()
                write("train", f"{setting}; {how}", processes, result["rows_per_s"], "rows/s",
                      f"steps {result['steps']}, train {result['train_s']:.1f} s, "
                      f"fit {result['fit_s']:.1f} s")


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None,
    )
    return cluster, Client(cluster)


def measure_grid(done: set, write) -> None:
    import joblib
    from imblearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from gan_augment import GANOversampler

    X, y = _table(3_000, 8, categorical=False)  # logistic regression takes numbers
    grid = {
        "ganoversampler__interpolation": [0.0, 0.5],
        "ganoversampler__learning_rate": [2e-4, 1e-3],
    }
    for workers in (1, 2):
        key = ("grid", f"GridSearchCV, 4 settings x 2 folds, 3,000 rows; {workers} worker(s)")
        if key in done:
            continue
        cluster, client = _cluster(workers)
        try:
            pipe = make_pipeline(
                GANOversampler(epochs=30, random_state=0), LogisticRegression(max_iter=1000)
            )
            search = GridSearchCV(pipe, grid, cv=StratifiedKFold(2), n_jobs=-1)
            start = time.perf_counter()
            with joblib.parallel_backend("dask"):
                search.fit(X, y)
            seconds = time.perf_counter() - start
        finally:
            client.close()
            cluster.close()
        write("grid", key[1], workers, seconds, "s",
              f"8 fits + refit; best balanced accuracy {search.best_score_:.3f}")


def _peak_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_export(done: set, write, n_rows: int = 10_000_000) -> None:
    from gan_augment import GANOversampler
    from gan_augment.partitions import write_parquet

    X, y = _table(3_000, 8)
    model = GANOversampler(epochs=5, random_state=0).fit(X, y)
    for workers in (1, 2):
        key = ("export", f"to_dask + write_parquet, {n_rows:,} rows in 20 partitions; "
                         f"{workers} worker(s)")
        if key in done:
            continue
        cluster, client = _cluster(workers)
        try:
            before = client.run(_peak_rss_mib)
            frame = model.to_dask(n_rows, npartitions=20)
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                write_parquet(frame, Path(out) / "synthetic")
                seconds = time.perf_counter() - start
            peaks = client.run(_peak_rss_mib)
        finally:
            client.close()
            cluster.close()
        write("export", key[1], workers, n_rows / seconds, "rows/s",
              f"{seconds:.1f} s; peak RSS per worker "
              f"{max(peaks.values()):.0f} MiB (at start {max(before.values()):.0f} MiB)")


def summary() -> str:
    if not RECORD.exists():
        return "(no record)"
    frame = pd.read_csv(RECORD)
    lines = []
    for kind, rows in frame.groupby("kind", sort=False):
        lines += [f"\n### {kind}\n", "| setting | processes | value | extra |", "| --- | ---: | ---: | --- |"]
        for row in rows.itertuples():
            lines.append(f"| {row.setting} | {row.processes} | {row.value:,.1f} {row.unit} | {row.extra} |")
    cpu = frame.iloc[0]
    lines.append(f"\nCPU kind {cpu.cpu}, {cpu.cores} cores, torch {cpu.torch}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["train", "grid", "export"])
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--export-rows", type=int, default=10_000_000)
    parser.add_argument("--worker", nargs=3, metavar=("TABLE", "BATCH", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        table, batch, out = args.worker
        result = train_once(table, int(batch), None)
        if int(os.environ.get("RANK", "0")) == 0:
            (Path(out) / "rank0.json").write_text(json.dumps(result))
        return
    if args.summary_only:
        print(summary())
        return
    if args.fresh and RECORD.exists():
        RECORD.unlink()
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if RECORD.exists():
        done = {(r["kind"], r["setting"]) for r in csv.DictReader(RECORD.open())}
    new = not RECORD.exists()
    with RECORD.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        if new:
            writer.writeheader()

        def write(kind, setting, processes, value, unit, extra):
            writer.writerow({"kind": kind, "setting": setting, "processes": processes,
                             "value": round(value, 2), "unit": unit, "extra": extra, **_cpu()})
            handle.flush()
            print(f"{kind}: {setting}: {value:,.1f} {unit} ({extra})", flush=True)

        if args.only in (None, "train"):
            measure_train(done, write)
        if args.only in (None, "grid"):
            measure_grid(done, write)
        if args.only in (None, "export"):
            measure_export(done, write, args.export_rows)
    print(summary())


if __name__ == "__main__":
    main()
