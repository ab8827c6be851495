"""Spoken-digit recordings for the speech applications: reading them, and turning them into features.

The recordings come as the Free Spoken Digit Dataset does: WAV files named
``<digit>_<speaker>_<take>.wav`` in a folder, or the same recordings packed into one ``.npz`` with
``audio`` (int16, all recordings end to end), ``offsets`` (recording i is
``audio[offsets[i]:offsets[i + 1]]``), ``digit``, ``speaker`` (an index into ``speaker_names``),
``take`` and ``sample_rate``. The official split keeps takes 0-4 of every speaker and digit for testing.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chainrule.data.audio_features import log_mel_spectrogram
from chainrule.data.datasets import read_npz_arrays, read_wav
from chainrule.data.datasets._paths import existing_folder
from chainrule.errors import ChainruleError, SerializationError, ShapeError
from chainrule.serialization import load, save
from chainrule.tensor import Tensor

__all__ = ["Recordings", "load_recordings", "peak_normalise", "fit_length", "LogMelFrontEnd", "read_clip",
           "TEST_TAKES", "save_model", "load_model"]

TEST_TAKES = 5
"""Takes 0-4 of every speaker and digit are the official test set."""

_FILE_NAME = re.compile(r"^(\d)_(.+)_(\d+)\.wav$", re.IGNORECASE)
_NPZ_KEYS = ("audio", "offsets", "digit", "speaker", "take", "speaker_names", "sample_rate")


@dataclass
class Recordings:
    """Recordings of single spoken digits with who said them and which take they are.

    Attributes:
        clips: list of float32 waveforms in [-1, 1] (their lengths differ).
        digits: int64 (N,), 0-9.
        speakers: str (N,), the speaker's name.
        takes: int64 (N,), the take number.
        sample_rate: in Hz.
    """
    clips: list
    digits: np.ndarray
    speakers: np.ndarray
    takes: np.ndarray
    sample_rate: int

    def __len__(self):
        return len(self.clips)

    @property
    def official_test(self):
        """Boolean mask of the official test set: takes 0-4."""
        return self.takes < TEST_TAKES

    def subset(self, mask):
        """The recordings where ``mask`` is True (a boolean array or an index array)."""
        index = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
        return Recordings([self.clips[i] for i in index], self.digits[index], self.speakers[index],
                          self.takes[index], self.sample_rate)


def load_recordings(path, owner):
    """Read spoken-digit recordings from a folder of WAV files or a packed ``.npz`` (see the module doc).

    Args:
        path: the folder or the ``.npz`` file; None is refused with a hint.
        owner: who is reading, for error messages (``"train speech"``).

    Raises:
        ChainruleError: no path, a file that is not such an ``.npz``, a WAV name that does not read
            ``<digit>_<speaker>_<take>.wav``, or recordings of fewer than two digits.
        FileNotFoundError: a missing path, or a folder without WAV files.
        ShapeError: WAV files with different sample rates.
    """
    if path is None:
        raise ChainruleError(f"{owner}: no data; expected --data PATH, a folder of <digit>_<speaker>_<take>.wav "
                             f"files or a packed fsdd.npz, got none.")
    path = Path(path).expanduser()
    if path.is_file():
        recordings = _from_npz(path, owner)
    elif path.is_dir():
        recordings = _from_folder(path, owner)
    else:
        raise FileNotFoundError(f"{owner}: cannot read {str(path)!r}; expected a folder of WAV files or an .npz "
                                f"file, got no such file or folder.")
    if len(np.unique(recordings.digits)) < 2:
        raise ChainruleError(f"{owner}: {str(path)!r} holds too few digits; expected recordings of at least two "
                             f"different digits, got {np.unique(recordings.digits).tolist()}.")
    return recordings


def _from_npz(path, owner):
    arrays = read_npz_arrays(owner, path, _NPZ_KEYS, what="a packed recordings file")
    audio, offsets = arrays["audio"], arrays["offsets"].astype(np.int64)
    count = len(offsets) - 1
    if count < 1 or offsets[0] != 0 or offsets[-1] != len(audio) or np.any(np.diff(offsets) <= 0) or any(
            len(arrays[key]) != count for key in ("digit", "speaker", "take")):
        raise ShapeError(f"{owner}: {str(path)!r} has inconsistent arrays; expected increasing offsets from 0 to "
                         f"len(audio)={len(audio)} and one digit, speaker and take per recording, got "
                         f"{len(offsets)} offsets and {len(arrays['digit'])} digits.")
    scale = 32768.0 if audio.dtype == np.int16 else 1.0
    clips = [audio[offsets[i]:offsets[i + 1]].astype(np.float32) / np.float32(scale) for i in range(count)]
    names = np.asarray(arrays["speaker_names"]).astype(str)
    return Recordings(clips, arrays["digit"].astype(np.int64), names[arrays["speaker"].astype(np.int64)],
                      arrays["take"].astype(np.int64), int(arrays["sample_rate"]))


def _from_folder(path, owner):
    folder = existing_folder(owner, path)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
    if not files:
        raise FileNotFoundError(f"{owner}: no WAV files in {str(folder)!r}; expected files named "
                                f"<digit>_<speaker>_<take>.wav, got none.")
    clips, digits, speakers, takes, rates = [], [], [], [], set()
    for file in files:
        match = _FILE_NAME.match(file.name)
        if match is None:
            raise ChainruleError(f"{owner}: cannot read digit, speaker and take from the file name {file.name!r}; "
                                 f"expected <digit>_<speaker>_<take>.wav such as 7_jackson_32.wav.")
        samples, rate = read_wav(file)
        clips.append(samples)
        rates.add(rate)
        digits.append(int(match.group(1)))
        speakers.append(match.group(2))
        takes.append(int(match.group(3)))
    if len(rates) > 1:
        raise ShapeError(f"{owner}: the WAV files in {str(folder)!r} differ in sample rate; expected one rate, got "
                         f"{sorted(rates)} Hz. Hint: resample the files first.")
    return Recordings(clips, np.array(digits, dtype=np.int64), np.array(speakers), np.array(takes, dtype=np.int64),
                      rates.pop())


def peak_normalise(samples):
    """The waveform scaled so that its largest magnitude is 0.9 (silence stays silence).

    Recordings differ in loudness by more than the digits differ from each other; scaling removes that.

    >>> peak_normalise(np.array([0.0, 0.1, -0.3], dtype=np.float32)).astype(float).round(2).tolist()
    [0.0, 0.3, -0.9]
    """
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return samples if peak == 0.0 else (samples * np.float32(0.9 / peak)).astype(np.float32)


def fit_length(clips, length):
    """Each clip centred in a window of ``length`` samples: padded with zeros, or its middle cut out.

    Returns a float32 array ``(len(clips), length)``.

    >>> fit_length([np.ones(2), np.arange(5.0)], 3).tolist()
    [[1.0, 1.0, 0.0], [1.0, 2.0, 3.0]]
    """
    out = np.zeros((len(clips), length), dtype=np.float32)
    for row, clip in zip(out, clips):
        if len(clip) >= length:
            start = (len(clip) - length) // 2
            row[:] = clip[start:start + length]
        else:
            start = (length - len(clip)) // 2
            row[start:start + len(clip)] = clip
    return out


class LogMelFrontEnd:
    """Waveforms to standardised log-mel spectrograms ``(N, n_mels, frames)``, with stored statistics.

    ``fit`` measures the mean and spread of every mel band over training waveforms; calling the
    front end then subtracts and divides by them, so the model sees numbers near 0 whatever the
    recording level. A DataLoader can use it as its batch ``transform`` (Tensors in, Tensors out).
    ``state()`` and ``from_state`` carry the settings and statistics in a checkpoint.

    ``floor`` is added to the mel energies before the log. It sits near the energy of faint
    background noise (about 40 dB below a peak-normalised voice), so that digital silence and a
    quiet room give the same features instead of a far-off ``log(1e-6)``.
    """

    def __init__(self, sample_rate, n_mels=40, n_fft=256, hop_length=128, floor=1e-2, mean=None, std=None):
        self.sample_rate, self.n_mels = int(sample_rate), int(n_mels)
        self.n_fft, self.hop_length, self.floor = int(n_fft), int(hop_length), float(floor)
        self.mean = np.zeros((n_mels, 1), np.float32) if mean is None else np.asarray(mean, np.float32)
        self.std = np.ones((n_mels, 1), np.float32) if std is None else np.asarray(std, np.float32)

    def raw(self, waves):
        """The log-mel spectrogram before standardising."""
        return log_mel_spectrogram(waves, self.sample_rate, n_mels=self.n_mels, n_fft=self.n_fft,
                                   hop_length=self.hop_length, eps=self.floor).astype(np.float32)

    def fit(self, waves):
        """Measure each mel band's mean and standard deviation over the frames of ``waves``; returns self."""
        batch = isinstance(waves, np.ndarray) and waves.ndim == 2
        spectra = self.raw(waves) if batch else [self.raw(wave) for wave in waves]
        frames = np.concatenate(list(spectra), axis=-1)  # (n_mels, every frame of every waveform)
        self.mean = frames.mean(axis=1, keepdims=True).astype(np.float32)
        self.std = (frames.std(axis=1, keepdims=True) + 1e-5).astype(np.float32)
        return self

    def __call__(self, waves):
        is_tensor = isinstance(waves, Tensor)
        features = (self.raw(waves.numpy() if is_tensor else waves) - self.mean) / self.std
        return Tensor(features) if is_tensor else features

    def state(self):
        """Plain values for ``chainrule.save``."""
        return {"sample_rate": self.sample_rate, "n_mels": self.n_mels, "n_fft": self.n_fft,
                "hop_length": self.hop_length, "floor": self.floor, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, state):
        """The front end ``state()`` described."""
        return cls(int(state["sample_rate"]), int(state["n_mels"]), int(state["n_fft"]), int(state["hop_length"]),
                   float(state["floor"]), state["mean"], state["std"])


