"""The step graph of one architecture: every intermediate value as a named step with its formula.

The graph depends on the architecture only, never on the numbers, so thousands of variants share
it. Steps come in topological order (each reads only givens and earlier steps), in the order a
worked solution presents them: forward pass, loss, then layer by layer from the output back, each
layer's gradients and updates, and finally the forward pass and loss after the update.

Canonical names: z{l}_{j}, a{l}_{j}, E_{j}, E, dE_da{l}_{j}, da_dz{l}_{j}, delta{l}_{j},
dE_dw{l}_{j}_{k}, dE_db{l}_{j} (dE_db{l} when shared), w{l}_{j}_{k}_new, b{l}_{j}_new (b{l}_new),
z{l}_{j}_new, a{l}_{j}_new, E_{j}_new, E_new. Givens: x_{k}, t_{j}, eta, w{l}_{j}_{k}, b{l}_{j} / b{l}.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .expr import HALF, ONE, Const, Div, Expr, Func, Mul, Neg, Square, Sub, Sym, add
from .spec import Architecture

# Which bank task each kind of step belongs to.
TASKS = (
    "forward",
    "loss",
    "deltas",
    "output_gradients",
    "hidden_gradients",
    "bias_gradients",
    "updated_weights",
    "updated_biases",
    "forward_after",
    "loss_after",
)


@dataclass(frozen=True, eq=False)
class Step:
    """One named value of the solution and the formula that computes it from earlier values."""

    name: str
    kind: str
    task: str
    layer: int
    expr: Expr
    j: int = 0
    k: int = 0

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.expr.symbols()


@dataclass(frozen=True, eq=False)
class StepGraph:
    """All steps of one architecture, in topological (and presentation) order."""

    arch: Architecture
    steps: tuple[Step, ...]

    def __post_init__(self):
        object.__setattr__(self, "_by_name", {s.name: s for s in self.steps})

    def __getitem__(self, name: str) -> Step:
        return self._by_name[name]  # type: ignore[attr-defined]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name  # type: ignore[attr-defined]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.steps)

    def dependents(self) -> dict[str, tuple[str, ...]]:
        """For every name, the steps that read it directly."""
        out: dict[str, list[str]] = {}
        for s in self.steps:
            for i in s.inputs:
                out.setdefault(i, []).append(s.name)
        return {k: tuple(v) for k, v in out.items()}


def _bias(arch: Architecture, l: int, j: int) -> str | None:
    if arch.bias == "shared":
        return f"b{l}"
    if arch.bias == "per_neuron":
        return f"b{l}_{j}"
    return None


def _prev(l: int, k: int) -> str:
    return f"x_{k}" if l == 1 else f"a{l - 1}_{k}"


def activation_expr(arch: Architecture, l: int, j: int, z: str) -> Expr:
    """a = f(z) for neuron j of layer l (softmax reads every z of the layer)."""
    act = arch.activations[l - 1]
    if act == "linear":
        return Sym(z)
    if act == "softmax":
        suffix = z[len(f"z{l}_{j}"):]  # "" or "_new"
        terms = [Func("exp", Sym(f"z{l}_{m}{suffix}")) for m in range(1, arch.layers[l] + 1)]
        return Div(Func("exp", Sym(z)), add(*terms))
    return Func(act, Sym(z), arch.leaky_slope if act == "leaky_relu" else 0.0)


def derivative_expr(arch: Architecture, l: int, j: int) -> Expr | None:
    """∂a/∂z of an elementwise activation, written as the seeds do (in terms of a where possible)."""
    act = arch.activations[l - 1]
    a, z = Sym(f"a{l}_{j}"), Sym(f"z{l}_{j}")
    if act == "sigmoid":
        return Mul((a, Sub(ONE, a)))
    if act == "tanh":
        return Sub(ONE, Square(a))
    if act == "relu":
        return Func("relu_prime", z)
    if act == "leaky_relu":
        return Func("leaky_relu_prime", z, arch.leaky_slope)
    return None  # linear (derivative 1) and softmax (not elementwise)


def loss_term_expr(arch: Architecture, j: int, suffix: str = "") -> Expr:
    """E_j for output j: the loss's contribution of that output."""
    L = arch.depth
    a, t = Sym(f"a{L}_{j}{suffix}"), Sym(f"t_{j}")
    n = arch.layers[-1]
    if arch.loss == "half_sse":
        return Mul((HALF, Square(Sub(t, a))))
    if arch.loss == "mse":
        return Mul((Const(1.0 / n, f"1/{n}", f"\\frac{{1}}{{{n}}}"), Square(Sub(t, a))))
    if arch.loss == "bce":
        return Neg(add(Mul((t, Func("ln", a))), Mul((Sub(ONE, t), Func("ln", Sub(ONE, a))))))
    return Neg(Mul((t, Func("ln", a))))  # cross_entropy


