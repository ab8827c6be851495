"""A Trace as three rich tables for the terminal: forward, backward and update, with every number.

rich is the optional extra ``progress``; it is imported here, inside the function, so the rest of
the explain mode needs only NumPy.
"""

import io

from chainrule.errors import ChainruleError
from chainrule.explain.text import LABELS, _Renderer

__all__ = ["format_terminal"]

_HEADERS = {
    "forward": {"en": ("step", "op", "inputs", "output"), "zh": ("步骤", "运算", "输入", "输出")},
    "backward": {"en": ("step", "op", "local derivative", "incoming gradient", "sent to inputs"),
                 "zh": ("步骤", "运算", "局部导数", "传入的梯度", "传给各输入的梯度")},
    "update": {"en": ("parameter", "before", "gradient", "after"), "zh": ("参数", "更新前", "梯度", "更新后")},
}


def format_terminal(trace, lang=None, digits=4, width=140, color=False):
    """Render ``trace`` as rich tables and return the text (with ANSI colours if ``color``).

    Raises:
        ChainruleError: rich is not installed (the message names the extra to install).
    """
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        raise ChainruleError("format_terminal: needs rich; expected it installed, got ImportError. "
                             "Hint: pip install chainrule[progress].") from None
    render = _Renderer(trace, lang, digits, markdown=False)
    lang = render.lang
    console = Console(file=io.StringIO(), record=True, width=width, force_terminal=color,
                      color_system="standard" if color else None)

    forward = Table(title=LABELS["forward"][lang], show_lines=True)
    for header in _HEADERS["forward"][lang]:
        forward.add_column(header)
    for step in trace.forward:
        inputs = "\n".join(f"{operand.name} = {render.value(operand.value)}" for operand in step.inputs)
        forward.add_row(str(step.index), step.op, inputs, f"{step.output} = {render.value(step.value)}")
    console.print(forward)

    backward = Table(title=LABELS["backward"][lang], show_lines=True)
    for header in _HEADERS["backward"][lang]:
        backward.add_column(header)
    for step in trace.backward:
        sent = "\n".join(f"d{flow.name} = {render.value(flow.grad)}" for flow in step.inputs if flow.grad is not None)
        backward.add_row(str(step.step), step.op, step.rule.formula, render.value(step.grad_output), sent)
    console.print(backward)

    if trace.updates:
        update = Table(title=LABELS["update"][lang], show_lines=True)
        for header in _HEADERS["update"][lang]:
            update.add_column(header)
        for change in trace.updates:
            update.add_row(change.name, render.array(change.before), render.array(change.grad),
                           render.array(change.after))
        console.print(update)
    return console.export_text(styles=color)
