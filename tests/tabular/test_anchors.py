"""Anchor-conditioned generation: the neighbour table, the batch source, generation,
the estimator's ``generator="anchored"`` and its persistence."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from gan_augment import GANOversampler
from gan_augment.tabular.anchors import (
    AnchoredBatches,
    AnchoredConditions,
    NeighbourTable,
    neighbour_points,
)
from gan_augment.tabular.conditions import ConditionSampler
from gan_augment.tabular.transformer import TabularTransformer

from ..test_oversampler import mixed_frame

CPU = torch.device("cpu")


def _table(seed=0, n=(60, 12)):
    """A continuous column, two categorical ones (one with a category held by a
    single minority row), and two classes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n)
    continuous = np.column_stack([rng.normal(3 * y, 1), rng.normal(size=len(y))])
    colour = rng.choice(np.array(["red", "blue"], dtype=object), len(y))
    size = np.where(y == 1, "S", rng.choice(np.array(["S", "M"], dtype=object), len(y)))
    size[-1] = "XL"  # alone in its (class, column, category) group
    categorical = np.column_stack([colour, size]).astype(object)
    return continuous, categorical, y


def _encoded(seed=0):
    continuous, categorical, y = _table(seed)
    rng = np.random.default_rng(seed)
    transformer = TabularTransformer(max_modes=2).fit(continuous, categorical, rng)
    encoded, codes = transformer.transform(continuous, categorical, rng)
    return continuous, codes, y, encoded, transformer


@pytest.fixture
def source():
    continuous, codes, y, encoded, transformer = _encoded()
    batches = AnchoredBatches(
        encoded, y, codes, 2, transformer.n_categories, transformer.layout_, CPU,
        continuous, pack_size=4,
    )
    return batches, continuous, codes, y, encoded, transformer


class TestNeighbourTable:
    def _built(self, k=5):
        continuous, codes, y, _, transformer = _encoded()
        sampler = ConditionSampler(y, codes, 2, transformer.n_categories, CPU)
        points = torch.as_tensor(neighbour_points(continuous, codes, transformer.n_categories))
        return NeighbourTable(points, y, sampler, k), sampler, points, y, codes

    def test_shapes_and_counts(self):
        table, sampler, _, _, _ = self._built(k=5)
        n_slots = len(sampler.group_rows)
        assert table.rows.shape == (n_slots, 5) and table.count.shape == (n_slots,)
        sizes = sampler.group_size[sampler.group_size > 0]
        slot_size = torch.repeat_interleave(sizes, sizes)
        # A group of one row takes its neighbours in its class (of 12 or 60 rows).
        expected = torch.where(slot_size == 1, 5, torch.clamp(slot_size - 1, max=5))
        np.testing.assert_array_equal(table.count.numpy(), expected.numpy())
        filled = torch.arange(5)[None, :] < table.count[:, None]
        assert bool((table.rows[filled] >= 0).all()) and bool((table.rows[~filled] == -1).all())

    def test_neighbours_share_class_and_category_and_are_never_the_row(self):
        table, sampler, points, y, codes = self._built()
        offsets = np.concatenate([[0], np.cumsum(sampler.n_categories)[:-1]])
        groups = torch.arange(len(sampler.group_size))
        slot_group = torch.repeat_interleave(groups, sampler.group_size).numpy()
        for slot in range(len(sampler.group_rows)):
            row = int(sampler.group_rows[slot])
            neighbours = table.rows[slot, : table.count[slot]].numpy()
            assert row not in neighbours
            assert (y[neighbours] == y[row]).all()
            group = slot_group[slot]
            if int(sampler.group_size[group]) > 1:
                pair = group % sampler.n_pairs
                column = int(np.searchsorted(offsets, pair, side="right")) - 1
                assert (codes[neighbours, column] == pair - offsets[column]).all()

    def test_neighbours_are_the_nearest_rows_nearest_first(self):
        _, _, points, y, _ = self._built()
        # Without categorical columns, a group is a class.
        plain = ConditionSampler(y, np.zeros((len(y), 0), int), 2, [], CPU)
        table = NeighbourTable(points, y, plain, k=3)
        for slot in range(len(y)):
            row = int(plain.group_rows[slot])
            same = np.flatnonzero(y == y[row])
            same = same[same != row]
            distance = np.linalg.norm(points[same].numpy() - points[row].numpy(), axis=1)
            nearest = same[np.argsort(distance, kind="stable")[:3]]
            np.testing.assert_array_equal(table.rows[slot].numpy(), nearest)

    def test_a_row_alone_in_its_class_is_its_own_neighbour(self):
        y = np.array([0, 0, 0, 1])
        sampler = ConditionSampler(y, np.zeros((4, 0), int), 2, [], CPU)
        table = NeighbourTable(torch.arange(4.0)[:, None], y, sampler, k=5)
        assert table.count.tolist() == [2, 2, 2, 1]
        assert table.rows[3, 0].item() == 3 and set(table.rows[0, :2].tolist()) == {1, 2}


