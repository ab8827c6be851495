"""The sentiment application's classifiers and the batches they read.

``BagClassifier`` (fastText's design)
    The mean of the embeddings of a text's hashed n-grams (one ``nn.EmbeddingBag`` lookup, no
    padding) and a linear layer to the two classes. Word order survives only inside the n-grams.
    With ``weighted=True`` (model "nb") each n-gram's row is scaled by a fixed weight before the
    mean, its naive Bayes log-count ratio on the training texts (NBSVM's features): n-grams that
    tell the classes apart weigh more from the first step.
``GruClassifier``
    Token embeddings (``nn.Embedding``) read by a bidirectional GRU; the outputs over the text's own
    length are mean- and max-pooled and a linear layer gives the two classes. It reads word order
    but trains several times slower.
``CnnClassifier`` (Kim's TextCNN)
    Token embeddings, convolutions 2, 3 and 4 tokens wide, ReLU, the largest response of each filter
    over the text (max-over-time pooling), dropout and a linear layer: each filter learns a short
    phrase ("不好吃", "not good") wherever it stands. Faster than the GRU, usually stronger than the bag.

Batches are ``((inputs...), labels)`` pairs, the form ``Trainer`` expects, drawn afresh (shuffled)
every epoch.
"""

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.errors import ChainruleError
from chainrule.nn import functional as F
from chainrule.ops.shape import cat

__all__ = ["BagClassifier", "GruClassifier", "CnnClassifier", "build_model", "log_count_ratios", "BagBatches",
           "SequenceBatches", "MODELS"]

MODELS = ("bag", "gru", "cnn", "nb")
CNN_WIDTHS = (2, 3, 4)


class BagClassifier(nn.Module):
    """Mean of hashed n-gram embeddings, then a linear layer (fastText).

    Shape:
        indices (M,) int64 and offsets (B,) int64 (``nn.EmbeddingBag``'s bags) -> logits (B, 2).
    """

    def __init__(self, buckets, dim, weighted=False):
        super().__init__()
        self.weighted = weighted
        self.bag = nn.EmbeddingBag(buckets, dim, mode="sum" if weighted else "mean")
        if weighted:  # set by the trainer (log_count_ratios), kept in the checkpoint
            self.register_buffer("ratios", cr.zeros(buckets))
        # N(0, 1) rows make the first mean of a long bag large and the softmax saturated; fastText
        # starts its input rows uniform in +-1/dim for the same reason.
        self.bag.weight.data[...] *= 1.0 / dim
        self.head = nn.Linear(dim, 2)

    def forward(self, indices, offsets):
        if not self.weighted:
            return self.head(self.bag(indices, offsets))
        ids = np.asarray(indices.data if isinstance(indices, cr.Tensor) else indices)
        starts = np.asarray(offsets.data if isinstance(offsets, cr.Tensor) else offsets)
        lengths = np.diff(np.append(starts, len(ids)))
        # the weighted mean: each n-gram's ratio over its bag's size
        weights = self.ratios.data[ids] / np.repeat(np.maximum(lengths, 1), lengths)
        return self.head(self.bag(indices, offsets, per_sample_weights=cr.tensor(weights.astype(np.float32))))


class GruClassifier(nn.Module):
    """Token embeddings, a bidirectional GRU, mean and max pooling over each text, a linear layer.

    Shape:
        ids (B, T) int64 padded with 0 and lengths (B,) int64 -> logits (B, 2).
    """

    def __init__(self, vocabulary_size, dim, hidden, dropout=0.3):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, dim, padding_idx=0)
        self.embedding.weight.data[...] *= 0.1
        self.gru = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(4 * hidden, 2)

    def forward(self, ids, lengths):
        lengths = np.asarray(lengths.data if isinstance(lengths, cr.Tensor) else lengths)
        outputs, _ = self.gru(self.dropout(self.embedding(ids)), lengths=lengths)
        inside = (np.arange(ids.shape[1])[None, :] < lengths[:, None]).astype(np.float32)[:, :, None]
        mean = (outputs * cr.tensor(inside)).sum(1) / cr.tensor(lengths[:, None].astype(np.float32))
        # Padded steps are pushed far below any output so the max never picks them.
        largest = (outputs + cr.tensor((inside - 1.0) * 1e4)).max(dim=1)[0]
        return self.head(self.dropout(cat([mean, largest], dim=1)))


class CnnClassifier(nn.Module):
    """Token embeddings, 1-D convolutions of several widths, max-over-time pooling, a linear layer.

    Shape:
        ids (B, T) int64 padded with 0 and lengths (B,) int64 -> logits (B, 2).

    >>> model = CnnClassifier(vocabulary_size=10, dim=4, filters=3)
    >>> model(cr.tensor(np.array([[2, 3, 4], [5, 0, 0]])), cr.tensor(np.array([3, 1]))).shape
    (2, 2)
    """

    def __init__(self, vocabulary_size, dim, filters, widths=CNN_WIDTHS, dropout=0.5):
        super().__init__()
        self.widths = tuple(int(width) for width in widths)
        self.embedding = nn.Embedding(vocabulary_size, dim, padding_idx=0)
        self.embedding.weight.data[...] *= 0.1
        self.convs = nn.ModuleList([nn.Conv1d(dim, filters, width) for width in self.widths])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(filters * len(self.widths), 2)

    def forward(self, ids, lengths):
        ids = np.asarray(ids.data if isinstance(ids, cr.Tensor) else ids)
        lengths = np.asarray(lengths.data if isinstance(lengths, cr.Tensor) else lengths)
        widest = max(self.widths)
        if ids.shape[1] < widest:  # every convolution needs at least one full window
            ids = np.pad(ids, ((0, 0), (0, widest - ids.shape[1])))
        x = self.embedding(cr.tensor(ids)).transpose(1, 2)  # (B, dim, T)
        pooled = []
        for width, conv in zip(self.widths, self.convs):
            responses = F.relu(conv(x))  # (B, filters, T - width + 1)
            # windows that start past a text's end hold only padding; push them below any response
            windows = np.maximum(lengths - width + 1, 1)[:, None]
            outside = np.arange(responses.shape[2])[None, :] >= windows
            pooled.append((responses - cr.tensor(outside[:, None, :].astype(np.float32) * 1e4)).max(dim=2)[0])
        return self.head(self.dropout(cat(pooled, dim=1)))


