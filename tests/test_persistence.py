"""Safe save/load: round trips, and clear errors for every kind of bad file."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gan_augment import GANOversampler, persistence
from gan_augment.fitted import FittedModel

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


# -- hostile files: metadata and weights that lie -----------------------------------

DATA = Path(__file__).parent / "data"


@dataclass
class _Parts:
    """A saved model taken apart, for a test to change before it is put back.

    ``params`` and ``fitted`` are decoded (None drops them from the file);
    ``metadata`` holds the other top-level entries, and any raw entry set in it
    (``"params"``, ``"fitted"``) is written as it is. ``weights`` is what
    ``weights.pt`` holds; its SHA-256 is recomputed unless ``weights_sha256``
    was removed. ``members`` are extra archive members; ``metadata_bytes``, if
    set, replaces the JSON altogether.
    """

    metadata: dict
    params: dict | None
    fitted: dict | None
    weights: dict
    members: dict = field(default_factory=dict)
    metadata_bytes: bytes | None = None


def _hostile(source: Path, target: Path, edit) -> Path:
    """Copy the model at ``source`` to ``target`` with ``edit(parts)`` applied."""
    with zipfile.ZipFile(source) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        blob = archive.read("weights.pt")
    parts = _Parts(
        metadata={k: v for k, v in metadata.items() if k not in ("params", "fitted")},
        params=persistence._decode(metadata["params"]),
        fitted=persistence._decode(metadata["fitted"]),
        weights=torch.load(io.BytesIO(blob), weights_only=True),
    )
    edit(parts)
    buffer = io.BytesIO()
    torch.save(parts.weights, buffer)
    blob = buffer.getvalue()
    metadata = dict(parts.metadata)
    for name, value in (("params", parts.params), ("fitted", parts.fitted)):
        if name not in metadata and value is not None:
            metadata[name] = persistence._encode(value)
    if "weights_sha256" in metadata:
        metadata["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", parts.metadata_bytes or json.dumps(metadata))
        archive.writestr("weights.pt", blob)
        for name, data in parts.members.items():
            archive.writestr(name, data)
    return target


@pytest.fixture(scope="module")
def saved_table(tmp_path_factory):
    """One table model with continuous and categorical columns, fitted and saved once."""
    from .conftest import FAST

    X, y = mixed_frame()
    sampler = GANOversampler(random_state=0, **FAST)
    sampler.fit(X, y)
    return sampler.save(tmp_path_factory.mktemp("saved") / "table.gan")


def _set(where: str, key, value):
    def edit(parts):
        getattr(parts, where)[key] = value

    return edit


def _drop(where: str, key):
    def edit(parts):
        del getattr(parts, where)[key]

    return edit


def _drop_part(name: str):
    def edit(parts):
        setattr(parts, name, None)

    return edit


def _generator(change):
    def edit(parts):
        change(parts.weights["generator"])

    return edit


def _first_key(state):
    return next(iter(state))


def _transformer_column(parts):
    column = parts.fitted["transformer"]["columns"][0]
    column["stds"] = np.append(column["stds"], 1.0)


def _flip_schema(parts):
    mask = parts.fitted["schema"]["categorical"]
    mask[0] = not mask[0]


def _nan_weight(state):
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = torch.full_like(state[name], float("nan"))


def _raw_metadata(data: bytes):
    def edit(parts):
        parts.metadata_bytes = data

    return edit


def _raw(key, value):
    def edit(parts):
        parts.metadata[key] = value

    return edit


# (what is wrong, edit, words the message must hold)
TABLE_CASES = {
    # wrong types
    "batch_size-lots": (_set("params", "batch_size", "lots"), "batch_size"),
    "generator_dims-abc": (_set("params", "generator_dims", "abc"), "generator_dims"),
    "learning_rate-negative": (_set("params", "learning_rate", -1.0), "learning_rate"),
    "classes_-a-number": (_set("fitted", "classes_", 3), "classes_"),
    "params-a-list": (_raw("params", [1, 2]), "parameters are invalid"),
    "fitted-a-number": (_raw("fitted", 5), "content is invalid"),
    "unknown-tag": (_raw("fitted", {"__nope__": 1}), "unknown tagged value"),
    "format_version-true": (_raw("format_version", True), "format version"),
    # absurd sizes
    "generator_dims-1e9": (_set("params", "generator_dims", (10**9,)), "architecture needs"),
    "embedding_dim-1e9": (_set("params", "embedding_dim", 10**9), "architecture needs"),
    "generator_dims-1e5-layers": (_set("params", "generator_dims", (1,) * 10**5), "layers"),
    # missing keys
    "no-fitted": (_drop_part("fitted"), "'fitted' is missing"),
    "no-params": (_drop_part("params"), "'params' is missing"),
    "no-transformer": (_drop("fitted", "transformer"), "'transformer' is missing"),
    "no-history": (_drop("fitted", "history_"), "history_"),
    "no-generator-weights": (_drop("weights", "generator"), "'generator' is missing"),
    "no-generation-weights": (_drop("weights", "generation_weights"), "generation_weights"),
    "no-weights_sha256": (_drop("metadata", "weights_sha256"), "weights_sha256"),
    "missing-tensor": (_generator(lambda s: s.pop(_first_key(s))), "missing"),
    # extra keys
    "unknown-parameter": (_set("params", "colour", "red"), "colour"),
    "extra-tensor": (
        _generator(lambda s: s.__setitem__("extra.weight", torch.zeros(3))), "extra.weight"
    ),
    "extra-weights-entry": (_set("weights", "payload", torch.zeros(3)), "payload"),
    "extra-member": (
        lambda parts: parts.members.update({"run.sh": b"echo hi"}), "run.sh"
    ),
    # content that does not fit together
    "generator_dims-other-width": (_set("params", "generator_dims", (32,)), "architecture"),
    "nan-weights": (_generator(_nan_weight), "not finite"),
    "schema-against-transformer": (_flip_schema, "schema"),
    "n_pairs": (_set("fitted", "n_pairs", 1), "n_pairs"),
    "n_classes": (_set("fitted", "n_classes", 5), "n_classes"),
    "mixture-lengths": (_transformer_column, "mixture"),
    "class_weights-length": (_set("fitted", "class_weights", [1.0]), "class_weights"),
    "generation_weights-shape": (
        _set("weights", "generation_weights", torch.ones(1, 1)), "generation_weights"
    ),
    # corrupted JSON
    "json-not-json": (_raw_metadata(b"{not json"), "metadata is corrupted"),
    "json-not-utf8": (_raw_metadata(b"\xff\xfe{}"), "metadata is corrupted"),
    "json-deeply-nested": (_raw_metadata(b"[" * 100_000 + b"]" * 100_000), "corrupted"),
    "json-not-an-object": (_raw_metadata(b"[1, 2]"), "not a gan-augment model file"),
}


def _architecture(key, value):
    def edit(parts):
        parts.params.update(embedding_dim="auto", generator_dims="auto")
        parts.fitted["architecture"][key] = value

    return edit


TABLE_CASES.update({
    # "auto" sizes come from the saved architecture
    "architecture-negative": (_architecture("generator_dims", [-1]), "not positive integers"),
    "architecture-text": (_architecture("embedding_dim", "big"), "not positive integers"),
    "architecture-extra": (_architecture("depth", 3), "not a dictionary of sizes"),
    "architecture-other-width": (_architecture("generator_dims", [32]), "architecture needs"),
    "architecture-1e9": (_architecture("embedding_dim", 10**9), "architecture needs"),
})


@pytest.mark.parametrize("case", list(TABLE_CASES))
def test_a_hostile_table_file_is_a_value_error_naming_it(saved_table, tmp_path, case):
    edit, words = TABLE_CASES[case]
    path = _hostile(saved_table, tmp_path / f"{case}.gan", edit)
    with pytest.raises(ValueError, match=re.escape(str(path))) as caught:
        GANOversampler.load(path, device="cpu")
    assert words in str(caught.value)


def _layout(key, value):
    def edit(parts):
        parts.fitted["image_layout"][key] = value

    return edit


IMAGE_CASES = {
    "layout-order": (_layout("order", "XYZ"), "layout"),
    "layout-height-text": (_layout("height", "tall"), "layout"),
    "layout-extra-field": (_layout("depth", 3), "depth"),
    "layout-huge": (_layout("height", 10**30), "content is invalid"),
    "conv_width-1e5": (_set("params", "conv_width", 10**5), "architecture needs"),
    "conv_width-1e9": (_set("params", "conv_width", 10**9), "content is invalid"),
    "generation-weights-on-images": (
        _set("weights", "generation_weights", torch.ones(2, 2)), "generation_weights"
    ),
    "classes_-a-list": (_set("fitted", "classes_", [0, 1]), "classes_"),
    "classes_-empty": (_set("fitted", "classes_", np.array([])), "classes_"),
}


@pytest.mark.parametrize("case", list(IMAGE_CASES))
def test_a_hostile_image_file_is_a_value_error_naming_it(tmp_path, case):
    edit, words = IMAGE_CASES[case]
    path = _hostile(DATA / "v0_1_images.gan", tmp_path / f"{case}.gan", edit)
    with pytest.raises(ValueError, match=re.escape(str(path))) as caught:
        GANOversampler.load(path, device="cpu")
    assert words in str(caught.value)


@pytest.mark.parametrize("source", ["table", "images"])
def test_a_file_taken_apart_and_put_back_unchanged_loads(saved_table, tmp_path, source):
    # The hostile cases fail for what they change, not for the rewriting.
    base = saved_table if source == "table" else DATA / "v0_1_images.gan"
    path = _hostile(base, tmp_path / "same.gan", lambda parts: None)
    GANOversampler.load(path, device="cpu").sample(3, y=GANOversampler.load(base).classes_[1])


def test_invalid_parameters_are_refused_before_anything_is_built(
    saved_table, tmp_path, monkeypatch
):
    path = _hostile(saved_table, tmp_path / "m.gan", _set("params", "batch_size", "lots"))

    def never(*args, **kwargs):
        raise AssertionError("the model was built from invalid parameters")

    monkeypatch.setattr(FittedModel, "from_state", staticmethod(never))
    with pytest.raises(ValueError, match=r"parameters are invalid.*batch_size"):
        GANOversampler.load(path, device="cpu")


def test_an_absurd_architecture_is_never_allocated(saved_table, tmp_path, monkeypatch):
    path = _hostile(saved_table, tmp_path / "m.gan", _set("params", "generator_dims", (10**9,)))
    allocated = []
    real = torch.nn.Module.to_empty

    def spy(self, *args, **kwargs):
        allocated.append(type(self).__name__)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to_empty", spy)
    with pytest.raises(ValueError, match=r"'net\.0\.linear\.weight' is \(16, \d+\)"):
        GANOversampler.load(path, device="cpu")
    assert allocated == []


@pytest.mark.parametrize("member, cap", [("metadata.json", "MAX_METADATA_BYTES"),
                                         ("weights.pt", "MAX_WEIGHTS_BYTES")])
def test_a_member_over_its_size_cap_is_refused(saved_table, tmp_path, monkeypatch, member, cap):
    with zipfile.ZipFile(saved_table) as archive:
        size = archive.getinfo(member).file_size
    monkeypatch.setattr(persistence, cap, size - 1)
    with pytest.raises(ValueError, match=re.escape(str(saved_table)) + f".*{member}.*limit"):
        GANOversampler.load(saved_table, device="cpu")
    monkeypatch.setattr(persistence, cap, size)
    GANOversampler.load(saved_table, device="cpu")


def test_a_zip_header_that_understates_a_member_cannot_inflate_it(tmp_path, monkeypatch):
    # A central directory that claims 100 bytes for a member of a million: the
    # size check passes, and the read must still stop at the cap.
    path = tmp_path / "bomb.gan"
    big = b" " * 1_000_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", big)
        archive.writestr("weights.pt", b"x")
    data = bytearray(path.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    while data[central + 46 : central + 46 + 13] != b"metadata.json":
        central = data.rindex(b"PK\x01\x02", 0, central)
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    monkeypatch.setattr(persistence, "MAX_METADATA_BYTES", 1000)
    read = []
    real_read = zipfile.ZipExtFile.read

    def spy(self, n=-1):
        read.append(n)
        return real_read(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    with pytest.raises(ValueError, match=r"bomb\.gan.*corrupted"):
        GANOversampler.load(path, device="cpu")
    assert read and all(0 <= n <= 1001 for n in read)


def test_an_archive_holding_a_member_twice_is_refused(saved_table, tmp_path):
    path = tmp_path / "twice.gan"
    with zipfile.ZipFile(saved_table) as source, zipfile.ZipFile(path, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, source.read(name))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("weights.pt", source.read("weights.pt"))
    with pytest.raises(ValueError, match=r"twice\.gan.*weights\.pt"):
        GANOversampler.load(path, device="cpu")


def test_a_model_file_is_written_with_the_usual_mode(saved_table, tmp_path):
    import os
    import stat
    import sys

    if sys.platform == "win32":
        pytest.skip("POSIX file modes")
    old = os.umask(0o022)
    try:
        loaded = GANOversampler.load(saved_table, device="cpu")
        path = loaded.save(tmp_path / "m.gan")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
