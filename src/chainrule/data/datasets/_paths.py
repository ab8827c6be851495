"""Checking the paths a user hands to a reader, so a typo gives a message that names the file."""

import os
from pathlib import Path

__all__ = ["existing_file", "existing_folder"]


def existing_file(owner, path):
    """``path`` as a Path, or FileNotFoundError naming ``owner`` and the path."""
    path = Path(os.fspath(path)).expanduser()
    if not path.is_file():
        what = "it is a folder" if path.is_dir() else "no such file"
        raise FileNotFoundError(f"{owner}: cannot read {str(path)!r}; expected an existing file, got {what}.")
    return path


def existing_folder(owner, path):
    """``path`` as a Path, or FileNotFoundError naming ``owner`` and the path."""
    path = Path(os.fspath(path)).expanduser()
    if not path.is_dir():
        what = "a file" if path.is_file() else "no such folder"
        raise FileNotFoundError(f"{owner}: cannot read {str(path)!r}; expected an existing folder, got {what}.")
    return path
