"""The ``gan-augment`` command: balance a CSV or Parquet table from the shell.

``gan-augment fit-resample IN --target COL --out OUT`` reads a table, fits a
:class:`~gan_augment.GANOversampler` on it with the target column as the class
label, and writes the balanced table (the original rows first, then the
generated ones; same columns in the same order) to ``OUT``.

Every constructor parameter of the estimator is an option, generated from its
``get_params()`` by :mod:`gan_augment.cli_options` and typed by its default (``--epochs 300``, ``--loss hinge``,
``--generator-dims 256 256``, ``--early-stopping``, ...), so a parameter added
to the estimator is an option without touching this module. Values are checked
by the estimator's own validation.

Exit status: 0 on success; 2 on a usage mistake, 1 on any other failure; both
are reported as one ``gan-augment: error: ...`` line on stderr.

The command, not the library, decides what is a usage mistake: before training
it checks what the user gave (paths, columns, its own options) and runs the
estimator's own checks of its parameters and of the data (:func:`_check_fit`),
and only what those checks reject is a usage mistake (status 2). Anything that
goes wrong after them, while training, generating, writing or reporting,
is a failure (status 1): a diverging fit's ``FloatingPointError``, an
``OSError`` on a checkpoint, a bug. Its line names the step that failed; the
traceback is printed with ``--debug`` and otherwise written to a log file in
the system's temporary folder, which the line names.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from . import __version__
from .cli_options import PROG, build_parser, estimator_params
from .files import atomic_write
from .oversampler import GANOversampler

__all__ = ["main", "build_parser"]

#: File formats, by (lower-case) extension.
FORMATS = {".csv": "CSV", ".parquet": "Parquet"}
#: Parameters that have their own options instead of a generated one.
class UsageError(Exception):
    """A mistake of the user's: reported as one line, exit status 2."""


class Failure(Exception):
    """A step that failed for another reason than a usage mistake: exit status 1.

    Parameters
    ----------
    message : str
        The one line to report, naming the step that failed.
    cause : BaseException
        What was raised; its traceback goes behind ``--debug`` or to a log file.
    log : bool, default=True
        Whether to write the traceback to a log file without ``--debug``. An
        ``OSError`` on the output says all there is to say (the path and the
        system's reason), so it writes none.
    """

    def __init__(self, message: str, cause: BaseException, *, log: bool = True) -> None:
        super().__init__(message)
        self.cause = cause
        self.log = log


class _step:
    """Report anything the block raises as ``<what> failed: ...`` (status 1).

    Usage errors and failures raised inside keep their own message. A class,
    not a generator: the traceback then starts at the ``with`` line instead of
    inside ``contextlib``.

    Parameters
    ----------
    what : str
        The step, as the message names it ("training", "the privacy report").
    """

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, trace: Any) -> bool:
        if not isinstance(exc, Exception) or isinstance(exc, (UsageError, Failure)):
            return False  # nothing raised, or not for this step to name
        message = f"{self.what} failed: {type(exc).__name__}: {_message(exc)}"
        raise Failure(message, exc) from exc


# -- reading and writing -----------------------------------------------------------


def _format(path: Path, role: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"unsupported {role} file extension {path.suffix or '(none)'!r} for "
            f"'{path}'; use {' or '.join(FORMATS)}"
        )
    return suffix


def _read(path: Path) -> pd.DataFrame:
    suffix = _format(path, "input")
    if not path.exists():
        raise UsageError(f"input file '{path}' does not exist")
    if path.is_dir():
        raise UsageError(f"input '{path}' is a folder, not a file")
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path, engine="pyarrow").reset_index(drop=True)
    except (OSError, ValueError, ImportError) as exc:  # ArrowInvalid is a ValueError
        raise UsageError(f"cannot read '{path}' as {FORMATS[suffix]}: {_message(exc)}")


def _write(table: pd.DataFrame, path: Path) -> None:
    def write(handle: BinaryIO) -> None:
        if path.suffix.lower() == ".csv":
            table.to_csv(handle, index=False)
        else:
            table.to_parquet(handle, engine="pyarrow", index=False)

    with _writing(path):
        atomic_write(path, write)


