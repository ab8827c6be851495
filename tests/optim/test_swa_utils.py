"""update_bn: batch-norm statistics recomputed from a loader, checked against NumPy and PyTorch."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.optim.swa_utils import update_bn


def _batches(seed=0, count=3, size=8):
    rng = np.random.default_rng(seed)
    return [rng.normal(2.0, 3.0, size=(size, 3, 4, 4)) for _ in range(count)]


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.BatchNorm2d(3, momentum=0.3, dtype=cr.float64),
                         nn.Conv2d(3, 2, 3, dtype=cr.float64), nn.BatchNorm2d(2, dtype=cr.float64))


def test_statistics_are_the_plain_average_of_the_batch_statistics():
    model, batches = _model(), _batches()
    for x in _batches(seed=1):  # stale statistics from other data, which must be forgotten
        model(cr.tensor(x * 10))
    update_bn([(cr.tensor(x), None) for x in batches], model)
    first = model[0]
    means = [x.mean(axis=(0, 2, 3)) for x in batches]
    variances = [x.var(axis=(0, 2, 3), ddof=1) for x in batches]
    np.testing.assert_allclose(first.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-12)
    np.testing.assert_allclose(first.running_var.numpy(), np.mean(variances, axis=0), rtol=1e-12)
    assert int(first.num_batches_tracked.numpy()) == len(batches)


def test_mode_momentum_and_weights_are_restored():
    model = _model()
    model.eval()
    weights = {name: p.numpy().copy() for name, p in model.named_parameters()}
    update_bn(_batches(), model)  # bare arrays are accepted too
    assert not model.training and not model[0].training
    assert model[0].momentum == 0.3 and model[2].momentum == 0.1
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.numpy(), weights[name])


def test_momentum_is_restored_when_the_model_fails():
    model = _model()
    with pytest.raises(cr.errors.ShapeError):
        update_bn([np.zeros((2, 5, 4, 4))], model)
    assert model[0].momentum == 0.3 and model[0].training


def test_a_model_without_batch_norm_is_left_alone():
    model = nn.Linear(2, 2)
    update_bn([np.ones((1, 2), dtype=np.float32)], model)
    assert model.training


def test_matches_pytorch_update_bn():
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import update_bn as torch_update_bn
    model, batches = _model(), _batches()
    reference = torch.nn.Sequential(torch.nn.BatchNorm2d(3), torch.nn.Conv2d(3, 2, 3),
                                    torch.nn.BatchNorm2d(2)).double()
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    update_bn(batches, model)
    torch_update_bn([torch.from_numpy(x) for x in batches], reference)
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[name].numpy(), value.numpy(), rtol=1e-10, atol=1e-12)
