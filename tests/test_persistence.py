"""Safe save/load: round trips, and clear errors for every kind of bad file."""

from __future__ import annotations

import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from gan_augment import GANOversampler, persistence

from .test_oversampler import _imbalanced, mixed_frame


@pytest.fixture
def fitted_frame(fast):
    X, y = mixed_frame()
    sampler = GANOversampler(random_state=0, **fast)
    sampler.fit_resample(X, y)
    return sampler


def test_frame_round_trip_same_samples_dtypes_and_attributes(fitted_frame, tmp_path):
    path = fitted_frame.save(tmp_path / "model.gan")
    loaded = GANOversampler.load(path, device="cpu")
    pd.testing.assert_frame_equal(fitted_frame.sample(40, "rare"), loaded.sample(40, "rare"))
    assert loaded.get_params() == {**fitted_frame.get_params(), "device": "cpu"}
    pd.testing.assert_frame_equal(loaded.history_, fitted_frame.history_)
    np.testing.assert_array_equal(loaded.classes_, fitted_frame.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, fitted_frame.feature_names_in_)
    assert loaded.sampling_strategy_ == fitted_frame.sampling_strategy_
    assert loaded.device_.type == "cpu" and not loaded.generator_.training


def test_array_round_trip_with_bytes_categories_and_int_labels(fast, tmp_path):
    rng = np.random.default_rng(0)
    X = np.empty((90, 2), dtype=object)
    X[:, 0] = rng.normal(size=90)
    X[:, 1] = rng.choice([b"F", b"M", b"I"], 90)
    y = np.array([3] * 70 + [7] * 20, dtype=np.int32)
    sampler = GANOversampler(categorical_features=[1], random_state=0, **fast)
    sampler.fit_resample(X, y)
    loaded = GANOversampler.load(sampler.save(tmp_path / "m.gan"), device="cpu")
    a, b = sampler.sample(30, 7), loaded.sample(30, 7)
    np.testing.assert_array_equal(a, b)
    assert set(b[:, 1]) <= {b"F", b"M", b"I"} and loaded.classes_.dtype == np.int32


def test_pickle_and_joblib_still_work(fitted_frame, tmp_path):
    import joblib

    clone = pickle.loads(pickle.dumps(fitted_frame))
    pd.testing.assert_frame_equal(clone.sample(5, "rare"), fitted_frame.sample(5, "rare"))
    joblib.dump(fitted_frame, tmp_path / "m.joblib")
    clone = joblib.load(tmp_path / "m.joblib")
    pd.testing.assert_frame_equal(clone.sample(5, "rare"), fitted_frame.sample(5, "rare"))


def test_weights_load_with_weights_only(fitted_frame, tmp_path, monkeypatch):
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    GANOversampler.load(fitted_frame.save(tmp_path / "m.gan"), device="cpu")
    assert seen["weights_only"] is True and seen["map_location"] == torch.device("cpu")


def test_unfitted_model_cannot_be_saved(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        GANOversampler().save(tmp_path / "m.gan")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.gan"):
        GANOversampler.load(tmp_path / "nothere.gan")


def test_truncated_file(fitted_frame, tmp_path):
    path = fitted_frame.save(tmp_path / "m.gan")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"m\.gan.*truncated, corrupted"):
        GANOversampler.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "notes.gan"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.gan"):
        GANOversampler.load(path)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="not a gan-augment model file"):
        GANOversampler.load(tmp_path / "other.zip")


def _rewrite(path, metadata=None, weights=None):
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("metadata.json"))
        blob = archive.read("weights.pt")
    if metadata:
        meta.update(metadata)
    blob = weights(blob) if weights else blob
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(meta))
        archive.writestr("weights.pt", blob)


def test_corrupted_weights(fitted_frame, tmp_path):
    path = fitted_frame.save(tmp_path / "m.gan")
    _rewrite(path, weights=lambda b: b[:100] + bytes([b[100] ^ 0xFF]) + b[101:])
    with pytest.raises(ValueError, match=r"m\.gan.*SHA-256 mismatch"):
        GANOversampler.load(path)


def test_corrupted_bytes_inside_the_archive(fitted_frame, tmp_path):
    path = fitted_frame.save(tmp_path / "m.gan")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"m\.gan"):
        GANOversampler.load(path)


def test_newer_format_version(fitted_frame, tmp_path):
    path = fitted_frame.save(tmp_path / "m.gan")
    _rewrite(path, metadata={"format_version": persistence.FORMAT_VERSION + 1})
    with pytest.raises(ValueError, match=r"m\.gan.*format version 2.*Upgrade gan-augment"):
        GANOversampler.load(path)


def test_unsaveable_parameters_warn(fast, tmp_path):
    X, y = _imbalanced()
    sampler = GANOversampler(
        sampling_strategy=lambda y: {1: 300}, random_state=np.random.RandomState(0), **fast
    )
    sampler.fit_resample(X, y)
    with pytest.warns(UserWarning) as record:
        path = sampler.save(tmp_path / "m.gan")
    messages = " ".join(str(w.message) for w in record)
    assert "callable" in messages and "RandomState" in messages
    loaded = GANOversampler.load(path, device="cpu")
    assert loaded.sampling_strategy == "auto" and loaded.random_state is None
    assert loaded.sampling_strategy_ == sampler.sampling_strategy_


def test_save_is_atomic(fitted_frame, tmp_path, monkeypatch):
    path = fitted_frame.save(tmp_path / "m.gan")
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(KeyboardInterrupt):
        fitted_frame.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.gan"]


def test_round_trip_with_pooled_rare_categories(fast, tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"x": rng.normal(size=200), "city": rng.choice([f"c{i}" for i in range(12)], 200)}
    )
    y = np.array([0] * 150 + [1] * 50)
    sampler = GANOversampler(max_categories=4, random_state=0, **fast)
    sampler.fit_resample(X, y)
    assert sampler.transformer_.pooled_[0] is not None
    loaded = GANOversampler.load(sampler.save(tmp_path / "m.gan"), device="cpu")
    a, b = sampler.sample(200, 1), loaded.sample(200, 1)
    pd.testing.assert_frame_equal(a, b)
    assert set(b["city"]) <= set(X["city"]) and b["city"].nunique() > 3
