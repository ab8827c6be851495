"""Tape: write down one training step's ops once, then replay them without building a graph.

In a small network most of an eager step is the engine, not NumPy: every op makes a graph node
and a Tensor, and ``backward`` orders the nodes with a heap and checks each gradient's shape and
dtype. None of that changes from one step to the next when the step runs the same ops on inputs
of the same shapes. A tape is what the chain rule needs, written down once (a Wengert list):
which op ran on which values, in order, and where each gradient goes. Replaying it calls the same
registered ``forward`` and ``backward`` of every op, in the same order, with the same sums, so the
gradients are the eager step's, bit for bit.

A tape replays what it saw, so it checks what it saw. The first two calls with inputs of new
shapes run eagerly, each recorded; the tape replays only when both ran the same ops on the same
tensors and every value that came from neither an input nor a parameter was equal in both: a
constant. A step whose ops differed between the two calls (an ``if`` on a loss value), that draws
random numbers outside an op (dropout's mask) or that changes state outside its ops (batch norm's
batch counter) is refused with an error that names the op: a replay would silently repeat the
first call. A branch on the data that goes the same way on both recorded calls and another way
later cannot be seen; Python that depends on the data does not belong in a taped step. Calls
watched by ``explain`` (any subscriber to the engine's events), and calls where a parameter has a
gradient hook, run eagerly, so they see every op.
"""

import weakref

import numpy as np

from chainrule.autograd import engine
from chainrule.autograd.function import Context, output_array
from chainrule.errors import GradError
from chainrule.tensor import Tensor

__all__ = ["Tape", "outside_ops"]


class _Recording:
    active = 0  # how many tapes are recording (a step may call another tape)


_recording = _Recording()


def outside_ops(what):
    """Refuse, while a tape records, an effect its replay would not repeat.

    Layers call this where they act outside the ops: drawing a random mask, counting batches.
    """
    if _recording.active:
        raise GradError(f"Tape: {what}, outside the ops a tape replays; expected a step whose work is all "
                        f"ops (model.eval() turns dropout and batch statistics off). Hint: run this step "
                        f"without a Tape.")


class Tape:
    """A training step (forward and backward) recorded, checked, then replayed on new inputs.

    Args:
        step: a function of Tensors returning the scalar loss, e.g.
            ``lambda x, y: F.mse_loss(model(x), y)``, or a tuple of the loss and other tensors it
            computed (the model's outputs, for metrics). It must run the same ops on every call.

    Calling the tape with the step's Tensors runs the forward and the backward pass: every
    parameter's ``.grad`` accumulates, as after ``loss.backward()``. It returns what the step
    returns, detached. Each new set of input shapes and dtypes is recorded anew (two eager calls),
    so a smaller last batch costs time, never a wrong answer. ``replays`` counts the replayed calls.

    A replay runs the ops and nothing else: Python code in the step between ops (printing, counting)
    runs on the recorded calls only, and the parameters are those the recording read (a layer
    replaced by a new one needs a new Tape). A parameter reshaped or frozen is recorded again.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([[0.5], [-0.5]], requires_grad=True)
        >>> step = cr.autograd.Tape(lambda x, y: ((x @ w - y) ** 2).mean())
        >>> x, y = cr.tensor([[1.0, 2.0]]), cr.tensor([[1.0]])
        >>> for _ in range(3):  # two eager calls, recorded and compared, then a replay
        ...     w.grad = None
        ...     loss = step(x, y)
        >>> loss.item(), w.grad.tolist(), step.replays
        (2.25, [[-3.0], [-6.0]], 1)
    """

    def __init__(self, step):
        if not callable(step):
            raise TypeError(f"Tape: expected a function of Tensors that returns the loss, got "
                            f"{type(step).__name__}.")
        self.step = step
        self.replays = 0
        self._first = {}  # input signature -> the first call's recording
        self._programs = {}  # input signature -> the checked program

    def __call__(self, *inputs):
        for i, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"Tape: input {i} is a {type(x).__name__}; expected Tensors.")
        if not engine.grad_mode.enabled:
            raise GradError("Tape: called with gradients disabled; a tape runs the backward pass, so expected "
                            "a call outside no_grad() (evaluate with the model itself).")
        signature = tuple([(x.data.shape, x.data.dtype, x.requires_grad) for x in inputs])
        program = self._programs.get(signature)
        if program is not None:
            state = program.parameters_state(inputs)
            if state is _CHANGED:
                del self._programs[signature]  # a parameter was reshaped or frozen: record again
            elif state is _HOOKED or engine.listeners:
                return _detached(_eager(self.step, inputs))  # eager runs the hooks; explain sees every op
            else:
                self.replays += 1
                return program.run(inputs)
        if engine.listeners:
            return _detached(_eager(self.step, inputs))
        return self._record(inputs, signature)

    def _record(self, inputs, signature):
        reader = _Reader(inputs)
        _recording.active += 1
        try:
            with engine.subscribe(reader):
                returned = _eager(self.step, inputs)
        finally:
            _recording.active -= 1
        call = reader.finish(returned)
        first = self._first.pop(signature, None)
        if first is None:
            self._first[signature] = call
        else:
            self._programs[signature] = _Program(_compare(first, call), inputs)
        return _detached(returned)

    def __repr__(self):
        name = getattr(self.step, "__qualname__", type(self.step).__name__)
        programs = ", ".join(f"{len(p.ops)} ops" for p in self._programs.values()) or "nothing yet"
        return f"Tape({name}; replays {programs})"


