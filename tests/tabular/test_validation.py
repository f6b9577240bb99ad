"""The early-stopping scores: better generators score lower, and a score is a pure function."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError
from torch import nn

from gan_augment import GANOversampler
from gan_augment.tabular import validation
from gan_augment.tabular.conditions import GenerationConditions
from gan_augment.tabular.domain import validation_split
from gan_augment.tabular.networks import Generator, initialise
from gan_augment.tabular.transformer import TabularTransformer
from gan_augment.tabular.validation import C2STScore, MMDScore, UtilityScore

from ..test_oversampler import _imbalanced

CPU = torch.device("cpu")
NOISE_DIM = 4


class RowsGenerator(nn.Module):
    """Generates, for class ``c``, rows of ``pools[c]`` (encoded), picked by the noise.

    The raw output is what the layout's activation turns back into the pool's
    rows: ``atanh`` of the scalars, and logits far apart for the one-hots.
    """

    def __init__(self, pools: dict[int, np.ndarray], layout, n_classes: int) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.pools = {}
        scalars = layout.scalar_positions
        for c, rows in pools.items():
            raw = 100.0 * (2 * rows - 1)
            raw[:, scalars] = np.arctanh(np.clip(rows[:, scalars], -0.99, 0.99))
            self.pools[c] = torch.as_tensor(raw, dtype=torch.float32)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise, cond = x[:, :NOISE_DIM], x[:, NOISE_DIM:]
        classes = cond[:, : self.n_classes].argmax(1)
        out = torch.empty(len(x), self.pools[0].shape[1])
        for c, pool in self.pools.items():
            chosen = classes == c
            pick = (torch.special.ndtr(noise[chosen, 0]) * len(pool)).long()
            out[chosen] = pool[pick.clamp_max(len(pool) - 1)]
        return out


def _table(seed: int, n_majority: int, n_minority: int):
    """Two overlapping Gaussian classes, and a categorical column that leans
    towards the class."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n_majority, int), np.ones(n_minority, int)]
    continuous = rng.normal(size=(len(y), 2)) + 1.2 * y[:, None]
    categorical = np.where(rng.random(len(y)) < 0.3 + 0.4 * y, "a", "b").astype(object)[:, None]
    return continuous, categorical, y


@pytest.fixture(scope="module")
def parts():
    continuous, categorical, y = _table(0, 1000, 200)
    rng = np.random.default_rng(0)
    transformer = TabularTransformer(max_modes=2).fit(continuous, categorical, rng)
    encoded, _ = transformer.transform(continuous, categorical, rng)
    train, held_out = validation_split(y, 2, 0.2, np.random.default_rng(1), min_held_out=2)
    layout = transformer.layout_
    # Fresh rows of the same distribution: what a perfect generator draws.
    fresh_continuous, fresh_categorical, fresh_y = _table(1, 2000, 2000)
    fresh, _ = transformer.transform(fresh_continuous, fresh_categorical, rng)
    pools = {c: fresh[fresh_y == c] for c in (0, 1)}
    generators = {
        "real": RowsGenerator(pools, layout, 2),
        # Every class's rows from the other class's region.
        "swapped": RowsGenerator({0: pools[1], 1: pools[0]}, layout, 2),
        # Mode collapse: one row per class.
        "collapsed": RowsGenerator({c: pool[:1] for c, pool in pools.items()}, layout, 2),
        # Rows far from every real row: scalars at the edge of their range
        # (modes and categories at random).
        "far": RowsGenerator({c: np.ones((1, layout.width)) for c in (0, 1)}, layout, 2),
    }
    return dict(
        encoded=encoded, y=y, train=train, held_out=held_out, layout=layout,
        conditions=GenerationConditions(2, 0, None), generators=generators,
    )


