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
from gan_augment.privacy.statistics import frequency_noise_scale, release_statistics  # noqa: E402
from gan_augment.tabular.transformer import TabularTransformer  # noqa: E402

from .conftest import FAST  # noqa: E402

#: FAST settings, with pac left to "auto" (1 under DP).
# The DP-SGD path (the default, dp_method="marginals", has its own tests in
# test_privacy_marginals.py).
DP_FAST = {**{k: v for k, v in FAST.items() if k != "pac"}, "dp_method": "dp-sgd"}


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


#: The fixture's category column, declared public (a category dtype is not a
#: declaration under DP).
DECLARED_C = {"c": ["u", "v", "w"]}


def dp_model(**params) -> GANOversampler:
    """A fast private model; ``dp_domain`` (when a dict or absent) also declares "c"."""
    domain = params.pop("dp_domain", {})
    if isinstance(domain, dict):
        domain = {**DECLARED_C, **domain}
    return GANOversampler(**{**DP_FAST, "random_state": 0, "dp_domain": domain, **params})


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


def test_statistics_share_shrinks_once_the_frequency_noise_is_small_against_n():
    from gan_augment.privacy.accounting import FREQUENCY_NOISE_TARGET, STATISTICS_SHARES

    scale = frequency_noise_scale(6, 8, 6)
    plans = {
        n: plan_budget(1.0, 1e-5, 500 / n, 1000, discovery=False, n_rows=n, frequency_scale=scale)
        for n in (2_000, 30_000, 1_000_000)
    }
    # A small table cannot reach the target: it gets the largest share.
    assert plans[2_000].statistics_share == max(STATISTICS_SHARES)
    assert plans[30_000].statistics_share == 0.1
    assert plans[1_000_000].statistics_share == min(STATISTICS_SHARES)
    big = plans[1_000_000]
    assert big.statistics_noise * scale <= FREQUENCY_NOISE_TARGET * 1_000_000
    # The budget the statistics leave goes to DP-SGD: less noise than at 0.2.
    unshrunk = plan_budget(1.0, 1e-5, 500 / 1_000_000, 1000, discovery=False)
    assert unshrunk.statistics_share == 0.2
    assert big.sgd_noise < unshrunk.sgd_noise
    assert big.statistics_noise > unshrunk.statistics_noise
    for plan in plans.values():
        plan.history = [(plan.statistics_noise, 1.0, 1), (plan.sgd_noise, plan.sample_rate, 1000)]
        assert plan.spent() <= plan.epsilon


def test_frequency_noise_scale_is_the_released_frequencies_noise():
    rng = np.random.default_rng(0)
    n = 500
    continuous = rng.normal(size=(n, 2))
    categorical = rng.choice(["p", "q"], size=(n, 3)).astype(object)
    for domains in ([None, None], [(-5.0, 5.0), (-5.0, 5.0)]):
        counts = release_statistics(
            continuous, categorical, rng.integers(0, 2, n), 2, domains, [["p", "q"]] * 3,
            noise_multiplier=4.0, discovery_delta=0.0, rng=rng,
        )
        undeclared = sum(d is None for d in domains)
        assert counts.noise_std[1] == pytest.approx(4.0 * frequency_noise_scale(2, 3, undeclared))


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
    # The coarse grid has a bin per octave, and bins lost in the noise are cut:
    # bounds land within a factor 2 of the data's range (mean 5-7, sd 1, in [0, 10]).
    assert -0.01 <= low <= 4 and 8 <= high <= 16


def test_too_small_a_budget_for_bounds_says_what_to_pass(frame):
    X, y = frame
    with (
        pytest.raises(ValueError, match=r"Pass them: dp_domain=\{'b': \(low, high\)\}"),
        pytest.warns(PrivacyBudgetWarning, match=r"No dp_domain bounds.*\['b'\]"),
    ):
        # 80 rows at epsilon 0.3: too few for any bin to stand out.
        dp_model(dp_epsilon=0.3, dp_domain={"a": (0, 10)}).fit(X[:80], y[:80])


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
        ({"precision": "bfloat16"}, "precision='bfloat16'.*clipping bound"),
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
    assert loaded.dp_domain == {**DECLARED_C, "a": (0, 10), "b": (0, 10)}
    pd.testing.assert_frame_equal(loaded.sample_dataset(40)[0], model.sample_dataset(40)[0])


def test_dp_without_opacus_says_what_to_install(frame, monkeypatch):
    X, y = frame
    monkeypatch.setitem(__import__("sys").modules, "opacus", None)
    with pytest.raises(ImportError, match=r'pip install "gan-augment\[privacy\]"'):
        dp_model(dp_epsilon=1.0).fit(X, y)


