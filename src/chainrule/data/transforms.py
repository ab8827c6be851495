"""Data augmentation on whole batches: distort, flip, rotate, crop, add noise, mask.

Each transform is a small callable object. It takes a batch (an ndarray or a chainrule Tensor) and
returns a new batch of the same kind, leaving the input untouched; a Tensor comes back as a plain
Tensor without a graph (augmentation happens before the model). Random parameters are drawn per
sample from one ``numpy.random.Generator``: the transform's own when built with ``seed`` or ``rng``,
otherwise chainrule's seeded generator (``chainrule.manual_seed``) at call time.

Batch shapes: images ``(N, H, W)`` or ``(N, C, H, W)``; waveforms ``(N, T)`` or ``(N, C, T)``;
spectrograms ``(N, F, T)`` or ``(N, C, F, T)``. Geometric warps interpolate (bilinear) and return
floats: a floating input keeps its dtype, an integer one becomes float32. Flips, crops, shifts and
masks only move or zero values and keep any dtype. The warps need SciPy (``chainrule[augment]``).
"""

import numpy as np

from chainrule import _random
from chainrule.errors import ChainruleError, DTypeError, ShapeError
from chainrule.tensor import Tensor

__all__ = ["Compose", "RandomHorizontalFlip", "RandomRotation", "RandomAffine", "ElasticDistortion",
           "RandomCrop", "GaussianNoise", "Normalize", "TimeShift", "AddNoise", "FrequencyMasking",
           "TimeMasking"]

_IMAGES = "an image batch (N, H, W) or (N, C, H, W)"


def _ndimage(owner):
    """Import scipy.ndimage on first use: SciPy is the optional ``augment`` extra."""
    try:
        import scipy.ndimage
    except ImportError:
        raise ChainruleError(f"{owner}: SciPy is needed for this transform and is not installed; expected "
                             f"scipy.ndimage to import. Hint: pip install chainrule[augment].") from None
    return scipy.ndimage


