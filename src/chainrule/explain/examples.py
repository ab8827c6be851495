"""The article's two networks, explained step by step: what ``chainrule explain`` prints.

``xor`` is the 2-2-1 sigmoid network on the XOR truth table, written with tensor ops as in the
article; ``article-net`` is the 3-3-3-1 sigmoid network of its figure, built from nn layers, on a
small three-input majority-vote problem. Both train with MSE and plain gradient descent.
"""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.apps.xor import XOR_INPUTS, XOR_TARGETS
from chainrule.explain.html import LABELS as HTML_LABELS
from chainrule.explain.html import format_html
from chainrule.explain.terminal import format_terminal
from chainrule.explain.text import format_markdown, format_text
from chainrule.explain.trace import trace

__all__ = ["EXAMPLES", "explain_example", "gradcheck_example"]

EXAMPLES = ("xor", "article-net")
FORMATS = {"text": format_text, "md": format_markdown, "html": format_html, "table": format_terminal}

# Four rows of three bits; the target is 1 when most bits are 1.
ARTICLE_INPUTS = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 0], [1, 1, 1]], dtype=np.float32)
ARTICLE_TARGETS = np.array([[0], [1], [0], [1]], dtype=np.float32)


class _XorNetwork:
    """The article's 2-2-1 network written with tensor ops, with the two things a model needs for
    gradcheck_model: ``named_parameters()`` and a call."""

    def __init__(self, seed):
        cr.manual_seed(seed)
        self.params = {"W1": cr.rand(2, 2) * 2 - 1, "b1": cr.zeros(2), "W2": cr.rand(2, 1) * 2 - 1,
                       "b2": cr.zeros(1)}
        for p in self.params.values():
            p.requires_grad_()

    def named_parameters(self):
        return list(self.params.items())

    def __call__(self, x):
        p = self.params
        hidden = (x @ p["W1"] + p["b1"]).sigmoid()
        return (hidden @ p["W2"] + p["b2"]).sigmoid()


def _xor_step(seed):
    network = _XorNetwork(seed)

    def loss(x, y):
        return ((network(x) - y) ** 2).mean()
    return loss, network.params, cr.tensor(XOR_INPUTS), cr.tensor(XOR_TARGETS), 2.0


def _article_step(seed):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    return model, None, cr.tensor(ARTICLE_INPUTS), cr.tensor(ARTICLE_TARGETS), 0.5


def explain_example(name, steps=1, fmt="text", lang="en", seed=0):
    """The text of ``steps`` traced training steps of the named example network.

    Text and Markdown put the steps one after another under "Training step k of n" headings; HTML
    makes one page holding every step, with a training-step selector (see ``format_html``).

    Args:
        name: "xor" or "article-net".
        steps: how many consecutive gradient-descent steps to trace (each one's update is applied).
        fmt: "text", "md" (Markdown with LaTeX formulas) or "html" (one self-contained page).
        lang: "en" or "zh".
        seed: seeds the initial weights.
    """
    if name not in EXAMPLES:
        raise cr.ChainruleError(f"explain: unknown example; expected one of {EXAMPLES}, got {name!r}.")
    if fmt not in FORMATS:
        raise cr.ChainruleError(f"explain: unknown format; expected one of {tuple(FORMATS)}, got {fmt!r}.")
    if lang not in ("en", "zh"):
        raise cr.ChainruleError(f"explain: unknown language; expected 'en' or 'zh', got {lang!r}.")
    if steps < 1:
        raise cr.ChainruleError(f"explain: steps must be positive; expected >= 1, got {steps}.")
    model, params, x, y, lr = _xor_step(seed) if name == "xor" else _article_step(seed)
    loss_fn = None if params is not None else nn.functional.mse_loss
    records = [trace(model, x, y, loss_fn=loss_fn, lr=lr, params=params, lang=lang) for _ in range(steps)]
    if fmt == "html":
        return format_html(records, lang=lang)
    sections = []
    for k, record in enumerate(records, start=1):
        body = FORMATS[fmt](record, lang=lang)
        if steps > 1:
            title = HTML_LABELS["training_step"][lang].format(k=k, n=steps)
            body = (f"# {title}\n\n" if fmt == "md" else f"{title}\n\n") + body
        sections.append(body)
    return "\n\n".join(sections)


def _mse(output, target):
    return ((output - target) ** 2).mean()


def gradcheck_example(name, seed=0):
    """The per-parameter gradient-check report of the named example network, as text: backprop's
    gradient of every parameter against central finite differences, in float64."""
    from chainrule.autograd import gradcheck_model
    if name == "xor":
        model, x, y = _XorNetwork(seed), cr.tensor(XOR_INPUTS), cr.tensor(XOR_TARGETS)
    elif name == "article-net":
        model, _, x, y, _ = _article_step(seed)
    else:
        raise cr.ChainruleError(f"explain: unknown example; expected one of {EXAMPLES}, got {name!r}.")
    return str(gradcheck_model(model, _mse, x, y, coordinates=8))

