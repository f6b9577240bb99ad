"""Diagnostic plots: training curves, marginals, a 2-D projection, image grids.

Matplotlib is an optional dependency (``pip install "gan-augment[plot]"``),
imported only when a function is called. Figures are built with
:class:`matplotlib.figure.Figure` rather than ``pyplot``, so nothing ever opens
a window: display one in a notebook by leaving it as a cell's value, or save it
with ``path=`` (a PNG at 100 dpi) or ``fig.savefig``.
"""

from __future__ import annotations

import math
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .losses import LOSSES
from .schema import as_frame, is_categorical_dtype

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["losses", "marginals", "projection", "sample_grid"]

#: Columns every history has (a private fit's lacks ``discriminator_loss``
#: and ``d_real``, computed on real rows without noise).
_HISTORY_COLUMNS = ["generator_loss", "d_fake"]


def _figure(**kwargs: Any) -> Figure:
    """A new Figure, or an ImportError saying how to install matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            'Plotting needs matplotlib: pip install "gan-augment[plot]"'
        ) from exc
    return Figure(layout="constrained", **kwargs)


def _finish(fig: Figure, path: str | PathLike | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=100, format="png")
    return fig


def _same_columns(real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    if list(real.columns) != list(synthetic.columns):
        raise ValueError(
            "X_real and X_synthetic must have the same columns; got "
            f"{list(real.columns)} and {list(synthetic.columns)}."
        )


def losses(history: Any, *, path: str | PathLike | None = None) -> Figure:
    """Plot the training curves of a fitted :class:`~gan_augment.GANOversampler`.

    Parameters
    ----------
    history : GANOversampler or DataFrame
        A fitted estimator, or its ``history_``: one row per epoch with the
        columns ``generator_loss``, ``discriminator_loss``, ``d_real`` and
        ``d_fake``, and optionally ``validation`` (a private fit's history
        has only ``generator_loss`` and ``d_fake``, and only they are drawn).
    path : str or path-like, default=None
        When given, also save the figure there as a PNG (100 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Left panel: generator and discriminator loss per epoch. Right panel:
        mean D(real) and D(fake) per epoch, with a dashed line at 0.5 (their
        equilibrium) for the probabilistic losses (``minimax``,
        ``non-saturating``; a fitted ``history_`` names its loss in
        ``history_.attrs["loss"]``; for another DataFrame, whenever all values
        lie in (0, 1)); plus, on a twin axis, the early-stopping ``validation`` score
        (lower is better) when there is one.

    Examples
    --------
    >>> import pandas as pd
    >>> from gan_augment import plot
    >>> history = pd.DataFrame({"generator_loss": [0.9, 0.7],
    ...                         "discriminator_loss": [1.4, 1.3],
    ...                         "d_real": [0.6, 0.55], "d_fake": [0.4, 0.45]})
    >>> len(plot.losses(history).axes)
    2
    >>> fig = plot.losses(sampler, path="losses.png")  # doctest: +SKIP
    """
    probabilistic = None
    if not isinstance(history, pd.DataFrame):
        if not hasattr(history, "get_params"):
            raise TypeError(
                "history must be a GANOversampler or its history_ DataFrame; "
                f"got {type(history).__name__}."
            )
        from sklearn.utils.validation import check_is_fitted

        from .options import resolved_loss

        check_is_fitted(history, "history_")
        probabilistic = LOSSES[resolved_loss(history.get_params())].probabilistic
        history = history.history_
    missing = [c for c in _HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(
            f"history lacks the column(s) {missing}; expected a GANOversampler's "
            f"history_ with the columns {_HISTORY_COLUMNS}."
        )
    if probabilistic is None and history.attrs.get("loss") in LOSSES:
        # A fitted history_ knows its loss (pandas attrs).
        probabilistic = LOSSES[history.attrs["loss"]].probabilistic
    if probabilistic is None:
        d = history[[c for c in ("d_real", "d_fake") if c in history]].to_numpy(dtype=float)
        probabilistic = bool(np.all((d > 0) & (d < 1)))

    fig = _figure(figsize=(10, 4))
    ax_loss, ax_d = fig.subplots(1, 2)
    epochs = history.index
    ax_loss.plot(epochs, history["generator_loss"], label="generator")
    if "discriminator_loss" in history:
        ax_loss.plot(epochs, history["discriminator_loss"], label="discriminator")
    ax_loss.set(title="Losses", xlabel="epoch", ylabel="loss")
    ax_loss.legend()

    if "d_real" in history:
        ax_d.plot(epochs, history["d_real"], label="D(real)")
    ax_d.plot(epochs, history["d_fake"], label="D(fake)")
    if probabilistic:
        ax_d.axhline(0.5, color="grey", linestyle="--", label="equilibrium (0.5)")
    ax_d.set(title="Discriminator outputs", xlabel="epoch",
             ylabel="mean D(x)" if probabilistic else "mean score")
    handles, labels = ax_d.get_legend_handles_labels()
    validation = history.get("validation")
    if validation is not None and validation.notna().any():
        ax_val = ax_d.twinx()
        scores = validation.dropna()
        ax_val.plot(scores.index, scores, color="C2", marker="o", label="validation")
        ax_val.set_ylabel("validation MMD (lower is better)")
        more_handles, more_labels = ax_val.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax_d.legend(handles, labels)
    return _finish(fig, path)


def marginals(
    X_real: Any,
    X_synthetic: Any,
    *,
    columns: list | None = None,
    max_columns: int = 12,
    bins: int = 30,
    path: str | PathLike | None = None,
) -> Figure:
    """Compare the distribution of each column in real and synthetic data.

    Parameters
    ----------
    X_real, X_synthetic : DataFrame or array-like of shape (n_rows, n_features)
        Real and synthetic rows with the same columns. Arrays get columns named
        ``0..n-1``.
    columns : list, default=None
        Columns to plot; None plots all of them.
    max_columns : int, default=12
        Plot at most this many columns (the first ones).
    bins : int, default=30
        Histogram bins of the numeric columns (shared by real and synthetic).
    path : str or path-like, default=None
        When given, also save the figure there as a PNG (100 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel per column, four to a row: overlaid density histograms for
        numeric columns; side-by-side bars of each category's share for
        categorical, object, string and bool columns.

    Raises
    ------
    ValueError
        If the two inputs have different columns, or ``columns`` names one
        they lack.

    Examples
    --------
    >>> import numpy as np
    >>> from gan_augment import plot
    >>> rng = np.random.default_rng(0)
    >>> fig = plot.marginals(rng.normal(size=(100, 3)), rng.normal(size=(80, 3)))
    >>> len(fig.axes)
    3
    >>> X_syn = sampler.sample(500, y=1)  # doctest: +SKIP
    >>> fig = plot.marginals(X[y == 1], X_syn, path="marginals.png")  # doctest: +SKIP
    """
    real = as_frame(X_real, "X_real")
    synthetic = as_frame(X_synthetic, "X_synthetic")
    _same_columns(real, synthetic)
    if columns is None:
        columns = list(real.columns)
    unknown = [c for c in columns if c not in real.columns]
    if unknown:
        raise ValueError(
            f"Unknown column(s) {unknown}; the columns are {list(real.columns)}."
        )
    columns = list(columns)[:max_columns]
    if not columns:
        raise ValueError("No columns to plot.")

    ncols = min(4, len(columns))
    nrows = math.ceil(len(columns) / ncols)
    fig = _figure(figsize=(3 * ncols, 2.5 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(columns):]:
        fig.delaxes(ax)
    for ax, column in zip(axes, columns):
        r, s = real[column].dropna(), synthetic[column].dropna()
        if is_categorical_dtype(real[column].dtype) or is_categorical_dtype(synthetic[column].dtype):
            _category_bars(ax, r, s)
        else:
            r, s = r.astype(float), s.astype(float)
            edges = np.histogram_bin_edges(pd.concat([r, s]), bins=bins)
            ax.hist(r, bins=edges, density=True, alpha=0.5, label="real")
            ax.hist(s, bins=edges, density=True, alpha=0.5, label="synthetic")
        ax.set_title(str(column), fontsize="medium")
        ax.tick_params(labelsize="small")
    axes[0].legend(fontsize="small")
    return _finish(fig, path)


def _category_bars(ax: Any, real: pd.Series, synthetic: pd.Series) -> None:
    """Side-by-side bars of each category's share in real and synthetic rows."""
    shares = pd.DataFrame(
        {
            "real": real.astype(object).value_counts(normalize=True),
            "synthetic": synthetic.astype(object).value_counts(normalize=True),
        }
    ).fillna(0.0)
    shares = shares.sort_values("real", ascending=False, kind="stable")
    x = np.arange(len(shares))
    ax.bar(x - 0.2, shares["real"], width=0.4, label="real")
    ax.bar(x + 0.2, shares["synthetic"], width=0.4, label="synthetic")
    ax.set_xticks(x, [str(c) for c in shares.index], rotation=45, ha="right")
    ax.set_ylabel("share", fontsize="small")


def projection(
    X_real: Any,
    y_real: Any,
    X_synthetic: Any,
    y_synthetic: Any,
    *,
    path: str | PathLike | None = None,
    random_state: int | None = 0,
) -> Figure:
    """Show real and synthetic rows in the first two principal components.

    Numeric columns are standardised and categorical, object, string and bool
    columns one-hot encoded (categories unseen in the real rows are ignored);
    the encoding and the PCA are fitted on the real rows only, so synthetic
    rows are shown in the real data's coordinates.

    Parameters
    ----------
    X_real : DataFrame or array-like of shape (n_real, n_features)
    y_real : array-like of shape (n_real,)
    X_synthetic : DataFrame or array-like of shape (n_synthetic, n_features)
        Synthetic rows with the same columns as ``X_real``.
    y_synthetic : array-like of shape (n_synthetic,) or a single label
        Their classes; a single label applies to every row (as from
        ``sampler.sample(n, y=label)``).
    path : str or path-like, default=None
        When given, also save the figure there as a PNG (100 dpi).
    random_state : int or None, default=0
        Seed of the PCA (used by its randomized solver on large data).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One panel: one colour per class, real rows as dots and synthetic rows
        as crosses; axis labels give each component's share of the real rows'
        variance.

    Examples
    --------
    >>> import numpy as np
    >>> from gan_augment import plot
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 4)), np.repeat([0, 1], 30)
    >>> len(plot.projection(X, y, rng.normal(size=(20, 4)), 1).axes)
    1
    >>> X_res, y_res = sampler.fit_resample(X, y)  # doctest: +SKIP
    >>> fig = plot.projection(X, y, X_res[len(X):], y_res[len(X):])  # doctest: +SKIP
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    real = as_frame(X_real, "X_real")
    synthetic = as_frame(X_synthetic, "X_synthetic")
    _same_columns(real, synthetic)
    y_real = np.asarray(y_real)
    y_synthetic = np.asarray(y_synthetic)
    if y_synthetic.ndim == 0:
        y_synthetic = np.full(len(synthetic), y_synthetic.item())
    for X, y, name in ((real, y_real, "real"), (synthetic, y_synthetic, "synthetic")):
        if y.shape != (len(X),):
            raise ValueError(
                f"y_{name} must have one label per row of X_{name} ({len(X)}); "
                f"got shape {y.shape}."
            )
    if len(real) < 2:
        raise ValueError("projection needs at least 2 real rows.")

    # Positional column names: no clash between int and str names in sklearn.
    real = real.set_axis(range(real.shape[1]), axis=1)
    synthetic = synthetic.set_axis(range(synthetic.shape[1]), axis=1)
    categorical = np.array([is_categorical_dtype(d) for d in real.dtypes], dtype=bool)
    encoder = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", StandardScaler(), ~categorical),
        ],
        sparse_threshold=0,
    )
    Z_real = encoder.fit_transform(real)
    pca = PCA(n_components=min(2, *Z_real.shape), random_state=random_state)
    P_real = pca.fit_transform(Z_real)
    P_synthetic = (
        pca.transform(encoder.transform(synthetic))
        if len(synthetic)
        else np.empty((0, pca.n_components_))
    )
    if pca.n_components_ < 2:  # a single feature: draw it on a line
        P_real, P_synthetic = (
            np.column_stack([P, np.zeros(len(P))]) for P in (P_real, P_synthetic)
        )

    fig = _figure(figsize=(6, 5))
    ax = fig.subplots()
    classes = pd.unique(np.concatenate([y_real, y_synthetic]).astype(object))
    for i, label in enumerate(classes):
        colour = f"C{i % 10}"
        rows = y_real == label
        if rows.any():
            ax.scatter(*P_real[rows].T, color=colour, marker="o", s=12, alpha=0.5,
                       label=f"{label} (real)")
        rows = y_synthetic == label
        if rows.any():
            ax.scatter(*P_synthetic[rows].T, color=colour, marker="x", s=18, alpha=0.8,
                       label=f"{label} (synthetic)")
    ratios = list(pca.explained_variance_ratio_) + [0.0]
    ax.set(title="PCA of real (o) and synthetic (x) rows",
           xlabel=f"PC1 ({ratios[0]:.0%} of variance)",
           ylabel=f"PC2 ({ratios[1]:.0%} of variance)")
    ax.legend(fontsize="small", title="class")
    return _finish(fig, path)


def _tiles(images: np.ndarray, gap: int, fill: float) -> np.ndarray:
    """Float ``(n, C, H, W)`` images in [-1, 1] side by side: an ``(H, W', C)`` strip in [0, 1]."""
    n, c, h, w = images.shape
    strip = np.full((h, n * (w + gap) - gap if n else 0, c), fill, dtype=np.float32)
    for i, image in enumerate(images):
        strip[:, i * (w + gap) : i * (w + gap) + w] = (image.transpose(1, 2, 0) + 1) / 2
    return np.clip(strip, 0, 1)


def sample_grid(
    model: Any,
    classes: Any = None,
    n_per_class: int = 8,
    X_real: Any = None,
    y_real: Any = None,
    *,
    path: str | PathLike | None = None,
) -> Figure:
    """Show generated images of each class, beside real ones when given.

    Parameters
    ----------
    model : GANOversampler
        Fitted on images.
    classes : sequence of labels, default=None
        Classes to show, one row each; None shows every class seen in fit.
    n_per_class : int, default=8
        Generated (and real) images per class.
    X_real, y_real : array-like, default=None
        Real images in the layout the model was fitted on, and their labels;
        the first ``n_per_class`` of each class are drawn to the right of the
        generated ones.
    path : str or path-like, default=None
        When given, also save the figure there as a PNG (100 dpi).

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per class: generated images on the left, real ones (when
        given) on the right. Greyscale images are drawn with high values
        dark, as ink on paper (how MNIST and sklearn's digits store them).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from gan_augment import GANOversampler, plot
    >>> X, y = load_digits(return_X_y=True)
    >>> sampler = GANOversampler(epochs=1, batch_size=64, conv_width=8,
    ...                          random_state=0, device="cpu")
    >>> _ = sampler.fit_resample(X.reshape(-1, 8, 8), y)
    >>> fig = plot.sample_grid(sampler, classes=[3, 5], n_per_class=4,
    ...                        X_real=X.reshape(-1, 8, 8), y_real=y)
    >>> len(fig.axes)
    2
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "generator_")
    layout = getattr(model, "image_layout_", None)
    if layout is None:
        raise ValueError("sample_grid needs a GANOversampler fitted on images.")
    classes = list(model.classes_ if classes is None else classes)
    if (X_real is None) != (y_real is None):
        raise ValueError("Give both X_real and y_real, or neither.")
    if X_real is not None:
        X_real, y_real = np.asarray(X_real), np.asarray(y_real)
    grey = layout.channels == 1
    # The background between images: white, which is 0 in the reversed grey map.
    fill = 0.0 if grey else 1.0
    rows = []
    for label in classes:
        generated = layout.to_tensor_array(model.sample(n_per_class, label))
        strips = [_tiles(generated, 1, fill)]
        if X_real is not None:
            real = X_real[y_real == label][:n_per_class]
            strips += [np.full((layout.height, 4, layout.channels), fill, np.float32)]
            strips += [_tiles(layout.to_tensor_array(real), 1, fill)]
        rows.append(np.concatenate(strips, axis=1))

    width = rows[0].shape[1] / layout.height
    fig = _figure(figsize=(min(1 + 0.5 * width, 16), 0.6 * len(classes) + 0.6))
    axes = np.atleast_1d(fig.subplots(len(classes), 1))
    for ax, label, strip in zip(axes, classes, rows):
        ax.imshow(strip[..., 0] if grey else strip, cmap="gray_r" if grey else None,
                  vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_ylabel(str(label), rotation=0, ha="right", va="center")
    title = "generated" + ("  |  real" if X_real is not None else "")
    axes[0].set_title(title, fontsize="small")
    return _finish(fig, path)
