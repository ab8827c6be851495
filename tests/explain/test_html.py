"""html: a Trace as one self-contained page with the graph in SVG and the trace as JSON (no browser)."""

import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.explain import trace
from chainrule.explain.examples import explain_example
from chainrule.explain.html import LABELS, _norm, format_html
from chainrule.explain.trace import Value

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


class _Page(HTMLParser):
    """The tags of a page, with their attributes and the text of every script."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.scripts, self._script = [], {}, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._script = attrs.get("id", "inline")
            self.scripts[self._script] = ""

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self.scripts[self._script] += data

    def all(self, tag, cls=None):
        return [a for t, a in self.tags if t == tag and (cls is None or cls in a.get("class", "").split())]

    def data(self):
        return json.loads(self.scripts["trace-data"])


def test_the_page_is_one_document_that_needs_nothing_from_outside(xor_trace):
    text = format_html(xor_trace)
    assert text.startswith("<!DOCTYPE html>") and text.count("<!DOCTYPE") == 1
    assert text.count("<html") == 1 and text.count("</html>") == 1
    assert not re.search(r"https?://", text)
    page = _Page(text)
    assert [a for _, a in page.tags if "src" in a or "href" in a] == []
    assert page.all("link") == [] and "@import" not in text
    assert set(re.findall(r"url\(([^)]*)\)", text)) == {"#arrow-0"}
    assert len(page.all("svg")) == 1 and len(page.all("script")) == 2
    for button in ("prev", "next", "phase-forward", "phase-backward", "phase-update", "step-counter"):
        assert len([a for _, a in page.tags if a.get("id") == button]) == 1


def test_one_node_per_value_of_the_forward_pass_and_one_edge_per_operand(xor_trace):
    page = _Page(format_html(xor_trace))
    nodes = page.all("g", "node")
    values = {o.name for step in xor_trace.forward for o in step.inputs} | {s.output for s in xor_trace.forward}
    assert sorted(n["data-name"] for n in nodes) == sorted(values)
    steps = {n["data-name"]: int(n["data-step"]) for n in nodes if "data-step" in n}
    assert steps == {step.output: step.index for step in xor_trace.forward}
    edges = [(e["data-from"], e["data-to"], int(e["data-step"])) for e in page.all("path", "edge")]
    assert edges == [(o.name, s.output, s.index) for s in xor_trace.forward for o in s.inputs]


def test_embedded_json_holds_the_trace_and_one_frame_per_step(xor_trace):
    data = _Page(format_html(xor_trace)).data()
    assert len(data["pages"]) == 1
    page = data["pages"][0]
    embedded = page["trace"]
    assert set(embedded["gradients"]) == set(xor_trace.gradients)
    for name, grad in xor_trace.gradients.items():
        np.testing.assert_allclose(embedded["gradients"][name]["values"], grad, rtol=1e-12)
    assert embedded["loss"]["value"] == pytest.approx(xor_trace.loss.value)
    phases = [frame["phase"] for frame in page["frames"]]
    assert phases == ["forward"] * 9 + ["backward"] * 9 + ["update"] * 4
    assert [f["current"] for f in page["frames"][9:]] == [[b.output] for b in xor_trace.backward] + \
        [["W1"], ["b1"], ["W2"], ["b2"]]
    assert f"loss = {xor_trace.loss.value:.4g}" in page["frames"][8]["detail"]
    assert "d sigmoid(z)/dz = s(1 - s)" in page["frames"][12]["detail"]
    assert "b1: (2,) was broadcast to (4, 2)" in page["frames"][16]["detail"]


def test_chinese_page_has_chinese_labels_and_english_page_none(xor_trace):
    zh, en = format_html(xor_trace, lang="zh"), format_html(xor_trace, lang="en")
    for key in ("prev", "next", "forward", "backward", "update", "legend"):
        assert LABELS[key]["zh"] in zh and LABELS[key]["en"] in en
    assert '<html lang="zh-CN">' in zh
    assert "反向经过第 9 步" in zh and "梯度下降" in zh
    assert not CJK.search(en)
    assert _Page(zh).data()["lang"] == "zh"


def test_node_colours_deepen_with_the_gradient_they_receive(xor_trace):
    text = format_html(xor_trace)
    nodes = _Page(text).all("g", "node")
    fills = dict(re.findall(r'data-name="([^"]+)"[^>]*><title>[^<]*</title><rect [^>]*fill="(#[0-9a-f]{6})"', text))
    norms = {n["data-name"]: float(n["data-grad-norm"]) for n in nodes if "data-grad-norm" in n}
    assert len(norms) == 13  # v1..v8, loss and the four parameters; x, y and the constant 2 receive none
    assert {n["data-name"] for n in nodes if "no-grad" in n["class"]} == {"x", "y", "2"}
    assert norms["loss"] == 1.0
    for name, grad in xor_trace.gradients.items():
        assert norms[name] == pytest.approx(np.linalg.norm(grad))
    assert norms["v7"] == pytest.approx(np.linalg.norm(xor_trace.backward_step(7).grad_output.array))
    by_norm = sorted(norms, key=norms.get)
    greens = [int(fills[name][3:5], 16) for name in by_norm]  # white to red: green falls as the norm grows
    assert greens == sorted(greens, reverse=True) and greens[0] > greens[-1]
    assert fills[by_norm[-1]] == "#d62728" and fills["x"] == "#e6e6e6"


def test_summarized_gradients_keep_their_exact_norm():
    array = np.random.default_rng(0).normal(size=(7, 9))
    assert Value.of(array).array is None
    assert _norm(Value.of(array)) == pytest.approx(np.linalg.norm(array), rel=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log")
def test_names_and_nan_cannot_break_the_page():
    w = cr.tensor([-1.0], requires_grad=True)
    record = trace(lambda x: (w * x).log().sum(), cr.tensor([3.0]), params={"</script><b>": w}, lr=0.1)
    text = format_html(record)
    assert text.count("</script>") == 2 and "<b>" not in text
    data = _Page(text).data()
    assert np.isnan(record.loss.value) and data["pages"][0]["trace"]["loss"]["value"] == "nan"


def test_several_training_steps_make_one_page_with_a_selector():
    text = explain_example("xor", steps=2, fmt="html")
    assert text.count("<html") == 1
    page = _Page(text)
    assert len(page.all("svg")) == 2 and len(page.all("option")) == 2
    assert ["hidden" in a for a in page.all("div", "page")] == [False, True]
    pages = page.data()["pages"]
    assert [p["title"] for p in pages] == ["Training step 1 of 2", "Training step 2 of 2"]
    assert pages[1]["trace"]["loss"]["value"] < pages[0]["trace"]["loss"]["value"]


def test_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "xor.html"
    assert main(["explain", "xor", "--format", "html", "--lang", "zh", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "下一步" in text
    assert capsys.readouterr().out.strip() == f"wrote {out}"


def test_without_lr_the_update_phase_says_nothing_changed():
    w = cr.tensor([2.0], requires_grad=True)
    frames = _Page(format_html(trace(lambda x: (w * x).sum(), cr.tensor([3.0]), params={"w": w}))).data()
    last = frames["pages"][0]["frames"][-1]
    assert last["phase"] == "update" and last["current"] == []
    assert "No learning rate or optimizer was given" in last["detail"]
