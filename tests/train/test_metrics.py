"""Metrics against hand-computed values and scikit-learn."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import ShapeError
from chainrule.train import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def test_accuracy_from_logits_labels_one_hot_and_binary_scores():
    logits = cr.tensor([[2.0, 0.1, 0.0], [0.3, 0.9, 0.1], [1.0, 0.0, 3.0], [0.0, 5.0, 1.0]])
    assert metrics.accuracy(logits, cr.tensor([0, 1, 2, 0])) == 0.75
    assert metrics.accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 0])) == 0.75
    assert metrics.accuracy(logits, np.eye(3)[[0, 1, 2, 0]]) == 0.75
    probabilities = np.array([[0.9], [0.2], [0.6], [0.4]])
    assert metrics.accuracy(probabilities, np.array([[1.0], [0.0], [0.0], [0.0]])) == 0.75   # cut at 0.5
    logit_scores = np.array([2.0, -1.0, 0.3, -0.2])
    assert metrics.accuracy(logit_scores, np.array([1, 0, 0, 0])) == 0.75                    # cut at 0
    assert metrics.accuracy(np.array([0.9, 0.2]), np.array([1, 1]), threshold=0.1) == 1.0
    assert metrics.accuracy(np.array([[0.9], [0.2]]), np.array([1, 0])) == 1.0               # (N, 1) vs (N,)


def test_mismatched_shapes_raise_a_shape_error_naming_the_metric_and_both_shapes():
    with pytest.raises(ShapeError, match=r"accuracy: predictions do not fit the targets; .* predictions \(4, 3\) "
                                         r"and targets \(3,\)"):
        metrics.accuracy(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ShapeError, match=r"mae: predictions and targets differ in shape"):
        metrics.mae(np.zeros((4, 2)), np.zeros(4))


def test_top_k_accuracy_by_hand_and_against_scikit_learn():
    scores = np.array([[0.1, 0.5, 0.2, 0.2], [0.6, 0.1, 0.2, 0.1], [0.05, 0.05, 0.1, 0.8]])
    targets = np.array([2, 2, 0])
    assert metrics.top_k_accuracy(scores, targets, k=1) == 0.0
    # row 0 ties classes 2 and 3; as in scikit-learn, the higher class index ranks first
    assert metrics.top_k_accuracy(scores, targets, k=2) == pytest.approx(1 / 3)
    assert metrics.top_k_accuracy(scores, targets, k=2) == sklearn_metrics.top_k_accuracy_score(
        targets, scores, k=2, labels=range(4))
    assert metrics.top_k_accuracy(scores, targets, k=4) == 1.0
    rng = np.random.default_rng(0)
    scores, targets = rng.random((50, 5)), rng.integers(0, 5, 50)
    for k in (1, 2, 3):
        assert metrics.top_k_accuracy(scores, targets, k) == pytest.approx(
            sklearn_metrics.top_k_accuracy_score(targets, scores, k=k, labels=range(5)))
    with pytest.raises(ValueError, match="k out of range"):
        metrics.top_k_accuracy(scores, targets, k=6)


def test_precision_recall_f1_by_hand():
    predicted, true = np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])
    # class 0: tp 1, predicted 2, true 2; class 1: tp 2, predicted 2, true 3; class 2: tp 1, predicted 2, true 1
    assert metrics.precision(predicted, true) == pytest.approx((1 / 2 + 2 / 2 + 1 / 2) / 3)
    assert metrics.recall(predicted, true) == pytest.approx((1 / 2 + 2 / 3 + 1 / 1) / 3)
    assert metrics.f1(predicted, true) == pytest.approx((2 / 4 + 4 / 5 + 2 / 3) / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classification_metrics_match_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(40, 4))
    true = rng.integers(0, 4, 40)
    predicted = logits.argmax(axis=1)
    assert metrics.accuracy(logits, true) == pytest.approx(sklearn_metrics.accuracy_score(true, predicted))
    for ours, theirs in [(metrics.precision, sklearn_metrics.precision_score),
                         (metrics.recall, sklearn_metrics.recall_score), (metrics.f1, sklearn_metrics.f1_score)]:
        assert ours(logits, true) == pytest.approx(theirs(true, predicted, average="macro", zero_division=0))
    np.testing.assert_array_equal(metrics.confusion_matrix(logits, true),
                                  sklearn_metrics.confusion_matrix(true, predicted, labels=range(4)))


def test_a_class_never_predicted_scores_zero_precision_as_in_scikit_learn():
    predicted, true = np.array([0, 0, 0, 1]), np.array([0, 2, 2, 1])
    assert metrics.precision(predicted, true) == pytest.approx(
        sklearn_metrics.precision_score(true, predicted, average="macro", zero_division=0))
    assert metrics.f1(predicted, true) == pytest.approx(
        sklearn_metrics.f1_score(true, predicted, average="macro", zero_division=0))


def test_confusion_matrix_rows_are_truth_and_num_classes_pads():
    matrix = metrics.confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), num_classes=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="does not fit num_classes"):
        metrics.confusion_matrix(np.array([0, 3]), np.array([0, 1]), num_classes=3)


def test_mae_and_rmse_by_hand_and_against_scikit_learn():
    predicted, true = np.array([1.0, 2.0, 4.0, -1.0]), np.array([1.5, 2.0, 1.0, 0.0])
    assert metrics.mae(predicted, true) == pytest.approx((0.5 + 0 + 3 + 1) / 4)
    assert metrics.rmse(predicted, true) == pytest.approx(np.sqrt((0.25 + 0 + 9 + 1) / 4))
    assert metrics.mae(cr.tensor(predicted[:, None]), true) == pytest.approx(
        sklearn_metrics.mean_absolute_error(true, predicted))
    assert metrics.rmse(predicted, true) == pytest.approx(np.sqrt(sklearn_metrics.mean_squared_error(true, predicted)))
