"""What chainrule runs on: its version, NumPy's, the BLAS NumPy uses, and the optional extras found."""

import importlib.util
import platform

import numpy as np

__all__ = ["describe", "EXTRAS"]

EXTRAS = {
    "matplotlib": "plot (learning curves, confusion matrices, decision boundaries)",
    "scipy": "augment (rotations, affine warps, elastic distortion)",
    "rich": "progress (progress bars)",
    "sklearn": "datasets and apps (the bundled handwritten digits, the applications' baselines)",
    "gymnasium": "game (CartPole-v1 from gymnasium beside chainrule's own)",
    "jieba": "zh (Chinese word n-grams for the sentiment application)",
    "numba": "fast (compiled kernels: chainrule.performance.use_compiled_kernels)",
}


def _blas():
    try:
        config = np.show_config(mode="dicts")
    except TypeError:  # NumPy < 1.26 prints instead of returning
        return "unknown"
    blas = config.get("Build Dependencies", {}).get("blas", {})
    return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()


def describe():
    """A dict of facts about this installation, for ``chainrule info`` and bug reports."""
    from chainrule import __version__
    extras = {}
    for module, purpose in EXTRAS.items():
        found = importlib.util.find_spec(module) is not None
        extras[module] = {"found": found, "purpose": purpose}
    return {
        "chainrule": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": _blas(),
        "platform": platform.platform(),
        "extras": extras,
    }