def build_model(config):
    """The classifier a run's ``config`` describes (``{"model": "bag", "buckets": ..., "dim": ...}``)."""
    if config["model"] in ("bag", "nb"):
        return BagClassifier(config["buckets"], config["dim"], weighted=config["model"] == "nb")
    if config["model"] == "gru":
        return GruClassifier(config["vocabulary_size"], config["dim"], config["hidden"])
    if config["model"] == "cnn":
        return CnnClassifier(config["vocabulary_size"], config["dim"], config["filters"])
    raise ChainruleError(f"sentiment: unknown model; expected one of {MODELS}, got {config['model']!r}.")


def log_count_ratios(indices, offsets, rows, labels, buckets, alpha=1.0):
    """Each bucket's naive Bayes log-count ratio over the texts ``rows``: log of its smoothed share of
    the positive texts' n-grams over its share of the negative texts' (each n-gram counted once a text).

    >>> ratios = log_count_ratios(np.array([0, 1, 0, 2]), np.array([0, 2]), [0, 1], np.array([1, 0]), 3)
    >>> [round(float(ratio), 2) for ratio in ratios]   # bucket 0 is in both texts, 1 positive, 2 negative
    [0.0, 0.69, -0.69]
    """
    owners = np.repeat(np.arange(len(offsets)), np.diff(np.append(offsets, len(indices))))
    chosen = np.isin(owners, rows)
    pairs = np.unique(np.stack([owners[chosen], indices[chosen]]), axis=1)  # (text, bucket) once each
    positive = labels[pairs[0]] == 1
    p = alpha + np.bincount(pairs[1][positive], minlength=buckets)
    q = alpha + np.bincount(pairs[1][~positive], minlength=buckets)
    return (np.log(p / p.sum()) - np.log(q / q.sum())).astype(np.float32)


class BagBatches:
    """Batches ``((indices, offsets), labels)`` of some texts' n-gram bags, shuffled every epoch.

    Args:
        indices, offsets: the bags of all texts (``NgramHasher.bags``).
        rows: which texts to serve.
        labels: the labels of all texts (or None when predicting).
        drop: the chance that each n-gram of a bag is left out of it, drawn afresh every batch: a
            regulariser (the model cannot lean on a few n-grams it has memorised). 0 to keep all.
    """

    def __init__(self, indices, offsets, rows, labels, batch_size, shuffle=False, seed=0, drop=0.0):
        self.indices, self.rows, self.labels, self.drop = indices, np.asarray(rows), labels, drop
        self.starts = offsets
        self.ends = np.append(offsets[1:], len(indices))
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __iter__(self):
        rows = self.rng.permutation(self.rows) if self.shuffle else self.rows
        for start in range(0, len(rows), self.batch_size):
            yield self.batch(rows[start:start + self.batch_size])

    def batch(self, rows):
        parts = [self.indices[self.starts[row]:self.ends[row]] for row in rows]
        if self.drop > 0:
            parts = [part[self.rng.random(len(part)) >= self.drop] for part in parts]
        lengths = np.array([len(part) for part in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        inputs = (cr.tensor(np.concatenate(parts + [np.zeros(0, np.int64)]).astype(np.int64)), cr.tensor(offsets))
        return inputs, None if self.labels is None else cr.tensor(self.labels[rows])


class SequenceBatches:
    """Batches ``((ids, lengths), labels)`` of padded token sequences.

    Texts of similar length share a batch (sorted inside windows of 20 batches, the batches then
    shuffled), so little time goes into padding.
    """

    def __init__(self, sequences, rows, labels, batch_size, shuffle=False, seed=0):
        self.sequences, self.rows, self.labels = sequences, np.asarray(rows), labels
        self.lengths = np.array([len(sequence) for sequence in sequences], dtype=np.int64)
        self.batch_size, self.shuffle = batch_size, shuffle
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return -(-len(self.rows) // self.batch_size)

    def __iter__(self):
        rows = self.rng.permutation(self.rows) if self.shuffle else self.rows
        window = 20 * self.batch_size
        batches = []
        for start in range(0, len(rows), window):
            chunk = rows[start:start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[at:at + self.batch_size] for at in range(0, len(chunk), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        for batch_rows in batches:
            yield self.batch(batch_rows)

    def batch(self, rows):
        lengths = self.lengths[rows]
        ids = np.zeros((len(rows), lengths.max()), dtype=np.int64)
        for line, row in enumerate(rows):
            ids[line, :lengths[line]] = self.sequences[row]
        inputs = (cr.tensor(ids), cr.tensor(lengths))
        return inputs, None if self.labels is None else cr.tensor(self.labels[rows])