def _eager(step, inputs):
    """Run the step and its backward as usual; return what it returned (the loss's graph freed)."""
    returned = step(*inputs)
    loss = returned[0] if isinstance(returned, tuple) and returned else returned
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        got = f"shape {loss.shape}" if isinstance(loss, Tensor) else type(loss).__name__
        raise GradError(f"Tape: the step must return the loss, or a tuple that starts with it; expected a "
                        f"1-element Tensor, got {got}.")
    if isinstance(returned, tuple) and not all(isinstance(t, Tensor) for t in returned):
        raise GradError(f"Tape: the step returned a tuple of {[type(t).__name__ for t in returned]}; expected "
                        f"Tensors only.")
    if loss.grad_fn is None:
        raise GradError("Tape: the step's loss depends on no tensor that requires grad; expected a loss "
                        "computed from parameters (requires_grad=True).")
    loss.backward()
    return returned


def _detached(returned):
    if isinstance(returned, tuple):
        return tuple(t.detach() for t in returned)
    return returned.detach()


# --- reading a recorded call ------------------------------------------------------------------
#
# Each value an op read is named by where it came from: ("input", k), ("param", tensor),
# ("op", j) for the j-th op's output, or ("constant", value). Inputs that carry a gradient are
# named by the graph's own edges (the node's parents); the others, and arrays passed as options
# (an embedding's indices, a loss's targets), by the identity of their arrays. The reader holds
# those arrays and nodes by weak references, so recording keeps nothing alive that the eager call
# would free; a dead reference tells a reused identity apart.

class _Op:
    """One recorded op: its Function, where each input and each option came from, and its output."""

    __slots__ = ("function", "sources", "options", "needs", "shape", "dtype")

    def __init__(self, function, sources, options, needs, output):
        self.function, self.sources, self.options, self.needs = function, sources, options, needs
        self.shape, self.dtype = output.shape, output.dtype


