"""Human-readable answer keys: the table, the worked solution as text or LaTeX, the chain rule.

The answer table shows the exact values. The worked solution is the chain as a student works it
by hand (`worked_values`): every result is rounded to the key's decimals and later lines go on
from those rounded results, so each printed line is true on its own: its formula, evaluated on
the numbers it shows, gives its result within half a unit of the last digit. Where that rounding
has moved a result off the exact value, the line also shows the exact value (`WorkedLine.exact`).
`worked_note` is the sentence above every worked solution that says so.

Renderers return strings; only the CLI prints them. The PDF builder typesets from the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .graph import Step, StepGraph
from .notation import Label

# A task's heading in the PDFs and the LMS quiz questions.
TASK_TITLES = {
    "forward": "Forward pass",
    "loss": "Loss",
    "deltas": "Backward pass: error signals",
    "output_gradients": "Gradients of the output-layer weights",
    "hidden_gradients": "Gradients of the hidden-layer weights",
    "bias_gradients": "Gradients of the biases",
    "updated_weights": "Weights after one gradient-descent step",
    "updated_biases": "Biases after one gradient-descent step",
    "forward_after": "Forward pass after the update",
    "loss_after": "Loss after the update",
}

SECTION_TITLES = {
    "forward": "Forward pass",
    "loss": "Loss",
    "deltas": "Backward pass: {layer}",
    "output_gradients": "Weight gradients: {layer}",
    "hidden_gradients": "Weight gradients: {layer}",
    "bias_gradients": "Bias gradients: {layer}",
    "updated_weights": "Updated weights: {layer}",
    "updated_biases": "Updated biases: {layer}",
    "forward_after": "Forward pass after the update",
    "loss_after": "Loss after the update",
}


def layer_name(arch, l: int) -> str:
    """'output layer', 'hidden layer', or 'hidden layer 2' when there are several."""
    if l == arch.depth:
        return "output layer"
    return "hidden layer" if arch.depth == 2 else f"hidden layer {l}"


def section_title(arch, task: str, layer: int) -> str:
    name = layer_name(arch, layer)
    return SECTION_TITLES[task].format(layer=name)


def fmt(value: float, decimals: int) -> str:
    """A number at fixed decimals, never printed as -0.000."""
    if not np.isfinite(value):
        return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    s = f"{value:.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def fmt_given(value: float) -> str:
    """A given value as printed on the sheet (shortest exact form)."""
    s = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


@dataclass(frozen=True)
class WorkedLine:
    """One step of a worked solution: name, formula, numbers substituted, result.

    `exact` is the exact value at the same decimals when the rounded chain's `result` differs
    from it, else "" (see `exact_note`).
    """

    step: Step
    name: str
    formula: str
    substituted: str
    result: str
    exact: str = ""


def _printed(v: np.ndarray, decimals: int) -> np.ndarray:
    """Each value as the number its printed form (fmt at `decimals`) reads back as."""
    return np.array([float(f"{x:.{decimals}f}") for x in v.tolist()], dtype=float)


def worked_values(graph: StepGraph, values: Mapping[str, np.ndarray], decimals: int) -> dict[str, np.ndarray]:
    """The chain as a student works it by hand: givens as given, each step evaluated on the earlier
    steps' rounded results and itself rounded to `decimals` (vectorized over variants).

    `values` is the exact solution. Where a rounded input lands on a point the formula is not
    defined at (ln 0, a division by 0) the step takes its exact value, rounded, instead."""
    names = graph.arch.given_names()
    n = max((np.shape(values[g])[0] if np.ndim(values[g]) else 1) for g in names)
    env: dict[str, np.ndarray] = {g: np.asarray(values[g], dtype=float) for g in names}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            v = np.asarray(step.expr.evaluate(env), dtype=float)
            if v.shape != (n,):
                v = np.broadcast_to(v, (n,))
            if not np.isfinite(v).all():
                exact = np.broadcast_to(np.asarray(values[step.name], dtype=float), (n,))
                v = np.where(np.isfinite(v) | ~np.isfinite(exact), v, exact)
            env[step.name] = _printed(v, decimals)
    return env


def worked_line(step: Step, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int,
                style: str = "text", variant: int = 0, givens: frozenset[str] = frozenset(),
                exact: Mapping[str, np.ndarray] | None = None) -> WorkedLine:
    """Render one step for one variant; givens print exactly, computed values at `decimals`.

    Pass the rounded chain (`worked_values`) as `values` and the exact solution as `exact` to get
    a line that is true as printed, with the exact value noted where the two differ."""

    def name_of(n: str) -> str:
        lab = labels[n]
        return lab.latex if style == "latex" else lab.text

    def number_of(n: str) -> str:
        v = float(values[n][variant])
        return fmt_given(v) if n in givens else fmt(v, decimals)

    formula = step.expr.render(style, name_of)
    substituted = step.expr.render(style, number_of, numeric=True)
    result = fmt(float(values[step.name][variant]), decimals)
    return WorkedLine(step, name_of(step.name), formula, substituted, result, _exact(exact, step.name, variant, decimals, result))


def _exact(exact: Mapping[str, np.ndarray] | None, name: str, variant: int, decimals: int, result: str) -> str:
    if exact is None:
        return ""
    text = fmt(float(exact[name][variant]), decimals)
    return "" if text == result else text


def exact_note(line: WorkedLine, style: str = "text") -> str:
    """What follows a line's result: " (exact 0.4451)" where the rounded chain differs from the exact value, else ""."""
    if not line.exact:
        return ""
    return f" \\quad (\\text{{exact }} {{{line.exact}}})" if style == "latex" else f" (exact {line.exact})"


