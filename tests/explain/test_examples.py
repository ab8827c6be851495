"""The article's example networks, explained: consecutive steps apply their updates; bad options fail clearly."""

import pytest

from chainrule.errors import ChainruleError
from chainrule.explain.examples import explain_example


def test_consecutive_steps_trace_a_network_that_is_learning():
    text = explain_example("xor", steps=2)
    first, second = text.split("Training step 2 of 2")
    loss = [float(part.split("The loss is loss = ")[1].split(",")[0]) for part in (first, second)]
    assert loss[1] < loss[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "lenet"}, "unknown example"), ({"name": "xor", "fmt": "pdf"}, "unknown format"),
    ({"name": "xor", "lang": "fr"}, "unknown language"), ({"name": "xor", "steps": 0}, "steps must be positive"),
])
def test_bad_options_name_what_was_expected(kwargs, message):
    with pytest.raises(ChainruleError, match=f"explain: {message}; expected"):
        explain_example(**kwargs)


@pytest.mark.parametrize("name, parameters", [("xor", ["W1", "b1", "W2", "b2"]),
                                              ("article-net", ["0.weight", "0.bias", "2.weight", "2.bias",
                                                               "4.weight", "4.bias"])])
def test_gradcheck_report_lists_every_parameter_and_agrees(name, parameters):
    from chainrule.explain.examples import gradcheck_example
    report = gradcheck_example(name)
    rows = [line.split()[0] for line in report.splitlines()[2:-1]]
    assert rows == parameters
    assert all(line.rstrip().endswith("yes") for line in report.splitlines()[2:-1])
    assert report.splitlines()[-1] == "backprop matches finite differences"
