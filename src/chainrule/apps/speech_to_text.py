"""Connected digits to text: a convolutional front end, a bidirectional GRU and CTC.

An utterance of several spoken digits becomes a 40-band log-mel spectrogram; two 1-D convolutions
(the first with stride 2, halving the frame rate to about 31 frames a second) feed a two-layer
bidirectional GRU, and a linear layer gives each frame log-probabilities over 11 classes: the CTC
blank and the ten digits. ``nn.CTCLoss`` trains it without any alignment of digits to frames;
greedy decoding (best class per frame, repeats merged, blanks dropped) reads the digit string.

The utterances are assembled from the Free Spoken Digit Dataset (``_connected_digits``): fresh
random ones every epoch from the training takes (5-49), and a fixed held-out set from the test
takes (0-4) only. The character error rate on them is measured beside a segment-then-classify
baseline (``_segment_baseline``): cut the utterance at its pauses, then classify each piece with
logistic regression on MFCC means and standard deviations.
"""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps._connected_digits import BLANK, assemble_utterances, character_error_rate, greedy_decode
from chainrule.apps._run import AppResult, RunFolder, Stopwatch, command_line, measure
from chainrule.apps._segment_baseline import segment_and_classify
from chainrule.apps._speech_data import LogMelFrontEnd, load_model, load_recordings, read_clip, save_model
from chainrule.data import transforms as T
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.optim import clip_grad_norm_
from chainrule.train.progress import format_epoch

__all__ = ["SUMMARY", "DigitTranscriber", "transcribe", "add_arguments", "train", "add_predict_arguments", "predict"]

SUMMARY = "connected spoken digits to text: conv front end + bidirectional GRU trained with CTC (FSDD utterances)"

CLASSES = 11  # the blank and ten digits


class DigitTranscriber(nn.Module):
    """Log-mel frames (N, n_mels, T) -> per-frame log-probabilities (T', N, 11), T' = ceil(T / 2).

    Conv1d (stride 2) + batch norm + ReLU, Conv1d + batch norm + ReLU, a bidirectional GRU of
    ``layers`` layers, and a linear layer with log_softmax over blank + 10 digits.
    """

    def __init__(self, n_mels=40, channels=128, hidden=96, layers=2):
        super().__init__()
        self.front = nn.Sequential(
            nn.Conv1d(n_mels, channels, 5, stride=2, padding=2), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1), nn.BatchNorm1d(channels), nn.ReLU())
        self.gru = nn.GRU(channels, hidden, num_layers=layers, bidirectional=True,
                          dropout=0.2 if layers > 1 else 0.0)
        self.head = nn.Linear(2 * hidden, CLASSES)

    @staticmethod
    def output_lengths(lengths):
        """Frames after the stride-2 convolution (kernel 5, padding 2): ``(length - 1) // 2 + 1``."""
        return (np.asarray(lengths, dtype=np.int64) - 1) // 2 + 1

    def forward(self, features, lengths):
        x = self.front(features)                       # (N, channels, T')
        x = x.transpose(1, 2).transpose(0, 1)          # (T', N, channels): time first for the GRU
        x, _ = self.gru(x, lengths=self.output_lengths(lengths))
        return F.log_softmax(self.head(x), dim=-1)     # (T', N, 11)


def _batch_features(front_end, waves):
    """Standardised log-mel spectrograms of waveforms of different lengths, zero-padded: (N, n_mels, T), lengths."""
    spectra = [front_end(wave) for wave in waves]
    lengths = np.array([s.shape[-1] for s in spectra], dtype=np.int64)
    batch = np.zeros((len(spectra), front_end.n_mels, lengths.max()), dtype=np.float32)
    for row, spectrum in zip(batch, spectra):
        row[:, :spectrum.shape[-1]] = spectrum
    return batch, lengths


def _targets(texts):
    """Padded CTC targets (N, S) with class d + 1 for digit d, and their lengths."""
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    padded = np.zeros((len(texts), max(1, lengths.max())), dtype=np.int64)
    for row, text in zip(padded, texts):
        row[:len(text)] = [int(c) + 1 for c in text]
    return padded, lengths


