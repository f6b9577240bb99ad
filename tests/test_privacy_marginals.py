"""dp_method="marginals": per-class noisy counts, a table drawn from them, a GAN trained on it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("opacus", reason="DP accounting needs Opacus (the privacy extra)")

from gan_augment import GANOversampler  # noqa: E402
from gan_augment.options import TABULAR, dp_method, resolve  # noqa: E402
from gan_augment.privacy import setup as private_setup  # noqa: E402
from gan_augment.privacy.accounting import plan_statistics  # noqa: E402
from gan_augment.privacy.marginals import marginal_table  # noqa: E402
from gan_augment.privacy.statistics import release_statistics  # noqa: E402

from .conftest import FAST  # noqa: E402

MARGINALS_FAST = {**FAST, "dp_method": "marginals"}


@pytest.fixture
def frame() -> tuple[pd.DataFrame, np.ndarray]:
    """600 rows: "a" far apart between the classes, "c" a category that follows the class."""
    rng = np.random.default_rng(0)
    n = 600
    y = (rng.random(n) < 0.3).astype(int)
    X = pd.DataFrame(
        {
            "a": np.where(y == 1, rng.normal(8, 0.5, n), rng.normal(2, 0.5, n)).round(4),
            "b": rng.uniform(0, 10, n).round(4),
            "c": np.where(y == 1, "u", rng.choice(["v", "w"], n)),
        }
    )
    return X, y


DOMAIN = {"a": (0, 10), "b": (0, 10), "c": ["u", "v", "w"]}


def fit(X, y, **params) -> GANOversampler:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return GANOversampler(
            **{**MARGINALS_FAST, "random_state": 0, "dp_epsilon": 2.0, "dp_domain": DOMAIN,
               **params}
        ).fit(X, y)


def test_the_default_picks_pairs_for_small_tables_and_the_others_are_asked_for():
    from gan_augment.options import PAIRS_BELOW_ROWS

    params = {**GANOversampler().get_params(), "dp_epsilon": 1.0}
    assert dp_method(params) == "auto"
    assert dp_method({**params, "dp_method": "dp-sgd"}, 100) == "dp-sgd"
    assert dp_method({**params, "dp_method": "marginals"}, 100) == "marginals"
    assert dp_method({**params, "dp_method": "pairs"}, 10**6) == "pairs"
    assert dp_method({**params, "dp_epsilon": None}) is None
    for n_rows, method in ((100, "pairs"), (PAIRS_BELOW_ROWS - 1, "pairs"),
                           (PAIRS_BELOW_ROWS, "marginals"), (1_000_000, "marginals")):
        options = resolve(params, TABULAR, n_rows=n_rows)
        assert options.privacy.method == method
        # Its GAN never sees a real row, so it trains as without DP.
        assert (options.loss, options.feature_matching) == ("wgan-gp", 1.0)
    sgd = resolve({**params, "dp_method": "dp-sgd"}, TABULAR, n_rows=100)
    assert (sgd.privacy.method, sgd.loss, sgd.feature_matching) == (
        "dp-sgd", "non-saturating", 0.0
    )


def test_per_class_histograms_cost_what_the_pooled_ones_cost():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, (500, 1))
    y = (rng.random(500) < 0.5).astype(int)
    cat = np.empty((500, 0), dtype=object)
    args = (x, cat, y, 2, [(0.0, 10.0)], [], 3.0, 0.0)
    pooled = release_statistics(*args, np.random.default_rng(1))
    per_class = release_statistics(*args, np.random.default_rng(1), per_class=True)
    # A row still adds 1 to one count per column: same noise, same history.
    assert per_class.noise_std == pooled.noise_std and per_class.history == pooled.history
    histogram = per_class.histograms[0]
    assert histogram.class_counts.shape == (2, len(histogram.edges) - 1)
    np.testing.assert_allclose(histogram.counts, histogram.class_counts.sum(axis=0))
    assert pooled.histograms[0].class_counts is None


def test_the_drawn_table_follows_each_class_and_holds_no_real_value(frame):
    X, y = frame
    continuous = X[["a", "b"]].to_numpy()
    categorical = X[["c"]].to_numpy(dtype=object)
    counts = release_statistics(
        continuous, categorical, y, 2, [(0.0, 10.0), (0.0, 10.0)], [["u", "v", "w"]],
        noise_multiplier=2.0, discovery_delta=0.0, rng=np.random.default_rng(0),
        per_class=True,
    )
    table_continuous, table_categorical, table_y = marginal_table(
        counts, np.random.default_rng(1)
    )
    assert abs(len(table_y) - len(y)) < 60
    assert abs(table_y.mean() - y.mean()) < 0.1
    a = table_continuous[:, 0]
    assert np.median(a[table_y == 1]) > 6 > 4 > np.median(a[table_y == 0])
    assert (table_categorical[table_y == 1, 0] == "u").mean() > 0.8
    assert (table_categorical[table_y == 0, 0] == "u").mean() < 0.2
    # Values are drawn within noisy bins: none is a real row's value.
    assert not np.isin(table_continuous, continuous).any()


def test_a_marginals_fit_spends_the_budget_on_the_counts_alone(frame):
    X, y = frame
    model = fit(X, y)
    assert 1.98 <= model.dp_epsilon_spent_ <= 2.0
    assert model.dp_noise_multiplier_ is None
    # Two releases (the domains are all declared: an empty one, then the
    # frequencies), each one Gaussian mechanism at sampling rate 1: no DP-SGD.
    assert [(rate, steps) for _, rate, steps in model.dp_history_] == [(1.0, 1)]
    plan = plan_statistics(2.0, 1 / (10 * len(y)), discovery=False)
    assert model.dp_history_[0][0] == pytest.approx(plan.statistics_noise)
    rows = model.sample(40, y=1)
    assert list(rows.columns) == list(X.columns)
    assert list(model.history_.columns) == ["generator_loss", "d_fake"]
    assert model.history_.attrs["loss"] == "wgan-gp"


def test_the_gan_trains_on_the_drawn_table_not_on_the_rows(frame, monkeypatch):
    X, y = frame
    seen = {}
    real = private_setup.marginal_table

    def spy(counts, rng):
        table = real(counts, rng)
        seen["table"] = table
        return table

    monkeypatch.setattr(private_setup, "marginal_table", spy)
    from gan_augment.tabular import domain as tabular_domain

    encoded_inputs = []
    transform = tabular_domain.TabularBatches.__init__

    def record(self, encoded, *args, **kwargs):
        encoded_inputs.append(len(encoded))
        transform(self, encoded, *args, **kwargs)

    monkeypatch.setattr(tabular_domain.TabularBatches, "__init__", record)
    fit(X, y)
    assert encoded_inputs == [len(seen["table"][2])]


def test_marginals_allow_what_only_dp_sgd_refuses(frame):
    X, y = frame
    # A pack, the gradient penalty and feature matching see only the drawn table.
    model = fit(X, y, pac=5, loss="wgan-gp", feature_matching=1.0, classifier_weight=0.3)
    assert model.dp_epsilon_spent_ <= 2.0
    # Early stopping would score held-out real rows: refused by both methods.
    with pytest.raises(ValueError, match="dp_epsilon cannot be combined with early_stopping"):
        fit(X, y, early_stopping=True)


def test_a_marginals_model_saves_and_loads(frame, tmp_path):
    X, y = frame
    model = fit(X, y)
    model.save(tmp_path / "m")
    loaded = GANOversampler.load(tmp_path / "m")
    assert loaded.dp_noise_multiplier_ is None
    assert loaded.history_.attrs["loss"] == "wgan-gp"
    pd.testing.assert_frame_equal(
        loaded.sample(50, y=0), model.sample(50, y=0)
    )


def test_unknown_method_is_refused(frame):
    X, y = frame
    with pytest.raises(ValueError, match="dp_method"):
        fit(X, y, dp_method="pate")


def test_fit_resample_under_marginals_returns_the_real_rows_unchanged(frame):
    X, y = frame
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = GANOversampler(
            **MARGINALS_FAST, random_state=0, dp_epsilon=2.0, dp_domain=DOMAIN,
            interpolation=0.0,
        ).fit_resample(X, y)
    pd.testing.assert_frame_equal(X, before)
    pd.testing.assert_frame_equal(X_res.iloc[: len(X)], X)


def test_a_file_from_before_dp_method_loads_as_dp_sgd(frame, tmp_path):
    import json
    import zipfile

    X, y = frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GANOversampler(
            **{**MARGINALS_FAST, "pac": 1, "dp_method": "dp-sgd"}, random_state=0,
            dp_epsilon=2.0, dp_domain=DOMAIN,
        ).fit(X, y)
    model.save(tmp_path / "new.zip")
    # The same file as an older release wrote it: no dp_method parameter.
    with zipfile.ZipFile(tmp_path / "new.zip") as archive:
        metadata = json.loads(archive.read("metadata.json"))
        weights = archive.read("weights.pt")
    params = metadata["params"]["__dict__"]  # persistence's tagged dict: [key, value] pairs
    metadata["params"]["__dict__"] = [pair for pair in params if pair[0] != "dp_method"]
    assert len(metadata["params"]["__dict__"]) == len(params) - 1
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("weights.pt", weights)
    loaded = GANOversampler.load(tmp_path / "old.zip")
    assert loaded.dp_method == "dp-sgd"
    assert loaded.history_.attrs["loss"] == "non-saturating"
