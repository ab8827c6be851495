"""The terminal rendering: three rich tables holding the trace's own numbers, in both languages."""

import builtins

import numpy as np
import pytest

from chainrule.errors import ChainruleError
from chainrule.explain.terminal import format_terminal


def test_tables_hold_the_forward_backward_and_update_numbers(xor_trace, capsys):
    text = format_terminal(xor_trace)
    assert capsys.readouterr().out == ""  # rendered into a string, not printed
    assert "1. Forward pass" in text and "4. Parameter update" in text
    assert f"loss = {xor_trace.loss.value:.4g}" in text
    b2_grad = np.asarray(xor_trace.gradients["b2"]).item()
    assert f"db2 = [{b2_grad:.4f}]" in text
    assert "d sigmoid(z)/dz = s(1 - s)" in text


def test_chinese_tables_have_chinese_headers(xor_trace):
    text = format_terminal(xor_trace, lang="zh")
    assert "局部导数" in text and "更新后" in text and "local derivative" not in text


def test_missing_rich_names_the_extra(xor_trace, monkeypatch):
    real_import = builtins.__import__

    def no_rich(name, *args, **kwargs):
        if name.startswith("rich"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_rich)
    with pytest.raises(ChainruleError, match=r"pip install chainrule\[progress\]"):
        format_terminal(xor_trace)