def _score(kind, parts, **overrides):
    p = {**parts, **overrides}
    held_out = (p["encoded"][p["held_out"]], p["y"][p["held_out"]])
    shared = (p["conditions"], p["layout"], NOISE_DIM, CPU)
    if kind is UtilityScore:
        train = p["train"]
        # Balance as fit_resample would: the minority up to the majority.
        counts = np.bincount(p["y"][train])
        n_added = {1: int(counts[0] - counts[1])}
        return UtilityScore(
            *held_out, p["encoded"][train], p["y"][train], n_added, *shared, seed=0
        )
    return kind(*held_out, *shared, seed=0)


class TestBetterGeneratorsScoreLower:
    def test_c2st_tells_the_real_distribution_from_collapsed_misplaced_and_far_rows(self, parts):
        score = _score(C2STScore, parts)
        scores = {name: score(g) for name, g in parts["generators"].items()}
        # About chance for the real distribution; far above it otherwise.
        assert abs(scores["real"]) < 0.1
        for bad in ("swapped", "collapsed", "far"):
            assert scores[bad] > scores["real"] + 0.2, scores

    def test_utility_rewards_rows_in_their_class_region(self, parts):
        score = _score(UtilityScore, parts)
        scores = {name: score(g) for name, g in parts["generators"].items()}
        # Rows of the other class's region take that class's votes; rows far
        # from everything leave the classifier as imbalanced as it was.
        assert scores["real"] < scores["far"] - 0.05, scores
        assert scores["real"] < scores["swapped"] - 0.1, scores
        assert 0 <= min(scores.values()) and max(scores.values()) <= 1

    def test_mmd_tells_the_real_distribution_from_collapsed_and_far_rows(self, parts):
        score = _score(MMDScore, parts)
        real = score(parts["generators"]["real"])
        assert real < score(parts["generators"]["collapsed"]) / 5
        assert real < score(parts["generators"]["far"]) / 5

    def test_c2st_is_about_chance_on_discrete_rows_whatever_their_ties(self):
        # One categorical column: real and generated rows are a handful of
        # distinct rows, so nearly every nearest neighbour is a tie.
        rng = np.random.default_rng(0)
        y = np.r_[np.zeros(200, int), np.ones(100, int)]
        categorical = rng.choice(["a", "b", "c"], size=(len(y), 1)).astype(object)
        continuous = np.empty((len(y), 0))
        transformer = TabularTransformer().fit(continuous, categorical, rng)
        encoded, _ = transformer.transform(continuous, categorical, rng)
        train, held_out = validation_split(y, 2, 0.2, rng, min_held_out=2)
        layout = transformer.layout_
        real = RowsGenerator({c: encoded[train][y[train] == c] for c in (0, 1)}, layout, 2)
        score = C2STScore(
            encoded[held_out], y[held_out], GenerationConditions(2, 0, None), layout,
            NOISE_DIM, CPU, seed=0,
        )
        assert abs(score(real)) < 0.05


@pytest.mark.parametrize("kind", [MMDScore, C2STScore, UtilityScore])
class TestAScoreIsAPureFunctionOfTheGenerator:
    def test_same_generator_same_score(self, parts, kind):
        score = _score(kind, parts)
        network = initialise(
            Generator(NOISE_DIM + 2, (8,), parts["layout"].width), CPU,
            torch.Generator().manual_seed(0),
        ).eval()
        for generator in (network, parts["generators"]["real"]):
            assert score(generator) == score(generator)
        # A new score of the same rows and seed agrees.
        assert _score(kind, parts)(network) == score(network)

    def test_no_other_stream_is_read_or_advanced(self, parts, kind):
        score = _score(kind, parts)
        training = torch.Generator().manual_seed(3)
        state, global_state = training.get_state(), torch.random.get_rng_state()
        numpy_state = np.random.get_state()[1].copy()
        score(parts["generators"]["real"])
        assert torch.equal(training.get_state(), state)
        assert torch.equal(torch.random.get_rng_state(), global_state)
        assert np.array_equal(np.random.get_state()[1], numpy_state)


