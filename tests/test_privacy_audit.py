"""The canary audit: the epsilon lower bound on hand-made scores, and one real game under DP."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from gan_augment.privacy.audit import (
    MODEL_FEATURES,
    ROW_SCORES,
    AuditBound,
    canary_audit,
    epsilon_lower_bound,
    summarise,
)

from .conftest import FAST


def closed_form(n: int, confidence: float) -> float:
    """The bound of n against n perfectly separated trials: TPR_low = a ** (1 / n)
    and FPR_high = 1 - a ** (1 / n), with a = (1 - confidence) / (2 n)."""
    p = ((1 - confidence) / (2 * n)) ** (1 / n)
    return math.log(p / (1 - p))


class TestEpsilonLowerBound:
    @pytest.mark.parametrize("n, confidence", [(10, 0.95), (100, 0.95), (200, 0.99)])
    def test_perfect_separation_is_the_clopper_pearson_closed_form(self, n, confidence):
        bound = epsilon_lower_bound(np.ones(n), np.zeros(n), confidence=confidence)
        assert bound.epsilon == pytest.approx(closed_form(n, confidence), rel=1e-9)
        assert (bound.tpr, bound.fpr, bound.k_in, bound.k_out) == (1.0, 0.0, n, 0)
        assert (bound.n_in, bound.n_out, bound.confidence) == (n, n, confidence)

    def test_more_trials_and_less_confidence_give_a_larger_bound(self):
        small = epsilon_lower_bound(np.ones(50), np.zeros(50)).epsilon
        large = epsilon_lower_bound(np.ones(500), np.zeros(500)).epsilon
        loose = epsilon_lower_bound(np.ones(50), np.zeros(50), confidence=0.5).epsilon
        assert small < large and small < loose

    def test_identical_distributions_give_zero(self):
        scores = np.random.default_rng(0).normal(size=200)
        assert epsilon_lower_bound(scores, scores).epsilon == 0.0
        assert epsilon_lower_bound(np.zeros(30), np.zeros(40)).epsilon == 0.0

    def test_scores_that_say_out_bound_nothing(self):
        # "score >= t means in" is the test; reversed scores are no evidence for it.
        assert epsilon_lower_bound(np.zeros(50), np.ones(50)).epsilon == 0.0

    def test_delta_lowers_the_bound_and_a_large_one_clips_it_at_zero(self):
        plain = epsilon_lower_bound(np.ones(100), np.zeros(100)).epsilon
        assert epsilon_lower_bound(np.ones(100), np.zeros(100), delta=0.2).epsilon < plain
        assert epsilon_lower_bound(np.ones(100), np.zeros(100), delta=0.95).epsilon == 0.0

    def test_the_bound_of_a_known_mechanism_stays_below_its_epsilon(self):
        # Randomised response at epsilon 1 answers "in" truthfully with
        # probability e / (1 + e): 2,000 trials must not bound epsilon above 1.
        rng = np.random.default_rng(1)
        truth = math.e / (1 + math.e)
        scores_in = (rng.random(1000) < truth).astype(float)
        scores_out = (rng.random(1000) >= truth).astype(float)
        bound = epsilon_lower_bound(scores_in, scores_out)
        assert 0.5 < bound.epsilon < 1.0

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"scores_in": []}, "scores_in is empty"),
            ({"scores_out": np.array([])}, "scores_out is empty"),
            ({"scores_in": [1.0, np.nan]}, "NaN or infinite"),
            ({"scores_in": np.ones((2, 2))}, "one-dimensional"),
            ({"confidence": 1.0}, r"confidence must be in \(0, 1\)"),
            ({"confidence": 0.0}, r"confidence must be in \(0, 1\)"),
            ({"delta": 1.0}, r"delta must be in \[0, 1\)"),
            ({"delta": -0.1}, r"delta must be in \[0, 1\)"),
        ],
    )
    def test_bad_input_is_refused(self, kwargs, match):
        arguments = {"scores_in": [1.0, 2.0], "scores_out": [0.0, 1.0], **kwargs}
        with pytest.raises(ValueError, match=match):
            epsilon_lower_bound(**arguments)

    @pytest.mark.parametrize(
        "kwargs", [{"scores_in": ["a", "b"]}, {"confidence": "0.95"}, {"delta": None}]
    )
    def test_wrong_types_are_refused(self, kwargs):
        arguments = {"scores_in": [1.0, 2.0], "scores_out": [0.0, 1.0], **kwargs}
        with pytest.raises(TypeError):
            epsilon_lower_bound(**arguments)


def _record(fit: int, role: str, score: float, feature: float) -> dict:
    return {
        "fit": fit, "seed": fit, "role": role, "epsilon_reported": 1.0, "delta_reported": 1e-3,
        "fit_seconds": 0.0, "nearest_synthetic": score, "features": {"released": {"n": feature}},
    }


class TestSummarise:
    def test_learned_scores_flag_a_deterministic_difference(self):
        # A feature every fit without the canary agrees on, which the canary
        # moves: the learned score separates perfectly.
        records = [_record(i, "reference", 0.0, 5.0) for i in range(3)]
        records += [
            _record(3 + i, role, 0.0, 6.0 if role == "in" else 5.0)
            for i, role in enumerate(["in", "out"] * 40)
        ]
        result = summarise(records, scores=["nearest_synthetic", "released"])
        assert result.best_score == "released"
        assert result.bounds["nearest_synthetic"].epsilon == 0.0
        assert result.delta == 1e-3 and result.epsilon_reported == 1.0
        # Two scores: each holds at 0.975, and has that confidence's bound.
        expected = epsilon_lower_bound(np.ones(40), np.zeros(40), 1e-3, 0.975).epsilon
        assert result.epsilon_lower == pytest.approx(expected)
        assert result.trials.loc[result.trials["role"] == "reference", "released"].isna().all()

    def test_records_without_both_kinds_of_trial_are_refused(self):
        records = [_record(0, "reference", 0.0, 1.0), _record(1, "in", 0.0, 1.0)]
        with pytest.raises(ValueError, match="both with and without"):
            summarise(records, scores=["released"])

    def test_unknown_scores_are_refused(self):
        with pytest.raises(ValueError, match="Unknown scores"):
            summarise([_record(0, "in", 0, 0)], scores=["nope"])
        with pytest.raises(TypeError, match="not one string"):
            summarise([_record(0, "in", 0, 0)], scores="released")


@pytest.fixture
def table() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """120 rows, two numeric columns and a category; the canary far out in both."""
    rng = np.random.default_rng(0)
    n = 120
    y = np.r_[np.zeros(80, int), np.ones(40, int)]
    X = pd.DataFrame({
        "a": rng.normal(y, 1.0), "b": rng.normal(0, 1.0, n),
        "c": pd.Categorical(rng.choice(["u", "v"], n), categories=["u", "v"]),
    })
    canary = pd.DataFrame({"a": [6.0], "b": [6.0], "c": ["u"]}).astype(X.dtypes.to_dict())
    return X, y, canary


class TestCanaryAudit:
    def test_a_dp_game_reports_each_score_and_stays_below_the_reported_epsilon(self, table):
        pytest.importorskip("opacus", reason="DP training needs Opacus (the privacy extra)")
        X, y, canary = table
        from gan_augment import GANOversampler

        def make(seed: int) -> GANOversampler:
            params = {k: v for k, v in FAST.items() if k != "pac"}
            return GANOversampler(
                **{**params, "epochs": 1}, dp_epsilon=2.0, dp_delta=1e-3, random_state=seed,
                n_jobs=1, dp_domain={"a": (-8, 8), "b": (-8, 8), "c": ["u", "v"]},
            )

        seen = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Three fits: a DP fit's noise calibration takes seconds.
            result = canary_audit(make, X, y, canary, 1, n_trials=2, n_reference=1,
                                  n_synthetic=100, random_state=7, on_trial=seen.append)
        assert set(result.bounds) == set(ROW_SCORES) | set(MODEL_FEATURES)
        assert all(isinstance(b, AuditBound) for b in result.bounds.values())
        assert all(b.confidence == pytest.approx(1 - 0.05 / 5) for b in result.bounds.values())
        assert result.trials["role"].tolist() == ["reference", "in", "out"]
        assert result.trials["seed"].tolist() == [7, 8, 9]
        assert result.delta == 1e-3 and 1.9 <= result.epsilon_reported <= 2.0
        assert 0.0 <= result.epsilon_lower < result.epsilon_reported
        assert result.epsilon_lower == max(b.epsilon for b in result.bounds.values())

        # Every record, as on_trial got it, resumes the game without a new fit.
        def refuse(seed):
            raise AssertionError("a finished fit was made again")

        again = canary_audit(refuse, X, y, canary, 1, n_trials=2, n_reference=1, done=seen)
        pd.testing.assert_frame_equal(again.trials, result.trials)

    @pytest.mark.parametrize(
        "change, error, match",
        [
            ({"canary_X": "two rows"}, ValueError, "one row with X's 3 columns"),
            ({"canary_y": 5}, ValueError, "canary_y=5 is not a class of y"),
            ({"y": np.zeros(3)}, ValueError, "one label per row"),
            ({"n_trials": 1}, ValueError, "n_trials must be at least 2"),
            ({"n_trials": 4.0}, TypeError, "n_trials must be an integer"),
            ({"n_reference": 0}, ValueError, "n_reference must be at least 1"),
            ({"confidence": 2.0}, ValueError, "confidence must be in"),
            ({"delta": 1.5}, ValueError, "delta must be in"),
            ({"scores": ["nope"]}, ValueError, "Unknown scores"),
        ],
    )
    def test_bad_input_is_refused_before_any_fit(self, table, change, error, match):
        X, y, canary = table
        arguments = {"X": X, "y": y, "canary_X": canary, "canary_y": 1, "n_trials": 4, **change}
        if isinstance(arguments["canary_X"], str):
            arguments["canary_X"] = pd.concat([canary, canary])

        def refuse(seed):
            raise AssertionError("fitted before the input was checked")

        with pytest.raises(error, match=match):
            canary_audit(refuse, **arguments)