# -- what a private model releases (issue 15's leaks) ----------------------------------


def test_no_train_mode_generator_pass_sees_the_sampled_rows_conditions(frame, monkeypatch):
    """Batch-norm statistics from fakes made for the Poisson-sampled rows would
    couple examples and be saved with the generator: in a private fit, the
    generator runs in train mode only on conditions drawn from the released counts."""
    from gan_augment.tabular.networks import Generator

    X, y = frame
    public = []
    sample_conditions = PoissonBatches.sample_conditions
    forward = Generator.forward

    def record_public(self, n, generator):
        batch = sample_conditions(self, n, generator)
        public.append(batch.cond)
        return batch

    passes = {"train": 0, "eval": 0}

    def checked_forward(self, x):
        if self.training:
            passes["train"] += 1
            assert public and torch.equal(x[:, -public[-1].shape[1]:], public[-1])
        else:
            passes["eval"] += 1
        return forward(self, x)

    monkeypatch.setattr(PoissonBatches, "sample_conditions", record_public)
    monkeypatch.setattr(Generator, "forward", checked_forward)
    model = dp_model(dp_epsilon=1.0, dp_domain={"a": (0, 10), "b": (0, 10)}).fit(X, y)
    assert passes["train"] == model.n_steps_ and passes["eval"] >= model.n_steps_


def test_a_private_history_keeps_only_the_generator_side(frame, tmp_path):
    from gan_augment import plot

    X, y = frame
    model = dp_model(dp_epsilon=1.0, dp_domain={"a": (0, 10), "b": (0, 10)}).fit(X, y)
    assert list(model.history_.columns) == ["generator_loss", "d_fake"]
    loaded = GANOversampler.load(model.save(tmp_path / "dp.gan"), device="cpu")
    assert list(loaded.history_.columns) == ["generator_loss", "d_fake"]
    assert len(plot.losses(model).axes) == 2
    assert list(dp_model(epochs=1).set_params(dp_epsilon=None).fit(X, y).history_.columns) == [
        "generator_loss", "discriminator_loss", "d_real", "d_fake"
    ]


def test_a_private_sampling_strategy_comes_from_the_noisy_class_sizes(frame, tmp_path):
    X, y = frame
    exact = int(np.sum(y == 0) - np.sum(y == 1))
    model = dp_model(dp_epsilon=1.0, dp_domain={"a": (0, 10), "b": (0, 10)}).fit(X, y)
    noisy = np.rint(model.model_.class_weights).astype(int)
    assert model.sampling_strategy_ == {1: int(noisy[0] - noisy[1])}
    assert model.sampling_strategy_[1] != exact  # the noise is far above 1 row
    loaded = GANOversampler.load(model.save(tmp_path / "dp.gan"), device="cpu")
    assert loaded.sampling_strategy_ == model.sampling_strategy_


def test_released_sampling_strategies_of_each_kind():
    from gan_augment.privacy.setup import released_sampling_strategy

    # A dict asks for totals: what the noisy size already meets gets 0 rows.
    classes = np.array([0, 1])
    assert released_sampling_strategy({1: 250}, classes, np.array([300.0, 120.4]), "over-sampling") == {1: 130}
    assert released_sampling_strategy({1: 100}, classes, np.array([300.0, 120.4]), "over-sampling") == {1: 0}
    assert released_sampling_strategy(0.3, classes, np.array([300.0, 120.4]), "over-sampling") == {1: 0}


def test_class_sizes_come_from_released_cells_only():
    """Two tables that differ only in rows of a category that the threshold
    drops release the same class sizes (with the same noise)."""
    def release(n_rare: int):
        categorical = np.array(["common"] * 500 + ["rare"] * n_rare, dtype=object)[:, None]
        n = len(categorical)
        return release_statistics(
            np.empty((n, 0)), categorical, np.zeros(n, dtype=int), 1, [], [None],
            noise_multiplier=20.0, discovery_delta=1e-6, rng=np.random.default_rng(0),
        )

    with_rare, without = release(8), release(1)
    assert list(with_rare.categories[0]) == list(without.categories[0]) == ["common"]
    np.testing.assert_allclose(with_rare.class_counts, without.class_counts)


