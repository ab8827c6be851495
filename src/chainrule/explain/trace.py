"""Trace one training step: every op's forward, the loss, every node's backward, every update.

``trace`` runs the forward pass, the loss and ``loss.backward()`` while subscribed to the engine's
event stream (``chainrule.autograd.subscribe``), so every number in the record is the one the
engine computed: the gradients are the real ``.grad`` values, not a second calculation. Nodes
are numbered in the order their ops ran; values are named ``x`` (inputs), ``y`` (targets), by
``named_parameters()`` (parameters) and ``v1, v2, ...`` (step outputs), the loss ``loss``.
"""

from dataclasses import dataclass, field

import numpy as np

from chainrule.autograd.engine import subscribe, ForwardEvent
from chainrule.errors import GradError, ShapeError
from chainrule.explain.rules import Rule, check_lang, rule_for, sentence
from chainrule.ops.nn import mse_loss
from chainrule.tensor import Tensor

__all__ = ["trace", "Trace", "Value", "Operand", "ForwardStep", "LossRecord", "GradientFlow",
           "BackwardStep", "Update"]

MAX_VALUES = 20
"""Tensors with more elements are recorded as shape and statistics rather than every value."""


@dataclass
class Value:
    """One recorded array: all its values when small, else its shape and a few statistics.

    Attributes:
        shape, dtype: the array's shape and dtype name.
        array: a copy of the array when it has at most ``max_values`` elements, else None.
        stats: ``{"min", "max", "mean", "std"}`` when the array is too big to list, else None.
    """
    shape: tuple
    dtype: str
    array: np.ndarray = None
    stats: dict = None

    @classmethod
    def of(cls, array, max_values=MAX_VALUES):
        array = np.asarray(array)
        if array.size <= max_values:
            return cls(tuple(array.shape), str(array.dtype), array=np.array(array))
        if array.dtype.kind in "fiub":
            stats = {"min": float(array.min()), "max": float(array.max()),
                     "mean": float(array.mean()), "std": float(array.std())}
        else:
            stats = {}
        return cls(tuple(array.shape), str(array.dtype), stats=stats)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def to_dict(self):
        out = {"shape": list(self.shape), "dtype": self.dtype}
        if self.array is not None:
            out["values"] = self.array.tolist()
        else:
            out["stats"] = dict(self.stats)
        return out


@dataclass
class Operand:
    """One input of a forward step: its name, what kind of value it is, and its value.

    ``kind`` is "input", "target", "parameter", "step" (an earlier step's output), "constant", or
    "earlier" (a value computed with a graph before the trace began).
    """
    name: str
    kind: str
    value: Value

    def to_dict(self):
        return {"name": self.name, "kind": self.kind, "value": self.value.to_dict()}


@dataclass
class ForwardStep:
    """One op of the forward pass, numbered from 1 in the order the ops ran.

    Attributes:
        index: the step number.
        op: the registered op name.
        output: the name of its result (``v{index}``, or ``loss``).
        inputs: one Operand per input, in order.
        options: the op's keyword options (``dim``, ``reduction``...).
        value: the result.
        requires_grad: whether a graph node was recorded (False for ops on constants only).
        module: the name of the innermost module whose output this is, if any.
        rule: the op's Rule (its forward formula and local derivative).
    """
    index: int
    op: str
    output: str
    inputs: list
    options: dict
    value: Value
    requires_grad: bool
    rule: Rule
    module: str = None

    def to_dict(self, lang="en"):
        return {"index": self.index, "op": self.op, "output": self.output, "module": self.module,
                "inputs": [operand.to_dict() for operand in self.inputs], "options": _jsonable(self.options),
                "value": self.value.to_dict(), "requires_grad": self.requires_grad,
                "forward": self.rule.forward, "forward_latex": self.rule.forward_latex}


@dataclass
class LossRecord:
    """The loss: its value and the step that computed it."""
    value: float
    step: int
    op: str
    inputs: list
    rule: Rule

    def to_dict(self, lang="en"):
        return {"value": self.value, "step": self.step, "op": self.op, "inputs": list(self.inputs),
                "forward": self.rule.forward, "forward_latex": self.rule.forward_latex,
                "words": self.rule.describe(lang)}


