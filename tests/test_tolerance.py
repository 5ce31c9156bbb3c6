"""Acceptance as wide as honest rounding and no wider (issue 10, item 1), checked by brute force.

For 2-2-1 and 2-2-2 networks of every activation and loss, steps at 2, 3 and 4 decimals, and a few
target steps, every combination of round / truncate / keep for the target's nearest earlier steps
is enumerated: the student computes each step exactly from the values written before it, then
writes it rounded, truncated or kept. Every value so reachable (the target itself written in any
of the three ways too) must be accepted, and the accepted interval must be no wider than 1.25x the
reachable one (plus float slack). The enumeration is written here from scratch, with exact
decimal rounding, independent of nnexam's interval code.
"""

from __future__ import annotations

import itertools
import numpy as np
import pytest

from nnexam.graph import build_graph
from nnexam.solve import evaluate, reachable_intervals
from nnexam.spec import Architecture
from nnexam.tolerance import accepted, kept_interval, written_high, written_low

HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
OUTPUT_LOSSES = {
    "sigmoid": ("half_sse", "mse", "bce", "cross_entropy"),
    "tanh": ("half_sse", "mse"),
    "relu": ("half_sse", "mse"),
    "leaky_relu": ("half_sse",),
    "linear": ("half_sse", "mse"),
    "softmax": ("cross_entropy", "half_sse"),
}
TARGETS = ("a2_1", "E", "delta2_1", "dE_dw2_1_1", "delta1_1", "dE_dw1_1_1", "w1_1_1_new", "E_new")
EARLIER = 5  # earlier steps varied per target: 3^5 = 243 combinations
VARIANTS = 6
RATIO = 1.25


def architectures():
    for outputs in (1, 2):
        for out_act, losses in OUTPUT_LOSSES.items():
            if out_act == "softmax" and outputs < 2:
                continue
            for loss in losses:
                for hidden in HIDDEN:
                    yield Architecture((2, 2, outputs), (hidden, out_act), loss, "per_neuron", True, 0.1)


ARCHS = list(architectures())


