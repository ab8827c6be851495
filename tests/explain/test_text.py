"""text: a Trace as plain text and Markdown, in English and Chinese, with the numbers."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import format_markdown, format_text, trace
from chainrule.explain.text import LABELS

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ENGLISH_PROSE = re.compile(r"\b(the|is|of|and|to|from|step|gradient|input|output|forward|backward|loss is|"
                           r"update|rule|parameter|formula|shape|before|after|summed|broadcast|sends)\b",
                           re.IGNORECASE)


@pytest.fixture(scope="module")
def wide_trace():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 30, dtype=cr.float64), nn.Sigmoid(), nn.Linear(30, 1, dtype=cr.float64))
    rng = np.random.default_rng(0)
    return trace(model, rng.normal(size=(4, 3)), rng.uniform(size=(4, 1)), lr=0.1)


@pytest.mark.parametrize("render", [format_text, format_markdown])
def test_english_has_no_chinese_and_chinese_has_no_english_prose(xor_trace, wide_trace, render):
    for t in (xor_trace, wide_trace):
        en, zh = render(t, "en"), render(t, "zh")
        assert not CJK.search(en)
        for line in zh.splitlines():
            if re.search(r"[A-Za-z]", line):
                assert CJK.search(line), f"a line without Chinese: {line!r}"
            assert not ENGLISH_PROSE.search(line.replace("mse_loss", "")), f"English in: {line!r}"


def test_text_shows_every_part_with_numbers(xor_trace):
    text = format_text(xor_trace)
    for heading in ("1. Forward pass", "2. Loss", "3. Backward pass", "4. Parameter update"):
        assert heading in text
    assert f"{xor_trace.loss.value:.4g}" in text
    assert "Step 9 · mean: loss = mean(v8)" in text
    assert "d sigmoid(z)/dz = s(1 - s)" in text
    assert "b1: (2,) was broadcast to (4, 2); its gradient is summed over dim 0" in text
    w2 = xor_trace.updates[2]
    assert w2.name == "W2"
    assert f"update W2: {np.array2string(w2.before, precision=4, separator=', ')}".replace("\n", "") in \
        " ".join(text.split())
    assert "w <- w - lr * g" in text


def test_chinese_text_has_the_same_numbers(xor_trace):
    en, zh = format_text(xor_trace, "en"), format_text(xor_trace, "zh")
    numbers = re.compile(r"-?\d+\.\d+")
    assert numbers.findall(en) == numbers.findall(zh)
    assert "前向传播" in zh and "反向传播" in zh and "参数更新" in zh
    assert "b1：形状 (2,) 被广播成 (4, 2)；它的梯度沿第 0 维求和" in zh


def test_markdown_uses_latex_formulas_and_headings(xor_trace):
    md = format_markdown(xor_trace)
    assert md.startswith("# One training step, traced")
    assert "## 3. Backward pass" in md
    assert r"$\frac{d\,\sigma(z)}{dz} = s\,(1 - s)$" in md
    assert r"$s = \frac{1}{1 + e^{-z}}$" in md
    assert "\n\n\n" not in md


def test_big_tensors_are_shown_as_shape_and_statistics(wide_trace):
    en, zh = format_text(wide_trace, "en"), format_text(wide_trace, "zh")
    assert "output v1: shape (4, 30), min " in en
    assert "形状 (4, 30)，最小值" in zh
    assert "update 0.weight: before shape (30, 3)" in en


def test_labels_exist_in_both_languages():
    for key, texts in LABELS.items():
        assert set(texts) == {"en", "zh"}, key
        assert not CJK.search(texts["en"]), key
        if re.search(r"[A-Za-z]{3}", re.sub(r"\{\w+\}", "", texts["en"])):
            assert CJK.search(texts["zh"]), key


def test_generic_rule_and_earlier_nodes_render_in_both_languages():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = w.exp()
    t = trace(lambda x: cr.nn.functional.elu(x * w).sum(), x, params={"w": w})  # elu has no written rule
    en, zh = format_text(t, "en"), format_text(t, "zh")
    assert "No rule is written out for elu" in en and "computed before the trace" in en
    assert "这里没有写出 elu 的规则" in zh and "在追踪开始之前计算" in zh
    assert not CJK.search(en)
    for line in zh.splitlines():
        assert not re.search(r"[A-Za-z]", line) or CJK.search(line), line
        assert not ENGLISH_PROSE.search(line), line