class TestAnchoredBatches:
    def test_real_rows_are_neighbours_of_their_anchors(self, source):
        batches, continuous, codes, y, encoded, _ = source
        real, batch = batches.sample(400, torch.Generator().manual_seed(0))
        table = batches.neighbours
        members = table.rows[batch.slots]
        assert bool((members == batch.rows[:, None]).any(1).all())
        assert bool((batch.rows != batch.anchors).all())
        np.testing.assert_array_equal(real.numpy(), encoded[batch.rows.numpy()])
        # The condition ends with the encoded anchor, after the conditional part.
        width = encoded.shape[1]
        np.testing.assert_array_equal(batch.cond[:, -width:].numpy(), encoded[batch.anchors])
        n_pairs = sum(batches.conditions.n_categories)
        assert batch.cond.shape[1] == batches.cond_dim == 2 + n_pairs + width
        # Anchor, neighbour and condition agree on the class and on the category.
        classes = batch.cond[:, :2].argmax(1).numpy()
        np.testing.assert_array_equal(y[batch.anchors], classes)
        np.testing.assert_array_equal(y[batch.rows], classes)
        column, category = batch.column.numpy(), batch.category.numpy()
        np.testing.assert_array_equal(codes[batch.anchors, column], category)
        in_group = codes[batch.rows, column] == category
        # Only the row alone in its group ("XL") takes neighbours of another category.
        assert (in_group | (batch.anchors.numpy() == len(y) - 1)).all()
        packs = batch.cond[:, :2].argmax(1).reshape(-1, 4)
        assert bool((packs == packs[:, :1]).all())

    def test_every_neighbour_is_used(self, source):
        batches = source[0]
        _, batch = batches.sample(20000, torch.Generator().manual_seed(1))
        slot = int(batch.slots[0])
        picked = batch.rows[batch.slots == slot].unique()
        expected = batches.neighbours.rows[slot, : batches.neighbours.count[slot]]
        assert sorted(picked.tolist()) == sorted(expected.tolist())

    def test_generator_steps_draw_like_training_batches(self, source):
        batches = source[0]
        _, a = batches.sample(64, torch.Generator().manual_seed(2))
        b = batches.sample_conditions(64, torch.Generator().manual_seed(2))
        assert torch.equal(a.cond, b.cond) and torch.equal(a.rows, b.rows)


