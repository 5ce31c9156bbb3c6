"""The common mistakes, each a rule that rewrites some steps of the graph.

One list, used by the generator (a variant must keep every mistake's answers outside the accepted
interval) and by the grader (a wrong answer that matches a mistake is named in the feedback).

After those six, `substitutions` lists the single slips within one step's own formula (an operand
replaced by another value of the same kind, a term used twice, a sign flipped, a factor dropped,
a difference swapped), each named in the exam's notation. They carry no fairness guarantee: the
grader reports the first that reproduces an answer as its likely cause.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Callable, Mapping, Sequence

from .expr import Add, Div, Expr, Func, Mul, Neg, Square, Sub, Sym, add
from .graph import Step, StepGraph, softmax_ce


@dataclass(frozen=True)
class Mistake:
    """A named misconception: `rewrite(step, graph)` gives the wrong formula, or None if unaffected."""

    name: str
    title: str
    explanation: str
    rewrite: Callable[[Step, StepGraph], Expr | None]
    likely: bool = False  # a substitution: a likely cause, not a fairness-guaranteed mistake


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


# --- single substitutions within one step's formula ------------------------------------------

MAX_SUBSTITUTIONS = 48  # per step: the candidates tried for every unexplained answer
LIKELY = ("A likely cause: the step's formula with this one change gives your answer "
          "(computed from your own earlier values).")

_KINDS = (
    (re.compile(r"z(\d+)_(\d+)(_new)?$"), "z"),
    (re.compile(r"a(\d+)_(\d+)(_new)?$"), "a"),
    (re.compile(r"x_(\d+)$"), "x"),
    (re.compile(r"t_(\d+)$"), "t"),
    (re.compile(r"w(\d+)_(\d+)_(\d+)$"), "w"),
    (re.compile(r"w(\d+)_(\d+)_(\d+)_new$"), "w_new"),
    (re.compile(r"b(\d+)(?:_(\d+))?$"), "b"),
    (re.compile(r"b(\d+)(?:_(\d+))?_new$"), "b_new"),
    (re.compile(r"delta(\d+)_(\d+)$"), "delta"),
    (re.compile(r"dE_da(\d+)_(\d+)$"), "dE_da"),
    (re.compile(r"da_dz(\d+)_(\d+)$"), "da_dz"),
    (re.compile(r"dE_dw(\d+)_(\d+)_(\d+)$"), "dE_dw"),
    (re.compile(r"dE_db(\d+)(?:_(\d+))?$"), "dE_db"),
    (re.compile(r"E_(\d+)(_new)?$"), "E_j"),
)


def _kind(name: str) -> tuple:
    """(kind, layer, suffix) of a canonical name; inputs are layer 0's activations."""
    for pattern, kind in _KINDS:
        m = pattern.match(name)
        if m:
            if kind == "x":
                return ("a", 0, "")
            if kind in ("z", "a"):
                return (kind, int(m.group(1)), m.group(3) or "")
            if kind == "E_j":
                return (kind, 0, m.group(2) or "")
            if kind == "t":
                return (kind, 0, "")
            return (kind, int(m.group(1)), "")
    return ("", 0, name)


def _same_kind(name: str, available: Sequence[str]) -> list[str]:
    """The values a student may put where `name` belongs: same kind and layer, and the near relatives
    (the pre-activation for the activation, ∂E/∂a for a, the old weight for the new)."""
    kind, layer, suffix = _kind(name)
    if not kind:
        return []
    same, near = [], []  # same kind first: out_h1 for out_h2 is likelier than net_h1 for out_h2
    for other in available:
        if other == name:
            continue
        k, l, s = _kind(other)
        if (k, l, s) == (kind, layer, suffix):
            same.append(other)
        elif {k, kind} == {"a", "z"} and l == layer and s == suffix and layer > 0:
            near.append(other)
        elif {k, kind} == {"a", "dE_da"} and l == layer:
            near.append(other)
        elif kind in ("w_new", "b_new") and other == name[: -len("_new")]:
            same.insert(0, other)  # the old weight for the new: the likeliest
    return same + near