def loss_derivative_expr(arch: Architecture, j: int) -> Expr:
    """∂E/∂a_j of the output layer."""
    L = arch.depth
    a, t = Sym(f"a{L}_{j}"), Sym(f"t_{j}")
    n = arch.layers[-1]
    if arch.loss == "half_sse":
        return Sub(a, t)
    if arch.loss == "mse":
        return Mul((Const(2.0 / n, f"2/{n}", f"\\frac{{2}}{{{n}}}"), Sub(a, t)))
    if arch.loss == "bce":
        return add(Neg(Div(t, a)), Div(Sub(ONE, t), Sub(ONE, a)))
    return Neg(Div(t, a))


def softmax_ce(arch: Architecture) -> bool:
    return arch.activations[-1] == "softmax" and arch.loss == "cross_entropy"


def _forward(arch: Architecture, suffix: str, kind_z: str, kind_a: str, task: str) -> list[Step]:
    steps = []
    for l in range(1, arch.depth + 1):
        for j in range(1, arch.layers[l] + 1):
            w = (lambda k: f"w{l}_{j}_{k}{suffix}") if suffix else (lambda k: f"w{l}_{j}_{k}")
            prev = (lambda k: f"a{l - 1}_{k}{suffix}" if l > 1 else f"x_{k}") if suffix else (lambda k: _prev(l, k))
            terms: list[Expr] = [Mul((Sym(w(k)), Sym(prev(k)))) for k in range(1, arch.layers[l - 1] + 1)]
            b = _bias(arch, l, j)
            if b is not None:
                terms.append(Sym(b + suffix if (suffix and arch.update_biases) else b))
            steps.append(Step(f"z{l}_{j}{suffix}", kind_z, task, l, add(*terms), j))
        for j in range(1, arch.layers[l] + 1):
            steps.append(Step(f"a{l}_{j}{suffix}", kind_a, task, l, activation_expr(arch, l, j, f"z{l}_{j}{suffix}"), j))
    return steps


def _loss(arch: Architecture, suffix: str, task: str) -> list[Step]:
    n = arch.layers[-1]
    steps = [Step(f"E_{j}{suffix}", "E_j" + suffix, task, arch.depth, loss_term_expr(arch, j, suffix), j) for j in range(1, n + 1)]
    steps.append(Step(f"E{suffix}", "E" + suffix, task, arch.depth, add(*(Sym(f"E_{j}{suffix}") for j in range(1, n + 1)))))
    return steps


