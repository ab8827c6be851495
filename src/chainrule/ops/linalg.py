"""Matrix products: ``matmul`` (1-D, 2-D and batched with broadcasting) and ``einsum``."""

import string

import numpy as np

from chainrule.autograd.function import Function, register
from chainrule.autograd.samples import Sample, values
from chainrule.errors import GradError, ShapeError
from chainrule.ops._operands import common_operands, same_dtype
from chainrule.tensor import Tensor

__all__ = ["matmul", "einsum"]


def _matmul_samples(rng):
    pairs = (((4, 3), (3, 2)), ((3,), (3, 2)), ((4, 3), (3,)), ((3,), (3,)), ((2, 4, 3), (3, 5)),
             ((2, 1, 4, 3), (3, 3, 2)))
    return [Sample((values(rng, a), values(rng, b))) for a, b in pairs]


@register("matmul", samples=_matmul_samples)
class MatMul(Function):
    """Matrix product with NumPy's rules for 1-D and batched inputs.

    out = a @ b;  grad_a = grad_out @ b^T,  grad_b = a^T @ grad_out (1-D inputs are treated as a
    row or a column; the engine sums batch dims that were broadcast).
    """

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        if a.ndim == 2 and b.ndim == 2:
            return a.dot(b)  # the same product, with less dispatch than np.dot or the matmul gufunc
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            dot = ctx.xp.dot
            return (dot(grad_out, b.T) if need_a else None), (dot(a.T, grad_out) if need_b else None)
        if a.ndim == 1 and b.ndim == 1:
            return (grad_out * b if need_a else None), (grad_out * a if need_b else None)
        if a.ndim == 1:  # (k,) @ (..., k, n) -> (..., n): a is a row vector
            g = grad_out[..., None, :]
            return ((g @ b.mT)[..., 0, :] if need_a else None), (a[:, None] * g if need_b else None)
        if b.ndim == 1:  # (..., m, k) @ (k,) -> (..., m): b is a column vector
            g = grad_out[..., :, None]
            return (g * b if need_a else None), ((a.mT @ g)[..., 0] if need_b else None)
        return (grad_out @ b.mT if need_a else None), (a.mT @ grad_out if need_b else None)

    @classmethod
    def describe_error(cls, exc, arrays, options):
        a, b = arrays
        if a.ndim == 0 or b.ndim == 0:
            return ShapeError(f"matmul: both operands need at least one dimension; expected 1-D or more, "
                              f"got a.shape={a.shape}, b.shape={b.shape}.")
        inner_b = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if a.shape[-1] != inner_b:
            return ShapeError(f"matmul: inner dimensions differ; expected a.shape[-1] == b.shape[-2], "
                              f"got a.shape={a.shape}, b.shape={b.shape}.")
        return ShapeError(f"matmul: batch dimensions cannot be broadcast; expected a.shape[:-2] and "
                          f"b.shape[:-2] to broadcast, got a.shape={a.shape}, b.shape={b.shape}.")


def _parse_equation(equation, shapes):
    """Rewrite an einsum equation in explicit form with ``...`` spelled out as letters.

    Returns the input subscripts (one string per operand) and the output subscripts.
    """
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"einsum: the equation names {len(terms)} operands; expected {len(terms)}, "
                         f"got {len(shapes)} operands.")
    used = set(equation) - set(".,->")
    spare = [c for c in string.ascii_letters if c not in used]
    ellipsis_dims = max([len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes) if "..." in t],
                        default=0)
    fill = "".join(spare[:ellipsis_dims])
    expanded = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            count = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", fill[ellipsis_dims - count:] if count else "")
        if len(term) != len(shape):
            raise ShapeError(f"einsum: subscripts {term!r} do not match the operand; expected "
                             f"{len(term)} dims, got shape {shape}.")
        expanded.append(term)
    if arrow:
        output = output.replace("...", fill)
    else:
        counts = {c: "".join(expanded).count(c) for c in "".join(expanded)}
        output = fill + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in fill))
    return expanded, output


def _einsum_samples(rng):
    return [
        Sample((values(rng, (3, 4)), values(rng, (4, 2))), {"equation": "ij,jk->ik"}, "matrix product"),
        Sample((values(rng, (2, 3, 4)), values(rng, (2, 4, 5))), {"equation": "bij,bjk->bik"}, "batched"),
        Sample((values(rng, (3, 4)),), {"equation": "ij->j"}, "column sums"),
        Sample((values(rng, (3,)), values(rng, (4,))), {"equation": "i,j->ij"}, "outer product"),
        Sample((values(rng, (2, 3, 4)), values(rng, (4,))), {"equation": "...j,j->..."}, "ellipsis"),
        Sample((values(rng, (3, 4)), values(rng, (4, 5)), values(rng, (5,))), {"equation": "ij,jk,k->i"},
               "three operands"),
        Sample((values(rng, (3, 4)), values(rng, (2,))), {"equation": "ij,k->i"}, "a letter in one operand only"),
    ]


@register("einsum", samples=_einsum_samples)
class Einsum(Function):
    """Einstein summation.  The gradient of operand i is the einsum of grad_out with the other
    operands onto operand i's subscripts; letters only operand i has are broadcast back."""

    @staticmethod
    def forward(ctx, *operands, equation):
        terms, output = _parse_equation(equation, [o.shape for o in operands])
        ctx.terms, ctx.output = terms, output
        ctx.save_for_backward(*operands)
        return ctx.xp.einsum(",".join(terms) + "->" + output, *operands)

    @staticmethod
    def backward(ctx, grad_out):
        operands, terms, xp = ctx.saved, ctx.terms, ctx.xp
        grads = []
        for i, (term, need) in enumerate(zip(terms, ctx.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            if len(set(term)) != len(term):
                raise GradError(f"einsum: gradient of an operand with a repeated subscript ({term!r}) is "
                                f"not supported; expected distinct letters within each operand.")
            others = [t for j, t in enumerate(terms) if j != i]
            reachable = set(ctx.output).union(*others)
            kept = "".join(c for c in term if c in reachable)
            equation = ",".join([ctx.output] + others) + "->" + kept
            grad = xp.einsum(equation, grad_out, *[o for j, o in enumerate(operands) if j != i])
            shape = operands[i].shape
            if kept != term:
                grad = xp.broadcast_to(grad.reshape(tuple(shape[k] if c in reachable else 1
                                                          for k, c in enumerate(term))), shape)
            grads.append(grad)
        return tuple(grads)


def matmul(input, other):
    """Matrix product: 1-D vectors, 2-D matrices, or batches of matrices that broadcast."""
    return MatMul.apply(*common_operands(input, other))


def einsum(equation, *operands):
    """Einstein summation over the operands, e.g. ``einsum("bij,bjk->bik", a, b)``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(*same_dtype("einsum", operands), equation=equation)


def _matmul_operator(self, other):
    if isinstance(other, Tensor) and other.data.dtype is self.data.dtype:
        return MatMul.apply(self, other)
    return matmul(self, other)


TENSOR_METHODS = {"matmul": matmul, "__matmul__": _matmul_operator,
                  "__rmatmul__": lambda self, other: matmul(other, self)}