class TestHoldOut:
    def test_the_classifying_scores_hold_out_two_rows_of_a_small_class(self):
        y_codes = np.array([0] * 100 + [1] * 14 + [2] * 3)
        rng = np.random.default_rng(0)
        _, held_out = validation_split(y_codes, 3, 0.1, rng)
        assert np.bincount(y_codes[held_out], minlength=3).tolist() == [10, 1, 0]
        _, held_out = validation_split(y_codes, 3, 0.1, np.random.default_rng(0), 2)
        # A class of 3 rows keeps 2 to train on.
        assert np.bincount(y_codes[held_out], minlength=3).tolist() == [10, 2, 1]

    def test_utility_reference_rows_are_bounded_and_stay_balanced(self, parts, monkeypatch):
        monkeypatch.setattr(validation, "MAX_REFERENCE_ROWS", 100)
        score = _score(UtilityScore, parts)
        counts = np.bincount(parts["y"][parts["train"]])
        # 1,600 trained-on plus generated rows, scaled by 100 / 1,600.
        assert score.n_fake == {1: round(100 / 1600 * (counts[0] - counts[1]))}
        assert 0 <= score(parts["generators"]["real"]) <= 1

    def test_utility_with_fewer_reference_rows_than_neighbours(self, parts):
        y = np.array([0, 0, 1, 1, 1])
        encoded = parts["encoded"][:5]
        score = UtilityScore(
            encoded[[0, 2]], y[[0, 2]], encoded[[1, 3]], y[[1, 3]], {},
            parts["conditions"], parts["layout"], NOISE_DIM, CPU, seed=0,
        )
        assert 0 <= score(parts["generators"]["real"]) <= 1


class TestEstimator:
    @pytest.mark.parametrize("name", ["c2st", "utility"])
    def test_fit_resample_scores_keeps_the_best_and_records_it(self, fast, name):
        X, y = _imbalanced(n=350)
        sampler = GANOversampler(
            random_state=0, early_stopping=True, validation_score=name, n_iter_no_change=100,
            **{**fast, "epochs": 18},
        )
        X_res, y_res = sampler.fit_resample(X, y)
        scores = sampler.history_["validation"]
        # 350 rows, 10% held out (2 of a small class at least): 6 steps per
        # epoch, scored every ceil(50 / 6) = 9 epochs.
        assert list(scores.dropna().index) == [9, 18]
        assert np.isfinite(scores.dropna()).all()
        assert sampler.best_epoch_ == scores.idxmin()
        assert np.bincount(y_res).tolist() == [np.bincount(y).max()] * 2
        assert np.isfinite(X_res).all()

    def test_without_early_stopping_the_score_changes_nothing(self, fast):
        X, y = _imbalanced(n=200)
        a = GANOversampler(random_state=0, validation_score="c2st", **fast).fit(X, y)
        b = GANOversampler(random_state=0, **fast).fit(X, y)
        np.testing.assert_array_equal(a.sample(20, y=1), b.sample(20, y=1))
        assert a.best_epoch_ is None and "validation" not in a.history_

    def test_an_unknown_score_is_an_invalid_parameter(self, fast):
        X, y = _imbalanced(n=200)
        with pytest.raises(InvalidParameterError, match="'validation_score' parameter"):
            GANOversampler(validation_score="auc", **fast).fit(X, y)

    def test_images_refuse_another_score(self):
        X = np.random.default_rng(0).integers(0, 256, (40, 8, 8)).astype(np.uint8)
        y = np.r_[np.zeros(28, int), np.ones(12, int)]
        with pytest.raises(ValueError, match="validation_score='utility' is not available"):
            GANOversampler(validation_score="utility", epochs=1, device="cpu").fit(X, y)

    def test_differential_privacy_refuses_another_score(self, fast):
        pytest.importorskip("opacus", reason="DP training needs Opacus (the privacy extra)")
        X, y = _imbalanced(n=200)
        with pytest.raises(ValueError, match="validation_score='c2st'.*held-out real rows"):
            GANOversampler(
                dp_epsilon=1.0, validation_score="c2st", **{**fast, "pac": 1}
            ).fit(X, y)
