"""Reading 28x28 grey image sets (MNIST, Fashion-MNIST) and the images handed to ``predict``.

A data set comes as a folder with the four MNIST-style IDX files (gzipped or raw) or as one
``.npz`` file with the arrays ``x_train``, ``y_train``, ``x_test`` and ``y_test`` (the layout of
``keras.datasets``). Either way the arrays are checked before training starts, so a wrong file
gives a message that names it instead of a NumPy traceback deep inside training.
"""

from pathlib import Path

import numpy as np

from chainrule.data.datasets import load_mnist_idx, read_npz_arrays
from chainrule.errors import ChainruleError, DTypeError, ShapeError

__all__ = ["IMAGE_SIZE", "load_image_set", "to_unit_range", "read_images"]

IMAGE_SIZE = (28, 28)
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_image_set(owner, path, num_classes=10):
    """The training and test images and labels at ``path``, checked.

    Args:
        owner: who asks (``"train mnist"``), named in every error.
        path: a folder with the four IDX files, or an ``.npz`` with ``x_train``, ``y_train``,
            ``x_test``, ``y_test``.
        num_classes: labels must lie in ``0 .. num_classes - 1``.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: images ``(n, 28, 28)`` as stored (uint8 for the
        MNIST family) and int64 labels.

    Raises:
        FileNotFoundError: no such file or folder, or a missing IDX file.
        ChainruleError: a file that is neither a folder nor an ``.npz``, or an ``.npz`` without the four arrays.
        ShapeError: images that are not ``(n, 28, 28)``, or image and label counts that differ.
        DTypeError: labels that are not whole numbers in range.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        (x_train, y_train), (x_test, y_test) = load_mnist_idx(path)
    elif path.is_file():
        x_train, y_train, x_test, y_test = _read_npz(owner, path)
    else:
        raise FileNotFoundError(f"{owner}: cannot read --data {str(path)!r}; expected a folder with the four IDX "
                                f"files or an .npz file, got no such file or folder.")
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        _check_split(owner, path, split, images, labels, num_classes)
    return x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64)


def _read_npz(owner, path):
    arrays = read_npz_arrays(owner, path, _NPZ_KEYS, what="a folder of IDX files or an .npz file")
    return tuple(arrays[key] for key in _NPZ_KEYS)


def _check_split(owner, path, split, images, labels, num_classes):
    if images.ndim != 3 or images.shape[1:] != IMAGE_SIZE:
        raise ShapeError(f"{owner}: wrong {split} image shape in {str(path)!r}; expected (n, 28, 28), "
                         f"got {images.shape}.")
    if images.dtype.kind not in "uif":
        raise DTypeError(f"{owner}: {split} images in {str(path)!r} are not numbers; expected uint8 or float, "
                         f"got {images.dtype}.")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ShapeError(f"{owner}: {split} labels do not match the images in {str(path)!r}; expected shape "
                         f"({len(images)},), got {labels.shape}.")
    if labels.dtype.kind not in "ui" or len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise DTypeError(f"{owner}: bad {split} labels in {str(path)!r}; expected whole numbers in 0..{num_classes - 1}, "
                         f"got {labels.dtype} in [{labels.min() if len(labels) else '-'}, "
                         f"{labels.max() if len(labels) else '-'}].")


def to_unit_range(images):
    """Images as float32 in [0, 1] with a channel axis, ``(n, 1, 28, 28)``: uint8 divided by 255."""
    images = np.asarray(images)
    scale = np.float32(255.0) if images.dtype.kind in "ui" or images.max(initial=0) > 1 else np.float32(1.0)
    return (images.astype(np.float32) / scale)[:, None]


def read_images(owner, path):
    """Images for ``predict``: a PNG (one image) or an ``.npy`` holding ``(28, 28)`` or ``(n, 28, 28)``.

    A PNG is read with matplotlib (the ``plot`` extra), made grey, and, when its border is light
    (dark ink on white paper, the usual drawing), inverted to the data sets' light-on-dark
    convention. An ``.npy`` is taken as it is: uint8 0-255 or floats in [0, 1].

    Returns:
        ``(n, 1, 28, 28)`` float32 in [0, 1].
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{owner}: cannot read {str(path)!r}; expected an existing .png or .npy file, "
                                f"got {'a folder' if path.is_dir() else 'no such file'}.")
    if path.suffix.lower() == ".png":
        images = _read_png(owner, path)[None]
    elif path.suffix.lower() == ".npy":
        images = np.load(path, allow_pickle=False)
        if images.ndim == 2:
            images = images[None]
    else:
        raise ChainruleError(f"{owner}: unknown image file {str(path)!r}; expected a .png or .npy file, "
                             f"got {path.suffix or 'no extension'}.")
    if images.ndim != 3 or images.shape[1:] != IMAGE_SIZE or images.dtype.kind not in "uif":
        raise ShapeError(f"{owner}: wrong image shape in {str(path)!r}; expected (28, 28) or (n, 28, 28) numbers, "
                         f"got {images.shape} {images.dtype}.")
    return to_unit_range(images)


def _read_png(owner, path):
    try:
        from matplotlib import image as mpimg
    except ImportError:
        raise ChainruleError(f"{owner}: reading PNG images needs matplotlib; install it with "
                             "pip install 'chainrule[plot]' or pass an .npy file.") from None
    pixels = np.asarray(mpimg.imread(path), dtype=np.float32)  # PNG: floats in [0, 1]
    grey = pixels[..., :3].mean(-1) if pixels.ndim == 3 else pixels
    if grey.shape != IMAGE_SIZE:
        raise ShapeError(f"{owner}: wrong PNG size in {str(path)!r}; expected 28x28 pixels, got "
                         f"{grey.shape[1]}x{grey.shape[0]}.")
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return 1.0 - grey if border.mean() > 0.5 else grey