def _check_range(owner, name, value, low=-np.inf, symmetric=True):
    """Accept a number ``v`` (meaning ``(-v, v)`` when symmetric) or a pair; return floats ``(lo, hi)``."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        if symmetric and value < 0:
            raise ShapeError(f"{owner}: {name} must not be negative; expected a number >= 0, got {value}.")
        pair = (-float(value), float(value)) if symmetric else (float(value), float(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        pair = (float(value[0]), float(value[1]))
    else:
        raise ShapeError(f"{owner}: bad {name}; expected a number or a (low, high) pair, got {value!r}.")
    if not low <= pair[0] <= pair[1]:
        raise ShapeError(f"{owner}: bad {name} range; expected {low} <= low <= high, got {pair}.")
    return pair


def _check_positive(owner, name, value, strict=True):
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and (
        value > 0 if strict else value >= 0)
    if not ok:
        sign = ">" if strict else ">="
        raise ShapeError(f"{owner}: bad {name}; expected a number {sign} 0, got {value!r}.")
    return value


class _Transform:
    """Shared plumbing: the generator, Tensor in/Tensor out, the shape check and the repr."""

    def __init__(self, seed=None, rng=None):
        if seed is not None and rng is not None:
            raise ChainruleError(f"{type(self).__name__}: both seed and rng were given; expected at most one.")
        self._rng = np.random.default_rng(seed) if seed is not None else rng

    @property
    def rng(self):
        """The generator this call draws from: the transform's own, else chainrule's current one."""
        return self._rng if self._rng is not None else _random.generator()

    def __call__(self, batch):
        is_tensor = isinstance(batch, Tensor)
        array = batch.data if is_tensor else np.asarray(batch)
        if array.dtype.kind not in "biuf":
            raise DTypeError(f"{self!r}: unsupported batch dtype; expected numbers, got {array.dtype}.")
        out = self._apply(array)
        return Tensor._wrap(out) if is_tensor else out

    def _check_ndim(self, array, ndims, expected):
        if array.ndim not in ndims:
            raise ShapeError(f"{self!r}: wrong batch shape; expected {expected}, got shape {array.shape}.")

    def _as_images(self, array):
        """View an image batch as (N, C, H, W)."""
        self._check_ndim(array, (3, 4), _IMAGES)
        return array[:, None] if array.ndim == 3 else array

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


def _float_dtype(array):
    return array.dtype if array.dtype.kind == "f" else np.dtype(np.float32)


# --- images: flips, warps, crops --------------------------------------------------------------
class RandomHorizontalFlip(_Transform):
    """Mirror each image left to right with probability ``p``.

    Example:
        >>> import numpy as np
        >>> RandomHorizontalFlip(p=1.0)(np.array([[[1, 2, 3]]]))
        array([[[3, 2, 1]]])
    """

    def __init__(self, p=0.5, seed=None, rng=None):
        super().__init__(seed, rng)
        if not (isinstance(p, (int, float)) and 0 <= p <= 1):
            raise ShapeError(f"RandomHorizontalFlip: probability out of range; expected 0 <= p <= 1, got {p!r}.")
        self.p = p

    def _apply(self, array):
        self._check_ndim(array, (3, 4), _IMAGES)
        flip = self.rng.random(len(array)) < self.p
        return np.where(flip.reshape((-1,) + (1,) * (array.ndim - 1)), array[..., ::-1], array)

    def extra_repr(self):
        return f"p={self.p}"


class RandomAffine(_Transform):
    """Rotate, translate, scale and shear each image about its centre, one random map per sample.

    Angles are in degrees, counter-clockwise as the image is displayed (row 0 at the top). Pixels
    that come from outside the image are ``fill``; values in between are interpolated bilinearly.

    Args:
        degrees: rotation range, a number ``d`` for ``(-d, d)`` or a ``(low, high)`` pair.
        translate: ``(a, b)``: shifts drawn from ``±a * W`` horizontally and ``±b * H`` vertically,
            rounded to whole pixels; None for no shift.
        scale: ``(low, high)`` zoom factor range; None keeps the size.
        shear: horizontal shear angle range, a number or a pair, in degrees; a positive angle slides
            rows below the centre to the right and rows above it to the left. None for no shear.
        fill: the value of pixels that come from outside the image.
        seed, rng: a seed or a ``numpy.random.Generator`` of this transform's own.
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, fill=0.0, seed=None, rng=None):
        super().__init__(seed, rng)
        name = type(self).__name__
        self.degrees = _check_range(name, "degrees", degrees)
        if translate is not None and not (isinstance(translate, (tuple, list)) and len(translate) == 2
                                          and all(0 <= t <= 1 for t in translate)):
            raise ShapeError(f"{name}: bad translate; expected a pair of fractions in [0, 1], got {translate!r}.")
        self.translate = None if translate is None else tuple(float(t) for t in translate)
        self.scale = None if scale is None else _check_range(name, "scale", scale, low=1e-6, symmetric=False)
        self.shear = None if shear is None else _check_range(name, "shear", shear)
        self.fill = float(fill)

    def _draw(self, n, height, width):
        """Per-sample maps in (row, col) coordinates: matrices (n, 2, 2) and translations (n, 2)."""
        rng = self.rng
        angle = np.deg2rad(rng.uniform(*self.degrees, size=n))
        shift = np.zeros((n, 2))
        if self.translate is not None:
            limits = np.array([self.translate[1] * height, self.translate[0] * width])
            shift = np.round(rng.uniform(-limits, limits, size=(n, 2)))
        zoom = rng.uniform(*self.scale, size=n) if self.scale is not None else np.ones(n)
        shear = np.deg2rad(rng.uniform(*self.shear, size=n)) if self.shear is not None else np.zeros(n)
        cos, sin = np.cos(angle), np.sin(angle)
        # Rows point down, so (row, col) is a left-handed frame: this matrix sends the pixel right of
        # the centre upwards, turning the displayed image counter-clockwise (as np.rot90). The shear
        # moves each row sideways in proportion to its height.
        rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
        shearing = np.zeros((n, 2, 2))
        shearing[:, 0, 0] = shearing[:, 1, 1] = 1.0
        shearing[:, 1, 0] = np.tan(shear)
        return rotation @ shearing * zoom[:, None, None], shift

    def _apply(self, array):
        images = self._as_images(array)
        n, channels, height, width = images.shape
        ndimage = _ndimage(type(self).__name__)
        matrices, shifts = self._draw(n, height, width)
        centre = np.array([(height - 1) / 2, (width - 1) / 2])
        out = np.empty(images.shape, dtype=_float_dtype(array))
        for i in range(n):
            # affine_transform maps each output pixel to the input pixel it reads:
            # input = A^-1 (output - centre - shift) + centre.
            inverse = np.linalg.inv(matrices[i])
            offset = centre - inverse @ (centre + shifts[i])
            for c in range(channels):
                ndimage.affine_transform(images[i, c], inverse, offset=offset, output=out[i, c], order=1,
                                         mode="constant", cval=self.fill)
        return out.reshape(array.shape)

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, shear={self.shear}, "
                f"fill={self.fill}")


