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
from .tolerance import kept_interval, rounded, truncated, written_interval

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


# Joint enumeration: the round / truncate / keep choices of a step's nearest earlier steps are
# enumerated together (3^k combinations), each combination propagated by interval evaluation.
JOINT_STEPS = 5
_JOINT_ROWS = 1 << 17  # rows (variants x combinations) evaluated at once


def _nearest_earlier(graph: StepGraph, name: str, k: int) -> list[str]:
    """The k steps nearest before `name` along its inputs (breadth first), in graph order."""
    found: list[str] = []
    frontier = [name]
    while frontier and len(found) < k:
        nxt = []
        for nm in frontier:
            for i in graph[nm].inputs:
                if i in graph and i not in found and len(found) < k:
                    found.append(i)
                    nxt.append(i)
        frontier = nxt
    order = {s.name: i for i, s in enumerate(graph.steps)}
    return sorted(found, key=order.__getitem__)


def _ancestors(graph: StepGraph, name: str) -> set[str]:
    """Every step `name` reads, directly or through other steps."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        for i in graph[todo.pop()].inputs:
            if i in graph and i not in seen:
                seen.add(i)
                todo.append(i)
    return seen


def _computed(step, graph: StepGraph, env: Mapping[str, Interval], n: int) -> Interval:
    known = _known_shape(step, graph, env, n)
    return _no_nan(*known, n) if known is not None else step_interval(step.expr, env, n)


def _written_by_combo(lo: np.ndarray, hi: np.ndarray, d: int, how: np.ndarray, m: int) -> Interval:
    """Rows laid out (variant, combination): [lo, hi] written as `how` (per combination) says."""
    lo, hi = lo.reshape(m, -1).copy(), hi.reshape(m, -1).copy()
    for choice, op in ((1, rounded), (2, truncated)):
        cols = how == choice
        lo[:, cols], hi[:, cols] = op(lo[:, cols], d), op(hi[:, cols], d)
    return lo.reshape(-1), hi.reshape(-1)


def _joint(graph: StepGraph, name: str, env: Mapping[str, Interval], decimals, exact, values, n: int,
           k: int, which: np.ndarray) -> Interval | None:
    """The step's computed interval with the choices of its k nearest earlier steps enumerated together."""
    first = _nearest_earlier(graph, name, k)
    # Every earlier step that reads one of them (out_h1 -> net_o1 -> out_o1 -> delta_o1) is
    # recomputed in each combination too, so that the choices reach the step along every path.
    above = _ancestors(graph, name)
    chosen = set(first)
    for st in graph.steps:
        if st.name in above and st.name not in chosen and any(i in chosen for i in st.inputs):
            chosen.add(st.name)
    near = [st.name for st in graph.steps if st.name in chosen]
    dec = {s: (decimals if decimals is None or isinstance(decimals, int) else decimals.get(s)) for s in near}
    free = [s for s in near if s in first and dec[s] is not None and not (exact is not None and s in exact and np.all(exact[s]))]
    if not free:
        return None
    combos = np.array(list(np.ndindex(*(3,) * len(free))), dtype=np.int8)
    c = len(combos)
    reads = {sym for s in near + [name] for sym in graph[s].inputs} - set(near)
    lo_out, hi_out = np.empty(len(which)), np.empty(len(which))
    per = max(1, _JOINT_ROWS // c)
    for start in range(0, len(which), per):
        rows = which[start:start + per]
        m = len(rows)
        local: dict[str, Interval] = {}
        for sym in reads:
            a, b = env[sym]
            point = a is b  # a given: one array, which interval evaluation treats as a point
            a = np.repeat(np.broadcast_to(a, (n,))[rows], c)
            local[sym] = (a, a) if point else (a, np.repeat(np.broadcast_to(b, (n,))[rows], c))
        for s in near:
            lo, hi = _computed(graph[s], graph, local, m * c)
            if s in free:
                lo, hi = _written_by_combo(lo, hi, dec[s], combos[:, free.index(s)], m)
            else:
                lo, hi = written_interval(lo, hi, dec[s])
            if exact is not None and s in exact:
                v = np.broadcast_to(np.asarray(values[s], dtype=float), (n,))[rows]
                kl, kh = kept_interval(v, dec[s])
                mine = np.repeat(np.broadcast_to(exact[s], (n,))[rows], c)
                lo, hi = np.where(mine, np.repeat(kl, c), lo), np.where(mine, np.repeat(kh, c), hi)
            local[s] = (lo, hi)
        lo, hi = _computed(graph[name], graph, local, m * c)
        lo_out[start:start + m], hi_out[start:start + m] = lo.reshape(m, c).min(axis=1), hi.reshape(m, c).max(axis=1)
    return lo_out, hi_out


# Whole chains a student can write (every written step kept, rounded or truncated by one pattern):
# each is reachable, so their hull lies inside the reachable interval (solve._loose).
_PATTERNS = 16
_LOOSE = 1.25


def _pattern(i: int) -> np.ndarray:
    """Step i's choice (0 kept, 1 rounded, 2 truncated) in each pattern: all kept, all rounded, all
    truncated, then a fixed scramble (Knuth's multiplicative hash: the same on every machine)."""
    mixed = [((i + 1) * 2654435761 + (p + 1) * 40503) % 4294967296 // 65536 % 3 for p in range(_PATTERNS - 3)]
    return np.array([0, 1, 2] + mixed, dtype=np.int8)


def _sample_chains(graph: StepGraph, values: Mapping[str, np.ndarray], decimals, exact, n: int) -> Values:
    """For each step, (variants, patterns) of values it computes to along a few whole written chains
    (solve._pattern)."""
    env: Values = {}
    for name, v in values.items():
        if name not in graph:
            env[name] = np.broadcast_to(np.asarray(v, dtype=float), (n,))[:, None]
    out: Values = {}
    with np.errstate(all="ignore"):
        for i, step in enumerate(graph.steps):
            v = np.broadcast_to(np.asarray(step.expr.evaluate(env), dtype=float), (n, _PATTERNS))
            out[step.name] = v
            d = decimals if decimals is None or isinstance(decimals, int) else decimals.get(step.name)
            w = v
            if d is not None:
                how = _pattern(i)
                w = v.copy()
                for choice, op in ((1, rounded), (2, truncated)):
                    w[:, how == choice] = op(v[:, how == choice], d)
            if exact is not None and step.name in exact:
                mine = np.broadcast_to(exact[step.name], (n,))[:, None]
                w = np.where(mine, np.broadcast_to(np.asarray(values[step.name], dtype=float), (n,))[:, None], w)
            env[step.name] = w
    return out


def sampled_intervals(graph: StepGraph, values: Mapping[str, np.ndarray], decimals, exact=None) -> dict[str, Interval]:
    """For each step, (low, high) of what it computes to along whole written chains (solve._pattern):
    every one is reachable, so this lies inside what reachable_intervals gives."""
    n = _variant_count(values)
    with np.errstate(all="ignore"):
        return {name: (np.nanmin(v, axis=1), np.nanmax(v, axis=1))
                for name, v in _sample_chains(graph, values, decimals, exact, n).items()}


def _loose(lo: np.ndarray, hi: np.ndarray, sampled: np.ndarray, d: int | None) -> np.ndarray:
    """Where [lo, hi], as written at d decimals, may be wider than _LOOSE times what is reachable:
    wider than that times the written hull of the sampled chains (which is inside what is reachable)."""
    wl, wh = written_interval(lo, hi, d)
    with np.errstate(all="ignore"):
        sl, sh = written_interval(np.nanmin(sampled, axis=1), np.nanmax(sampled, axis=1), d)
        fine = (wh - wl) <= _LOOSE * (sh - sl) + 1e-12 * np.maximum(1.0, np.abs(wh))
    return ~fine & np.isfinite(wl) & np.isfinite(wh)


def _tighten(graph: StepGraph, name: str, lo: np.ndarray, hi: np.ndarray, env, decimals, exact, values, n: int,
             sampled: np.ndarray, joint: int, rows: np.ndarray | None = None) -> Interval:
    """[lo, hi] of step `name`, narrowed where it may be loose (solve._loose) by enumerating the
    choices of its nearest earlier steps together: first 3 of them, then `joint` where still loose."""
    d = decimals if decimals is None or isinstance(decimals, int) else decimals.get(name)
    wanted = np.ones(n, dtype=bool) if rows is None else np.broadcast_to(rows, (n,))
    for k in sorted({min(3, joint), joint}):
        which = np.flatnonzero(_loose(lo, hi, sampled, d) & wanted)
        if not len(which):
            break
        both = _joint(graph, name, env, decimals, exact, values, n, k, which)
        if both is None:
            break
        lo, hi = _meet(lo, hi, which, *both)
    # Still loose: walk every choice of every earlier step, where no value of the student's own is
    # read (follow-through goes on from a range of kept values, which no finite walk covers).
    which = np.flatnonzero(_loose(lo, hi, sampled, d) & wanted)
    if len(which) and exact is not None:
        above = _ancestors(graph, name)
        mine = np.zeros(n, dtype=bool)
        for s, flags in exact.items():
            if s in above:
                mine |= np.broadcast_to(flags, (n,))
        which = which[~mine[which]]
    if len(which):
        wl, wh, ok = _walk(graph, name, values, decimals, n, which)
        which, wl, wh = which[ok], wl[ok], wh[ok]
        lo, hi = _meet(lo, hi, which, wl, wh)
    return lo, hi


def _meet(lo: np.ndarray, hi: np.ndarray, which: np.ndarray, low: np.ndarray, high: np.ndarray) -> Interval:
    """[lo, hi] met with [low, high] at the variants `which` (both enclose the reachable values: an
    empty meet is float noise, and keeps [lo, hi])."""
    jl, jh = np.fmax(lo[which], low), np.fmin(hi[which], high)
    ok = jl <= jh
    lo, hi = lo.copy(), hi.copy()
    lo[which], hi[which] = np.where(ok, jl, lo[which]), np.where(ok, jh, hi[which])
    return lo, hi


def _distinct(owner: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (owner, row of table) pairs, sorted by owner: exact comparison, bit for bit."""
    if not table.shape[1] or not len(owner):
        keep = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, bool)
        return owner[keep], table[keep]
    order = np.lexsort(tuple(table[:, j] for j in range(table.shape[1] - 1, -1, -1)) + (owner,))
    owner, table = owner[order], table[order]
    new = np.r_[True, (owner[1:] != owner[:-1]) | (table[1:] != table[:-1]).any(axis=1)]
    return owner[new], table[new]


def _widest(steps, last: Mapping[str, int]) -> int:
    """The most written values a walk over `steps` holds at once (read again later)."""
    return max((sum(1 for s in steps[:k + 1] if last.get(s.name, -1) > k) for k in range(len(steps))), default=0)


# A walk that holds more than this many values at once (3^width states before merging: E' of a
# 2-2-2 network holds every updated weight) does not fit in the states below; it is not started.
_WALK_WIDTH = 10
# The walk keeps at most this many distinct states per variant and step; a variant beyond it keeps
# the joint enumeration's interval.
_WALK_STATES = 2000


def _walk(graph: StepGraph, name: str, values: Mapping[str, np.ndarray], decimals, n: int,
          which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, ok) of what step `name` computes to over every round / truncate / keep choice of
    every earlier step, for the variants `which`: exact (no interval arithmetic).

    The steps are walked in order; a state is the tuple of written values still to be read by a
    later step, with its variant; each step is computed from every state and written in each way,
    and identical states are merged. ok is False for a variant whose states outgrow _WALK_STATES
    or whose step is no number in some state.
    """
    above = _ancestors(graph, name)
    steps = [s for s in graph.steps if s.name in above]
    last = {i: k for k, s in enumerate(steps + [graph[name]]) for i in s.inputs if i in above}
    m = len(which)
    if _widest(steps, last) > _WALK_WIDTH:
        return np.zeros(m), np.zeros(m), np.zeros(m, dtype=bool)
    givens = {g: np.broadcast_to(np.asarray(v, dtype=float), (n,))[which] for g, v in values.items() if g not in graph}
    owner = np.arange(m)
    columns: list[str] = []
    table = np.empty((m, 0))
    ok = np.ones(m, dtype=bool)
    with np.errstate(all="ignore"):
        for k, step in enumerate(steps + [graph[name]]):
            env = {sym: givens[sym][owner] for sym in step.inputs if sym in givens}
            env.update({c: table[:, j] for j, c in enumerate(columns) if c in step.inputs})
            v = np.broadcast_to(np.asarray(step.expr.evaluate(env), dtype=float), owner.shape)
            if step.name == name:
                ok[owner[~np.isfinite(v)]] = False
                low, high = np.full(m, np.inf), np.full(m, -np.inf)
                np.minimum.at(low, owner, v)
                np.maximum.at(high, owner, v)
                return low, high, ok & (low <= high)
            d = decimals if decimals is None or isinstance(decimals, int) else decimals.get(step.name)
            forms = v[:, None] if d is None else np.stack([v, rounded(v, d), truncated(v, d)], axis=1)
            owner = np.repeat(owner, forms.shape[1])
            table = np.concatenate([np.repeat(table, forms.shape[1], axis=0), forms.reshape(-1, 1)], axis=1)
            columns.append(step.name)
            live = [j for j, c in enumerate(columns) if last.get(c, -1) > k]
            columns = [columns[j] for j in live]
            owner, table = _distinct(owner, table[:, live])
            crowded = np.bincount(owner, minlength=m) > _WALK_STATES
            if crowded.any():
                ok &= ~crowded
                keep = ~crowded[owner]
                owner, table = owner[keep], table[keep]
    raise AssertionError(name)  # the loop returns at the step itself


def reachable_intervals(
    graph: StepGraph,
    values: Mapping[str, np.ndarray],
    decimals: Mapping[str, int | None] | int | None,
    exact: Mapping[str, np.ndarray] | None = None,
    until: str | None = None,
    joint: int = JOINT_STEPS,
    tight: set[str] | Mapping[str, np.ndarray] | None = None,
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

    Where a step's interval may be over 1.25x what is reachable, the choices of its `joint` nearest
    earlier steps are enumerated together (solve._tighten); `joint` 0 gives the independent-offset
    intervals alone (the generator's fairness check). `tight`: the steps so narrowed (None: all), or
    a mapping of steps to the variants (a bool mask) where each is narrowed. A step's narrowed
    interval does not enter later steps: each is what the variant alone gives.
    """
    n = _variant_count(values)
    samples = _sample_chains(graph, values, decimals, exact, n) if joint else None
    env: dict[str, Interval] = {}
    for name, v in values.items():
        if name not in graph:
            a = np.broadcast_to(np.asarray(v, dtype=float), (n,))
            env[name] = (a, a)
    reach: dict[str, Interval] = {}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            lo, hi = _computed(step, graph, env, n)
            reach[step.name] = (lo, hi)
            if samples is not None and (tight is None or step.name in tight):
                # The narrowed interval is this step's alone: later steps go on from the wider one,
                # so each step's narrowing depends on the variant only, not on which others were.
                rows = None if tight is None or isinstance(tight, (set, frozenset)) else tight[step.name]
                reach[step.name] = _tighten(graph, step.name, lo, hi, env, decimals, exact, values, n,
                                            samples[step.name], joint, rows)
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