class _Reader:
    """Subscribed to the engine during one eager call: turns each op's forward event into an _Op."""

    def __init__(self, inputs):
        self.ops, self.nodes = [], []  # self.nodes[j]: a weak reference to op j's node, or None
        self._input_index = {id(x): k for k, x in enumerate(inputs)}
        self._arrays = {id(x.data): (weakref.ref(x.data), ("input", k)) for k, x in enumerate(inputs)}
        self._node_index = {}

    def __call__(self, event):
        if not isinstance(event, engine.ForwardEvent):
            return  # the eager backward's events
        node = event.node
        parents = node.parents if node is not None else (None,) * len(event.inputs)
        sources = []
        for value, parent in zip(event.inputs, parents):
            if parent is None:
                sources.append(self._source_of(value))
            elif isinstance(parent, Tensor):
                k = self._input_index.get(id(parent))
                sources.append(("param", parent) if k is None else ("input", k))
            else:
                j = self._index_of(parent)
                if j is None:
                    raise GradError(f"Tape: op {len(self.ops)} ({event.op}) reads a tensor with a graph made "
                                    f"before the step; expected tensors made inside it, or detached ones.")
                sources.append(("op", j))
        options = {key: self._source_of(value) for key, value in event.options.items()}
        j = len(self.ops)
        self.ops.append(_Op(event.function, tuple(sources), options,
                            node.needs_input_grad if node is not None else None, event.output))
        self.nodes.append(None if node is None else weakref.ref(node))
        if node is not None:
            self._node_index[id(node)] = (self.nodes[j], j)
        self._arrays[id(event.output)] = (weakref.ref(event.output), ("op", j))

    def _source_of(self, value):
        entry = self._arrays.get(id(value)) if isinstance(value, np.ndarray) else None
        if entry is not None and entry[0]() is value:
            return entry[1]
        return ("constant", value)

    def _index_of(self, node):
        ref, j = self._node_index.get(id(node), (None, None))
        return j if ref is not None and ref() is node else None

    def finish(self, returned):
        """The call as read, once it is over (hooks registered late are seen now)."""
        for j, ref in enumerate(self.nodes):
            node = None if ref is None else ref()
            if node is not None and node._pre_hooks:
                raise GradError(f"Tape: op {j} ({self.ops[j].function.name}) has a gradient hook (register_hook "
                                f"or retain_grad inside the step), which a replay would skip; expected none.")
        outputs = returned if isinstance(returned, tuple) else (returned,)
        loss_index = self._index_of(outputs[0].grad_fn)
        if loss_index is None:
            raise GradError("Tape: the step returned a loss computed before it was called; expected the loss "
                            "of the step's own ops.")
        return _Call(self.ops, loss_index, tuple(self._source_of(t.data) for t in outputs[1:]),
                     isinstance(returned, tuple))


class _Call:
    """One recorded call: its ops, the loss's op, where the other returned tensors came from."""

    def __init__(self, ops, loss_index, output_sources, returns_tuple):
        self.ops, self.loss_index = ops, loss_index
        self.output_sources, self.returns_tuple = output_sources, returns_tuple


def _compare(first_call, second_call):
    """The second call, checked against the first: same ops, same sources, equal constants."""
    first, second = first_call.ops, second_call.ops
    if len(first) != len(second) or first_call.loss_index != second_call.loss_index:
        raise GradError(f"Tape: the step ran {len(first)} ops on one call and {len(second)} on the next; expected "
                        f"the same ops every call (no Python branch on tensor values).")
    if (first_call.returns_tuple != second_call.returns_tuple
            or len(first_call.output_sources) != len(second_call.output_sources)
            or not all(a[0] == b[0] and _same_value(a[1], b[1])
                       for a, b in zip(first_call.output_sources, second_call.output_sources))):
        raise GradError("Tape: the step returned other tensors on the next call; expected the same every call.")
    for j, (a, b) in enumerate(zip(first, second)):
        where = f"Tape: op {j} ({b.function.name})"
        if (a.function is not b.function or a.shape != b.shape or a.dtype != b.dtype
                or a.options.keys() != b.options.keys()):
            raise GradError(f"{where} differs between two calls ({a.function.name} {a.shape} {a.dtype} then "
                            f"{b.function.name} {b.shape} {b.dtype}); expected the same ops every call.")
        pairs = [(f"input {i}", x, y) for i, (x, y) in enumerate(zip(a.sources, b.sources))]
        pairs += [(f"option {key!r}", a.options[key], b.options[key]) for key in a.options]
        for what, (kind, first_value), (other_kind, value) in pairs:
            if kind != other_kind or (kind == "param" and first_value is not value) or (
                    kind in ("input", "op") and first_value != value):
                raise GradError(f"{where} read its {what} from {_describe(kind, first_value)} on one call and from "
                                f"{_describe(other_kind, value)} on the next; expected the same tensors every call.")
            if kind == "constant" and not _same_value(first_value, value):
                raise GradError(f"{where} read a value made inside the step ({what}) that changed between calls, "
                                f"as a random mask or an array computed from the data does; a replay would repeat "
                                f"the first. Hint: pass it to the step as an input.")
    return second_call