class TestAnchoredConditions:
    def test_anchors_are_the_class_rows_and_categories_are_theirs(self, source):
        batches, _, codes, y, encoded, transformer = source
        conditions = batches.generation
        width = encoded.shape[1]
        cond = conditions.sample(1, 3000, torch.Generator().manual_seed(0), CPU)
        assert cond.shape == (3000, conditions.cond_dim)
        assert conditions.cond_dim == batches.cond_dim
        assert bool((cond[:, 0] == 0).all() and (cond[:, 1] == 1).all())
        anchors = cond[:, -width:].numpy()
        minority = encoded[y == 1]
        match = (anchors[:, None, :] == minority[None, :, :]).all(-1)
        assert match.any(1).all()
        # Every minority row serves as an anchor, about equally often.
        uses = match.sum(0)
        assert uses.min() > 0.5 * 3000 / len(minority)
        # One category is conditioned on, and it is the anchor's own.
        categorical = cond[:, 2:-width].numpy()
        assert (categorical.sum(1) == 1).all()
        offsets = np.concatenate([[0], np.cumsum(transformer.n_categories)[:-1]])
        own = offsets[None, :] + codes[y == 1][match.argmax(1)]
        assert (own == categorical.argmax(1)[:, None]).any(1).all()

    def test_state_round_trip_and_pickle(self, source):
        conditions = source[0].generation
        layout = source[5].layout_
        back = AnchoredConditions.from_state(conditions.state(), 2, conditions.n_pairs, layout)
        unpickled = pickle.loads(pickle.dumps(conditions))
        for other in (back, unpickled):
            a = conditions.sample(0, 50, torch.Generator().manual_seed(3), CPU)
            b = other.sample(0, 50, torch.Generator().manual_seed(3), CPU)
            assert torch.equal(a, b)

    @pytest.mark.parametrize(
        "change, match",
        [
            (lambda t: t.pop("anchors"), "missing"),
            (lambda t: t.update(anchors=t["anchors"][:, :-1]), "shape"),
            (lambda t: t.update(anchor_counts=t["anchor_counts"][:1]), "anchor_counts"),
            (lambda t: t.update(anchor_counts=t["anchor_counts"] * 2), "sum"),
            (lambda t: t.update(anchor_counts=torch.tensor([72, 0])), "positive"),
            (lambda t: t["anchors"].__setitem__((0, 0), float("nan")), "finite"),
            (lambda t: t["anchors"].__setitem__((0, 0), 3.0), r"\[-1, 1\]"),
            (lambda t: t["anchors"].__setitem__((0, slice(None)), 0.0), "one-hot"),
        ],
    )
    def test_a_bad_state_is_refused(self, source, change, match):
        conditions = source[0].generation
        tensors = {k: v.clone() for k, v in conditions.state().items()}
        change(tensors)
        with pytest.raises(ValueError, match=match):
            AnchoredConditions.from_state(tensors, 2, conditions.n_pairs, source[5].layout_)


@pytest.fixture
def anchored(fast):
    return dict(fast, generator="anchored", interpolation=0.0)


class TestEstimator:
    def test_fit_resample_dataframe_keeps_counts_dtypes_and_classes(self, anchored):
        X, y = mixed_frame()
        sampler = GANOversampler(random_state=0, **anchored)
        X_res, y_res = sampler.fit_resample(X, y)
        counts = pd.Series(y_res).value_counts()
        assert counts["rare"] == counts["common"] == (y == "common").sum()
        new = X_res.iloc[len(X):]
        assert list(new.dtypes) == list(X.dtypes)
        assert set(new["colour"]) <= {"red", "green", "blue"}
        assert set(new["city"]) <= {"Oslo", "Lima", "Pune", "Kyiv"}
        assert new["f64"].between(X["f64"].min(), X["f64"].max()).all()
        width = sampler.transformer_.layout_.width
        n_pairs = sum(sampler.transformer_.n_categories)
        first = sampler.generator_.net[0].linear
        assert first.in_features == anchored["embedding_dim"] + 2 + n_pairs + width

    def test_arrays_and_multiclass(self, anchored):
        rng = np.random.default_rng(0)
        y = np.repeat([0, 1, 2], [150, 30, 10])
        X = (rng.normal(size=(190, 3)) + y[:, None]).astype(np.float32)
        X_res, y_res = GANOversampler(random_state=0, **anchored).fit_resample(X, y)
        assert X_res.dtype == np.float32 and X_res.shape == (450, 3)
        assert np.bincount(y_res).tolist() == [150, 150, 150]

    def test_reproducible_and_not_the_conditional_model(self, anchored):
        X, y = mixed_frame()
        a = GANOversampler(random_state=3, **anchored).fit(X, y).sample(30, "rare")
        b = GANOversampler(random_state=3, **anchored).fit(X, y).sample(30, "rare")
        pd.testing.assert_frame_equal(a, b)
        plain = {**anchored, "generator": "conditional"}
        c = GANOversampler(random_state=3, **plain).fit(X, y).sample(30, "rare")
        assert not a.equals(c)

    def test_save_load_samples_identically_and_the_file_holds_the_anchors(
        self, anchored, tmp_path
    ):
        X, y = mixed_frame()
        sampler = GANOversampler(random_state=0, **anchored).fit(X, y)
        path = sampler.save(tmp_path / "anchored.gan")
        loaded = GANOversampler.load(path, device="cpu")
        assert loaded.generator == "anchored"
        pd.testing.assert_frame_equal(sampler.sample(40, "rare"), loaded.sample(40, "rare"))
        X_syn, y_syn = loaded.sample_dataset(30)
        X_ref, y_ref = sampler.sample_dataset(30)
        pd.testing.assert_frame_equal(X_syn, X_ref)
        with zipfile.ZipFile(path) as archive:
            weights = torch.load(io.BytesIO(archive.read("weights.pt")), weights_only=True)
        assert weights["anchors"].shape == (len(X), sampler.transformer_.layout_.width)
        assert weights["anchor_counts"].tolist() == [(y == "common").sum(), (y == "rare").sum()]

    def test_a_file_whose_parameters_disagree_with_its_tensors_is_refused(
        self, anchored, tmp_path
    ):
        X, y = mixed_frame()
        path = GANOversampler(random_state=0, **anchored).fit(X, y).save(tmp_path / "a.gan")
        with zipfile.ZipFile(path) as archive:
            metadata = archive.read("metadata.json").decode()
            weights = archive.read("weights.pt")
        assert metadata.count('"anchored"') == 1
        with zipfile.ZipFile(tmp_path / "b.gan", "w") as archive:
            archive.writestr("metadata.json", metadata.replace('"anchored"', '"conditional"'))
            archive.writestr("weights.pt", weights)
        with pytest.raises(ValueError, match="unexpected entries.*anchor"):
            GANOversampler.load(tmp_path / "b.gan", device="cpu")

    def test_pickle_round_trip_samples_identically(self, anchored):
        X, y = mixed_frame()
        sampler = GANOversampler(random_state=0, **anchored).fit(X, y)
        clone = pickle.loads(pickle.dumps(sampler))
        pd.testing.assert_frame_equal(sampler.sample(20, "rare"), clone.sample(20, "rare"))

    def test_early_stopping_scores_anchored_generation(self, anchored):
        X, y = mixed_frame()
        sampler = GANOversampler(
            random_state=0, early_stopping=True, validation_fraction=0.2,
            **{**anchored, "epochs": 17},  # the score is taken every 17 epochs here
        ).fit(X, y)
        scores = sampler.history_["validation"].dropna()
        assert len(scores) and np.isfinite(scores).all()
        # Only the rows trained on are anchors, the held-out ones are not.
        anchors = sampler.model_.conditions.anchors
        assert len(anchors) < len(X) and anchors.shape[1] == sampler.transformer_.layout_.width

    def test_mixes_with_interpolation_and_the_filter(self, anchored):
        X, y = mixed_frame()
        params = {**anchored, "interpolation": 0.5, "synthetic_filter": "neighbours"}
        X_res, y_res = GANOversampler(random_state=0, **params).fit_resample(X, y)
        assert len(X_res) == 2 * (y == "common").sum() == len(y_res)

    def test_bad_value_is_sklearns_error(self, fast):
        X, y = mixed_frame()
        with pytest.raises(InvalidParameterError, match="The 'generator' parameter"):
            GANOversampler(generator="smote", **fast).fit(X, y)