class _writing:
    """Report an ``OSError`` in the block as ``cannot write PATH`` (status 1).

    The folder was checked before training, so what fails here is the system
    (a full disk, a permission, a lost mount), not the user's path; the
    message says all there is to say, so no log file is written.

    Parameters
    ----------
    path : Path
        The file being written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, trace: Any) -> bool:
        if not isinstance(exc, OSError):
            return False  # left to an enclosing step
        message = f"cannot write '{self.path}': {_message(exc)}"
        raise Failure(message, exc, log=False) from exc


def _has_module(name: str) -> bool:
    """Whether ``name`` can be imported (a seam for tests)."""
    return importlib.util.find_spec(name) is not None


def _check_output(path: Path, role: str) -> None:
    """Refuse, before any training, an output that could not be written."""
    suffix = _format(path, role)
    if not path.parent.is_dir():
        raise UsageError(f"{role} folder '{path.parent}' does not exist")
    if path.is_dir():
        raise UsageError(f"{role} '{path}' is a folder")
    if suffix == ".parquet" and not _has_module("pyarrow"):
        raise UsageError(f"writing Parquet ('{path}') needs pyarrow: pip install pyarrow")


# -- running -----------------------------------------------------------------------


def _message(exc: BaseException) -> str:
    """An exception's message on one line."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    text = " ".join(str(text).split())
    return text or type(exc).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"{PROG}: warning: {_message(Warning(str(message)))}", file=sys.stderr)


def _load(args: argparse.Namespace) -> tuple[pd.DataFrame, Any]:
    """The input table and the resolved ``categorical_features``, checked."""
    in_path, out_path = args.input, args.out
    _check_output(out_path, "output")
    checkpoint_dir = getattr(args, "checkpoint_dir", None)
    if checkpoint_dir is not None and Path(checkpoint_dir).exists() and not Path(
        checkpoint_dir
    ).is_dir():
        # Found otherwise only at the first checkpoint, epochs into training.
        raise UsageError(f"--checkpoint-dir '{checkpoint_dir}' is not a folder")
    table = _read(in_path)
    columns = list(table.columns)
    if args.target not in columns:
        raise UsageError(f"--target column {args.target!r} is not in '{in_path}'; "
                         f"its columns are {columns}")
    categorical: Any = "auto"
    if args.categorical is not None:
        if args.target in args.categorical:
            raise UsageError(f"--categorical names the target column {args.target!r}")
        unknown = [c for c in args.categorical if c not in columns]
        if unknown:
            raise UsageError(f"--categorical column(s) {unknown} are not in '{in_path}'; "
                             f"its columns are {columns}")
        categorical = list(args.categorical)
    return table, categorical


def _sampler(args: argparse.Namespace, categorical: Any) -> GANOversampler:
    return GANOversampler(
        **estimator_params(args),
        categorical_features=categorical,
        dp_epsilon=args.dp_epsilon,
        dp_domain=args.dp_domain,
        verbose=not args.quiet,
    )


def _check_fit(sampler: GANOversampler, X: pd.DataFrame, y: pd.Series) -> None:
    """Run the estimator's checks of its parameters and of ``(X, y)``, and no training.

    :meth:`GANOversampler.check_input` makes the checks ``fit`` makes before
    its first training step. What they reject is the user's input: a usage
    error. The fit makes them again, so anything raised later comes from
    training, not from the input.

    Parameters
    ----------
    sampler : GANOversampler
        The estimator to be fitted (left as it was).
    X : DataFrame
        The features.
    y : Series
        The class labels.

    Raises
    ------
    UsageError
        For a ValueError or TypeError of the checks (``InvalidParameterError``
        is both), or a missing Opacus under ``--epsilon``.
    Failure
        For anything else they raise (a bug).
    """
    with _step("checking the input"):
        try:
            with warnings.catch_warnings():
                # The fit runs the same checks and warns then; warn once.
                warnings.simplefilter("ignore")
                sampler.check_input(X, y)
        except (ValueError, TypeError) as exc:
            raise UsageError(_message(exc)) from exc
    if sampler.dp_epsilon is not None and not _has_module("opacus"):
        raise UsageError('--epsilon needs Opacus: pip install "gan-augment[privacy]"')


