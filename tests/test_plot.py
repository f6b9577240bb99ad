"""Tests of gan_augment.plot: figures, panels, PNG output and errors."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from gan_augment import GANOversampler, plot  # noqa: E402
from gan_augment.exceptions import SmallClassWarning  # noqa: E402

from .conftest import FAST  # noqa: E402

N_MAJORITY, N_MINORITY = 120, 30


def _labels() -> np.ndarray:
    return np.repeat([0, 1], [N_MAJORITY, N_MINORITY])


def _mixed_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "float": rng.normal(size=n),
            "int": rng.integers(0, 20, n),
            "bool": rng.random(n) < 0.3,
            "category": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "object": rng.choice(["p", "q"], n).astype(object),
        }
    )


@pytest.fixture(scope="module")
def array_fit():
    """A minimax model fitted on a plain float array, with 30 synthetic rows."""
    X = np.random.default_rng(1).normal(size=(N_MAJORITY + N_MINORITY, 3))
    model = GANOversampler(random_state=0, loss="minimax", **FAST)
    model.fit_resample(X, _labels())
    return model, X, model.sample(30, y=1)


@pytest.fixture(scope="module")
def frame_fit():
    """A wgan-gp model fitted on a mixed DataFrame, with 30 synthetic rows."""
    X = _mixed_frame(N_MAJORITY + N_MINORITY)
    model = GANOversampler(random_state=0, loss="wgan-gp", **FAST)
    model.fit_resample(X, _labels())
    return model, X, model.sample(30, y=1)


def _has_half_line(fig: Figure) -> bool:
    return any(
        line.get_linestyle() == "--" and np.allclose(line.get_ydata(), 0.5)
        for ax in fig.axes
        for line in ax.get_lines()
    )


def _assert_png(path) -> None:
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- losses ---------------------------------------------------------------------


def test_losses_minimax_has_equilibrium_line(array_fit, tmp_path):
    model, _, _ = array_fit
    path = tmp_path / "losses.png"
    fig = plot.losses(model, path=path)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert _has_half_line(fig)
    _assert_png(path)
    # D(real) and D(fake) are drawn on the second panel.
    assert len(fig.axes[1].get_lines()) == 3
    # The DataFrame alone is recognised as probabilistic by its range.
    assert _has_half_line(plot.losses(model.history_))


def test_losses_wgan_has_no_equilibrium_line(frame_fit):
    model, _, _ = frame_fit
    for source in (model, model.history_):
        fig = plot.losses(source)
        assert len(fig.axes) == 2
        assert not _has_half_line(fig)


def test_losses_validation_on_twin_axis(array_fit):
    history = array_fit[0].history_.copy()
    history["validation"] = np.nan
    assert len(plot.losses(history).axes) == 2  # all NaN: no twin axis
    history.loc[history.index[-1], "validation"] = 0.25
    fig = plot.losses(history)
    assert len(fig.axes) == 3
    (line,) = fig.axes[2].get_lines()
    np.testing.assert_allclose(line.get_ydata(), [0.25])


def test_losses_rejects_incomplete_history(array_fit):
    history = array_fit[0].history_.drop(columns="d_fake")
    with pytest.raises(ValueError, match="d_fake"):
        plot.losses(history)


def test_losses_rejects_unfitted_model():
    with pytest.raises(ValueError):  # sklearn's NotFittedError is a ValueError
        plot.losses(GANOversampler())


# -- marginals ------------------------------------------------------------------


def test_marginals_mixed_frame(frame_fit, tmp_path):
    _, X, X_syn = frame_fit
    path = tmp_path / "marginals.png"
    fig = plot.marginals(X, X_syn, path=path)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == X.shape[1]
    assert [ax.get_title() for ax in fig.axes] == list(X.columns)
    _assert_png(path)
    by_title = {ax.get_title(): ax for ax in fig.axes}
    # Categorical columns: one real and one synthetic bar per category.
    assert len(by_title["category"].patches) == 2 * 3
    assert len(by_title["bool"].patches) == 2 * 2
    assert len(by_title["object"].patches) == 2 * 2
    shares = [p.get_height() for p in by_title["category"].patches[:3]]
    assert sum(shares) == pytest.approx(1.0)
    # Numeric columns: two overlaid histograms of `bins` bars each.
    assert len(by_title["float"].patches) == 2 * 30
    assert len(by_title["int"].patches) == 2 * 30


def test_marginals_float_array_columns_and_limits(array_fit):
    _, X, X_syn = array_fit
    fig = plot.marginals(X, X_syn, bins=10)
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2"]
    assert all(len(ax.patches) == 2 * 10 for ax in fig.axes)
    wide = np.random.default_rng(0).normal(size=(50, 15))
    assert len(plot.marginals(wide, wide).axes) == 12
    assert len(plot.marginals(wide, wide, max_columns=5).axes) == 5
    assert [ax.get_title() for ax in plot.marginals(X, X_syn, columns=[2]).axes] == ["2"]


def test_marginals_rejects_different_columns(frame_fit, array_fit):
    _, X, X_syn = frame_fit
    with pytest.raises(ValueError, match="same columns"):
        plot.marginals(X, X_syn.drop(columns="int"))
    with pytest.raises(ValueError, match="same columns"):
        plot.marginals(array_fit[1], array_fit[2][:, :2])
    with pytest.raises(ValueError, match="Unknown column"):
        plot.marginals(X, X_syn, columns=["nope"])


# -- projection -----------------------------------------------------------------


def test_projection_mixed_frame(frame_fit, tmp_path):
    _, X, X_syn = frame_fit
    path = tmp_path / "projection.png"
    fig = plot.projection(X, _labels(), X_syn, np.ones(len(X_syn), int), path=path)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    _assert_png(path)
    ax = fig.axes[0]
    # Real class 0, real class 1, synthetic class 1.
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [N_MAJORITY, N_MINORITY, len(X_syn)]
    assert all(np.isfinite(c.get_offsets()).all() for c in ax.collections)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["0 (real)", "1 (real)", "1 (synthetic)"]


def test_projection_float_array_and_scalar_label(array_fit):
    _, X, X_syn = array_fit
    fig = plot.projection(X, _labels(), X_syn, 1, random_state=3)
    ax = fig.axes[0]
    assert [len(c.get_offsets()) for c in ax.collections] == [N_MAJORITY, N_MINORITY, 30]
    # Real rows are centred by the PCA fitted on them.
    real = np.vstack([c.get_offsets() for c in ax.collections[:2]])
    np.testing.assert_allclose(real.mean(axis=0), 0, atol=1e-8)


def test_projection_errors(array_fit):
    _, X, X_syn = array_fit
    with pytest.raises(ValueError, match="same columns"):
        plot.projection(X, _labels(), X_syn[:, :2], 1)
    with pytest.raises(ValueError, match="y_synthetic"):
        plot.projection(X, _labels(), X_syn, [1, 1])
    with pytest.raises(ValueError, match="2-D"):
        plot.projection(X[:, 0], _labels(), X_syn, 1)


# -- optional dependency --------------------------------------------------------


def test_missing_matplotlib_says_how_to_install(monkeypatch, array_fit):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "gan-augment\[plot\]"'):
        plot.losses(array_fit[0])


@pytest.fixture(scope="module")
def image_fit():
    """A tiny image model on random 8x8 RGB images (NHWC uint8), three classes."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (30, 8, 8, 3)).astype(np.uint8)
    y = np.repeat([0, 1, 2], [16, 8, 6])
    sampler = GANOversampler(
        epochs=2, batch_size=16, embedding_dim=4, conv_width=4, random_state=0,
        device="cpu",
    )
    with pytest.warns(SmallClassWarning, match=r"\{1: 8, 2: 6\}"):
        sampler.fit_resample(X, y)
    return sampler, X, y


