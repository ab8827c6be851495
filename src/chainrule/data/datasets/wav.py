"""16-bit PCM WAV files, one by one or a labelled folder of them (standard library ``wave`` + NumPy)."""

import csv
import re
import wave

import numpy as np

from chainrule.data.dataset import Dataset
from chainrule.data.datasets._labels import label_array
from chainrule.data.datasets._paths import existing_file, existing_folder
from chainrule.errors import ChainruleError, DTypeError, ShapeError

__all__ = ["read_wav", "WavFolder", "load_wav_folder"]

_NAME_PATTERN = r"^([^_]+)_"  # "7_jackson_32.wav" -> "7", as in the Free Spoken Digit Dataset


def read_wav(path):
    """Read a 16-bit PCM WAV file as mono float32 samples in [-1, 1].

    Stereo (or more) channels are averaged.

    Args:
        path: the ``.wav`` file.

    Returns:
        ``(samples, sample_rate)``: a float32 array of shape ``(num_frames,)`` and an int in Hz.

    Raises:
        FileNotFoundError: no such file.
        DTypeError: not 16-bit PCM (8-, 24- or 32-bit, or float WAV).
        ChainruleError: not a WAV file, or a damaged one.
    """
    path = existing_file("read_wav", path)
    try:
        with wave.open(str(path), "rb") as reader:
            width, channels = reader.getsampwidth(), reader.getnchannels()
            sample_rate, frames = reader.getframerate(), reader.getnframes()
            raw = reader.readframes(frames)
    except (wave.Error, EOFError) as exc:
        if "unknown format" in str(exc):
            raise DTypeError(f"read_wav: {str(path)!r} is not PCM; expected 16-bit PCM, got {exc}.") from None
        raise ChainruleError(f"read_wav: {str(path)!r} is not a readable WAV file; expected a RIFF/WAVE file, "
                             f"got {exc or type(exc).__name__}.") from None
    if width != 2:
        raise DTypeError(f"read_wav: {str(path)!r} has an unsupported sample width; expected 16-bit PCM, got "
                         f"{8 * width}-bit.")
    usable = len(raw) - len(raw) % (2 * channels)  # a damaged last frame is dropped, not misread
    samples = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, channels).astype(np.float32)
    return samples.mean(axis=1) / np.float32(32768.0), sample_rate


class WavFolder(Dataset):
    """The WAV files in a folder, with labels, read lazily one file per sample.

    ``folder[i]`` is ``(waveform, target)``: the mono float32 samples (passed through
    ``transform`` when given) and the label. Files are the folder's ``*.wav`` files (subfolders
    included), sorted by path.

    Args:
        root: the folder.
        labels_from: where labels come from:
            ``"name"``: ``pattern`` searched in each file name, its first group (or the whole match);
            a callable: ``labels_from(file_name) -> label``;
            a path to a CSV file: rows of file name and label (see ``csv_columns``).
        pattern: the regular expression for ``labels_from="name"``; by default the text before the
            first underscore (``7_jackson_32.wav`` -> ``7``).
        csv_columns: the CSV columns holding the file name and the label: two header names (the
            first row is a header), or two ints (no header row). A file name in the CSV may be the
            path relative to ``root``, the file name, or the name without ``.wav``.
        transform: a function applied to each waveform (crop, pad, features).

    Attributes:
        files: the WAV paths, sorted.
        labels: an int64 array when every label is an integer, else an array of strings.
        classes: the sorted distinct labels.
        targets: int64 per file: the label itself when integer, else its index in ``classes``.
        sample_rate: the sample rate of the first file, in Hz.

    Raises:
        FileNotFoundError: a missing folder or CSV file, or a folder without WAV files.
        ChainruleError: a file name the pattern does not match, or a file the CSV does not list.
    """

    def __init__(self, root, labels_from="name", pattern=_NAME_PATTERN, csv_columns=("file", "label"),
                 transform=None):
        self.root = existing_folder("WavFolder", root)
        self.files = sorted(p for p in self.root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())
        if not self.files:
            raise FileNotFoundError(f"WavFolder: no WAV files in {str(self.root)!r}; expected *.wav files, got none.")
        if callable(labels_from):
            raw_labels = [labels_from(p.name) for p in self.files]
        elif labels_from == "name":
            raw_labels = [_label_from_name(p.name, pattern) for p in self.files]
        else:
            raw_labels = _labels_from_csv(self.root, self.files, existing_file("WavFolder", labels_from), csv_columns)
        self.labels, self.classes, self.targets = _encode_labels(raw_labels)
        self.transform = transform
        self.sample_rate = read_wav(self.files[0])[1]

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path = self.files[index]
        samples, sample_rate = read_wav(path)
        if sample_rate != self.sample_rate:
            raise ShapeError(f"WavFolder: {str(path)!r} has another sample rate; expected {self.sample_rate} Hz "
                             f"like {self.files[0].name}, got {sample_rate} Hz. Hint: resample the files first.")
        if self.transform is not None:
            samples = self.transform(samples)
        return samples, int(self.targets[index])

    def __repr__(self):
        return f"WavFolder({str(self.root)!r}, files={len(self)}, classes={len(self.classes)})"


