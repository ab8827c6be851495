"""Connected digits to text: utterance assembly, decoding and scoring, the CTC model, the app end to end."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.apps import speech_to_text
from chainrule.apps._connected_digits import (assemble_utterances, character_error_rate, edit_distance,
                                              greedy_decode)
from chainrule.apps._segment_baseline import speech_segments
from chainrule.apps.speech_to_text import DigitTranscriber
from chainrule.cli import main
from chainrule.errors import ShapeError
from tests.apps.test_speech import write_wav


@pytest.fixture(scope="module")
def fsdd():
    from tests.conftest import find_shared_data
    return find_shared_data("fsdd") / "fsdd.npz"


@pytest.fixture(scope="module")
def trained(fsdd, tmp_path_factory):
    """A small run: takes 0-6, two epochs of 64 utterances, 20 held-out utterances."""
    out = tmp_path_factory.mktemp("speech_to_text")
    lines = []
    result = speech_to_text.train(out=out, data=str(fsdd), epochs=2, utterances=64, test_utterances=20, takes=7,
                                  log=lines.append)
    return out, result, lines


def test_assembled_utterances_join_the_chosen_clips_with_pauses_and_noise():
    rate = 1000
    clips = [np.full(100, 0.5, np.float32), np.full(60, -0.5, np.float32)]  # digit 4 long, digit 9 short
    made = assemble_utterances(clips, [4, 9], 30, rate, np.random.default_rng(0), min_digits=2, max_digits=3)
    for wave, text in zip(made.waves, made.texts):
        assert 2 <= len(text) <= 3 and set(text) <= {"4", "9"}
        loud = np.abs(wave) > 0.2
        assert abs(loud.sum() - sum(100 if d == "4" else 60 for d in text)) <= 4 * len(text)
        assert 0 < np.std(wave[:40]) < 0.05                  # a quiet lead-in with noise in it
        assert len(wave) >= loud.sum() + 2 * 0.05 * rate   # lead-in and tail of at least 0.05 s
    with pytest.raises(ShapeError, match="assemble_utterances: bad digit range"):
        assemble_utterances(clips, [4, 9], 1, rate, np.random.default_rng(0), min_digits=3, max_digits=2)


def test_greedy_decoding_merges_repeats_and_drops_blanks():
    frames = [0, 2, 2, 0, 2, 0, 0, 1, 1, 10]  # blank "1" "1" blank "1" blank blank "0" "0" "9"
    log_probs = np.log(np.eye(11)[frames] + 1e-3)[:, None, :]
    assert greedy_decode(log_probs, [len(frames)]) == ["1109"]
    assert greedy_decode(log_probs, [3]) == ["1"]  # frames past the length do not count
    two = np.stack([np.eye(11)[[3, 3, 0, 4]], np.eye(11)[[0, 1, 1, 0]]], axis=1)
    assert greedy_decode(two, [4, 2]) == ["23", "0"]


def test_edit_distance_and_character_error_rate():
    assert edit_distance("12345", "12345") == 0
    assert edit_distance("1245", "12345") == 1 and edit_distance("912345", "12345") == 1
    assert edit_distance("", "") == 0 and edit_distance("98", "") == 2
    assert character_error_rate(["123", ""], ["123", "45"]) == pytest.approx(2 / 5)
    with pytest.raises(ShapeError, match="one prediction per transcript"):
        character_error_rate(["1"], ["1", "2"])


def test_segments_are_found_at_the_pauses():
    rate = 8000
    rng = np.random.default_rng(0)
    burst = lambda seconds: rng.normal(0, 0.3, int(seconds * rate))  # noqa: E731
    pause = lambda seconds: rng.normal(0, 0.003, int(seconds * rate))  # noqa: E731
    wave = np.concatenate([pause(0.2), burst(0.3), pause(0.25), burst(0.4), pause(0.01), burst(0.2), pause(0.2)])
    segments = speech_segments(wave, rate)
    assert len(segments) == 2  # the 10 ms gap is closed, the 250 ms pause is not
    (a, b), (c, d) = segments
    assert abs(a - 0.2 * rate) < 200 and abs(b - 0.5 * rate) < 200
    assert abs(c - 0.75 * rate) < 200 and abs(d - 1.38 * rate) < 200


def test_the_transcriber_gives_log_probabilities_per_halved_frame_and_learns_a_tiny_batch():
    cr.manual_seed(0)
    model = DigitTranscriber(n_mels=8, channels=16, hidden=12, layers=1)
    features = cr.randn(2, 8, 21)
    lengths = np.array([21, 14])
    log_probs = model(features, lengths)
    assert log_probs.shape == (11, 2, 11)
    np.testing.assert_allclose(np.exp(log_probs.numpy()).sum(-1), 1, rtol=1e-5)
    assert model.output_lengths(lengths).tolist() == [11, 7]
    loss_fn = nn.CTCLoss()
    optimizer = cr.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        loss = loss_fn(model(features, lengths), [[3, 5], [8, 0]], model.output_lengths(lengths), [2, 1])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    with cr.no_grad():  # still in training mode: batch statistics, as in the steps above
        decoded = greedy_decode(model(features, lengths).numpy(), model.output_lengths(lengths))
    assert decoded == ["24", "7"]


def test_train_writes_the_run_folder_with_the_cer_beside_the_baseline(trained):
    out, result, lines = trained
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["app"] == "speech-to-text" and len(lines) == 2 and lines[0].startswith("epoch 1/2 - loss ")
    assert metrics["test_utterances"] == 20 and len(metrics["history"]["val_cer"]) == 2
    cer = result.measure("character error rate (held-out utterances from test takes 0-4)")
    assert cer["higher_is_better"] is False and cer["value"] >= 0
    assert cer["baseline"]["name"].startswith("cut at pauses")
    assert 0 <= cer["baseline"]["value"] < 0.8  # the segmenting baseline reads many digits already
    for example in metrics["examples"]:
        assert set(example["truth"]) <= set("0123456789") and 2 <= len(example["truth"]) <= 5
    assert (out / "checkpoint.npz").stat().st_size > 0 and (out / "learning_curves.png").stat().st_size > 0


def test_predict_and_the_cli_read_wav_files(trained, fsdd, tmp_path, capsys):
    out, _, _ = trained
    from chainrule.apps._speech_data import load_recordings
    recordings = load_recordings(fsdd, "test")
    made = assemble_utterances(recordings.clips[:20], recordings.digits[:20], 1, 8000, np.random.default_rng(3))
    path = write_wav(tmp_path / "digits.wav", made.waves[0])
    [line] = speech_to_text.predict([str(path)], run=out)
    text = line.split(": ", 1)[1]
    assert line.startswith(str(path)) and (text == "(no digits heard)" or set(text) <= set("0123456789"))
    assert main(["predict", "speech-to-text", "--run", str(out), str(path)]) == 0
    assert capsys.readouterr().out.strip() == line


def test_bad_data_and_a_missing_model_are_reported(tmp_path, capsys):
    assert main(["train", "speech-to-text", "--data", str(tmp_path / "nothing.npz")]) == 1
    assert "chainrule: error: train speech-to-text: cannot read" in capsys.readouterr().err
    np.savez(tmp_path / "wrong.npz", audio=np.zeros(3))
    assert main(["train", "speech-to-text", "--data", str(tmp_path / "wrong.npz")]) == 1
    assert "lacks arrays; expected a packed recordings file" in capsys.readouterr().err
    assert main(["predict", "speech-to-text", "--run", str(tmp_path), "x.wav"]) == 1
    assert "no trained model" in capsys.readouterr().err
