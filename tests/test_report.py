"""report.pdf: unreadable, blank and wrong counted apart; a chart that reads in greyscale and for colour-blind readers; names."""

from __future__ import annotations

import csv
import io
import unicodedata

import numpy as np
import pypdf
import pytest

from nnexam import fonts
from nnexam.bank import load_bank
from nnexam.generate import answer_key, generate, submission_template
from nnexam.grade import grade, parse_submissions
from nnexam.report import CATEGORIES, COLORS, PATTERNS, category_counts, render_report
from nnexam.table import read_table


@pytest.fixture(scope="module")
def graded():
    """Four students; s4 (王小明) hands nothing in; s1 leaves q1 blank, writes 'abc' in q2, a wrong number in q3."""
    m = generate(load_bank("classic"), "report", [("s1", "Ann"), ("s2", "محمد علي"), ("s3", "Иван"), ("s4", "王小明")])
    key = list(csv.reader(io.StringIO(answer_key(m))))
    header = next(csv.reader(io.StringIO(submission_template(m))))
    assert key[0] == header
    rows = [header] + [r[:] for r in key[1:4]]
    first = 2  # student_id, variant, then one column per question
    rows[1][first] = ""
    rows[1][first + 1] = "abc"
    rows[1][first + 2] = "123.456"
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    subs = parse_submissions(read_table(buf.getvalue().encode(), "answers.csv"), m)
    return grade(m, subs)


def test_unreadable_blank_and_wrong_are_separate_categories(graded):
    counts = category_counts(graded)
    col = {c: i for i, c in enumerate(CATEGORIES)}
    assert counts.shape == (len(graded.manifest.questions), 6)
    assert counts[0].tolist() == [2, 0, 0, 0, 0, 1]  # one blank
    assert counts[1].tolist() == [2, 0, 0, 0, 1, 0]  # one unreadable, not blank
    assert counts[2, col["correct"]] == 2 and counts[2, col["other wrong"]] + counts[2, col["known mistake"]] == 1
    assert (counts[3:, col["correct"]] == 3).all()
    assert (counts.sum(axis=1) == 3).all()


def test_the_report_table_has_a_column_per_category(graded):
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_report(graded))).pages)
    for name in CATEGORIES:
        assert name in text  # the legend
    assert "unread-" in text and "able" in text  # the table's header
    label = graded.manifest.questions[1].label
    assert f"{label} 1 67% 0% 0% 0% 33% 0%" in " ".join(text.split())  # 1 of 3 unreadable, none blank


def _luma(c) -> float:
    return 0.299 * c.red + 0.587 * c.green + 0.114 * c.blue


def test_every_pair_of_categories_differs_in_greyscale_by_pattern_or_lightness():
    for i in range(len(CATEGORIES)):
        for j in range(i + 1, len(CATEGORIES)):
            same_pattern = PATTERNS[i] == PATTERNS[j]
            assert not same_pattern or abs(_luma(COLORS[i]) - _luma(COLORS[j])) > 0.2, (CATEGORIES[i], CATEGORIES[j])
    # Every kind of wrong answer carries a pattern; "correct" and "other wrong" never look alike.
    for name in ("known mistake", "other wrong", "unreadable"):
        assert PATTERNS[CATEGORIES.index(name)]
    assert PATTERNS[CATEGORIES.index("correct")] != PATTERNS[CATEGORIES.index("other wrong")]


def _simulate(c, matrix) -> np.ndarray:
    def lin(v):
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return np.array(matrix) @ np.array([lin(c.red), lin(c.green), lin(c.blue)])


# Machado, Oliveira and Fernandes (2009), severity 1.0, in linear RGB.
PROTAN = [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
DEUTAN = [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]


def test_the_solid_colours_stay_apart_for_red_green_colour_blind_readers():
    solid = [i for i, p in enumerate(PATTERNS) if not p]  # categories told apart by colour alone
    for matrix in (PROTAN, DEUTAN):
        seen = [_simulate(COLORS[i], matrix) for i in solid]
        for a in range(len(seen)):
            for b in range(a + 1, len(seen)):
                assert np.abs(seen[a] - seen[b]).max() > 0.15, (CATEGORIES[solid[a]], CATEGORIES[solid[b]])


def test_names_in_other_scripts_print_in_the_report(graded):
    reader = pypdf.PdfReader(io.BytesIO(render_report(graded)))
    text = reader.pages[0].extract_text()
    assert "王小明 (s4)" in text
    used = set()
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            assert "/FontFile2" in font["/FontDescriptor"].get_object()
            used.add(str(font["/BaseFont"]).split("+")[1])
    assert "DroidSansFallback" in used


def test_a_title_in_arabic_prints_joined_in_the_report(graded):
    from dataclasses import replace

    g = replace(graded, manifest=replace(graded.manifest, title="اختبار"))
    reader = pypdf.PdfReader(io.BytesIO(render_report(g)))
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())
    assert "اختبار" in text
    assert fonts.missing("اختبار", "DejaVuSans-Bold") == ""  # DejaVu Sans has Arabic; Noto would take what it lacks


def test_feedback_files_carry_names_as_written_in_utf8(graded, runner, tmp_path):
    from nnexam.gradebook import feedback_texts

    texts = dict(feedback_texts(graded))
    assert "Student: محمد علي (s2)" in texts["s2"]  # logical order, unshaped: text viewers do the bidi
    assert "Student: Иван (s3)" in texts["s3"]
    # and on disk: UTF-8 bytes, no BOM, read back unchanged
    from nnexam.cli import cli

    exam = tmp_path / "exam"
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,Name\nq1,김민준\n", encoding="utf-8")
    assert runner.invoke(cli, ["generate", "--seed", "f", "--roster", str(roster), "--out", str(exam), "--no-pdf"]).exit_code == 0
    key = (exam / "answer_key.csv").read_text(encoding="utf-8")
    (tmp_path / "answers.csv").write_text(key, encoding="utf-8")
    result = runner.invoke(cli, ["grade", str(exam), str(tmp_path / "answers.csv"), "--no-report", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    data = next((exam / "grades" / "feedback").glob("*.txt")).read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and "Student: 김민준 (q1)".encode() in data


def _table_text(result) -> str:
    return " ".join("\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(render_report(result))).pages).split())


def _class_with(n: int, cells: dict) -> object:
    """n students, all answers right except `cells`: {(row, question index): text}."""
    m = generate(load_bank("classic"), "pct", [(f"s{i:03d}", "") for i in range(1, n + 1)])
    rows = list(csv.reader(io.StringIO(answer_key(m))))
    for (r, q), v in cells.items():
        rows[1 + r][2 + q] = v
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return grade(m, parse_submissions(read_table(buf.getvalue().encode(), "answers.csv"), m))


def test_report_shares_round_half_up_and_never_hide_a_single_answer():
    # Found reading a graded class of 8: 1 blank in 8 printed "12%" beside "88%" (Python's
    # round-half-even), and in a class of 201 one unreadable answer printed "0%" and its question
    # "100%" correct: the one case to look at was hidden. Expected by hand: 1/8 = 12.5% -> 13%,
    # 7/8 -> 88%; 1/201 = 0.50% -> "<1%", 200/201 = 99.50% -> ">99%".
    small = _class_with(8, {(0, 0): ""})
    label = small.manifest.questions[0].label
    assert f"{label} 1 88% 0% 0% 0% 0% 13%" in _table_text(small)
    big = _class_with(201, {(0, 1): "abc"})
    label = big.manifest.questions[1].label
    assert f"{label} 1 >99% 0% 0% 0% <1% 0%" in _table_text(big)
