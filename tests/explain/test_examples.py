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
