"""The ``gan-augment`` command: balance a CSV or Parquet table from the shell.

``gan-augment fit-resample IN --target COL --out OUT`` reads a table, fits a
:class:`~gan_augment.GANOversampler` on it with the target column as the class
label, and writes the balanced table (the original rows first, then the
generated ones; same columns in the same order) to ``OUT``.

Every constructor parameter of the estimator is an option, generated from its
``get_params()`` and typed by its default (``--epochs 300``, ``--loss hinge``,
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
import inspect
import json
import re
import shlex
import sys
import tempfile
import textwrap
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from sklearn.utils._param_validation import Interval

from . import __version__
from .files import atomic_write
from .oversampler import GANOversampler

__all__ = ["main", "build_parser"]

PROG = "gan-augment"
#: File formats, by (lower-case) extension.
FORMATS = {".csv": "CSV", ".parquet": "Parquet"}
#: Parameters that have their own options instead of a generated one.
_OWN_OPTIONS = {
    "categorical_features": "--categorical",
    "verbose": "--quiet",
    "dp_epsilon": "--epsilon",
    "dp_domain": "--dp-domain",
}
#: Help texts for parameters whose docstring opens with no useful one-liner.
_HELP_OVERRIDES = {
    "sampling_strategy": (
        "Which classes to over-sample: a float (binary targets only) is the wanted "
        "minority/majority ratio after resampling."
    ),
    "random_state": "Seed (an int) for reproducible output; 'none' for a fresh one.",
    "early_stopping": (
        "Hold out validation_fraction of each class and stop when the generator "
        "stops improving (off by default: it cost quality where measured)."
    ),
}

MAIN_EXAMPLES = """\
examples:
  gan-augment fit-resample train.csv --target label --out balanced.csv
  gan-augment fit-resample train.parquet --target label --out balanced.parquet \\
      --epochs 300 --random-state 0
  gan-augment synthesize patients.csv --target outcome --n 100000 --epsilon 1 \
      --out synthetic.parquet --report report.json
  gan-augment fit-resample --help
"""

FIT_RESAMPLE_EXAMPLES = """\
examples:
  # balance every class up to the majority, reproducibly
  gan-augment fit-resample train.csv --target label --out balanced.csv --random-state 0

  # CSV in, Parquet out; name the categorical columns, quieter and faster
  gan-augment fit-resample train.csv --target label --out balanced.parquet \\
      --categorical colour city --epochs 100 --quiet

  # over-sample the minority class to half the majority, hinge loss, on the GPU
  gan-augment fit-resample train.parquet --target y --out out.parquet \\
      --sampling-strategy 0.5 --loss hinge --device cuda

  # bigger networks, early stopping, checkpoints to resume an interrupted run
  gan-augment fit-resample big.parquet --target y --out out.parquet \\
      --generator-dims 512 512 --discriminator-dims 512 512 --early-stopping \\
      --checkpoint-dir ckpt --resume
"""


SYNTHESIZE_EXAMPLES = """\
examples:
  # 10,000 synthetic rows with the training class shares
  gan-augment synthesize train.csv --target label --n 10000 --out synthetic.csv

  # differentially private (epsilon 1), with a privacy report on a 20% holdout
  gan-augment synthesize patients.parquet --target outcome --n 100000 \\
      --epsilon 1 --out synthetic.parquet --report report.json

  # declare public bounds and categories so that no budget is spent on them
  gan-augment synthesize patients.csv --target outcome --n 5000 --epsilon 3 \\
      --dp-domain '{"age": [0, 120], "sex": ["F", "M"]}' --out synthetic.csv
