"""Speech features in NumPy: power spectrogram, mel filterbank, log-mel spectrogram and MFCC.

The usual front end of a speech recogniser, in four steps that each return an array:

1. ``power_spectrogram``: cut the waveform into overlapping frames, taper each with a Hann window
   and take ``|FFT|^2``, shape ``(..., n_fft // 2 + 1, frames)``.
2. ``mel_filterbank``: triangular filters spaced evenly on the mel scale (the HTK formula
   ``mel = 2595 log10(1 + hz / 700)``), which is close to linear below 1 kHz and logarithmic
   above, like the ear's resolution.
3. ``log_mel_spectrogram``: the filterbank applied to the power spectrum, then ``log(eps + energy)``,
   shape ``(..., n_mels, frames)``.
4. ``mfcc``: an orthonormal DCT-II across the mel bands of the log-mel spectrogram, keeping the
   first ``n_mfcc`` coefficients: a smooth description of the spectral envelope, shape
   ``(..., n_mfcc, frames)``.

Every function takes one waveform ``(samples,)`` or a batch of equal-length waveforms
``(batch, samples)`` and keeps the leading dimension. Frames are centred: the waveform is padded
with ``n_fft // 2`` zeros on both sides, so there are ``1 + samples // hop_length`` frames and frame
``t`` is centred on sample ``t * hop_length``.

Example:
    >>> import numpy as np
    >>> t = np.arange(8000) / 8000
    >>> tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)   # one second of 1 kHz at 8 kHz
    >>> log_mel_spectrogram(tone, 8000).shape
    (40, 63)
    >>> mfcc(tone, 8000, n_mfcc=13).shape
    (13, 63)
"""

import numbers

import numpy as np

from chainrule.errors import DTypeError, ShapeError

__all__ = ["hz_to_mel", "mel_to_hz", "mel_filterbank", "power_spectrogram", "log_mel_spectrogram", "dct_matrix",
           "mfcc", "num_frames"]


def hz_to_mel(hz):
    """Frequency in Hz to mels (HTK): ``2595 * log10(1 + hz / 700)``.

    >>> round(float(hz_to_mel(1000.0)), 1)
    1000.0
    """
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    """Mels to frequency in Hz, the inverse of ``hz_to_mel``.

    >>> round(float(mel_to_hz(hz_to_mel(440.0))), 6)
    440.0
    """
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def _positive_int(owner, name, value):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ShapeError(f"{owner}: bad {name}; expected an int >= 1, got {value!r}.")
    return int(value)


def _band_edges(owner, sample_rate, f_min, f_max):
    sample_rate = _positive_int(owner, "sample_rate", sample_rate)
    f_max = sample_rate / 2 if f_max is None else float(f_max)
    if not 0 <= f_min < f_max <= sample_rate / 2:
        raise ShapeError(f"{owner}: bad frequency range; expected 0 <= f_min < f_max <= sample_rate / 2 = "
                         f"{sample_rate / 2:g}, got f_min={f_min}, f_max={f_max}.")
    return sample_rate, float(f_min), f_max


