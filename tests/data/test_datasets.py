"""Readers for user paths: IDX files, WAV files and folders, text tables, scikit-learn's digits.

Every test writes its own small files in tmp_path; the last few read the project's shared data
(found through CHAINRULE_DATA, then ../shared/data next to the repository) and skip when absent.
"""

import gzip
import os
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import DataLoader
from chainrule.data.datasets import (WavFolder, load_digits, load_mnist_idx, load_wav_folder, read_idx,
                                     read_text_table, read_wav)
from chainrule.errors import ChainruleError, DTypeError, ShapeError

IDX_TYPE_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
                  np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def write_idx(path, array, gz=False):
    header = bytes([0, 0, IDX_TYPE_CODES[array.dtype], array.ndim]) + np.array(array.shape, ">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    Path(path).write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_wav(path, samples, sample_rate=8000, width=2):
    """Write int samples of shape (frames,) or (frames, channels) as PCM."""
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(sample_rate)
        writer.writeframes(samples.astype("<i2" if width == 2 else "u1").tobytes())
    return path


# --- IDX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_read_idx_round_trips_every_type(tmp_path, gz, dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    back = read_idx(write_idx(tmp_path / "data-idx3", array, gz))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.shape == (3, 4, 5)
    np.testing.assert_array_equal(back, array)
    back[0, 0, 0] = 1  # a writable array, not a view of the file's bytes


def test_read_idx_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_idx: cannot read .*nope.*no such file"):
        read_idx(tmp_path / "nope")
    truncated = tmp_path / "short-idx1"
    truncated.write_bytes(write_idx(tmp_path / "x", np.arange(10, dtype=np.uint8)).read_bytes()[:-3])
    with pytest.raises(ShapeError, match=r"short-idx1.*expected 10 bytes of data for shape \(10,\), got 7"):
        read_idx(truncated)
    (tmp_path / "text").write_text("hello")
    with pytest.raises(ChainruleError, match=r"'.*text' is not an IDX file"):
        read_idx(tmp_path / "text")
    (tmp_path / "odd").write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 0]))
    with pytest.raises(DTypeError, match="unknown element type.*got 0x7"):
        read_idx(tmp_path / "odd")
    (tmp_path / "broken.gz").write_bytes(gzip.compress(b"\0\0\x08\x01" + bytes(40))[:20])
    with pytest.raises(ChainruleError, match="broken.gz' is a damaged gzip file"):
        read_idx(tmp_path / "broken.gz")


def write_mnist_folder(folder, n_train=6, n_test=4):
    rng = np.random.default_rng(1)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for number, (stem, array) in enumerate(arrays.items()):
        gz = number % 2 == 0  # a mix of gzipped and raw files
        write_idx(folder / (stem + (".gz" if gz else "")), array, gz)
    return arrays


def test_load_mnist_idx_reads_the_four_files(tmp_path):
    arrays = write_mnist_folder(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_mnist_idx(tmp_path)
    assert x_train.shape == (6, 28, 28) and x_train.dtype == np.uint8 and x_test.shape == (4, 28, 28)
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])