def _layer_backward(arch: Architecture, l: int) -> list[Step]:
    """dE/da, da/dz and δ for every neuron of layer l (l = depth is the output layer)."""
    L, n = arch.depth, arch.layers[l]
    act = arch.activations[l - 1]
    steps: list[Step] = []
    if l == L and softmax_ce(arch):
        # Softmax with cross-entropy: the Jacobian and the loss derivative collapse to a − t.
        for j in range(1, n + 1):
            steps.append(Step(f"delta{l}_{j}", "delta", "deltas", l, Sub(Sym(f"a{l}_{j}"), Sym(f"t_{j}")), j))
        return steps
    for j in range(1, n + 1):
        if l == L:
            expr = loss_derivative_expr(arch, j)
        else:
            # Every path from neuron j of layer l into layer l+1 contributes w · δ.
            expr = add(*(Mul((Sym(f"w{l + 1}_{m}_{j}"), Sym(f"delta{l + 1}_{m}"))) for m in range(1, arch.layers[l + 1] + 1)))
        steps.append(Step(f"dE_da{l}_{j}", "dE_da", "deltas", l, expr, j))
    if act == "softmax":
        for j in range(1, n + 1):
            weighted = add(*(Mul((Sym(f"dE_da{l}_{m}"), Sym(f"a{l}_{m}"))) for m in range(1, n + 1)))
            expr = Mul((Sym(f"a{l}_{j}"), Sub(Sym(f"dE_da{l}_{j}"), weighted)))
            steps.append(Step(f"delta{l}_{j}", "delta", "deltas", l, expr, j))
        return steps
    for j in range(1, n + 1):
        d = derivative_expr(arch, l, j)
        if d is not None:
            steps.append(Step(f"da_dz{l}_{j}", "da_dz", "deltas", l, d, j))
            expr = Mul((Sym(f"dE_da{l}_{j}"), Sym(f"da_dz{l}_{j}")))
        else:
            expr = Sym(f"dE_da{l}_{j}")
        steps.append(Step(f"delta{l}_{j}", "delta", "deltas", l, expr, j))
    return steps


def _layer_gradients(arch: Architecture, l: int) -> list[Step]:
    L = arch.depth
    task = "output_gradients" if l == L else "hidden_gradients"
    steps = []
    for j in range(1, arch.layers[l] + 1):
        for k in range(1, arch.layers[l - 1] + 1):
            expr = Mul((Sym(f"delta{l}_{j}"), Sym(_prev(l, k))))
            steps.append(Step(f"dE_dw{l}_{j}_{k}", "dE_dw", task, l, expr, j, k))
    if arch.bias == "per_neuron":
        for j in range(1, arch.layers[l] + 1):
            steps.append(Step(f"dE_db{l}_{j}", "dE_db", "bias_gradients", l, Sym(f"delta{l}_{j}"), j))
    elif arch.bias == "shared":
        # One bias feeds every neuron of the layer, so its gradient sums their deltas.
        expr = add(*(Sym(f"delta{l}_{j}") for j in range(1, arch.layers[l] + 1)))
        steps.append(Step(f"dE_db{l}", "dE_db", "bias_gradients", l, expr))
    return steps


def update_expr(param: str, grad: str) -> Expr:
    return Sub(Sym(param), Mul((Sym("eta"), Sym(grad))))


def _layer_updates(arch: Architecture, l: int) -> list[Step]:
    steps = []
    for j in range(1, arch.layers[l] + 1):
        for k in range(1, arch.layers[l - 1] + 1):
            w = f"w{l}_{j}_{k}"
            steps.append(Step(f"{w}_new", "w_new", "updated_weights", l, update_expr(w, f"dE_dw{l}_{j}_{k}"), j, k))
    if arch.update_biases:
        for b in _layer_biases(arch, l):
            steps.append(Step(f"{b}_new", "b_new", "updated_biases", l, update_expr(b, "dE_d" + b), int(b.split("_")[1]) if "_" in b else 0))
    return steps


def _layer_biases(arch: Architecture, l: int) -> tuple[str, ...]:
    if arch.bias == "shared":
        return (f"b{l}",)
    if arch.bias == "per_neuron":
        return tuple(f"b{l}_{j}" for j in range(1, arch.layers[l] + 1))
    return ()


@lru_cache(maxsize=64)
def build_graph(arch: Architecture) -> StepGraph:
    """The step graph of an architecture (cached: variants of one bank share it)."""
    steps = _forward(arch, "", "z", "a", "forward") + _loss(arch, "", "loss")
    for l in range(arch.depth, 0, -1):
        steps += _layer_backward(arch, l) + _layer_gradients(arch, l) + _layer_updates(arch, l)
    steps += _forward(arch, "_new", "z_new", "a_new", "forward_after") + _loss(arch, "_new", "loss_after")
    return StepGraph(arch, tuple(steps))
