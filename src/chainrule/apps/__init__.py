"""Applications of chainrule, importable so the command line can run them.

Each application is a module with one job, trained and used through the same few names, so the
``chainrule train <name>`` and ``chainrule predict <name>`` commands need no code per application:

``SUMMARY``
    One line for ``chainrule train --help``.
``add_arguments(parser)``
    The application's own training options (``--data``, ``--out`` and ``--seed`` are common to all).
``train(out, data=None, seed=0, **options) -> AppResult``
    Trains on ``data`` (a user-given path; the applications with bundled or generated data need
    none), writes the run folder ``out`` (metrics.json, learning curves, a confusion matrix where
    it fits, a checkpoint) and returns what it measured.
``add_predict_arguments(parser)`` and ``predict(inputs, run, **options) -> list[str]``
    Optional: reads the run folder's checkpoint and answers for new inputs, one line each.
"""

import importlib

from chainrule.errors import ChainruleError

__all__ = ["APPS", "load_app"]

#: application name -> module; the order is the order of ``chainrule train --help``.
APPS = {
    "xor": "chainrule.apps.xor",
    "article-net": "chainrule.apps.article_net",
    "digits": "chainrule.apps.digits",
    "mnist": "chainrule.apps.mnist",
    "fashion-mnist": "chainrule.apps.fashion_mnist",
    "sentiment": "chainrule.apps.sentiment",
    "speech": "chainrule.apps.speech",
    "speech-to-text": "chainrule.apps.speech_to_text",
    "cartpole": "chainrule.apps.cartpole",
    "tictactoe": "chainrule.apps.tictactoe",
}


def load_app(name):
    """The module of application ``name``; a ChainruleError lists the known names otherwise."""
    if name not in APPS:
        raise ChainruleError(f"apps: unknown application {name!r}; expected one of {', '.join(APPS)}.")
    return importlib.import_module(APPS[name])
