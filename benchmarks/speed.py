"""Speed benchmark: GANOversampler against ``ctgan.CTGAN`` at equal settings, and defaults.

Run (from the repository root; needs ``pip install -e ".[benchmarks]"``)::

    python benchmarks/speed.py                 # Adult + 10k, 100k, 1M generated rows; defaults on yeast4
    python benchmarks/speed.py --quick         # 10k rows only, 1 epoch: a minute or two

**Equal settings.** Both train for the same epochs with batch 500, pac 10, one
discriminator step per generator step, the WGAN-GP loss, a 128-wide noise
vector and 256-256 networks (CTGAN's defaults, which GANOversampler's are set
to match). CTGAN gets the label as one of its discrete columns; GANOversampler
as its condition.

Each measurement runs in a fresh subprocess (so its peak RSS is its own):
one ``fit`` of ``E`` epochs (3, or 2 at 1M rows) is end to end; seconds per
epoch is the mean time between the ends of consecutive epochs after the first
(what the training loop costs, without the transformer, set-up or warm-up),
read from GANOversampler's per-epoch log records and from the epoch loop of
CTGAN (its ``tqdm`` wrapped by a clock). The transformer's fit is timed on its
own. Achieved GFLOP/s: the matrix-multiply FLOPs of one
epoch (counted by the torch profiler) over the unprofiled seconds per epoch,
next to a large ``torch.matmul`` in the same process. The transformer is
also timed with its columns on every core (``n_jobs=-1``).

**bf16.** Where the CPU has native bf16 (AVX-512-BF16 or AMX; ``--bf16 on``
forces it), the equal-settings fit is timed again with
``precision="bfloat16"``. Every record carries torch's CPU kernel family
(``torch.backends.cpu.get_cpu_capability()``) and whether the CPU has native
bf16: compare figures only within one run.

**Defaults.** ``fit_resample`` of ``GANOversampler()`` and of the CTGAN-based
over-sampler of ``benchmarks/baselines.py`` (``CTGAN()``, 300 epochs) on
yeast4 (1,484 rows).

Written to ``--out`` (default ``benchmarks/results``): ``speed.csv``,
``speed_summary.md`` and ``speed_scaling.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EQUAL = {"embedding_dim": 128, "batch_size": 500, "pac": 10, "dims": (256, 256)}


def make_mixed(n_rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``n_rows`` rows of 20 columns (15 continuous, 5 categorical) and a 10% label.

    Continuous columns are bimodal Gaussians, log-normals and integer counts;
    categorical ones have 3 to 20 categories of unequal frequency. The label
    depends on a few columns, so classes differ.
    """
    rng = np.random.default_rng(seed)
    columns = {}
    for j in range(15):
        kind = j % 3
        if kind == 0:
            mode = rng.random(n_rows) < 0.3
            columns[f"c{j}"] = np.where(mode, rng.normal(-2, 0.5, n_rows), rng.normal(1, 1, n_rows))
        elif kind == 1:
            columns[f"c{j}"] = rng.lognormal(0, 0.8, n_rows)
        else:
            columns[f"c{j}"] = rng.poisson(3 + j, n_rows).astype(np.int64)
    for j, n_categories in enumerate((3, 5, 8, 12, 20)):
        p = rng.dirichlet(np.ones(n_categories))
        columns[f"k{j}"] = pd.Categorical(rng.choice([f"v{i}" for i in range(n_categories)], n_rows, p=p))
    X = pd.DataFrame(columns)
    logit = 1.2 * X["c0"] - 0.8 * np.log(X["c1"]) + (X["k0"] == "v0") * 1.5 - 3.2
    y = pd.Series((rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(int), name="y")
    return X, y


def load(name: str):
    if name == "adult":
        sys.path.insert(0, str(HERE))
        from datasets import load_adult

        return load_adult("train")
    if name == "yeast4":
        sys.path.insert(0, str(HERE))
        from datasets import load_imbalanced

        return load_imbalanced("yeast4")
    return make_mixed(int(name))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- workers: one measurement each, in its own process ----------------------------


class EpochClock:
    """Times of epoch boundaries of either library's training loop."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def per_epoch(self) -> float:
        """Mean seconds per epoch, the first epoch (warm-up) left out.

        ``times`` holds the end of each epoch, so its differences are the
        second and later epochs.
        """
        return float(np.mean(np.diff(self.times))) if len(self.times) > 1 else np.nan

    def watch_gan(self) -> None:
        import logging

        clock = self

        class Handler(logging.Handler):
            def emit(self, record):
                if record.getMessage().startswith("epoch "):
                    clock.times.append(time.perf_counter())

        logger = logging.getLogger("gan_augment.training")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(Handler())

    def watch_ctgan(self) -> None:
        import ctgan.synthesizers.ctgan as module

        clock = self

        class Bar:
            def __init__(self, iterable, **kwargs):
                self.iterable = iterable

            def __iter__(self):
                for item in self.iterable:
                    yield item
                    clock.times.append(time.perf_counter())

            def set_description(self, *args, **kwargs):
                pass

        module.tqdm = Bar


def fit_gan(X, y, epochs: int, precision: str = "float32"):
    from gan_augment import GANOversampler

    return GANOversampler(
        epochs=epochs, batch_size=EQUAL["batch_size"], pac=EQUAL["pac"], n_critic=1,
        loss="wgan-gp", embedding_dim=EQUAL["embedding_dim"], generator_dims=EQUAL["dims"],
        discriminator_dims=EQUAL["dims"], device="cpu", random_state=0, precision=precision,
        # CTGAN has no auxiliary classifier; the earlier equal-settings figures had none.
        classifier_weight=0.0,
    ).fit(X, y)


def fit_gan_bf16(X, y, epochs: int):
    return fit_gan(X, y, epochs, precision="bfloat16")


FITS = {"gan": fit_gan, "gan-bf16": fit_gan_bf16}
LABELS = {"gan": "GANOversampler", "gan-bf16": "GANOversampler, bf16", "ctgan": "CTGAN"}


def cpu_kind() -> dict:
    """torch's CPU kernel family, and whether the CPU has native bf16 (Linux flags)."""
    import torch

    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
        native = bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        native = None
    return {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native}


def fit_ctgan(X, y, epochs: int):
    from ctgan import CTGAN

    data = X.assign(label=y.astype(str).to_numpy())
    discrete = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    model = CTGAN(
        epochs=epochs, batch_size=EQUAL["batch_size"], pac=EQUAL["pac"], discriminator_steps=1,
        embedding_dim=EQUAL["embedding_dim"], generator_dim=EQUAL["dims"],
        discriminator_dim=EQUAL["dims"], enable_gpu=False,
    )
    model.fit(data, discrete)
    return model


def fit_transformer(library: str, X, y, n_jobs=None) -> None:
    if library.startswith("gan"):
        from gan_augment.schema import TableSchema
        from gan_augment.tabular.transformer import TabularTransformer

        continuous, categorical = TableSchema.from_data(X).split(X)
        TabularTransformer().fit(continuous, categorical, np.random.default_rng(0), n_jobs=n_jobs)
    else:
        from ctgan.data_transformer import DataTransformer

        data = X.assign(label=y.astype(str).to_numpy())
        discrete = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        DataTransformer().fit(data, discrete)


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def epoch_gflop(library: str, X, y) -> float:
    """Matrix-multiply GFLOP of one epoch, counted by the torch profiler."""
    from torch.profiler import ProfilerActivity, profile

    fit = FITS.get(library, fit_ctgan)
    counts = []
    for epochs in (1, 2):
        with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
            fit(X, y, epochs)
        counts.append(sum(e.flops for e in prof.key_averages() if e.flops))
    return (counts[1] - counts[0]) / 1e9


def worker(args) -> None:
    import torch

    X, y = load(args.data)
    record = {"library": args.library, "data": args.data, "rows": len(X), "columns": X.shape[1],
              "threads": torch.get_num_threads(), **cpu_kind()}
    if args.task == "transformer":
        start = time.perf_counter()
        fit_transformer(args.library, X, y)
        record["transformer_seconds"] = time.perf_counter() - start
        if args.library == "gan":
            # The same fit with the columns on every core (n_jobs=-1).
            start = time.perf_counter()
            fit_transformer(args.library, X, y, n_jobs=-1)
            record["transformer_seconds_all_cores"] = time.perf_counter() - start
    elif args.task == "epochs":
        clock = EpochClock()
        if args.library in FITS:
            clock.watch_gan()
        else:
            clock.watch_ctgan()
        fit = FITS.get(args.library, fit_ctgan)
        start = time.perf_counter()
        fit(X, y, args.epochs)
        record.update(epochs=args.epochs, end_to_end_seconds=time.perf_counter() - start,
                      seconds_per_epoch=clock.per_epoch())
    elif args.task == "flops":
        record["gflop_per_epoch"] = epoch_gflop(args.library, X, y)
        record["matmul_gflops"] = matmul_gflops()
    elif args.task == "defaults":
        sys.path.insert(0, str(HERE))
        if args.library == "gan":
            from gan_augment import GANOversampler as Sampler
        else:
            from baselines import CTGANOversampler as Sampler
        start = time.perf_counter()
        Sampler(random_state=0).fit_resample(X, y)
        record["default_fit_resample_seconds"] = time.perf_counter() - start
    # The profiler's own records inflate memory: only a plain fit's peak counts.
    record["peak_rss_mib_fit" if args.task == "epochs" else "peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(record), flush=True)


def measure(library: str, data: str, task: str, epochs: int = 3, timeout: int = 7200):
    command = [sys.executable, __file__, "--worker", library, data, task, str(epochs)]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {library} {data} {task}: timed out after {timeout} s", flush=True)
        return {"library": library, "data": data, "task": task, "error": f"timeout {timeout} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        print(done.stderr[-2000:], flush=True)
        return {"library": library, "data": data, "task": task, "error": done.stderr[-200:]}
    record = {**json.loads(lines[-1][7:]), "task": task}
    print(f"  {library:5s} {data:8s} {task:11s} {time.perf_counter() - start:7.1f} s  {record}", flush=True)
    return record


# -- summary -----------------------------------------------------------------------


def summarise(frame: pd.DataFrame, out: Path, command: str) -> str:
    def value(library, data, column):
        rows = frame[(frame["library"] == library) & (frame["data"] == data)]
        if column not in rows:
            return np.nan
        values = rows[column].dropna()
        return float(values.iloc[0]) if len(values) else np.nan

    lines = [f"# Speed benchmark\n\nCommand: `{command}`\n",
             f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads "
             f"{int(frame['threads'].dropna().max()) if 'threads' in frame else '?'}, "
             f"CPU kind {frame['cpu_capability'].dropna().iloc[0] if 'cpu_capability' in frame else '?'}"
             f", native bf16 {frame['native_bf16'].dropna().iloc[0] if 'native_bf16' in frame else '?'}.\n",
             "## Equal settings (batch 500, pac 10, 256-256 networks, WGAN-GP)\n",
             "| data | rows | library | transformer fit s | s / epoch | rows / s | end to end s (epochs) "
             "| peak RSS MiB | GFLOP / epoch | achieved GFLOP/s | matmul GFLOP/s |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    datas = [d for d in dict.fromkeys(frame["data"]) if d != "yeast4"]
    compared = [d for d in datas if not np.isnan(value("ctgan", d, "rows"))]
    for data in datas:
        for library in ("gan", "gan-bf16", "ctgan"):
            rows = value(library, data, "rows")
            if np.isnan(rows):
                continue
            per_epoch = value(library, data, "seconds_per_epoch")
            gflop = value(library, data, "gflop_per_epoch")
            rss = value(library, data, "peak_rss_mib_fit")
            lines.append(
                f"| {data} | {int(rows):,} | {LABELS[library]} "
                f"| {value(library, data, 'transformer_seconds'):.2f} | {per_epoch:.2f} "
                f"| {rows / per_epoch:,.0f} | {value(library, data, 'end_to_end_seconds'):.1f} "
                f"({value(library, data, 'epochs'):.0f}) | {rss:,.0f} | {gflop:.1f} "
                f"| {gflop / per_epoch:.1f} | {value(library, data, 'matmul_gflops'):.0f} |")
        if data not in compared:
            continue
        ratios.append({
            "data": data,
            "per-epoch throughput (CTGAN s / GAN s)":
                value("ctgan", data, "seconds_per_epoch") / value("gan", data, "seconds_per_epoch"),
            "end to end (CTGAN s / GAN s)":
                value("ctgan", data, "end_to_end_seconds") / value("gan", data, "end_to_end_seconds"),
            "transformer fit (CTGAN s / GAN s)":
                value("ctgan", data, "transformer_seconds") / value("gan", data, "transformer_seconds"),
            "transformer, 1 thread / all cores":
                value("gan", data, "transformer_seconds")
                / value("gan", data, "transformer_seconds_all_cores"),
            "per epoch, float32 s / bf16 s":
                value("gan", data, "seconds_per_epoch") / value("gan-bf16", data, "seconds_per_epoch"),
        })
    lines.append("\n## Ratios, same run (higher: GANOversampler faster)\n")
    table = pd.DataFrame(ratios).set_index("data").round(2)
    lines.append("| data | " + " | ".join(table.columns) + " |")
    lines.append("| --- |" + " ---: |" * len(table.columns))
    for data, row in table.iterrows():
        lines.append(f"| {data} | " + " | ".join(f"{v:.2f}" for v in row) + " |")
    gan_default = value("gan", "yeast4", "default_fit_resample_seconds")
    ctgan_default = value("ctgan", "yeast4", "default_fit_resample_seconds")
    if not np.isnan(gan_default):
        lines.append("\n## Defaults: fit_resample on yeast4 (1,484 rows)\n")
        lines.append("| sampler | seconds |\n| --- | ---: |")
        lines.append(f"| GANOversampler() | {gan_default:.1f} |")
        lines.append(f"| CTGAN-based (CTGAN(), 300 epochs) | {ctgan_default:.1f} |")
        lines.append(f"| ratio | {ctgan_default / gan_default:.1f} |")
    scaling_plot(frame, out / "speed_scaling.png")
    return "\n".join(lines).replace("nan", "-") + "\n"


def scaling_plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    generated = frame[frame["data"].str.isdigit() & frame["seconds_per_epoch"].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for library, label in (("gan", "GANOversampler"), ("ctgan", "CTGAN")):
        rows = generated[generated["library"] == library].sort_values("rows")
        if len(rows):
            axes[0].loglog(rows["rows"], rows["seconds_per_epoch"], "o-", label=label)
            rss = rows.set_index("rows")["peak_rss_mib_fit"]
            axes[1].loglog(rss.index, rss.values / 1024, "o-", label=label)
    if len(generated):
        x = np.array(sorted(generated["rows"].unique()), dtype=float)
        gan = generated[generated["library"] == "gan"].sort_values("rows")
        if len(gan):
            axes[0].loglog(x, gan["seconds_per_epoch"].iloc[0] * x / x[0], "k:", lw=0.8, label="linear")
    axes[0].set(xlabel="rows", ylabel="seconds per epoch", title="training loop, equal settings")
    axes[1].axhline(4, color="C3", lw=0.8, ls="--", label="4 GiB")
    axes[1].set(xlabel="rows", ylabel="peak RSS (GiB)", title="peak memory of the whole fit")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        library, data, task, epochs = argv[1:5]
        worker(argparse.Namespace(library=library, data=data, task=task, epochs=int(epochs)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--ctgan-max-rows", type=int, default=100_000,
                        help="largest generated data set CTGAN is run on (default 100,000)")
    parser.add_argument("--no-adult", action="store_true")
    parser.add_argument("--no-defaults", action="store_true")
    parser.add_argument("--quick", action="store_true", help="10k rows, no Adult, no defaults")
    parser.add_argument("--bf16", choices=["auto", "on", "off"], default="auto",
                        help="also time precision='bfloat16' (auto: where the CPU has native bf16)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--from-csv", type=Path, default=None, help="only summarise an earlier speed.csv")
    args = parser.parse_args(argv)
    command = "python benchmarks/speed.py " + " ".join(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.from_csv is not None:
        frame = pd.read_csv(args.from_csv, dtype={"data": str})
    else:
        if args.quick:
            args.sizes, args.no_adult, args.no_defaults = [10_000], True, True
        datas = ([] if args.no_adult else ["adult"]) + [str(n) for n in args.sizes]
        records = []
        bf16 = args.bf16 == "on" or (args.bf16 == "auto" and cpu_kind()["native_bf16"])
        for data in datas:
            for library in ("gan", "ctgan"):
                if library == "ctgan" and data.isdigit() and int(data) > args.ctgan_max_rows:
                    continue
                records.append(measure(library, data, "transformer"))
                epochs = 2 if data.isdigit() and int(data) >= 1_000_000 else 3
                records.append(measure(library, data, "epochs", epochs))
                if library == "gan" and bf16:
                    records.append(measure("gan-bf16", data, "epochs", epochs))
                if data.isdigit() and int(data) <= 10_000:
                    records.append(measure(library, data, "flops"))
                pd.DataFrame(records).to_csv(args.out / "speed.csv", index=False)
        if not args.no_defaults:
            for library in ("gan", "ctgan"):
                records.append(measure(library, "yeast4", "defaults"))
        frame = pd.DataFrame(records)
        frame.to_csv(args.out / "speed.csv", index=False)
    summary = summarise(frame, args.out, command)
    (args.out / "speed_summary.md").write_text(summary)
    print(summary)


if __name__ == "__main__":
    main()