def _decimals_words(decimals: int) -> str:
    return "whole numbers" if decimals == 0 else f"{decimals} decimal{'s' if decimals != 1 else ''}"


def worked_note(decimals: int, exact_values: str) -> str:
    """The sentence above a worked solution: what its numbers are (`exact_values`: where the exact ones are)."""
    d = _decimals_words(decimals)
    return (f"Each line: the formula, the numbers put in, and the result rounded to {d}. Later lines go on "
            "from the rounded results shown, as when working by hand, so every line can be checked on its own "
            f"with a calculator. Where rounding along the way has moved a result off the exact value rounded to "
            f"{d}, that exact value follows in brackets. {exact_values}")


def chain_factors(graph: StepGraph, name: str) -> list[str]:
    """The values multiplied in chain_rule's product for weight gradient `name` ("1" for ∂a/∂z of a linear layer)."""
    step = graph[name]
    l, j, k = step.layer, step.j, step.k
    if f"dE_da{l}_{j}" in graph and graph.arch.activations[l - 1] != "softmax":
        factors = [f"dE_da{l}_{j}", f"da_dz{l}_{j}" if f"da_dz{l}_{j}" in graph else "1"]
    else:
        factors = [f"delta{l}_{j}"]  # through a softmax the chain goes through δ = ∂E/∂z directly
    return factors + [f"x_{k}" if l == 1 else f"a{l - 1}_{k}"]


def chain_line(graph: StepGraph, name: str, values: Mapping[str, np.ndarray], labels: Mapping[str, Label],
               decimals: int, style: str = "latex", variant: int = 0, exact: Mapping[str, np.ndarray] | None = None) -> WorkedLine:
    """chain_rule for weight gradient `name` with each factor's number and their product (rounded), as one line.

    Its result is the product of the factors as printed, so the line is true as printed; it may
    differ in the last digit from the gradient's own line, which goes on from the rounded δ."""
    givens = set(graph.arch.given_names())
    factors = chain_factors(graph, name)

    def number(n: str) -> str:
        if n == "1":
            return n
        v = float(values[n][variant])
        return fmt_given(v) if n in givens else fmt(v, decimals)

    shown = [number(n) for n in factors]
    product = float(np.prod([float(s) for s in shown]))
    wrap = (lambda s: f"\\left({s}\\right)") if style == "latex" else (lambda s: f"({s})")
    shown = [wrap(s) if s.startswith("-") and i else s for i, s in enumerate(shown)]
    lhs, _, rhs = chain_rule(graph, name, labels, style).partition(" = ")
    dot = " \\cdot " if style == "latex" else " · "
    result = fmt(product, decimals)
    return WorkedLine(graph[name], lhs, rhs, dot.join(shown), result, _exact(exact, name, variant, decimals, result))


def parts(line: WorkedLine) -> list[str]:
    """name, formula, substituted numbers, result; repeats left out (δ = 0.1385 not δ = 0.1385 = 0.1385)."""
    out = [line.name, line.formula]
    if line.substituted != line.formula:
        out.append(line.substituted)
    if line.result != out[-1]:
        out.append(line.result)
    return out


def sections(graph: StepGraph) -> list[tuple[str, list[Step]]]:
    """Consecutive steps grouped by task (and layer, going backward), with their section titles."""
    out: list[tuple[str, list[Step]]] = []
    key = None
    for step in graph.steps:
        k = (step.task, step.layer if step.task not in ("forward", "loss", "forward_after", "loss_after") else 0)
        if out and k == key:
            out[-1][1].append(step)
        else:
            out.append((section_title(graph.arch, step.task, step.layer), [step]))
        key = k
    return out