"""


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


# -- options generated from the estimator ------------------------------------------


def _parameter_docs() -> dict[str, str]:
    """First sentence of each parameter's description in the estimator docstring."""
    doc = inspect.getdoc(GANOversampler) or ""
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    if not match:
        return {}
    docs: dict[str, str] = {}
    name, lines = None, []
    for line in match.group(1).splitlines() + [""]:
        header = re.match(r"^(\w+) : ", line)
        if header:
            name, lines = header.group(1), []
        elif name is not None and line.strip():
            lines.append(line.strip())
        elif name is not None and lines:  # first paragraph done
            text = " ".join(lines)
            text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text).replace("``", "")
            first = re.split(r"(?<=[.:])\s", text, maxsplit=1)[0]
            docs[name] = first[:-1] + "." if first.endswith(":") else first
            name = None
    return docs


def _choices(constraints: Sequence[Any]) -> list[str]:
    """The string options among a parameter's sklearn constraints."""
    options: list[str] = []
    for constraint in constraints:
        if hasattr(constraint, "options") and isinstance(constraint.options, set):
            options += sorted(constraint.options)
    return options


def _named(name: str, function: Callable[[str], Any]) -> Callable[[str], Any]:
    function.__name__ = name  # argparse's "invalid <name> value" message
    return function


def _number(kind: type, allow_none: bool) -> Callable[[str], Any]:
    """Parse an int or float (and 'none' where None is allowed)."""

    def parse(text: str) -> Any:
        if allow_none and text.lower() == "none":
            return None
        return kind(text)

    return _named(kind.__name__, parse)


def _scalar(allow_none: bool) -> Callable[[str], Any]:
    """Parse an int, else a float, else keep the string ('auto', 'hinge', ...)."""

    def parse(text: str) -> Any:
        if allow_none and text.lower() == "none":
            return None
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                pass
        return text

    return _named("value", parse)