def _fit_resample(args: argparse.Namespace) -> None:
    table, categorical = _load(args)
    columns, out_path = list(table.columns), args.out
    X, y = table.drop(columns=args.target), table[args.target]
    sampler = _sampler(args, categorical)
    _check_fit(sampler, X, y)
    start = time.perf_counter()
    with _step("training and resampling"):
        X_res, y_res = sampler.fit_resample(X, y)
    seconds = time.perf_counter() - start

    out = pd.DataFrame(X_res).reset_index(drop=True)
    labels = pd.Series(y_res, name=args.target).reset_index(drop=True)
    if labels.dtype != y.dtype:
        labels = labels.astype(y.dtype)
    out.insert(columns.index(args.target), args.target, labels)
    _write(out, out_path)

    added = {label: n for label, n in sampler.sampling_strategy_.items() if n > 0}
    per_class = ", ".join(f"{label}: +{n}" for label, n in added.items()) or "none"
    print(
        f"{PROG}: {len(table)} rows in, {sum(added.values())} added ({per_class}), "
        f"{len(out)} rows written to '{out_path}' in {seconds:.1f} s",
        file=sys.stderr,
    )


def _written_rows(path: Path, n_rows: int, like: pd.DataFrame) -> pd.DataFrame:
    """The first ``n_rows`` rows of the table written to ``path``, read back.

    The privacy report judges the rows the user got, not another sample of
    the model. The rows were written in random class order, so the first ones
    are a fair sample of the file, and reading only them keeps memory bounded
    for a large ``--n``.

    Parameters
    ----------
    path : Path
        A ``.csv`` or ``.parquet`` file written by ``write_dataset``.
    n_rows : int
        How many rows to read.
    like : DataFrame
        The training rows. CSV keeps no category or string dtype, so a column
        read back with another dtype gets ``like``'s where no value is lost,
        and the report compares like with like.

    Returns
    -------
    DataFrame
    """
    if path.suffix.lower() == ".csv":
        rows = pd.read_csv(path, nrows=n_rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as file:
            batch = next(file.iter_batches(batch_size=n_rows), None)
            schema = file.schema_arrow
        # The file's schema carries the pandas metadata (dtypes, categories).
        rows = pa.Table.from_batches([] if batch is None else [batch], schema).to_pandas()
    for column in rows.columns.intersection(like.columns):
        dtype = like[column].dtype
        if rows[column].dtype == dtype:
            continue
        try:
            cast = rows[column].astype(dtype)
        except (TypeError, ValueError):
            continue
        if cast.isna().sum() == rows[column].isna().sum():
            rows[column] = cast
    return rows


def _synthesize(args: argparse.Namespace) -> None:
    if args.n < 0:
        raise UsageError(f"--n must be a non-negative number of rows; got {args.n}")
    if args.report is not None:
        if args.report.suffix.lower() != ".json":
            raise UsageError(f"--report must name a .json file; got '{args.report}'")
        if not args.report.parent.is_dir():
            raise UsageError(f"report folder '{args.report.parent}' does not exist")
        if args.n < 2:
            # The report compares the written rows with real ones: it needs some.
            raise UsageError(f"--report needs --n of at least 2; got {args.n}")
        if not 0 < args.holdout_fraction < 1:
            raise UsageError(
                f"--holdout-fraction must be between 0 and 1; got {args.holdout_fraction}"
            )
    table, categorical = _load(args)
    sampler = _sampler(args, categorical)
    # The whole table first: a NaN in a row that will be held out is a mistake too.
    _check_fit(sampler, table.drop(columns=args.target), table[args.target])
    train = table
    if args.report is not None:
        # The report needs real rows the model never saw: hold some out.
        from sklearn.model_selection import train_test_split

        try:
            train, holdout = train_test_split(
                table, test_size=args.holdout_fraction, stratify=table[args.target],
                random_state=0,
            )
        except ValueError as exc:
            raise UsageError(f"cannot hold out rows for --report: {_message(exc)}")
        # Class sizes are checked on the rows trained on.
        _check_fit(sampler, train.drop(columns=args.target), train[args.target])
    X, y = train.drop(columns=args.target), train[args.target]
    start = time.perf_counter()
    with _step("training"):
        sampler.fit(X, y)
    # _writing inside _step: an OSError is "cannot write", anything else a failure.
    with _step(f"generating '{args.out}'"), _writing(args.out):
        sampler.write_dataset(
            args.out, args.n, args.class_distribution, target=args.target,
            progress=not args.quiet,
        )
    seconds = time.perf_counter() - start
    privacy = (
        "" if sampler.dp_epsilon_spent_ is None else
        f", epsilon spent {sampler.dp_epsilon_spent_:.3f} (delta {sampler.dp_delta_:.3g})"
    )
    print(
        f"{PROG}: trained on {len(train)} rows, {args.n} synthetic rows written to "
        f"'{args.out}' in {seconds:.1f} s{privacy}",
        file=sys.stderr,
    )
    if args.report is not None:
        from . import privacy as reports

        with _step("the privacy report"):
            synthetic = _written_rows(args.out, min(args.n, len(train)), train)
            columns = list(synthetic.columns)
            result = reports.report(
                train[columns], holdout[columns], synthetic, target=args.target
            )
            metrics = {
                **result.metrics,
                "dp_epsilon_spent": sampler.dp_epsilon_spent_,
                "dp_delta": sampler.dp_delta_,
            }
            data = json.dumps(metrics, indent=2).encode()
        with _writing(args.report):
            atomic_write(args.report, lambda handle: handle.write(data))
        print(f"{PROG}: privacy report written to '{args.report}'", file=sys.stderr)


def _write_log(trace: str, argv: list[str]) -> Path | None:
    """Write ``trace`` to a new log file in the system's temporary folder.

    Returns
    -------
    Path or None
        The file, or None when it could not be written.
    """
    header = f"{PROG} {__version__}\n$ {PROG} {shlex.join(argv)}\n\n"
    try:
        handle = tempfile.NamedTemporaryFile(
            "w", prefix=f"{PROG}-", suffix=".log", delete=False, encoding="utf-8"
        )
        with handle:
            handle.write(header + trace)
    except OSError:
        return None
    return Path(handle.name)


def _report_failure(failure: Failure, debug: bool, argv: list[str]) -> None:
    """One line on stderr; the traceback before it (``--debug``) or in a log file."""
    line = f"{PROG}: error: {_message(failure)}"
    trace = "".join(traceback.format_exception(failure.cause))
    if debug:
        print(trace, end="", file=sys.stderr)
    elif failure.log:
        log = _write_log(trace, argv)
        if log is None:  # better on the screen than lost
            print(trace, end="", file=sys.stderr)
        else:
            line = line.removesuffix(".") + f"; the traceback is in '{log}' (--debug prints it)"
    print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the ``gan-augment`` command line.

    Parameters
    ----------
    argv : list of str, optional
        The arguments, without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        The exit status: 0 on success; 2 on a usage mistake, reported as one
        ``gan-augment: error: ...`` line on stderr; 1 on any other failure
        (a diverging fit, an ``OSError`` while training or writing, a bug),
        reported as one line naming the step that failed, with the traceback
        printed before it under ``--debug`` and otherwise written to a log file
        that the line names.

    Raises
    ------
    SystemExit
        For ``--help`` and ``--version`` (status 0) and for argparse's own usage
        errors, such as a missing ``--target`` or a non-integer ``--batch-size``
        (status 2).

    Examples
    --------
    >>> from gan_augment.cli import main
    >>> main(["fit-resample", "train.csv", "--target", "label",
    ...       "--out", "balanced.parquet", "--epochs", "100",
    ...       "--random-state", "0"])  # doctest: +SKIP
    0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            # Outermost: a bug of this module, outside any named step, is a failure too.
            with _step(args.command):
                if args.command == "fit-resample":
                    _fit_resample(args)
                else:
                    _synthesize(args)
    except UsageError as exc:
        print(f"{PROG}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except Failure as failure:
        _report_failure(failure, args.debug, argv)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