def read_clip(path, sample_rate, owner):
    """One WAV file as peak-normalised float32 samples; its rate must be the model's ``sample_rate``."""
    samples, rate = read_wav(path)
    if rate != sample_rate:
        raise ShapeError(f"{owner}: {str(path)!r} has another sample rate; expected {sample_rate} Hz like the "
                         f"training recordings, got {rate} Hz. Hint: resample the file first.")
    if len(samples) == 0:
        raise ShapeError(f"{owner}: {str(path)!r} is empty; expected at least one sample, got none.")
    return peak_normalise(samples)


def save_model(path, app, payload):
    """Write a speech application's model file: ``{"format": "chainrule.apps.<app>", **payload}``."""
    return save({"format": f"chainrule.apps.{app}", **payload}, path)


def load_model(run, app, owner):
    """Read the model file of run folder ``run`` written by ``save_model`` for ``app``.

    Raises:
        FileNotFoundError: no checkpoint.npz in ``run`` (train first).
        SerializationError: a checkpoint of another application.
    """
    path = Path(run) / "checkpoint.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: no trained model at {str(path)!r}; expected the run folder of "
                                f"chainrule train {app}, got no checkpoint.npz. Hint: train first or pass --run.")
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != f"chainrule.apps.{app}":
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise SerializationError(f"{owner}: {str(path)!r} is not a {app} model; expected format "
                                 f"'chainrule.apps.{app}', got {found!r}.")
    return state
