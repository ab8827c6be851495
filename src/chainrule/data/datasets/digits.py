"""The 8x8 handwritten digits that scikit-learn ships inside its package (no download)."""

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["load_digits"]


def load_digits():
    """The UCI optical-recognition digits: 1,797 images of 8x8 pixels, labels 0-9.

    Needs scikit-learn (the optional extra ``datasets``), which bundles the data file.

    Returns:
        ``(images, labels)``: float32 ``(1797, 8, 8)`` scaled to [0, 1] (the raw values are 0-16),
        and int64 ``(1797,)``.

    Raises:
        ChainruleError: scikit-learn is not installed (the message names the extra to install).
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise ChainruleError("load_digits: needs scikit-learn, which bundles the data; expected it installed, "
                             "got ImportError. Hint: pip install chainrule[datasets].") from None
    bunch = sklearn_load_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0)
    return images, np.asarray(bunch.target, dtype=np.int64)
