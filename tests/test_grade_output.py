"""What grading writes: feedback texts, grades.csv, canvas.csv and moodle.csv, checked byte for byte
against a plain construction (csv.writer, one student and one answer at a time, from Grades.record)
on a small class with every kind of row, answer and cell the output has to get right.
"""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest

from nnexam.files import unique_stems
from nnexam.gradebook import feedback_rows, feedback_texts, grades_csv, neutralize, number
from nnexam.grade import NO_SUBMISSION, VERDICTS, Policy, grade, parse_submissions
from nnexam.lms import GradeOptions, canvas, moodle
from nnexam.mistakes import applicable
from nnexam.solve import evaluate
from nnexam.table import read_table

from test_grade_support import keys, make_manifest, wide_csv

IDS = ["s001", "-17", "=HYPERLINK(1)", "a,b", 'q"x', "S001", "s 7", "+4917", "s009", "s010", "s011", "s012"]


def _class(policy: Policy):
    """Twelve students: exact, carried errors, known mistakes, blanks, unreadable cells, a decimal
    comma, a duplicate, an unknown id, a wrong variant, four without a submission; names and ids with
    commas, quotes and formula characters; questions at 2 to 4 decimals worth 0 to 2 points, then
    shown at 0 to 12 decimals; expected and carried values that show as -0."""
    m = make_manifest("mazur_2-2-2", students=len(IDS), ids=IDS)
    questions = tuple(dataclasses.replace(q, decimals=2 + i % 3, points=[1.0, 0.5, 2.0, 1.25, 0.0][i % 5])
                      for i, q in enumerate(m.questions))
    students = list(m.students)
    students[1] = dataclasses.replace(students[1], name="")
    students[2] = dataclasses.replace(students[2], name='=Evil, "Name"')
    students[3] = dataclasses.replace(students[3], name="Ann Lee", variant="-V4")
    m = dataclasses.replace(m, questions=questions, students=tuple(students), title="Exam 1: 100% %s", course="NN, 101")
    exact = keys(m)

    def shown(values):
        return {q.name: f"{values[q.name]:.{q.decimals}f}" for q in m.questions}

    def chain(student, **how):
        return {k: float(v[0]) for k, v in evaluate(m.graph, m.students[student].network.givens(), **how).items()}

    answers = [shown(exact[0]), shown(chain(1, fixed={"a1_1": np.array([0.61])})),
               {q.name: ("" if i % 3 else f"{-exact[2][q.name]:.{q.decimals}f}") for i, q in enumerate(m.questions)},
               shown(chain(3, mistake=applicable(m.graph)[0])), shown(exact[4]), shown(exact[5]), shown(exact[6]),
               shown(exact[7]), shown(exact[0]), shown(exact[2]), shown(exact[8])]
    for i, q in enumerate(m.questions):
        answers[5][q.name] = ["", "abc", "-0.0000", "0.123456", answers[5][q.name]][i % 5]
    answers[6][m.questions[0].name] = answers[6][m.questions[0].name].replace(".", ",")  # a row of too many cells
    ids = ["s001", "-17", "=HYPERLINK(1)", '"a,b"', 'q"x', "S001", "s 7", "+4917", "s001", "nobody", "=HYPERLINK(1)"]
    variants = [s.variant for s in m.students][:8] + [m.students[0].variant, "V01", "V99"]
    g = grade(m, parse_submissions(read_table(wide_csv(m, answers, ids=ids, variants=variants), "answers.csv"), m), policy)
    # Shown at other decimals; expected and carried values that show as -0, as near-zero gradients do.
    shown_at = tuple(dataclasses.replace(q, decimals=[2, 3, 4, 0, 12, 1, 4][i % 7]) for i, q in enumerate(m.questions))
    expected, own = g.expected.copy(), g.own.copy()
    expected.flat[::5] = np.resize([-0.0, -1e-9, 0.0, -0.4, -4e-6], expected.flat[::5].shape)
    own.flat[::3] = np.resize([-1e-9, -0.0, 2.5e-7], own.flat[::3].shape)
    return dataclasses.replace(g, manifest=dataclasses.replace(m, questions=shown_at), expected=expected, own=own)


# --- the plain construction ---------------------------------------------------------------------


