"""Differentially private training: accounting, statistics, refusals, Poisson sampling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

pytest.importorskip("opacus", reason="DP training needs Opacus (the privacy extra)")

from opacus.accountants import RDPAccountant  # noqa: E402

from gan_augment import GANOversampler  # noqa: E402
from gan_augment.exceptions import PrivacyBudgetWarning  # noqa: E402
from gan_augment.privacy.accounting import ALPHAS, plan_budget  # noqa: E402
from gan_augment.privacy.batches import PoissonBatches  # noqa: E402
from gan_augment.privacy.statistics import release_statistics  # noqa: E402
from gan_augment.tabular.transformer import TabularTransformer  # noqa: E402

from .conftest import FAST  # noqa: E402

#: FAST settings, with pac left to "auto" (1 under DP).
DP_FAST = {k: v for k, v in FAST.items() if k != "pac"}


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    """400 rows: two continuous columns in [0, 10], a declared category column."""
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.25).astype(int)
    X = pd.DataFrame(
        {
            "a": np.clip(rng.normal(5 + 2 * y, 1, n), 0, 10),
            "b": rng.uniform(0, 10, n),
            "c": pd.Categorical(rng.choice(["u", "v", "w"], n), categories=["u", "v", "w"]),
        }
    )
    return X, y


def dp_model(**params) -> GANOversampler:
    return GANOversampler(**{**DP_FAST, "random_state": 0, **params})


def test_spent_epsilon_is_the_budget_and_matches_opacus(frame):
    X, y = frame
    model = dp_model(dp_epsilon=2.0, dp_domain={"a": (0, 10), "b": (0, 10)}).fit(X, y)
    assert 1.9 <= model.dp_epsilon_spent_ <= 2.0
    assert model.dp_delta_ == pytest.approx(1 / (10 * len(y)))
    (stats_noise, stats_rate, stats_steps), (noise, rate, steps) = model.dp_history_
    assert (stats_rate, stats_steps) == (1.0, 1)
    assert noise == model.dp_noise_multiplier_
    assert rate == pytest.approx(DP_FAST["batch_size"] / len(y))
    assert steps == model.n_steps_  # n_critic="auto" is 1 for tables
    # Opacus's own accountant, given the same noise, rates and steps.
    accountant = RDPAccountant()
    accountant.history = [tuple(e) for e in model.dp_history_]
    assert accountant.get_epsilon(model.dp_delta_, alphas=ALPHAS) == pytest.approx(
        model.dp_epsilon_spent_
    )


def test_plan_spends_at_most_the_budget_and_needs_more_noise_for_less():
    loose = plan_budget(8.0, 1e-5, 0.01, 1000, discovery=False)
    tight = plan_budget(1.0, 1e-5, 0.01, 1000, discovery=True)
    assert tight.sgd_noise > loose.sgd_noise
    assert tight.discovery_delta == pytest.approx(1e-6)
    for plan in (loose, tight):
        plan.history = [(plan.statistics_noise, 1.0, 1), (plan.sgd_noise, 0.01, 1000)]
        assert plan.epsilon * 0.98 <= plan.spent() <= plan.epsilon


def test_generated_rows_respect_declared_domains(frame):
    X, y = frame
    model = dp_model(dp_epsilon=1.0, dp_domain={"a": (1, 9), "b": (0, 10)}).fit(X, y)
    X_syn, y_syn = model.sample_dataset(300)
    assert X_syn["a"].between(1, 9).all() and X_syn["b"].between(0, 10).all()
    assert set(X_syn["c"].unique()) <= {"u", "v", "w"}
    assert X_syn.dtypes.equals(X.dtypes)


def test_undeclared_bounds_are_read_from_noisy_histograms_and_said(frame):
    X, y = frame
    with pytest.warns(PrivacyBudgetWarning, match=r"column\(s\) \['a', 'b'\]"):
        model = dp_model(dp_epsilon=4.0).fit(X, y)
    low, high = model.transformer_.columns_[0].low, model.transformer_.columns_[0].high
    # The log grid has 10 bins a decade, and bins lost in the noise are cut:
    # bounds land near the data's range (mean 5, sd 1; uniform on [0, 10]).
    assert 0 <= low <= 4 and 7 <= high <= 15


def test_too_small_a_budget_for_bounds_says_what_to_pass(frame):
    X, y = frame
    with (
        pytest.raises(ValueError, match=r"Pass them: dp_domain=\{'b': \(low, high\)\}"),
        pytest.warns(PrivacyBudgetWarning, match=r"No dp_domain bounds.*\['b'\]"),
    ):
        dp_model(dp_epsilon=0.5, dp_domain={"a": (0, 10)}).fit(X, y)


def test_dp_is_reproducible(frame):
    X, y = frame
    bounds = {"a": (0, 10), "b": (0, 10)}
    a = dp_model(dp_epsilon=1.0, dp_domain=bounds).fit(X, y).sample(20, y=1)
    b = dp_model(dp_epsilon=1.0, dp_domain=bounds).fit(X, y).sample(20, y=1)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pac": 5}, "pac=5"),
        ({"loss": "wgan-gp"}, "gradient penalty"),
        ({"early_stopping": True}, "early_stopping"),
        ({"checkpoint_dir": "ckpt"}, "checkpoint_dir"),
        ({"generator": "anchored"}, "generator='anchored'.*real training rows"),
        ({"dp_domain": {"zzz": (0, 1)}}, "not a column of X"),
        ({"dp_domain": {"a": (3, 1)}}, "low < high"),
        ({"dp_domain": {"a": (0, float("inf"))}}, "finite bounds"),
        ({"dp_domain": {"c": ["u", "u"]}}, "distinct categories"),
    ],
)
def test_dp_refuses_what_breaks_the_guarantee(frame, params, match):
    X, y = frame
    with pytest.raises(ValueError, match=match):
        dp_model(dp_epsilon=1.0, **params).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [{"dp_epsilon": 0}, {"dp_epsilon": -1.0}, {"dp_delta": 0}, {"dp_delta": 1.0},
     {"dp_max_grad_norm": 0}, {"dp_domain": [("a", (0, 1))]}],
)
def test_bad_privacy_parameters_are_refused(frame, params):
    X, y = frame
    with pytest.raises(ValueError, match="parameter of GANOversampler"):
        dp_model(**{"dp_epsilon": 1.0, **params}).fit(X, y)


def test_a_delta_above_one_over_n_warns(frame):
    X, y = frame
    with (
        pytest.warns(UserWarning, match="not below 1/n_rows"),
        pytest.warns(PrivacyBudgetWarning, match=r"No dp_domain bounds.*\['b'\]"),
    ):
        dp_model(dp_epsilon=1.0, dp_delta=0.01, dp_domain={"a": (0, 10)}).fit(X, y)


def test_statistics_drop_a_category_only_one_row_holds():
    rng = np.random.default_rng(0)
    n = 2000
    categorical = rng.choice(["common", "frequent"], size=(n, 1)).astype(object)
    categorical[0, 0] = "unique-to-one-person"
    counts = release_statistics(
        np.empty((n, 0)), categorical, np.zeros(n, dtype=int), 1, [], [None],
        noise_multiplier=5.0, discovery_delta=1e-6, rng=rng,
    )
    assert sorted(counts.categories[0]) == ["common", "frequent"]
    declared = release_statistics(
        np.empty((n, 0)), categorical, np.zeros(n, dtype=int), 1, [], [["common", "rare"]],
        noise_multiplier=5.0, discovery_delta=1e-6, rng=rng,
    )
    assert list(declared.categories[0]) == ["common", "rare"]


def test_poisson_batches_sample_each_row_at_the_rate_and_condition_on_it():
    rng = np.random.default_rng(0)
    n = 1000
    y = rng.integers(0, 2, n)
    categorical = rng.choice(["p", "q"], size=(n, 1)).astype(object)
    transformer = TabularTransformer(max_modes=1).fit(np.empty((n, 0)), categorical, rng)
    encoded, codes = transformer.transform(np.empty((n, 0)), categorical, rng)
    source = PoissonBatches(
        encoded, y, codes, transformer.n_categories, transformer.layout_,
        torch.device("cpu"), sample_rate=0.1, class_weights=np.array([0.5, 0.5]),
        pair_weights=np.full((2, 2), 0.5),
    )
    gen = torch.Generator().manual_seed(0)
    sizes = []
    for _ in range(200):
        rows, batch = source.sample(100, gen)
        sizes.append(len(rows))
        assert torch.equal(batch.cond[:, :2].argmax(1), torch.as_tensor(y)[batch.rows])
        assert torch.equal(batch.cond[:, 2:].argmax(1), torch.as_tensor(codes[:, 0])[batch.rows])
    assert abs(np.mean(sizes) - 100) < 3
    conditions = source.sample_conditions(64, gen)
    assert conditions.rows is None and conditions.cond.shape == (64, 4)


def test_a_private_model_saves_and_loads_with_its_accounting(frame, tmp_path):
    X, y = frame
    model = dp_model(dp_epsilon=2.0, dp_domain={"a": (0, 10), "b": (0, 10)}).fit(X, y)
    loaded = GANOversampler.load(model.save(tmp_path / "dp.gan"), device="cpu")
    assert loaded.dp_epsilon_spent_ == model.dp_epsilon_spent_
    assert loaded.dp_history_ == model.dp_history_
    assert loaded.dp_domain == {"a": (0, 10), "b": (0, 10)}
    pd.testing.assert_frame_equal(loaded.sample_dataset(40)[0], model.sample_dataset(40)[0])


def test_dp_without_opacus_says_what_to_install(frame, monkeypatch):
    X, y = frame
    monkeypatch.setitem(__import__("sys").modules, "opacus", None)
    with pytest.raises(ImportError, match=r'pip install "gan-augment\[privacy\]"'):
        dp_model(dp_epsilon=1.0).fit(X, y)
