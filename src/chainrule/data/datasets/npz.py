"""Reading named arrays from a NumPy ``.npz`` archive that a user hands over, without pickle."""

import numpy as np

from chainrule.errors import ChainruleError

__all__ = ["read_npz_arrays"]


def read_npz_arrays(owner, path, keys, what="an .npz file"):
    """The arrays ``keys`` of the archive at ``path``, as a dict, each read once.

    Args:
        owner: who is reading, for the error message (``"train mnist"``).
        path: the archive.
        keys: the names of the arrays it must hold.
        what: what the archive should be, for the error message (``"a packed recordings file"``).

    Raises:
        ChainruleError: the file cannot be read as an archive (it names the file and the reason),
            or arrays are missing (it names the expected, found and missing ones).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "pair.npz")
        >>> np.savez(path, x=np.zeros(3), y=np.ones(3))
        >>> sorted(read_npz_arrays("example", path, ("x", "y")))
        ['x', 'y']
        >>> read_npz_arrays("example", path, ("x", "z"))
        Traceback (most recent call last):
        ...
        chainrule.errors.ChainruleError: example: '...pair.npz' lacks arrays; expected an .npz file with x, z, got x, y (missing z).
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise ChainruleError(f"{owner}: {str(path)!r} lacks arrays; expected {what} with {', '.join(keys)}, "
                                     f"got {', '.join(sorted(archive.files)) or 'none'} (missing {', '.join(missing)}).")
            return {key: archive[key] for key in keys}
    except (OSError, ValueError) as exc:
        raise ChainruleError(f"{owner}: cannot read {str(path)!r}; expected {what}, got {type(exc).__name__}: "
                             f"{exc}.") from None