def _add_estimator_options(parser: argparse.ArgumentParser) -> None:
    """One option per constructor parameter, typed by the parameter's default."""
    defaults = GANOversampler().get_params(deep=False)
    # get_params() sorts by name; list the options in the constructor's order.
    order = [n for n in inspect.signature(GANOversampler).parameters if n in defaults]
    docs = _parameter_docs()
    group = parser.add_argument_group(
        "estimator options",
        "GANOversampler's constructor parameters (see its documentation); values\n"
        "are checked by the estimator.",
    )
    for name in order + sorted(set(defaults) - set(order)):
        if name in _OWN_OPTIONS:
            continue
        default = defaults[name]
        constraints = GANOversampler._parameter_constraints.get(name, [])
        allow_none = (
            default is None or None in constraints or "random_state" in constraints
        )
        help_text = _HELP_OVERRIDES.get(name) or docs.get(name, "")
        choices = _choices(constraints)
        if choices:
            numeric = any(isinstance(c, Interval) for c in constraints)
            help_text += f" {'Or one' if numeric else 'One'} of: {', '.join(choices)}."
        if allow_none and default is not None:
            help_text += " 'none' for None."
        shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
        help_text += f" (default: {shown})"
        kwargs: dict[str, Any] = {
            "dest": name,
            "default": argparse.SUPPRESS,  # unset options keep the estimator default
            "help": help_text.strip().replace("%", "%%"),
        }
        if isinstance(default, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(default, (tuple, list)):
            item = type(default[0]) if default else str
            parse = _number(item, False) if item in (int, float) else str
            kwargs.update(nargs="+", type=parse, metavar=item.__name__.upper())
        elif isinstance(default, (int, float)):
            kwargs.update(type=_number(type(default), allow_none),
                          metavar=type(default).__name__.upper())
        elif default is None and str in constraints:  # paths
            kwargs.update(type=str, metavar="PATH")
        else:  # 'auto'-like strings, None-default values
            kwargs.update(type=_scalar(allow_none), metavar=name.split("_")[-1].upper())
        group.add_argument("--" + name.replace("_", "-"), **kwargs)


def _estimator_params(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor parameters given on the command line, typed like the defaults."""
    defaults = GANOversampler().get_params(deep=False)
    params = {}
    for name, default in defaults.items():
        if name in _OWN_OPTIONS or not hasattr(args, name):
            continue
        value = getattr(args, name)
        params[name] = tuple(value) if isinstance(default, tuple) else value
    return params


# -- the parser --------------------------------------------------------------------


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the examples' layout; wrap the rest."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def build_parser() -> argparse.ArgumentParser:
    """The ``gan-augment`` argument parser (for ``main`` and documentation tools)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Balance imbalanced tables with a conditional GAN (GANOversampler).",
        epilog=MAIN_EXAMPLES,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    fit = commands.add_parser(
        "fit-resample",
        help="balance a CSV or Parquet table and write it out",
        description=textwrap.fill(
            "Read IN (.csv or .parquet), fit a GANOversampler with --target as the "
            "class label, and write the balanced table to OUT (.csv or .parquet): "
            "the original rows first, then the generated ones, with IN's columns "
            "in IN's order. OUT is written atomically. A summary line goes to stderr.",
            78,
        ),
        epilog=FIT_RESAMPLE_EXAMPLES,
        formatter_class=_Formatter,
    )
    fit.add_argument(
        "input", metavar="IN", type=Path, help="input table (.csv or .parquet)"
    )
    fit.add_argument("--target", "-t", required=True, metavar="COL",
                     help="the class label column")
    fit.add_argument("--out", "-o", required=True, type=Path, metavar="OUT",
                     help="output table (.csv or .parquet); its folder must exist")
    _add_table_options(fit)

    synth = commands.add_parser(
        "synthesize",
        help="train on a table and write a fully synthetic one",
        description=textwrap.fill(
            "Read IN (.csv or .parquet), fit a GANOversampler with --target as the "
            "class label, and stream N synthetic rows (label last, with the training "
            "class shares unless --class-distribution says otherwise) to OUT (.csv "
            "or .parquet), written atomically. With --epsilon, training is "
            "differentially private. With --report, a share of IN "
            "(--holdout-fraction) is held out of training and a privacy report "
            "(exact copies, distances to closest records, membership-inference "
            "AUCs, utility) is written as JSON.",
            78,
        ),
        epilog=SYNTHESIZE_EXAMPLES,
        formatter_class=_Formatter,
    )
    synth.add_argument("input", metavar="IN", type=Path, help="input table (.csv or .parquet)")
    synth.add_argument("--target", "-t", required=True, metavar="COL",
                       help="the class label column")
    synth.add_argument("--n", "-n", required=True, type=int, metavar="N",
                       help="number of synthetic rows to write")
    synth.add_argument("--out", "-o", required=True, type=Path, metavar="OUT",
                       help="output table (.csv or .parquet); its folder must exist")
    synth.add_argument("--report", type=Path, metavar="JSON", default=None,
                       help="write a privacy report (JSON) computed on a holdout")
    synth.add_argument("--holdout-fraction", type=float, default=0.2, metavar="FLOAT",
                       help="share of IN held out for --report (default: 0.2)")
    synth.add_argument(
        "--class-distribution", default="original", choices=["original", "balanced"],
        help="class shares of the synthetic rows (default: original)",
    )
    _add_table_options(synth)
    return parser


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    """What both commands share: categorical columns, quiet, DP, the estimator."""
    parser.add_argument(
        "--categorical", nargs="*", metavar="COL", default=None,
        help="the categorical feature columns (none given: every feature is "
        "continuous); default: the object, category, string and bool columns",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    parser.add_argument(
        "--debug", action="store_true",
        help="on a failure (exit status 1), print the traceback instead of writing "
        "it to a log file",
    )
    _add_privacy_options(parser)
    _add_estimator_options(parser)


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _add_privacy_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("differential privacy")
    group.add_argument(
        "--epsilon", dest="dp_epsilon", type=float, default=None, metavar="E",
        help="train with differential privacy at this epsilon (needs Opacus: "
        'pip install "gan-augment[privacy]"); see also --dp-delta and '
        "--dp-max-grad-norm",
    )
    group.add_argument(
        "--dp-domain", type=_named("JSON object", _json_object), default=None,
        metavar="JSON",
        help='public bounds and categories, e.g. \'{"age": [0, 120], "sex": ["F", "M"]}\'',
    )


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
        **_estimator_params(args),
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
