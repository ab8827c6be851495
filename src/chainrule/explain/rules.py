"""The local-derivative rule of every op, in words and as a formula, in English and Chinese.

Backpropagation is the chain rule applied node by node: each op multiplies the gradient that
reaches its output by its own local derivative and sends the product to its inputs. This table
says, per registered op name, what that local derivative is, so an explanation can print it
beside the numbers. It mirrors the one-line VJP in each op's docstring; the numbers themselves
always come from the engine, never from this table.

Also here: the sentences for the two steps of the chain rule that are not an op's own rule
(summing a broadcast input's gradient, adding the gradients of an input used twice) and for the
parameter update.
"""

from dataclasses import dataclass

__all__ = ["LANGUAGES", "Rule", "RULES", "rule_for", "check_lang", "sentence", "SENTENCES"]

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Rule:
    """One op's forward formula and local-derivative rule.

    Attributes:
        op: the registered op name.
        forward, forward_latex: what the op computes (plain text, LaTeX).
        formula, latex: its local derivative (plain text, LaTeX), e.g. ``d s/dz = s(1 - s)``.
        words: the rule as a sentence, ``{"en": ..., "zh": ...}``.
        specific: False for the generic fallback used by ops without a written rule.
    """
    op: str
    forward: str
    forward_latex: str
    formula: str
    latex: str
    words: dict
    specific: bool = True

    def describe(self, lang="en"):
        """The rule as a sentence in ``lang`` ("en" or "zh")."""
        return self.words[check_lang(lang)]

    def to_dict(self, lang="en"):
        return {"op": self.op, "forward": self.forward, "forward_latex": self.forward_latex,
                "formula": self.formula, "latex": self.latex, "words": self.describe(lang),
                "specific": self.specific}


