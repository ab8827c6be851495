"""AdversarialTrainer: also train on embeddings nudged the way that raises the loss most.

Miyato, Dai and Goodfellow ("Adversarial Training Methods for Semi-Supervised Text
Classification", 2017) regularise a text classifier by training it, beside each batch, on the same
batch with its token embeddings moved a short step along the gradient of the loss: to first order,
the direction in which the loss grows fastest. A model that must classify those nudged inputs too
cannot rest on one embedding being exactly where it is. Each step is the Trainer's five with two
more between the backward pass and the update::

    loss = loss_fn(model(inputs), targets); loss.backward()     # 1-3: forward, loss, backward
    r = epsilon * g / ||g||                                      # 3a. g: the embedding table's gradient
    with the table moved by r:                                   # 3b. the adversarial pass
        loss_fn(model(inputs), targets).backward()               #     (its gradients add to the first)
    optimizer.step(); optimizer.zero_grad()                      # 4-5: update, forget

So the update follows the sum of the clean and the adversarial gradients. ``||g||`` is taken over the
whole table (the paper scales each text's perturbation on its own; one norm for the batch is the
common simpler form), and only rows the batch looked up have a gradient, so only those rows move;
the table is restored exactly (from a copy) before the update. The adversarial pass runs in training mode, so
dropout draws new masks for it. Each step costs about two forward and backward passes, and two
passes over the table (its copy and the nudge).
"""

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.train.trainer import Trainer

__all__ = ["AdversarialTrainer"]


class AdversarialTrainer(Trainer):
    """A Trainer that also trains each batch with its embeddings moved by ``epsilon`` along the loss's gradient.

    Args:
        model, loss_fn, optimizer, metrics, callbacks: as for ``Trainer``.
        embedding: the ``nn.Embedding`` (or any module with a ``weight`` Parameter) whose rows the
            model looks its inputs up in.
        epsilon: the length of the step, in the units of the embedding table (its whole gradient
            scaled to this norm). 0 trains as a plain ``Trainer``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import nn, optim
        >>> from chainrule.train import AdversarialTrainer
        >>> _ = cr.manual_seed(0)
        >>> embedding = nn.Embedding(10, 4)
        >>> model = nn.Sequential(embedding, nn.Flatten(), nn.Linear(8, 2))
        >>> trainer = AdversarialTrainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
        ...                              embedding=embedding, epsilon=1.0)
        >>> data = [(cr.tensor([[1, 2], [3, 4]]), cr.tensor([0, 1]))]
        >>> history = trainer.fit(data, epochs=30)
        >>> history.history["loss"][-1] < history.history["loss"][0]
        True
    """

    def __init__(self, model, loss_fn, optimizer, metrics=None, callbacks=None, *, embedding, epsilon):
        super().__init__(model, loss_fn, optimizer, metrics=metrics, callbacks=callbacks)
        weight = getattr(embedding, "weight", None)
        if weight is None or not any(weight is p for p in model.parameters()):
            raise ChainruleError(f"AdversarialTrainer: the embedding must be a module of the model with a weight "
                                 f"the model trains; expected e.g. model.embedding, got {type(embedding).__name__}.")
        if not epsilon >= 0:
            raise ChainruleError(f"AdversarialTrainer: epsilon is the length of a step; expected epsilon >= 0, "
                                 f"got {epsilon!r}.")
        self.embedding, self.epsilon = embedding, float(epsilon)

    def train_step(self, inputs, targets):
        """One step on the batch and on the batch with its embeddings nudged; returns (clean loss, outputs)."""
        outputs = self._forward(inputs)           # 1. forward
        loss = self.loss_fn(outputs, targets)     # 2. loss
        loss.backward()                           # 3. backward
        self._adversarial_backward(inputs, targets)  # 3a-3b. the nudged batch's gradients, added
        self.optimizer.step()                     # 4. update
        self.optimizer.zero_grad()                # 5. forget the gradients
        return loss, outputs

    def _adversarial_backward(self, inputs, targets):
        weight = self.embedding.weight
        if self.epsilon == 0 or weight.grad is None:
            return
        grad = weight.grad.data
        norm = float(np.sqrt(np.sum(np.square(grad, dtype=np.float64))))
        if not 0 < norm < np.inf:  # no direction to move in (or a gradient that is not finite)
            return
        table = weight.data
        original = table.copy()
        table += grad * table.dtype.type(self.epsilon / norm)
        try:
            self.loss_fn(self._forward(inputs), targets).backward()
        finally:
            np.copyto(table, original)