def test_load_mnist_idx_names_what_is_missing_or_mismatched(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_mnist_idx(tmp_path / "absent")
    write_mnist_folder(tmp_path)
    os.remove(tmp_path / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte.gz, t10k-images-idx3-ubyte, "):
        load_mnist_idx(tmp_path)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", np.zeros((5, 28, 28), np.uint8))  # a mirror's dotted name
    with pytest.raises(ShapeError, match=r"test images and labels differ.*expected as many labels as images \(5\), "
                                         r"got 4"):
        load_mnist_idx(tmp_path)


# --- WAV --------------------------------------------------------------------------------------
def test_read_wav_scales_16_bit_pcm_to_unit_range(tmp_path):
    samples = np.array([0, 16384, -16384, 32767, -32768], dtype=np.int16)
    values, rate = read_wav(write_wav(tmp_path / "a.wav", samples, sample_rate=16000))
    assert rate == 16000 and values.dtype == np.float32
    np.testing.assert_allclose(values, [0, 0.5, -0.5, 32767 / 32768, -1.0])


def test_read_wav_averages_stereo_to_mono(tmp_path):
    stereo = np.array([[16384, 0], [-32768, 32767]], dtype=np.int16)
    values, _ = read_wav(write_wav(tmp_path / "s.wav", stereo))
    np.testing.assert_allclose(values, [0.25, -0.5 / 32768], atol=1e-7)


def test_read_wav_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_wav: cannot read .*missing.wav"):
        read_wav(tmp_path / "missing.wav")
    with pytest.raises(DTypeError, match=r"8bit.wav' has an unsupported sample width; expected 16-bit PCM, got 8-bit"):
        read_wav(write_wav(tmp_path / "8bit.wav", np.array([0, 255]), width=1))
    (tmp_path / "fake.wav").write_bytes(b"not a wav file at all")
    with pytest.raises(ChainruleError, match="fake.wav' is not a readable WAV file"):
        read_wav(tmp_path / "fake.wav")


def write_digit_folder(folder, rates=None):
    """Files named like the Free Spoken Digit Dataset: <digit>_<speaker>_<take>.wav, length 100 + 10 * digit."""
    folder.mkdir(exist_ok=True)
    for digit, speaker in [(3, "ann"), (1, "bob"), (3, "bob"), (0, "ann")]:
        rate = (rates or {}).get(digit, 8000)
        write_wav(folder / f"{digit}_{speaker}_0.wav", np.full(100 + 10 * digit, 1000 * digit), sample_rate=rate)
    return folder


def test_wav_folder_labels_from_file_names(tmp_path):
    folder = WavFolder(write_digit_folder(tmp_path / "digits"))
    assert [p.name for p in folder.files] == ["0_ann_0.wav", "1_bob_0.wav", "3_ann_0.wav", "3_bob_0.wav"]
    assert folder.labels.dtype == np.int64 and folder.labels.tolist() == [0, 1, 3, 3]
    assert folder.classes.tolist() == [0, 1, 3] and folder.sample_rate == 8000 and len(folder) == 4
    waveform, target = folder[2]
    assert target == 3 and waveform.shape == (130,)
    np.testing.assert_allclose(waveform, 3000 / 32768)


def test_wav_folder_labels_from_a_pattern_or_a_callable(tmp_path):
    root = write_digit_folder(tmp_path / "digits")
    speakers = WavFolder(root, pattern=r"_([a-z]+)_")
    assert speakers.labels.tolist() == ["ann", "bob", "ann", "bob"]
    assert speakers.classes.tolist() == ["ann", "bob"] and speakers.targets.tolist() == [0, 1, 0, 1]
    assert speakers[1][1] == 1
    by_length = WavFolder(root, labels_from=lambda name: len(name))
    assert by_length.labels.tolist() == [11, 11, 11, 11]
    with pytest.raises(ChainruleError, match=r"cannot read a label from the file name '0_ann_0.wav'"):
        WavFolder(root, pattern=r"^x(\d)")


def test_wav_folder_labels_from_a_csv_file(tmp_path):
    root = write_digit_folder(tmp_path / "digits")
    (tmp_path / "labels.csv").write_text("file,label\n0_ann_0.wav,zero\n1_bob_0,one\n3_ann_0.wav,three\n"
                                         "3_bob_0.wav,three\nnot_here.wav,ignored\n")
    folder = WavFolder(root, labels_from=tmp_path / "labels.csv")
    assert folder.labels.tolist() == ["zero", "one", "three", "three"]
    (tmp_path / "plain.csv").write_text("0_ann_0.wav,x\n1_bob_0.wav,7\n")
    with pytest.raises(ChainruleError, match=r"2 WAV files have no label in .*plain.csv.*3_ann_0.wav, 3_bob_0.wav"):
        WavFolder(root, labels_from=tmp_path / "plain.csv", csv_columns=(0, 1))
    with pytest.raises(ChainruleError, match=r"lacks a column; expected a header row with \['file', 'label'\]"):
        WavFolder(root, labels_from=tmp_path / "plain.csv")
    with pytest.raises(FileNotFoundError, match="WavFolder: cannot read .*absent.csv"):
        WavFolder(root, labels_from=tmp_path / "absent.csv")


def test_wav_folder_feeds_a_loader_through_a_transform(tmp_path):
    folder = WavFolder(write_digit_folder(tmp_path / "digits"), transform=lambda w: w[:100])
    waveforms, targets = next(iter(DataLoader(folder, batch_size=4)))
    assert waveforms.shape == (4, 100) and targets.tolist() == [0, 1, 3, 3]


def test_load_wav_folder_reads_everything_and_checks_rates(tmp_path):
    waveforms, labels, rate = load_wav_folder(write_digit_folder(tmp_path / "digits"))
    assert [len(w) for w in waveforms] == [100, 110, 130, 130] and labels.tolist() == [0, 1, 3, 3] and rate == 8000
    with pytest.raises(ShapeError, match=r"3_ann_0.wav' has another sample rate; expected 8000 Hz .* got 16000 Hz"):
        load_wav_folder(write_digit_folder(tmp_path / "mixed", rates={3: 16000}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no WAV files"):
        load_wav_folder(tmp_path / "empty")


# --- text tables ------------------------------------------------------------------------------
def test_read_text_table_csv_by_column_names(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text('label,review\n1,"fast, hot, tasty"\n0,"two\nlines"\n\n1,plain\n', encoding="utf-8")
    texts, labels = read_text_table(path, "review", "label")
    assert texts == ["fast, hot, tasty", "two\nlines", "plain"]
    assert labels.dtype == np.int64 and labels.tolist() == [1, 0, 1]


def test_read_text_table_tsv_keeps_quotes_as_text(tmp_path):
    path = tmp_path / "sentences.tsv"
    path.write_text('"Quoted" start\tpos\nA "middle" one\tneg\n', encoding="utf-8")
    texts, labels = read_text_table(path, 0, 1)
    assert texts == ['"Quoted" start', 'A "middle" one'] and labels.tolist() == ["pos", "neg"]


def test_read_text_table_guesses_the_delimiter_of_other_suffixes(tmp_path):
    (tmp_path / "tab.txt").write_text("good film\t1\nbad, bad film\t0\n")
    texts, labels = read_text_table(tmp_path / "tab.txt", 0, 1)
    assert texts == ["good film", "bad, bad film"] and labels.tolist() == [1, 0]
    (tmp_path / "comma.txt").write_text("text,label\nhi,2\n")
    texts, labels = read_text_table(tmp_path / "comma.txt", "text", "label")
    assert texts == ["hi"] and labels.tolist() == [2]
    texts, _ = read_text_table(tmp_path / "comma.txt", 0, 1, header=True)
    assert texts == ["hi"]


def test_read_text_table_errors(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("text,label\nfine,1\nno label here\n")
    with pytest.raises(ShapeError, match=r"line 3 of .*bad.csv' has too few columns; expected at least 2, got 1"):
        read_text_table(path, "text", "label")
    with pytest.raises(ChainruleError, match=r"has no column 'review'; expected one of .* got \['text', 'label'\]"):
        read_text_table(path, "review", "label")
    with pytest.raises(ChainruleError, match="columns given by name need a header row"):
        read_text_table(path, "text", "label", header=False)
    with pytest.raises(FileNotFoundError, match="read_text_table: cannot read"):
        read_text_table(tmp_path / "none.csv", 0, 1)
    (tmp_path / "latin.csv").write_bytes("caf\xe9,1\n".encode("latin-1"))
    with pytest.raises(ChainruleError, match="latin.csv' is not UTF-8"):
        read_text_table(tmp_path / "latin.csv", 0, 1)


# --- scikit-learn's digits ----------------------------------------------------------------------
def test_load_digits_shape_dtype_and_range():
    pytest.importorskip("sklearn")
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert labels.shape == (1797,) and labels.dtype == np.int64 and sorted(set(labels.tolist())) == list(range(10))


def test_load_digits_without_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ChainruleError, match=r"load_digits: needs scikit-learn.*pip install chainrule\[datasets\]"):
        load_digits()


# --- the project's shared data, when present ----------------------------------------------------
def test_reads_the_real_fsdd_wav_samples(shared_data):
    waveforms, labels, rate = load_wav_folder(shared_data("fsdd") / "wav_samples")
    assert rate == 8000 and labels.tolist() == list(range(10))
    assert all(w.dtype == np.float32 and w.ndim == 1 and 1000 < len(w) < 20000 for w in waveforms)
    assert all(0.05 < np.abs(w).max() <= 1.0 for w in waveforms)  # real speech, not silence or clipping garbage


def test_reads_real_mnist_family_label_files(shared_data):
    labels = read_idx(shared_data("fashion-mnist") / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == [1000] * 10  # Fashion-MNIST's test set is balanced


def test_reads_every_line_of_the_real_uci_sentiment_file(shared_data):
    # imdb_labelled.txt has quote characters inside its sentences: CSV quoting would merge lines (748 rows)
    texts, labels = read_text_table(shared_data("uci-sentiment-labelled") / "imdb_labelled.txt", 0, 1)
    assert len(texts) == 1000 and labels.dtype == np.int64 and set(labels.tolist()) == {0, 1}
