"""Generate one fair variant per student: draw on the bank's grids, solve, check every rule, redraw.

All numeric work runs on arrays with a leading student axis: every student is drawn, solved and
checked at once; only the students whose variant breaks a rule are redrawn (attempt + 1), a
bounded number of times. Each student's draws depend on (exam seed, bank hash, student id,
attempt) alone, so adding or removing a student changes nobody else's variant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np

from . import __version__, csvout
from .bank import Bank, Draw
from .errors import NnexamError
from .files import unique_stems
from .ids import check_ids
from .graph import StepGraph, build_graph
from .manifest import Manifest, Question, Shared, StudentVariant
from .mistakes import BY_NAME, applicable
from .notation import labels as make_labels, weight_numbers
from .rng import draw_index, student_keys, variant_code
from .solve import evaluate, finite_variants, reachable_intervals
from .tolerance import accepted

MAX_ATTEMPTS = 500
RELU_MARGIN = 0.05  # no relu/leaky_relu pre-activation within this of 0 (the kink)
SATURATION = 4.0  # no sigmoid/tanh pre-activation beyond ±this (flat, tiny gradients)
EDGE = 1e-9  # grid sums land exactly on a limit (0.05, 4): count them on the unfair side
# The fairness rules that decide a redraw, by version: 1 separated each mistake from the right
# answer by twice nnexam 0.1's wide accepted band; 2 keeps the mistake's accepted interval apart
# from the right answer's, as tolerance.py accepts them now. The manifest records the version.
DRAW_RULES = 2
CHANGED = 1e-12  # float noise: a mistake never "changes" an answer by less than this

# Hash groups: fixed numbers, so adding a group never shifts another's draws.
_GROUP_IDS = {"inputs": 0, "targets": 1, "learning_rate": 2, "weights": 3, "biases": 4}

RULES = {
    "relu_margin": f"no relu/leaky_relu pre-activation within {RELU_MARGIN} of 0",
    "saturation": f"no sigmoid/tanh pre-activation beyond ±{SATURATION:g}",
    "distinct_weights": "no two weights equal",
    "loss_floor": "the loss E not already near 0 (E >= min_loss)",
    "active_relu": "at least one active neuron in every relu layer (before and after the update)",
    "significant_digits": "every asked answer shows two significant digits at its decimals (|v| >= 10^(1-d))",
    "finite": "every step a finite number (no value overflows float64)",
}


def rule_description(rule: str) -> str:
    """A readable sentence for a rule name (mistake rules are named mistake:<name>)."""
    if rule.startswith("mistake:"):
        m = BY_NAME[rule[len("mistake:"):]]
        return (f"the mistake '{m.title}' keeps every asked answer it changes out of the interval accepted "
                "as right, and the two accepted intervals apart")
    return RULES[rule]


# --- questions -------------------------------------------------------------------------------


def questions(bank: Bank) -> tuple[Question, ...]:
    """Every asked answer in sheet order (the bank's task order, then the graph's order), with its label."""
    graph = bank.graph
    names = make_labels(graph, bank.notation, dict(bank.names))
    by_step = {s: t for t in bank.tasks for s in t.steps}
    order = {id(t): i for i, t in enumerate(bank.tasks)}
    position = {s.name: i for i, s in enumerate(graph.steps)}
    numbers = weight_numbers(graph.arch, bank.notation)
    # Tasks in the bank's order: the graph updates the output weights before it reaches the hidden
    # layer, but a sheet must not ask for w1' before dE/dw1. Within a task, the graph's order, except
    # that a layer's weight gradients (and updated weights) stand together, in the notation's
    # numbering (seeds/001 lists dE/dw1, dE/dw2, ... though its w2 is i1->h2), where the graph puts
    # the last of them: everything they need comes before it.
    asked = [s for s in graph.steps if s.name in by_step]
    anchor: dict[tuple, int] = {}
    for s in asked:
        group = _weight_group(s.name, numbers)
        if group is not None:
            anchor[id(by_step[s.name]), group] = position[s.name]

    def sheet_key(s) -> tuple[int, int, int]:
        group = _weight_group(s.name, numbers)
        if group is None:
            return order[id(by_step[s.name])], position[s.name], 0
        return order[id(by_step[s.name])], anchor[id(by_step[s.name]), group], numbers[_weight_name(s.name)][1]

    asked.sort(key=sheet_key)
    out = [
        Question(s.name, names[s.name].ascii, by_step[s.name].task, by_step[s.name].points, by_step[s.name].decimals,
                 by_step[s.name].tolerance_kind, by_step[s.name].tolerance_value)
        for s in asked
    ]
    labels = [q.label for q in out]
    dup = next((l for l in labels if labels.count(l) > 1), None)
    if dup is not None:
        raise NnexamError(f"{bank.source}: two asked answers share the label '{dup}' (rename one in 'names')")
    return tuple(out)


def _weight_name(step: str) -> str:
    """The weight a step is about: dE_dw1_2_1 -> w1_2_1, w1_2_1_new -> w1_2_1; '' for other steps."""
    if step.startswith("dE_dw"):
        return step[len("dE_d"):]
    if step.startswith("w") and step.endswith("_new"):
        return step[: -len("_new")]
    return ""


def _weight_group(step: str, numbers: Mapping[str, tuple[int, int]]) -> tuple[str, int] | None:
    """('dE_dw' or 'w_new', layer) for a weight gradient or updated weight; None for other steps."""
    weight = _weight_name(step)
    if weight not in numbers:
        return None
    return ("w_new" if step.endswith("_new") else "dE_dw"), numbers[weight][0]


# --- drawing ---------------------------------------------------------------------------------


def _layer_of(name: str) -> int:
    """w2_1_1 -> 2, b1 -> 1, b2_3 -> 2."""
    return int(name[1:].split("_")[0])


def draw_givens(bank: Bank, keys: np.ndarray, attempts: np.ndarray) -> dict[str, np.ndarray]:
    """Every given value for every student at their attempt: grid values picked by integer hashes."""
    arch = bank.arch
    members = {
        "inputs": [f"x_{k}" for k in range(1, arch.layers[0] + 1)],
        "targets": [f"t_{j}" for j in range(1, arch.layers[-1] + 1)],
        "learning_rate": ["eta"],
        "weights": list(arch.weight_names()),
        "biases": list(arch.bias_names()),
    }
    out: dict[str, np.ndarray] = {}
    for group, draws in bank.draws.items():
        gid = _GROUP_IDS[group]
        names = members[group]
        if draws[0].vectors:
            table = np.array(draws[0].vectors, dtype=float)
            rows = table[draw_index(keys, gid, 0, attempts, len(table))]
            for m, name in enumerate(names):
                out[name] = rows[:, m]
            continue
        for index, name in enumerate(names):
            d: Draw = draws[_layer_of(name) - 1] if len(draws) > 1 else draws[0]
            out[name] = np.array(d.values, dtype=float)[draw_index(keys, gid, index, attempts, len(d.values))]
    return out


# --- the fairness rules ----------------------------------------------------------------------


def _pre_activations(graph: StepGraph, acts: tuple[str, ...]) -> list[str]:
    """Names of the pre-activations (before and after the update) of layers with these activations."""
    return [s.name for s in graph.steps if s.kind in ("z", "z_new") and graph.arch.activations[s.layer - 1] in acts]


def _relu_free_graph(graph: StepGraph) -> StepGraph:
    """The same network with relu replaced by a leaky relu: where an answer is 0 only here, a relu was inactive."""
    arch = graph.arch
    slope = arch.leaky_slope if "leaky_relu" in arch.activations and arch.leaky_slope > 0 else 0.5
    acts = tuple("leaky_relu" if a == "relu" else a for a in arch.activations)
    return build_graph(replace(arch, activations=acts, leaky_slope=slope))


def _take(values: Mapping[str, np.ndarray], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[idx] for k, v in values.items()}


def check_rules(bank: Bank, qs: Sequence[Question], givens: Mapping[str, np.ndarray],
                draw_rules: int = DRAW_RULES) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(failures per rule as boolean arrays over students, all solved values), by the given draw rules.

    The cheap rules run on every student; the mistake rules (a solve per mistake plus rounding
    bands) only on the students that passed the cheap ones.
    """
    graph = bank.graph
    arch = bank.arch
    values = evaluate(graph, givens)
    n = len(values["E"])
    fails: dict[str, np.ndarray] = {}
    relu = _pre_activations(graph, ("relu", "leaky_relu"))
    fails["relu_margin"] = np.zeros(n, bool)
    for z in relu:
        fails["relu_margin"] |= ~(np.abs(values[z]) > RELU_MARGIN + EDGE)
    # A relu layer with every neuron inactive zeroes everything behind it: no exercise left.
    fails["active_relu"] = np.zeros(n, bool)
    for l, act in enumerate(arch.activations, 1):
        if act == "relu":
            for suffix in ("", "_new"):
                alive = np.stack([values[f"z{l}_{j}{suffix}"] > 0 for j in range(1, arch.layers[l] + 1)])
                fails["active_relu"] |= ~np.any(alive, axis=0)
    fails["saturation"] = np.zeros(n, bool)
    for z in _pre_activations(graph, ("sigmoid", "tanh")):
        fails["saturation"] |= ~(np.abs(values[z]) <= SATURATION - EDGE)
    w = np.stack([givens[name] for name in arch.weight_names()], axis=1)
    w = np.sort(w, axis=1)
    fails["distinct_weights"] = np.any(w[:, 1:] == w[:, :-1], axis=1) if w.shape[1] > 1 else np.zeros(n, bool)
    fails["loss_floor"] = ~(values["E"] >= bank.min_loss)
    sig = np.zeros(n, bool)
    exempt_graph = _relu_free_graph(graph) if bank.allow_inactive_zero and "relu" in arch.activations else None
    leaky = evaluate(exempt_graph, givens) if exempt_graph is not None else None
    for q in qs:
        v = values[q.name]
        small = ~(np.abs(v) >= 10.0 ** (1 - q.decimals))
        if leaky is not None:
            small &= ~((v == 0.0) & (leaky[q.name] != 0.0))  # an exact 0 from an inactive relu
        sig |= small
    fails["significant_digits"] = sig
    # Grids of huge numbers overflow: an inf or NaN anywhere is no exercise (and would accept anything).
    fails["finite"] = ~finite_variants(graph, values)

    ok = ~np.any(np.stack(list(fails.values())), axis=0)
    idx = np.flatnonzero(ok)
    mistakes = applicable(graph)
    for m in mistakes:
        fails[f"mistake:{m.name}"] = np.zeros(n, bool)
    if len(idx):
        sub_givens = _take(givens, idx)
        sub = _take(values, idx)
        decimals = {s.name: bank.decimals for s in graph.steps}
        decimals.update({q.name: q.decimals for q in qs})
        # Fairness is decided on the independent-offset intervals (joint=0): they contain the
        # intervals grading accepts (solve._tighten only narrows them), so a mistake kept apart here
        # stays apart there, and the draws of rules 2 are the same as before the narrowing.
        reach = reachable_intervals(graph, sub, decimals, joint=0)
        accept = {q.name: accepted(q.tolerance_kind, q.tolerance_value, q.decimals, sub[q.name], *reach[q.name]) for q in qs}
        # Draw rules 1 (nnexam 0.1) separated mistakes by its own, wider widths: kept, so that an
        # exam drawn then is drawn again with the same numbers (`draw_rules` in the manifest).
        legacy = _legacy_widths(graph, sub, decimals, qs) if draw_rules == 1 else {}
        for m in mistakes:
            wrong = evaluate(graph, sub_givens, mistake=m)
            bad = np.zeros(len(idx), bool)
            for q in qs:
                if draw_rules == 1:
                    band, width = legacy[q.name]
                    with np.errstate(over="ignore", invalid="ignore"):
                        moved = np.abs(wrong[q.name] - sub[q.name])
                        bad |= (moved > np.maximum(band, CHANGED)) & (moved <= 2.0 * width)
                    continue
                t, (lo, hi), (low, high) = sub[q.name], reach[q.name], accept[q.name]
                w = wrong[q.name]
                # A mistaken value (or a bound) near the float64 limit overflows to inf here: inf
                # moves are far, inf bounds accept; both read right, so numpy need not say so.
                with np.errstate(over="ignore", invalid="ignore"):
                    # The mistaken answer accepted as a student who rounds would write it: the same
                    # reachable offsets around the mistaken value.
                    m_low, m_high = accepted(q.tolerance_kind, q.tolerance_value, q.decimals, w, w + (lo - t), w + (hi - t))
                    # A move within the reachable interval is one honest rounding of earlier steps
                    # can make too: the answer reads right either way (E after the update barely
                    # feels a hidden-layer slip). Any other must keep its accepted interval apart
                    # from the right answer's, so no answer is both right and that mistake.
                    # NaN (a mistaken ln of a negative, say) is no number a student writes: never close.
                    changed = (w < lo - CHANGED) | (w > hi + CHANGED)
                    bad |= changed & (m_low <= high) & (low <= m_high)
            fails[f"mistake:{m.name}"][idx] = bad
    return fails, values