class RandomRotation(RandomAffine):
    """Rotate each image about its centre by an angle drawn from ``degrees`` (a number or a pair).

    Counter-clockwise as displayed; corners that come from outside the image are ``fill``.
    """

    def __init__(self, degrees, fill=0.0, seed=None, rng=None):
        super().__init__(degrees, fill=fill, seed=seed, rng=rng)

    def extra_repr(self):
        return f"degrees={self.degrees}, fill={self.fill}"


class ElasticDistortion(_Transform):
    """Elastic distortion (Simard, Steinkraus and Platt, 2003), a new field per image.

    Each pixel reads from a displaced position: the displacements are uniform noise in [-1, 1]
    smoothed by a Gaussian of width ``sigma`` pixels and scaled by ``alpha`` pixels. Small sigma
    gives random jitter, large sigma nearly a translation; the paper uses sigma=4, alpha=34 on MNIST.
    All channels of an image share one field.
    """

    def __init__(self, alpha=34.0, sigma=4.0, fill=0.0, seed=None, rng=None):
        super().__init__(seed, rng)
        self.alpha = float(_check_positive("ElasticDistortion", "alpha", alpha, strict=False))
        self.sigma = float(_check_positive("ElasticDistortion", "sigma", sigma))
        self.fill = float(fill)

    def _apply(self, array):
        images = self._as_images(array)
        n, channels, height, width = images.shape
        ndimage = _ndimage(type(self).__name__)
        noise = self.rng.uniform(-1.0, 1.0, size=(n, 2, height, width))
        grid = np.stack(np.meshgrid(np.arange(height), np.arange(width), indexing="ij")).astype(np.float64)
        out = np.empty(images.shape, dtype=_float_dtype(array))
        for i in range(n):
            field = ndimage.gaussian_filter(noise[i], sigma=(0, self.sigma, self.sigma), mode="constant")
            coordinates = grid + self.alpha * field
            for c in range(channels):
                ndimage.map_coordinates(images[i, c], coordinates, output=out[i, c], order=1,
                                        mode="constant", cval=self.fill)
        return out.reshape(array.shape)

    def extra_repr(self):
        return f"alpha={self.alpha}, sigma={self.sigma}, fill={self.fill}"


class RandomCrop(_Transform):
    """Pad each image by ``padding`` pixels of ``fill`` on every side, then cut a random window.

    Args:
        size: the output ``(height, width)``, or one int for a square.
        padding: pixels added on each side before cropping.
    """

    def __init__(self, size, padding=0, fill=0, seed=None, rng=None):
        super().__init__(seed, rng)
        size = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if len(size) != 2 or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
            raise ShapeError(f"RandomCrop: bad size; expected a positive int or (height, width), got {size!r}.")
        if not (isinstance(padding, (int, np.integer)) and padding >= 0):
            raise ShapeError(f"RandomCrop: bad padding; expected an int >= 0, got {padding!r}.")
        self.size, self.padding, self.fill = size, int(padding), fill

    def _apply(self, array):
        images = self._as_images(array)
        pad = self.padding
        padded = np.pad(images, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=self.fill)
        (height, width), (rows, cols) = self.size, padded.shape[-2:]
        if height > rows or width > cols:
            raise ShapeError(f"{self!r}: crop larger than the padded image; expected size <= {(rows, cols)}, "
                             f"got size {self.size} for batch shape {array.shape}.")
        n = len(images)
        top = self.rng.integers(0, rows - height + 1, size=n)
        left = self.rng.integers(0, cols - width + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (height, width), axis=(2, 3))
        # windows[i, c, top, left] is the crop starting at (top, left); the two index arrays pick
        # one start per sample and the sample axis comes first, then channels.
        out = windows[np.arange(n), :, top, left]
        return out.reshape(array.shape[:-2] + (height, width))

    def extra_repr(self):
        return f"size={self.size}, padding={self.padding}, fill={self.fill}"


