"""Spoken digits: a 1-D convolutional network on log-mel spectrograms of the Free Spoken Digit Dataset.

Each recording is peak-normalised and centred in a one-second window, turned into a 40-band log-mel
spectrogram (``chainrule.data.audio_features``), and classified by three convolutions over time
(the mel bands are the input channels), batch normalisation, max pooling, the mean over time, and
a linear layer. Training sees every batch differently: a random time shift and background noise on
the waveform, then SpecAugment masks (a band of mel rows and a run of frames set to zero).

Two test sets: the official split (takes 0-4 of every speaker and digit; the same speakers are in
training) and, harder and more honest, each speaker in turn held out completely. Both are measured
beside logistic regression on the means and standard deviations of 13 MFCCs on the same split.
"""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._baselines import logistic_regression
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.apps._speech_data import (LogMelFrontEnd, fit_length, load_model, load_recordings, peak_normalise,
                                        read_clip, save_model)
from chainrule.data import DataLoader, TensorDataset, stratified_split
from chainrule.data import transforms as T
from chainrule.data.audio_features import mfcc
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.train import EarlyStopping, LRScheduler, ProgressBar, TerminateOnNaN, Trainer, metrics

__all__ = ["SUMMARY", "build_classifier", "mfcc_statistics", "add_arguments", "train", "add_predict_arguments",
           "predict"]

SUMMARY = "spoken digits from WAV files: a 1-D CNN on log-mel spectrograms with SpecAugment (FSDD)"

WINDOW_SECONDS = 1.0
CLASS_NAMES = [str(d) for d in range(10)]


class _MeanOverTime(nn.Module):
    """(N, C, T) -> (N, C): the average of each channel over time, so any clip length works."""

    def forward(self, x):
        return x.mean(dim=-1)


