"""End-to-end tests of the ``gan-augment`` command line (``gan_augment.cli``)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gan_augment import GANOversampler, __version__
from gan_augment import cli
from gan_augment.cli import build_parser, main
from gan_augment.cli_options import OWN_OPTIONS

needs_pyarrow = pytest.mark.skipif(
    importlib.util.find_spec("pyarrow") is None, reason="pyarrow is not installed"
)

#: The FAST settings of conftest.py, as command-line options.
FAST_ARGS = [
    "--epochs", "2",
    "--batch-size", "50",
    "--embedding-dim", "8",
    "--generator-dims", "16",
    "--discriminator-dims", "16",
    "--pac", "5",
    "--max-modes", "1",
    "--device", "cpu",
    "--random-state", "0",
    "--quiet",
]
N_ROWS, N_MINORITY = 200, 40


@pytest.fixture
def table() -> pd.DataFrame:
    """200 rows: float, int, string target (20% 'yes'), object and bool columns."""
    rng = np.random.default_rng(0)
    target = np.array(["yes"] * N_MINORITY + ["no"] * (N_ROWS - N_MINORITY))
    rng.shuffle(target)
    return pd.DataFrame(
        {
            "x": rng.normal(size=N_ROWS).round(3),
            "count": rng.integers(0, 10, N_ROWS),
            "target": target,  # not last: it must come back where it was
            "color": rng.choice(["red", "green", "blue"], N_ROWS),
            "flag": rng.random(N_ROWS) < 0.3,
        }
    )


@pytest.fixture
def csv(tmp_path: Path, table: pd.DataFrame) -> Path:
    path = tmp_path / "in.csv"
    table.to_csv(path, index=False)
    return path


def run(in_path: Path | str, out_path: Path | str, *extra: str, fast: bool = True) -> int:
    argv = ["fit-resample", str(in_path), "--target", "target", "--out", str(out_path)]
    return main(argv + (FAST_ARGS if fast else []) + list(extra))


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)


def check_balanced(out: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(out.columns) == list(original.columns)
    assert out["target"].value_counts().to_dict() == {"no": 160, "yes": 160}
    # The original rows come first, unchanged; the generated ones are 'yes'.
    pd.testing.assert_frame_equal(out.iloc[:N_ROWS], original)
    assert (out["target"].iloc[N_ROWS:] == "yes").all()
    assert set(out["color"]) <= {"red", "green", "blue"}


@pytest.mark.parametrize(
    "suffix", [".csv", pytest.param(".parquet", marks=needs_pyarrow)]
)
def test_round_trip(csv, tmp_path, capsys, suffix):
    out_path = tmp_path / f"out{suffix}"
    assert run(csv, out_path) == 0
    out = read(out_path)
    check_balanced(out, pd.read_csv(csv))
    assert out["flag"].dtype == bool and out["count"].dtype == np.int64
    # One summary line on stderr: rows in, rows added per class, seconds.
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "200 rows in" in err[0] and "yes: +120" in err[0] and err[0].endswith(" s")
    # Nothing else is left in the folder (no temporary files).
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.csv", out_path.name])


@needs_pyarrow
def test_parquet_input(csv, tmp_path):
    parquet = tmp_path / "in.parquet"
    pd.read_csv(csv).to_parquet(parquet)
    assert run(parquet, tmp_path / "out.csv") == 0
    check_balanced(pd.read_csv(tmp_path / "out.csv"), pd.read_csv(csv))


def test_categorical(csv, tmp_path):
    out_path = tmp_path / "out.csv"
    assert run(csv, out_path, "--categorical", "color", "flag", "count") == 0
    out = pd.read_csv(out_path)
    check_balanced(out, pd.read_csv(csv))
    # 'count' was modelled as a category: generated values are seen values.
    assert set(out["count"].iloc[N_ROWS:]) <= set(out["count"].iloc[:N_ROWS])


def test_same_seed_same_file(csv, tmp_path):
    assert run(csv, tmp_path / "a.csv") == 0
    assert run(csv, tmp_path / "b.csv") == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_sampling_strategy_float(csv, tmp_path):
    assert run(csv, tmp_path / "out.csv", "--sampling-strategy", "0.5") == 0
    counts = pd.read_csv(tmp_path / "out.csv")["target"].value_counts().to_dict()
    assert counts == {"no": 160, "yes": 80}


def test_anchored_generator(csv, tmp_path):
    args = build_parser().parse_args(
        "fit-resample in.csv --target y --out out.csv --generator anchored".split()
    )
    assert cli.estimator_params(args)["generator"] == "anchored"
    assert run(csv, tmp_path / "out.csv", "--generator", "anchored") == 0
    check_balanced(read(tmp_path / "out.csv"), pd.read_csv(csv))
    assert run(csv, tmp_path / "bad.csv", "--generator", "smote") == 2


def test_options_typed_by_default():
    """Every constructor parameter has an option, typed like its default."""
    args = build_parser().parse_args(
        "fit-resample in.csv --target y --out out.csv --epochs 3 "
        "--sampling-strategy 0.5 --generator-dims 16 32 --early-stopping "
        "--max-categories none --random-state 0 --checkpoint-dir 123 "
        "--learning-rate 1e-3 --loss hinge --no-resume".split()
    )
    given = vars(args)
    assert given["epochs"] == 3 and given["sampling_strategy"] == 0.5
    assert given["generator_dims"] == [16, 32] and given["early_stopping"] is True
    assert given["max_categories"] is None and given["random_state"] == 0
    assert given["checkpoint_dir"] == "123" and given["learning_rate"] == 0.001
    assert given["loss"] == "hinge" and given["resume"] is False
    assert "batch_size" not in given  # unset options keep the estimator default
    assert cli.estimator_params(args)["generator_dims"] == (16, 32)


def test_size_options_take_numbers_or_a_rule():
    args = build_parser().parse_args(
        "fit-resample in.csv --target y --out out.csv --generator-dims data "
        "--discriminator-dims 64 --batch-size data --image-shape 28 28".split()
    )
    params = cli.estimator_params(args)
    assert params["generator_dims"] == "data" and params["discriminator_dims"] == (64,)
    assert params["batch_size"] == "data" and params["image_shape"] == (28, 28)


def test_every_parameter_is_an_option(capsys):
    with pytest.raises(SystemExit):
        main(["fit-resample", "--help"])
    help_text = capsys.readouterr().out
    for name in GANOversampler().get_params():
        option = OWN_OPTIONS.get(name, "--" + name.replace("_", "-"))
        assert option in help_text


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"gan-augment {__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["fit-resample", "--help"]])
def test_help(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "gan-augment fit-resample" in out


def test_console_script():
    script = Path(sys.executable).parent / "gan-augment"  # this environment's script
    if not script.exists():
        script = shutil.which("gan-augment")
    assert script, "the gan-augment console script is not installed"
    done = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"gan-augment {__version__}"


USER_ERRORS = {
    "missing input": (["fit-resample", "{tmp}/missing.csv", "--target", "target",
                       "--out", "{tmp}/out.csv"], "does not exist"),
    "unknown target": (["fit-resample", "{csv}", "--target", "nope",
                        "--out", "{tmp}/out.csv"], "--target column 'nope'"),
    "unknown categorical": (["fit-resample", "{csv}", "--target", "target",
                             "--out", "{tmp}/out.csv", "--categorical", "color", "nope"],
                            "['nope']"),
    "target as categorical": (["fit-resample", "{csv}", "--target", "target",
                               "--out", "{tmp}/out.csv", "--categorical", "target"],
                              "target column"),
    "bad loss": (["fit-resample", "{csv}", "--target", "target",
                  "--out", "{tmp}/out.csv", "--loss", "bogus"], "'loss' parameter"),
    "bad epochs": (["fit-resample", "{csv}", "--target", "target",
                    "--out", "{tmp}/out.csv", "--epochs", "many"], "'epochs' parameter"),
    "zero epochs": (["fit-resample", "{csv}", "--target", "target",
                     "--out", "{tmp}/out.csv", "--epochs", "0"], "'epochs' parameter"),
    "batch not a multiple of pac": (["fit-resample", "{csv}", "--target", "target",
                                     "--out", "{tmp}/out.csv", "--batch-size", "52"],
                                    "multiple of pac"),
    "bad input extension": (["fit-resample", "{tmp}/in.txt", "--target", "target",
                             "--out", "{tmp}/out.csv"], "extension '.txt'"),
    "bad output extension": (["fit-resample", "{csv}", "--target", "target",
                              "--out", "{tmp}/out.xlsx"], "extension '.xlsx'"),
    "missing output folder": (["fit-resample", "{csv}", "--target", "target",
                               "--out", "{tmp}/nope/out.csv"], "does not exist"),
    "unreadable input": (["fit-resample", "{tmp}/bad.parquet", "--target", "target",
                          "--out", "{tmp}/out.csv"], "cannot read"),
    "input is a folder": (["fit-resample", "{tmp}/folder.csv", "--target", "target",
                           "--out", "{tmp}/out.csv"], "is a folder"),
    "output is a folder": (["fit-resample", "{csv}", "--target", "target",
                            "--out", "{tmp}/folder.csv"], "is a folder"),
    "checkpoint dir is a file": (["fit-resample", "{csv}", "--target", "target",
                                  "--out", "{tmp}/out.csv", "--checkpoint-dir",
                                  "{tmp}/in.txt"], "is not a folder"),
    # The library's own input validation, before training: the user's data.
    "NaN in a column": (["fit-resample", "{tmp}/nan.csv", "--target", "target",
                         "--out", "{tmp}/out.csv"], "NaN or infinity in column(s) ['x']"),
    "class of one row": (["fit-resample", "{tmp}/one.csv", "--target", "target",
                          "--out", "{tmp}/out.csv"], "fewer than 2 samples"),
}


@pytest.mark.parametrize("argv, expected", USER_ERRORS.values(), ids=USER_ERRORS)
def test_user_errors(csv, table, tmp_path, capsys, argv, expected):
    (tmp_path / "in.txt").write_text("x,target\n1,a\n")
    (tmp_path / "bad.parquet").write_bytes(b"not a parquet file")
    (tmp_path / "folder.csv").mkdir()
    table.assign(x=table["x"].where(table.index != 7)).to_csv(tmp_path / "nan.csv", index=False)
    table.assign(target=table["target"].where(table.index != 0, "rare")).to_csv(
        tmp_path / "one.csv", index=False
    )
    before = sorted(tmp_path.iterdir())
    argv = [a.format(tmp=tmp_path, csv=csv) for a in argv]
    # The fast options go first so that the case's own value wins.
    assert main(argv[:6] + FAST_ARGS + argv[6:]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gan-augment: error: "), err
    assert expected in err and "Traceback" not in err
    assert sorted(tmp_path.iterdir()) == before  # no output, no temporary file


def test_argparse_usage_error(capsys):
    """Values of the wrong type are argparse's usage errors: status 2 too."""
    with pytest.raises(SystemExit) as exit_info:
        main(["fit-resample", "in.csv", "--target", "y", "--out", "o.csv",
              "--conv-width", "many"])
    assert exit_info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


