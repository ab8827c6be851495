"""Train every application at full size and write their headline numbers to docs/RESULTS.md.

Each run is the ``chainrule train`` command a user would type; its run folder's metrics.json holds
the measures (value, target, baseline on the same split, met or not). This script only runs the
commands and renders the table, so every number in docs/RESULTS.md is reproducible by its command.

    python benchmarks/apps.py                      # train everything (hours on 2 cores), then render
    python benchmarks/apps.py --only mnist speech  # train some, render all that have a run folder
    python benchmarks/apps.py --render-only        # render from the run folders already there

Data comes from --data-root (default $CHAINRULE_DATA, else ../shared/data beside the repository),
with the layout of the project's shared data sets; the applications themselves read any path.
The runs need the extras apps, game (gymnasium) and zh (jieba, for the Chinese word n-grams):
``pip install -e '.[apps,game,zh]'``.
"""

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "RESULTS.md"


@dataclass(frozen=True)
class Run:
    """One full-size run: a run-folder name, the application, and its arguments ({data} = data root)."""
    name: str
    app: str
    args: tuple = ()

    def command(self, data_root, runs_root):
        args = [a.replace("{data}", str(data_root)) for a in self.args]
        return ["chainrule", "train", self.app, *args, "--out", str(Path(runs_root) / self.name)]


RUNS = (
    Run("xor", "xor"),
    Run("article-net", "article-net"),
    Run("digits-cnn", "digits", ("--model", "cnn")),
    Run("digits-mlp", "digits", ("--model", "mlp")),
    Run("mnist", "mnist", ("--data", "{data}/mnist/mnist.npz")),
    Run("mnist-seed1", "mnist", ("--data", "{data}/mnist/mnist.npz", "--seed", "1")),
    Run("mnist-seed2", "mnist", ("--data", "{data}/mnist/mnist.npz", "--seed", "2")),
    Run("fashion-mnist", "fashion-mnist", ("--data", "{data}/fashion-mnist")),
    Run("sentiment-waimai", "sentiment", ("--data", "{data}/waimai-10k/waimai_10k.csv", "--model", "ensemble")),
    *(Run(f"sentiment-waimai-seed{seed}", "sentiment",
          ("--data", "{data}/waimai-10k/waimai_10k.csv", "--model", "ensemble", "--seed", str(seed)))
      for seed in (1, 2, 3, 4)),  # four more held-out splits: how much one split's 20% moves the number
    # the same splits, also trained on the online-shopping reviews (each text marked with its corpus)
    *(Run("sentiment-waimai-extra" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/waimai-10k/waimai_10k.csv", "--model", "ensemble", "--seed", str(seed),
           "--extra-data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip"))
      for seed in (0, 1, 2, 3, 4)),
    # the waimai splits again, the TextCNN and GRU also trained on embeddings nudged against them
    *(Run("sentiment-waimai-adversarial" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/waimai-10k/waimai_10k.csv", "--model", "ensemble", "--seed", str(seed),
           "--adversarial", "2.5"))
      for seed in (0, 1, 2, 3, 4)),
    # both: the online-shopping reviews as extra training data, and the nudged embeddings (two splits,
    # ~1 h each on a shared core)
    *(Run("sentiment-waimai-extra-adversarial" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/waimai-10k/waimai_10k.csv", "--model", "ensemble", "--seed", str(seed),
           "--extra-data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--adversarial", "2.5"))
      for seed in (0, 1)),
    Run("sentiment-shopping", "sentiment",
        ("--data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--model", "ensemble",
         "--words", "3", "--buckets", "1048576", "--patience", "3")),
    *(Run(f"sentiment-shopping-seed{seed}", "sentiment",
          ("--data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--model", "ensemble",
           "--words", "3", "--buckets", "1048576", "--patience", "3", "--seed", str(seed)))
      for seed in (1, 2, 3, 4)),  # four more held-out splits, as for waimai
    # the same, also trained on the waimai reviews (each text marked with its corpus)
    *(Run("sentiment-shopping-extra" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--model", "ensemble",
           "--words", "3", "--buckets", "1048576", "--patience", "3", "--seed", str(seed),
           "--extra-data", "{data}/waimai-10k/waimai_10k.csv"))
      for seed in (0, 1, 2, 3, 4)),
    # the same models also reading each review's product category (the table's cat column)
    *(Run("sentiment-shopping-topics" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--model", "ensemble",
           "--words", "3", "--buckets", "1048576", "--patience", "3", "--topics", "--seed", str(seed)))
      for seed in (0, 1, 2, 3, 4)),
    # the same models without topics, the TextCNN and GRU also trained on embeddings nudged against them
    *(Run("sentiment-shopping-adversarial" + (f"-seed{seed}" if seed else ""), "sentiment",
          ("--data", "{data}/online-shopping-10-cats/online_shopping_10_cats.zip", "--model", "ensemble",
           "--words", "3", "--buckets", "1048576", "--patience", "3", "--seed", str(seed), "--adversarial", "2.5"))
      for seed in (0, 1, 2, 3, 4)),
    Run("sentiment-uci", "sentiment",
        ("--data", "{data}/uci-sentiment-labelled", "--model", "nb", "--lr", "5e-3", "--epochs", "30",
         "--patience", "3")),
    Run("speech", "speech", ("--data", "{data}/fsdd/fsdd.npz")),
    Run("speech-to-text", "speech-to-text", ("--data", "{data}/fsdd/fsdd.npz")),
    Run("cartpole", "cartpole"),
    Run("cartpole-gymnasium", "cartpole", ("--env", "gymnasium")),
    Run("tictactoe", "tictactoe"),
)


