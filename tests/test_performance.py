"""chainrule.performance: process-wide speed settings are explicit opt-ins."""

import subprocess
import sys
import textwrap

import pytest

import chainrule.performance as performance


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt exists on Linux only")
def test_keep_large_allocations_applies_on_glibc_in_a_fresh_process():
    # A subprocess, so the test run itself keeps glibc's default thresholds.
    script = textwrap.dedent("""
        import platform, numpy as np
        import chainrule.performance as performance
        applied = performance.keep_large_allocations()
        a = np.ones(10_000_000, np.float32); del a  # allocating afterwards still works
        print(applied, platform.libc_ver()[0])
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    applied, libc = out.stdout.split()
    assert applied == ("True" if libc == "glibc" else "False")


def test_importing_chainrule_leaves_the_process_settings_alone():
    script = "import sys, chainrule; print('chainrule.performance' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_keep_large_allocations_is_a_no_op_off_linux(monkeypatch):
    monkeypatch.setattr(performance.sys, "platform", "darwin")
    assert performance.keep_large_allocations() is False
