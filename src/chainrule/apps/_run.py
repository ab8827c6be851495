"""The run folder every application writes, and the measurements it records.

``runs/<name>/metrics.json`` has one layout for every application, so one script can gather them
(``benchmarks/apps.py`` renders them into docs/RESULTS.md)::

    {"app": "mnist", "command": "chainrule train mnist --data ...", "seed": 0, "seconds": 1234.5,
     "measures": [{"name": "test accuracy", "value": 0.9931, "target": 0.992,
                   "baseline": {"name": "logistic regression on pixels", "value": 0.9256},
                   "higher_is_better": true, "met": true}, ...],
     ...anything else the application wants to keep (epochs, split sizes, confusion matrix)}

A measure is ``met`` when it reaches its target and beats its baseline: a neural model that does
not beat a simple baseline on the same split is not done.
"""

import json
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AppResult", "RunFolder", "measure", "command_line", "write_json", "read_metrics", "read_checkpoint",
           "Stopwatch"]


@dataclass
class AppResult:
    """What ``train`` measured (the metrics.json payload), lines to print, and the files it wrote.

    ``succeeded`` is False when training itself failed (XOR that never reached its threshold); the
    command then exits with 1. A run on a small slice that misses a target still succeeded.
    """
    metrics: dict
    lines: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    succeeded: bool = True

    def measure(self, name):
        """The measure called ``name``; KeyError names the ones there are."""
        for row in self.metrics.get("measures", []):
            if row["name"] == name:
                return row
        raise KeyError(f"no measure {name!r}; measures: {[row['name'] for row in self.metrics.get('measures', [])]}")


def measure(name, value, target=None, baseline=None, baseline_name=None, higher_is_better=True):
    """One measured number with its target and its baseline on the same split.

    Args:
        name: what was measured, e.g. ``"test accuracy (official split)"``.
        value: the measured number.
        target: the number the issue asks for, or None.
        baseline: the simple baseline's number on the same data, or None.
        baseline_name: what the baseline is, e.g. ``"logistic regression on pixels"``.
        higher_is_better: False for errors and losses (character error rate).
    """
    better = (lambda a, b: a >= b) if higher_is_better else (lambda a, b: a <= b)
    met = (target is None or better(value, target)) and (baseline is None or better(value, baseline))
    return {"name": name, "value": float(value), "target": None if target is None else float(target),
            "baseline": None if baseline is None else {"name": baseline_name, "value": float(baseline)},
            "higher_is_better": bool(higher_is_better), "met": bool(met)}


def command_line(app, **options):
    """The ``chainrule train`` command that reproduces a run, e.g. ``chainrule train mnist --seed 0``.

    Options whose value is None or False are left out; True becomes a bare flag; a list repeats the
    flag once per item.
    """
    words = ["chainrule", "train", app]
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, (list, tuple)):
            words += [part for item in value for part in (flag, str(item))]
        else:
            words += [flag] if value is True else [flag, str(value)]
    return shlex.join(words)


def write_json(path, payload):
    """Write JSON atomically: a temporary file in the same folder, then ``os.replace``."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def read_metrics(run):
    """The metrics.json of a run folder, as a dict."""
    return json.loads((Path(run) / "metrics.json").read_text(encoding="utf-8"))


class Stopwatch:
    """Seconds since it was made: ``watch = Stopwatch(); ...; watch.seconds``."""

    def __init__(self):
        self._start = time.perf_counter()

    @property
    def seconds(self):
        return time.perf_counter() - self._start


class RunFolder:
    """``runs/<name>/``: created on first use; every file in it is written atomically.

    >>> import tempfile
    >>> folder = RunFolder(tempfile.mkdtemp())
    >>> folder.write_metrics("xor", {"measures": [measure("steps", 812, target=20000, higher_is_better=False)]})
    ...                                                                                    # doctest: +ELLIPSIS
    PosixPath('.../metrics.json')
    >>> read_metrics(folder.path)["measures"][0]["met"]
    True
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def __truediv__(self, name):
        return self.path / name

    @property
    def checkpoint(self):
        """Where the application keeps its trained model: ``checkpoint.npz``."""
        return self.path / "checkpoint.npz"

    def write_metrics(self, app, payload):
        """Write metrics.json: ``{"app": app, **payload}``; returns its path."""
        return write_json(self.path / "metrics.json", {"app": app, **payload})

    def learning_curves(self, history, metrics=None, name="learning_curves.png", xlabel="epoch"):
        """Draw the per-epoch curves of a ``History`` (or a dict of lists) as a PNG; returns its path."""
        from chainrule import plot
        return plot.learning_curves(history, self.path / name, metrics=metrics, xlabel=xlabel)

    def confusion_matrix(self, matrix, class_names=None, name="confusion_matrix.png"):
        """Draw a (classes, classes) count matrix as a PNG; returns its path."""
        from chainrule import plot
        return plot.confusion_matrix(matrix, self.path / name, class_names=class_names)


def read_checkpoint(app, path, keys):
    """The dict an application saved at ``path``, checked to hold ``keys``.

    Raises:
        ChainruleError: there is no file (train first, or pass the run folder with --run), or it is
            not this application's checkpoint (a key is missing); the message names both.
    """
    from chainrule.errors import ChainruleError
    from chainrule.serialization import load

    path = Path(path)
    if not path.is_file():
        raise ChainruleError(f"{app}: no trained model at {path}; expected the checkpoint.npz of a "
                             f"`chainrule train {app}` run (pass its folder with --run).")
    state = load(path)
    if not isinstance(state, dict) or not set(keys) <= set(state):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise ChainruleError(f"{app}: {path} is not a {app} checkpoint; expected keys {', '.join(map(repr, keys))}, "
                             f"got {found}.")
    return state
