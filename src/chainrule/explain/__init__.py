"""Explain: make backpropagation visible, step by step, for any small model.

``trace`` records one training step (forward, loss, backward, update) from the engine's own
events; ``rules`` says each op's local derivative in words and formulas; ``text`` renders a
trace as plain text or Markdown and ``html`` as one self-contained page with the graph in SVG,
in English or Chinese; ``saliency`` explains a trained model's decisions.
"""

from chainrule.explain.html import format_html
from chainrule.explain.rules import Rule, rule_for
from chainrule.explain.terminal import format_terminal
from chainrule.explain.saliency import (IntegratedGradients, integrated_gradients, saliency, saliency_overlay,
                                        token_table)
from chainrule.explain.text import format_markdown, format_text
from chainrule.explain.trace import (BackwardStep, ForwardStep, GradientFlow, LossRecord, Operand, Trace,
                                     Update, Value, trace)

__all__ = ["trace", "Trace", "Value", "Operand", "ForwardStep", "LossRecord", "GradientFlow", "BackwardStep",
           "Update", "Rule", "rule_for", "format_text", "format_markdown", "format_html", "format_terminal", "saliency", "integrated_gradients",
           "IntegratedGradients", "saliency_overlay", "token_table"]