def test_generated_rows_stay_in_their_anchors_cluster():
    """What anchoring is for: the minority sits in two small clusters far apart
    inside a uniform majority square, and each generated row lands in the
    cluster of its anchor (SMOTE's locality, learned)."""
    rng = np.random.default_rng(0)
    majority = rng.uniform(-5, 5, size=(200, 2))
    minority = np.r_[rng.normal((-3, -3), 0.3, (15, 2)), rng.normal((3, 3), 0.3, (15, 2))]
    X, y = np.r_[majority, minority], np.r_[np.zeros(200, int), np.ones(30, int)]
    model = GANOversampler(
        generator="anchored", random_state=0, epochs=100, batch_size=50, embedding_dim=8,
        generator_dims=(32, 32), discriminator_dims=(32, 32), pac=5, max_modes=2,
        learning_rate=1e-3, device="cpu",
    ).fit(X, y).model_
    stream = torch.Generator().manual_seed(0)
    cond = model.conditions.sample(1, 1000, stream, CPU)
    noise = torch.randn(1000, model.noise_dim, generator=stream)
    layout = model.transformer.layout_
    with torch.no_grad():
        rows = layout.activate(model.generator(torch.cat([noise, cond], 1)), stream, hard=True)
    decode = np.random.default_rng(0)
    generated, _ = model.transformer.inverse_transform(rows.numpy(), decode)
    anchors, _ = model.transformer.inverse_transform(cond[:, -layout.width:].numpy(), decode)
    same_cluster = (generated.sum(1) < 0) == (anchors.sum(1) < 0)
    assert same_cluster.mean() > 0.9
    assert 0.3 < (anchors.sum(1) < 0).mean() < 0.7  # both clusters serve as anchors
