"""A Trace as one self-contained HTML page: the graph in SVG, a panel, and Previous/Next buttons.

The page needs no network and no library: its CSS and a small vanilla script are inline, the
computational graph is inline SVG laid out here in Python (one column per step, parameters and
other leaves below the step that first uses them), and the trace itself is embedded as JSON
(``Trace.to_dict``) beside the frames the script steps through: every forward step, every
backward step, every parameter update. Each node is coloured by the size (L2 norm, log scale)
of the gradient it receives, white to red, with a legend. Labels come in English or Chinese,
from ``text.LABELS``, the rules module's sentences and this module's LABELS.

Several traces (consecutive training steps) make one page with a selector: each training step
gets its own graph, colours and frames, and Next runs on from one training step into the next.
"""

import html
import json
import math

import numpy as np

from chainrule.explain.rules import check_lang, sentence
from chainrule.explain.text import _Renderer

__all__ = ["format_html", "LABELS"]

LABELS = {
    "page_title": {"en": "Backpropagation, step by step", "zh": "反向传播逐步演示"},
    "prev": {"en": "Previous", "zh": "上一步"},
    "next": {"en": "Next", "zh": "下一步"},
    "forward": {"en": "Forward", "zh": "前向传播"},
    "backward": {"en": "Backward", "zh": "反向传播"},
    "update": {"en": "Update", "zh": "参数更新"},
    "training_step": {"en": "Training step {k} of {n}", "zh": "第 {k} 步训练（共 {n} 步）"},
    "graph": {"en": "Computational graph", "zh": "计算图"},
    "legend": {"en": "Node colour: size of the gradient each value receives (L2 norm of dL/dvalue, log scale)",
               "zh": "节点颜色：每个值收到的梯度大小（dL/d值 的 L2 范数，对数刻度）"},
    "no_gradient": {"en": "no gradient", "zh": "无梯度"},
    "norm": {"en": "gradient norm |dL/d{name}| = {norm}", "zh": "梯度范数 |dL/d{name}| = {norm}"},
    "w_before": {"en": "w = {name} before", "zh": "更新前的 w = {name}"},
    "g": {"en": "gradient g = dL/d{name}", "zh": "梯度 g = dL/d{name}"},
    "lr": {"en": "learning rate lr", "zh": "学习率 lr"},
    "w_after": {"en": "new w", "zh": "更新后的 w"},
    "equation": {"en": "w - lr * g", "zh": "计算 w - lr * g"},
    "keys": {"en": "Keys: left and right arrows", "zh": "按键：左右方向键"},
}

NODE_W, NODE_H, COL, ROW, MARGIN, TOP = 100, 40, 128, 58, 16, 40
_WHITE, _RED, _NO_GRAD = (255, 255, 255), (214, 39, 40), "#e6e6e6"
_LOWEST = 0.12  # the smallest positive gradient still gets a visible tint, unlike a zero one


def format_html(trace, lang=None, digits=4):
    """The trace as one HTML page that steps through forward, backward and update in a browser.

    Args:
        trace: a Trace, or a list of Traces of consecutive training steps (one page with a
            training-step selector).
        lang: "en" or "zh"; defaults to the (first) trace's language.
        digits: significant digits of the numbers shown.

    Returns:
        The HTML text: no external scripts, styles, fonts or images.

    Example:
        >>> import chainrule as cr
        >>> from chainrule.explain import trace
        >>> w = cr.tensor([2.0], requires_grad=True)
        >>> page = format_html(trace(lambda x: (w * x).sum(), cr.tensor([3.0]), params={"w": w}, lr=0.5))
        >>> page.startswith("<!DOCTYPE html>"), "<svg" in page, "http" in page
        (True, True, False)
    """
    traces = list(trace) if isinstance(trace, (list, tuple)) else [trace]
    if not traces:
        raise ValueError("format_html: no trace given; expected a Trace or a non-empty list of Traces.")
    lang = check_lang(lang or traces[0].lang)
    label = lambda key, **fields: LABELS[key][lang].format(**fields)  # noqa: E731
    pages, payload = [], []
    for k, record in enumerate(traces):
        renderer = _Renderer(record, lang, digits, markdown=False)
        graph = _Graph(record)
        frames = _frames(record, renderer, lang)
        title = label("training_step", k=k + 1, n=len(traces)) if len(traces) > 1 else None
        pages.append(_page_html(k, graph, renderer, label))
        payload.append({"title": title, "trace": _finite(record.to_dict(lang)), "frames": frames,
                        "grad_norms": _finite({node.name: node.norm for node in graph.nodes})})
    first = payload[0]["frames"][0]
    picker = ""
    if len(traces) > 1:
        options = "".join(f'<option value="{k}">{_e(p["title"])}</option>' for k, p in enumerate(payload))
        picker = f'<select id="training-step">{options}</select>'
    phases = "".join(f'<button type="button" class="phase" id="phase-{p}" data-phase="{p}">{_e(label(p))}</button>'
                     for p in ("forward", "backward", "update"))
    data = json.dumps({"lang": lang, "pages": payload}, ensure_ascii=False, allow_nan=False)
    return _PAGE.format(
        lang="zh-CN" if lang == "zh" else "en", title=_e(label("page_title")), css=_CSS, picker=picker,
        phases=phases, prev=_e(label("prev")), next=_e(label("next")), keys=_e(label("keys")),
        pages="\n".join(pages), step_title=_e(first["title"]), step_detail=first["detail"],
        counter=f"1 / {len(payload[0]['frames'])}", data=data.replace("<", "\\u003c"), script=_SCRIPT)