def check_lang(lang):
    """Return ``lang`` if it is a supported language, else raise ValueError naming the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"explain: unknown language; expected one of {LANGUAGES}, got {lang!r}.")
    return lang


RULES = {}


def _rule(op, forward, forward_latex, formula, latex, en, zh):
    RULES[op] = Rule(op, forward, forward_latex, formula, latex, {"en": en, "zh": zh})


# --- elementwise binary ops ---------------------------------------------------------------
_rule("add", "out = a + b", r"\mathrm{out} = a + b",
      "d out/da = 1,  d out/db = 1",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = 1,\ \frac{\partial\,\mathrm{out}}{\partial b} = 1",
      "Addition passes the incoming gradient unchanged to both inputs.",
      "加法把传入的梯度原样传给两个输入。")
_rule("sub", "out = a - b", r"\mathrm{out} = a - b",
      "d out/da = 1,  d out/db = -1",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = 1,\ \frac{\partial\,\mathrm{out}}{\partial b} = -1",
      "Subtraction passes the gradient to a unchanged and to b with its sign flipped.",
      "减法把梯度原样传给 a，取相反数后传给 b。")
_rule("mul", "out = a * b", r"\mathrm{out} = a \cdot b",
      "d out/da = b,  d out/db = a",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = b,\ \frac{\partial\,\mathrm{out}}{\partial b} = a",
      "Each factor receives the incoming gradient times the other factor.",
      "每个因子得到的梯度是传入的梯度乘以另一个因子。")
_rule("div", "out = a / b", r"\mathrm{out} = \frac{a}{b}",
      "d out/da = 1/b,  d out/db = -a/b^2",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = \frac{1}{b},\ "
      r"\frac{\partial\,\mathrm{out}}{\partial b} = -\frac{a}{b^2}",
      "The numerator receives the gradient divided by b; the denominator receives minus the gradient times a/b^2.",
      "分子得到梯度除以 b；分母得到负的梯度乘以 a/b^2。")
_rule("pow", "out = a ** b", r"\mathrm{out} = a^{b}",
      "d out/da = b * a^(b-1),  d out/db = a^b * ln(a)",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = b\,a^{b-1},\ "
      r"\frac{\partial\,\mathrm{out}}{\partial b} = a^{b}\ln a",
      "The power rule: the base receives the gradient times b * a^(b-1); "
      "the exponent receives it times the output times ln(a).",
      "幂法则：底数得到梯度乘以 b * a^(b-1)；指数得到梯度乘以输出再乘以 ln(a)。")
_rule("maximum", "out = max(a, b)", r"\mathrm{out} = \max(a, b)",
      "d out/da = [a > b] + [a = b]/2,  d out/db = [b > a] + [a = b]/2",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = [a > b] + \tfrac{1}{2}[a = b]",
      "The gradient goes to whichever input is larger; a tie splits it evenly.",
      "梯度只传给较大的那个输入；两者相等时平分。")
_rule("minimum", "out = min(a, b)", r"\mathrm{out} = \min(a, b)",
      "d out/da = [a < b] + [a = b]/2,  d out/db = [b < a] + [a = b]/2",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = [a < b] + \tfrac{1}{2}[a = b]",
      "The gradient goes to whichever input is smaller; a tie splits it evenly.",
      "梯度只传给较小的那个输入；两者相等时平分。")
_rule("where", "out = cond ? a : b", r"\mathrm{out} = \mathrm{cond}\ ?\ a : b",
      "d out/da = cond,  d out/db = 1 - cond",
      r"\frac{\partial\,\mathrm{out}}{\partial a} = \mathrm{cond},\ "
      r"\frac{\partial\,\mathrm{out}}{\partial b} = 1 - \mathrm{cond}",
      "Each position sends its gradient to the input it was taken from.",
      "每个位置的梯度传回它所取自的那个输入。")

# --- elementwise unary ops ------------------------------------------------------------------
_rule("neg", "out = -x", r"\mathrm{out} = -x", "d out/dx = -1", r"\frac{d\,\mathrm{out}}{dx} = -1",
      "Negation flips the sign of the gradient.",
      "取负把梯度的符号翻转。")
_rule("exp", "out = e^x", r"\mathrm{out} = e^{x}", "d e^x/dx = e^x = out", r"\frac{d\,e^{x}}{dx} = e^{x}",
      "The exponential is its own derivative: the gradient is multiplied by the output.",
      "指数函数的导数就是它自己：梯度乘以输出。")
_rule("log", "out = ln(x)", r"\mathrm{out} = \ln x", "d ln(x)/dx = 1/x", r"\frac{d \ln x}{dx} = \frac{1}{x}",
      "The natural logarithm divides the gradient by its input.",
      "自然对数把梯度除以它的输入。")
_rule("log1p", "out = ln(1 + x)", r"\mathrm{out} = \ln(1 + x)", "d ln(1 + x)/dx = 1/(1 + x)",
      r"\frac{d \ln(1+x)}{dx} = \frac{1}{1+x}",
      "The gradient is divided by 1 + x.",
      "梯度除以 1 + x。")
_rule("sqrt", "out = sqrt(x)", r"\mathrm{out} = \sqrt{x}", "d sqrt(x)/dx = 1/(2 sqrt(x)) = 1/(2 out)",
      r"\frac{d\sqrt{x}}{dx} = \frac{1}{2\sqrt{x}}",
      "The square root divides the gradient by twice the output.",
      "平方根把梯度除以输出的两倍。")
_rule("abs", "out = |x|", r"\mathrm{out} = |x|", "d |x|/dx = sign(x),  sign(0) = 0",
      r"\frac{d|x|}{dx} = \operatorname{sign}(x)",
      "The gradient keeps its sign where x is positive, flips it where x is negative, and is 0 at x = 0.",
      "x 为正时梯度不变，x 为负时梯度取反，x = 0 处梯度为 0。")
_rule("sin", "out = sin(x)", r"\mathrm{out} = \sin x", "d sin(x)/dx = cos(x)", r"\frac{d \sin x}{dx} = \cos x",
      "The gradient is multiplied by cos(x).",
      "梯度乘以 cos(x)。")
_rule("cos", "out = cos(x)", r"\mathrm{out} = \cos x", "d cos(x)/dx = -sin(x)", r"\frac{d \cos x}{dx} = -\sin x",
      "The gradient is multiplied by -sin(x).",
      "梯度乘以 -sin(x)。")
_rule("sigmoid", "s = 1 / (1 + e^(-z))", r"s = \frac{1}{1 + e^{-z}}", "d sigmoid(z)/dz = s(1 - s)",
      r"\frac{d\,\sigma(z)}{dz} = s\,(1 - s)",
      "The sigmoid's slope is its output times one minus its output, so the gradient is multiplied by s(1 - s).",
      "sigmoid 的斜率等于输出乘以（1 减输出），所以梯度乘以 s(1 - s)。")
_rule("tanh", "t = tanh(z)", r"t = \tanh z", "d tanh(z)/dz = 1 - t^2", r"\frac{d \tanh z}{dz} = 1 - t^{2}",
      "The gradient is multiplied by one minus the squared output.",
      "梯度乘以（1 减输出的平方）。")
_rule("relu", "r = max(z, 0)", r"r = \max(z, 0)", "d relu(z)/dz = [z > 0]",
      r"\frac{d\,\mathrm{relu}(z)}{dz} = [z > 0]",
      "The gradient passes where the input was positive and is blocked (0) elsewhere, including at 0.",
      "输入为正的位置梯度原样通过，其余位置（包括 0）梯度为 0。")
_rule("leaky_relu", "r = z (z > 0),  slope * z (z <= 0)", r"r = z\ (z > 0),\ \alpha z\ (z \le 0)",
      "d r/dz = 1 (z > 0),  slope (z <= 0)", r"\frac{dr}{dz} = 1\ (z > 0),\ \alpha\ (z \le 0)",
      "The gradient passes where the input was positive and is scaled by the negative slope elsewhere.",
      "输入为正的位置梯度原样通过，其余位置乘以负半轴斜率。")
_rule("silu", "out = z * s, s = sigmoid(z)", r"\mathrm{out} = z\,\sigma(z)",
      "d out/dz = s (1 + z (1 - s))", r"\frac{d\,\mathrm{out}}{dz} = s\,(1 + z(1 - s))",
      "Product rule on z * sigmoid(z): the gradient is multiplied by s(1 + z(1 - s)).",
      "对 z * sigmoid(z) 用乘积法则：梯度乘以 s(1 + z(1 - s))。")
_rule("softplus", "out = ln(1 + e^z)", r"\mathrm{out} = \ln(1 + e^{z})", "d out/dz = sigmoid(z)",
      r"\frac{d\,\mathrm{out}}{dz} = \sigma(z)",
      "The slope of softplus is the sigmoid of its input.",
      "softplus 的斜率是其输入的 sigmoid。")
_rule("clamp", "out = min(max(x, lo), hi)", r"\mathrm{out} = \min(\max(x, lo), hi)",
      "d out/dx = [lo <= x <= hi]", r"\frac{d\,\mathrm{out}}{dx} = [lo \le x \le hi]",
      "The gradient passes inside the bounds and is 0 where the value was clipped.",
      "在上下界之内梯度原样通过，被截断的位置梯度为 0。")
_rule("to", "out = x.to(dtype)", r"\mathrm{out} = x", "d out/dx = 1", r"\frac{d\,\mathrm{out}}{dx} = 1",
      "A cast passes the gradient through, cast back to the input's dtype.",
      "类型转换让梯度原样通过，只是转换回输入的数据类型。")

# --- matrix products and layers -------------------------------------------------------------
_rule("matmul", "C = A @ B", r"C = A B",
      "dL/dA = G @ B^T,  dL/dB = A^T @ G",
      r"\frac{\partial L}{\partial A} = G B^{\top},\ \frac{\partial L}{\partial B} = A^{\top} G",
      "With G the incoming gradient, A receives G times B transposed and B receives A transposed times G.",
      "设 G 为传入的梯度：A 得到 G 乘以 B 的转置，B 得到 A 的转置乘以 G。")
_rule("linear", "y = x @ W^T + b", r"y = x W^{\top} + b",
      "dL/dx = G @ W,  dL/dW = G^T @ x,  dL/db = sum_rows G",
      r"\frac{\partial L}{\partial x} = G W,\ \frac{\partial L}{\partial W} = G^{\top} x,\ "
      r"\frac{\partial L}{\partial b} = \sum_{\mathrm{rows}} G",
      "With G the incoming gradient: x receives G times W, W receives G transposed times x (summed over the batch), "
      "and b receives G summed over the rows, because b was added to every row.",
      "设 G 为传入的梯度：x 得到 G 乘以 W；W 得到 G 的转置乘以 x（对整个批次求和）；"
      "b 得到 G 按行求和，因为 b 被加到了每一行上。")

# --- reductions -----------------------------------------------------------------------------
_rule("sum", "s = sum_i x_i", r"s = \sum_i x_i", "d s/dx_i = 1", r"\frac{\partial s}{\partial x_i} = 1",
      "Every summed element contributed once, so each receives a copy of the incoming gradient.",
      "每个被求和的元素只贡献了一次，所以每个元素都得到一份传入梯度的副本。")
_rule("mean", "m = (1/n) sum_i x_i", r"m = \frac{1}{n}\sum_i x_i", "d m/dx_i = 1/n",
      r"\frac{\partial m}{\partial x_i} = \frac{1}{n}",
      "Every averaged element receives the incoming gradient divided by the number of elements n.",
      "每个参与平均的元素得到传入的梯度除以元素个数 n。")
_rule("max", "m = max_i x_i", r"m = \max_i x_i", "d m/dx_i = [i = argmax x]",
      r"\frac{\partial m}{\partial x_i} = [i = \arg\max]",
      "Only the element that was the maximum receives the gradient; ties over all elements split it.",
      "只有取到最大值的元素得到梯度；对全部元素求最大值时若有并列则平分。")
_rule("min", "m = min_i x_i", r"m = \min_i x_i", "d m/dx_i = [i = argmin x]",
      r"\frac{\partial m}{\partial x_i} = [i = \arg\min]",
      "Only the element that was the minimum receives the gradient; ties over all elements split it.",
      "只有取到最小值的元素得到梯度；对全部元素求最小值时若有并列则平分。")
_rule("prod", "p = prod_i x_i", r"p = \prod_i x_i", "d p/dx_i = prod_{j != i} x_j",
      r"\frac{\partial p}{\partial x_i} = \prod_{j \ne i} x_j",
      "Each element receives the gradient times the product of all the other elements.",
      "每个元素得到梯度乘以其余所有元素的乘积。")

# --- losses and normalized exponentials -----------------------------------------------------
_rule("mse_loss", "L = (1/n) sum (o - y)^2", r"L = \frac{1}{n}\sum (o - y)^{2}",
      "dL/do = 2(o - y)/n,  dL/dy = -2(o - y)/n",
      r"\frac{\partial L}{\partial o} = \frac{2(o - y)}{n},\ \frac{\partial L}{\partial y} = -\frac{2(o - y)}{n}",
      "The squared error's slope is twice the error, divided by the number of elements n when the loss is a mean.",
      "平方误差的斜率是误差的两倍；损失取平均时再除以元素个数 n。")
_rule("cross_entropy", "L = -(1/N) sum_rows log softmax(x)[t]", r"L = -\frac{1}{N}\sum \log \mathrm{softmax}(x)_{t}",
      "dL/dx = (softmax(x) - onehot(t)) / N",
      r"\frac{\partial L}{\partial x} = \frac{\mathrm{softmax}(x) - \mathrm{onehot}(t)}{N}",
      "Each logit receives its predicted probability minus its target probability, divided by the number of rows N.",
      "每个 logit 得到它的预测概率减去目标概率，再除以行数 N。")
_rule("nll_loss", "L = -(1/N) sum_rows logp[t]", r"L = -\frac{1}{N}\sum \log p_{t}",
      "dL/dlogp = -onehot(t) / N", r"\frac{\partial L}{\partial \log p} = -\frac{\mathrm{onehot}(t)}{N}",
      "Only the target class's log-probability receives a gradient, minus one over the number of rows.",
      "只有目标类别的对数概率得到梯度，等于负的行数分之一。")
_rule("binary_cross_entropy", "L = -(1/n) sum (y ln p + (1 - y) ln(1 - p))",
      r"L = -\frac{1}{n}\sum \big(y\ln p + (1-y)\ln(1-p)\big)",
      "dL/dp = (p - y) / (p (1 - p) n)", r"\frac{\partial L}{\partial p} = \frac{p - y}{p(1-p)\,n}",
      "Each probability receives its error divided by p(1 - p), and by n when the loss is a mean.",
      "每个概率得到它的误差除以 p(1 - p)；损失取平均时再除以 n。")
_rule("binary_cross_entropy_with_logits", "L = BCE(sigmoid(z), y)", r"L = \mathrm{BCE}(\sigma(z), y)",
      "dL/dz = (sigmoid(z) - y) / n", r"\frac{\partial L}{\partial z} = \frac{\sigma(z) - y}{n}",
      "Each logit receives its predicted probability minus its target, divided by n when the loss is a mean.",
      "每个 logit 得到预测概率减去目标值；损失取平均时再除以 n。")
_rule("softmax", "p = e^x / sum e^x", r"p_i = \frac{e^{x_i}}{\sum_j e^{x_j}}",
      "dL/dx = p * (G - sum(G * p))", r"\frac{\partial L}{\partial x} = p \odot \big(G - \textstyle\sum_j G_j p_j\big)",
      "Each input receives its probability times how much its incoming gradient exceeds "
      "the probability-weighted average gradient.",
      "每个输入得到它的概率乘以（它的传入梯度减去按概率加权的平均梯度）。")
_rule("log_softmax", "l = x - ln sum e^x", r"l_i = x_i - \ln\sum_j e^{x_j}",
      "dL/dx = G - softmax(x) * sum(G)",
      r"\frac{\partial L}{\partial x} = G - \mathrm{softmax}(x) \textstyle\sum_j G_j",
      "Each input receives its incoming gradient minus its probability times the sum of the incoming gradients.",
      "每个输入得到它的传入梯度减去它的概率乘以传入梯度之和。")

# --- shape and indexing ---------------------------------------------------------------------
_rule("reshape", "out = reshape(x, shape)", r"\mathrm{out} = \mathrm{reshape}(x)",
      "dL/dx = reshape(G, x.shape)", r"\frac{\partial L}{\partial x} = \mathrm{reshape}(G)",
      "The same elements in a new shape: the gradient is reshaped back to the input's shape.",
      "元素不变，只是形状改变：梯度被变回输入的形状。")
_rule("permute", "out = permute(x, dims)", r"\mathrm{out} = \mathrm{permute}(x)",
      "dL/dx = permute(G, inverse(dims))", r"\frac{\partial L}{\partial x} = \mathrm{permute}^{-1}(G)",
      "The dims were reordered, so the gradient's dims are put back in the inverse order.",
      "维度被重新排列，所以梯度按逆顺序把维度换回去。")
_rule("expand", "out = expand(x, shape)", r"\mathrm{out} = \mathrm{expand}(x)",
      "dL/dx = sum_expanded G", r"\frac{\partial L}{\partial x} = \sum_{\mathrm{expanded}} G",
      "Every copy of an element contributed, so the gradient is summed over the expanded dims.",
      "每个元素的每一份副本都有贡献，所以梯度沿被扩展的维度求和。")
_rule("getitem", "out = x[index]", r"\mathrm{out} = x[\mathrm{index}]",
      "dL/dx = scatter_add(zeros(x.shape), index, G)",
      r"\frac{\partial L}{\partial x} = \mathrm{scatter}(G, \mathrm{index})",
      "Only the selected positions receive the gradient; positions selected twice add up, the rest get 0.",
      "只有被选中的位置得到梯度；被选中多次的位置梯度相加，其余位置为 0。")
_rule("cat", "out = cat(a, b, ..., dim)", r"\mathrm{out} = [a; b; \dots]",
      "dL/da = G[slice_a]", r"\frac{\partial L}{\partial a} = G[\mathrm{slice}_a]",
      "Each input receives the slice of the gradient where it was placed.",
      "每个输入得到梯度中它所在位置的那一段。")
_rule("stack", "out = stack(a, b, ..., dim)", r"\mathrm{out} = \mathrm{stack}(a, b, \dots)",
      "dL/da = G[..., i, ...]", r"\frac{\partial L}{\partial a_i} = G_{[i]}",
      "Each input receives its own slice of the gradient along the new dim.",
      "每个输入得到梯度沿新维度上属于它的那一片。")
_rule("flip", "out = flip(x, dims)", r"\mathrm{out} = \mathrm{flip}(x)",
      "dL/dx = flip(G)", r"\frac{\partial L}{\partial x} = \mathrm{flip}(G)",
      "The gradient is reversed the same way the input was.",
      "梯度按与输入相同的方式反转。")


_GENERIC_WORDS = {
    "en": "No rule is written out for {op}; its backward computes the vector-Jacobian product "
          "(the incoming gradient times the op's local derivative).",
    "zh": "这里没有写出 {op} 的规则；"
          "它的反向函数计算向量-雅可比积（传入的梯度乘以该运算的局部导数）。",
}


def rule_for(op):
    """The Rule of op ``op``, or a generic one (``specific=False``) for ops without a written rule."""
    rule = RULES.get(op)
    if rule is not None:
        return rule
    return Rule(op, f"out = {op}(x)", rf"\mathrm{{out}} = \mathrm{{{_latex_name(op)}}}(x)",
                "dL/dx = J^T G", r"\frac{\partial L}{\partial x} = J^{\top} G",
                {lang: text.format(op=op) for lang, text in _GENERIC_WORDS.items()}, specific=False)


def _latex_name(op):
    return op.replace("_", r"\_")


# --- the other sentences of the chain rule ---------------------------------------------------

SENTENCES = {
    "broadcast": {
        "en": "{name}: {shape} was broadcast to {grad_shape}; its gradient is summed over {dims_word} {dims}, "
              "because the same values of {name} were used at every position along {those}.",
        "zh": "{name}：形状 {shape} 被广播成 {grad_shape}；它的梯度沿第 {dims} 维求和，"
              "因为 {name} 的同一组值在这些维度的每个位置上都被使用了。",
    },
    "accumulate": {
        "en": "{name} is used by {count} ops; the gradients from each use are added.",
        "zh": "{name} 被 {count} 个运算使用；每处传回的梯度相加。",
    },
    "sgd": {
        "en": "Gradient descent moves each parameter against its gradient: w <- w - lr * g.",
        "zh": "梯度下降让每个参数沿梯度的反方向移动：w <- w - lr * g。",
    },
    "optimizer": {
        "en": "{optimizer}.step() applies its own update rule; the values before and after are shown.",
        "zh": "{optimizer}.step() 按它自己的更新规则修改参数；下面列出更新前后的值。",
    },
    "no_update": {
        "en": "No learning rate or optimizer was given, so no parameter was changed.",
        "zh": "没有给出学习率或优化器，所以参数没有改变。",
    },
}


def sentence(key, lang="en", **fields):
    """One of SENTENCES in ``lang``, with its fields filled in."""
    if key == "broadcast":
        dims = fields["dims"]
        fields = dict(fields, dims=", ".join(str(d) for d in dims),
                      dims_word="dim" if len(dims) == 1 else "dims",
                      those="that dim" if len(dims) == 1 else "those dims")
    return SENTENCES[key][check_lang(lang)].format(**fields)