@dataclass
class GradientFlow:
    """The gradient one node sends to one of its inputs.

    Attributes:
        name: the input's name.
        shape: the input's shape.
        grad: the gradient the input received (after broadcasting was undone), or None.
        grad_shape: the shape of the gradient the op's backward returned, before the engine summed it.
        summed_dims: the dims of that gradient the engine summed to undo broadcasting (empty if none).
    """
    name: str
    shape: tuple
    grad: Value
    grad_shape: tuple
    summed_dims: tuple = ()

    def broadcast_note(self, lang="en"):
        """The sentence explaining the summed dims, or None when nothing was broadcast."""
        if not self.summed_dims and self.grad_shape == self.shape:
            return None
        return sentence("broadcast", lang, name=self.name, shape=self.shape, grad_shape=self.grad_shape,
                        dims=self.summed_dims)

    def to_dict(self, lang="en"):
        return {"name": self.name, "shape": list(self.shape),
                "grad": None if self.grad is None else self.grad.to_dict(),
                "grad_shape": list(self.grad_shape), "summed_dims": list(self.summed_dims),
                "broadcast": self.broadcast_note(lang)}


@dataclass
class BackwardStep:
    """One node's backward: the gradient it got, its local rule, what it sent to each input.

    Attributes:
        step: the number of the forward step this node belongs to; 0 for a node made before the
            trace (the history of an input that was computed with a graph).
        op, output: the op and the name of the value whose gradient arrived.
        rule: the op's local-derivative Rule.
        grad_output: the incoming gradient (dL/d output).
        inputs: one GradientFlow per input that needs a gradient (constants are left out).
    """
    step: int
    op: str
    output: str
    rule: Rule
    grad_output: Value
    inputs: list

    def to_dict(self, lang="en"):
        return {"step": self.step, "op": self.op, "output": self.output, "rule": self.rule.to_dict(lang),
                "grad_output": self.grad_output.to_dict(), "inputs": [g.to_dict(lang) for g in self.inputs]}


@dataclass
class Update:
    """One parameter's update, with the numbers: ``after = before - lr * grad`` for plain SGD.

    ``lr`` is None when an optimizer applied its own rule (named in ``optimizer``).
    """
    name: str
    before: np.ndarray
    grad: np.ndarray
    after: np.ndarray
    lr: float = None
    optimizer: str = None

    def to_dict(self, max_values=MAX_VALUES):
        return {"name": self.name, "lr": self.lr, "optimizer": self.optimizer,
                "before": Value.of(self.before, max_values).to_dict(),
                "grad": Value.of(self.grad, max_values).to_dict(),
                "after": Value.of(self.after, max_values).to_dict()}


