"""Hand-written NumPy training steps: the ceiling an autodiff library on NumPy can approach.

No graph, no per-op wrapper: the forward pass, the backward pass written out for this one model,
and the SGD update, in float32, updating the weights in place. Each class takes the weights in
PyTorch's layout (as ``state_dict`` arrays, in order) and a batch, and its ``step()`` returns the
loss, so the benchmark can check that it does the same work as the libraries.
"""

import numpy as np


def _cross_entropy(logits, labels):
    """Mean cross-entropy and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
    grad = exp
    grad /= total
    grad[rows, labels] -= 1
    grad /= np.float32(len(labels))
    return loss, grad


class NumpyMlp:
    """784-256-256-10 with ReLU: three products forward, five backward, in-place ReLU masks."""

    name = "numpy"

    def __init__(self, weights, x, y, lr):
        self.params = [np.array(w, dtype=np.float32) for w in weights]  # W1, b1, W2, b2, W3, b3
        self.x, self.y, self.lr = x, y, np.float32(lr)

    def step(self):
        w1, b1, w2, b2, w3, b3 = self.params
        h1 = self.x @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        logits = h2 @ w3.T
        logits += b3
        loss, d3 = _cross_entropy(logits, self.y)
        grads = [None] * 6
        grads[4], grads[5] = d3.T @ h2, d3.sum(0)
        d2 = d3 @ w3
        d2 *= h2 > 0
        grads[2], grads[3] = d2.T @ h1, d2.sum(0)
        d1 = d2 @ w2
        d1 *= h1 > 0
        grads[0], grads[1] = d1.T @ self.x, d1.sum(0)
        for p, g in zip(self.params, grads):
            g *= self.lr
            p -= g
        return loss


def _windows(x, k):
    """(N, C, H, W) already padded -> (N, OH, OW, C, k, k) view of every k x k window."""
    n, c, h, w = x.shape
    sn, sc, sh, sw = x.strides
    return np.lib.stride_tricks.as_strided(x, (n, h - k + 1, w - k + 1, c, k, k), (sn, sh, sw, sc, sh, sw))


class NumpyCnn:
    """conv3x3(pad 1)-ReLU-maxpool2 twice, then linear: im2col products, pooling by reshape."""

    name = "numpy"

    def __init__(self, weights, x, y, lr):
        self.params = [np.array(w, dtype=np.float32) for w in weights]  # conv1 w, b, conv2 w, b, linear w, b
        self.x, self.y, self.lr = x, y, np.float32(lr)

    @staticmethod
    def _conv_relu_pool(x, weight, bias):
        n, c, h, w = x.shape
        padded = np.zeros((n, c, h + 2, w + 2), np.float32)
        padded[:, :, 1:-1, 1:-1] = x
        cols = _windows(padded, 3).reshape(n * h * w, c * 9)  # copies once
        out = cols @ weight.reshape(len(weight), -1).T
        out += bias
        np.maximum(out, 0, out=out)
        act = out.reshape(n, h, w, -1)  # (N, H, W, O)
        pooled = act.reshape(n, h // 2, 2, w // 2, 2, -1).max(axis=(2, 4))
        return cols, act, pooled

    @staticmethod
    def _pool_relu_conv_backward(grad_pooled, cols, act, pooled, weight, x_shape, need_input=True):
        n, h, w, o = act.shape
        # the max's gradient goes to every position equal to it (ties are measure-zero here)
        winners = act.reshape(n, h // 2, 2, w // 2, 2, o) == pooled[:, :, None, :, None]
        grad_act = winners * grad_pooled[:, :, None, :, None]
        grad_act = grad_act.reshape(n * h * w, o)
        grad_act *= act.reshape(n * h * w, o) > 0
        grad_weight = (grad_act.T @ cols).reshape(weight.shape)
        grad_bias = grad_act.sum(0)
        if not need_input:
            return None, grad_weight, grad_bias
        grad_cols = (grad_act @ weight.reshape(o, -1)).reshape(n, h, w, -1, 3, 3)
        c = x_shape[1]
        grad_padded = np.zeros((n, c, h + 2, w + 2), np.float32)
        for i in range(3):
            for j in range(3):
                grad_padded[:, :, i:i + h, j:j + w] += grad_cols[..., i, j].transpose(0, 3, 1, 2)
        return grad_padded[:, :, 1:-1, 1:-1], grad_weight, grad_bias

    def step(self):
        w1, b1, w2, b2, w3, b3 = self.params
        cols1, act1, pool1 = self._conv_relu_pool(self.x, w1, b1)
        x2 = np.ascontiguousarray(pool1.transpose(0, 3, 1, 2))
        cols2, act2, pool2 = self._conv_relu_pool(x2, w2, b2)
        flat = pool2.transpose(0, 3, 1, 2).reshape(len(self.x), -1)  # PyTorch's (C, H, W) flattening
        logits = flat @ w3.T
        logits += b3
        loss, d_logits = _cross_entropy(logits, self.y)
        grads = [None] * 6
        grads[4], grads[5] = d_logits.T @ flat, d_logits.sum(0)
        d_pool2 = (d_logits @ w3).reshape(pool2.shape[0], pool2.shape[3], pool2.shape[1], pool2.shape[2])
        d_pool2 = d_pool2.transpose(0, 2, 3, 1)
        d_x2, grads[2], grads[3] = self._pool_relu_conv_backward(d_pool2, cols2, act2, pool2, w2, x2.shape)
        _, grads[0], grads[1] = self._pool_relu_conv_backward(d_x2.transpose(0, 2, 3, 1), cols1, act1, pool1, w1,
                                                              self.x.shape, need_input=False)
        for p, g in zip(self.params, grads):
            g *= self.lr
            p -= g
        return loss


def _sigmoid(z):
    out = np.negative(z)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


class NumpyLstm:
    """LSTM(32 -> 128) over every step of a (B, T, 32) batch, then linear on the last h.

    Written as one would by hand: the input projection of all steps in one product, then per step
    one (B, H) x (H, 4H) product, the gates as column blocks of its (B, 4H) result, and what
    backpropagation through time needs kept per step; backward runs the steps in reverse and
    forms the weight gradients with one product over all steps.
    """

    name = "numpy"

    def __init__(self, weights, x, y, lr):
        self.params = [np.array(w, dtype=np.float32) for w in weights]  # W_ih, W_hh, b_ih, b_hh, head w, head b
        self.x, self.y, self.lr = x, y, np.float32(lr)

    def step(self):
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = self.params
        batch, steps, _ = self.x.shape
        hidden = w_hh.shape[1]
        xs = np.ascontiguousarray(self.x.transpose(1, 0, 2))  # (T, B, I)
        pre = (xs.reshape(steps * batch, -1) @ w_ih.T).reshape(steps, batch, 4 * hidden)
        pre += b_ih + b_hh
        gates = np.empty_like(pre)  # i, f, g, o after their nonlinearities, every step
        cells = np.empty((steps + 1, batch, hidden), np.float32)  # c_{t-1} at t, c_t at t + 1
        states = np.empty((steps + 1, batch, hidden), np.float32)  # likewise h
        tanh_c = np.empty((steps, batch, hidden), np.float32)
        cells[0] = 0
        states[0] = 0
        i, f, g, o = (slice(k * hidden, (k + 1) * hidden) for k in range(4))
        for t in range(steps):
            z = pre[t] + states[t] @ w_hh.T
            a = gates[t]
            a[:] = _sigmoid(z)
            a[:, g] = np.tanh(z[:, g])
            cells[t + 1] = a[:, f] * cells[t] + a[:, i] * a[:, g]
            np.tanh(cells[t + 1], out=tanh_c[t])
            states[t + 1] = a[:, o] * tanh_c[t]
        logits = states[-1] @ w_out.T
        logits += b_out
        loss, d_logits = _cross_entropy(logits, self.y)
        grads = [None] * 6
        grads[4], grads[5] = d_logits.T @ states[-1], d_logits.sum(0)
        dh = d_logits @ w_out
        dc = np.zeros_like(dh)
        d_pre = np.empty_like(pre)
        for t in range(steps - 1, -1, -1):
            a, d = gates[t], d_pre[t]
            dc += dh * a[:, o] * (1 - tanh_c[t] ** 2)
            d[:, i] = dc * a[:, g] * a[:, i] * (1 - a[:, i])
            d[:, f] = dc * cells[t] * a[:, f] * (1 - a[:, f])
            d[:, g] = dc * a[:, i] * (1 - a[:, g] ** 2)
            d[:, o] = dh * tanh_c[t] * a[:, o] * (1 - a[:, o])
            dh = d @ w_hh
            dc *= a[:, f]
        rows = d_pre.reshape(steps * batch, -1)
        grads[0] = rows.T @ xs.reshape(steps * batch, -1)
        grads[1] = rows.T @ states[:-1].reshape(steps * batch, -1)
        grads[2] = rows.sum(0)
        grads[3] = grads[2].copy()
        for p, grad in zip(self.params, grads):
            grad *= self.lr
            p -= grad
        return loss
