"""The backward pass: walk the graph in reverse topological order and apply the chain rule.

Each node (a Function instance left by ``apply``) receives the gradient of its output, calls its
``backward`` to get one gradient per input, and passes each on: summed back to the input's shape
where the forward broadcast it, cast to the input's dtype, and added to what that input already
received. Leaves accumulate into ``.grad``. The walk is iterative, so graph depth is unlimited.

Also here: the grad mode (``no_grad``/``enable_grad``) and the event stream that the explain
mode subscribes to; both cost one attribute check per op when unused.
"""

import contextlib
import heapq
import itertools
import weakref
from typing import Any, NamedTuple

import numpy as np

from chainrule.autograd import _vjp_math
from chainrule.errors import GradError
from chainrule.tensor import Tensor

__all__ = ["backward", "grad", "no_grad", "enable_grad", "is_grad_enabled", "subscribe",
           "ForwardEvent", "BackwardEvent"]


class _GradMode:
    enabled = True


grad_mode = _GradMode()
listeners = []
_FREED = object()


class ForwardEvent(NamedTuple):
    """One op's forward: its name, graph node (None when no gradient is recorded), inputs, output,
    and the Function class that ran."""
    op: str
    node: Any
    inputs: tuple
    options: dict
    output: np.ndarray
    function: Any = None


class BackwardEvent(NamedTuple):
    """One node's backward: the gradient it got, what its backward returned, and what each input
    received after broadcasting was undone (``input_grads``) with the inputs' shapes."""
    op: str
    node: Any
    grad_output: Any
    grad_inputs: tuple
    input_grads: tuple
    input_shapes: tuple


def subscribe(listener):
    """Call ``listener(event)`` for every op's forward and backward until the handle is removed.

    Returns a handle with ``remove()``; it is also a context manager that removes on exit.
    """
    listeners.append(listener)
    return _Handle(listeners, listener)


class _Handle:
    """Removes one registered callable from its list; usable as a context manager."""

    def __init__(self, container, item):
        self._container, self._item = container, item

    def remove(self):
        if self._item in self._container:
            self._container.remove(self._item)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


class _SetGradMode(contextlib.ContextDecorator):
    def __init__(self, enabled):
        self.enabled = enabled

    def _recreate_cm(self):
        return _SetGradMode(self.enabled)  # a decorated function may be re-entered: one state per call

    def __enter__(self):
        self.previous = grad_mode.enabled
        grad_mode.enabled = self.enabled

    def __exit__(self, *exc_info):
        grad_mode.enabled = self.previous


def no_grad():
    """Context manager and decorator: ops inside record no graph (evaluation, weight updates)."""
    return _SetGradMode(False)


def enable_grad():
    """Context manager and decorator: record the graph again inside a ``no_grad`` block."""
    return _SetGradMode(True)


def is_grad_enabled():
    """Whether ops currently record the graph."""
    return grad_mode.enabled


# --- hooks on tensors -----------------------------------------------------------------------

class _NodeHooks:
    """Whether a hook was ever registered on a non-leaf tensor (its node's ``_pre_hooks``).

    Until one is, the walk skips looking for them: the attribute is found only on the class, after
    a miss in the node's own attributes, ~340 machine instructions per node (~0.7% of a XOR step).
    """
    registered = False


_node_hooks = _NodeHooks()


def add_hook(tensor, hook):
    """Register ``hook(grad) -> Tensor | None`` to run when ``tensor``'s gradient is computed."""
    if tensor.grad_fn is None:
        if tensor._hooks is None:
            tensor._hooks = []
        hooks = tensor._hooks
    else:
        if tensor.grad_fn._pre_hooks is None:
            tensor.grad_fn._pre_hooks = []
        hooks = tensor.grad_fn._pre_hooks
        _node_hooks.registered = True
    hooks.append(hook)
    return _Handle(hooks, hook)


def retain_grad(tensor):
    """Make a non-leaf tensor keep its gradient in ``.grad`` after backward."""
    if tensor.grad_fn is None:
        return
    ref = weakref.ref(tensor)

    def keep(grad):
        target = ref()
        if target is not None:
            target.grad = grad if target.grad is None else Tensor._wrap(target.grad.data + grad.data)
    keep.retains_grad = True
    if not any(getattr(h, "retains_grad", False) for h in (tensor.grad_fn._pre_hooks or ())):
        add_hook(tensor, keep)


def _run_hooks(hooks, g, create_graph):
    for hook in list(hooks):
        as_tensor = g if create_graph else Tensor._wrap(g)
        result = hook(as_tensor)
        if result is not None:
            g = result if create_graph else result.data
    return g


# --- the walk -------------------------------------------------------------------------------
#
# Every node gets an increasing sequence number when its op runs, and an op always runs after the
# ops that made its inputs. Taking nodes in decreasing sequence order therefore reaches each node
# only after every node it fed has passed on its gradient: a reverse topological order, found with
# a heap, without a separate graph traversal and without recursion.

sequence = itertools.count()