# --- the graph --------------------------------------------------------------------------------

class _Node:
    def __init__(self, name, kind, shape, column, op=None, step=None):
        self.name, self.kind, self.shape, self.op, self.step = name, kind, shape, op, step
        self.column, self.row, self.norm = column, 0, None

    @property
    def x(self):
        return MARGIN + self.column * COL

    @property
    def y(self):
        return TOP + self.row * ROW


class _Graph:
    """One node per value (leaves and step results), one edge per operand, laid out in columns."""

    def __init__(self, trace):
        self.nodes, self.edges, by_name = [], [], {}
        for step in trace.forward:
            for operand in step.inputs:
                if operand.name not in by_name:  # a leaf sits one column before its first user
                    by_name[operand.name] = _Node(operand.name, operand.kind, operand.value.shape,
                                                  max(step.index - 1, 0))
                self.edges.append((operand.name, step.output, step.index))
            kind = "loss" if step.output == "loss" else "step"
            by_name[step.output] = _Node(step.output, kind, step.value.shape, step.index, step.op, step.index)
        self.nodes = list(by_name.values())
        rows = {}
        for node in sorted(self.nodes, key=lambda n: n.step is None):  # step results take row 0 first
            node.row = rows.get(node.column, 0)
            rows[node.column] = node.row + 1
        received = {step.output: _norm(step.grad_output) for step in trace.backward}
        received.update((name, _array_norm(g)) for name, g in trace.gradients.items())
        for node in self.nodes:
            node.norm = received.get(node.name)
        self.by_name = by_name
        self.width = 2 * MARGIN + max(n.column for n in self.nodes) * COL + NODE_W
        self.height = TOP + max(n.row for n in self.nodes) * ROW + NODE_H + MARGIN
        positive = [n.norm for n in self.nodes if n.norm is not None and 0 < n.norm < math.inf]
        self.low, self.high = (min(positive), max(positive)) if positive else (None, None)

    def shade(self, norm):
        """Where ``norm`` lies on the white-to-red scale: 0 for a zero gradient, _LOWEST..1 otherwise."""
        if not norm:
            return 0.0
        if not norm < math.inf or self.high == self.low:
            return 1.0
        return _LOWEST + (1 - _LOWEST) * math.log(norm / self.low) / math.log(self.high / self.low)


def _norm(value):
    """The L2 norm of a recorded Value; exact from the statistics when the values were summarized."""
    if value is None:
        return None
    if value.array is not None:
        return _array_norm(value.array)
    if value.stats and "mean" in value.stats:  # sum x^2 = n (var + mean^2)
        return float(math.sqrt(value.size * (value.stats["std"] ** 2 + value.stats["mean"] ** 2)))
    return None


def _array_norm(array):
    return float(np.sqrt(np.sum(np.square(np.asarray(array, dtype=np.float64)))))


def _colour(t):
    return "#" + "".join(f"{round(w + (r - w) * t):02x}" for w, r in zip(_WHITE, _RED))


