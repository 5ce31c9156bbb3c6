"""Human-readable answer keys: the table, the worked solution as text or LaTeX, the chain rule.

Renderers return strings; only the CLI prints them. The PDF builder typesets from the same lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .graph import Step, StepGraph
from .notation import Label

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
    """One step of a worked solution: name, formula, numbers substituted, result."""

    step: Step
    name: str
    formula: str
    substituted: str
    result: str


def worked_line(step: Step, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int,
                style: str = "text", variant: int = 0, givens: frozenset[str] = frozenset()) -> WorkedLine:
    """Render one step for one variant; givens print exactly, computed values at `decimals`."""

    def name_of(n: str) -> str:
        lab = labels[n]
        return lab.latex if style == "latex" else lab.text

    def number_of(n: str) -> str:
        v = float(values[n][variant])
        return fmt_given(v) if n in givens else fmt(v, decimals)

    formula = step.expr.render(style, name_of)
    substituted = step.expr.render(style, number_of, numeric=True)
    result = fmt(float(values[step.name][variant]), decimals)
    return WorkedLine(step, name_of(step.name), formula, substituted, result)


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


def worked_text(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int) -> str:
    """The worked solution as plain text, as the seeds present it."""
    givens = frozenset(graph.arch.given_names())
    out = ["Given: " + givens_text(graph, values, labels), ""]
    shown_chain: set[int] = set()
    for title, steps in sections(graph):
        out.append(title)
        for s in steps:
            if s.kind == "dE_dw" and s.layer not in shown_chain:
                shown_chain.add(s.layer)
                out.append("  chain rule: " + chain_rule(graph, s.name, labels))
            out.append("  " + " = ".join(parts(worked_line(s, values, labels, decimals, "text", givens=givens))))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def worked_latex(graph: StepGraph, values: Mapping[str, np.ndarray], labels: Mapping[str, Label], decimals: int) -> str:
    """The worked solution as a LaTeX fragment: one amsmath align* block per section."""
    givens = frozenset(graph.arch.given_names())
    out = ["% Worked solution generated by nnexam; needs \\usepackage{amsmath}."]
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
            name, *rest = parts(worked_line(s, values, labels, decimals, "latex", givens=givens))
            rows.append(f"  {name} &= " + " = ".join(rest))
        out.append(" \\\\\n".join(rows))
        out.append("\\end{align*}")
    return "\n".join(out) + "\n"
