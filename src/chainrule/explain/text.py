"""A Trace as plain text or Markdown, in English or Chinese, with every number.

Every line carries a label or a sentence in the chosen language, so a Chinese rendering has no
English prose and an English one no Chinese; op names, value names and formulas stay as they are.
Markdown writes formulas in LaTeX between ``$...$`` and values in code spans.
"""

import re

import numpy as np

from chainrule.explain.rules import check_lang, sentence

__all__ = ["format_text", "format_markdown", "LABELS"]

LABELS = {
    "title": {"en": "One training step, traced", "zh": "一次训练步骤的逐步追踪"},
    "forward": {"en": "1. Forward pass", "zh": "1. 前向传播"},
    "loss": {"en": "2. Loss", "zh": "2. 损失"},
    "backward": {"en": "3. Backward pass (the chain rule, node by node in reverse order)",
                 "zh": "3. 反向传播（链式法则，按相反顺序逐个节点）"},
    "update": {"en": "4. Parameter update", "zh": "4. 参数更新"},
    "step": {"en": "Step {index}", "zh": "第 {index} 步"},
    "module": {"en": "module {name}", "zh": "模块 {name}"},
    "no_grad": {"en": "no gradient recorded", "zh": "不记录梯度"},
    "formula": {"en": "formula", "zh": "公式"},
    "options": {"en": "options", "zh": "选项"},
    "input": {"en": "input", "zh": "输入"},
    "output": {"en": "output", "zh": "输出"},
    "parameter": {"en": "parameter", "zh": "参数"},
    "target": {"en": "target", "zh": "目标值"},
    "constant": {"en": "constant", "zh": "常数"},
    "input_kind": {"en": "input data", "zh": "输入数据"},
    "step_kind": {"en": "result of step {index}", "zh": "第 {index} 步的结果"},
    "loss_line": {"en": "The loss is loss = {value}, computed by step {index} ({op}) from {inputs}.",
                  "zh": "损失 loss = {value}，由第 {index} 步（{op}）根据 {inputs} 计算得到。"},
    "seed": {"en": "The backward pass starts from dL/dL = 1 at the loss.",
             "zh": "反向传播从损失处的 dL/dL = 1 开始。"},
    "back_step_earlier": {"en": "Backward through {op} (output {output}, computed before the trace)",
                          "zh": "反向经过 {op}（输出 {output}，在追踪开始之前计算）"},
    "earlier": {"en": "computed before the trace", "zh": "在追踪开始之前计算"},
    "back_step": {"en": "Backward through step {index} · {op} (output {output})",
                  "zh": "反向经过第 {index} 步 · {op}（输出 {output}）"},
    "rule_words": {"en": "rule", "zh": "规则"},
    "rule_formula": {"en": "local derivative", "zh": "局部导数"},
    "incoming": {"en": "incoming gradient", "zh": "传入的梯度"},
    "sends": {"en": "sends to {name}: dL/d{name}", "zh": "传给 {name} 的梯度 dL/d{name}"},
    "note": {"en": "note", "zh": "说明"},
    "gradients": {"en": "Gradients of the loss with respect to each leaf",
                  "zh": "损失对每个叶子张量（参数或输入）的梯度"},
    "gradient": {"en": "gradient", "zh": "梯度"},
    "update_line": {"en": "update {name}", "zh": "更新 {name}"},
    "before": {"en": "before", "zh": "更新前"},
    "after": {"en": "after", "zh": "更新后"},
    "stats": {"en": "shape {shape}, min {min}, max {max}, mean {mean}, std {std}",
              "zh": "形状 {shape}，最小值 {min}，最大值 {max}，均值 {mean}，标准差 {std}"},
    "shape_only": {"en": "shape {shape}", "zh": "形状 {shape}"},
    "colon": {"en": ": ", "zh": "："},
    "comma": {"en": ", ", "zh": "，"},
    "open": {"en": " (", "zh": "（"},
    "close": {"en": ")", "zh": "）"},
}


def format_text(trace, lang=None, digits=4):
    """The trace as plain text: each step with its op, values, rule and gradients.

    Args:
        trace: a Trace from ``chainrule.explain.trace``.
        lang: "en" or "zh"; defaults to the trace's language.
        digits: significant digits of the numbers shown.

    Returns:
        The text, one fact per line.
    """
    return _Renderer(trace, lang, digits, markdown=False).render()


def format_markdown(trace, lang=None, digits=4):
    """The trace as Markdown: headings per part and step, formulas in LaTeX (``$...$``).

    Args:
        trace: a Trace from ``chainrule.explain.trace``.
        lang: "en" or "zh"; defaults to the trace's language.
        digits: significant digits of the numbers shown.

    Returns:
        The Markdown text.
    """
    return _Renderer(trace, lang, digits, markdown=True).render()


