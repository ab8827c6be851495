"""save and load: state dicts on disk, in a safe format that never unpickles.

A file is a NumPy ``.npz`` archive (what ``np.savez`` writes) with pickle refused: every array is
its own ``.npy`` entry (``a0``, ``a1``, ...), and the nested structure around them (dicts, lists,
tuples, numbers, strings, booleans, None) is a JSON *manifest* stored as a uint8 array under
``__chainrule__``. Loading reads the manifest with ``json`` and the arrays with
``allow_pickle=False``, so a file can never run code.

What round-trips:
    - dicts (keys: str, int or bool; an OrderedDict comes back as a dict, in the same order),
      lists and tuples, nested in any way;
    - ndarrays of numbers, booleans or fixed-width strings (dtype and shape kept exactly);
    - Tensors (Parameters too), which come back as **ndarrays**: ``Module.load_state_dict`` and
      ``Optimizer.load_state_dict`` accept ndarrays, so ``model.load_state_dict(load(path))`` works;
    - int, float (inf and nan too), bool, str, None; NumPy scalars come back as Python numbers.

``save`` writes to a temporary file in the destination folder, flushes and fsyncs it, and moves
it into place with ``os.replace``: an interrupted save leaves the previous file as it was.
"""

import json
import math
import os
import secrets
import zipfile

import numpy as np

from chainrule.errors import SerializationError
from chainrule.tensor import Tensor

__all__ = ["save", "load", "SerializationError"]

_MANIFEST = "__chainrule__"
_FORMAT = "chainrule.save"
_VERSION = 1


def save(obj, path):
    """Write a state dict (or any nesting of dicts, lists, arrays, Tensors and plain values) to ``path``.

    Args:
        obj: the object to save, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict()}``.
        path: the file to write (conventionally ``.npz``; any name is kept as given).

    Raises:
        SerializationError: ``obj`` holds something that cannot be saved safely (the message gives
            where in the structure).

    Example:
        >>> import os, tempfile
        >>> import chainrule as cr
        >>> from chainrule.serialization import load, save
        >>> path = os.path.join(tempfile.mkdtemp(), "state.npz")
        >>> save({"weight": cr.ones(2), "step": 3}, path)
        >>> load(path)
        {'weight': array([1., 1.], dtype=float32), 'step': 3}
    """
    arrays = {}
    manifest = {"format": _FORMAT, "version": _VERSION, "root": _encode(obj, arrays, "obj")}
    text = json.dumps(manifest, allow_nan=False, separators=(",", ":"))
    arrays[_MANIFEST] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # A fresh name in the same folder (so os.replace is a rename, not a copy); "x" refuses to reuse
    # one, and unlike mkstemp it gives the file the usual permissions.
    temporary = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        with open(temporary, "xb") as file:
            _write_npz(file, arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise
    _fsync_folder(folder)


def load(path):
    """Read an object written by ``save``; Tensors come back as ndarrays.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        SerializationError: the file is truncated, corrupt, or was not written by ``save``; the
            message names the file.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:  # opened here, so that it is closed whatever np.load raises
        head = file.read(4)
        if head != b"PK\x03\x04":  # every .npz is a zip archive, and a zip starts with these bytes
            if len(head) < 4:
                raise SerializationError(f"load: {path!r} is truncated; expected a file written by "
                                         f"chainrule.save, got {len(head)} bytes.")
            raise _foreign(path)
        file.seek(0)
        try:
            with np.load(file, allow_pickle=False) as archive:
                if _MANIFEST not in archive.files:
                    raise _foreign(path)
                manifest = _read_manifest(archive[_MANIFEST], path)
                arrays = {name: archive[name] for name in archive.files if name != _MANIFEST}
        except SerializationError:
            raise
        except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, NotImplementedError) as error:
            raise SerializationError(f"load: {path!r} is truncated or corrupt; expected a complete file written "
                                     f"by chainrule.save, got a read error ({type(error).__name__}: {error})."
                                     ) from None
    try:
        return _decode(manifest["root"], arrays)
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise SerializationError(f"load: {path!r} has a damaged manifest; expected the structure chainrule.save "
                                 f"writes, got {type(error).__name__}: {error}.") from None


def _write_npz(file, arrays):
    """What ``np.savez`` writes (a zip of .npy entries), but refusing pickle whatever NumPy's default."""
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)


def _foreign(path):
    return SerializationError(f"load: {path!r} was not written by chainrule.save; expected an .npz archive "
                              f"with a {_MANIFEST!r} manifest, got another kind of file.")


def _read_manifest(raw, path):
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SerializationError(f"load: {path!r} has a damaged manifest; expected JSON text, got bytes that "
                                 f"do not parse.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT or "root" not in manifest:
        raise _foreign(path)
    if manifest.get("version") != _VERSION:
        raise SerializationError(f"load: {path!r} uses format version {manifest.get('version')!r}; expected "
                                 f"version {_VERSION}. Hint: load it with the chainrule version that saved it.")
    return manifest


# --- the manifest: every node is a small JSON object tagged with its type ---------------------
def _encode(value, arrays, where):
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        value = float(value)
        # JSON has no inf or nan: write those three as text
        return {"t": "float", "v": value if math.isfinite(value) else repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise SerializationError(f"save: {where} is an array of Python objects; expected numbers, booleans or "
                                     f"strings (object arrays would need pickle).")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"t": "array", "v": name}
    if isinstance(value, dict):
        items = []
        for key, item in value.items():
            if not isinstance(key, (str, int, np.integer)):
                raise SerializationError(f"save: {where} has a key of type {type(key).__name__}; expected str or "
                                         f"int keys, got {key!r}.")
            encoded_key = key if isinstance(key, str) else _encode(key, arrays, where)  # JSON keys are strings
            items.append([encoded_key, _encode(item, arrays, f"{where}[{key!r}]")])
        return {"t": "dict", "v": items}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {"t": kind, "v": [_encode(item, arrays, f"{where}[{i}]") for i, item in enumerate(value)]}
    raise SerializationError(f"save: {where} cannot be saved; expected dicts, lists, tuples, arrays, Tensors, "
                             f"numbers, strings, booleans or None, got {type(value).__name__}.")


def _decode(node, arrays):
    kind, value = node["t"], node.get("v")
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        expected = {"bool": bool, "int": int, "str": str}[kind]
        if type(value) is not expected:
            raise TypeError(f"a {kind} node holds {value!r}")
        return value
    if kind == "float":
        return float(value)
    if kind == "array":
        return arrays[value]
    if kind == "dict":
        return {(key if isinstance(key, str) else _decode(key, arrays)): _decode(item, arrays)
                for key, item in value}
    if kind == "list":
        return [_decode(item, arrays) for item in value]
    if kind == "tuple":
        return tuple(_decode(item, arrays) for item in value)
    raise ValueError(f"unknown node type {kind!r}")


def _fsync_folder(folder):
    """Make the rename itself durable where the platform allows it (POSIX; a no-op elsewhere)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
