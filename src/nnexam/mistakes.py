"""The common mistakes, each a rule that rewrites some steps of the graph.

One list, used by the generator (a variant must keep every mistake's answers outside the accepted
band) and by the grader (a wrong answer that matches a mistake is named in the feedback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .expr import Add, Expr, Func, Mul, Neg, Sub, Sym, add
from .graph import Step, StepGraph, softmax_ce


@dataclass(frozen=True)
class Mistake:
    """A named misconception: `rewrite(step, graph)` gives the wrong formula, or None if unaffected."""

    name: str
    title: str
    explanation: str
    rewrite: Callable[[Step, StepGraph], Expr | None]


def _error_sign(step: Step, graph: StepGraph) -> Expr | None:
    arch = graph.arch
    if step.layer != arch.depth:
        return None
    if step.kind == "delta" and softmax_ce(arch):
        return Sub(Sym(f"t_{step.j}"), Sym(f"a{step.layer}_{step.j}"))
    if step.kind == "dE_da":
        e = step.expr
        if isinstance(e, Sub):
            return Sub(e.right, e.left)  # a − t written t − a
        if isinstance(e, Mul) and isinstance(e.factors[-1], Sub):
            inner = e.factors[-1]
            return Mul(e.factors[:-1] + (Sub(inner.right, inner.left),))
        return Neg(e)
    return None


def _no_activation_derivative(step: Step, graph: StepGraph) -> Expr | None:
    if step.kind == "delta" and isinstance(step.expr, Mul) and len(step.expr.factors) == 2:
        first, second = step.expr.factors
        if isinstance(second, Sym) and second.name.startswith("da_dz"):
            return first
    return None


def _updated_weights(step: Step, graph: StepGraph) -> Expr | None:
    if step.kind != "dE_da" or step.layer == graph.arch.depth:
        return None
    return add(*(Mul((Sym(f.factors[0].name + "_new"), f.factors[1])) for f in _terms(step.expr)))


def _dropped_path(step: Step, graph: StepGraph) -> Expr | None:
    if step.kind != "dE_da" or step.layer == graph.arch.depth:
        return None
    terms = _terms(step.expr)
    return add(*terms[:-1]) if len(terms) > 1 else None


def _terms(e: Expr) -> tuple:
    return e.terms if isinstance(e, Add) else (e,)


def _plus_update(step: Step, graph: StepGraph) -> Expr | None:
    if step.kind in ("w_new", "b_new"):
        e = step.expr
        return Add((e.left, e.right))
    return None


def _sigmoid_sign(step: Step, graph: StepGraph) -> Expr | None:
    e = step.expr
    if step.kind in ("a", "a_new") and isinstance(e, Func) and e.name == "sigmoid":
        return Func("sigmoid_wrong_sign", e.arg)
    return None


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "error_sign",
        "error term t − a instead of a − t",
        "The derivative of the loss with respect to an output is (output − target) for squared error: "
        "differentiating (t − a)² brings out a factor −1.",
        _error_sign,
    ),
    Mistake(
        "no_activation_derivative",
        "activation derivative left out",
        "δ = ∂E/∂z needs the chain rule through the activation: multiply ∂E/∂a by ∂a/∂z "
        "(for the sigmoid, a(1 − a)).",
        _no_activation_derivative,
    ),
    Mistake(
        "updated_weights_backprop",
        "backpropagated through the already-updated weights",
        "All gradients are taken at the same point: use the weights from before the update when you "
        "propagate δ back to the hidden layer.",
        _updated_weights,
    ),
    Mistake(
        "dropped_path",
        "one path into a hidden neuron dropped",
        "A hidden neuron influences the loss through every neuron it feeds: ∂E/∂a sums w · δ over all "
        "of them.",
        _dropped_path,
    ),
    Mistake(
        "plus_update",
        "update with + instead of −",
        "Gradient descent steps against the gradient: w_new = w − η · ∂E/∂w.",
        _plus_update,
    ),
    Mistake(
        "sigmoid_sign",
        "σ(x) = 1/(1 + e^x)",
        "The logistic function is σ(x) = 1/(1 + e^(−x)); the exponent carries a minus sign.",
        _sigmoid_sign,
    ),
)

BY_NAME = {m.name: m for m in MISTAKES}


def rewrites(graph: StepGraph, mistake: Mistake) -> dict[str, Expr]:
    """The steps this mistake changes in this graph, with their wrong formulas."""
    out = {}
    for step in graph.steps:
        e = mistake.rewrite(step, graph)
        if e is not None:
            out[step.name] = e
    return out


def applicable(graph: StepGraph) -> tuple[Mistake, ...]:
    """The mistakes that change at least one step of this graph."""
    return tuple(m for m in MISTAKES if rewrites(graph, m))