def load_wav_folder(path, labels_from="name", pattern=_NAME_PATTERN, csv_columns=("file", "label")):
    """Read every WAV file in a folder at once (see :class:`WavFolder` for the arguments).

    Returns:
        ``(waveforms, labels, sample_rate)``: a list of float32 arrays (their lengths differ), the
        labels array (int64 when every label is an integer, else strings), and the rate in Hz.

    Raises:
        ShapeError: files with different sample rates.
    """
    folder = WavFolder(path, labels_from=labels_from, pattern=pattern, csv_columns=csv_columns)
    waveforms = [folder[i][0] for i in range(len(folder))]
    return waveforms, folder.labels, folder.sample_rate


def _label_from_name(name, pattern):
    match = re.search(pattern, name)
    if match is None:
        raise ChainruleError(f"WavFolder: cannot read a label from the file name {name!r}; expected it to match "
                             f"the pattern {pattern!r}, got no match. Hint: pass pattern= or labels_from=.")
    return match.group(1) if match.groups() else match.group(0)


def _labels_from_csv(root, files, csv_path, csv_columns):
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        rows = [row for row in csv.reader(handle) if row]
    file_column, label_column = csv_columns
    if isinstance(file_column, str):
        header, rows = (rows[0] if rows else []), rows[1:]
        missing = [name for name in csv_columns if name not in header]
        if missing:
            raise ChainruleError(f"WavFolder: {str(csv_path)!r} lacks a column; expected a header row with "
                                 f"{list(csv_columns)}, got {header}. Hint: pass csv_columns=(0, 1) for a file "
                                 f"without a header.")
        file_column, label_column = header.index(file_column), header.index(label_column)
    width = max(file_column, label_column) + 1
    mapping = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < width:
            raise ShapeError(f"WavFolder: row {number} of {str(csv_path)!r} is too short; expected at least {width} "
                             f"columns, got {len(row)}.")
        mapping[row[file_column].strip().replace("\\", "/")] = row[label_column].strip()
    labels, unlisted = [], []
    for path in files:
        names = (path.relative_to(root).as_posix(), path.name, path.stem)
        label = next((mapping[name] for name in names if name in mapping), None)
        (unlisted if label is None else labels).append(path.name if label is None else label)
    if unlisted:
        raise ChainruleError(f"WavFolder: {len(unlisted)} WAV files have no label in {str(csv_path)!r}; expected "
                             f"every file listed, got none for {', '.join(unlisted[:3])}.")
    return labels


def _encode_labels(raw_labels):
    """(labels, classes, targets): integer labels are their own targets, others index ``classes``."""
    labels = label_array(raw_labels)
    classes = np.unique(labels)
    if labels.dtype.kind == "i":
        return labels, classes, labels
    return labels, classes, np.searchsorted(classes, labels).astype(np.int64)
