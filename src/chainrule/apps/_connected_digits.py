"""Connected-digit utterances made from isolated spoken digits, and how transcripts are scored.

No free corpus of real connected digits fits here, so utterances are assembled: a few recordings
of single digits, each at a random level, with random pauses before, between and after them (from
none to 0.3 s between digits, so some digits run into each other), and a little background noise
over the whole. Held-out utterances are assembled only from held-out
recordings, so no recording is heard in training and testing both.

Transcripts are digit strings; the character error rate (CER) is the edit distance between the
predicted and the true string over the true string's length, summed over a test set.
"""

from dataclasses import dataclass

import numpy as np

from chainrule.apps._speech_data import peak_normalise
from chainrule.errors import ShapeError

__all__ = ["Utterances", "assemble_utterances", "edit_distance", "character_error_rate", "greedy_decode",
           "BLANK"]

BLANK = 0
"""The CTC blank is class 0; digit d is class d + 1."""

PAUSE_SECONDS = (0.0, 0.3)
EDGE_SECONDS = (0.05, 0.25)
NOISE_STD = (0.002, 0.01)
LEVEL = (0.5, 1.0)


@dataclass
class Utterances:
    """Assembled utterances: ``waves`` (list of float32 arrays) and their ``texts`` (digit strings)."""
    waves: list
    texts: list

    def __len__(self):
        return len(self.waves)


def assemble_utterances(clips, digits, count, sample_rate, rng, min_digits=2, max_digits=5):
    """``count`` utterances of ``min_digits``..``max_digits`` random recordings from ``clips``.

    Each recording is peak-normalised and scaled by a level in [0.5, 1]; pauses of 0-0.3 s
    separate them and 0.05-0.25 s of silence lead in and out; white noise with a standard
    deviation of 0.002-0.01 (about 20-40 dB below the speech) covers the whole utterance.

    Args:
        clips: list of float32 waveforms of single digits.
        digits: the digit of each clip.
        count: how many utterances.
        sample_rate: in Hz.
        rng: a ``numpy.random.Generator``.
        min_digits, max_digits: the range of digits per utterance.

    Returns:
        Utterances.

    Example:
        >>> clips = [np.ones(100, np.float32), -np.ones(50, np.float32)]
        >>> made = assemble_utterances(clips, [4, 2], 3, 1000, np.random.default_rng(0))
        >>> len(made), all(set(text) <= {"4", "2"} and 2 <= len(text) <= 5 for text in made.texts)
        (3, True)
    """
    if not 1 <= min_digits <= max_digits:
        raise ShapeError(f"assemble_utterances: bad digit range; expected 1 <= min_digits <= max_digits, got "
                         f"{min_digits}..{max_digits}.")
    if len(clips) == 0 or len(clips) != len(digits):
        raise ShapeError(f"assemble_utterances: expected one digit per clip and at least one clip, got {len(clips)} "
                         f"clips and {len(digits)} digits.")
    normalised = [peak_normalise(np.asarray(clip, dtype=np.float32)) for clip in clips]
    waves, texts = [], []
    for _ in range(count):
        chosen = rng.integers(0, len(clips), size=rng.integers(min_digits, max_digits + 1))
        pauses = [rng.uniform(*EDGE_SECONDS)] + [rng.uniform(*PAUSE_SECONDS) for _ in chosen[1:]] + [
            rng.uniform(*EDGE_SECONDS)]
        parts = []
        for pause, index in zip(pauses, chosen):
            parts += [np.zeros(int(pause * sample_rate), np.float32), normalised[index] * rng.uniform(*LEVEL)]
        parts.append(np.zeros(int(pauses[-1] * sample_rate), np.float32))
        wave = np.concatenate(parts)
        wave = wave + rng.normal(0.0, rng.uniform(*NOISE_STD), size=len(wave))
        waves.append(wave.astype(np.float32))
        texts.append("".join(str(int(digits[index])) for index in chosen))
    return Utterances(waves, texts)


def edit_distance(predicted, truth):
    """Levenshtein distance: the fewest insertions, deletions and substitutions from one string to the other.

    >>> edit_distance("1234", "1334"), edit_distance("", "12"), edit_distance("123", "13")
    (1, 2, 1)
    """
    previous = list(range(len(truth) + 1))
    for i, a in enumerate(predicted, start=1):
        current = [i]
        for j, b in enumerate(truth, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def character_error_rate(predicted, truths):
    """Total edit distance over total length of the true strings (0 is perfect; may exceed 1).

    >>> character_error_rate(["12", "345"], ["12", "355"])
    0.2
    """
    if len(predicted) != len(truths) or not truths:
        raise ShapeError(f"character_error_rate: expected one prediction per transcript and at least one, got "
                         f"{len(predicted)} predictions for {len(truths)} transcripts.")
    errors = sum(edit_distance(p, t) for p, t in zip(predicted, truths))
    return errors / max(1, sum(len(t) for t in truths))


def greedy_decode(log_probs, lengths):
    """Best class per frame, repeats merged, blanks dropped: one digit string per batch item.

    Args:
        log_probs: array (T, N, classes), class 0 the blank and class d + 1 the digit d.
        lengths: (N,) frames that count per item.

    >>> lp = np.eye(11)[[0, 3, 3, 0, 3, 5, 5]][:, None, :]  # one-hot scores: argmax is what counts
    >>> greedy_decode(lp, [7])
    ['224']
    """
    best = np.asarray(log_probs).argmax(axis=-1)  # (T, N)
    texts = []
    for item, length in enumerate(np.asarray(lengths).reshape(-1)):
        path = best[:int(length), item]
        keep = (path != BLANK) & np.concatenate([[True], path[1:] != path[:-1]])
        texts.append("".join(str(int(c) - 1) for c in path[keep]))
    return texts
