"""Pictures of training: learning curves, confusion matrices, decision boundaries, gradient norms.

Every function draws one figure, writes it as a PNG to ``path`` (creating missing folders), and
returns the path as a :class:`pathlib.Path`. Figures are drawn on matplotlib's Agg canvas directly,
without pyplot, so nothing global changes and no window opens. matplotlib is the optional extra
``plot``: ``pip install chainrule[plot]``.

The inputs are plain data, so these functions work with any training loop: a history is a dict of
per-epoch lists (or an object with such a ``.history`` dict), gradient norms a dict of per-step lists.
"""

from chainrule.plot.boundary import decision_boundary
from chainrule.plot.confusion import confusion_matrix
from chainrule.plot.curves import gradient_norms, learning_curves

__all__ = ["learning_curves", "confusion_matrix", "decision_boundary", "gradient_norms"]