def transcribe(model, front_end, waves, batch_size=32):
    """The digit string the model reads in each waveform (greedy CTC decoding)."""
    model.eval()
    texts = [None] * len(waves)
    order = np.argsort([len(w) for w in waves])  # similar lengths together: less padding
    with cr.no_grad():
        for start in range(0, len(order), batch_size):
            chosen = order[start:start + batch_size]
            features, lengths = _batch_features(front_end, [waves[i] for i in chosen])
            log_probs = model(cr.tensor(features), lengths).numpy()
            for i, text in zip(chosen, greedy_decode(log_probs, model.output_lengths(lengths))):
                texts[i] = text
    return texts


def _train_epoch(model, optimizer, front_end, utterances, batch_size, rng, loss_fn):
    """One pass over the utterances in random order; returns the mean CTC loss."""
    model.train()
    spec_augment = T.Compose([T.FrequencyMasking(6), T.TimeMasking(10)])
    order = rng.permutation(len(utterances))
    losses = []
    for start in range(0, len(order), batch_size):
        chosen = order[start:start + batch_size]
        features, lengths = _batch_features(front_end, [utterances.waves[i] for i in chosen])
        targets, target_lengths = _targets([utterances.texts[i] for i in chosen])
        log_probs = model(cr.tensor(spec_augment(features)), lengths)                     # 1. forward
        loss = loss_fn(log_probs, targets, model.output_lengths(lengths), target_lengths)  # 2. loss
        loss.backward()                                                                    # 3. backward
        clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()                                                                   # 4. update
        optimizer.zero_grad()                                                              # 5. clear
        losses.append(loss.item())
    return float(np.mean(losses))


def add_arguments(parser):
    """``chainrule train speech-to-text`` options."""
    parser.add_argument("--epochs", type=int, default=20, help="epochs, each on fresh utterances (default 20)")
    parser.add_argument("--utterances", type=int, default=1500,
                        help="training utterances assembled per epoch (default 1500)")
    parser.add_argument("--test-utterances", type=int, default=300, help="held-out utterances (default 300)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's initial learning rate (default 2e-3)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--takes", type=int, default=None,
                        help="use only takes 0..N-1 of every speaker and digit (a quick slice; default all)")