@dataclass
class Trace:
    """The record of one training step.

    Attributes:
        forward: the ForwardSteps in the order the ops ran.
        loss: the LossRecord.
        backward: the BackwardSteps in the order the engine ran them (reverse topological).
        gradients: name -> the gradient every leaf (parameter or input) received, summed over uses.
        updates: the Updates, empty when neither ``lr`` nor an optimizer was given.
        lr: the learning rate of a plain gradient-descent update, or None.
        optimizer: the optimizer's class name, or None.
        lang: the default language of ``to_dict`` and the renderers.
        max_values: the size above which tensors are summarized.
    """
    forward: list
    loss: LossRecord
    backward: list
    gradients: dict
    updates: list = field(default_factory=list)
    lr: float = None
    optimizer: str = None
    lang: str = "en"
    max_values: int = MAX_VALUES

    def forward_step(self, index):
        """The ForwardStep numbered ``index``."""
        return self.forward[index - 1]

    def backward_step(self, index):
        """The BackwardStep of forward step ``index``."""
        for step in self.backward:
            if step.step == index:
                return step
        raise KeyError(f"Trace: no backward step for step {index}; expected one of "
                       f"{[s.step for s in self.backward]}.")

    def shared_inputs(self):
        """name -> number of backward steps sending it a gradient, for values used more than once."""
        counts = {}
        for step in self.backward:
            for flow in step.inputs:
                counts[flow.name] = counts.get(flow.name, 0) + 1
        return {name: n for name, n in counts.items() if n > 1}

    def update_rule(self, lang=None):
        """The sentence describing the update step."""
        lang = check_lang(lang or self.lang)
        if self.optimizer is not None:
            return sentence("optimizer", lang, optimizer=self.optimizer)
        return sentence("sgd" if self.lr is not None else "no_update", lang)

    def to_dict(self, lang=None):
        """A JSON-friendly form (lists, numbers, strings) with sentences in ``lang``."""
        lang = check_lang(lang or self.lang)
        return {
            "lang": lang,
            "forward": [step.to_dict(lang) for step in self.forward],
            "loss": self.loss.to_dict(lang),
            "backward": [step.to_dict(lang) for step in self.backward],
            "accumulated": [{"name": name, "count": n, "text": sentence("accumulate", lang, name=name, count=n)}
                            for name, n in self.shared_inputs().items()],
            "gradients": {name: Value.of(g, self.max_values).to_dict() for name, g in self.gradients.items()},
            "update_rule": self.update_rule(lang),
            "lr": self.lr,
            "optimizer": self.optimizer,
            "updates": [update.to_dict(self.max_values) for update in self.updates],
        }


def trace(model_or_fn, inputs, targets=None, loss_fn=None, lr=None, *, optimizer=None, params=None,
          lang="en", max_values=MAX_VALUES):
    """Run one training step and record every number of its forward, backward and update.

    A Module is called as ``model(inputs)`` and its output scored by ``loss_fn(output, targets)``
    (``mse_loss`` when targets are given without a loss_fn; without targets the output is the
    loss). A plain function is called as ``fn(inputs, targets)`` (``fn(inputs)`` without targets)
    and returns the loss, or with ``loss_fn`` given its output is scored like a Module's.
    A tuple of inputs is passed as separate arguments.

    Like a training step, the parameters' ``.grad`` are cleared first and hold this step's
    gradients afterwards; with ``lr`` each parameter is updated in place by ``w <- w - lr * g``,
    with ``optimizer`` by ``optimizer.step()``; with neither, nothing is updated.

    Args:
        model_or_fn: a Module, or a function returning the output or the loss.
        inputs: a Tensor, an array, or a tuple of them.
        targets: a Tensor or array, or None.
        loss_fn: ``loss_fn(output, targets) -> loss``, or None.
        lr: the learning rate of a plain gradient-descent update, or None.
        optimizer: an optimizer over the parameters to call ``step()`` on instead of ``lr``.
        params: ``{name: tensor}`` naming the leaves of a plain function (a Module's come from
            ``named_parameters()``); unnamed leaves are called ``p1, p2, ...``.
        lang: "en" or "zh", the default language of the record's sentences.
        max_values: tensors with more elements are recorded as shape and statistics.

    Returns:
        A Trace.

    Raises:
        ShapeError: the loss is not a single number.
        GradError: the loss does not depend on anything that requires a gradient.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain import trace
        >>> w = cr.tensor([2.0], requires_grad=True)
        >>> t = trace(lambda x: (w * x).sum(), cr.tensor([3.0]), params={"w": w}, lr=0.5)
        >>> [step.op for step in t.forward], t.gradients["w"].tolist(), t.updates[0].after.tolist()
        (['mul', 'sum'], [3.0], [0.5])
    """
    check_lang(lang)
    if lr is not None and optimizer is not None:
        raise ValueError("trace: both lr and optimizer were given; expected one of them.")
    recorder = _Recorder(max_values)
    xs = tuple(_as_tensor(x) for x in inputs) if isinstance(inputs, tuple) else (_as_tensor(inputs),)
    y = None if targets is None else _as_tensor(targets)
    named = _named_leaves(model_or_fn, params)
    recorder.name_leaves(named, xs, y)
    for _, p in named:
        p.grad = None

    hooks = _tag_modules(model_or_fn, recorder)
    try:
        with subscribe(recorder.on_event):
            loss = _forward_and_loss(model_or_fn, xs, y, loss_fn)
            loss_record = recorder.finish_forward(loss)
            loss.backward()
    finally:
        for hook in hooks:
            hook.remove()

    order = [name for name, _ in named]
    gradients = {name: recorder.gradients[name] for name in order if name in recorder.gradients}
    gradients.update((name, g) for name, g in recorder.gradients.items() if name not in gradients)
    updates = _update(named, gradients, lr, optimizer)
    return Trace(forward=recorder.forward, loss=loss_record, backward=recorder.backward,
                 gradients=gradients, updates=updates, lr=None if lr is None else float(lr),
                 optimizer=None if optimizer is None else type(optimizer).__name__,
                 lang=lang, max_values=max_values)


