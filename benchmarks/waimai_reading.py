"""How high can a model score on waimai-10k? Test texts read by eye, and what they imply.

The sentiment target for waimai-10k is 0.92; the best runs read about 0.90 (docs/WAIMAI.md). This
script prints the sample of test texts behind that account, each with its verdict, and the
estimate the verdicts give. ``waimai_reading.json`` holds the verdicts: 100 texts drawn at random
from those the run sentiment-waimai-adversarial (split seed 0) gets wrong, and 100 from those it
gets right, each with one of

- ``contradicts``: the text says the opposite of its label ("等了两个半小时" marked positive);
- ``mixed``: praise and complaint together, or no sentiment at all, so either label is a fair read;
- ``clear``: a careful reader gives the text its label.

The file names rows of the cleaned corpus, not texts: the corpus's licence keeps its texts out of
the repository, so the script reads them from your copy.

    python benchmarks/waimai_reading.py --data waimai_10k.csv
    python benchmarks/waimai_reading.py --data waimai_10k.csv --run runs/sentiment-waimai-adversarial

With ``--run`` (the run folder of the command in docs/RESULTS.md) it also prints the model's
probability of "positive" for each text and checks that every text sits in the group it was drawn
from.
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np

VERDICTS = ("contradicts", "mixed", "clear")
READING = Path(__file__).with_name("waimai_reading.json")


def load_reading(path=READING):
    """The verdicts file as a dict; its ``wrong`` and ``right`` lists hold ``[row, verdict]`` pairs."""
    reading = json.loads(Path(path).read_text(encoding="utf-8"))
    for group in ("wrong", "right"):
        for row, verdict in reading[group]:
            if verdict not in VERDICTS:
                raise ValueError(f"waimai_reading: row {row} of {group!r} has verdict {verdict!r}; "
                                 f"expected one of {VERDICTS}.")
    return reading


def shares(pairs):
    """Each verdict's share of a group, e.g. ``{"contradicts": 0.37, "mixed": 0.38, "clear": 0.25}``."""
    verdicts = [verdict for _, verdict in pairs]
    return {verdict: verdicts.count(verdict) / len(verdicts) for verdict in VERDICTS}


def wilson_interval(share, count, z=1.96):
    """The 95% Wilson score interval of a share measured on ``count`` draws."""
    centre = (share + z * z / (2 * count)) / (1 + z * z / count)
    half = z * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return centre - half, centre + half


def estimate(reading):
    """What the verdicts imply for test accuracy, as fractions of the test texts.

    ``careful reader``: a model that reads every text right whose label is clear, and the mixed ones
    as often as this run does; it gains the run's clear errors and loses the texts the run gets
    right only by agreeing with a label the text contradicts. ``low`` and ``high`` bound it with the
    95% interval of the clear share of the errors. ``labels allow``: every text right except those
    whose label contradicts them, the ceiling even a perfect reader of mixed texts meets.
    """
    tests, errors = reading["test texts"], reading["errors in the run"]
    error_rate, wrong, right = errors / tests, shares(reading["wrong"]), shares(reading["right"])
    accuracy = 1 - error_rate
    contradicted_right = accuracy * right["contradicts"]
    low, high = wilson_interval(wrong["clear"], len(reading["wrong"]))
    mixed_wrong, mixed_right = error_rate * wrong["mixed"], accuracy * right["mixed"]
    return {"accuracy": accuracy, "wrong": wrong, "right": right,
            "mixed texts": mixed_wrong + mixed_right,
            "mixed texts the run gets right": mixed_right / (mixed_wrong + mixed_right),
            "careful reader": accuracy + error_rate * wrong["clear"] - contradicted_right,
            "low": accuracy + error_rate * low - contradicted_right,
            "high": accuracy + error_rate * high - contradicted_right,
            "labels allow": 1 - error_rate * wrong["contradicts"] - contradicted_right}


def report(reading):
    """The estimate in words, one line each."""
    numbers = estimate(reading)
    wrong = ", ".join(f"{verdict} {share:.0%}" for verdict, share in numbers["wrong"].items())
    right = ", ".join(f"{verdict} {share:.0%}" for verdict, share in numbers["right"].items())
    return [f"run {reading['run']} (split seed {reading['split seed']}): test accuracy {numbers['accuracy']:.4f}",
            f"texts it gets wrong ({len(reading['wrong'])} read): {wrong}",
            f"texts it gets right ({len(reading['right'])} read): {right}",
            f"mixed texts: {numbers['mixed texts']:.1%} of the test set, "
            f"{numbers['mixed texts the run gets right']:.0%} of them right",
            f"a careful reader (every clear text right, mixed ones as often as the run): "
            f"{numbers['careful reader']:.3f} ({numbers['low']:.3f}-{numbers['high']:.3f})",
            f"what the labels allow at all (every text right but those they contradict): "
            f"{numbers['labels allow']:.3f}"]


def _read_texts(data, reading, run):
    """Print every text of the sample with its label and verdict (and the run's probability)."""
    from chainrule.apps._sentiment_data import load_corpus
    from chainrule.apps._sentiment_fit import load, probabilities
    from chainrule.apps.sentiment import held_out_split

    corpus = load_corpus(data)
    _, test_rows = held_out_split(corpus, reading["split seed"])
    test_rows = set(test_rows.tolist())
    fitted = None if run is None else load(Path(run) / "checkpoint.npz", Path(run) / "sentiment.json")
    for group in ("wrong", "right"):
        print(f"\n== texts the run gets {group}")
        rows = [row for row, _ in reading[group]]
        if not test_rows.issuperset(rows):
            raise SystemExit(f"waimai_reading: rows {sorted(set(rows) - test_rows)} are not test rows of "
                             f"split seed {reading['split seed']}; is {data} the waimai-10k file?")
        texts = [corpus.texts[row] for row in rows]
        positive = None if fitted is None else probabilities(fitted, texts)[:, 1]
        for k, (row, verdict) in enumerate(reading[group]):
            label = int(corpus.labels[row])
            shown = "" if positive is None else f" p={positive[k]:.2f}"
            if positive is not None and ((positive[k] > 0.5) == label) != (group == "right"):
                raise SystemExit(f"waimai_reading: the run gets row {row} {'wrong' if group == 'right' else 'right'}; "
                                 f"is {run} the run of split seed {reading['split seed']}?")
            print(f"{row:6d} label {label}{shown} {verdict:11s} {texts[k]}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="waimai_10k.csv; without it only the estimate is printed")
    parser.add_argument("--run", type=Path, help="the run folder of sentiment-waimai-adversarial")
    args = parser.parse_args(argv)
    reading = load_reading()
    if args.data is not None:
        _read_texts(args.data, reading, args.run)
        print()
    print("\n".join(report(reading)))


if __name__ == "__main__":
    main()
