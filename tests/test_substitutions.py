"""Any single slip named (issue 10, item 3): one substitution in a step's own formula, in the student's notation.

Each slipped answer is computed here by hand from Mazur's formulas with numpy (not by nnexam's
rewrites): the student makes the slip at one step and writes every other answer right.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_grade_support import keys, make_manifest, wide_csv

from nnexam.gradebook import feedback_texts
from nnexam.grade import grade, parse_submissions
from nnexam.report import _mistake_rows
from nnexam.table import read_table


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def slips(k: dict[str, float]) -> dict[str, tuple[str, float, str]]:
    """name -> (step, slipped value by hand, the title nnexam must give), for one student's exact values k."""
    return {
        "neighbour": ("dE_dw2_1_2", k["delta2_1"] * k["a1_1"], "∂E_total/∂w6 used out_h1 where out_h2 belongs"),
        "other target": ("E_2", 0.5 * (k["t_1"] - k["a2_2"]) ** 2, "E_o2 used target_o1 where target_o2 belongs"),
        "eta dropped": ("w2_1_1_new", k["w2_1_1"] - k["dE_dw2_1_1"], "w′5 without the factor η"),
        "twice": ("z2_1", 2 * k["w2_1_1"] * k["a1_1"] + k["b2"], "net_o1 used w5 · out_h1 twice, in place of w6 · out_h2"),
        "pre-activation": ("z2_2", k["w2_2_1"] * k["z1_1"] + k["w2_2_2"] * k["a1_2"] + k["b2"],
                           "net_o2 used net_h1 where out_h1 belongs"),
        "swapped": ("dE_da2_2", k["t_2"] - k["a2_2"], None),  # the named mistake 'error_sign' comes first
    }


def run(m, answers):
    return grade(m, parse_submissions(read_table(wide_csv(m, answers), "answers.csv"), m))


@pytest.fixture(scope="module")
def graded():
    m = make_manifest(students=6, kinds=("z", "a", "E_j", "E", "dE_da", "delta", "dE_dw", "w_new"))
    k = keys(m)
    answers, made = [], []
    for i, name in enumerate(slips(k[0])):
        step, value, title = slips(k[i])[name]
        row = {q.name: repr(k[i][q.name]) for q in m.questions}
        row[step] = f"{value:.4f}"
        answers.append(row)
        made.append((step, title))
    return m, run(m, answers), made


def test_each_slip_is_named_in_the_students_notation_as_a_likely_cause(graded):
    m, g, made = graded
    names = [q.name for q in m.questions]
    for i, (step, title) in enumerate(made):
        qi = names.index(step)
        mk = g.mistakes[g.mistake[i, qi]] if g.mistake[i, qi] >= 0 else None
        if title is None:
            assert mk is not None and mk.name == "error_sign" and g.verdict[i, qi] == 2  # a named mistake wins
            continue
        assert g.verdict[i, qi] == 3, (step, g.verdict[i, qi])  # still "wrong": no fairness guarantee
        assert mk is not None and mk.likely and mk.title == title, (step, mk and mk.title)
        assert g.points[i, qi] == 0


def test_right_answers_are_never_given_a_cause(graded):
    m, g, made = graded
    right = g.verdict == 0
    assert (g.mistake[right] == -1).all()
    assert right.sum() >= len(m.questions) * len(made) - 2 * len(made)  # the slip, and at most one answer after it


def test_feedback_and_report_show_the_likely_cause(graded):
    m, g, made = graded
    texts = dict(feedback_texts(g))
    first = texts[m.students[0].id]
    assert "wrong; likely cause: ∂E_total/∂w6 used out_h1 where out_h2 belongs" in first
    titles = [row[0] for row in _mistake_rows(g)]
    assert "E_o2 used target_o1 where target_o2 belongs" in titles


def test_candidates_are_bounded_and_the_same_for_every_student():
    from nnexam.mistakes import MAX_SUBSTITUTIONS, substitutions

    m = make_manifest("esuli_3-2-1", students=1)
    graph, labels = m.graph, m.labels()
    for step in graph.steps:
        cands = substitutions(graph, step, labels)
        assert len(cands) <= MAX_SUBSTITUTIONS
        assert [c.title for c in cands] == [c.title for c in substitutions(graph, step, labels)]
        assert all(c.likely for c in cands)