# --- any batch: noise and normalisation -------------------------------------------------------
class GaussianNoise(_Transform):
    """Add independent Gaussian noise of standard deviation ``std`` to every element."""

    def __init__(self, std, seed=None, rng=None):
        super().__init__(seed, rng)
        self.std = float(_check_positive("GaussianNoise", "std", std, strict=False))

    def _apply(self, array):
        dtype = _float_dtype(array)
        return (array + self.rng.normal(0.0, self.std, size=array.shape)).astype(dtype)

    def extra_repr(self):
        return f"std={self.std}"


class Normalize(_Transform):
    """Subtract ``mean`` and divide by ``std``, per channel (axis 1 of ``(N, C, ...)``).

    A number applies to every channel; a sequence needs one value per channel.

    Example:
        >>> import numpy as np
        >>> Normalize(mean=[0.0, 1.0], std=[1.0, 2.0])(np.ones((1, 2, 1, 1)))
        array([[[[1.]],
        <BLANKLINE>
                [[0.]]]])
    """

    def __init__(self, mean, std):
        super().__init__()
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1 or not np.all(self.std > 0):
            raise ShapeError(f"Normalize: bad mean or std; expected numbers or 1-d sequences with std > 0, "
                             f"got mean={mean!r}, std={std!r}.")

    def _apply(self, array):
        channels = array.shape[1] if array.ndim >= 2 else 1
        for name, values in (("mean", self.mean), ("std", self.std)):
            if len(values) not in (1, channels) or array.ndim < 2 and len(values) != 1:
                raise ShapeError(f"{self!r}: {name} does not fit the channels; expected 1 or {channels} values "
                                 f"for batch shape {array.shape}, got {len(values)}.")
        shape = (1, -1) + (1,) * (array.ndim - 2) if array.ndim >= 2 else (-1,)
        out = (array - self.mean.reshape(shape)) / self.std.reshape(shape)
        return out.astype(_float_dtype(array))

    def extra_repr(self):
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}"


class Compose(_Transform):
    """Apply transforms one after another, in list order.

    Example:
        >>> import numpy as np
        >>> Compose([RandomHorizontalFlip(p=1.0), Normalize(mean=1.0, std=2.0)])(np.array([[[1.0, 3.0]]]))
        array([[[1., 0.]]])
    """

    def __init__(self, transforms):
        super().__init__()
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise ChainruleError(f"Compose: every transform must be callable; got {t!r}.")

    def __call__(self, batch):
        for transform in self.transforms:
            batch = transform(batch)
        return batch

    def __repr__(self):
        lines = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{lines}\n])" if lines else "Compose([])"


