"""What nnexam reads: usage errors as one line; inputs under a size limit; ids that differ only in
case or Unicode form refused together; length limits; grading input from several files or a
folder; columns that name no question; files with no answers."""

from __future__ import annotations

import csv
import shutil

import pytest

from nnexam.cli import cli


# --- one error style --------------------------------------------------------------------------


@pytest.mark.parametrize("args, where", [
    (["generate", "--students"], "nnexam generate"),
    (["generate", "--seed", "x", "--students", "0"], "nnexam generate"),
    (["generate", "--seed", "x"], "nnexam generate"),  # raised by the command itself
    (["grade"], "nnexam grade"),
    (["--frob"], "nnexam"),
    (["frob"], "nnexam"),
    (["solve", "--format", "yaml", "x.toml"], "nnexam solve"),
])
def test_usage_errors_are_one_line_with_a_pointer_to_help(runner, args, where):
    r = runner.invoke(cli, args, prog_name="nnexam")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr  # today: Usage:, Try ..., a blank line and Error: ...
    assert lines[0].startswith("nnexam: error: ") and lines[0].endswith(f"(see '{where} --help')")
    assert r.stdout == ""


# --- grading input: several files, folders, joined files --------------------------------------


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """A generated exam of 4 students and each student's right answers (from answer_key.csv)."""
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("exam") / "exam"
    r = CliRunner().invoke(cli, ["generate", "--seed", "inputs", "--students", "4", "--no-pdf", "--out", str(folder)])
    assert r.exit_code == 0, r.output
    with open(folder / "answer_key.csv", newline="", encoding="utf-8-sig") as f:
        key = list(csv.DictReader(f))
    return folder, key


def _student_file(path, row: dict, labels=None) -> None:
    """One student's wide file: the right answers at 4 decimals (as a careful student writes them)."""
    labels = labels or list(row)
    cells = [row[k] if k in ("student_id", "variant") else f"{float(row[k]):.4f}" for k in row]
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([labels, cells])


def _grades(out):
    with open(out / "grades.csv", newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_a_folder_of_per_student_files_is_one_class(runner, exam, tmp_path):
    folder, key = exam
    subs = tmp_path / "subs"
    subs.mkdir()
    for row in key:
        _student_file(subs / f"{row['student_id']}.csv", row)
    r = runner.invoke(cli, ["grade", str(folder), str(subs), "--out", str(tmp_path / "g"), "--no-report"])
    assert r.exit_code == 0, r.output  # today: "is a folder", exit 2
    rows = _grades(tmp_path / "g")
    assert [(g["student_id"], g["percent"]) for g in rows] == [(k["student_id"], "100") for k in key]
    assert rows[2]["line"] == f"2 of {subs / 's003.csv'}"  # each row keeps its file and line


def test_several_files_and_a_later_resubmission(runner, exam, tmp_path):
    folder, key = exam
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    _student_file(first, key[0])
    wrong = dict(key[0], **{"out_h1": "0.1"})
    _student_file(second, wrong)
    r = runner.invoke(cli, ["grade", str(folder), str(first), str(second), "--out", str(tmp_path / "g"), "--no-report"])
    assert r.exit_code == 1  # a duplicate needs attention
    assert f"line(s) 2 of {first}" in r.stderr
    rows = _grades(tmp_path / "g")
    assert rows[0]["status"] == "duplicate" and f"submitted again on line 2 of {second}" in rows[0]["notes"]
    assert rows[1]["status"] == "graded" and rows[1]["out_h1"] == "0"


def test_files_joined_with_their_headers_repeated(runner, exam, tmp_path):
    folder, key = exam
    parts = []
    for i, row in enumerate(key):
        _student_file(tmp_path / "one.csv", row)
        text = (tmp_path / "one.csv").read_text(encoding="utf-8")
        parts.append(("\ufeff" if i == 2 else "") + text)  # one saved by Excel with a BOM
    joined = tmp_path / "joined.csv"
    joined.write_text("".join(parts), encoding="utf-8")
    r = runner.invoke(cli, ["grade", str(folder), str(joined), "--out", str(tmp_path / "g"), "--no-report"])
    assert r.exit_code == 0, r.output  # today: every repeated header is an "unknown student", exit 1
    rows = _grades(tmp_path / "g")
    assert [(g["student_id"], g["percent"], g["line"]) for g in rows] == [(k["student_id"], "100", str(2 * i + 2))
                                                                         for i, k in enumerate(key)]


def test_a_joined_file_whose_parts_order_columns_differently(runner, exam, tmp_path):
    folder, key = exam
    labels = list(key[0])
    swapped = labels[:2] + labels[3:1:-1] + labels[4:]  # the first two questions swapped
    _student_file(tmp_path / "a.csv", key[0])
    with open(tmp_path / "b.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([swapped, [key[1][k] if k in ("student_id", "variant") else f"{float(key[1][k]):.4f}"
                                           for k in swapped]])
    joined = tmp_path / "joined.csv"
    joined.write_text((tmp_path / "a.csv").read_text() + (tmp_path / "b.csv").read_text(), encoding="utf-8")
    r = runner.invoke(cli, ["grade", str(folder), str(joined), "--out", str(tmp_path / "g"), "--no-report"])
    assert r.exit_code == 0, r.output
    assert [g["percent"] for g in _grades(tmp_path / "g")][:2] == ["100", "100"]  # each part under its own header