def chain_rule(graph: StepGraph, name: str, labels: Mapping[str, Label], style: str = "text") -> str | None:
    """∂E/∂w written out along its chain (∂E/∂a · ∂a/∂z · ∂z/∂w) for a weight gradient step."""
    step = graph[name]
    if step.kind != "dE_dw":
        return None
    l, j, k = step.layer, step.j, step.k
    parts = []
    frac = (lambda a, b: f"\\frac{{\\partial {a}}}{{\\partial {b}}}") if style == "latex" else (lambda a, b: f"∂{a}/∂{b}")
    lab = (lambda n: labels[n].latex) if style == "latex" else (lambda n: labels[n].ascii)
    total = lab("E")
    z, w = lab(f"z{l}_{j}"), lab(f"w{l}_{j}_{k}")
    if f"dE_da{l}_{j}" in graph and graph.arch.activations[l - 1] != "softmax":
        a = lab(f"a{l}_{j}")
        parts += [frac(total, a), frac(a, z)]  # ∂a/∂z is 1 for linear, but the chain still has it
    else:
        # Softmax: a_j depends on every z of the layer, so the chain goes through δ = ∂E/∂z directly.
        parts.append(frac(total, z))
    parts.append(frac(z, w))
    dot = " \\cdot " if style == "latex" else " · "
    return f"{frac(total, w)} = " + dot.join(parts)


def answer_table(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int) -> str:
    """The answer key as an aligned two-column table, section by section."""
    lines = []
    width = max(len(labels[s.name].ascii) for s in graph.steps)
    for title, steps in sections(graph):
        lines.append(title)
        for s in steps:
            lines.append(f"  {labels[s.name].ascii:<{width}}  {fmt(float(values[s.name][0]), decimals):>14}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def givens_text(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label]) -> str:
    names = graph.arch.given_names()
    text = ", ".join(f"{labels[n].text} = {fmt_given(float(values[n][0]))}" for n in names)
    if "leaky_relu" in graph.arch.activations:
        text += f", leaky ReLU slope = {fmt_given(graph.arch.leaky_slope)}"
    return text


_EXACT_IN_TABLE = "The answer table (nnexam solve without --steps) gives the exact values."
_EXACT_IN_TABLE_LATEX = "The answer table (\\texttt{nnexam solve} without \\texttt{-{}-steps}) gives the exact values."


def worked_text(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int) -> str:
    """The worked solution as plain text, as the seeds present it: the rounded chain (see worked_values)."""
    givens = frozenset(graph.arch.given_names())
    chain = worked_values(graph, values, decimals)
    out = ["Given: " + givens_text(graph, values, labels), "", worked_note(decimals, _EXACT_IN_TABLE), ""]
    shown_chain: set[int] = set()
    for title, steps in sections(graph):
        out.append(title)
        for s in steps:
            if s.kind == "dE_dw" and s.layer not in shown_chain:
                shown_chain.add(s.layer)
                out.append("  chain rule: " + chain_rule(graph, s.name, labels))
            line = worked_line(s, chain, labels, decimals, "text", givens=givens, exact=values)
            out.append("  " + " = ".join(parts(line)) + exact_note(line))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def worked_latex(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int) -> str:
    """The worked solution as a LaTeX fragment: the note, then one amsmath align* block per section."""
    givens = frozenset(graph.arch.given_names())
    chain = worked_values(graph, values, decimals)
    out = ["% Worked solution generated by nnexam; needs \\usepackage{amsmath}.",
           "\\noindent " + worked_note(decimals, _EXACT_IN_TABLE_LATEX) + "\\par"]
    shown_chain: set[int] = set()
    for title, steps in sections(graph):
        out.append(f"\\paragraph{{{title}}}")
        out.append("\\begin{align*}")
        rows = []
        for s in steps:
            if s.kind == "dE_dw" and s.layer not in shown_chain:
                shown_chain.add(s.layer)
                lhs, _, rhs = chain_rule(graph, s.name, labels, "latex").partition(" = ")
                rows.append(f"  {lhs} &= {rhs}")
            line = worked_line(s, chain, labels, decimals, "latex", givens=givens, exact=values)
            name, *rest = parts(line)
            rows.append(f"  {name} &= " + " = ".join(rest) + exact_note(line, "latex"))
        out.append(" \\\\\n".join(rows))
        out.append("\\end{align*}")
    return "\n".join(out) + "\n"
