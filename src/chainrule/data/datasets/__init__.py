"""Readers for datasets at paths the user gives: IDX (MNIST family), WAV folders, text tables, .npz.

Nothing here downloads. ``load_digits`` reads the small digits set that scikit-learn bundles.
"""

from chainrule.data.datasets.digits import load_digits
from chainrule.data.datasets.idx import load_mnist_idx, read_idx
from chainrule.data.datasets.npz import read_npz_arrays
from chainrule.data.datasets.text import read_text_table
from chainrule.data.datasets.wav import WavFolder, load_wav_folder, read_wav

__all__ = ["read_idx", "load_mnist_idx", "read_wav", "WavFolder", "load_wav_folder", "read_text_table",
           "read_npz_arrays", "load_digits"]