def test_sample_grid_beside_real_images(image_fit, tmp_path):
    sampler, X, y = image_fit
    path = tmp_path / "grid.png"
    fig = plot.sample_grid(sampler, classes=[1, 2], n_per_class=4, X_real=X, y_real=y,
                           path=path)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    strip = fig.axes[0].images[0].get_array()
    # 4 generated and 4 real 8-pixel tiles, 1-pixel gaps, a 4-pixel separator.
    assert strip.shape == (8, 4 * 9 - 1 + 4 + 4 * 9 - 1, 3)


def test_sample_grid_every_class_by_default(image_fit):
    sampler, _, _ = image_fit
    assert len(plot.sample_grid(sampler, n_per_class=2).axes) == 3


def test_sample_grid_errors(image_fit, array_fit):
    sampler, X, y = image_fit
    with pytest.raises(ValueError, match="fitted on images"):
        plot.sample_grid(array_fit[0])
    with pytest.raises(ValueError, match="both X_real and y_real"):
        plot.sample_grid(sampler, X_real=X)


def test_losses_of_an_image_model(image_fit):
    sampler, _, _ = image_fit
    fig = plot.losses(sampler)
    assert len(fig.axes) == 2
    assert len(fig.axes[1].lines) == 2  # wgan-gp: raw scores, no equilibrium line


def test_a_fitted_history_names_its_loss(frame_fit, tmp_path):
    # Without the name, a WGAN history whose scores happen to lie in (0, 1)
    # would be drawn with the probabilistic losses' equilibrium line.
    model, _, _ = frame_fit
    history = model.history_.copy()
    history[["d_real", "d_fake"]] = 0.4
    assert history.attrs["loss"] == "wgan-gp"
    assert not _has_half_line(plot.losses(history))
    loaded = GANOversampler.load(model.save(tmp_path / "m.gan"), device="cpu")
    assert loaded.history_.attrs["loss"] == "wgan-gp"