def test_a_column_that_names_no_question_is_one_line_with_the_nearest_label(runner, exam, tmp_path):
    folder, key = exam
    labels = list(key[0])
    misspelled = [("dE/dw9" if k == "dE/dw5" else k) for k in labels]
    _student_file(tmp_path / "a.csv", key[0], misspelled)
    r = runner.invoke(cli, ["grade", str(folder), str(tmp_path / "a.csv"), "--out", str(tmp_path / "g")])
    assert r.exit_code == 1  # today: a warning, the column scored blank for the whole class, exit 0
    assert r.stderr.splitlines() == [f"nnexam: error: {tmp_path / 'a.csv'}: column 'dE/dw9' names no question of this "
                                     "exam; nearest question: dE/dw5; rename it to a question's label or remove it"]
    assert not (tmp_path / "g").exists()


def test_columns_beside_the_answers_are_not_questions(runner, exam, tmp_path):
    folder, key = exam
    row = dict(key[0])
    with open(tmp_path / "a.csv", "w", newline="", encoding="utf-8") as f:
        labels = ["Timestamp", "Email", "Full name"] + list(row) + [""]
        csv.writer(f).writerows([labels, ["2026-12-04", "a@b.c", "A B"] + [row[k] for k in row] + [""]])
    r = runner.invoke(cli, ["grade", str(folder), str(tmp_path / "a.csv"), "--out", str(tmp_path / "g"), "--no-report"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("what", ["template", "header only"])
def test_a_file_with_no_answers_is_exit_1(runner, exam, tmp_path, what):
    folder, _ = exam
    source = folder / "submission_template.csv"
    if what == "header only":
        source = tmp_path / "header.csv"
        source.write_text((folder / "submission_template.csv").read_text(encoding="utf-8-sig").splitlines()[0] + "\n")
    r = runner.invoke(cli, ["grade", str(folder), str(source), "--out", str(tmp_path / "g")])
    assert r.exit_code == 1  # today: exit 0 "graded 4 of 4 rows ... mean 0.0%" without a word
    assert r.stderr.splitlines() == [f"nnexam: error: no answers in {source}: "
                                     + ("every answer cell is blank (the unfilled submission_template.csv?)"
                                        if what == "template" else "only a header row")]


def test_a_folder_holding_nnexams_own_files_is_refused(runner, exam, tmp_path):
    folder, key = exam
    r = runner.invoke(cli, ["grade", str(folder), str(folder), "--out", str(tmp_path / "g")])
    assert r.exit_code == 2 and "is an exam folder" in r.stderr
    subs = tmp_path / "subs"
    subs.mkdir()
    _student_file(subs / "s001.csv", key[0])
    shutil.copy(folder / "answer_key.csv", subs)  # it would score everyone 100%
    r = runner.invoke(cli, ["grade", str(folder), str(subs), "--out", str(tmp_path / "g")])
    assert r.exit_code == 2 and "answer_key.csv: written by nnexam, not a submission" in r.stderr
