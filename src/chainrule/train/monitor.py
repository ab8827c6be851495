"""GradientMonitor: watch backpropagation's health while training, and say what to change.

Every ``every`` batches it records, per layer (a module that owns parameters):
    - ``grad_norm``: the L2 norm of the layer's gradients, caught by hooks as backward computes them;
    - ``update_ratio``: ``||w_after - w_before|| / ||w_before||``, how far the step moved the weights
      (around 1e-3 is the usual healthy value);
and per activation module:
    - ``dead_relu``: for each ``nn.ReLU``, the fraction of its units that were never positive in
      the batch (a dead unit passes no gradient);
    - ``saturated_sigmoid``: for each ``nn.Sigmoid``, the fraction of outputs below 0.01 or above
      0.99 (where its slope, at most 0.25, is nearly 0).

It warns once per run, with a suggestion, when gradients vanish (the first layer's norm below
``vanish_ratio`` times the last layer's), explode (a norm above ``explode_norm``), or most units
are dead or saturated.
"""

import math
import warnings

import numpy as np

from chainrule.nn.activation import ReLU, Sigmoid
from chainrule.train.callbacks import Callback

__all__ = ["GradientMonitor"]


class GradientMonitor(Callback):
    """Record gradient norms, update/weight ratios, dead ReLUs and saturated sigmoids; warn on trouble.

    Args:
        every: record one batch in ``every``.
        vanish_ratio: warn when first-layer norm < ``vanish_ratio`` x last-layer norm.
        explode_norm: warn when a layer's gradient norm exceeds this.
        dead_fraction: warn when more than this fraction of a ReLU's units are dead, or of a
            sigmoid's outputs saturated.

    Attributes:
        history: ``{"epoch": [...], "batch": [...], "grad_norm": {layer: [...]},
            "update_ratio": {layer: [...]}, "dead_relu": {name: [...]}, "saturated_sigmoid": {name: [...]}}``,
            one entry per recorded batch, ready to plot against ``history["epoch"]``.
    """

    def __init__(self, every=1, vanish_ratio=1e-7, explode_norm=1e3, dead_fraction=0.5):
        super().__init__()
        if every < 1:
            raise ValueError(f"GradientMonitor: every must be positive; expected >= 1, got {every}.")
        self.every, self.vanish_ratio, self.explode_norm = every, vanish_ratio, explode_norm
        self.dead_fraction = dead_fraction
        self.history = None
        self._handles = []

    # --- setting up and tearing down hooks ------------------------------------------------
    def on_train_begin(self, logs=None):
        self.layers = {}
        for name, module in self.model.named_modules():
            params = list(module.parameters(recurse=False))
            if params:
                self.layers[name or type(module).__name__] = params
        activations = {name or type(module).__name__: module for name, module in self.model.named_modules()
                       if isinstance(module, (ReLU, Sigmoid))}
        self.history = {"epoch": [], "batch": [], "grad_norm": {name: [] for name in self.layers},
                        "update_ratio": {name: [] for name in self.layers},
                        "dead_relu": {n: [] for n, m in activations.items() if isinstance(m, ReLU)},
                        "saturated_sigmoid": {n: [] for n, m in activations.items() if isinstance(m, Sigmoid)}}
        self._warned, self._step, self._recording, self._epoch = set(), 0, False, 0
        self._remove_hooks()
        for layer, params in self.layers.items():
            for param in params:
                if param.requires_grad:
                    self._handles.append(param.register_hook(self._grad_hook(layer)))
        for name, module in activations.items():
            self._handles.append(module.register_forward_hook(self._activation_hook(name)))

    def on_train_end(self, logs=None):
        self._remove_hooks()

    def _remove_hooks(self):
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _grad_hook(self, layer):
        def hook(grad):
            if self._recording:
                self._squares[layer] = self._squares.get(layer, 0.0) + float(np.sum(np.square(grad.data, dtype=np.float64)))
        return hook

    def _activation_hook(self, name):
        def hook(module, inputs, output):
            if self._recording and module.training:
                values = output.data.reshape(output.data.shape[0], -1) if output.data.ndim > 1 else output.data[None]
                if isinstance(module, ReLU):
                    fraction = 1.0 - float((values > 0).any(axis=0).mean())
                else:
                    fraction = float(((values < 0.01) | (values > 0.99)).mean())
                self._activations.setdefault(name, []).append(fraction)
        return hook

    # --- recording ------------------------------------------------------------------------
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self._recording = self._step % self.every == 0
        if self._recording:
            self._squares, self._activations = {}, {}
            self._before = {layer: [p.data.astype(np.float64) for p in params] for layer, params in self.layers.items()}

    def on_train_batch_end(self, batch, logs=None):
        if self._recording:
            self._record(batch)
        self._recording = False
        self._step += 1

    def _record(self, batch):
        history = self.history
        history["epoch"].append(self._epoch)
        history["batch"].append(batch)
        norms = {}
        for layer, params in self.layers.items():
            norms[layer] = math.sqrt(self._squares.get(layer, 0.0))
            history["grad_norm"][layer].append(norms[layer])
            moved = math.sqrt(sum(float(np.sum((p.data - old) ** 2)) for p, old in zip(params, self._before[layer])))
            size = math.sqrt(sum(float(np.sum(old ** 2)) for old in self._before[layer]))
            history["update_ratio"][layer].append(moved / size if size > 0 else math.inf if moved > 0 else 0.0)
        for kind in ("dead_relu", "saturated_sigmoid"):
            for name, values in history[kind].items():
                fractions = self._activations.get(name)
                values.append(float(np.mean(fractions)) if fractions else math.nan)
        self._check(norms, batch)

    # --- advice ---------------------------------------------------------------------------
    def _warn_once(self, kind, message):
        if kind not in self._warned:
            self._warned.add(kind)
            warnings.warn(f"GradientMonitor: {message}", RuntimeWarning, stacklevel=3)

    def _check(self, norms, batch):
        where = f"(epoch {self._epoch + 1}, batch {batch + 1})"
        names = list(norms)
        dead = any(values[-1] > self.dead_fraction for values in self.history["dead_relu"].values())
        if len(names) >= 2 and not dead:  # gradients stopped by dead ReLUs get their own warning below
            first, last = norms[names[0]], norms[names[-1]]
            if last > 0 and first < self.vanish_ratio * last:
                self._warn_once("vanish", f"gradients vanish toward the input {where}: the first layer's ({names[0]}) "
                                f"gradient norm {first:.2e} is below {self.vanish_ratio:g} x the last layer's "
                                f"({names[-1]}) {last:.2e}. Hint: try ReLU instead of sigmoid, or a smaller depth "
                                f"/ better init (nn.init.xavier_uniform_, kaiming).")
        for name, norm in norms.items():
            if not norm <= self.explode_norm:  # NaN counts as exploded
                self._warn_once("explode", f"gradients explode {where}: layer {name} has gradient norm {norm:.2e}, "
                                f"above {self.explode_norm:g}. Hint: try a lower lr or clip_grad_norm_.")
                break
        for name, values in self.history["dead_relu"].items():
            if values[-1] > self.dead_fraction:
                self._warn_once("dead", f"{values[-1]:.0%} of the units after ReLU {name} never fired {where}. "
                                "Hint: lower the lr, use LeakyReLU, or a He (kaiming) init.")
        for name, values in self.history["saturated_sigmoid"].items():
            if values[-1] > self.dead_fraction:
                self._warn_once("saturated", f"{values[-1]:.0%} of the outputs of Sigmoid {name} are saturated "
                                f"(< 0.01 or > 0.99) {where}. Hint: normalize the inputs, use a smaller init, or ReLU.")

    # --- resuming -------------------------------------------------------------------------
    def get_state(self):
        return {"history": self.history, "step": self._step, "warned": sorted(self._warned)}

    def set_state(self, state):
        self.history, self._step, self._warned = state["history"], state["step"], set(state["warned"])
