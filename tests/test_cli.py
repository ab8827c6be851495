"""The command line: ``chainrule demo`` and ``python -m chainrule demo``."""

import subprocess
import sys

from chainrule.cli import main


def test_demo_prints_a_converged_truth_table(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "converged after" in out and "x1  x2 | target | output" in out
    rows = [line for line in out.splitlines() if line.strip().startswith(("0", "1"))]
    assert len(rows) == 4
    for row in rows:
        target, output = row.split("|")[1:]
        assert round(float(output)) == int(target)


def test_module_entry_point_runs_the_demo():
    result = subprocess.run([sys.executable, "-m", "chainrule", "demo", "--max-steps", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "did NOT converge after 3 steps" in result.stdout