def _replace(expr: Expr, target: Expr, new: Expr) -> Expr:
    """A copy of expr with the node `target` (by identity) replaced by `new`."""
    if expr is target:
        return new
    if isinstance(expr, Add):
        return Add(tuple(_replace(t, target, new) for t in expr.terms))
    if isinstance(expr, Mul):
        return Mul(tuple(_replace(f, target, new) for f in expr.factors))
    if isinstance(expr, Sub):
        return Sub(_replace(expr.left, target, new), _replace(expr.right, target, new))
    if isinstance(expr, Neg):
        return Neg(_replace(expr.arg, target, new))
    if isinstance(expr, Div):
        return Div(_replace(expr.num, target, new), _replace(expr.den, target, new))
    if isinstance(expr, Square):
        return Square(_replace(expr.arg, target, new))
    if isinstance(expr, Func):
        return Func(expr.name, _replace(expr.arg, target, new), expr.slope)
    return expr


def _nodes(expr: Expr) -> list[Expr]:
    out = [expr]
    for c in expr.children():
        out += _nodes(c)
    return out


def substitutions(graph: StepGraph, step: Step, labels: Mapping[str, object]) -> tuple[Mistake, ...]:
    """The single slips within this step's formula, in the order they are tried, each named in the exam's notation."""
    def text(name: str) -> str:
        lab = labels.get(name)
        return getattr(lab, "text", None) or name

    def shown(e: Expr) -> str:
        return e.render("text", text)

    here = text(step.name)
    position = {s.name: i for i, s in enumerate(graph.steps)}
    mine = position[step.name]
    available = [nm for nm in labels if nm not in position or position[nm] < mine]
    found: list[tuple[str, Expr]] = []
    expr = step.expr
    nodes = _nodes(expr)
    # 1. one operand replaced by another value of the same kind
    for node in nodes:
        if isinstance(node, Sym):
            for other in _same_kind(node.name, available):
                found.append((f"{here} used {text(other)} where {text(node.name)} belongs", _replace(expr, node, Sym(other))))
    # 2. a difference's operands swapped
    for node in nodes:
        if isinstance(node, Sub):
            found.append((f"{here} computed {shown(Sub(node.right, node.left))} instead of {shown(node)}",
                          _replace(expr, node, Sub(node.right, node.left))))
    # 3. one term of a sum used twice (in place of another)
    for node in nodes:
        if isinstance(node, Add) and len(node.terms) > 1:
            for i, dropped in enumerate(node.terms):
                for j, twice in enumerate(node.terms):
                    if i != j:
                        terms = list(node.terms)
                        terms[i] = twice
                        found.append((f"{here} used {shown(twice)} twice, in place of {shown(dropped)}",
                                      _replace(expr, node, Add(tuple(terms)))))
    # 4. a sign flipped: the whole result, a subtraction made an addition, or one term
    found.append((f"{here} with its sign flipped", Neg(expr)))
    for node in nodes:
        if isinstance(node, Sub):
            found.append((f"{here} added {shown(node.right)} instead of subtracting it", _replace(expr, node, Add((node.left, node.right)))))
        if isinstance(node, Add) and len(node.terms) > 1:
            for term in node.terms:
                flipped = term.arg if isinstance(term, Neg) else Neg(term)
                found.append((f"{here} with the sign of {shown(term)} flipped", _replace(expr, term, flipped)))
    # 5. a factor dropped (η, ½, 1/n, the activation derivative, ...)
    for node in nodes:
        if isinstance(node, Mul) and len(node.factors) > 1:
            for f in node.factors:
                rest = tuple(g for g in node.factors if g is not f)
                found.append((f"{here} without the factor {shown(f)}", _replace(expr, node, rest[0] if len(rest) == 1 else Mul(rest))))
    out: list[Mistake] = []
    titles: set[str] = set()
    for title, wrong in found:
        if title in titles:
            continue
        titles.add(title)
        out.append(Mistake(f"substitution:{step.name}:{len(out)}", title, LIKELY, _only(step.name, wrong), likely=True))
        if len(out) >= MAX_SUBSTITUTIONS:
            break
    return tuple(out)


def _only(name: str, wrong: Expr) -> Callable[[Step, StepGraph], Expr | None]:
    return lambda step, graph: wrong if step.name == name else None
