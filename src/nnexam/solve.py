"""Evaluate the step graph: answer keys, mistaken keys, students' own chains, and rounding bands.

Every function works on arrays with a leading variant axis: one pass over the steps evaluates
every variant of an architecture at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .errors import NnexamError
from .expr import Expr
from .graph import StepGraph, build_graph
from .mistakes import Mistake, rewrites
from .spec import Network

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


def rounding_bands(
    graph: StepGraph,
    values: Mapping[str, np.ndarray],
    decimals: Mapping[str, int] | int,
) -> Values:
    """For each step, the half-width of the values reachable when every earlier step is rounded or truncated.

    A student who writes each intermediate value rounded (or truncated) to its decimals d and goes
    on from the written number carries an error of up to 10^-d per step. The band of a step is
    propagated from its inputs: for each input, the change in the formula when that input moves by
    its own band plus its rounding error, in either direction (a secant, not a tangent, so that
    curvature within the range counts). Givens are printed exactly and carry no error.
    """
    n = _variant_count(values)
    band: Values = {}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            env = dict(values)
            base = np.broadcast_to(step.expr.evaluate(env), (n,))
            total = np.zeros(n)
            for name in step.inputs:
                if name not in band:
                    continue  # a given: exact
                d = decimals if isinstance(decimals, int) else decimals.get(name, 4)
                r = band[name] + 10.0 ** -d
                moved = []
                for sign in (1.0, -1.0):
                    env[name] = values[name] + sign * r
                    moved.append(np.abs(np.broadcast_to(step.expr.evaluate(env), (n,)) - base))
                env[name] = values[name]
                total = total + np.fmax(moved[0], moved[1])
            band[step.name] = np.nan_to_num(total, nan=np.inf)
    return band