def test_a_category_dtype_is_no_declaration_under_dp(tmp_path):
    """astype("category") takes the categories from the data: a category one
    row holds must not reach the model, its saved schema or its output."""
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    values = rng.choice(["u", "v"], n).astype(object)
    values[0] = "one-person-only"
    X = pd.DataFrame({"a": rng.uniform(0, 10, n), "c": pd.Series(values).astype("category")})
    with pytest.warns(PrivacyBudgetWarning, match=r"\['c'\] have a pandas category dtype"):
        model = GANOversampler(**DP_FAST, dp_epsilon=1.0, dp_domain={"a": (0, 10)}, random_state=0)
        model.fit(X, y)
    assert "one-person-only" not in model.transformer_.categories_[0].tolist()
    X_syn, _ = model.sample_dataset(200)
    assert list(X_syn["c"].dtype.categories) == ["u", "v"]
    saved = GANOversampler.load(model.save(tmp_path / "dp.gan"), device="cpu")
    assert list(saved.model_.schema.dtypes[1].categories) == ["u", "v"]
    # Declared categories are kept, also one that no row holds; fit_resample's
    # output keeps X's dtypes.
    X = X.astype({"c": pd.CategoricalDtype(["u", "v", "w", "one-person-only"])})
    declared = GANOversampler(
        **DP_FAST, dp_epsilon=1.0, dp_domain={"a": (0, 10), "c": ["u", "v", "w"]},
        interpolation=0.0, random_state=0,
    )
    X_res, _ = declared.fit_resample(X, y)
    assert sorted(declared.transformer_.categories_[0].tolist()) == ["u", "v", "w"]
    assert X_res.dtypes.equals(X.dtypes) and X_res["c"].notna().all()
    pd.testing.assert_frame_equal(X_res.iloc[:n], X)
    with pytest.raises(ValueError, match=r"declares categories \['x'\] that the column's"):
        declared.set_params(dp_domain={"c": ["u", "x"]}).fit(X, y)


def test_fit_resample_under_dp_with_interpolation_says_what_is_not_covered(frame):
    X, y = frame
    model = dp_model(dp_epsilon=1.0, dp_domain={"a": (0, 10), "b": (0, 10)}, interpolation=0.5)
    with pytest.warns(PrivacyBudgetWarning, match="interpolated between real rows"):
        model.fit_resample(X, y)


def test_the_two_statistics_releases_spend_what_one_mechanism_would():
    rng = np.random.default_rng(0)
    n = 1000
    categorical = rng.choice(["p", "q"], size=(n, 1)).astype(object)
    counts = release_statistics(
        rng.normal(size=(n, 2)), categorical, rng.integers(0, 2, n), 2, [None, (0, 1)],
        [None], noise_multiplier=3.0, discovery_delta=1e-6, rng=rng,
    )
    assert len(counts.history) == 2
    one, two = RDPAccountant(), RDPAccountant()
    one.history = [(3.0, 1.0, 1)]
    two.history = counts.history
    assert two.get_epsilon(1e-5, alphas=ALPHAS) == pytest.approx(one.get_epsilon(1e-5, alphas=ALPHAS))


def test_coarse_bounds_cover_the_data_to_an_octave():
    from gan_augment.privacy.statistics import COARSE_EDGES, coarse_bounds

    x = np.random.default_rng(0).uniform(17, 90, 2000)
    bins = np.searchsorted(COARSE_EDGES, x, side="right") - 1
    counts = np.bincount(bins, minlength=len(COARSE_EDGES) - 1).astype(float)
    assert coarse_bounds(counts, noise_std=10.0) == (16.0, 128.0)
    assert coarse_bounds(counts, noise_std=1e4) is None


def test_a_small_table_fits_at_epsilon_one_with_nothing_declared():
    """2,000 rows, 3 continuous and 3 categorical columns: bounds and every
    category that hundreds of rows hold are read from the data."""
    rng = np.random.default_rng(0)
    n = 2000
    y = (rng.random(n) < 0.25).astype(int)
    X = pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 0.5, n),
        "score": rng.normal(0, 1, n),
        "job": rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.2, 0.15, 0.15, 0.1]),
        "city": rng.choice(["x", "y", "z"], n),
        "flag": rng.choice(["yes", "no"], n, p=[0.9, 0.1]),
    })
    with pytest.warns(PrivacyBudgetWarning, match="No dp_domain bounds"):
        model = GANOversampler(**{**DP_FAST, "epochs": 1}, dp_epsilon=1.0, random_state=0).fit(X, y)
    assert 0.99 <= model.dp_epsilon_spent_ <= 1.0
    for column, expected in zip(model.transformer_.categories_, (list("abcde"), list("xyz"), ["no", "yes"])):
        assert sorted(column.tolist()) == expected
    age = model.transformer_.columns_[0]
    assert age.low <= 18 and 90 <= age.high <= 128
