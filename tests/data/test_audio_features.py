"""Speech features: the mel scale, the filterbank, spectrograms against a direct DFT, and MFCC."""

import numpy as np
import pytest

from chainrule.data.audio_features import (dct_matrix, hz_to_mel, log_mel_spectrogram, mel_filterbank, mel_to_hz,
                                           mfcc, num_frames, power_spectrogram)
from chainrule.errors import DTypeError, ShapeError

RATE = 8000


def tone(hz, seconds=0.5, rate=RATE):
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * hz * t).astype(np.float32)


def test_mel_scale_is_htk_and_inverts():
    assert hz_to_mel(0.0) == 0.0
    assert hz_to_mel(700.0) == pytest.approx(2595 * np.log10(2))
    hz = np.array([20.0, 440.0, 1000.0, 3999.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz)), hz, rtol=1e-10)


def test_filterbank_triangles_are_ordered_and_cover_the_band():
    bank = mel_filterbank(26, 512, RATE, f_min=100.0, f_max=3800.0)
    bins = np.linspace(0, RATE / 2, 257)
    assert bank.shape == (26, 257) and bank.dtype == np.float32
    assert bank.min() >= 0 and bank.max() <= 1
    peaks = bins[bank.argmax(axis=1)]
    assert np.all(np.diff(peaks) > 0)                        # centres rise with the filter index
    widths = (bank > 0).sum(axis=1)
    assert widths[-1] > widths[0]                            # wider at high frequencies (log-like scale)
    inside = (bins > 150) & (bins < 3700)
    assert np.all(bank[:, inside].sum(axis=0) > 0)           # no gap inside the band
    assert np.all(bank[:, (bins < 100) | (bins > 3800)] == 0)  # nothing outside it
    neighbours = np.minimum(bank[:-1], bank[1:]).max(axis=1)
    assert np.all(neighbours > 0.3)                          # adjacent triangles overlap


def test_power_spectrogram_matches_a_direct_dft_of_hann_windowed_frames():
    rng = np.random.default_rng(0)
    wave = rng.normal(size=300)
    n_fft, hop = 64, 40
    power = power_spectrogram(wave, n_fft=n_fft, hop_length=hop)
    padded = np.pad(wave, n_fft // 2)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    basis = np.exp(-2j * np.pi * k * np.arange(n_fft) / n_fft)
    for t in range(num_frames(len(wave), hop)):
        frame = padded[t * hop:t * hop + n_fft] * window
        np.testing.assert_allclose(power[:, t], np.abs(basis @ frame) ** 2, rtol=1e-6, atol=1e-8)
    assert power.shape == (n_fft // 2 + 1, 1 + 300 // hop)


@pytest.mark.parametrize("hz", [300.0, 1000.0, 2500.0])
def test_a_pure_tone_is_loudest_in_the_mel_band_around_its_frequency(hz):
    n_mels = 40
    spectrum = log_mel_spectrogram(tone(hz), RATE, n_mels=n_mels, f_min=20.0)
    loudest = int(spectrum[:, 5:-5].mean(axis=1).argmax())
    bank = mel_filterbank(n_mels, 256, RATE, f_min=20.0)
    assert bank[loudest, int(round(hz / (RATE / 2) * 128))] > 0.3  # that filter responds strongly at hz


def test_silence_sits_at_the_log_floor_and_louder_means_higher():
    quiet = log_mel_spectrogram(0.1 * tone(1000.0), RATE)
    loud = log_mel_spectrogram(tone(1000.0), RATE)
    np.testing.assert_allclose(log_mel_spectrogram(np.zeros(800), RATE, eps=1e-3), np.log(1e-3))
    band = loud[:, 3:-3].mean(axis=1).argmax()
    assert loud[band, 3:-3].mean() - quiet[band, 3:-3].mean() == pytest.approx(np.log(100.0), abs=0.01)


def test_mfcc_is_the_orthonormal_dct_of_the_log_mel_spectrogram():
    wave = np.random.default_rng(1).normal(0, 0.1, 4000).astype(np.float32)
    coefficients = mfcc(wave, RATE, n_mfcc=13, n_mels=40)
    log_mel = log_mel_spectrogram(wave, RATE, n_mels=40)
    assert coefficients.shape == (13, num_frames(4000, 128))
    dct = dct_matrix(40, 40)
    np.testing.assert_allclose(dct @ dct.T, np.eye(40), atol=1e-5)
    np.testing.assert_allclose(coefficients, dct[:13] @ log_mel, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(coefficients[0], log_mel.sum(axis=0) / np.sqrt(40), rtol=1e-4, atol=1e-4)


def test_a_batch_gives_the_rows_one_by_one():
    waves = np.random.default_rng(2).normal(0, 0.1, (3, 2000)).astype(np.float32)
    batch = mfcc(waves, RATE, n_mfcc=20)
    assert batch.shape == (3, 20, num_frames(2000, 128))
    for row, wave in zip(batch, waves):
        np.testing.assert_allclose(row, mfcc(wave, RATE, n_mfcc=20), rtol=1e-5, atol=1e-5)


def test_bad_inputs_raise_errors_that_name_the_function():
    with pytest.raises(ShapeError, match=r"power_spectrogram: wrong waveform shape.*\(2, 2, 10\)"):
        power_spectrogram(np.zeros((2, 2, 10)))
    with pytest.raises(ShapeError, match="power_spectrogram: wrong waveform shape"):
        power_spectrogram(np.zeros(0))
    with pytest.raises(DTypeError, match="power_spectrogram: unsupported sample dtype"):
        power_spectrogram(np.array(["a", "b"]))
    with pytest.raises(ShapeError, match="mel_filterbank: bad frequency range"):
        mel_filterbank(40, 256, RATE, f_max=5000.0)
    with pytest.raises(ShapeError, match="mel_filterbank: bad n_mels"):
        mel_filterbank(0, 256, RATE)
    with pytest.raises(ShapeError, match="dct_matrix: more coefficients than inputs"):
        mfcc(tone(500.0), RATE, n_mfcc=50, n_mels=40)
