"""The article's XOR network trains to its convergence criterion and learns the truth table."""

import numpy as np

from chainrule.apps.xor import XOR_TARGETS, train_xor


def test_xor_converges_and_rounds_to_the_truth_table():
    run = train_xor(threshold=0.005)
    assert run.converged and run.losses[-1] < 0.005 < run.losses[0]
    np.testing.assert_array_equal(run.predict(np.array([[0, 0], [0, 1], [1, 0], [1, 1]])).round(), XOR_TARGETS)


def test_xor_reports_failure_to_converge_within_the_step_budget():
    run = train_xor(max_steps=5)
    assert not run.converged and len(run.losses) == 5
