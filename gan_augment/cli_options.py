"""The ``gan-augment`` command's options, generated from the estimator's parameters.

:func:`build_parser` builds the parser of both commands: the command line's
own options (input, output, target, privacy, report) and one option per
constructor parameter of :class:`~gan_augment.GANOversampler`, typed by its
default and documented from its docstring, so a parameter added to the
estimator is an option without touching this module. :func:`estimator_params`
turns parsed options back into the estimator's parameters.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sklearn.utils._param_validation import Interval

from . import __version__
from .oversampler import GANOversampler

__all__ = ["OWN_OPTIONS", "PROG", "build_parser", "estimator_params"]

PROG = "gan-augment"

OWN_OPTIONS = {
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
        if name in OWN_OPTIONS:
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
        elif "array-like" in constraints:
            # A sequence, or one of its string options ('auto'): one value or more.
            kwargs.update(nargs="+", type=_scalar(allow_none), metavar="VALUE")
        elif isinstance(default, (int, float)):
            kwargs.update(type=_number(type(default), allow_none),
                          metavar=type(default).__name__.upper())
        elif default is None and str in constraints:  # paths
            kwargs.update(type=str, metavar="PATH")
        else:  # 'auto'-like strings, None-default values
            kwargs.update(type=_scalar(allow_none), metavar=name.split("_")[-1].upper())
        group.add_argument("--" + name.replace("_", "-"), **kwargs)


def estimator_params(args: argparse.Namespace) -> dict[str, Any]:
    """The constructor parameters given on the command line, typed like the defaults."""
    defaults = GANOversampler().get_params(deep=False)
    params = {}
    for name, default in defaults.items():
        if name in OWN_OPTIONS or not hasattr(args, name):
            continue
        value = getattr(args, name)
        if isinstance(value, list):
            # One string ('auto', 'none' read as None) stands for itself.
            single = len(value) == 1 and (value[0] is None or isinstance(value[0], str))
            value = value[0] if single else tuple(value)
        params[name] = value
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
