"""The article's XOR example in plain NumPy, with its two bugs corrected.

The article writes backpropagation for the 2-2-1 sigmoid network by hand. Two lines of it do not
work as printed:

1. ``W1`` is created with shape (3, 2), but XOR has 2 inputs, so ``X @ W1`` with X of shape (4, 2)
   cannot be computed. The first layer maps 2 inputs to 2 hidden units: ``W1`` is (2, 2).
2. The update adds the gradient (``W += lr * dW``). The gradient points uphill, so adding it
   *increases* the error; gradient descent subtracts it: ``W -= lr * dW``.

Everything else is the article's: sigmoid activations, the mean squared error, the chain rule
written out layer by layer, and repetition until the error falls below a threshold. chainrule's
autograd computes exactly these gradients (``tests/apps/test_xor_numpy.py`` checks it), which is
the point: ``loss.backward()`` is this file's ``gradients`` for any network.
"""

import numpy as np

__all__ = ["sigmoid", "forward", "gradients", "train_xor_numpy"]

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
Y = np.array([[0], [1], [1], [0]], dtype=np.float64)


def sigmoid(z):
    """1 / (1 + e^-z); its derivative is sigmoid(z) * (1 - sigmoid(z))."""
    return 1.0 / (1.0 + np.exp(-z))


def forward(params, x):
    """Step 1, the forward pass: returns the hidden activations and the output."""
    hidden = sigmoid(x @ params["W1"] + params["b1"])
    output = sigmoid(hidden @ params["W2"] + params["b2"])
    return hidden, output


def gradients(params, x=X, y=Y):
    """Steps 2 and 3: the mean squared error and its gradient for every parameter, by the chain rule.

    Returns ``(loss, grads)`` with one gradient per entry of ``params``, each of the parameter's shape.
    """
    hidden, output = forward(params, x)
    loss = float(np.mean((output - y) ** 2))
    d_output = 2.0 * (output - y) / y.size              # dL/d(output) of the mean
    d_z2 = d_output * output * (1.0 - output)           # through the output sigmoid
    d_hidden = d_z2 @ params["W2"].T                    # back through W2
    d_z1 = d_hidden * hidden * (1.0 - hidden)           # through the hidden sigmoids
    grads = {"W2": hidden.T @ d_z2, "b2": d_z2.sum(0), "W1": x.T @ d_z1, "b1": d_z1.sum(0)}
    return loss, grads


def train_xor_numpy(lr=2.0, threshold=0.005, max_steps=20000, seed=1):
    """Steps 4 and 5: gradient descent, repeated until the error falls below ``threshold``.

    Returns ``(params, losses)``; ``losses[-1] < threshold`` when it converged.
    """
    rng = np.random.default_rng(seed)
    params = {"W1": rng.uniform(-1, 1, (2, 2)),     # correction 1: (2, 2), not (3, 2)
              "b1": np.zeros(2), "W2": rng.uniform(-1, 1, (2, 1)), "b2": np.zeros(1)}
    losses = []
    for _ in range(max_steps):
        loss, grads = gradients(params)
        losses.append(loss)
        if loss < threshold:
            break
        for name in params:
            params[name] -= lr * grads[name]        # correction 2: subtract the gradient
    return params, losses
