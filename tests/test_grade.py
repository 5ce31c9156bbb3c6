"""Marking: full marks for exact, rounded and truncated chains; follow-through; named mistakes; tolerance edges."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnexam.grade import Policy, grade, parse_submissions
from nnexam.mistakes import applicable
from nnexam.solve import evaluate
from nnexam.table import read_table

from test_grade_support import fmt, keys, make_manifest, rounded_chain, truncate, wide_csv

SPECS = ["mazur_2-2-2", "bits_2-2-2", "esuli_3-2-1"]


def run(manifest, answers, policy=Policy(), **kw):
    return grade(manifest, parse_submissions(read_table(wide_csv(manifest, answers, **kw), "answers.csv"), manifest), policy)


def as_text(manifest, values, decimals=4):
    return {q.name: fmt(values[q.name], decimals) for q in manifest.questions}


@pytest.mark.parametrize("spec", SPECS)
def test_exact_rounded_and_truncated_chains_get_full_marks(spec):
    m = make_manifest(spec, students=4, decimals=3)
    exact = keys(m)
    answers = [as_text(m, exact[0], 3), as_text(m, rounded_chain(m, 1, 3), 3),
               as_text(m, rounded_chain(m, 2, 3, "trunc"), 3),
               {q.name: f"{truncate(exact[3][q.name], 3):.3f}" for q in m.questions}]
    g = run(m, answers)
    assert g.status == ("graded",) * 4
    assert g.score.tolist() == [g.max_score] * 4


def test_mazur_key_matches_the_published_values():
    # Mazur's post: out_h1 = 0.593269992, out_o1 = 0.75136507, E_total = 0.298371109, w5+ = 0.35891648.
    m = make_manifest("mazur_2-2-2", students=1)
    k = keys(m)[0]
    g = run(m, [as_text(m, k)])
    expected = dict(zip([q.label for q in m.questions], g.expected[0]))
    # Student 0 has nudged weights; the published numbers belong to the unnudged spec, solved independently here.
    from nnexam.spec import load_spec
    from test_grade_support import EXAMPLES
    base = evaluate(m.graph, load_spec(EXAMPLES / "mazur_2-2-2.toml").givens())
    assert base["a1_1"][0] == pytest.approx(0.593269992, abs=1e-9)
    assert base["a2_1"][0] == pytest.approx(0.75136507, abs=1e-8)
    assert base["E"][0] == pytest.approx(0.298371109, abs=1e-9)
    assert base["w2_1_1_new"][0] == pytest.approx(0.35891648, abs=1e-8)
    assert expected["out_h1"] == pytest.approx(k["a1_1"])


@pytest.mark.parametrize("spec", SPECS)
def test_wrong_hidden_output_carried_through_loses_only_its_points(spec):
    m = make_manifest(spec, students=3)
    answers = []
    for s in m.students:
        chain = evaluate(m.graph, s.network.givens(), fixed={"a1_1": s.network.givens()["x_1"] * 0 + 0.61})
        answers.append(as_text(m, {k: float(v[0]) for k, v in chain.items()}))
    g = run(m, answers)
    h1 = [q.name for q in m.questions].index("a1_1")
    assert g.score.tolist() == [g.max_score - 1] * 3
    assert (g.points[:, h1] == 0).all()
    rec = g.record(0)
    verdicts = {a.name: a.verdict for a in rec.answers}
    assert verdicts["a1_1"] == "wrong"
    assert "follow-through" in verdicts.values()


def test_follow_through_share_is_configurable():
    m = make_manifest(students=2)
    chain = evaluate(m.graph, m.students[0].network.givens(), fixed={"a1_1": np.array([0.61])})
    answers = [as_text(m, {k: float(v[0]) for k, v in chain.items()}), as_text(m, keys(m)[1])]
    g = run(m, answers, Policy(follow_through=0.5))
    follows = int((g.verdict[0] == 1).sum())
    assert follows > 5
    assert g.score[0] == g.max_score - 1 - 0.5 * follows
    assert g.score[1] == g.max_score


@pytest.mark.parametrize("how", ["blank", "absurd"])
def test_blank_or_absurd_earlier_value_earns_no_follow_through(how):
    m = make_manifest(students=1)
    names = [q.name for q in m.questions]
    # The student writes out_h1 = 1.7 (impossible for a sigmoid) or nothing, then carries 1.7 on.
    chain = evaluate(m.graph, m.students[0].network.givens(), fixed={"a1_1": np.array([1.7])})
    answers = as_text(m, {k: float(v[0]) for k, v in chain.items()})
    answers["a1_1"] = "" if how == "blank" else "1.7"
    g = run(m, [answers])
    rec = {a.name: a for a in g.record(0).answers}
    assert rec["a1_1"].verdict == ("blank" if how == "blank" else "wrong")
    assert rec["z2_1"].verdict == "wrong" if "z2_1" in names else True
    assert rec["a2_1"].verdict == "wrong" and rec["a2_1"].points == 0
    # Steps that do not depend on out_h1 keep their marks.
    assert rec["a1_2"].verdict == "correct"


@pytest.mark.parametrize("spec", SPECS)
def test_every_common_mistake_is_diagnosed_by_name(spec):
    m = make_manifest(spec, students=3)
    for mistake in applicable(m.graph):
        answers = []
        for s in m.students:
            chain = evaluate(m.graph, s.network.givens(), mistake=mistake)
            answers.append(as_text(m, {k: float(v[0]) for k, v in chain.items()}))
        g = run(m, answers)
        named = {g.mistakes[i].name for i in g.mistake[g.mistake >= 0].tolist()}
        assert named == {mistake.name}, (spec, mistake.name, named)
        assert (g.score < g.max_score).all()


def test_mistake_made_at_one_step_then_carried_on():
    # dE/dout_o1 with the sign flipped; everything after it computed from it: only that answer is lost.
    m = make_manifest(students=2)
    mistake = next(mk for mk in applicable(m.graph) if mk.name == "error_sign")
    answers = []
    for s in m.students:
        chain = evaluate(m.graph, s.network.givens(), mistake=mistake)
        answers.append(as_text(m, {k: float(v[0]) for k, v in chain.items()}))
    g = run(m, answers)
    rec = {a.name: a for a in g.record(0).answers}
    assert rec["dE_da2_1"].verdict == "known mistake" and rec["dE_da2_1"].mistake.name == "error_sign"
    assert rec["delta2_1"].verdict == "follow-through"
    assert g.score[0] == g.max_score - 2  # dE/dout_o1 and dE/dout_o2


def written_hull(t: float, decimals: int = 4) -> tuple[float, float]:
    """[min, max] of t, t rounded (half up or down) and t truncated at `decimals`, in exact decimal arithmetic."""
    exact = Decimal(repr(t))
    unit = Decimal(1).scaleb(-decimals)
    options = [exact, exact.quantize(unit, ROUND_HALF_UP), exact.quantize(unit, ROUND_HALF_EVEN), exact.quantize(unit, ROUND_DOWN)]
    return float(min(options)), float(max(options))


@pytest.mark.parametrize("kind,value", [("decimals", 0.0), ("abs", 0.002), ("rel", 0.01)])
def test_just_outside_the_tolerance_is_wrong_just_inside_is_right(kind, value):
    m = make_manifest(students=2, kind=kind, value=value)
    k = keys(m)
    q = m.questions[0]  # out_h1: reads only givens, so its reachable interval is the point t
    t = k[0][q.name]
    inside = {qq.name: repr(k[0][qq.name]) for qq in m.questions}
    outside = dict(inside)
    if kind == "decimals":  # t itself, or between t and its rounding or truncation: nothing else
        low, high = written_hull(t)
        inside[q.name], outside[q.name] = repr(high), repr(high + 0.02e-4)
    else:
        width = {"abs": 0.002, "rel": 0.5e-4 + 0.01 * abs(t)}[kind]
        inside[q.name], outside[q.name] = repr(t + 0.98 * width), repr(t + 1.02 * width)
    g = run(m, [inside, outside], ids=[m.students[0].id, m.students[0].id + "x"])
    assert g.record(0).answers[0].verdict == "correct"
    g2 = run(m, [outside])
    assert g2.record(0).answers[0].verdict in ("wrong", "known mistake")
    assert g2.score[0] == g2.max_score - 1


@settings(max_examples=30, deadline=None)
@given(st.floats(min_value=-0.99, max_value=0.99), st.integers(min_value=0, max_value=3))
def test_decimals_rule_accepts_exactly_t_and_its_rounding_or_truncation_and_between(frac, student):
    m = make_manifest(students=4)
    k = keys(m)[student]
    q = m.questions[0]
    answers = {qq.name: repr(k[qq.name]) for qq in m.questions}
    s = k[q.name] + frac * 2e-4  # up to two units of the 4th decimal away
    answers[q.name] = repr(s)
    ids, variants = [m.students[student].id], [m.students[student].variant]
    g = run(m, [answers], ids=ids, variants=variants)
    low, high = written_hull(k[q.name])
    assert (g.verdict[0, 0] == 0) == (low - 1e-9 <= s <= high + 1e-9)


def test_one_unit_off_in_the_last_digit_is_wrong_for_an_exact_step():
    # Issue 10: net_h1 = 0.3775 exactly (givens only) accepts 0.3775 and not 0.3774 or 0.3776.
    m = make_manifest(students=1, kinds=("z",))
    t = keys(m)[0]["z1_1"]
    assert f"{t:.10f}" == "0.3775000000"
    texts = {"0.3775": "correct", "0.37750": "correct", "0.3774": "wrong", "0.3776": "wrong"}
    for text, verdict in texts.items():
        answers = {q.name: repr(keys(m)[0][q.name]) for q in m.questions} | {"z1_1": text}
        g = run(m, [answers])
        assert {a.name: a.verdict for a in g.record(0).answers}["z1_1"] == verdict, text


def test_grading_is_vectorized_and_deterministic():
    m = make_manifest(students=40)
    k = keys(m)
    answers = [as_text(m, k[i]) for i in range(40)]
    a, b = run(m, answers), run(m, answers)
    assert np.array_equal(a.points, b.points)
    assert a.score.tolist() == [a.max_score] * 40


@pytest.mark.parametrize("index,bad,message", [
    (4, "0.5", "students[2].givens[4] (eta): expected a finite number, got \"0.5\""),
    (0, True, "students[2].givens[0] (x_1): expected a finite number, got true"),
    (1, None, "students[2].givens[1] (x_2): expected a finite number, got null"),
    (5, float("nan"), "students[2].givens[5] (w1_1_1): expected a finite number, got NaN"),
    (6, 10 ** 400, "students[2].givens[6] (w1_1_2): expected a finite number"),
    (4, 0, "students[2].givens[4] (eta): expected a positive learning rate, got 0"),
])
def test_a_bad_given_in_a_manifest_is_named_by_student_index_and_name(index, bad, message):
    from nnexam.errors import NnexamError
    from nnexam.manifest import manifest_from_dict

    d = make_manifest(students=3).to_dict()
    d["students"][2]["givens"][index] = bad
    with pytest.raises(NnexamError) as e:
        manifest_from_dict(d, "m.json")
    assert message in e.value.message


def test_a_manifest_reads_back_the_same_networks_in_both_formats():
    """Format 2 (shared spec, a list of givens per student) and format 1 (a spec per student) give the same exam."""
    from nnexam.manifest import manifest_from_dict
    from nnexam.spec import parse_spec

    m = make_manifest("esuli_3-2-1", students=4)
    d = m.to_dict()
    assert d["given_names"][:3] == ["x_1", "x_2", "x_3"] and "weights" not in d["network"]
    eta = d["given_names"].index("eta")
    d["students"][1]["givens"][eta] = 1  # an int is a number too
    again = manifest_from_dict(d, "m.json")
    for s, raw, before in zip(again.students, d["students"], m.students):
        # The student's spec rebuilt by hand from the shared keys and the named givens.
        given = dict(zip(d["given_names"], raw["givens"]))
        spec = dict(d["network"], learning_rate=given["eta"],
                    inputs=[given[f"x_{k}"] for k in (1, 2, 3)], targets=[given["t_1"]],
                    weights=[[[given[f"w1_{j}_{k}"] for k in (1, 2, 3)] for j in (1, 2)], [[given["w2_1_1"], given["w2_1_2"]]]],
                    biases=[[given["b1_1"], given["b1_2"]], [given["b2_1"]]])
        assert s.network == parse_spec(spec, "x")
        assert s.network.learning_rate == (1.0 if s is again.students[1] else before.network.learning_rate)
    assert np.array_equal(again.table[[0, 2, 3]], m.table[[0, 2, 3]])
    v1 = {k: v for k, v in d.items() if k not in ("network", "given_names")} | {"format_version": 1}
    v1["students"] = [{"id": s.id, "name": s.name, "variant": s.variant, "network": s.network.to_dict(), "answers": {}}
                      for s in again.students]
    old = manifest_from_dict(v1, "old.json")
    assert [s.network for s in old.students] == [s.network for s in again.students]
    assert np.array_equal(old.table, again.table)



def test_marking_entries_together_or_one_by_one_gives_the_same_marks():
    # The mistaken chains are computed only for entries with an answer still unexplained: an entry's
    # marks must not depend on which other entries are marked with it.
    m = make_manifest(students=8)
    k = keys(m)
    mistakes = applicable(m.graph)
    answers = []
    for i, s in enumerate(m.students):
        if i % 3 == 0:
            values = k[i]
        else:
            chain = evaluate(m.graph, s.network.givens(), mistake=mistakes[i % len(mistakes)])
            values = {name: float(v[0]) for name, v in chain.items()}
        text = as_text(m, values)
        if i % 4 == 1:
            text[m.questions[i % len(m.questions)].name] = "0.9999"  # wrong, and no known mistake
        answers.append(text)
    together = run(m, answers)
    for i, s in enumerate(m.students):
        alone = run(m, [answers[i]], ids=[s.id], variants=[s.variant])
        for field in ("verdict", "mistake", "expected", "own", "points"):
            assert np.array_equal(getattr(alone, field)[0], getattr(together, field)[i], equal_nan=True), (i, field)


def test_resubmissions_case_folded_ids_loose_variants_and_unknown_ids():
    m = make_manifest(students=3)
    k = keys(m)
    s1, s2 = m.students[0], m.students[1]
    ids = [s1.id, f" {s1.id.upper()} ", s1.id, s2.id, "nobody", s2.id]
    variants = [s1.variant, s1.variant, f" {s1.variant.lower()[:2]} {s1.variant.lower()[2:]}", "V99", "V01", s2.variant]
    answers = [as_text(m, k[0])] * 3 + [as_text(m, k[1])] * 3
    g = run(m, answers, ids=ids, variants=variants)
    assert g.status == ("duplicate", "duplicate", "graded", "variant mismatch", "unknown student", "graded")
    assert g.notes[0] == (f"line 2: {s1.id.upper()} submitted again on line 3; the later row is graded",)
    assert g.notes[1] == (f"line 3: {s1.id} submitted again on line 4; the later row is graded",)
    assert g.notes[2] == () and g.notes[5] == ()
    assert g.notes[3] == (f"line 5: variant 'V99' is not {s2.id}'s variant ({s2.variant}); not graded",)
    assert g.notes[4] == ("line 6: student id 'nobody' is not in the manifest",)
    assert g.student.tolist() == [0, 0, 0, 1, -1, 1]
    assert g.graded.tolist() == [False, False, True, False, False, True]
    assert g.missing == (2,)
