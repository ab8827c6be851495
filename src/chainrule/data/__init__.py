"""Feeding data to a model: datasets, batching, splits, and readers for files on disk.

Example:
    >>> import numpy as np
    >>> from chainrule.data import DataLoader, TensorDataset
    >>> x, y = np.zeros((6, 2), dtype=np.float32), np.arange(6)
    >>> for xb, yb in DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True, seed=0):
    ...     print(xb.shape, yb.dtype)
    (4, 2) int64
    (2, 2) int64
"""

from chainrule.data import datasets, transforms
from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.data.loader import DataLoader, default_collate
from chainrule.data.split import random_split, stratified_split

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "random_split",
           "stratified_split", "datasets", "transforms"]