def train(out="runs/speech-to-text", data=None, seed=0, epochs=20, utterances=1500, test_utterances=300, lr=2e-3,
          batch_size=32, takes=None, log=print):
    """Train the CTC transcriber on assembled utterances and measure its CER on held-out ones.

    Args:
        out: the run folder (metrics.json, learning_curves.png, checkpoint.npz).
        data: a folder of ``<digit>_<speaker>_<take>.wav`` files or a packed ``fsdd.npz``.
        seed: seeds the utterances, the weights and the batches.
        epochs, utterances: epochs, and fresh training utterances assembled for each.
        test_utterances: held-out utterances, assembled from the test takes (0-4) only.
        lr, batch_size: Adam's initial step (cosine-annealed to 0) and the batch size.
        takes: keep only takes below this number (for a quick run on a slice).
        log: called with one line per epoch (loss, validation CER, seconds).
    """
    owner = "train speech-to-text"
    watch = Stopwatch()
    recordings = load_recordings(data, owner)
    if takes is not None:
        recordings = recordings.subset(recordings.takes < takes)
    test_mask = recordings.official_test
    if test_mask.all() or not test_mask.any():
        raise ChainruleError(f"{owner}: held-out utterances need takes 0-4 and training ones later takes; got "
                             f"takes {sorted(set(recordings.takes.tolist()))[:8]}...")
    cr.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rate = recordings.sample_rate
    pool, held_out = recordings.subset(~test_mask), recordings.subset(test_mask)
    # Validation utterances come from a tenth of the training recordings, kept out of training.
    val_mask = rng.random(len(pool)) < 0.1
    train_pool, val_pool = pool.subset(~val_mask), pool.subset(val_mask)
    test_set = assemble_utterances(held_out.clips, held_out.digits, test_utterances, rate,
                                   np.random.default_rng(seed + 1))
    val_set = assemble_utterances(val_pool.clips, val_pool.digits, max(20, test_utterances // 3), rate,
                                  np.random.default_rng(seed + 2))
    front_end = LogMelFrontEnd(rate).fit(
        assemble_utterances(train_pool.clips, train_pool.digits, 200, rate, rng).waves)

    model = DigitTranscriber(front_end.n_mels)
    optimizer = cr.optim.Adam(model.parameters(), lr=lr)
    schedule = cr.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    history = {"loss": [], "val_cer": []}
    best = (np.inf, None)
    for epoch in range(epochs):
        epoch_watch = Stopwatch()
        fresh = assemble_utterances(train_pool.clips, train_pool.digits, utterances, rate, rng)
        history["loss"].append(_train_epoch(model, optimizer, front_end, fresh, batch_size, rng, loss_fn))
        schedule.step()
        history["val_cer"].append(character_error_rate(transcribe(model, front_end, val_set.waves), val_set.texts))
        if history["val_cer"][-1] < best[0]:
            best = (history["val_cer"][-1], {k: v.numpy().copy() for k, v in model.state_dict().items()})
        log(format_epoch(epoch, epochs, {key: values[-1] for key, values in history.items()}, epoch_watch.seconds))
        if not np.isfinite(history["loss"][-1]):
            raise ChainruleError(f"{owner}: training diverged; expected a finite CTC loss, got "
                                 f"{history['loss'][-1]} at epoch {epoch + 1} (try a lower --lr).")
    model.load_state_dict(best[1])

    predicted = transcribe(model, front_end, test_set.waves)
    cer = character_error_rate(predicted, test_set.texts)
    exact = float(np.mean([p == t for p, t in zip(predicted, test_set.texts)]))
    baseline_texts = segment_and_classify(train_pool.clips, train_pool.digits, test_set.waves, rate)
    baseline = character_error_rate(baseline_texts, test_set.texts)
    folder = RunFolder(out)
    save_model(folder.checkpoint, "speech-to-text", {"model": model.state_dict(), "front_end": front_end.state()})
    files = {"learning_curves": str(folder.learning_curves(history)), "checkpoint": str(folder.checkpoint)}
    baseline_name = "cut at pauses, then logistic regression on MFCC means and stds per piece"
    payload = {
        "command": command_line("speech-to-text", data=data, seed=seed, epochs=epochs, utterances=utterances,
                                test_utterances=test_utterances, lr=lr, batch_size=batch_size, takes=takes),
        "seed": seed, "seconds": watch.seconds, "epochs": epochs, "history": history,
        "test_utterances": len(test_set), "test_digits": sum(len(t) for t in test_set.texts),
        "examples": [{"truth": t, "predicted": p, "baseline": b}
                     for t, p, b in list(zip(test_set.texts, predicted, baseline_texts))[:10]],
        "measures": [measure("character error rate (held-out utterances from test takes 0-4)", cer,
                             baseline=baseline, baseline_name=baseline_name, higher_is_better=False),
                     measure("utterances transcribed exactly", exact)]}
    files["metrics"] = str(folder.write_metrics("speech-to-text", payload))
    lines = [f"connected digits, CTC: character error rate {cer:.4f} on {len(test_set)} held-out utterances "
             f"(segment-then-classify baseline {baseline:.4f}); {exact:.1%} transcribed exactly",
             *[f"  {t} -> {p}" for t, p in list(zip(test_set.texts, predicted))[:5]]]
    return AppResult(metrics={"app": "speech-to-text", **payload}, lines=lines, files=files)


def add_predict_arguments(parser):
    """``chainrule predict speech-to-text clip.wav ...``."""
    parser.add_argument("inputs", nargs="+", help="WAV files (16-bit PCM at the training sample rate) of spoken digits")


def predict(inputs, run="runs/speech-to-text"):
    """The digit string heard in each WAV file, one line each."""
    state = load_model(run, "speech-to-text", "predict speech-to-text")
    front_end = LogMelFrontEnd.from_state(state["front_end"])
    model = DigitTranscriber(front_end.n_mels)
    model.load_state_dict(state["model"])
    waves = [read_clip(path, front_end.sample_rate, "predict speech-to-text") for path in inputs]
    return [f"{path}: {text or '(no digits heard)'}" for path, text in zip(inputs, transcribe(model, front_end, waves))]