def mel_filterbank(n_mels, n_fft, sample_rate, f_min=0.0, f_max=None):
    """Triangular mel filters as a matrix that maps a power spectrum to mel-band energies.

    Filter ``m`` rises linearly from mel point ``m`` to 1 at point ``m + 1`` and falls back to 0 at
    point ``m + 2``, where the ``n_mels + 2`` points are evenly spaced in mels from ``f_min`` to
    ``f_max`` (HTK-style: every peak is 1, filters are not area-normalised).

    Args:
        n_mels: how many filters.
        n_fft: the FFT size; the spectrum has ``n_fft // 2 + 1`` bins from 0 to sample_rate / 2.
        sample_rate: in Hz.
        f_min, f_max: the band covered, in Hz; ``f_max`` defaults to sample_rate / 2.

    Returns:
        float32 array ``(n_mels, n_fft // 2 + 1)``.

    Raises:
        ShapeError: a size that is not a positive int, or a band outside ``[0, sample_rate / 2]``.

    Example:
        >>> bank = mel_filterbank(40, 256, 8000)
        >>> bank.shape
        (40, 129)
        >>> bool(bank.min() >= 0 and bank.max() <= 1)
        True
    """
    owner = "mel_filterbank"
    n_mels, n_fft = _positive_int(owner, "n_mels", n_mels), _positive_int(owner, "n_fft", n_fft)
    sample_rate, f_min, f_max = _band_edges(owner, sample_rate, f_min, f_max)
    bins = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    points = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    left, centre, right = points[:-2, None], points[1:-1, None], points[2:, None]
    rising = (bins - left) / (centre - left)
    falling = (right - bins) / (right - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


def num_frames(num_samples, hop_length):
    """How many centred frames a waveform of ``num_samples`` gives: ``1 + num_samples // hop_length``.

    >>> num_frames(8000, 128)
    63
    """
    return 1 + int(num_samples) // int(hop_length)


def _waveforms(owner, samples):
    """The waveform(s) as a float array of 1 or 2 dims, or a chainrule error naming ``owner``."""
    array = np.asarray(samples)
    if array.dtype.kind not in "biuf":
        raise DTypeError(f"{owner}: unsupported sample dtype; expected real numbers, got {array.dtype}.")
    if array.ndim not in (1, 2) or array.shape[-1] == 0:
        raise ShapeError(f"{owner}: wrong waveform shape; expected (samples,) or (batch, samples) with at least "
                         f"one sample, got shape {array.shape}.")
    return array.astype(np.float32 if array.dtype.kind != "f" or array.dtype.itemsize < 8 else np.float64)


def power_spectrogram(samples, n_fft=256, hop_length=128):
    """``|FFT|^2`` of Hann-windowed, centred frames of ``n_fft`` samples every ``hop_length`` samples.

    Args:
        samples: a waveform ``(samples,)`` or a batch ``(batch, samples)``.
        n_fft: frame (and FFT) length in samples.
        hop_length: samples between the starts of consecutive frames.

    Returns:
        array ``(..., n_fft // 2 + 1, frames)``, frames = ``1 + samples // hop_length``.

    Example:
        >>> import numpy as np
        >>> power_spectrogram(np.zeros(1000), n_fft=64, hop_length=32).shape
        (33, 32)
    """
    owner = "power_spectrogram"
    n_fft, hop_length = _positive_int(owner, "n_fft", n_fft), _positive_int(owner, "hop_length", hop_length)
    waves = _waveforms(owner, samples)
    half = n_fft // 2
    padded = np.pad(waves, [(0, 0)] * (waves.ndim - 1) + [(half, half)])
    count = num_frames(waves.shape[-1], hop_length)
    starts = np.arange(count) * hop_length
    frames = padded[..., starts[:, None] + np.arange(n_fft)]  # (..., frames, n_fft)
    window = np.hanning(n_fft + 1)[:-1].astype(waves.dtype)  # periodic Hann: overlapping halves sum to 1
    spectrum = np.fft.rfft(frames * window, axis=-1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(waves.dtype)
    return np.swapaxes(power, -1, -2)


def log_mel_spectrogram(samples, sample_rate, n_mels=40, n_fft=256, hop_length=128, f_min=20.0, f_max=None,
                        eps=1e-6):
    """``log(eps + mel-band energy)`` per frame: the input most speech models take.

    Args:
        samples: a waveform ``(samples,)`` or a batch ``(batch, samples)``, values about [-1, 1].
        sample_rate: in Hz.
        n_mels, n_fft, hop_length, f_min, f_max: see ``mel_filterbank`` and ``power_spectrogram``.
        eps: added before the log so that silence gives a finite floor, ``log(eps)``.

    Returns:
        array ``(..., n_mels, frames)``.

    Example:
        >>> import numpy as np
        >>> silence = log_mel_spectrogram(np.zeros(800), 8000, n_mels=8)
        >>> silence.shape, bool(np.allclose(silence, np.log(1e-6)))
        ((8, 7), True)
    """
    bank = mel_filterbank(n_mels, n_fft, sample_rate, f_min, f_max)
    power = power_spectrogram(samples, n_fft=n_fft, hop_length=hop_length)
    energy = np.matmul(bank.astype(power.dtype), power)
    return np.log(eps + energy)


def dct_matrix(n_out, n_in):
    """The orthonormal DCT-II as a matrix ``(n_out, n_in)``: row k is ``cos(pi k (2i + 1) / (2 n_in))``, scaled.

    Rows are orthonormal, so with ``n_out == n_in`` the matrix is its own inverse's transpose.

    >>> import numpy as np
    >>> d = dct_matrix(8, 8)
    >>> bool(np.allclose(d @ d.T, np.eye(8), atol=1e-6))
    True
    """
    n_out, n_in = _positive_int("dct_matrix", "n_out", n_out), _positive_int("dct_matrix", "n_in", n_in)
    if n_out > n_in:
        raise ShapeError(f"dct_matrix: more coefficients than inputs; expected n_out <= n_in, got n_out={n_out}, "
                         f"n_in={n_in}.")
    k, i = np.arange(n_out)[:, None], np.arange(n_in)[None, :]
    matrix = np.cos(np.pi * k * (2 * i + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    matrix[0] /= np.sqrt(2.0)
    return matrix.astype(np.float32)


def mfcc(samples, sample_rate, n_mfcc=13, n_mels=40, n_fft=256, hop_length=128, f_min=20.0, f_max=None,
         eps=1e-6):
    """Mel-frequency cepstral coefficients: the DCT-II of the log-mel spectrogram over its mel bands.

    Coefficient 0 is the (scaled) mean log energy of the frame; the next ones describe the shape of
    the spectral envelope ever more finely.

    Args:
        samples, sample_rate, n_mels, n_fft, hop_length, f_min, f_max, eps: as ``log_mel_spectrogram``.
        n_mfcc: coefficients kept, at most ``n_mels``.

    Returns:
        array ``(..., n_mfcc, frames)``.

    Example:
        >>> import numpy as np
        >>> batch = np.random.default_rng(0).normal(0, 0.1, (2, 4000))
        >>> mfcc(batch, 8000, n_mfcc=20).shape
        (2, 20, 32)
    """
    log_mel = log_mel_spectrogram(samples, sample_rate, n_mels=n_mels, n_fft=n_fft, hop_length=hop_length,
                                  f_min=f_min, f_max=f_max, eps=eps)
    return np.matmul(dct_matrix(n_mfcc, n_mels).astype(log_mel.dtype), log_mel)
