"""Synthetic data sets: class counts, dtypes, streaming to CSV and Parquet, atomicity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gan_augment import GANOversampler
from gan_augment.export import class_counts, write_synthetic


@pytest.fixture(scope="module")
def model_and_data():
    from .conftest import FAST

    rng = np.random.default_rng(0)
    n = 300
    y = np.where(rng.random(n) < 0.2, "rare", "common")
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(["a", "b"], n)),
        }
    )
    return GANOversampler(**FAST, random_state=0).fit(X, y), X, y


def test_fit_trains_without_generating(model_and_data):
    model, X, y = model_and_data
    assert model.n_steps_ > 0 and hasattr(model, "generator_")


@pytest.mark.parametrize(
    "distribution, expected",
    [("balanced", {"common": 50, "rare": 50}), ({"rare": 3, "common": 1}, {"common": 25, "rare": 75}),
     ({"rare": 1}, {"common": 0, "rare": 100})],
)
def test_class_distributions(model_and_data, distribution, expected):
    model, _, _ = model_and_data
    X_syn, y_syn = model.sample_dataset(100, class_distribution=distribution)
    assert dict(zip(*np.unique(y_syn, return_counts=True))) == {
        k: v for k, v in expected.items() if v
    }
    assert len(X_syn) == 100


def test_original_distribution_follows_the_training_shares(model_and_data):
    model, _, y = model_and_data
    counts = class_counts(model.model_, 1000, "original")
    share = (y == "rare").mean()
    assert counts.sum() == 1000
    assert counts[list(model.classes_).index("rare")] == pytest.approx(1000 * share, abs=1)


def test_dataset_keeps_dtypes_and_is_reproducible(model_and_data):
    model, X, _ = model_and_data
    a, ya = model.sample_dataset(250)
    b, yb = model.sample_dataset(250)
    assert a.dtypes.equals(X.dtypes)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize(
    "distribution, match",
    [("uniform", "must be 'original', 'balanced'"), ({"nope": 1}, "not classes seen"),
     ({"rare": -1}, "non-negative"), ({"rare": 0}, "positive sum")],
)
def test_bad_distributions(model_and_data, distribution, match):
    model, _, _ = model_and_data
    with pytest.raises(ValueError, match=match):
        model.sample_dataset(10, class_distribution=distribution)


def test_bad_n_samples(model_and_data):
    model, _, _ = model_and_data
    with pytest.raises(ValueError, match="non-negative integer"):
        model.sample_dataset(-1)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_streamed_file_holds_every_chunk(model_and_data, tmp_path, suffix):
    pytest.importorskip("pyarrow")
    model, X, _ = model_and_data
    path = write_synthetic(
        model.model_, tmp_path / f"syn{suffix}", 1050, chunk_size=200, target="label"
    )
    table = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert len(table) == 1050 and list(table.columns) == ["x", "k", "c", "label"]
    if suffix == ".parquet":
        assert table.drop(columns="label").dtypes.equals(X.dtypes)
    X_mem, y_mem = model.sample_dataset(1050)
    assert sorted(table["label"]) == sorted(y_mem)


def test_an_interrupted_write_leaves_no_file(model_and_data, tmp_path, monkeypatch):
    model, _, _ = model_and_data
    calls = {"n": 0}
    generate = model.model_.generate

    def failing(*args):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return generate(*args)

    monkeypatch.setattr(model.model_, "generate", failing)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic(model.model_, tmp_path / "syn.csv", 1000, chunk_size=100)
    assert list(tmp_path.iterdir()) == []


def test_write_dataset_refuses_unknown_extension(model_and_data, tmp_path):
    model, _, _ = model_and_data
    with pytest.raises(ValueError, match=".csv or .parquet"):
        model.write_dataset(tmp_path / "syn.xlsx", 10)


def test_sample_dataset_after_save_and_load(model_and_data, tmp_path):
    model, _, _ = model_and_data
    loaded = GANOversampler.load(model.save(tmp_path / "m.gan"), device="cpu")
    pd.testing.assert_frame_equal(loaded.sample_dataset(50)[0], model.sample_dataset(50)[0])
