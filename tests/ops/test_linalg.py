"""matmul and einsum: results, shapes, and the messages users see for mismatched operands."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradError, ShapeError


def test_the_articles_bug_reads_as_an_inner_dimension_message():
    batch = cr.randn(4, 2)
    weight = cr.randn(3, 2)
    with pytest.raises(ShapeError) as info:
        batch @ weight
    assert str(info.value) == ("matmul: inner dimensions differ; expected a.shape[-1] == b.shape[-2], "
                               "got a.shape=(4, 2), b.shape=(3, 2).")
    assert info.value.__cause__ is None and info.value.__suppress_context__


@pytest.mark.parametrize("a, b", [((3,), (3,)), ((3,), (3, 2)), ((4, 3), (3,)), ((5, 4, 3), (3, 2)),
                                  ((2, 1, 4, 3), (3, 3, 2))])
def test_matmul_follows_numpy_for_every_rank(a, b):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(a), rng.standard_normal(b)
    out = cr.matmul(cr.tensor(x), cr.tensor(y))
    np.testing.assert_allclose(out.numpy(), x @ y)


def test_matmul_batch_mismatch_and_scalars_are_explained():
    with pytest.raises(ShapeError, match="batch dimensions cannot be broadcast"):
        cr.zeros(2, 3, 4) @ cr.zeros(5, 4, 2)
    with pytest.raises(ShapeError, match="at least one dimension"):
        cr.matmul(cr.tensor(1.0), cr.zeros(2))


def test_einsum_matches_numpy_including_implicit_output_and_ellipsis():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    np.testing.assert_allclose(cr.einsum("bij,bjk->bik", cr.tensor(a), cr.tensor(b)).numpy(),
                               np.einsum("bij,bjk->bik", a, b))
    np.testing.assert_allclose(cr.einsum("ij,jk", cr.tensor(a[0]), cr.tensor(b[0])).numpy(), a[0] @ b[0])
    np.testing.assert_allclose(cr.einsum("...j,j->...", cr.tensor(a), cr.tensor(a[0, 0])).numpy(),
                               np.einsum("...j,j->...", a, a[0, 0]))


def test_einsum_errors_name_the_subscripts():
    with pytest.raises(ShapeError, match="einsum: subscripts 'ij' do not match the operand"):
        cr.einsum("ij->i", cr.zeros(2, 3, 4))
    x = cr.tensor(np.eye(3), requires_grad=True)
    with pytest.raises(GradError, match="repeated subscript"):
        cr.einsum("ii->i", x).sum().backward()
