"""benchmarks/waimai_reading.py: the verdicts file names the test rows it claims to, and the estimate
docs/WAIMAI.md quotes is the arithmetic the docstrings describe."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from chainrule.apps._sentiment_data import load_corpus
from chainrule.apps.sentiment import held_out_split

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "waimai_reading.py"


@pytest.fixture(scope="module")
def reading_module():
    spec = importlib.util.spec_from_file_location("waimai_reading", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _reading(wrong, right, tests, errors):
    return {"run": "r", "split seed": 0, "test texts": tests, "errors in the run": errors,
            "wrong": [[row, verdict] for row, verdict in enumerate(wrong)],
            "right": [[100 + row, verdict] for row, verdict in enumerate(right)]}


def test_the_estimate_adds_the_clear_errors_and_drops_the_contradicted_labels(reading_module):
    reading = _reading(["clear", "contradicts", "mixed", "contradicts"], ["clear", "mixed"], tests=100, errors=20)
    numbers = reading_module.estimate(reading)
    assert numbers["accuracy"] == pytest.approx(0.8)
    assert numbers["careful reader"] == pytest.approx(0.8 + 0.2 * 0.25)
    assert numbers["labels allow"] == pytest.approx(1 - 0.2 * 0.5)
    assert numbers["mixed texts"] == pytest.approx(0.2 * 0.25 + 0.8 * 0.5)
    assert numbers["low"] < numbers["careful reader"] < numbers["high"]


def test_a_right_answer_that_agrees_with_a_contradicted_label_is_no_gain(reading_module):
    reading = _reading(["clear", "mixed"], ["clear", "contradicts", "clear", "clear"], tests=10, errors=2)
    numbers = reading_module.estimate(reading)
    assert numbers["careful reader"] == pytest.approx(0.8 + 0.2 * 0.5 - 0.8 * 0.25)
    assert numbers["labels allow"] == pytest.approx(1 - 0.8 * 0.25)


def test_wilson_interval_matches_the_textbook_value(reading_module):
    low, high = reading_module.wilson_interval(0.25, 100)
    assert (round(low, 4), round(high, 4)) == (0.1755, 0.3430)


def test_an_unknown_verdict_is_refused_by_name(reading_module, tmp_path):
    path = tmp_path / "reading.json"
    path.write_text('{"wrong": [[7, "sarcastic"]], "right": []}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 7 of 'wrong' has verdict 'sarcastic'"):
        reading_module.load_reading(path)


def test_the_verdicts_name_distinct_test_rows_of_their_split(reading_module, shared_data):
    reading = reading_module.load_reading()
    corpus = load_corpus(shared_data("waimai-10k") / "waimai_10k.csv")
    _, test_rows = held_out_split(corpus, reading["split seed"])
    rows = [row for group in ("wrong", "right") for row, _ in reading[group]]
    assert len(test_rows) == reading["test texts"]
    assert len(set(rows)) == len(rows) == 200
    assert set(rows) <= set(test_rows.tolist())


def test_the_script_prints_each_text_with_its_verdict_and_the_estimate(reading_module, shared_data, capsys):
    data = shared_data("waimai-10k") / "waimai_10k.csv"
    reading_module.main(["--data", str(data)])
    lines = capsys.readouterr().out.splitlines()
    corpus = load_corpus(data)
    row, verdict = reading_module.load_reading()["wrong"][0]
    assert f"{row:6d} label {int(corpus.labels[row])} {verdict:11s} {corpus.texts[row]}" in lines
    assert sum(line.startswith("a careful reader") for line in lines) == 1
    assert np.isclose(reading_module.estimate(reading_module.load_reading())["careful reader"], 0.921, atol=5e-4)