def build_classifier(n_mels=40, width=128, classes=10):
    """Three 1-D convolutions over time with batch norm and ReLU, two max pools, the mean over time,
    dropout and a linear layer (about 110k parameters for 40 mel bands)."""
    return nn.Sequential(
        nn.Conv1d(n_mels, width // 2, 5, padding=2), nn.BatchNorm1d(width // 2), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(width // 2, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(width, width, 3, padding=1), nn.BatchNorm1d(width), nn.ReLU(),
        _MeanOverTime(), nn.Dropout(0.3), nn.Linear(width, classes))


def mfcc_statistics(clips, sample_rate, n_mfcc=13):
    """The baseline's features: the mean and standard deviation over time of each MFCC, (N, 2 * n_mfcc)."""
    rows = []
    for clip in clips:
        coefficients = mfcc(clip, sample_rate, n_mfcc=n_mfcc)
        rows.append(np.concatenate([coefficients.mean(axis=1), coefficients.std(axis=1)]))
    return np.array(rows, dtype=np.float64)


def _augmentation(front_end, sample_rate):
    """Time shift (up to 0.1 s) and noise (10-40 dB SNR) on waveforms, log-mel, then SpecAugment masks."""
    return T.Compose([T.TimeShift(int(0.1 * sample_rate), mode="zeros"), T.AddNoise(snr_db=(10.0, 40.0)),
                      front_end, T.FrequencyMasking(6), T.TimeMasking(8)])


def _fit_classifier(waves, digits, sample_rate, epochs, lr, batch_size, seed, progress):
    """Train one classifier on (N, window) waveforms; 10% of them (stratified) steer early stopping.

    Returns (model, front end, history).
    """
    cr.manual_seed(seed)
    fit, val = stratified_split(digits, test_size=0.1, seed=seed)
    front_end = LogMelFrontEnd(sample_rate).fit(waves[fit])
    train_data = DataLoader(TensorDataset(waves[fit], digits[fit]), batch_size=batch_size, shuffle=True,
                            transform=_augmentation(front_end, sample_rate))
    val_data = DataLoader(TensorDataset(waves[val], digits[val]), batch_size=256, transform=front_end)
    model = build_classifier(front_end.n_mels)
    optimizer = cr.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    callbacks = [TerminateOnNaN(), LRScheduler(schedule), EarlyStopping(patience=max(5, epochs // 3),
                                                                        restore_best_weights=True)]
    trainer = Trainer(model, F.cross_entropy, optimizer, metrics=["accuracy"],
                      callbacks=callbacks + ([progress] if progress is not None else []))
    history = trainer.fit(train_data, val_data, epochs=epochs)
    losses = history.history.get("loss", [])
    if not losses or not np.all(np.isfinite(losses)):
        raise ChainruleError(f"train speech: training diverged; expected a finite loss, got {losses[-1:]} "
                             f"(try a lower --lr).")
    return model.eval(), front_end, history


def _scores(model, front_end, waves, batch_size=256):
    """Class probabilities (N, 10) of fixed-length waveforms."""
    model.eval()
    parts = []
    with cr.no_grad():
        for start in range(0, len(waves), batch_size):
            parts.append(F.softmax(model(cr.tensor(front_end(waves[start:start + batch_size]))), dim=1).numpy())
    return np.concatenate(parts)


def _speaker_folds(recordings, waves, baseline_features, count, epochs, lr, batch_size, seed, log):
    """Hold out each of the first ``count`` speakers in turn: {speaker: (network accuracy, baseline accuracy)}."""
    results = {}
    for speaker in sorted(set(recordings.speakers.tolist()))[:count]:
        held_out = recordings.speakers == speaker
        model, front_end, _ = _fit_classifier(waves[~held_out], recordings.digits[~held_out],
                                              recordings.sample_rate, epochs, lr, batch_size, seed, None)
        accuracy = metrics.accuracy(_scores(model, front_end, waves[held_out]), recordings.digits[held_out])
        baseline = logistic_regression(baseline_features[~held_out], recordings.digits[~held_out],
                                       baseline_features[held_out], recordings.digits[held_out])
        results[speaker] = (float(accuracy), float(baseline))
        log(f"speaker {speaker} held out: accuracy {accuracy:.4f} (baseline {baseline:.4f})")
    return results


def add_arguments(parser):
    """``chainrule train speech`` options."""
    parser.add_argument("--epochs", type=int, default=30, help="most epochs per model (default 30)")
    parser.add_argument("--lr", type=float, default=3e-3, help="AdamW's initial learning rate (default 3e-3)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    parser.add_argument("--speaker-folds", type=int, default=6,
                        help="hold out this many speakers, one at a time, for the speaker-held-out accuracy "
                             "(default 6, every FSDD speaker; 0 skips it)")
    parser.add_argument("--takes", type=int, default=None,
                        help="use only takes 0..N-1 of every speaker and digit (a quick slice; default all)")


def train(out="runs/speech", data=None, seed=0, epochs=30, lr=3e-3, batch_size=64, speaker_folds=6, takes=None,
          progress=None, log=print):
    """Train the spoken-digit CNN on the official split and on speaker-held-out folds; write the run folder.

    Args:
        out: the run folder (metrics.json, learning_curves.png, confusion_matrix.png, checkpoint.npz).
        data: a folder of ``<digit>_<speaker>_<take>.wav`` files or a packed ``fsdd.npz``.
        seed: seeds the splits, the weights, the batches and the augmentation.
        epochs, lr, batch_size: training of each model (cosine-annealed AdamW, early stopping).
        speaker_folds: how many speakers to hold out in turn (each trains a model of its own).
        takes: keep only takes below this number (for a quick run on a slice).
        progress: a ProgressBar for the official-split model, None for the default one.
        log: called with one line per held-out speaker as each fold finishes.
    """
    owner = "train speech"
    watch = Stopwatch()
    recordings = load_recordings(data, owner)
    if takes is not None:
        recordings = recordings.subset(recordings.takes < takes)
    test = recordings.official_test
    if test.all() or not test.any():
        raise ChainruleError(f"{owner}: the official split needs takes 0-4 for testing and later takes for "
                             f"training; got takes {sorted(set(recordings.takes.tolist()))[:8]}...")
    rate = recordings.sample_rate
    waves = fit_length([peak_normalise(clip) for clip in recordings.clips], int(WINDOW_SECONDS * rate))
    digits = recordings.digits
    model, front_end, history = _fit_classifier(waves[~test], digits[~test], rate, epochs, lr, batch_size, seed,
                                                progress or ProgressBar())
    probabilities = _scores(model, front_end, waves[test])
    accuracy = metrics.accuracy(probabilities, digits[test])
    confusion = metrics.confusion_matrix(probabilities, digits[test], num_classes=10)
    baseline_features = mfcc_statistics(recordings.clips, rate)
    baseline = logistic_regression(baseline_features[~test], digits[~test], baseline_features[test], digits[test])

    folder = RunFolder(out)
    save_model(folder.checkpoint, "speech", {"model": model.state_dict(), "front_end": front_end.state(),
                                             "window": waves.shape[1]})
    baseline_name = "logistic regression on MFCC means and stds"
    measures = [measure("test accuracy (official split: takes 0-4)", accuracy, target=0.97, baseline=baseline,
                        baseline_name=baseline_name)]
    folds = _speaker_folds(recordings, waves, baseline_features, speaker_folds, epochs, lr, batch_size, seed, log)
    if folds:
        measures.append(measure(f"speaker-held-out accuracy (mean over {len(folds)} speakers, each held out)",
                                np.mean([a for a, _ in folds.values()]),
                                baseline=np.mean([b for _, b in folds.values()]), baseline_name=baseline_name))
    files = {"learning_curves": str(folder.learning_curves(history)),
             "confusion_matrix": str(folder.confusion_matrix(confusion, CLASS_NAMES)),
             "checkpoint": str(folder.checkpoint)}
    payload = {
        "command": command_line("speech", data=data, seed=seed, epochs=epochs, lr=lr, batch_size=batch_size,
                                speaker_folds=speaker_folds, takes=takes),
        "seed": seed, "seconds": watch.seconds, "epochs": len(history.history["loss"]),
        "train_recordings": int((~test).sum()), "test_recordings": int(test.sum()),
        "confusion_matrix": confusion.tolist(),
        "speaker_held_out": {name: {"accuracy": a, "baseline": b} for name, (a, b) in folds.items()},
        "measures": measures}
    files["metrics"] = str(folder.write_metrics("speech", payload))
    lines = [f"spoken digits, official split: test accuracy {accuracy:.4f} (MFCC logistic regression "
             f"{baseline:.4f}) after {len(history.history['loss'])} epochs"]
    if folds:
        lines.append(f"speaker-held-out accuracy {measures[-1]['value']:.4f} (baseline "
                     f"{measures[-1]['baseline']['value']:.4f}), the mean over {', '.join(folds)}")
    return AppResult(metrics={"app": "speech", **payload}, lines=lines, files=files)


def add_predict_arguments(parser):
    """``chainrule predict speech clip.wav ...``."""
    parser.add_argument("inputs", nargs="+", help="WAV files (16-bit PCM at the training sample rate), one digit each")


def predict(inputs, run="runs/speech"):
    """The digit heard in each WAV file and its probability, one line each."""
    state = load_model(run, "speech", "predict speech")
    front_end = LogMelFrontEnd.from_state(state["front_end"])
    model = build_classifier(front_end.n_mels)
    model.load_state_dict(state["model"])
    clips = [read_clip(path, front_end.sample_rate, "predict speech") for path in inputs]
    probabilities = _scores(model, front_end, fit_length(clips, int(state["window"])))
    return [f"{path}: digit {row.argmax()} (probability {row.max():.3f})" for path, row in zip(inputs, probabilities)]
