"""Evaluate the step graph: answer keys, mistaken keys, students' own chains, and rounding bands.

Every function works on arrays with a leading variant axis: one pass over the steps evaluates
every variant of an architecture at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .errors import NnexamError
from .expr import Const, Expr, Square, Sub, Sym
from .graph import StepGraph, build_graph
from .mistakes import Mistake, rewrites
from .spec import Network
from .tolerance import kept_interval, written_interval

Values = dict[str, np.ndarray]


def _variant_count(givens: Mapping[str, np.ndarray]) -> int:
    return max(np.shape(v)[0] if np.ndim(v) else 1 for v in givens.values())


def evaluate(
    graph: StepGraph,
    givens: Mapping[str, np.ndarray],
    mistake: Mistake | None = None,
    fixed: Mapping[str, np.ndarray] | None = None,
) -> Values:
    """All steps for every variant; `mistake` rewrites its steps; `fixed` values (non-NaN) replace computed ones."""
    n = _variant_count(givens)
    env: Values = {k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in givens.items()}
    wrong = rewrites(graph, mistake) if mistake else {}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            value = np.broadcast_to(wrong.get(step.name, step.expr).evaluate(env), (n,))
            if fixed is not None and step.name in fixed:
                own = fixed[step.name]
                value = np.where(np.isnan(own), value, own)
            env[step.name] = value
    return env


def evaluate_step(expr: Expr, env: Mapping[str, np.ndarray]) -> np.ndarray:
    """One formula on an environment (a student's own earlier values, say)."""
    with np.errstate(all="ignore"):
        return np.asarray(expr.evaluate(env), dtype=float)


@dataclass(frozen=True)
class AnswerKey:
    """A solved exercise: the graph and every value (givens and steps) of one or more variants."""

    graph: StepGraph
    values: Values

    def value(self, name: str, variant: int = 0) -> float:
        return float(self.values[name][variant])

    def quantities(self, variant: int = 0) -> dict[str, float]:
        """Every step's value for one variant, by canonical name, in step order."""
        return {s.name: float(self.values[s.name][variant]) for s in self.graph.steps}


def solve(network: Network, source: str | None = None) -> AnswerKey:
    """The full answer key of one network; NnexamError (naming `source`) when a step overflows float64."""
    graph = build_graph(network.arch)
    values = evaluate(graph, network.givens())
    step = first_nonfinite(graph, values)
    if step is not None:
        where = f"{source}: " if source else ""
        raise NnexamError(f"{where}step '{step}' is {values[step][0]}: the given values are too large for float64 "
                          "(expected values small enough that every step stays finite)")
    return AnswerKey(graph, values)


def first_nonfinite(graph: StepGraph, values: Mapping[str, np.ndarray]) -> str | None:
    """The canonical name of the first step (in graph order) that is inf or NaN in any variant, else None."""
    return next((s.name for s in graph.steps if not np.isfinite(values[s.name]).all()), None)


def finite_variants(graph: StepGraph, values: Mapping[str, np.ndarray]) -> np.ndarray:
    """True for each variant whose every step is finite."""
    n = _variant_count(values)
    ok = np.ones(n, bool)
    for s in graph.steps:
        ok &= np.isfinite(values[s.name])
    return ok


Interval = tuple[np.ndarray, np.ndarray]
# Interval evaluations a step may use to tighten symbols it reads more than once (a · (1 − a)).
_SPLIT_BUDGET = 64


def _occurrences(expr: Expr, counts: dict[str, int]) -> dict[str, int]:
    if isinstance(expr, Sym):
        counts[expr.name] = counts.get(expr.name, 0) + 1
    for child in expr.children():
        _occurrences(child, counts)
    return counts


def step_interval(expr: Expr, env: Mapping[str, Interval], n: int) -> Interval:
    """(low, high) of a formula over the box of its symbols' intervals, for n variants.

    A symbol read more than once is split into pieces and the union of the pieces' interval
    evaluations taken: each piece overestimates by its own width only, so the bound approaches
    the true range while staying rigorous.
    """
    repeated = [name for name, c in _occurrences(expr, {}).items()
                if c > 1 and name in env and np.any(np.asarray(env[name][1]) > np.asarray(env[name][0]))]
    pieces = 1
    if repeated:
        pieces = max(1, int(round(_SPLIT_BUDGET ** (1.0 / len(repeated)))))
        while pieces > 1 and pieces ** len(repeated) > _SPLIT_BUDGET:
            pieces -= 1
    if pieces == 1:
        lo, hi = expr.interval(env)
    else:
        lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
        edges = {name: np.linspace(np.broadcast_to(env[name][0], (n,)), np.broadcast_to(env[name][1], (n,)), pieces + 1)
                 for name in repeated}
        local = dict(env)
        for combo in np.ndindex(*(pieces,) * len(repeated)):
            for name, p in zip(repeated, combo):
                local[name] = (edges[name][p], edges[name][p + 1])
            a, b = expr.interval(local)
            lo, hi = np.fmin(lo, a), np.fmax(hi, b)
    return _no_nan(lo, hi, n)


def _no_nan(lo, hi, n: int) -> Interval:
    """(lo, hi) as n-variant float arrays, a NaN end (no number) widened to no bound on both sides."""
    lo, hi = np.broadcast_to(np.asarray(lo, dtype=float), (n,)), np.broadcast_to(np.asarray(hi, dtype=float), (n,))
    bad = np.isnan(lo) | np.isnan(hi)
    return np.where(bad, -np.inf, lo), np.where(bad, np.inf, hi)


def _point_env(env: Mapping[str, Interval], pick: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Symbols at one end of their intervals (0: low, 1: high; default low, as givens are points)."""
    return {name: iv[pick.get(name, 0)] for name, iv in env.items()}


def _known_shape(step, graph: StepGraph, env: Mapping[str, Interval], n: int) -> Interval | None:
    """The exact range of the steps whose formula reads a value twice but whose shape is known:
    σ' = a(1 − a) (= ¼ − (a − ½)²), the bce loss derivative (increasing in a), the bce loss term
    (convex in a, least at a = t) and the softmax output (increasing in its own z, decreasing in
    the others'). None for every other step."""
    arch = graph.arch
    act = arch.activations[step.layer - 1] if step.layer else ""
    e = step.expr
    if step.kind == "da_dz" and act == "sigmoid":
        a = env[f"a{step.layer}_{step.j}"]
        return (Sub(Const(0.25), Square(Sub(Sym("a"), Const(0.5))))).interval({"a": a})
    if step.kind == "dE_da" and step.layer == arch.depth and arch.loss == "bce":
        a = f"a{step.layer}_{step.j}"
        ends = [np.broadcast_to(e.evaluate(_point_env(env, {a: k})), (n,)) for k in (0, 1)]
        return ends[0], ends[1]
    if step.kind in ("E_j", "E_j_new") and arch.loss == "bce":
        a, t = f"a{arch.depth}_{step.j}" + ("_new" if step.kind.endswith("_new") else ""), f"t_{step.j}"
        ends = [np.broadcast_to(e.evaluate(_point_env(env, {a: k})), (n,)) for k in (0, 1)]
        lo_a, hi_a = env[a]
        tv = np.broadcast_to(env[t][0], (n,))
        at_t = np.broadcast_to(e.evaluate({**_point_env(env, {}), a: np.clip(tv, lo_a, hi_a)}), (n,))
        return np.minimum(np.minimum(ends[0], ends[1]), at_t), np.maximum(ends[0], ends[1])
    if step.kind in ("a", "a_new") and act == "softmax":
        own = f"z{step.layer}_{step.j}" + ("_new" if step.kind == "a_new" else "")
        others = [nm for nm in e.symbols() if nm != own]
        low = e.evaluate(_point_env(env, {own: 0, **{o: 1 for o in others}}))
        high = e.evaluate(_point_env(env, {own: 1, **{o: 0 for o in others}}))
        return np.broadcast_to(low, (n,)), np.broadcast_to(high, (n,))
    return None


def reachable_intervals(
    graph: StepGraph,
    values: Mapping[str, np.ndarray],
    decimals: Mapping[str, int | None] | int | None,
    exact: Mapping[str, np.ndarray] | None = None,
    until: str | None = None,
) -> dict[str, Interval]:
    """For each step, the (low, high) of what it computes to when every earlier step is written rounded, truncated or kept.

    A student writes each earlier step s rounded or truncated at its decimals d_s (or keeps it),
    and goes on from the written number: the written value of s lies between its computed value
    and that value's rounding or truncation (tolerance.written_interval), with its sign. Those
    signed intervals are propagated through each step's formula by interval evaluation (solve
    .step_interval). Givens are printed exactly. `decimals` maps a step to its decimals (None or
    absent: kept at full precision); `exact` marks, per step and variant, the values a student
    wrote (following through on their own answers): they went on from that number or from the
    kept value it is the rounding or truncation of (tolerance.kept_interval). `until`: stop after that step.
    """
    n = _variant_count(values)
    env: dict[str, Interval] = {}
    for name, v in values.items():
        if name not in graph:
            a = np.broadcast_to(np.asarray(v, dtype=float), (n,))
            env[name] = (a, a)
    reach: dict[str, Interval] = {}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            known = _known_shape(step, graph, env, n)
            lo, hi = _no_nan(*known, n) if known is not None else step_interval(step.expr, env, n)
            reach[step.name] = (lo, hi)
            d = decimals if decimals is None or isinstance(decimals, int) else decimals.get(step.name)
            wl, wh = written_interval(lo, hi, d)
            if exact is not None and step.name in exact:
                v = np.broadcast_to(np.asarray(values[step.name], dtype=float), (n,))
                mine = np.broadcast_to(exact[step.name], (n,))
                kl, kh = kept_interval(v, d)
                wl, wh = np.where(mine, kl, wl), np.where(mine, kh, wh)
            env[step.name] = (wl, wh)
            if step.name == until:
                break
    return reach