def _legacy_widths(graph: StepGraph, values: Mapping[str, np.ndarray], decimals: Mapping[str, int],
                   qs: Sequence[Question]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(band, width) per asked step as nnexam 0.1 measured them, for draw rules 1 only.

    band: the sum over a step's inputs of the largest move of the formula when that input moves by
    its own band plus a whole unit 10^-d either way (a secant); width: the tolerance (decimals:
    10^-d; abs: value; rel: half a unit + value·|t|) plus band plus float slack. Wider than what
    rounding reaches (tolerance.py decides acceptance); kept only so that old exams draw again.
    """
    n = len(next(iter(values.values())))
    band: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for step in graph.steps:
            env = dict(values)
            base = np.broadcast_to(step.expr.evaluate(env), (n,))
            total = np.zeros(n)
            for name in step.inputs:
                if name not in band:
                    continue  # a given: exact
                r = band[name] + 10.0 ** -decimals.get(name, 4)
                moved = []
                for sign in (1.0, -1.0):
                    env[name] = values[name] + sign * r
                    moved.append(np.abs(np.broadcast_to(step.expr.evaluate(env), (n,)) - base))
                env[name] = values[name]
                total = total + np.fmax(moved[0], moved[1])
            band[step.name] = np.nan_to_num(total, nan=np.inf)
        out = {}
        for q in qs:
            t = np.asarray(values[q.name], dtype=float)
            if q.tolerance_kind == "abs":
                tol = np.full(t.shape, float(q.tolerance_value))
            elif q.tolerance_kind == "rel":
                tol = 0.5 * 10.0 ** -q.decimals + float(q.tolerance_value) * np.abs(t)
            else:
                tol = np.full(t.shape, 10.0 ** -q.decimals)
            out[q.name] = (band[q.name], tol + band[q.name] + 1e-9 * np.maximum(1.0, np.abs(t)))
    return out


# --- generating ------------------------------------------------------------------------------


def _check_students(students: Sequence[tuple[str, str]]) -> None:
    """Ids and names as files.check_ids wants them: not blank, not over-long, no two of one id_key."""
    if not students:
        raise NnexamError("no students to generate for")
    check_ids([s[0] for s in students], [s[1] or "" for s in students], lambda i: f"student {i + 1}")


def draw_fair(bank: Bank, keys: np.ndarray, qs: Sequence[Question], *, max_attempts: int = MAX_ATTEMPTS,
              ids: Sequence[str] | None = None, progress: Callable[[int, int], None] | None = None,
              draw_rules: int = DRAW_RULES) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """(givens, values, attempts) of a fair variant for every key, redrawing only the students that fail."""
    n = len(keys)
    attempts = np.zeros(n, np.uint64)
    givens: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    pending = np.arange(n)
    counts: dict[str, int] = {}
    while True:
        g = draw_givens(bank, keys[pending], attempts[pending])
        fails, v = check_rules(bank, qs, g, draw_rules)
        failed = np.any(np.stack(list(fails.values())), axis=0)
        good = pending[~failed]
        for store, new in ((givens, g), (values, v)):
            for name, arr in new.items():
                if name not in store:
                    store[name] = np.empty(n)
                store[name][good] = arr[~failed]
        for rule, mask in fails.items():
            counts[rule] = counts.get(rule, 0) + int(mask.sum())
        pending = pending[failed]
        if progress is not None:
            progress(n - len(pending), n)
        if not len(pending):
            return givens, values, attempts
        if int(attempts[pending[0]]) + 1 >= max_attempts:
            last = {rule: int(mask[failed].sum()) for rule, mask in fails.items()}
            rule = max(last, key=lambda r: (last[r], counts[r]))
            who = f" (first: '{ids[pending[0]]}')" if ids is not None else ""
            raise NnexamError(
                f"{bank.source}: no fair variant for {len(pending)} student(s){who} in {max_attempts} draws each; "
                f"the rule that could not be met: {rule_description(rule)} [{rule}]; widen the bank's draws"
            )
        attempts[pending] += np.uint64(1)


def generate(bank: Bank, seed: str, students: Sequence[tuple[str, str] | tuple[str, str, Mapping[str, str]]], *,
             title: str | None = None, max_attempts: int = MAX_ATTEMPTS,
             progress: Callable[[int, int], None] | None = None, kind: str = "class",
             draw_rules: int = DRAW_RULES) -> Manifest:
    """One fair variant per (id, name) or (id, name, roster identity columns), derived from (seed, bank hash, id) alone.

    kind="pool" marks the variants as bound to no student (see `pool_ids`): an LMS hands them out.
    draw_rules: which fairness rules decide a redraw (DRAW_RULES; 1 draws exactly as nnexam 0.1 did).
    """
    if draw_rules not in (1, DRAW_RULES):
        raise NnexamError(f"draw rules {draw_rules}: expected 1 (nnexam 0.1) or {DRAW_RULES}")
    _check_students(students)
    seed = str(seed)
    ids = [s[0] for s in students]
    keys = student_keys(seed, bank.hash, ids)
    qs = questions(bank)
    givens, _, _ = draw_fair(bank, keys, qs, max_attempts=max_attempts, ids=ids, progress=progress, draw_rules=draw_rules)
    table = np.stack([givens[name] for name in bank.arch.given_names()], axis=1)
    stems = unique_stems(ids)
    shared = Shared(bank.arch, bank.notation, bank.names)
    variants = tuple(
        StudentVariant(sid, name or "", variant_code(int(keys[i])), tuple(values), shared,
                       {"sheet": f"sheets/{stems[i]}.pdf", "key": f"keys/{stems[i]}.pdf"}, dict(identity[0]) if identity else {})
        for i, ((sid, name, *identity), values) in enumerate(zip(students, table.tolist()))
    )
    return Manifest(seed, bank.name, bank.hash, bank.data, title or bank.title, bank.course, bank.date,
                    bank.notation, qs, variants, __version__, table, kind, draw_rules=draw_rules)


def class_ids(count: int) -> list[tuple[str, str]]:
    """Anonymous students s001..sNNN (zero-padded to the width of the count, at least 3 digits)."""
    width = max(3, len(str(count)))
    return [(f"s{i:0{width}d}", "") for i in range(1, count + 1)]


def pool_ids(count: int) -> list[tuple[str, str]]:
    """Variants v001..vNNN of a pool exam, bound to no student (zero-padded, at least 3 digits)."""
    width = max(3, len(str(count)))
    return [(f"v{i:0{width}d}", "") for i in range(1, count + 1)]


def answer_key(manifest: Manifest) -> str:
    """answer_key.csv: student_id, variant, then every asked answer at full precision (the shortest
    text that reads back as the same float); one row per student, for any tool that grades without
    nnexam. Text cells go through csvout (formulas neutralized); a BOM first, for Excel."""
    values = evaluate(manifest.graph, manifest.givens())
    header = csvout.row(["student_id", "variant"] + [q.label for q in manifest.questions], "\n")
    columns = [list(map(repr, np.broadcast_to(values[q.name], (len(manifest.students),)).tolist())) for q in manifest.questions]
    ids, variants = _id_columns(manifest)
    lines = map(",".join, zip(ids, variants, *columns))
    return csvout.BOM + header + "".join(line + "\n" for line in lines)


def submission_template(manifest: Manifest) -> str:
    """submission_template.csv: student_id, variant, one column per asked answer (its label); one row
    per student. Text cells go through csvout (formulas neutralized); a BOM first, for Excel."""
    header = csvout.row(["student_id", "variant"] + [q.label for q in manifest.questions], "\n")
    blanks = "," * len(manifest.questions) + "\n"
    ids, variants = _id_columns(manifest)
    return csvout.BOM + header + "".join(f"{i},{v}{blanks}" for i, v in zip(ids, variants))


def _id_columns(manifest: Manifest) -> tuple[Sequence[str], Sequence[str]]:
    """The student_id and variant cells of every student, as csvout writes them."""
    return (csvout.column([s.id for s in manifest.students]), csvout.column([s.variant for s in manifest.students]))
