"""Bad input gets a chainrule error naming the op, never a bare NumPy traceback."""

import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import ChainruleError, DTypeError, GradError, IndexingError, ShapeError

x = cr.randn(2, 3)
y = cr.randn(4, 5)

BAD_CALLS = {
    "matmul": (ShapeError, lambda: cr.tensor([1.0, 2.0]) @ cr.tensor([[1.0, 2.0, 3.0]])),
    "sum": (ShapeError, lambda: x.sum(dim="a")),
    "reshape": (ShapeError, lambda: x.reshape(-1, -1)),
    "cat": (IndexingError, lambda: cr.cat([x, x], dim=5)),
    "permute": (ShapeError, lambda: x.permute(0)),
    "getitem": (IndexingError, lambda: x[0, 0, 0]),
    "einsum": (ShapeError, lambda: cr.einsum("ij,jk->ik", x)),
    "split": (ShapeError, lambda: x.split(0)),
    "repeat": (ShapeError, lambda: x.repeat(-1, 1)),
    "flip": (IndexingError, lambda: x.flip(5)),
    "where": (ShapeError, lambda: cr.where(cr.tensor([True, False, True, False]), x, y)),
    "clamp": (DTypeError, lambda: x.clamp(min="a")),
    "dtype": (DTypeError, lambda: x.to("complex64")),
    "tensor": (DTypeError, lambda: x * "a"),
    "max": (ShapeError, lambda: x.max(dim=(0, 1))),
    "gather": (IndexingError, lambda: cr.gather(x, 1, cr.tensor([[0.5]]))),
    "stack": (ShapeError, lambda: cr.stack([])),
    "chunk": (ShapeError, lambda: x.chunk(0)),
    "view": (ShapeError, lambda: x.reshape(3, 2).T.view(6)),
    "squeeze": (IndexingError, lambda: x.squeeze(9)),
    "expand": (ShapeError, lambda: x.expand(3)),
    "pad": (ShapeError, lambda: cr.pad(x, (1,))),
    "linear": (ShapeError, lambda: F.linear(x, cr.randn(4, 5))),
    "mse_loss": (ShapeError, lambda: F.mse_loss(x, y)),
    "index_put": (IndexingError, lambda: cr.index_put(x, (cr.tensor([5]),), cr.tensor(1.0))),
    "arange": (DTypeError, lambda: cr.arange("a")),
    "randn": (ShapeError, lambda: cr.randn(-1)),
    "zeros": (ShapeError, lambda: cr.zeros(2.5)),
    "backward": (GradError, lambda: cr.tensor([1.0, 2.0]).sum().backward()),
    "requires_grad_": (DTypeError, lambda: cr.tensor([1, 2]).requires_grad_()),
}


@pytest.mark.parametrize("op", sorted(BAD_CALLS))
def test_bad_input_raises_a_chainrule_error_that_names_the_op(op):
    expected, call = BAD_CALLS[op]
    with pytest.raises(expected) as info:
        call()
    assert isinstance(info.value, ChainruleError)
    assert str(info.value).startswith(f"{op}:"), str(info.value)
    assert "expected" in str(info.value)
    assert info.value.__suppress_context__ or info.value.__context__ is None