def _default_data_root():
    return Path(os.environ.get("CHAINRULE_DATA") or REPO.parent / "shared" / "data")


def train(runs, data_root, runs_root):
    """Run each command in a fresh interpreter; returns {name: (exit status, wall seconds)}."""
    outcome = {}
    for run in runs:
        command = run.command(data_root, runs_root)
        print("$", " ".join(command), flush=True)
        start = time.perf_counter()
        status = subprocess.run([sys.executable, "-m", "chainrule", *command[1:]], cwd=REPO).returncode
        outcome[run.name] = (status, time.perf_counter() - start)
        print(f"-> exit {status} after {outcome[run.name][1]:.0f} s", flush=True)
    return outcome


def _number(value):
    if value is None:
        return ""
    return f"{value:.4f}" if abs(value) < 10 else f"{value:,.1f}"


def _portable(command, data_root):
    """A run's command as a user would type it: the data root as $CHAINRULE_DATA, no --out."""
    words = shlex.split(command.replace(str(Path(data_root).resolve()), "$CHAINRULE_DATA"))
    if "--out" in words:
        at = words.index("--out")
        del words[at:at + 2]
    return " ".join(words)


def render(runs, runs_root, note=None, data_root=None):
    """docs/RESULTS.md: one row per measure of every run folder that has a metrics.json."""
    lines = ["# Applications: measured results", "",
             "Each row is one measure of one full-size run, beside the simple baseline measured on the same "
             "split. *met* means the target is reached and the baseline beaten. Regenerate with "
             "`python benchmarks/apps.py` (see its docstring); every run's own command is listed below the table.",
             "", f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
             f"{platform.system()}. Written {time.strftime('%Y-%m-%d')}." + (f" {note}" if note else ""), "",
             "| run | measure | value | target | baseline | met | seconds |",
             "|---|---|---|---|---|---|---|"]
    commands, notes = [], []
    for run in runs:
        path = Path(runs_root) / run.name / "metrics.json"
        if not path.exists():
            lines.append(f"| {run.name} | (not run) | | | | | |")
            continue
        metrics = json.loads(path.read_text(encoding="utf-8"))
        for row in metrics.get("measures", []):
            baseline = row.get("baseline") or {}
            baseline_text = f"{_number(baseline.get('value'))} ({baseline.get('name')})" if baseline else ""
            lines.append(f"| {run.name} | {row['name']} | {_number(row['value'])} | {_number(row.get('target'))} | "
                         f"{baseline_text} | {'yes' if row['met'] else 'NO'} | {metrics.get('seconds', 0):,.0f} |")
        if metrics.get("baseline_note"):
            notes.append(f"- {run.name}: {metrics['baseline_note']}.")
        commands.append(f"- {run.name}: `{_portable(metrics.get('command', ''), data_root or _default_data_root())}`")
    lines += ["", "## Commands", "", *commands, ""]
    if notes:
        lines += ["## Notes", "", *notes, ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    return RESULTS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="+", metavar="RUN", choices=[r.name for r in RUNS],
                        help="train only these runs")
    parser.add_argument("--render-only", action="store_true", help="train nothing; render the existing folders")
    parser.add_argument("--data-root", type=Path, default=_default_data_root())
    parser.add_argument("--runs-root", type=Path, default=REPO / "runs" / "full")
    parser.add_argument("--note", default=None, help="a sentence about the conditions, printed under the machine")
    args = parser.parse_args(argv)
    chosen = [r for r in RUNS if not args.only or r.name in args.only]
    if not args.render_only:
        train(chosen, args.data_root, args.runs_root)
    print(f"wrote {render(RUNS, args.runs_root, args.note, args.data_root)}")


if __name__ == "__main__":
    main()