def _describe(kind, what):
    return {"input": f"input {what}", "op": f"op {what}", "param": "a parameter"}.get(kind, "a constant")


def _same_value(a, b):
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):
        return False


_READY, _CHANGED, _HOOKED = "ready", "changed", "hooked"


# --- the replay -------------------------------------------------------------------------------
#
# Every value gets a slot in one list: the inputs first (slot k for input k), then the parameters,
# the constants and the ops' outputs. The plan is made once; a replay only indexes.

class _Program:
    """The checked ops of a step as a plan over slots: forward in order, backward in reverse."""

    def __init__(self, call, inputs):
        ops, loss_index = call.ops, call.loss_index
        self.ops, self.loss_index, self.returns_tuple = ops, loss_index, call.returns_tuple
        self.params = []
        for op in ops:
            for kind, what in op.sources:
                if kind == "param" and not any(p is what for p in self.params):
                    self.params.append(what)
        self.param_slots = list(range(len(inputs), len(inputs) + len(self.params)))
        self.param_layout = [(p.data.shape, p.data.dtype) for p in self.params]
        self.constants = []
        self._slot_of_param = {id(p): slot for p, slot in zip(self.params, self.param_slots)}
        self._op_slot, self._last_use, self.size = [], {}, len(inputs) + len(self.params)
        source_slots, forward = [], []
        for j, op in enumerate(ops):
            sources = tuple(self._slot(source, j) for source in op.sources)
            options = {key: value for key, (kind, value) in op.options.items() if kind == "constant"}
            sourced = tuple((key, self._slot(source, j)) for key, source in op.options.items()
                            if source[0] != "constant")
            source_slots.append(sources)
            self._op_slot.append(self.size)
            arity = -1 if options or sourced else len(sources)  # -1: keyword options, passed by name
            forward.append([op.function, op.function.forward, arity, options, sourced, sources, self.size, op.needs])
            self.size += 1
        self.loss_slot = self._op_slot[loss_index]
        self.output_slots = tuple(self._slot(source, len(ops)) for source in call.output_sources)
        released = [[] for _ in ops]
        for slot, j in self._last_use.items():
            if j < len(ops) and slot != self.loss_slot:  # j == len(ops): returned, kept
                released[j].append(slot)
        self.forward = [tuple(step + [tuple(free)]) for step, free in zip(forward, released)]
        self.backward = self._plan_backward(source_slots, inputs)
        self.constant_values = [None] * self.size  # every replay starts from a copy of this
        for slot, constant in self.constants:
            self.constant_values[slot] = constant
        seed = np.array(1, dtype=ops[loss_index].dtype).reshape(ops[loss_index].shape)
        seed.flags.writeable = False  # shared by every replay: a leaf given it must copy it
        self.loss_seed = seed
        self.grad_inputs = sorted({what for op in ops for (kind, what), need in zip(op.sources, op.needs or ())
                                   if kind == "input" and need})

    def _slot(self, source, j):
        """The slot op j reads this source from; a constant gets a slot of its own."""
        kind, what = source
        if kind == "input":
            return what
        if kind == "param":
            return self._slot_of_param[id(what)]
        if kind == "op":
            slot = self._op_slot[what]
            self._last_use[slot] = j
            return slot
        self.constants.append((self.size, what))
        self.size += 1
        return self.size - 1

    def _plan_backward(self, source_slots, inputs):
        """Per op, last first: where each gradient it returns goes, with that value's shape and dtype."""
        layout_of = {k: (x.data.shape, x.data.dtype) for k, x in enumerate(inputs)}
        layout_of.update(zip(self.param_slots, self.param_layout))
        plan = []
        for j in range(self.loss_index, -1, -1):
            op = self.ops[j]
            if op.needs is None or True not in op.needs:
                continue
            targets = []
            for position, ((kind, what), slot, need) in enumerate(zip(op.sources, source_slots[j], op.needs)):
                if need:
                    layout = (self.ops[what].shape, self.ops[what].dtype) if kind == "op" else layout_of[slot]
                    targets.append((position, slot) + layout)
            plan.append((op.function.backward, j, self._op_slot[j], tuple(targets)))
        return plan

    def parameters_state(self, inputs):
        """_CHANGED if a parameter was reshaped, retyped or frozen; _HOOKED if a leaf has a hook."""
        hooked = False
        for p, (shape, dtype) in zip(self.params, self.param_layout):
            if not p.requires_grad or p.data.shape != shape or p.data.dtype != dtype:
                return _CHANGED
            hooked = hooked or p._hooks
        for k in self.grad_inputs:
            hooked = hooked or inputs[k]._hooks
        return _HOOKED if hooked else _READY

    def run(self, inputs):
        """Forward and backward of the recorded ops on these inputs; the leaves' .grad accumulate."""
        values = self.constant_values.copy()
        for k, x in enumerate(inputs):
            values[k] = x.data
        for p, slot in zip(self.params, self.param_slots):
            values[slot] = p.data
        contexts = []
        for function, forward, arity, options, sourced, sources, out_slot, needs, released in self.forward:
            ctx = object.__new__(Context)
            ctx.function = function
            ctx.needs_input_grad = needs
            try:
                # spelled out for one and two inputs, as in Function.apply: a *args call costs more
                if arity == 2:
                    out = forward(ctx, values[sources[0]], values[sources[1]])
                elif arity == 1:
                    out = forward(ctx, values[sources[0]])
                elif arity >= 0:
                    out = forward(ctx, *[values[s] for s in sources])
                else:
                    if sourced:
                        options = dict(options, **{key: values[slot] for key, slot in sourced})
                    out = forward(ctx, *[values[s] for s in sources], **options)
            except (ValueError, IndexError, TypeError) as exc:
                raise function.describe_error(exc, [values[s] for s in sources], options) from None
            values[out_slot] = out if type(out) is np.ndarray else output_array(ctx, out)
            for slot in released:
                values[slot] = None
            contexts.append(ctx)
        loss = values[self.loss_slot]
        grads = [None] * self.size
        grads[self.loss_slot] = self.loss_seed
        for backward, j, out_slot, targets in self.backward:
            g = grads[out_slot]
            if g is None:
                continue
            grads[out_slot] = None
            ctx = contexts[j]
            contexts[j] = None  # its saved arrays go now, as the eager walk frees them
            grads_in = backward(ctx, g)
            if type(grads_in) is not tuple:
                grads_in = (grads_in,)
            for position, slot, shape, dtype in targets:
                grad_in = grads_in[position]
                if grad_in is None:
                    continue
                if grad_in.shape != shape:
                    grad_in = engine._sum_to_shape(grad_in, shape, ctx)
                if grad_in.dtype is not dtype and grad_in.dtype != dtype:
                    grad_in = grad_in.astype(dtype)
                previous = grads[slot]
                grads[slot] = grad_in if previous is None else previous + grad_in
        stored = set()
        for p, slot in zip(self.params, self.param_slots):
            if grads[slot] is not None:
                engine._accumulate_into_leaf(p, grads[slot], False, stored)
        for k in self.grad_inputs:
            if grads[k] is not None:
                engine._accumulate_into_leaf(inputs[k], grads[k], False, stored)
        if self.returns_tuple:
            return (Tensor._wrap(loss),) + tuple(Tensor._wrap(values[slot]) for slot in self.output_slots)
        return Tensor._wrap(loss)