def _reachable(roots):
    """All nodes the roots depend on (iterative depth-first search)."""
    seen, stack = set(roots), list(roots)
    while stack:
        for parent in stack.pop().parents:
            if parent is not None and not isinstance(parent, Tensor) and parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def _nodes_leading_to(roots, targets):
    """The nodes whose backward must run to reach any of ``targets`` (nodes or leaf tensors)."""
    leads = set()
    for node in sorted(_reachable(roots), key=lambda n: n.seq):  # inputs before the nodes they feed
        for parent in node.parents:
            if parent is not None and (parent in targets or parent in leads):
                leads.add(node)
                break
    return leads


_broadcast_axes = {}


def _sum_to_shape(g, shape, node):
    """Undo broadcasting: sum ``g`` over the dims the forward pass broadcast to reach its shape."""
    key = (g.shape, shape)
    axes = _broadcast_axes.get(key)
    if axes is None:
        lead = g.ndim - len(shape)
        if lead < 0 or any(s != 1 and s != gs for s, gs in zip(shape, g.shape[lead:])):
            raise GradError(f"{node.name}: backward returned a gradient of shape {tuple(g.shape)} for an "
                            f"input of shape {tuple(shape)}; expected that shape or one broadcast from it.")
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                          if s == 1 and g.shape[lead + i] != 1)
        if len(_broadcast_axes) < 4096:  # training repeats the same few shape pairs every step
            _broadcast_axes[key] = axes
    if axes:
        # np.add.reduce is ndarray.sum without its Python wrapper; a Tensor (create_graph) sums itself
        g = np.add.reduce(g, axes) if type(g) is np.ndarray else g.sum(axes)
    return g if g.shape == shape else g.reshape(shape)


def _call_backward(node, g, create_graph):
    """Run the node's backward on arrays, or on Tensors that record a graph when create_graph."""
    if node.saved is _FREED:
        raise GradError(f"{node.name}: trying to backward through the graph a second time, but its saved "
                        f"arrays were freed after the first backward; expected retain_graph=True on the "
                        f"first backward() if you need to backward twice.")
    if not create_graph:
        grads = node.function.backward(node, g)
    else:
        arrays = node.saved
        node.saved = _vjp_math.saved_as_tensors(node)
        node.xp = _vjp_math.tensors
        try:
            with enable_grad():
                grads = node.function.backward(node, g)
        finally:
            node.saved = arrays
            del node.xp
        for grad_in in grads if type(grads) is tuple else (grads,):
            if grad_in is not None and not isinstance(grad_in, Tensor):
                raise GradError(f"{node.name}: backward returned an ndarray while create_graph=True; "
                                f"expected Tensors: write backward with operators and ctx.xp so it can "
                                f"be differentiated again.")
    if type(grads) is not tuple:
        grads = (grads,)
    if len(grads) != len(node.parents):
        _wrong_count(node, grads)
    return grads


def _wrong_count(node, grads):
    raise GradError(f"{node.name}: backward returned {len(grads)} gradients; expected one per input, "
                    f"{len(node.parents)}.")


def _accumulate_into_leaf(leaf, g, create_graph, stored):
    if create_graph:
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if leaf.grad is None:
        # Store a gradient only if nothing else can see it: not a view, not shared with another leaf.
        if type(g) is not np.ndarray or g.base is not None or id(g) in stored or not g.flags.writeable:
            g = np.array(g, dtype=leaf.data.dtype)
        stored.add(id(g))
        leaf.grad = Tensor._wrap(g)
    else:
        leaf.grad = Tensor._wrap(leaf.grad.data + g)


def _emit_backward(node, g, grads_in, received):
    shapes = tuple(None if p is None else (p.data.shape if isinstance(p, Tensor) else p.out_shape)
                   for p in node.parents)
    event = BackwardEvent(node.name, node, g, grads_in, tuple(received), shapes)
    for listener in list(listeners):
        listener(event)


