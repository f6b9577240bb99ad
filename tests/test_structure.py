"""The package's structure: import hygiene, the one seeding and category rules, old files."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gan_augment import GANOversampler
from gan_augment.categories import CategoryEncoding, unique_values
from gan_augment.fitted import FittedModel

PACKAGE = Path(__file__).parents[1] / "gan_augment"
DATA = Path(__file__).parent / "data"


def test_import_pulls_in_neither_opacus_nor_the_privacy_layer():
    # Nor Dask, an extra that only to_dask and the user's joblib backend use.
    code = (
        "import sys, gan_augment; print(sorted(m for m in sys.modules if m.startswith("
        "('opacus', 'gan_augment.privacy', 'dask', 'distributed', 'gan_augment.partitions'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def _module_imports(path: Path) -> set[str]:
    """Modules imported at a file's top level (not inside functions)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_imports_the_ensemble_learners_or_opacus_at_import(path):
    # imbalanced-learn's own package imports sklearn.ensemble; gan_augment's
    # modules do not, and the privacy report imports its classifiers itself.
    # The privacy package itself (imported only for DP) may import Opacus.
    imports = _module_imports(path)
    if path.parent.name != "privacy":
        assert not any(name.startswith("opacus") for name in imports)
        assert not any(name.startswith("sklearn.ensemble") for name in imports)


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_only_the_estimator_imports_persistence(path):
    # Writers share gan_augment.files.atomic_write, a leaf module.
    if path.name != "oversampler.py":
        assert not any("persistence" in name for name in _module_imports(path))


class TestOneCategoryEncoding:
    def test_values_are_categories_as_python_compares_them(self):
        values, codes, counts = unique_values(np.array([1, "1", 1.0, True, "a"], dtype=object))
        assert values.tolist() == [1, "1", "a"]
        assert codes.tolist() == [0, 1, 0, 0, 2] and counts.tolist() == [3, 1, 1]

    def test_a_column_mixing_1_and_the_string_1_fits_and_keeps_both(self, fast):
        rng = np.random.default_rng(0)
        X = pd.DataFrame({
            "x": rng.normal(size=120),
            "c": pd.Series([1, "1", "b"] * 40, dtype=object),
        })
        y = np.r_[np.zeros(100, int), np.ones(20, int)]
        sampler = GANOversampler(random_state=0, interpolation=0.5, **fast)
        X_res, _ = sampler.fit_resample(X, y)
        assert sampler.transformer_.categories_[0].tolist() == [1, "1", "b"]
        seen = {(type(v), v) for v in X_res["c"]}
        assert seen == {(int, 1), (str, "1"), (str, "b")}

    def test_every_user_agrees_on_the_codes(self, fast):
        # The transformer, interpolation and the neighbour filter all take their
        # categories from gan_augment.categories.
        from gan_augment.tabular.selection import NeighbourFilter
        from gan_augment.tabular.transformer import TabularTransformer

        categorical = np.array([[v] for v in ["b", "a", "c", "a", "b", "a"]], dtype=object)
        continuous = np.zeros((6, 0))
        encoding = CategoryEncoding.fit(categorical, max_categories=3)
        transformer = TabularTransformer(max_categories=3).fit(
            continuous, categorical, np.random.default_rng(0)
        )
        assert transformer.categories_[0].tolist() == encoding.columns[0].values.tolist()
        _, codes = transformer.transform(continuous, categorical, np.random.default_rng(0))
        assert codes.tolist() == encoding.codes(categorical).tolist()
        y = np.array([0, 0, 0, 1, 1, 1])
        f = NeighbourFilter(continuous, categorical, y, n_neighbors=2, max_categories=3)
        assert f.agreement(continuous[:1], categorical[:1], 0).shape == (1,)


class TestFilesOfVersion01:
    """Model files written by gan-augment 0.1 (tests/data, made before the redesign)."""

    def test_a_table_model_loads_and_samples_its_columns(self):
        model = GANOversampler.load(DATA / "v0_1_table.gan", device="cpu")
        expected = pd.read_csv(DATA / "v0_1_table_sample.csv")
        rows = model.sample(10, y="rare")
        assert list(rows.columns) == ["x", "n", "c", "f"]
        assert [str(d) for d in rows.dtypes] == ["float64", "int64", "category", "bool"]
        assert isinstance(model.model_, FittedModel)
        assert model.categorical_features_.tolist() == [2, 3]
        np.testing.assert_allclose(rows["x"], expected["x"], atol=1e-3)
        pd.testing.assert_frame_equal(rows, model.sample(10, y="rare"))

    def test_an_image_model_loads_and_samples_its_layout(self):
        model = GANOversampler.load(DATA / "v0_1_images.gan", device="cpu")
        images = model.sample(4, y=1)
        assert images.shape == (4, 8, 8) and model.image_layout_.order == "NHW"
        np.testing.assert_allclose(
            images, np.load(DATA / "v0_1_images_sample.npy"), atol=1e-3
        )
