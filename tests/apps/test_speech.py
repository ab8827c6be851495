"""Spoken digits: reading recordings, training on a slice, predicting from WAV files, the CLI, errors."""

import json
import wave

import numpy as np
import pytest

from chainrule.apps import speech
from chainrule.apps._speech_data import LogMelFrontEnd, fit_length, load_recordings
from chainrule.cli import main
from chainrule.errors import ChainruleError, SerializationError, ShapeError


def write_wav(path, samples, rate=8000):
    """A 16-bit mono WAV of float samples in [-1, 1]."""
    pcm = np.clip(np.asarray(samples) * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return path


@pytest.fixture(scope="module")
def fsdd():
    from tests.conftest import find_shared_data
    return find_shared_data("fsdd") / "fsdd.npz"


@pytest.fixture(scope="module")
def trained(fsdd, tmp_path_factory):
    """One small run shared by the tests: takes 0-6 (test 0-4, train 5-6), two epochs, one speaker fold."""
    out = tmp_path_factory.mktemp("speech")
    lines = []
    result = speech.train(out=out, data=str(fsdd), epochs=2, takes=7, speaker_folds=1, log=lines.append)
    return out, result, lines


def test_train_writes_the_run_folder_with_measures_beside_the_baseline(trained, fsdd):
    out, result, lines = trained
    assert len(lines) == 1 and lines[0].startswith("speaker george held out: accuracy ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "speech" and metrics["command"].startswith("chainrule train speech --data ")
    assert metrics["test_recordings"] == 300 and metrics["train_recordings"] == 120
    official = result.measure("test accuracy (official split: takes 0-4)")
    assert 0 <= official["value"] <= 1 and official["target"] == 0.97
    assert official["baseline"]["name"] == "logistic regression on MFCC means and stds"
    assert 0.1 < official["baseline"]["value"] <= 1  # MFCC statistics carry real information
    held_out = result.measure("speaker-held-out accuracy (mean over 1 speakers, each held out)")
    assert list(metrics["speaker_held_out"]) == ["george"]
    assert held_out["value"] == metrics["speaker_held_out"]["george"]["accuracy"]
    assert np.sum(metrics["confusion_matrix"]) == 300
    for name in ("learning_curves.png", "confusion_matrix.png", "checkpoint.npz"):
        assert (out / name).stat().st_size > 0


def test_predict_reads_a_wav_file_and_gives_a_digit_and_its_probability(trained, fsdd, tmp_path):
    out, _, _ = trained
    recordings = load_recordings(fsdd, "test")
    path = write_wav(tmp_path / "clip.wav", recordings.clips[0])
    [line] = speech.predict([str(path)], run=out)
    digit, probability = line.split("digit ")[1].split(" (probability ")
    assert line.startswith(str(path)) and digit in "0123456789"
    assert 0.1 <= float(probability.rstrip(")")) <= 1  # the most probable of 10 classes


def test_cli_trains_and_predicts(trained, tmp_path, capsys):
    out, _, _ = trained
    path = write_wav(tmp_path / "tone.wav", 0.5 * np.sin(np.arange(4000) * 0.3))
    assert main(["predict", "speech", "--run", str(out), str(path), str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] and "digit " in lines[0]


def test_cli_reports_bad_data_in_one_line(tmp_path, capsys):
    assert main(["train", "speech", "--data", str(tmp_path / "missing"), "--epochs", "1"]) == 1
    assert "chainrule: error: train speech: cannot read" in capsys.readouterr().err
    assert main(["train", "speech", "--epochs", "1"]) == 1
    assert "expected --data PATH" in capsys.readouterr().err


def test_a_folder_of_wav_files_reads_digit_speaker_and_take(tmp_path):
    for digit, speaker, take in [(3, "ann", 0), (7, "bob_smith", 12), (3, "bob_smith", 5)]:
        write_wav(tmp_path / f"{digit}_{speaker}_{take}.wav", np.full(100 + take, 0.25))
    recordings = load_recordings(tmp_path, "test")
    order = np.argsort(recordings.takes)
    assert recordings.digits[order].tolist() == [3, 3, 7]
    assert recordings.speakers[order].tolist() == ["ann", "bob_smith", "bob_smith"]
    assert [len(recordings.clips[i]) for i in order] == [100, 105, 112]
    assert recordings.official_test[order].tolist() == [True, False, False]


def test_bad_data_raises_errors_that_say_what_was_expected(tmp_path):
    write_wav(tmp_path / "hello.wav", np.zeros(10))
    with pytest.raises(ChainruleError, match=r"<digit>_<speaker>_<take>\.wav.*'hello.wav'|'hello.wav'.*expected"):
        load_recordings(tmp_path, "train speech")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write_wav(mixed / "1_a_0.wav", np.zeros(10), rate=8000)
    write_wav(mixed / "2_a_0.wav", np.zeros(10), rate=16000)
    with pytest.raises(ShapeError, match="differ in sample rate"):
        load_recordings(mixed, "train speech")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ChainruleError, match=r"lacks arrays; .*\(missing audio, offsets, "):
        load_recordings(tmp_path / "other.npz", "train speech")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no WAV files"):
        load_recordings(tmp_path / "empty", "train speech")


def test_predict_refuses_another_sample_rate_and_a_missing_run(trained, tmp_path):
    out, _, _ = trained
    path = write_wav(tmp_path / "fast.wav", np.zeros(1600), rate=16000)
    with pytest.raises(ShapeError, match="expected 8000 Hz like the training recordings, got 16000 Hz"):
        speech.predict([str(path)], run=out)
    with pytest.raises(FileNotFoundError, match="train first"):
        speech.predict([str(path)], run=tmp_path)


def test_a_checkpoint_of_another_application_is_refused(tmp_path):
    import chainrule as cr
    cr.save({"format": "chainrule.apps.speech-to-text"}, tmp_path / "checkpoint.npz")
    with pytest.raises(SerializationError, match="is not a speech model"):
        speech.predict(["x.wav"], run=tmp_path)


def test_front_end_standardises_bands_and_round_trips_its_state():
    rng = np.random.default_rng(0)
    waves = fit_length([rng.normal(0, 0.1, n).astype(np.float32) for n in (3000, 9000, 5000)], 8000)
    front_end = LogMelFrontEnd(8000).fit(waves)
    features = front_end(waves)
    assert features.shape == (3, 40, 63)
    frames = np.moveaxis(features, 1, 0).reshape(40, -1)
    np.testing.assert_allclose(frames.mean(axis=1), 0, atol=1e-3)
    np.testing.assert_allclose(frames.std(axis=1), 1, atol=1e-2)
    np.testing.assert_array_equal(LogMelFrontEnd.from_state(front_end.state())(waves), features)