def draw(arch: Architecture, n: int, seed: int) -> dict[str, np.ndarray]:
    """Grid givens as the banks draw them: weights in steps of 0.05, inputs 0.05..0.95, targets 0.01/0.99."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name in arch.given_names():
        if name.startswith("x_"):
            out[name] = rng.integers(1, 20, n) * 0.05
        elif name.startswith("t_"):
            out[name] = np.where(rng.random(n) < 0.5, 0.01, 0.99)
        elif name == "eta":
            out[name] = np.full(n, 0.5)
        else:
            w = rng.integers(1, 25, n) * 0.05
            out[name] = np.round(np.where(rng.random(n) < 0.5, -w, w), 2)
    if arch.activations[-1] == "softmax" and arch.loss == "cross_entropy":
        hot = rng.random(n) < 0.5
        out["t_1"], out["t_2"] = np.where(hot, 1.0, 0.0), np.where(hot, 0.0, 1.0)
    return out


def paper(v: np.ndarray, decimals: int, how: np.ndarray) -> np.ndarray:
    """v rounded (half up) where how == 1, truncated toward zero where how == 2, kept where 0: as on
    paper, float noise far below a unit of the last digit ignored."""
    scale = 10.0 ** decimals
    x = v * scale
    noise = 1e-9 * np.sign(x)
    rounded = np.sign(x) * np.floor(np.abs(x) + 0.5 + 1e-9) / scale
    truncated = np.trunc(x + noise) / scale
    return np.select([how == 1, how == 2], [rounded, truncated], v)


def earlier_steps(graph, target: str, k: int) -> list[str]:
    """The k steps nearest before the target along its inputs (breadth first)."""
    out: list[str] = []
    frontier = [target]
    while frontier and len(out) < k:
        nxt = []
        for name in frontier:
            for i in graph[name].inputs:
                if i in graph and i not in out and len(out) < k:
                    out.append(i)
                    nxt.append(i)
        frontier = nxt
    return out


def reachable(graph, givens: dict[str, np.ndarray], target: str, varied: list[str], decimals: int) -> np.ndarray:
    """(variants, values): every value of the target a student can write, each varied step written
    rounded, truncated or kept (every combination), the target itself written in the three ways."""
    n = len(next(iter(givens.values())))
    combos = np.array(list(itertools.product((0, 1, 2), repeat=len(varied))), dtype=int).reshape(-1, len(varied))
    c = len(combos)
    env = {k: np.repeat(v, c) for k, v in givens.items()}  # variant-major: row = variant * c + combo
    how = {s: np.tile(combos[:, i], n) for i, s in enumerate(varied)}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            v = np.broadcast_to(step.expr.evaluate(env), (n * c,)).astype(float)
            env[step.name] = paper(v, decimals, how[step.name]) if step.name in how else v
            if step.name == target:
                break
    v = env[target]
    written = np.stack([v, paper(v, decimals, np.ones_like(combos[:, 0].repeat(n))), paper(v, decimals, np.full(n * c, 2))], axis=1)
    return written.reshape(n, -1)


def measure(arch: Architecture, decimals: int, seed: int) -> list[tuple[str, float, float, float]]:
    """(target, accepted width less float slack, reachable width, worst miss) for every target and variant of one network."""
    graph = build_graph(arch)
    givens = draw(arch, VARIANTS, seed)
    key = evaluate(graph, givens)
    out = []
    for target in TARGETS:
        if target not in graph:
            continue
        varied = earlier_steps(graph, target, EARLIER)
        reach = reachable_intervals(graph, key, {s: decimals for s in varied + [target]}, until=target)
        t = key[target]
        low, high = accepted("decimals", 0.0, decimals, t, *reach[target])
        values = reachable(graph, givens, target, varied, decimals)
        for i in range(VARIANTS):
            vals = values[i][np.isfinite(values[i])]
            if not np.isfinite(t[i]) or not len(vals):
                continue
            miss = max(0.0, float(low[i] - vals.min()), float(vals.max() - high[i]))
            slack = 2.0001e-9 * max(1.0, abs(float(t[i])))  # the float slack of the accepted interval, both sides
            out.append((target, float(high[i] - low[i]) - slack, float(vals.max() - vals.min()), miss))
    return out


RESULTS: dict[tuple[int, int], list] = {}


# Issue 10: every reachable value accepted, and the accepted interval within 1.25x the reachable
# one in every (network, step, variant) case. Before the joint enumeration (solve._tighten) this
# was 97.0 / 97.8 / 97.8% at 2 / 3 / 4 decimals, at most 4.8x.
SHARE_WITHIN = 1.0
WORST = RATIO + 1e-6


@pytest.mark.parametrize("decimals", [2, 3, 4])
def test_every_reachable_value_is_accepted_and_the_interval_is_tight(decimals):
    ratios = []
    worst = (0.0, None)
    for a, arch in enumerate(ARCHS):
        for target, width, reach, miss in measure(arch, decimals, seed=100 * decimals + a):
            assert miss <= 0.0, (arch, decimals, target, miss)  # 100% of reachable values accepted
            if width <= 0:
                continue  # exact (a step of givens alone, say): accepted is t itself
            ratio = width / reach if reach > 0 else np.inf
            ratios.append(ratio)
            if ratio > worst[0]:
                worst = (ratio, (arch.layers, arch.activations, arch.loss, target))
    ratios = np.array(ratios)
    share = float(np.mean(ratios <= RATIO))
    print(f"decimals {decimals}: {len(ratios)} cases, {100 * share:.1f}% within {RATIO}x, max ratio {worst[0]:.3f} at {worst[1]}")
    assert share >= SHARE_WITHIN and worst[0] <= WORST, (share, worst)


def test_a_step_from_givens_alone_accepts_t_and_its_rounding_and_truncation_only():
    # net_h1 = 0.3775 exactly: 0.3775 only. 1.80 exactly: not 1.79 or 1.81. 0.12345: 0.1234 and 0.1235 (a half).
    for t, d, low, high in [(0.3775, 4, 0.3775, 0.3775), (1.8, 2, 1.8, 1.8), (0.12345, 4, 0.1234, 0.1235),
                            (0.59327, 4, 0.5932, 0.5933), (-0.21707, 4, -0.2171, -0.2170), (0.37749999999999995, 4, 0.3775, 0.3775)]:
        lo, hi = accepted("decimals", 0.0, d, np.array([t]), np.array([t]), np.array([t]))
        assert lo[0] == pytest.approx(min(low, t), abs=2e-9) and hi[0] == pytest.approx(max(high, t), abs=2e-9), (t, lo, hi)


def test_rounding_and_truncation_edges():
    assert written_low(np.array([0.3775]), 4)[0] == 0.3775  # truncating an exact grid value keeps it
    assert written_low(np.array([-0.12345]), 4)[0] == -0.1235  # a half rounds either way
    assert written_high(np.array([-0.12345]), 4)[0] == -0.1234  # truncation toward zero
    assert written_high(np.array([-0.12349]), 4)[0] == pytest.approx(-0.1234)
    lo, hi = kept_interval(np.array([0.593, -0.593, 0.0]), 3)
    assert lo.tolist() == pytest.approx([0.5925, -0.594, -0.001]) and hi.tolist() == pytest.approx([0.594, -0.5925, 0.001])


def test_abs_and_rel_keep_their_meaning_on_top_of_the_reachable_interval():
    t, lo, hi = np.array([0.5]), np.array([0.499]), np.array([0.5004])
    low, high = accepted("abs", 0.002, 4, t, lo, hi)
    assert low[0] == pytest.approx(0.497, abs=2e-9) and high[0] == pytest.approx(0.5024, abs=2e-9)
    low, high = accepted("rel", 0.01, 4, t, lo, hi)
    assert low[0] == pytest.approx(0.499 - 0.00505, abs=2e-9) and high[0] == pytest.approx(0.5004 + 0.00505, abs=2e-9)


@pytest.mark.parametrize("bank_name", ["classic", "classic-bits", "relu-3-2-1", "softmax-2-3-2", "bce-2-2-1"])
def test_any_mix_of_rounding_truncating_and_keeping_scores_full_marks_on_every_bank(bank_name):
    # Whole chains, every step: each student rounds, truncates or keeps each step at random (seeded).
    from test_grade_support import wide_csv

    from nnexam.bank import load_bank
    from nnexam.generate import class_ids, generate
    from nnexam.grade import grade, parse_submissions
    from nnexam.table import read_table

    bank = load_bank(bank_name)
    m = generate(bank, "mix", class_ids(40))
    decimals = {q.name: q.decimals for q in m.questions}
    rng = np.random.default_rng(10)
    answers = []
    for s in m.students:
        env = {k: np.array([v]) for k, v in s.network.givens().items()}
        for step in m.graph.steps:
            v = np.asarray(step.expr.evaluate(env), dtype=float).reshape(1)
            env[step.name] = paper(v, decimals.get(step.name, bank.decimals), rng.integers(0, 3, 1))
        answers.append({q.name: repr(float(env[q.name][0])) for q in m.questions})
    g = grade(m, parse_submissions(read_table(wide_csv(m, answers), "answers.csv"), m))
    assert (g.score == g.max_score).all(), [(m.questions[j].label, i) for i, j in zip(*np.nonzero(g.verdict != 0))][:5]


def test_accepted_bounds_are_exactly_what_grade_accepts_and_mistaken_answers_lie_outside():
    # The interface LMS quiz exports use: [low, high] per (student, question).
    from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

    from test_grade_support import wide_csv

    from nnexam.bank import load_bank
    from nnexam.generate import class_ids, generate
    from nnexam.grade import accepted_bounds, grade, mistaken_answers, parse_submissions
    from nnexam.table import read_table

    m = generate(load_bank("classic"), "bounds", class_ids(30))
    exact, low, high = accepted_bounds(m)
    assert exact.shape == low.shape == high.shape == (30, len(m.questions))
    assert (low <= exact).all() and (exact <= high).all()
    q0 = m.questions[0]  # out_h1: from givens alone, so t, its rounding, its truncation and between
    for i in range(30):
        t = Decimal(repr(float(exact[i, 0])))
        unit = Decimal(1).scaleb(-q0.decimals)
        ends = [t, t.quantize(unit, ROUND_HALF_UP), t.quantize(unit, ROUND_DOWN)]
        assert low[i, 0] == pytest.approx(float(min(ends)), abs=2e-9) and high[i, 0] == pytest.approx(float(max(ends)), abs=2e-9)

    def marks(values):
        answers = [{q.name: repr(float(values[i, j])) for j, q in enumerate(m.questions)} for i in range(30)]
        return grade(m, parse_submissions(read_table(wide_csv(m, answers), "answers.csv"), m)).verdict

    assert (marks(low) == 0).all() and (marks(high) == 0).all()
    step = 1e-6 * np.maximum(1.0, np.abs(exact))
    # Just outside: wrong (only the outside answer changes; later answers follow from it, or stay right).
    outside = marks(np.where(np.arange(len(m.questions)) == 3, high + step, exact))
    assert (outside[:, 3] != 0).all() and (np.delete(outside, 3, axis=1) <= 1).all()
    for mistake, values in mistaken_answers(m):
        shown = ~np.isnan(values)
        assert shown.any()
        assert not ((values >= low) & (values <= high) & shown).any(), mistake.name


# Every earlier step varied, not only the 5 nearest: the brute force walks the steps in order and
# keeps the distinct tuples of the written values still to be read (a state), each step's value
# computed from every state and written in the three ways. Targets whose states outgrow CAP (the
# updated network's E_new, whose every new weight is live at once) are left out and counted.
CAP = 2000
# Measured 2026-12-04 (printed with -s): 100% within 1.25x at 2, 3 and 4 decimals (the 5-nearest
# enumeration alone, before the exact walk of solve._walk: 96.1 / 98.0 / 98.3%, at most 2.5x).
# nnexam's walk stops at 2,000 states as this one does, so the cases measured are those it walks;
# the ones left out are not measured (docs/tolerance.md says so).
EVERY_STEP_FLOOR = {2: 1.0, 3: 1.0, 4: 1.0}


def reachable_every_step(graph, givens: dict[str, float], target: str, decimals: int) -> np.ndarray | None:
    """Every value of `target` a student can write when every earlier step is written rounded,
    truncated or kept (the target too); one variant; None when the states outgrow CAP."""
    above: set[str] = set()
    todo = [target]
    while todo:
        for i in graph[todo.pop()].inputs:
            if i in graph and i not in above:
                above.add(i)
                todo.append(i)
    steps = [s for s in graph.steps if s.name in above]
    last = {i: k for k, s in enumerate(steps + [graph[target]]) for i in s.inputs if i in above}
    columns: list[str] = []
    states = np.zeros((1, 0))
    with np.errstate(all="ignore"):
        for k, step in enumerate(steps + [graph[target]]):
            env = dict(givens) | {c: states[:, j] for j, c in enumerate(columns)}
            v = np.broadcast_to(np.asarray(step.expr.evaluate(env), dtype=float), (len(states),))
            forms = np.stack([paper(v, decimals, np.full(len(v), how)) for how in (0, 1, 2)], axis=1)
            if step.name == target:
                values = forms.reshape(-1)
                return values[np.isfinite(values)]
            states = np.concatenate([np.repeat(states, 3, axis=0), forms.reshape(-1, 1)], axis=1)
            columns.append(step.name)
            live = [j for j, c in enumerate(columns) if last.get(c, -1) > k]
            columns, states = [columns[j] for j in live], np.unique(states[:, live], axis=0)
            if len(states) > CAP:
                return None
    raise AssertionError(target)


@pytest.mark.parametrize("decimals", [2, 3, 4])
def test_every_earlier_step_varied(decimals):
    ratios, left_out, worst = [], 0, (0.0, None)
    for a, arch in enumerate(ARCHS):
        graph = build_graph(arch)
        givens = draw(arch, 2, seed=100 * decimals + a)
        key = evaluate(graph, givens)
        reach = reachable_intervals(graph, key, decimals)
        for target in TARGETS:
            if target not in graph:
                continue
            low, high = accepted("decimals", 0.0, decimals, key[target], *reach[target])
            for i in range(2):
                vals = reachable_every_step(graph, {g: v[i] for g, v in givens.items()}, target, decimals)
                if vals is None:
                    left_out += 1
                    continue
                if not len(vals) or not np.isfinite(key[target][i]):
                    continue
                assert low[i] <= vals.min() and vals.max() <= high[i], (arch, target, i)  # all accepted
                width = float(high[i] - low[i]) - 2.0001e-9 * max(1.0, abs(float(key[target][i])))
                if width <= 0:
                    continue
                spread = float(vals.max() - vals.min())
                ratio = width / spread if spread > 0 else np.inf
                ratios.append(ratio)
                if ratio > worst[0]:
                    worst = (ratio, (arch.layers, arch.activations, arch.loss, target))
    share = float(np.mean(np.array(ratios) <= RATIO))
    print(f"every step, decimals {decimals}: {len(ratios)} cases ({left_out} left out), "
          f"{100 * share:.1f}% within {RATIO}x, max {worst[0]:.2f} at {worst[1]}")
    assert share >= EVERY_STEP_FLOOR[decimals] and worst[0] <= WORST, (share, worst)


def test_grading_accepts_exactly_the_narrowed_interval_near_its_edges():
    # grade computes the narrowed interval only where an answer could change verdict; answers
    # spread over the wider independent-offset interval and a unit beyond it must be marked right
    # exactly when they lie in the narrowed interval computed for every student (accepted_bounds).
    from test_grade_support import wide_csv

    from nnexam.bank import load_bank
    from nnexam.generate import class_ids, generate
    from nnexam.grade import accepted_bounds, band_decimals, grade, parse_submissions
    from nnexam.table import read_table

    for bank_name in ("classic", "softmax-2-3-2"):
        m = generate(load_bank(bank_name), "edges", class_ids(60))
        exact, low, high = accepted_bounds(m)
        key = evaluate(m.graph, m.givens())
        wide = reachable_intervals(m.graph, key, band_decimals(m), joint=0)
        rng = np.random.default_rng(5)
        answers, inside, between = [], np.zeros(low.shape, bool), 0
        for i in range(60):
            row = {}
            for j, q in enumerate(m.questions):
                u = 10.0 ** -q.decimals
                lo, hi = accepted(q.tolerance_kind, q.tolerance_value, q.decimals, key[q.name][i:i + 1],
                                  wide[q.name][0][i:i + 1], wide[q.name][1][i:i + 1])
                v = float(np.round(rng.uniform(lo[0] - u, hi[0] + u), q.decimals + 2))
                gaps = [(a, b) for a, b in ((lo[0], low[i, j]), (high[i, j], hi[0])) if b - a > 1e-9]
                if gaps and (i + j) % 2:  # in what the narrowing turned away, when there is such a gap
                    a, b = gaps[(i // 2) % len(gaps)]
                    v = float(a + (b - a) * rng.uniform(0.01, 0.99))
                inside[i, j] = low[i, j] <= v <= high[i, j]
                between += bool(lo[0] <= v <= hi[0]) and not inside[i, j]
                row[q.name] = repr(v)
            answers.append(row)
        g = grade(m, parse_submissions(read_table(wide_csv(m, answers), "answers.csv"), m))
        assert ((g.verdict == 0) == inside).all(), bank_name
        print(bank_name, "between", between)
        assert inside.any() and (~inside).any() and between > 10, between  # answers the narrowing turns wrong
