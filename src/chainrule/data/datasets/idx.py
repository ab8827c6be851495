"""MNIST-style IDX files (raw or gzipped), parsed with NumPy.

An IDX file is a 4-byte magic number ``0, 0, type, ndim``, then ``ndim`` big-endian uint32 sizes,
then the values in C order, big-endian. The MNIST family (MNIST, Fashion-MNIST, KMNIST, EMNIST)
ships four of them per dataset.
"""

import gzip
import zlib

import numpy as np

from chainrule.data.datasets._paths import existing_file, existing_folder
from chainrule.errors import ChainruleError, DTypeError, ShapeError

__all__ = ["read_idx", "load_mnist_idx"]

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"
_MNIST_FILES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
                "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def read_idx(path):
    """Read one IDX file, gzipped (detected from its first bytes) or raw.

    Args:
        path: the file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns:
        an ndarray with the file's shape and element type in native byte order (uint8 for MNIST).

    Raises:
        FileNotFoundError: no such file.
        ChainruleError: not an IDX file, or a damaged gzip stream.
        DTypeError: an element type code that IDX does not define.
        ShapeError: fewer or more values than the header's sizes promise (a truncated file).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
        >>> with open(path, "wb") as f:
        ...     _ = f.write(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1]))
        >>> read_idx(path)
        array([7, 2, 1], dtype=uint8)
    """
    path = existing_file("read_idx", path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ChainruleError(f"read_idx: {str(path)!r} is a damaged gzip file; expected a complete gzip "
                                 f"stream, got {exc}.") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ChainruleError(f"read_idx: {str(path)!r} is not an IDX file; expected a magic number starting with "
                             f"two zero bytes, got {raw[:4].hex() or 'an empty file'}.")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _TYPES:
        raise DTypeError(f"read_idx: {str(path)!r} has an unknown element type; expected one of "
                         f"{', '.join(hex(code) for code in _TYPES)}, got {hex(type_code)}.")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ShapeError(f"read_idx: {str(path)!r} is truncated; expected a header of {header} bytes for {ndim} "
                         f"dimensions, got {len(raw)} bytes.")
    shape = tuple(int(size) for size in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ShapeError(f"read_idx: {str(path)!r} does not match its header; expected {expected} bytes of data "
                         f"for shape {shape}, got {len(raw) - header}.")
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def load_mnist_idx(folder):
    """Load the four standard MNIST-family IDX files from ``folder``.

    Each of ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``
    and ``t10k-labels-idx1-ubyte`` may be gzipped (``.gz``) or raw, and may use a dot before
    ``idx`` (``train-images.idx3-ubyte``) as some mirrors do.

    Args:
        folder: the folder holding the files.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images as stored (uint8, ``(n, 28, 28)`` for
        MNIST) and labels as int64.

    Raises:
        FileNotFoundError: a missing folder or file (the message lists the names looked for).
        ShapeError: image and label files with different numbers of samples.
    """
    folder = existing_folder("load_mnist_idx", folder)
    arrays = {key: read_idx(_find_idx_file(folder, stem)) for key, stem in _MNIST_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape[0] != labels.shape[0]:
            raise ShapeError(f"load_mnist_idx: {split} images and labels differ in number; expected as many labels "
                             f"as images ({images.shape[0]}), got {labels.shape[0]}.")
        arrays[f"y_{split}"] = labels.astype(np.int64)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _find_idx_file(folder, stem):
    dotted = stem.replace("-idx", ".idx")
    candidates = [stem + ".gz", stem, dotted + ".gz", dotted]
    for name in candidates:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"load_mnist_idx: a file is missing in {str(folder)!r}; expected one of "
                            f"{', '.join(candidates)}, got none of them.")
