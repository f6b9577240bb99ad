"""dp_method="pairs": cells, adaptive pair measurements, the marginal generator, the fit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("opacus", reason="DP accounting needs Opacus (the privacy extra)")

from gan_augment import GANOversampler  # noqa: E402
from gan_augment.privacy import measurements as measuring  # noqa: E402
from gan_augment.privacy import setup as private_setup  # noqa: E402
from gan_augment.privacy.accounting import _epsilon, plan_statistics  # noqa: E402
from gan_augment.privacy.marginal_fit import MarginalGenerator  # noqa: E402
from gan_augment.privacy.measurements import (  # noqa: E402
    Measurement, cut_cells, initial_measurements, measure_pairs,
)
from gan_augment.privacy.statistics import release_statistics  # noqa: E402

from .conftest import FAST  # noqa: E402

PAIRS_FAST = {**FAST, "dp_method": "pairs"}
DOMAIN = {"a": (0, 10), "b": (0, 10), "c": ["u", "v", "w"], "d": ["p", "q"]}


@pytest.fixture(autouse=True)
def few_steps(monkeypatch):
    """Short fits of the marginal generator: the tests check what it learns,
    not how well a full budget does (benchmarks/privacy.py measures that)."""
    monkeypatch.setattr(private_setup, "FIRST_FIT_STEPS", 100)
    monkeypatch.setattr(private_setup, "WARM_STEPS", 30)
    monkeypatch.setattr(private_setup, "FINAL_FIT_STEPS", 300)


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    """800 rows. Within each class, "b" follows "a" and "d" follows "c"; "a"
    and "c" depend on the class."""
    rng = np.random.default_rng(0)
    n = 800
    y = (rng.random(n) < 0.3).astype(int)
    a = np.where(y == 1, rng.uniform(5, 10, n), rng.uniform(0, 6, n))
    c = np.where(y == 1, rng.choice(["u", "v"], n), rng.choice(["v", "w"], n))
    X = pd.DataFrame({
        "a": a.round(4),
        "b": np.clip(a + rng.normal(0, 0.3, n), 0, 10).round(4),
        "c": c,
        "d": np.where(np.isin(c, ["u", "w"]), "p", "q"),
    })
    return X, y


def fit(X, y, **params) -> GANOversampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GANOversampler(
            **{**PAIRS_FAST, "random_state": 0, "dp_epsilon": 4.0, "dp_domain": DOMAIN,
               **params}
        ).fit(X, y)


def released(X, y, noise=1.0, seed=0):
    continuous = X[["a", "b"]].to_numpy()
    categorical = X[["c", "d"]].to_numpy(dtype=object)
    counts = release_statistics(
        continuous, categorical, y, 2, [(0.0, 10.0), (0.0, 10.0)],
        [["u", "v", "w"], ["p", "q"]], noise_multiplier=noise, discovery_delta=0.0,
        rng=np.random.default_rng(seed),
    )
    return counts, continuous, categorical


def test_cells_split_the_mass_evenly_and_a_point_mass_stays_whole():
    from gan_augment.privacy.statistics import ColumnHistogram, PrivateCounts

    edges = np.linspace(0, 10, 11)
    # 90% of the mass in the first bin: it cannot be split, the rest is.
    mass = np.array([900.0] + [100 / 9] * 9)
    counts = PrivateCounts(np.ones(1), [], [], [ColumnHistogram(edges, mass)], (0.0, 1.0), [])
    cells = cut_cells(counts, max_bins=4)
    mapping = cells.fine_to_cell[0]
    assert mapping[0] == 0 and (mapping[1:] > 0).all()
    assert list(mapping) == sorted(mapping) and cells.sizes == [mapping.max() + 1]
    even = PrivateCounts(np.ones(1), [], [], [ColumnHistogram(edges, np.ones(10))], (0.0, 1.0), [])
    assert np.bincount(cut_cells(even, max_bins=5).fine_to_cell[0]).tolist() == [2] * 5


def test_encode_then_decode_stays_in_each_cell_and_unreleased_categories_fall_back(frame):
    X, y = frame
    counts, continuous, categorical = released(X, y)
    counts.categories[0] = np.array(["u", "v"], dtype=object)  # "w" not released
    counts.raw_pair_counts[0] = counts.raw_pair_counts[0][:, :2]
    counts.pair_counts[0] = np.maximum(counts.raw_pair_counts[0], 0)
    cells = cut_cells(counts)
    codes = cells.encode(counts, continuous, categorical)
    assert codes.shape == (len(X), 4)
    assert (codes[:, 2][categorical[:, 0] == "w"] == cells.fallback[0]).all()
    values, labels = cells.decode(counts, codes, np.random.default_rng(1))
    again = cells.encode(counts, values, labels)
    np.testing.assert_array_equal(again[:, :2], codes[:, :2])
    assert set(labels[:, 0]) <= {"u", "v"}
    # Drawn within bins: no real value comes back.
    assert not np.isin(values, continuous).any()


def test_the_marginal_generator_learns_a_dependence_from_a_pair_marginal():
    cells = measuring.Cells([2, 2], [], [])
    # Within the one class, the two columns are equal: cells (0, 0) and (1, 1) only.
    pair = Measurement((0, 1), True, np.array([[500.0, 0.0, 0.0, 500.0]]), np.ones(4))
    ones = [Measurement((j,), True, np.array([[500.0, 500.0]]), np.ones(2)) for j in (0, 1)]
    model = MarginalGenerator(
        cells, np.array([1000.0]), torch.device("cpu"), torch.Generator().manual_seed(0)
    )
    model.fit(ones, 150)
    independent = model.sample([2000], np.random.default_rng(0))[0]
    model.fit(ones + [pair], 300)
    dependent = model.sample([2000], np.random.default_rng(0))[0]
    assert abs((independent[:, 0] == independent[:, 1]).mean() - 0.5) < 0.1
    assert (dependent[:, 0] == dependent[:, 1]).mean() > 0.9
    assert abs(dependent[:, 0].mean() - 0.5) < 0.1


def test_rounds_pick_the_dependent_pairs_and_spend_exactly_their_budget(frame):
    X, y = frame
    counts, continuous, categorical = released(X, y, noise=0.5)
    cells = cut_cells(counts, max_bins=8)
    measured = initial_measurements(counts, cells)
    model = MarginalGenerator(
        cells, counts.class_counts, torch.device("cpu"), torch.Generator().manual_seed(0),
        warm_steps=20,
    )
    model.fit(measured, 100)
    codes = cells.encode(counts, continuous, categorical)
    rho = 0.5
    history = measure_pairs(codes, y, 2, cells, measured, model, rho, np.random.default_rng(0))
    # Each entry is a Gaussian's Rényi curve: together exactly rho-zCDP.
    assert sum(1 / (2 * noise**2) for noise, _, _ in history) == pytest.approx(rho)
    assert all((rate, steps) == (1.0, 1) for _, rate, steps in history)
    pairs = [m.columns for m in measured if len(m.columns) == 2]
    # a-b (columns 0, 1) and c-d (columns 2, 3) are the dependent pairs: one
    # of them is picked first.
    assert pairs and pairs[0] in {(0, 1), (2, 3)}


def test_a_pairs_fit_spends_epsilon_and_its_table_keeps_what_the_marginals_lose(
    frame, monkeypatch
):
    X, y = frame
    tables = {}
    for name in ("_measured_table", "marginal_table"):
        real = getattr(private_setup, name)

        def spy(*args, real=real, name=name, **kwargs):
            tables[name] = real(*args, **kwargs)
            return tables[name]

        monkeypatch.setattr(private_setup, name, spy)
    pairs = fit(X, y)
    assert 3.98 <= pairs.dp_epsilon_spent_ <= 4.0
    assert pairs.dp_noise_multiplier_ is None
    assert all((rate, steps) == (1.0, 1) for _, rate, steps in pairs.dp_history_)
    plan = plan_statistics(4.0, 1 / (10 * len(y)), discovery=False)
    assert _epsilon([tuple(e) for e in pairs.dp_history_], plan.rdp_delta) == pytest.approx(
        4.0, abs=0.01
    )
    fit(X, y, dp_method="marginals")

    def agreement(table):
        continuous, categorical, _ = table
        b_follows_a = np.corrcoef(continuous[:, 0], continuous[:, 1])[0, 1]
        d_follows_c = (
            categorical[:, 1] == np.where(np.isin(categorical[:, 0], ["u", "w"]), "p", "q")
        ).mean()
        return b_follows_a, d_follows_c

    pairs_ab, pairs_cd = agreement(tables["_measured_table"])
    marginal_ab, marginal_cd = agreement(tables["marginal_table"])
    # Real rows: 1.0 for d following c; a correlation of about 0.99 for a, b.
    assert pairs_cd > 0.85 and marginal_cd < 0.7
    assert pairs_ab > marginal_ab + 0.1


def test_the_gan_trains_on_the_generated_table_not_on_the_rows(frame, monkeypatch):
    X, y = frame
    seen = {}
    real = private_setup._measured_table

    def spy(*args, **kwargs):
        seen["table"] = real(*args, **kwargs)
        return seen["table"]

    monkeypatch.setattr(private_setup, "_measured_table", spy)
    from gan_augment.tabular import domain as tabular_domain

    sizes = []
    init = tabular_domain.TabularBatches.__init__

    def record(self, encoded, *args, **kwargs):
        sizes.append(len(encoded))
        init(self, encoded, *args, **kwargs)

    monkeypatch.setattr(tabular_domain.TabularBatches, "__init__", record)
    fit(X, y)
    continuous, _, y_table = seen["table"]
    assert sizes == [len(y_table)]
    assert not np.isin(continuous, X[["a", "b"]].to_numpy()).any()


def test_a_pairs_model_saves_loads_and_resamples(frame, tmp_path):
    X, y = frame
    before = X.copy()
    model = fit(X, y)
    model.save(tmp_path / "m")
    loaded = GANOversampler.load(tmp_path / "m")
    assert loaded.dp_method == "pairs"
    pd.testing.assert_frame_equal(loaded.sample(30, y=1), model.sample(30, y=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, _ = GANOversampler(
            **PAIRS_FAST, random_state=0, dp_epsilon=4.0, dp_domain=DOMAIN, interpolation=0.0
        ).fit_resample(X, y)
    pd.testing.assert_frame_equal(X, before)
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)


def test_a_pairs_fit_is_reproducible(frame):
    X, y = frame
    pd.testing.assert_frame_equal(fit(X, y).sample(20, y=0), fit(X, y).sample(20, y=0))

