"""rules: every op of the example networks has a specific rule, and every text exists in both languages."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import registry
from chainrule.explain import rule_for, trace
from chainrule.explain.rules import LANGUAGES, RULES, SENTENCES, check_lang, sentence
from chainrule.nn.loss import CrossEntropyLoss

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

PROSE = re.compile(r"(?<![.\w])(the|of|if|else|for|with|over|where|to|at|and|along|summed|shape of)\b")

REQUIRED = ["add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu",
            "matmul", "linear", "sum", "mean", "mse_loss", "cross_entropy", "softmax", "log_softmax", "reshape",
            "permute", "getitem"]


def example_traces():
    """The example networks: the article's 3-3-3-1 sigmoid MLP, the XOR 2-2-1 network by hand, a classifier."""
    rng = np.random.default_rng(0)
    cr.manual_seed(0)
    article = nn.Sequential(nn.Linear(3, 3, dtype=cr.float64), nn.Sigmoid(), nn.Linear(3, 3, dtype=cr.float64),
                            nn.Sigmoid(), nn.Linear(3, 1, dtype=cr.float64), nn.Sigmoid())
    yield trace(article, rng.normal(size=(4, 3)), rng.uniform(size=(4, 1)), lr=0.5)

    params = {"W1": cr.tensor(rng.uniform(-1, 1, (2, 2)), requires_grad=True),
              "b1": cr.tensor(np.zeros(2), requires_grad=True),
              "W2": cr.tensor(rng.uniform(-1, 1, (2, 1)), requires_grad=True),
              "b2": cr.tensor(np.zeros(1), requires_grad=True)}

    def xor_loss(x, y):
        hidden = (x @ params["W1"] + params["b1"]).sigmoid()
        return (((hidden @ params["W2"] + params["b2"]).sigmoid() - y) ** 2).mean()
    yield trace(xor_loss, np.array([[0.0, 0], [0, 1], [1, 0], [1, 1]]), np.array([[0.0], [1], [1], [0]]),
                params=params, lr=2.0)

    classifier = nn.Sequential(nn.Linear(4, 5, dtype=cr.float64), nn.ReLU(), nn.Linear(5, 3, dtype=cr.float64))
    yield trace(classifier, rng.normal(size=(6, 4)), np.array([0, 2, 1, 1, 0, 2]), loss_fn=CrossEntropyLoss(),
                lr=0.1)


def test_every_op_of_the_example_networks_has_a_specific_rule():
    ops = {step.op for t in example_traces() for step in t.forward}
    assert {"linear", "sigmoid", "mse_loss", "matmul", "add", "sub", "pow", "mean", "relu", "cross_entropy"} <= ops
    for op in ops:
        assert rule_for(op).specific, f"no rule written for {op!r}"


@pytest.mark.parametrize("op", REQUIRED)
def test_required_ops_have_rules(op):
    assert op in RULES and rule_for(op) is RULES[op]


def test_rules_name_registered_ops():
    assert set(RULES) <= set(registry), sorted(set(RULES) - set(registry))


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_rule_is_written_in_both_languages(op):
    rule = RULES[op]
    assert set(rule.words) == set(LANGUAGES)
    assert rule.words["en"] and not CJK.search(rule.words["en"])
    assert CJK.search(rule.words["zh"])
    for text in (rule.forward, rule.formula, rule.forward_latex, rule.latex):
        assert text and not CJK.search(text)
        assert not PROSE.search(text), f"{op}: a formula must be math in either language, got {text!r}"


def test_sentences_are_written_in_both_languages():
    fields = {"name": "b", "shape": (1, 3), "grad_shape": (4, 3), "dims": (0,), "count": 2, "optimizer": "SGD"}
    for key, texts in SENTENCES.items():
        assert set(texts) == set(LANGUAGES)
        assert not CJK.search(sentence(key, "en", **fields))
        assert CJK.search(sentence(key, "zh", **fields))
    assert sentence("broadcast", "en", **dict(fields, dims=(0, 2))).count("dims 0, 2") == 1


def test_generic_rule_for_an_op_without_one():
    rule = rule_for("embedding_bag")
    assert not rule.specific
    assert "embedding_bag" in rule.describe("en") and "embedding_bag" in rule.describe("zh")
    assert CJK.search(rule.describe("zh")) and not CJK.search(rule.describe("en"))


def test_sigmoid_rule_reads_like_the_article():
    assert RULES["sigmoid"].formula == "d sigmoid(z)/dz = s(1 - s)"
    assert RULES["mse_loss"].formula.startswith("dL/do = 2(o - y)/n")


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match=r"expected one of \('en', 'zh'\), got 'fr'"):
        check_lang("fr")
    with pytest.raises(ValueError):
        RULES["add"].describe("fr")
