"""html in a real browser: headless Chromium steps through the XOR trace with Previous/Next.

Needs the Chromium binary at /usr/bin/chromium (Debian package ``chromium``) and the Python
``playwright`` package; CI installs both, so a missing one fails here rather than skipping.
"""

import os
import re
import struct

import numpy as np
import pytest

from chainrule.explain.examples import explain_example
from chainrule.explain.html import format_html

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 800}
NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), (f"headless Chromium is missing at {CHROMIUM}; install the Debian package "
                                      "`chromium` (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the Python package `playwright` is missing; pip install playwright "
                    "(its own browsers are not needed: the tests use /usr/bin/chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, tmp_path, text, name="page.html"):
    """A page showing ``text`` from a file; collects script errors and any request for a non-file URL."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page = browser.new_page(viewport=VIEWPORT)
    page.errors, page.outside = [], []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else (page.outside.append(route.request.url), route.abort()))
    page.goto(path.as_uri())
    return page


def _state(page):
    return {"title": page.inner_text("#step-title"), "detail": page.inner_text("#step-detail"),
            "counter": page.inner_text("#step-counter"),
            "current": page.eval_on_selector_all(".page:not([hidden]) .node.current",
                                                 "nodes => nodes.map(n => n.dataset.name)"),
            "edges": page.eval_on_selector_all(".page:not([hidden]) .edge.current", "edges => edges.length"),
            "phase": page.get_attribute("button.phase[aria-pressed=true]", "data-phase")}


def _shows(detail, values, atol=1e-4):
    """Whether every number of ``values`` appears in ``detail`` (as printed, 4 significant digits)."""
    shown = [float(x) for x in NUMBER.findall(detail)]
    return all(any(abs(s - v) <= atol + 1e-3 * abs(v) for s in shown) for v in np.ravel(values))


def test_next_walks_forward_backward_and_update_with_the_numbers(browser, tmp_path, xor_trace):
    page = _open(browser, tmp_path, format_html(xor_trace))
    states = [_state(page)]
    assert page.is_disabled("#prev")
    while not page.is_disabled("#next"):
        page.click("#next")
        states.append(_state(page))
        assert states[-1]["title"] != states[-2]["title"] and states[-1]["detail"] != states[-2]["detail"]
    assert len(states) == 22 and states[-1]["counter"] == "22 / 22"
    assert [s["phase"] for s in states] == ["forward"] * 9 + ["backward"] * 9 + ["update"] * 4
    assert [s["current"] for s in states] == ([[f.output] for f in xor_trace.forward]
                                              + [[b.output] for b in xor_trace.backward]
                                              + [[u.name] for u in xor_trace.updates])
    assert [s["edges"] for s in states[:9]] == [len(f.inputs) for f in xor_trace.forward]

    forward, backward, update = states[:9], states[9:18], states[18:]
    assert forward[0]["title"] == "Forward · Step 1 · matmul: v1 = matmul(x, W1)"
    assert f"loss = {xor_trace.loss.value:.4g}" in forward[8]["detail"]
    assert _shows(forward[2]["detail"], xor_trace.forward_step(3).value.array)
    add_b2 = backward[4]  # the backward steps run 9, 8, ..., 1: the fifth is step 5, v4 + b2
    assert add_b2["title"] == "Backward · Backward through step 5 · add (output v5)"
    assert "broadcast" in add_b2["detail"] and _shows(add_b2["detail"], xor_trace.gradients["b2"])
    assert _shows(backward[-1]["detail"], xor_trace.gradients["W1"])
    w2 = update[2]
    assert w2["title"] == "Update · update W2" and "w - lr * g" in w2["detail"]
    after = xor_trace.updates[2].after
    assert _shows(w2["detail"], after) and _shows(w2["detail"], xor_trace.updates[2].before)
    assert not np.allclose(after, xor_trace.updates[2].before)

    page.click("#prev")
    assert _state(page) == states[-2]
    assert page.errors == [] and page.outside == []
    page.close()


def test_phase_buttons_and_arrow_keys_jump_and_the_screenshot_is_a_png(browser, tmp_path, xor_trace):
    page = _open(browser, tmp_path, format_html(xor_trace))
    page.click("#phase-update")
    assert _state(page)["title"] == "Update · update W1" and _state(page)["current"] == ["W1"]
    page.click("#phase-backward")
    state = _state(page)
    assert state["current"] == ["loss"] and state["counter"] == "10 / 22"
    assert "The backward pass starts from dL/dL = 1" in state["detail"]
    page.keyboard.press("ArrowRight")
    assert _state(page)["current"] == ["v8"] and _state(page)["phase"] == "backward"
    page.keyboard.press("ArrowLeft")
    assert _state(page)["current"] == ["loss"]

    shot = tmp_path / "backward.png"
    page.screenshot(path=str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (VIEWPORT["width"], VIEWPORT["height"])
    from PIL import Image
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"))
    red = (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)
    assert red.sum() > 500, "the gradient colours did not render: no strongly red node in the screenshot"
    assert page.errors == [] and page.outside == []
    page.close()


def test_chinese_page_and_several_training_steps(browser, tmp_path):
    page = _open(browser, tmp_path, explain_example("xor", steps=2, fmt="html", lang="zh"))
    assert page.inner_text("#next") == "下一步" and page.inner_text("#phase-backward") == "反向传播"
    assert page.input_value("#training-step") == "0"
    assert page.inner_text("#step-title").startswith("前向传播 · 第 1 步")
    first_loss = page.eval_on_selector(".page:not([hidden]) .node[data-name=loss]", "n => n.dataset.gradNorm")
    assert first_loss == "1.0"
    for _ in range(22):  # one training step has 22 frames: Next runs on into the second
        page.click("#next")
    assert page.input_value("#training-step") == "1" and _state(page)["counter"] == "1 / 22"
    assert page.eval_on_selector_all(".page", "pages => pages.map(p => p.hidden)") == [True, False]
    page.select_option("#training-step", "0")
    assert _state(page)["counter"] == "1 / 22" and page.is_disabled("#prev")
    assert page.errors == [] and page.outside == []
    page.close()
