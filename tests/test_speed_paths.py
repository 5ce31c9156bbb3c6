"""The fast paths of the grading outputs give what the plain definitions give: csvout.column against
csvout.cell one cell at a time, staging's folder list against every prefix before a '/', and the
grade files' shared Marks never handed to another grading or other options."""

from __future__ import annotations

from nnexam import csvout, lms
from nnexam.staging import _folders

from test_grade import as_text, run
from test_grade_support import keys, make_manifest


def test_column_with_repeated_texts_is_each_cell_as_cell_writes_it():
    texts = ["18/24 points: 20 correct, 2 wrong", "=1+1", "a;=2", "18/24 points: 20 correct, 2 wrong", "-17",
             " +x", "\uff1dSUM(A1)", 'say "hi"', "=1+1", "plain", "", "a,b\n=c"] * 50
    assert list(csvout.column(texts)) == [csvout.cell(t) for t in texts]
    plain = ["0.5", "s001", "0.25", "x y"]
    assert csvout.column(plain) is plain  # nothing to change: the column itself
    for start in ["=", "+", "@", "\t", "\u00a0=", "\u3000+", "\ufe62"]:  # one formula start anywhere in a column
        column = ["a", "b", start + "x", "c"]
        assert list(csvout.column(column)) == [csvout.cell(t) for t in column]
        assert list(csvout.column(column))[2].startswith("'") or list(csvout.column(column))[2].startswith('"')


def test_folders_are_every_prefix_before_a_slash():
    rels = ["grades.csv", "feedback/s1.txt", "feedback/s2.txt", "a/b/c/d.txt", "a/b/e.txt", "x//y", "/top", "a/"]
    expected = {rel[:i] for rel in rels for i, c in enumerate(rel) if c == "/"}
    assert _folders(rels) == expected
    assert _folders(reversed(rels)) == expected


def test_grade_files_never_reuse_the_marks_of_other_options_or_another_grading():
    m = make_manifest("mazur_2-2-2", students=3, decimals=3)
    exact = keys(m)
    all_right = run(m, [as_text(m, exact[i], 3) for i in range(3)])
    one_blank = run(m, [as_text(m, exact[0], 3), {q.name: "" for q in m.questions}, as_text(m, exact[2], 3)])
    points = lms.marks(all_right, lms.GradeOptions())
    max_points = csvout.neutral(points.out_of)
    assert points.scores == [max_points] * 3
    assert lms.marks(all_right, lms.GradeOptions(percent=True)).scores == ["100"] * 3
    assert lms.marks(one_blank, lms.GradeOptions()).scores == [max_points, "0", max_points]
    assert lms.marks(all_right, lms.GradeOptions()).scores == [max_points] * 3