# -- synthesize --------------------------------------------------------------------


def test_synthesize_writes_n_rows_with_dp_and_a_report(csv, tmp_path, capsys):
    pytest.importorskip("opacus")
    out, report_path = tmp_path / "syn.csv", tmp_path / "report.json"
    args = [a for a in FAST_ARGS if a not in ("--pac", "5")]
    code = main(["synthesize", str(csv), "--target", "target", "--n", "150",
                 "--epsilon", "3", "--dp-domain", '{"x": [-4, 4], "count": [0, 9], "color": ["red", "green", "blue"]}',
                 "--out", str(out), "--report", str(report_path), *args])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out)
    assert len(table) == 150 and list(table.columns) == ["x", "count", "color", "flag", "target"]
    assert set(table["target"]) <= {"yes", "no"}
    assert table["x"].between(-4, 4).all()
    metrics = json.loads(report_path.read_text())
    assert 0 < metrics["dp_epsilon_spent"] <= 3
    assert {"exact_copy_rate", "dcr_ratio_p5", "mia_distance_auc"} <= set(metrics)
    assert "epsilon spent" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--n", "-5"], "--n must be a non-negative number of rows"),
        (["--n", "5", "--report", "{tmp}/r.txt"], "--report must name a .json file"),
        (["--n", "5", "--epsilon", "1", "--dp-method", "dp-sgd"], "pac=5"),
        (["--n", "5", "--dp-domain", '{"nope": [0, 1]}', "--epsilon", "1", "--pac", "1"],
         "not a column of X"),
        (["--n", "1", "--report", "{tmp}/r.json"], "--report needs --n of at least 2"),
        (["--n", "5", "--report", "{tmp}/r.json", "--holdout-fraction", "1.5"],
         "--holdout-fraction must be between 0 and 1"),
    ],
)
def test_synthesize_usage_errors(csv, tmp_path, capsys, extra, message):
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    code = main(["synthesize", str(csv), "--target", "target", "--out",
                 str(tmp_path / "o.csv"), *FAST_ARGS, *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_dp_domain_must_be_a_json_object(csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["synthesize", str(csv), "--target", "target", "--n", "5", "--out",
              str(tmp_path / "o.csv"), "--dp-domain", "[1, 2]"])
    assert exit_info.value.code == 2
    assert "must be a JSON object" in capsys.readouterr().err


# -- failures: not the user's mistake, exit status 1 -------------------------------


def _raise(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.fixture
def log_dir(tmp_path, monkeypatch) -> Path:
    """The system temporary folder, where a failure's log file goes, for this test
    (torch may put its own files there too)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _synthesize_argv(csv: Path, out: Path, *extra: str) -> list[str]:
    return ["synthesize", str(csv), "--target", "target", "--n", "20", "--out", str(out),
            *FAST_ARGS, *extra]


#: (command, what to patch, what it raises, the start of the message).
FAILURES = {
    "diverged training": (
        "fit-resample", "gan_augment.fitting.train",
        FloatingPointError("GAN training diverged (NaN or infinite values) 4 times"),
        "training and resampling failed: FloatingPointError: GAN training diverged",
    ),
    "diverged training, synthesize": (
        "synthesize", "gan_augment.fitting.train",
        FloatingPointError("GAN training diverged"),
        "training failed: FloatingPointError: GAN training diverged",
    ),
    "a bug": (
        "fit-resample", "gan_augment.oversampler.fit_model", RuntimeError("boom"),
        "training and resampling failed: RuntimeError: boom",
    ),
    # A ValueError from inside training is no usage error: the input was accepted.
    "a ValueError while training": (
        "fit-resample", "gan_augment.fitting.train", ValueError("bad internal state"),
        "training and resampling failed: ValueError: bad internal state",
    ),
    # Was "cannot write OUT": the output had nothing to do with it.
    "an OSError while training": (
        "synthesize", "gan_augment.fitting.train",
        PermissionError(13, "Permission denied", "ckpt/checkpoint.pt"),
        "training failed: PermissionError: [Errno 13] Permission denied: 'ckpt/checkpoint.pt'",
    ),
    "a bug while generating": (
        "synthesize", "gan_augment.export.iter_synthetic", KeyError("column"),
        "generating '{out}' failed: KeyError: column",
    ),
    "a bug in a check": (
        "fit-resample", "gan_augment.oversampler.check_class_counts", RuntimeError("oops"),
        "checking the input failed: RuntimeError: oops",
    ),
    "a bug in the command": (
        "fit-resample", "gan_augment.cli._write", AttributeError("no such thing"),
        "fit-resample failed: AttributeError: no such thing",
    ),
}


@pytest.mark.parametrize("command, target, exc, message", FAILURES.values(), ids=FAILURES)
def test_failures_are_one_line_and_a_log(
    csv, tmp_path, capsys, monkeypatch, log_dir, command, target, exc, message
):
    monkeypatch.setattr(target, _raise(exc))
    out = tmp_path / "out.csv"
    if command == "fit-resample":
        code = run(csv, out)
    else:
        code = main(_synthesize_argv(csv, out))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"gan-augment: error: {message.format(out=out)}"), err
    # The line names the log file, which holds the traceback and the command.
    logs = list(log_dir.glob("gan-augment-*.log"))
    assert len(logs) == 1
    assert err.rstrip().endswith(f"the traceback is in '{logs[0]}' (--debug prints it)")
    log = logs[0].read_text()
    assert "Traceback (most recent call last)" in log
    assert f"{type(exc).__name__}: " in log and f"$ gan-augment {command} " in log
    assert not out.exists()


def test_debug_prints_the_traceback(csv, tmp_path, capsys, monkeypatch, log_dir):
    monkeypatch.setattr("gan_augment.fitting.train", _raise(FloatingPointError("diverged")))
    assert run(csv, tmp_path / "out.csv", "--debug") == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "Traceback (most recent call last):"
    assert "FloatingPointError: diverged" in err
    # The one line comes last, where it is seen; no log file is written.
    assert err[-1] == (
        "gan-augment: error: training and resampling failed: FloatingPointError: diverged"
    )
    assert not list(log_dir.glob("gan-augment-*"))


@pytest.mark.parametrize("command", ["fit-resample", "synthesize"])
def test_cannot_write_the_output(csv, tmp_path, capsys, monkeypatch, log_dir, command):
    """An OSError writing OUT keeps its message, and now exits 1: the path was fine."""
    full = _raise(OSError(28, "No space left on device"))
    out = tmp_path / "out.csv"
    if command == "fit-resample":
        monkeypatch.setattr("gan_augment.cli.atomic_write", full)
        code = run(csv, out)
    else:
        monkeypatch.setattr("gan_augment.export.atomic_write", full)
        code = main(_synthesize_argv(csv, out))
    err = capsys.readouterr().err
    assert code == 1
    assert err == f"gan-augment: error: cannot write '{out}': [Errno 28] No space left on device\n"
    assert not list(log_dir.glob("gan-augment-*"))  # the message says it all


def test_missing_opacus_is_a_usage_error(csv, tmp_path, capsys, monkeypatch):
    real = cli._has_module
    monkeypatch.setattr(cli, "_has_module", lambda name: name != "opacus" and real(name))
    argv = [a for a in FAST_ARGS if a not in ("--pac", "5")]
    code = main(["fit-resample", str(csv), "--target", "target", "--out",
                 str(tmp_path / "out.csv"), "--epsilon", "1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert 'needs Opacus: pip install "gan-augment[privacy]"' in err


def test_parquet_output_needs_pyarrow_before_training(csv, tmp_path, capsys, monkeypatch):
    real = cli._has_module
    monkeypatch.setattr(cli, "_has_module", lambda name: name != "pyarrow" and real(name))
    monkeypatch.setattr("gan_augment.oversampler.fit_model", _raise(AssertionError("trained")))
    assert run(csv, tmp_path / "out.parquet") == 2
    assert "needs pyarrow" in capsys.readouterr().err


@pytest.mark.parametrize(
    "in_suffix, out_suffix",
    [
        (".csv", ".csv"),
        pytest.param(".csv", ".parquet", marks=needs_pyarrow),
        # CSV loses the category dtype; the rows read back get it again.
        pytest.param(".parquet", ".csv", marks=needs_pyarrow),
    ],
)
def test_report_scores_the_written_rows(
    table, tmp_path, capsys, monkeypatch, in_suffix, out_suffix
):
    """--report judges the rows in OUT, not a second sample of the model."""
    import gan_augment.privacy

    seen = {}
    real_report = gan_augment.privacy.report

    def report(train, holdout, synthetic, **kwargs):
        seen.update(train=train, synthetic=synthetic)
        return real_report(train, holdout, synthetic, **kwargs)

    monkeypatch.setattr(gan_augment.privacy, "report", report)
    in_path = tmp_path / f"in{in_suffix}"
    if in_suffix == ".csv":
        table.to_csv(in_path, index=False)
    else:
        table.astype({"color": "category"}).to_parquet(in_path)
    out, report_path = tmp_path / f"syn{out_suffix}", tmp_path / "report.json"
    # More rows than the 160 trained on: the report reads the first 160 of them.
    code = main(["synthesize", str(in_path), "--target", "target", "--n", "300",
                 "--out", str(out), "--report", str(report_path), *FAST_ARGS])
    assert code == 0, capsys.readouterr().err
    written = read(out)
    assert len(written) == 300 and len(seen["train"]) == 160
    pd.testing.assert_frame_equal(
        seen["synthetic"].reset_index(drop=True), written.iloc[:160], check_dtype=False,
        check_categorical=False,
    )
    assert seen["synthetic"].dtypes.to_dict() == seen["train"].dtypes.to_dict()
    assert json.loads(report_path.read_text())["exact_copy_rate"] >= 0