class _Renderer:
    def __init__(self, trace, lang, digits, markdown):
        self.trace = trace
        self.lang = check_lang(lang or trace.lang)
        self.digits = digits
        self.markdown = markdown
        self.lines = []

    def label(self, key, **fields):
        return LABELS[key][self.lang].format(**fields)

    # --- building blocks -------------------------------------------------------------------
    def heading(self, text, level):
        if self.markdown:
            self.lines += ["", "#" * level + " " + text, ""]
        else:
            underline = "=" if level <= 2 else "-"
            self.lines += ["", text, underline * _display_width(text)] if level <= 3 else ["", text]

    def item(self, label, text):
        colon = self.label("colon")
        self.lines.append(("- " if self.markdown else "  ") + label + colon + text)

    def paragraph(self, text):
        self.lines.append(text)

    def math(self, plain, latex):
        return f"${latex}$" if self.markdown else plain

    def code(self, text):
        return f"`{text}`" if self.markdown else text

    def number(self, x):
        return f"{x:.{self.digits}g}"

    def array(self, array):
        array = np.asarray(array)
        if array.ndim == 0:
            text = self.number(array.item()) if array.dtype.kind == "f" else str(array.item())
        else:
            text = np.array2string(array, precision=self.digits, separator=", ", max_line_width=10 ** 9,
                                   floatmode="maxprec")
            text = " ".join(text.split())  # one line: a label leads every line
        return self.code(text)

    def value(self, value):
        if value.array is not None:
            return self.array(value.array)
        if value.stats:
            stats = {k: self.number(v) for k, v in value.stats.items()}
            return self.label("stats", shape=value.shape, **stats)
        return self.label("shape_only", shape=value.shape)

    def summarized(self, array):
        from chainrule.explain.trace import Value
        return self.value(Value.of(array, self.trace.max_values))

    # --- the four parts --------------------------------------------------------------------
    def render(self):
        self.heading(self.label("title"), 1)
        self.render_forward()
        self.render_loss()
        self.render_backward()
        self.render_update()
        text = "\n".join(self.lines).strip()
        return re.sub(r"\n{3,}", "\n\n", text) + "\n"

    def render_forward(self):
        self.heading(self.label("forward"), 2)
        for step in self.trace.forward:
            title = f"{self.label('step', index=step.index)} · {step.op}"
            extras = []
            if step.module:
                extras.append(self.label("module", name=step.module))
            if not step.requires_grad:
                extras.append(self.label("no_grad"))
            if extras:
                title += self.label("open") + self.label("comma").join(extras) + self.label("close")
            call = f"{step.output} = {step.op}({', '.join(operand.name for operand in step.inputs)})"
            self.heading(title + self.label("colon") + self.code(call), 3)
            self.item(self.label("formula"), self.math(step.rule.forward, step.rule.forward_latex))
            if step.options:
                self.item(self.label("options"),
                          self.code(", ".join(f"{k}={v!r}" for k, v in step.options.items())))
            for operand in step.inputs:
                self.item(f"{self.label('input')} {operand.name}{self.kind(operand)}", self.value(operand.value))
            self.item(f"{self.label('output')} {step.output}", self.value(step.value))

    def kind(self, operand):
        if operand.kind == "step":
            index = next((s.index for s in self.trace.forward if s.output == operand.name), None)
            text = self.label("step_kind", index=index)
        else:
            text = self.label({"input": "input_kind"}.get(operand.kind, operand.kind))
        return self.label("open") + text + self.label("close")

    def render_loss(self):
        loss = self.trace.loss
        self.heading(self.label("loss"), 2)
        self.paragraph(self.label("loss_line", value=self.number(loss.value), index=loss.step, op=loss.op,
                                  inputs=self.label("comma").join(loss.inputs)))
        self.item(self.label("formula"), self.math(loss.rule.forward, loss.rule.forward_latex))

    def render_backward(self):
        self.heading(self.label("backward"), 2)
        self.paragraph(self.label("seed"))
        for step in self.trace.backward:
            key = "back_step" if step.step else "back_step_earlier"
            self.heading(self.label(key, index=step.step, op=step.op, output=step.output), 3)
            self.item(self.label("rule_words"), step.rule.describe(self.lang))
            self.item(self.label("rule_formula"), self.math(step.rule.formula, step.rule.latex))
            self.item(f"{self.label('incoming')} dL/d{step.output}", self.value(step.grad_output))
            for flow in step.inputs:
                grad = self.value(flow.grad) if flow.grad is not None else "-"
                self.item(self.label("sends", name=flow.name), grad)
                note = flow.broadcast_note(self.lang)
                if note:
                    self.item(self.label("note"), note)
        for name, count in self.trace.shared_inputs().items():
            self.item(self.label("note"), sentence("accumulate", self.lang, name=name, count=count))
        self.heading(self.label("gradients"), 3)
        for name, grad in self.trace.gradients.items():
            self.item(f"{self.label('gradient')} dL/d{name}", self.summarized(grad))

    def render_update(self):
        self.heading(self.label("update"), 2)
        self.paragraph(self.trace.update_rule(self.lang))
        for update in self.trace.updates:
            before, grad, after = (self.summarized(a) for a in (update.before, update.grad, update.after))
            if update.lr is not None and np.size(update.before) <= self.trace.max_values:
                text = f"{before} - {self.number(update.lr)} * {grad} = {after}"
            else:
                sep = self.label("comma")
                text = (f"{self.label('before')} {before}{sep}{self.label('gradient')} {grad}{sep}"
                        f"{self.label('after')} {after}")
            self.item(self.label("update_line", name=update.name), text)


def _display_width(text):
    """Columns the text takes in a terminal: CJK characters are two wide."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)
