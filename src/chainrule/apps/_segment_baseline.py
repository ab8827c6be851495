"""The speech-to-text baseline: cut an utterance at its pauses, then classify each piece on its own.

This is how connected digits were read before sequence models: an energy detector finds the
stretches of speech, and an isolated-word classifier names each. Its errors are digits said with
no pause between them (they merge into one piece), digits that break in two at an inner silence
(the stop in "six" or "eight"), and the classifier's own mistakes. The detector's threshold and
shortest gap were chosen on utterances assembled from training recordings. The classifier is
logistic regression on MFCC means and standard deviations, fitted on the training recordings at
the levels and noise the utterances have.
"""

import numpy as np

from chainrule.apps._baselines import require_sklearn
from chainrule.apps._connected_digits import LEVEL, NOISE_STD
from chainrule.apps._speech_data import peak_normalise

__all__ = ["speech_segments", "segment_and_classify"]

FRAME_SECONDS = 0.016
MIN_GAP_SECONDS = 0.03
MIN_SPEECH_SECONDS = 0.08


def speech_segments(wave, sample_rate, threshold=0.1):
    """(start, stop) sample ranges of speech: frames louder than ``threshold`` of the way from the
    quiet floor to the loud peak (in dB), with gaps shorter than 0.03 s closed and pieces shorter
    than 0.08 s dropped.

    >>> rate = 1000
    >>> wave = np.concatenate([np.zeros(200), np.ones(300), np.zeros(300), np.ones(200), np.zeros(200)])
    >>> speech_segments(wave + 1e-3, rate)
    [(192, 512), (800, 1008)]
    """
    hop = max(1, int(FRAME_SECONDS * sample_rate))
    count = len(wave) // hop
    frames = np.asarray(wave[:count * hop], dtype=np.float64).reshape(count, hop)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-10)
    floor, peak = np.percentile(level, 10), np.percentile(level, 99)
    active = level > floor + threshold * (peak - floor)
    runs, start = [], None
    for index, on in enumerate(np.append(active, False)):
        if on and start is None:
            start = index
        elif not on and start is not None:
            runs.append([start, index])
            start = None
    merged = []
    for run in runs:
        if merged and (run[0] - merged[-1][1]) * hop < MIN_GAP_SECONDS * sample_rate:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    return [(a * hop, b * hop) for a, b in merged if (b - a) * hop >= MIN_SPEECH_SECONDS * sample_rate]


def segment_and_classify(train_clips, train_digits, waves, sample_rate, seed=0):
    """The digit string the baseline reads in each waveform.

    Args:
        train_clips, train_digits: isolated recordings to fit the classifier on.
        waves: the utterances to transcribe.
        sample_rate: in Hz.
        seed: seeds the levels and noise added to the training recordings.
    """
    require_sklearn("segment_and_classify")
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from chainrule.apps.speech import mfcc_statistics

    rng = np.random.default_rng(seed)
    noisy = [peak_normalise(clip) * rng.uniform(*LEVEL) + rng.normal(0, rng.uniform(*NOISE_STD), len(clip))
             for clip in train_clips]
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    classifier.fit(mfcc_statistics(noisy, sample_rate), np.asarray(train_digits))
    texts = []
    for wave in waves:
        pieces = [wave[a:b] for a, b in speech_segments(wave, sample_rate)]
        digits = classifier.predict(mfcc_statistics(pieces, sample_rate)) if pieces else []
        texts.append("".join(str(int(d)) for d in digits))
    return texts