def _page_html(k, graph, renderer, label):
    parts = [f'<svg class="graph" role="img" aria-label="{_e(label("graph"))}" width="{graph.width}" '
             f'height="{graph.height}" viewBox="0 0 {graph.width} {graph.height}">',
             f'<defs><marker id="arrow-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             f'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    for source, target, step in graph.edges:
        a, b = graph.by_name[source], graph.by_name[target]
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        bow = -TOP * 0.8 if a.row == b.row == 0 and b.column - a.column > 1 else 0  # skip edges arc above
        path = (f"M{x1:.0f},{y1:.0f} C{x1 + 30:.0f},{y1 + bow:.0f} {x2 - 30:.0f},{y2 + bow:.0f} "
                f"{x2:.0f},{y2:.0f}")
        parts.append(f'<path class="edge" data-step="{step}" data-from="{_e(source)}" data-to="{_e(target)}" '
                     f'd="{path}" marker-end="url(#arrow-{k})"/>')
    for node in graph.nodes:
        t = graph.shade(node.norm)
        fill = _NO_GRAD if node.norm is None else _colour(t)
        kind = renderer.label("step_kind", index=node.step) if node.step else _kind_label(node.kind, renderer)
        tip = [f"{node.name} ({kind})", renderer.label("shape_only", shape=node.shape),
               label("norm", name=node.name, norm=renderer.number(node.norm)) if node.norm is not None
               else label("no_gradient")]
        attrs = f' data-step="{node.step}"' if node.step else ""
        if node.norm is not None:
            attrs += f' data-grad-norm="{node.norm!r}"'
        classes = f"node kind-{node.kind}" + (" dark" if t > 0.6 else "") + (" no-grad" if node.norm is None else "")
        sub = f"{node.op} {node.shape}" if node.op else f"{node.shape}"
        parts.append(f'<g class="{classes}" data-name="{_e(node.name)}" data-kind="{node.kind}"{attrs} '
                     f'transform="translate({node.x},{node.y})"><title>{_e(" · ".join(tip))}</title>'
                     f'<rect width="{NODE_W}" height="{NODE_H}" rx="7" fill="{fill}"/>'
                     f'<text x="{NODE_W / 2:.0f}" y="17" class="name">{_e(_short(node.name))}</text>'
                     f'<text x="{NODE_W / 2:.0f}" y="32" class="sub">{_e(_short(sub, 17))}</text></g>')
    parts.append("</svg>")
    legend = f'<div class="legend"><span>{_e(label("legend"))}</span> '
    if graph.low is not None:
        legend += (f'<span class="scale-end">{renderer.number(graph.low)}</span><span class="scale" style="background:'
                   f'linear-gradient(to right, {_colour(_LOWEST)}, {_colour(1.0)})"></span>'
                   f'<span class="scale-end">{renderer.number(graph.high)}</span> ')
    legend += f'<span class="swatch" style="background:{_NO_GRAD}"></span><span>{_e(label("no_gradient"))}</span></div>'
    return (f'<div class="page" data-page="{k}"{"" if k == 0 else " hidden"}>'
            f'<div class="graph-box">{"".join(parts)}</div>{legend}</div>')


def _kind_label(kind, renderer):
    return renderer.label({"input": "input_kind"}.get(kind, kind))


def _short(text, width=14):
    return text if len(text) <= width else text[:width - 1] + "…"


# --- the frames the buttons step through ----------------------------------------------------------

def _frames(trace, fmt, lang):
    """What the panel shows at each click: forward steps, backward steps, then parameter updates."""
    return _forward_frames(trace, fmt, lang) + _backward_frames(trace, fmt, lang) + _update_frames(trace, fmt, lang)


def _frame(phase, title, parts, current=(), related=(), step=None):
    return {"phase": phase, "title": title, "detail": "".join(parts), "current": list(current),
            "related": list(related), "step": step}


def _forward_frames(trace, fmt, lang):
    frames = []
    for step in trace.forward:
        call = f"{step.output} = {step.op}({', '.join(o.name for o in step.inputs)})"
        notes = [fmt.label("module", name=step.module)] if step.module else []
        notes += [] if step.requires_grad else [fmt.label("no_grad")]
        extra = fmt.label("open") + fmt.label("comma").join(notes) + fmt.label("close") if notes else ""
        title = (f"{LABELS['forward'][lang]} · {fmt.label('step', index=step.index)} · {step.op}{extra}"
                 f"{fmt.label('colon')}{call}")
        parts = [_item(fmt.label("formula"), step.rule.forward)]
        if step.options:
            parts.append(_item(fmt.label("options"), ", ".join(f"{k}={v!r}" for k, v in step.options.items())))
        parts += [_item(f"{fmt.label('input')} {o.name}{fmt.kind(o)}", fmt.value(o.value)) for o in step.inputs]
        parts.append(_item(f"{fmt.label('output')} {step.output}", fmt.value(step.value)))
        if step.index == trace.loss.step:
            loss = trace.loss
            parts.append(_sentence(fmt.label("loss_line", value=fmt.number(loss.value), index=loss.step, op=loss.op,
                                             inputs=fmt.label("comma").join(loss.inputs))))
        frames.append(_frame("forward", title, parts, [step.output], [o.name for o in step.inputs], step.index))
    return frames


def _backward_frames(trace, fmt, lang):
    frames, shared = [], trace.shared_inputs()
    for k, step in enumerate(trace.backward):
        key = "back_step" if step.step else "back_step_earlier"
        title = f"{LABELS['backward'][lang]} · {fmt.label(key, index=step.step, op=step.op, output=step.output)}"
        parts = [_sentence(fmt.label("seed"))] if k == 0 else []
        parts += [_item(fmt.label("rule_words"), step.rule.describe(lang), prose=True),
                  _item(fmt.label("rule_formula"), step.rule.formula),
                  _item(f"{fmt.label('incoming')} dL/d{step.output}", fmt.value(step.grad_output))]
        for flow in step.inputs:
            grad = fmt.value(flow.grad) if flow.grad is not None else "-"
            parts.append(_item(fmt.label("sends", name=flow.name), grad))
            note = flow.broadcast_note(lang)
            if note:
                parts.append(_item(fmt.label("note"), note, prose=True))
            if flow.name in shared:
                note = sentence("accumulate", lang, name=flow.name, count=shared[flow.name])
                parts.append(_item(fmt.label("note"), note, prose=True))
        if k == len(trace.backward) - 1:  # after the last node: what every leaf received in total
            parts.append(f'<h3>{_e(fmt.label("gradients"))}</h3>')
            parts += [_item(f"{fmt.label('gradient')} dL/d{name}", fmt.summarized(g))
                      for name, g in trace.gradients.items()]
        frames.append(_frame("backward", title, parts, [step.output], [flow.name for flow in step.inputs],
                             step.step or None))
    return frames


def _update_frames(trace, fmt, lang):
    label = lambda key, **fields: LABELS[key][lang].format(**fields)  # noqa: E731
    rule = _sentence(trace.update_rule(lang))
    if not trace.updates:
        return [_frame("update", label("update"), [rule])]
    frames = []
    for update in trace.updates:
        before, grad, after = (fmt.summarized(a) for a in (update.before, update.grad, update.after))
        parts = [rule, _item(label("w_before", name=update.name), before), _item(label("g", name=update.name), grad)]
        if update.lr is not None:
            parts.append(_item(label("lr"), fmt.number(update.lr)))
            if np.size(update.before) <= trace.max_values:
                parts.append(_item(label("equation"), f"{before} - {fmt.number(update.lr)} * {grad}"))
        parts.append(_item(label("w_after"), after))
        title = f"{label('update')} · {fmt.label('update_line', name=update.name)}"
        frames.append(_frame("update", title, parts, [update.name]))
    return frames


def _item(label, value, prose=False):
    value_class = "prose" if prose else "value"
    return (f'<div class="item"><span class="label">{_e(label)}</span>'
            f'<span class="{value_class}">{_e(value)}</span></div>')


def _sentence(text):
    return f'<p class="sentence">{_e(text)}</p>'


def _e(text):
    return html.escape(str(text), quote=True)


def _finite(value):
    """The JSON form with NaN and infinities as strings, since JSON has no numbers for them."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# --- the page ---------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body data-phase="forward">
<header><h1>{title}</h1>
<nav class="controls">{picker}
<button type="button" id="prev">{prev}</button>
<span class="phases">{phases}</span>
<button type="button" id="next">{next}</button>
<span id="step-counter">{counter}</span> <span class="keys">{keys}</span></nav></header>
<main>
<section id="graph">{pages}</section>
<section id="panel"><h2 id="step-title">{step_title}</h2><div id="step-detail">{step_detail}</div></section>
</main>
<script type="application/json" id="trace-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

_CSS = """
body { font-family: system-ui, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 0 1.5rem 2rem; color: #222; background: #fff; }
h1 { font-size: 1.3rem; margin: 1rem 0 0.5rem; }
h2 { font-size: 1.05rem; margin: 0 0 0.6rem; }
h3 { font-size: 0.95rem; margin: 0.8rem 0 0.3rem; }
.controls, .phases { display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: center; }
button, select { font: inherit; padding: 0.25rem 0.8rem; border: 1px solid #888; border-radius: 4px;
                 background: #f6f6f6; cursor: pointer; }
button:disabled { opacity: 0.4; cursor: default; }
button.phase[aria-pressed="true"] { background: #1f4e99; color: #fff; border-color: #1f4e99; }
.keys, #step-counter { color: #666; font-size: 0.85rem; }
.graph-box { overflow-x: auto; border: 1px solid #ddd; border-radius: 6px; margin-top: 0.8rem; }
svg.graph { display: block; }
.edge { fill: none; stroke: #999; stroke-width: 1.3; }
.edge.current { stroke: #1f4e99; stroke-width: 2.6; }
body[data-phase="backward"] .edge.current { stroke: #d62728; stroke-dasharray: 6 3; }
marker path { fill: #999; }
.node rect { stroke: #555; stroke-width: 1; }
.node.kind-parameter rect { stroke: #2a7d2a; stroke-width: 1.6; }
.node.no-grad rect { stroke-dasharray: 4 3; }
.node text { font-size: 12px; text-anchor: middle; fill: #222; }
.node text.sub { font-size: 10px; fill: #444; }
.node.dark text { fill: #fff; }
.node.related rect { stroke: #1f4e99; stroke-width: 2.2; }
.node.current rect { stroke: #1f4e99; stroke-width: 4; }
.legend { font-size: 0.85rem; color: #444; margin: 0.4rem 0; display: flex; flex-wrap: wrap; gap: 0.4rem;
          align-items: center; }
.legend .scale { display: inline-block; width: 10rem; height: 0.8rem; border: 1px solid #aaa; }
.legend .swatch { display: inline-block; width: 1.2rem; height: 0.8rem; border: 1px dashed #888; }
#panel { margin-top: 1rem; padding: 0.8rem 1rem; border: 1px solid #ddd; border-radius: 6px; background: #fafafa; }
.item { margin: 0.25rem 0; }
.item .label { font-weight: 600; margin-right: 0.6rem; }
.item .value { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; white-space: pre-wrap; }
.sentence { margin: 0.3rem 0 0.6rem; }
"""

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  var title = document.getElementById("step-title"), detail = document.getElementById("step-detail");
  var counter = document.getElementById("step-counter"), picker = document.getElementById("training-step");
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  var phases = document.querySelectorAll("button.phase"), pages = document.querySelectorAll(".page");
  var page = 0, index = 0;

  function frames() { return data.pages[page].frames; }
  function mark(box, frame) {
    box.querySelectorAll(".node").forEach(function (node) {
      var name = node.getAttribute("data-name");
      node.classList.toggle("current", frame.current.indexOf(name) >= 0);
      node.classList.toggle("related", frame.related.indexOf(name) >= 0);
    });
    box.querySelectorAll(".edge").forEach(function (edge) {
      edge.classList.toggle("current", Number(edge.getAttribute("data-step")) === frame.step);
    });
  }
  function show() {
    var frame = frames()[index];
    title.textContent = frame.title;
    detail.innerHTML = frame.detail;
    counter.textContent = (index + 1) + " / " + frames().length;
    pages.forEach(function (box, k) { box.hidden = k !== page; });
    mark(pages[page], frame);
    phases.forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-phase") === frame.phase));
    });
    document.body.setAttribute("data-phase", frame.phase);
    if (picker) { picker.value = String(page); }
    prev.disabled = page === 0 && index === 0;
    next.disabled = page === data.pages.length - 1 && index === frames().length - 1;
  }
  function go(delta) {  // Next runs on from one training step into the next
    index += delta;
    if (index >= frames().length && page < data.pages.length - 1) { page += 1; index = 0; }
    if (index < 0 && page > 0) { page -= 1; index = frames().length - 1; }
    index = Math.max(0, Math.min(index, frames().length - 1));
    show();
  }
  prev.addEventListener("click", function () { go(-1); });
  next.addEventListener("click", function () { go(1); });
  phases.forEach(function (b) {
    b.addEventListener("click", function () {
      for (var i = 0; i < frames().length; i++) {
        if (frames()[i].phase === b.getAttribute("data-phase")) { index = i; break; }
      }
      show();
    });
  });
  if (picker) { picker.addEventListener("change", function () { page = Number(picker.value); index = 0; show(); }); }
  document.addEventListener("keydown", function (event) {
    if (event.target.tagName === "SELECT") { return; }
    if (event.key === "ArrowRight") { go(1); } else if (event.key === "ArrowLeft") { go(-1); }
  });
  show();
})();
"""