def _csv(rows, bom: str = "") -> str:
    """CSV lines as a spreadsheet needs them: a cell holding a comma, semicolon, tab, quote, line
    break or NUL quoted (csv.writer would leave ';' and tab unquoted); CRLF."""
    def cell(value) -> str:
        s = str(value)
        return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',;\t"\r\n\x00') else s

    return bom + "".join(",".join(map(cell, row)) + "\r\n" for row in rows)


def _plain_grades_csv(g) -> str:
    m = g.manifest
    rows = [["student_id", "name", "variant", "status", "score", "max_score", "percent"]
            + [neutralize(q.label) for q in m.questions] + ["line", "notes"]]
    for e, r in enumerate(g.records()):
        variant = r.variant or (m.students[g.student[e]].variant if g.student[e] >= 0 else "")
        if r.score is None:
            numbers = ["", number(g.max_score), ""] + [""] * len(m.questions)
        else:
            numbers = [number(r.score), number(g.max_score), number(100 * r.score / g.max_score, 2)]
            numbers += [number(a.points) for a in r.answers]
        rows.append([neutralize(r.student_id), neutralize(r.name), neutralize(variant), r.status] + numbers
                    + [r.line, neutralize("; ".join(r.notes))])
    for s in g.missing:
        st = m.students[s]
        rows.append([neutralize(st.id), neutralize(st.name), neutralize(st.variant), NO_SUBMISSION, "",
                     number(g.max_score), ""] + [""] * len(m.questions) + ["", ""])
    return _csv(rows, bom="\ufeff")  # a file people open in Excel