# --- running the step ---------------------------------------------------------------------

def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _is_module(obj):
    from chainrule.nn.module import Module
    return isinstance(obj, Module)


def _named_leaves(model_or_fn, params):
    if params is not None:
        return list(params.items())
    if _is_module(model_or_fn):
        return list(model_or_fn.named_parameters())
    return []


def _forward_and_loss(model_or_fn, xs, y, loss_fn):
    if _is_module(model_or_fn) or loss_fn is not None:
        out = model_or_fn(*xs)
        if loss_fn is not None:
            loss = loss_fn(out, y)
        elif y is not None:
            loss = mse_loss(out, y)
        else:
            loss = out
    else:
        loss = model_or_fn(*xs) if y is None else model_or_fn(*xs, y)
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise ShapeError(f"trace: the loss must be a single number; expected a 1-element Tensor, got {shape}.")
    if loss.grad_fn is None:
        raise GradError("trace: the loss has no graph to backpropagate through; expected parameters or "
                        "inputs with requires_grad=True.")
    return loss


def _tag_modules(model_or_fn, recorder):
    """Forward hooks that label steps with the name of the module that produced them."""
    if not _is_module(model_or_fn):
        return []
    hooks = []
    for name, module in model_or_fn.named_modules():
        if name:
            hooks.append(module.register_forward_hook(
                lambda module, args, out, name=name: recorder.tag_module(name, out)))
    return hooks


def _update(named, gradients, lr, optimizer):
    if lr is None and optimizer is None:
        return []
    trained = [(name, p) for name, p in named if name in gradients]
    before = {name: np.array(p.data) for name, p in trained}
    if optimizer is not None:
        optimizer.step()
    else:
        for _, p in trained:
            p.data -= lr * p.grad.data  # in place, as optimizer.step() does: views and references stay valid
    return [Update(name, before[name], np.array(p.grad.data), np.array(p.data),
                   lr=None if lr is None else float(lr),
                   optimizer=None if optimizer is None else type(optimizer).__name__)
            for name, p in trained]


# --- the listener ---------------------------------------------------------------------------