# --- audio: waveforms and spectrograms --------------------------------------------------------
class TimeShift(_Transform):
    """Shift each waveform in time by a whole number of samples drawn from ``[-max_shift, max_shift]``.

    A positive shift delays the sound. ``mode="roll"`` wraps the end round to the start;
    ``mode="zeros"`` lets it fall off and fills the gap with zeros.
    """

    def __init__(self, max_shift, mode="roll", seed=None, rng=None):
        super().__init__(seed, rng)
        if not (isinstance(max_shift, (int, np.integer)) and max_shift >= 0):
            raise ShapeError(f"TimeShift: bad max_shift; expected an int >= 0 (samples), got {max_shift!r}.")
        if mode not in ("roll", "zeros"):
            raise ShapeError(f"TimeShift: unknown mode; expected 'roll' or 'zeros', got {mode!r}.")
        self.max_shift, self.mode = int(max_shift), mode

    def _apply(self, array):
        self._check_ndim(array, (2, 3), "a waveform batch (N, T) or (N, C, T)")
        n, length = array.shape[0], array.shape[-1]
        shift = self.rng.integers(-self.max_shift, self.max_shift + 1, size=n)
        source = np.arange(length) - shift[:, None]  # (n, T): where each output sample reads from
        inside = (source >= 0) & (source < length)
        source = source % length
        if array.ndim == 3:
            source, inside = source[:, None], inside[:, None]
        out = np.take_along_axis(array, np.broadcast_to(source, array.shape), axis=-1)
        return out if self.mode == "roll" else np.where(inside, out, np.zeros((), array.dtype))

    def extra_repr(self):
        return f"max_shift={self.max_shift}, mode={self.mode!r}"


class AddNoise(_Transform):
    """Add white Gaussian noise at a signal-to-noise ratio, in decibels, measured per sample.

    The noise power is each sample's mean square divided by ``10 ** (snr_db / 10)``; ``snr_db`` is a
    number or a ``(low, high)`` range drawn per sample. For noise of a fixed level use GaussianNoise.
    """

    def __init__(self, snr_db, seed=None, rng=None):
        super().__init__(seed, rng)
        self.snr_db = _check_range("AddNoise", "snr_db", snr_db, symmetric=False)

    def _apply(self, array):
        if array.ndim < 2:
            raise ShapeError(f"{self!r}: wrong batch shape; expected (N, ...) with at least 2 dims, "
                             f"got shape {array.shape}.")
        n = len(array)
        snr = self.rng.uniform(*self.snr_db, size=n)
        power = np.mean(np.square(array.reshape(n, -1), dtype=np.float64), axis=1)
        std = np.sqrt(power / 10.0 ** (snr / 10.0)).reshape((n,) + (1,) * (array.ndim - 1))
        return (array + std * self.rng.standard_normal(array.shape)).astype(_float_dtype(array))

    def extra_repr(self):
        return f"snr_db={self.snr_db}"


class _BandMasking(_Transform):
    """SpecAugment masking (Park et al., 2019): zero ``num_masks`` bands of width 0..max_width per sample."""

    axis = None  # -2 for frequency, -1 for time

    def __init__(self, max_width, num_masks=1, seed=None, rng=None):
        super().__init__(seed, rng)
        for name, value in (("max_width", max_width), ("num_masks", num_masks)):
            if not (isinstance(value, (int, np.integer)) and value >= 0):
                raise ShapeError(f"{type(self).__name__}: bad {name}; expected an int >= 0, got {value!r}.")
        self.max_width, self.num_masks = int(max_width), int(num_masks)

    def _apply(self, array):
        self._check_ndim(array, (3, 4), "a spectrogram batch (N, F, T) or (N, C, F, T)")
        n, size = array.shape[0], array.shape[self.axis]
        if self.max_width > size:
            raise ShapeError(f"{self!r}: mask wider than the axis; expected max_width <= {size}, "
                             f"got batch shape {array.shape}.")
        width = self.rng.integers(0, self.max_width + 1, size=(n, self.num_masks, 1))
        start = self.rng.integers(0, size - width + 1)
        position = np.arange(size)
        masked = ((position >= start) & (position < start + width)).any(axis=1)  # (n, size)
        shape = [n] + [1] * (array.ndim - 1)
        shape[self.axis] = size
        return np.where(masked.reshape(shape), np.zeros((), array.dtype), array)

    def extra_repr(self):
        return f"max_width={self.max_width}, num_masks={self.num_masks}"


class FrequencyMasking(_BandMasking):
    """Zero a random band of up to ``max_width`` frequency rows of each spectrogram (axis -2)."""

    axis = -2


class TimeMasking(_BandMasking):
    """Zero a random band of up to ``max_width`` time frames of each spectrogram (axis -1)."""

    axis = -1