def _run(roots, seeds, retain_graph, create_graph, targets=None):
    """Backpropagate ``seeds`` from ``roots``; accumulate into leaves, or return target gradients."""
    grads, heap = {}, []
    for root, seed in zip(roots, seeds):
        previous = grads.get(root)
        grads[root] = seed if previous is None else previous + seed
        if previous is None and not isinstance(root, Tensor):
            heapq.heappush(heap, (-root.seq, root))
    needed = None if targets is None else _nodes_leading_to([node for _, node in heap], targets)
    captured = {}
    heappop, heappush = heapq.heappop, heapq.heappush
    node_hooks = _node_hooks.registered
    while heap:
        node = heappop(heap)[1]
        g = grads.pop(node)
        if node_hooks and node._pre_hooks:
            g = _run_hooks(node._pre_hooks, g, create_graph)
        if targets is not None:
            if node in targets:
                captured[node] = g
            if node not in needed:
                continue
        if create_graph or node.saved is _FREED:
            grads_in = _call_backward(node, g, create_graph)
        else:
            grads_in = node.function.backward(node, g)
            if type(grads_in) is not tuple:
                grads_in = (grads_in,)
            if len(grads_in) != len(node.parents):
                _wrong_count(node, grads_in)
        received = [] if listeners else None  # what each input received, for the explain events
        for parent, grad_in in zip(node.parents, grads_in):
            if parent is None or grad_in is None:
                if received is not None:
                    received.append(None)
                continue
            if isinstance(parent, Tensor):  # a leaf: its gradient waits in grads until the end
                shape, dtype, node_to_visit = parent.data.shape, parent.data.dtype, None
            else:
                shape, dtype, node_to_visit = parent.out_shape, parent.out_dtype, parent
            if grad_in.shape != shape:
                grad_in = _sum_to_shape(grad_in, shape, node)
            if grad_in.dtype is not dtype and grad_in.dtype != dtype:  # dtypes are mostly singletons
                grad_in = grad_in.to(dtype) if create_graph else grad_in.astype(dtype)
            previous = grads.get(parent)
            if previous is None:
                grads[parent] = grad_in
                if node_to_visit is not None:
                    heappush(heap, (-node_to_visit.seq, node_to_visit))
            else:
                grads[parent] = previous + grad_in
            if received is not None:
                received.append(grad_in)
        if not retain_graph:
            node.saved = _FREED
        if listeners:
            _emit_backward(node, g, grads_in, received)
    stored = set()
    for leaf, g in grads.items():  # only leaves remain: every node was popped
        if leaf._hooks:
            g = _run_hooks(leaf._hooks, g, create_graph)
        if targets is not None:
            if leaf in targets:
                captured[leaf] = g
            continue
        _accumulate_into_leaf(leaf, g, create_graph, stored)
    return captured


def _seeds(outputs, grad_outputs, create_graph):
    roots, seeds = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise GradError(f"backward: output {i} is a {type(out).__name__}; expected a Tensor.")
        if not out.requires_grad:
            raise GradError(f"backward: output {i} (shape {out.shape}) does not require grad and has no "
                            f"grad_fn; expected a tensor computed from inputs with requires_grad=True.")
        if g is None:
            if out.data.size != 1:
                raise GradError(f"backward: a gradient can be created implicitly only for a scalar output; "
                                f"expected a 1-element tensor or gradient=..., got output shape {out.shape}.")
            g = np.array(1, dtype=out.data.dtype)  # np.ones is a Python wrapper; this is one C call
            if out.data.shape:
                g = g.reshape(out.data.shape)
        else:
            g = np.array(g.data if isinstance(g, Tensor) else g, dtype=out.data.dtype)
            if g.shape != out.data.shape:
                raise GradError(f"backward: gradient shape does not match the output; expected "
                                f"{out.shape}, got {g.shape}.")
        roots.append(out.grad_fn if out.grad_fn is not None else out)
        seeds.append(Tensor._wrap(g) if create_graph else g)
    return roots, seeds


def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensors)/d(leaf), weighted by ``grad_tensors``, into every leaf's ``.grad``."""
    outputs = _as_list(tensors)
    gradients = _as_list(grad_tensors) or [None] * len(outputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    roots, seeds = _seeds(outputs, gradients, create_graph)
    _run(roots, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Return the gradients of ``outputs`` with respect to ``inputs`` without touching ``.grad``.

    Args:
        outputs: a Tensor or sequence of Tensors to differentiate.
        inputs: a Tensor or sequence of Tensors (leaves or intermediate results).
        grad_outputs: the vector of the vector-Jacobian product, one per output; None for scalars.
        retain_graph: keep the graph for another backward; defaults to ``create_graph``.
        create_graph: record the backward pass so the result can be differentiated again.
        allow_unused: return None for an input the outputs do not depend on instead of raising.

    Returns:
        A tuple with one gradient Tensor (or None) per input.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor(3.0, requires_grad=True)
        >>> (dx,) = cr.grad(x ** 2, x, create_graph=True)
        >>> (ddx,) = cr.grad(dx, x)
        >>> dx.item(), ddx.item()
        (6.0, 2.0)
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    gradients = _as_list(grad_outputs) or [None] * len(outputs)
    retain_graph = create_graph if retain_graph is None else retain_graph
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise GradError(f"grad: input {i} does not require grad; expected tensors with requires_grad=True.")
    roots, seeds = _seeds(outputs, gradients, create_graph)
    keys = [x.grad_fn if x.grad_fn is not None else x for x in inputs]
    captured = _run(roots, seeds, retain_graph, create_graph, targets=set(keys))
    results = []
    for i, (x, key) in enumerate(zip(inputs, keys)):
        g = captured.get(key)
        if g is None:
            if not allow_unused:
                raise GradError(f"grad: input {i} (shape {x.shape}) was not used to compute the outputs; "
                                f"expected allow_unused=True if that is intended.")
            results.append(None)
        else:
            results.append(g if create_graph else Tensor._wrap(np.array(g, dtype=x.data.dtype)))
    return tuple(results)