class _Recorder:
    """Turns the engine's events into ForwardSteps and BackwardSteps, naming every value."""

    def __init__(self, max_values):
        self.max_values = max_values
        self.forward, self.backward = [], []
        self.gradients = {}
        self.leaf_names = {}      # id(leaf Tensor) -> name
        self.array_names = {}     # id(ndarray) -> (name, kind), for values that carry no graph
        self.node_steps = {}      # graph node -> ForwardStep
        self.earlier_nodes = {}   # graph node made before the trace (an input's history) -> name
        self.keep_alive = []      # the named arrays, so that their ids stay unique
        self.constants = 0
        self.unnamed_leaves = 0

    def name_leaves(self, named, xs, y):
        for name, p in named:
            self.leaf_names[id(p)] = name
            self._name_array(p.data, name, "parameter")
        for i, x in enumerate(xs):
            name = "x" if len(xs) == 1 else f"x{i + 1}"
            self.leaf_names.setdefault(id(x), name)
            self._name_array(x.data, name, "input")
        if y is not None:
            self._name_array(y.data, "y", "target")

    def _name_array(self, array, name, kind):
        self.array_names[id(array)] = (name, kind)
        self.keep_alive.append(array)

    def on_event(self, event):
        if isinstance(event, ForwardEvent):
            self._on_forward(event)
        else:
            self._on_backward(event)

    def _on_forward(self, event):
        index = len(self.forward) + 1
        parents = event.node.parents if event.node is not None else (None,) * len(event.inputs)
        operands = [self._operand(array, parent) for array, parent in zip(event.inputs, parents)]
        step = ForwardStep(index, event.op, f"v{index}", operands, dict(event.options),
                           Value.of(event.output, self.max_values), event.node is not None, rule_for(event.op))
        self.forward.append(step)
        if event.node is not None:
            self.node_steps[event.node] = step
        self._name_array(event.output, step.output, "step")

    def _operand(self, array, parent):
        value = Value.of(array, self.max_values)
        if parent is not None and not isinstance(parent, Tensor):
            step = self.node_steps.get(parent)
            if step is None:
                return Operand(self._node_name(parent), "earlier", value)
            return Operand(step.output, "step", value)
        if parent is not None:
            return Operand(self._leaf_name(parent), self._leaf_kind(parent), value)
        known = self.array_names.get(id(array))
        if known is not None:
            return Operand(known[0], known[1], value)
        return Operand(self._constant_name(array), "constant", value)

    def _node_name(self, node):
        step = self.node_steps.get(node)
        if step is not None:
            return step.output
        name = self.earlier_nodes.get(node)
        if name is None:
            name = self.earlier_nodes[node] = f"e{len(self.earlier_nodes) + 1}"
        return name

    def _leaf_name(self, leaf):
        name = self.leaf_names.get(id(leaf))
        if name is None:
            self.unnamed_leaves += 1
            name = self.leaf_names[id(leaf)] = f"p{self.unnamed_leaves}"
            self.keep_alive.append(leaf)
        return name

    def _leaf_kind(self, leaf):
        known = self.array_names.get(id(leaf.data))
        return known[1] if known is not None else "parameter"

    def _constant_name(self, array):
        array = np.asarray(array)
        if array.size == 1 and array.dtype.kind in "fiub":
            return f"{array.item():g}"
        self.constants += 1
        return f"c{self.constants}"

    def tag_module(self, name, out):
        step = self.node_steps.get(getattr(out, "grad_fn", None))
        if step is not None and step.module is None:  # inner modules finish first: keep the innermost
            step.module = name

    def finish_forward(self, loss):
        step = self.node_steps[loss.grad_fn]
        old = step.output
        step.output = "loss"
        for later in self.forward[step.index:]:
            for operand in later.inputs:
                if operand.kind == "step" and operand.name == old:
                    operand.name = "loss"
        return LossRecord(float(loss.data.reshape(-1)[0]), step.index, step.op,
                          [operand.name for operand in step.inputs], step.rule)

    def _on_backward(self, event):
        flows = []
        for parent, raw, received, shape in zip(event.node.parents, event.grad_inputs, event.input_grads,
                                                event.input_shapes):
            if parent is None:
                continue
            if isinstance(parent, Tensor):
                name = self._leaf_name(parent)
                if received is not None:
                    previous = self.gradients.get(name)
                    self.gradients[name] = np.array(received) if previous is None else previous + received
            else:
                name = self._node_name(parent)
            raw_shape = tuple(np.shape(raw)) if raw is not None else tuple(shape)
            flows.append(GradientFlow(name, tuple(shape),
                                      None if received is None else Value.of(received, self.max_values),
                                      raw_shape, _summed_dims(raw_shape, tuple(shape))))
        step = self.node_steps.get(event.node)
        index = step.index if step is not None else 0  # 0: a node from before the trace
        self.backward.append(BackwardStep(index, event.op, self._node_name(event.node), rule_for(event.op),
                                          Value.of(event.grad_output, self.max_values), flows))


def _summed_dims(grad_shape, shape):
    """The dims of ``grad_shape`` the engine sums to get back to ``shape`` (as its _sum_to_shape)."""
    if grad_shape == shape:
        return ()
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and grad_shape[lead + i] != 1)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
