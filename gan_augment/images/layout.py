"""Image layouts in and out: NHW, NHWC, NCHW or flat rows, and scaling to [-1, 1].

:class:`ImageLayout` records how the user's images were laid out (axis order,
shape, dtype and value range) so that generated images come back the same
way; the networks only ever see ``(n, C, H, W)`` float32 tensors in [-1, 1].

The channel rule: a 4-D array ``(n, a, b, c)`` is NCHW when ``a`` is 1, 3 or 4
and ``c`` is not, NHWC when ``c`` is 1, 3 or 4 and ``a`` is not. When both or
neither are, the layout cannot be told and a ValueError says so. (Both can
only hold for images under 8 pixels a side, which are refused anyway.) A
3-D array ``(n, H, W)`` is greyscale; a 2-D array needs ``image_shape``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from numbers import Integral
from typing import Any

import numpy as np

__all__ = ["CHANNELS", "MIN_SIZE", "ImageLayout"]

#: Channel counts the layout rule recognises: grey, RGB, RGBA.
CHANNELS = (1, 3, 4)
#: The smallest image side the DCGAN handles (one down-sampling to 4x4).
MIN_SIZE = 8


def _channel_first(shape: tuple[int, int, int], what: str) -> bool:
    """Whether a 3-axis image shape is (C, H, W) rather than (H, W, C)."""
    first, last = shape[0] in CHANNELS, shape[2] in CHANNELS
    if first != last:
        return first
    raise ValueError(
        f"Cannot tell the channel axis of {what} {shape}: expected exactly one of "
        f"its first and last axes to have {', '.join(map(str, CHANNELS))} channels "
        "((C, H, W) or (H, W, C))."
    )


@dataclass(frozen=True)
class ImageLayout:
    """How a set of images was laid out, and how to give images back that way.

    Attributes
    ----------
    order : {"NHW", "NHWC", "NCHW", "flat"}
        Axis order of the input; ``"flat"`` rows are ``(C, H, W)`` images
        flattened in C order.
    channels, height, width : int
    dtype : str
        NumPy dtype of the input; generated images are cast back to it
        (integers rounded and clipped).
    low, high : float
        The value range mapped to [-1, 1]: 0..255 for uint8, otherwise the
        smallest and largest value seen in fit.

    Examples
    --------
    >>> import numpy as np
    >>> from gan_augment.images.layout import ImageLayout
    >>> X = np.zeros((5, 32, 32, 3), dtype=np.uint8)
    >>> layout = ImageLayout.from_data(X)
    >>> layout.order, layout.shape
    ('NHWC', (3, 32, 32))
    >>> layout.restore(layout.to_tensor_array(X)).shape
    (5, 32, 32, 3)
    """

    order: str
    channels: int
    height: int
    width: int
    dtype: str
    low: float
    high: float

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)``."""
        return self.channels, self.height, self.width

    @property
    def n_features(self) -> int:
        return self.channels * self.height * self.width

    @classmethod
    def from_data(cls, X: np.ndarray, image_shape: Any = None) -> ImageLayout:
        """Read the layout of ``X``, checking shape, dtype and values.

        Parameters
        ----------
        X : ndarray of shape (n, H, W), (n, H, W, C), (n, C, H, W) or (n, H*W*C)
        image_shape : (C, H, W), (H, W, C), (H, W) or None
            Required for 2-D ``X``, whose rows are then images flattened in C
            order; ignored otherwise (but must then match ``X``).

        Raises
        ------
        ValueError
            For a layout that cannot be read, images under 8x8, an
            ``image_shape`` that does not fit the rows, a non-numeric dtype or
            NaN/infinite pixels.
        """
        if X.dtype == object or not (
            np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
        ):
            raise ValueError(
                f"Images must have an integer or float dtype; got {X.dtype}. (A list "
                "of images of different shapes or layouts also ends up here: all "
                "images must share one shape.)"
            )
        if X.ndim == 2:
            if image_shape is None:
                raise ValueError(
                    "Flat (2-D) image input needs image_shape=(C, H, W); got "
                    f"X of shape {X.shape} and image_shape=None."
                )
            order, (c, h, w) = "flat", cls._read_image_shape(image_shape)
            if c * h * w != X.shape[1]:
                raise ValueError(
                    f"image_shape={tuple(image_shape)} holds {c * h * w} values per "
                    f"image, but X has {X.shape[1]} columns; expected "
                    "C * H * W == n_features."
                )
        elif X.ndim == 3:
            order, (c, h, w) = "NHW", (1, *X.shape[1:])
        elif X.ndim == 4:
            if _channel_first(X.shape[1:], "images of shape"):
                order, (c, h, w) = "NCHW", X.shape[1:]
            else:
                order, (h, w, c) = "NHWC", X.shape[1:]
        else:
            raise ValueError(
                "Images must be an array of shape (n, H, W), (n, H, W, C), "
                f"(n, C, H, W) or (n, H*W*C) with image_shape; got {X.ndim} axes "
                f"(shape {X.shape})."
            )
        if image_shape is not None and order != "flat":
            expected = cls._read_image_shape(image_shape)
            if expected != (c, h, w):
                raise ValueError(
                    f"image_shape={tuple(image_shape)} does not match images of "
                    f"shape (C, H, W) = {(c, h, w)}."
                )
        if min(h, w) < MIN_SIZE:
            raise ValueError(
                f"Images must be at least {MIN_SIZE}x{MIN_SIZE} pixels; got {h}x{w} "
                f"(read as {order} from an array of shape {X.shape})."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            bad = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
            raise ValueError(
                f"Images contain NaN or infinite pixels ({bad} image(s)); expected "
                "finite values."
            )
        if X.dtype == np.uint8:
            low, high = 0.0, 255.0
        else:
            low, high = (float(X.min()), float(X.max())) if X.size else (0.0, 1.0)
        return cls(order, int(c), int(h), int(w), X.dtype.str, low, high)

    @staticmethod
    def _read_image_shape(image_shape: Any) -> tuple[int, int, int]:
        shape = tuple(image_shape)
        if not all(isinstance(s, Integral) and s > 0 for s in shape) or len(shape) not in (
            2,
            3,
        ):
            raise ValueError(
                "image_shape must be (C, H, W), (H, W, C) or (H, W) with positive "
                f"integers; got {image_shape!r}."
            )
        if len(shape) == 2:
            return 1, int(shape[0]), int(shape[1])
        if _channel_first(shape, "image_shape"):
            return tuple(int(s) for s in shape)
        return int(shape[2]), int(shape[0]), int(shape[1])

    # -- in and out --------------------------------------------------------------

    def to_tensor_array(self, X: np.ndarray) -> np.ndarray:
        """``X`` as float32 ``(n, C, H, W)`` scaled to [-1, 1]."""
        if self.order == "flat":
            X = X.reshape(len(X), *self.shape)
        elif self.order == "NHW":
            X = X[:, None]
        elif self.order == "NHWC":
            X = X.transpose(0, 3, 1, 2)
        scale = (self.high - self.low) or 1.0
        out = (X.astype(np.float32) - np.float32(self.low)) * np.float32(2 / scale) - 1
        return np.ascontiguousarray(out)

    def restore(self, images: np.ndarray) -> np.ndarray:
        """Float ``(n, C, H, W)`` images in [-1, 1] back to the input's layout and dtype."""
        scale = (self.high - self.low) or 1.0
        X = (np.clip(images, -1, 1).astype(np.float64) + 1) * (scale / 2) + self.low
        dtype = np.dtype(self.dtype)
        if dtype.kind in "iu":
            X = np.clip(np.rint(X), self.low, self.high)
        X = X.astype(dtype)
        if self.order == "flat":
            return X.reshape(len(X), -1)
        if self.order == "NHW":
            return X[:, 0]
        if self.order == "NHWC":
            return np.ascontiguousarray(X.transpose(0, 2, 3, 1))
        return X

    # -- persistence -----------------------------------------------------------

    def get_state(self) -> dict:
        """Plain values for JSON metadata (see :func:`from_state`)."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> ImageLayout:
        """Rebuild a layout from :meth:`get_state`.

        Raises
        ------
        ValueError
            If the state describes no layout :meth:`from_data` could have read
            (it comes from a file, which may have been edited).
        TypeError
            If it lacks a field or has one too many.
        """
        layout = cls(**state)
        sizes = (layout.channels, layout.height, layout.width)
        if (
            layout.order not in ("NHW", "NHWC", "NCHW", "flat")
            or not all(isinstance(n, Integral) and not isinstance(n, bool) for n in sizes)
            or layout.channels not in CHANNELS
            or (layout.order == "NHW" and layout.channels != 1)
            or min(layout.height, layout.width) < MIN_SIZE
            or not isinstance(layout.dtype, str)
            or np.dtype(layout.dtype).kind not in "iuf"
            or not all(isinstance(v, (int, float)) for v in (layout.low, layout.high))
            or not np.isfinite([layout.low, layout.high]).all()
            or layout.low > layout.high
        ):
            raise ValueError(f"the image layout is invalid: {state!r}")
        return layout
