"""chainrule: backpropagation end to end on NumPy, fast and visible.

The public names follow PyTorch's, so habits carry over::

    import chainrule as cr
    w = cr.randn(3, 1, requires_grad=True)
    loss = ((cr.tensor([[1.0, 2.0, 3.0]]) @ w - 1.0) ** 2).mean()
    loss.backward()
    w.grad
"""

from chainrule._dtypes import bool_ as bool, float32, float64, int64
from chainrule._random import get_rng_state, manual_seed, set_rng_state
from chainrule.tensor import Tensor
from chainrule import autograd, data, nn, optim, train
from chainrule.autograd import enable_grad, grad, is_grad_enabled, no_grad
from chainrule.creation import (arange, eye, from_numpy, full, ones, ones_like, rand, randn, tensor,
                                zeros, zeros_like)
from chainrule.errors import (ChainruleError, DTypeError, GradError, IndexingError, OptimizerError,
                              SerializationError, ShapeError)
from chainrule.ops.binary import (add, div, eq, ge, gt, le, logical_and, logical_not, logical_or, lt,
                                  maximum, minimum, mul, ne, pow, sub, where)
from chainrule.ops.elementwise import (abs, clamp, cos, exp, log, log1p, neg, relu, sigmoid, sign, sin,
                                       sqrt, tanh)
from chainrule.ops.indexing import gather, index_put, masked_fill, scatter_add
from chainrule.ops.linalg import einsum, matmul
from chainrule.ops.reduce import all, any, argmax, argmin, max, mean, min, prod, std, sum, var
from chainrule.serialization import load, save
from chainrule.ops.activation import erf
from chainrule.ops.shape import (cat, chunk, expand, flatten, flip, pad, permute, repeat, reshape,
                                 split, squeeze, stack, transpose, unsqueeze, view)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye",
    "rand", "randn", "manual_seed", "get_rng_state", "set_rng_state", "float32", "float64", "int64", "bool",
    "no_grad", "enable_grad", "is_grad_enabled", "grad", "autograd", "data", "nn", "optim", "train", "save", "load",
    "ChainruleError", "ShapeError", "IndexingError", "DTypeError", "GradError", "OptimizerError",
    "SerializationError",
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or", "logical_not",
    "neg", "exp", "log", "log1p", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "clamp", "sign", "erf",
    "sum", "mean", "var", "std", "max", "min", "prod", "argmax", "argmin", "all", "any",
    "reshape", "view", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "expand", "flip",
    "cat", "stack", "split", "chunk", "pad", "repeat",
    "gather", "scatter_add", "masked_fill", "index_put", "matmul", "einsum",
]