def _at(value: float, decimals: int) -> str:
    """A number at fixed decimals, -0.000 shown as 0.000."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _plain_feedback(g, e: int) -> str:
    m, r = g.manifest, g.record(e)
    student = m.students[g.student[e]]
    width = max(len(q.label) for q in m.questions)
    given = max(12, max(len(t) for column in g.submissions.texts for t in column[:2000]))
    text = f"{m.title or 'Exam'}{f' ({m.course})' if m.course else ''}\n"
    text += f"Student: {f'{student.name} ({student.id})' if student.name else student.id}, variant {student.variant}\n"
    text += f"Score: {number(r.score)} / {number(g.max_score)} ({100 * r.score / g.max_score:.1f}%)\n"
    text += "".join(f"Note: {n}\n" for n in r.notes)
    text += f"\n  {'question':<{width}}  {'your answer':>{given}}  {'expected':>12}  {'points':>7}  verdict\n"
    lines = []
    for q, a in zip(m.questions, r.answers):
        expected = f"{a.expected:14.{q.decimals}f}"
        if expected.strip("- ") == f"{0:.{q.decimals}f}":
            expected = expected.replace("-", " ")  # no -0.000: the sign's place stays
        points = number(a.points) + "/" + number(q.points)
        line = f"  {q.label:<{width}}  {(a.text or '(blank)'):>{given}}{expected}  {points:>7}  {a.verdict}"
        if a.verdict == "follow-through":
            line += f": follows from your own earlier answers (they give {_at(a.own, q.decimals)})"
        elif a.verdict == "known mistake":
            line += f": {a.mistake.title}. {a.mistake.explanation}"
        elif a.verdict == "wrong":
            if a.mistake is not None:  # a single substitution in the step's formula
                assert a.mistake.likely
                line += f"; likely cause: {a.mistake.title}"
            if a.own == a.own and _at(a.own, q.decimals) != _at(a.expected, q.decimals):
                line += f" (from your own earlier answers this step gives {_at(a.own, q.decimals)})"
        elif a.verdict == "unreadable":
            line += ": not a number, so not marked"
        lines.append(line)
    text += "\n".join(lines)
    share = number(100 * g.policy.follow_through)
    return text + ("\n\nExpected values are exact, shown at the stated decimals; rounding or truncating each step at "
                   "those decimals and carrying on is accepted.\nAn answer computed correctly from your own earlier "
                   f"(wrong) answers earns {share}% of its points (follow-through), unless an earlier value it uses "
                   "is blank or impossible.\n")


def _plain_lms(g) -> tuple[list[list[str]], list[list[str]]]:
    scores, summaries = {}, {}
    for e in np.flatnonzero(g.graded).tolist():
        sid = g.manifest.students[g.student[e]].id
        scores[sid] = float(g.score[e])
        said = [VERDICTS[v] for v in g.verdict[e].tolist()]
        counted = [(said.count(v), v) for v in VERDICTS if said.count(v)]
        summaries[sid] = f"{number(scores[sid])}/{number(g.max_score)} points: " + ", ".join(
            f"{n} {what}{'s' if n > 1 and what == 'known mistake' else ''}" for n, what in counted)
    scored = [s for s in g.manifest.students if s.id in scores]
    canvas_rows = [[neutralize(s.name), "", neutralize(s.id), "", "", number(scores[s.id])] for s in scored]
    moodle_rows = [[neutralize(s.id), number(scores[s.id]), summaries[s.id]] for s in scored]
    return canvas_rows, moodle_rows


# --- the tests ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[1.0, 0.5], ids=["follow-through 100%", "follow-through 50%"])
def graded(request):
    g = _class(Policy(follow_through=request.param))
    verdicts = set(g.verdict[g.graded].ravel().tolist())
    assert verdicts == {0, 1, 2, 3, 4, 5}, verdicts  # every verdict occurs
    assert set(g.status) == {"graded", "unreadable cells", "duplicate", "unknown student", "variant mismatch"}
    assert len(g.missing) == 4
    return g


def test_feedback_texts_are_the_plain_construction(graded):
    stems = unique_stems([s.id for s in graded.manifest.students])
    expected = [(stems[graded.student[e]], _plain_feedback(graded, e)) for e in feedback_rows(graded).tolist()]
    assert list(feedback_texts(graded)) == expected


def test_feedback_texts_of_any_rows_are_those_of_all(graded):
    # The CLI's workers take slices of the rows; any subset in order gives the same texts.
    rows, stems = feedback_rows(graded), unique_stems([s.id for s in graded.manifest.students])
    every = list(feedback_texts(graded, rows, stems))
    for chosen in (slice(0, 1), slice(2, 5), slice(3, None), slice(None, None, 2), slice(1, None, 3), slice(4, 4)):
        assert list(feedback_texts(graded, rows[chosen], stems)) == every[chosen]


def test_grades_csv_is_the_plain_construction(graded):
    assert grades_csv(graded) == _plain_grades_csv(graded)


def test_lms_files_are_the_plain_construction(graded):
    canvas_rows, moodle_rows = _plain_lms(graded)
    for title in ("Exam 1", '=cmd, "x"'):
        head = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", neutralize(title)],
                ["    Points Possible", "", "", "", "", number(graded.max_score)]]
        assert canvas.grade_file(graded, title, GradeOptions()).data.decode() == _csv(head + canvas_rows)
        moodle_head = [["ID number", neutralize(f"{title} (Real)"), neutralize(f"{title} (Feedback)")]]
        assert moodle.grade_file(graded, title, GradeOptions()).data.decode() == _csv(moodle_head + moodle_rows)


def test_a_class_with_nothing_graded_has_no_feedback_and_only_headers():
    m = make_manifest(students=2)
    answers = [{m.questions[0].name: "0.5"}]  # a file with no answer at all is refused (test_inputs)
    g = grade(m, parse_submissions(read_table(wide_csv(m, answers, ids=["nobody"], variants=["V01"]), "answers.csv"), m), Policy())
    assert list(feedback_texts(g)) == []
    assert grades_csv(g) == _plain_grades_csv(g)
    assert canvas.grade_file(g, "E", GradeOptions()).data.count(b"\r\n") == 2
    assert moodle.grade_file(g, "E", GradeOptions()).data == b"ID number,E (Real),E (Feedback)\r\n"


def test_long_layout_without_variants_takes_them_from_the_manifest():
    m = make_manifest(students=3)
    exact = keys(m)
    lines = ["student_id,question,answer"] + [f"{s.id},{q.label},{exact[i][q.name]:.4f}" for i, s in enumerate(m.students[:2])
                                              for q in m.questions] + ["nobody,out_h1,0.5"]
    g = grade(m, parse_submissions(read_table(("\n".join(lines) + "\n").encode(), "long.csv"), m), Policy())
    assert g.submissions.variants == ("", "", "")
    assert grades_csv(g) == _plain_grades_csv(g)
    assert [text for _, text in feedback_texts(g)] == [_plain_feedback(g, e) for e in feedback_rows(g).tolist()]
