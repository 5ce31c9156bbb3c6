"""What nnexam reads: usage errors as one line; inputs under a size limit; ids that differ only in
case or Unicode form refused together; length limits; grading input from several files or a
folder; columns that name no question; files with no answers."""

from __future__ import annotations

import csv
import json
import os
import shutil
import threading
import unicodedata
from pathlib import Path

import pytest

from nnexam import files
from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.manifest import load_manifest


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


# --- size limits --------------------------------------------------------------------------------


def _one_line(r, exit_code: int = 2) -> str:
    assert r.exit_code == exit_code, r.output
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    return r.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_dev_zero_as_any_input_is_one_line(runner, exam, tmp_path):
    folder, _ = exam
    for args in (["solve", "/dev/zero"], ["generate", "/dev/zero", "--seed", "x", "--students", "2"],
                 ["generate", "--seed", "x", "--roster", "/dev/zero"], ["grade", str(folder), "/dev/zero"],
                 ["grade", "/dev/zero", str(folder / "answer_key.csv")], ["render", "/dev/zero"],
                 ["check", "/dev/zero", str(folder / "answer_key.csv")]):
        # today: read whole, MemoryError (the grade and render of a /dev/zero manifest were killed)
        assert "/dev/zero: " in _one_line(runner.invoke(cli, args)), args


def test_a_file_over_the_limit_is_refused_before_it_is_read(runner, tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(files.INPUT_LIMITS["spec"] + 1)  # sparse: nothing is written, nothing read
    err = _one_line(runner.invoke(cli, ["solve", str(big)]))
    assert err == f"nnexam: error: {big}: the spec file is larger than 16 MiB, the most nnexam reads as a spec file\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_an_endless_pipe_is_read_up_to_the_limit(tmp_path):
    fifo = tmp_path / "endless"
    os.mkfifo(fifo)
    stop = threading.Event()

    def writer():
        try:
            with open(fifo, "wb") as f:
                while not stop.is_set():
                    f.write(b"x" * 65536)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with pytest.raises(NnexamError, match="the submissions file is larger than 1 MiB"):
        files.read_input(fifo, "submissions", limit=files.MiB)
    stop.set()
    t.join(5)
    assert not t.is_alive()


@pytest.mark.parametrize("text, expected", [
    ("[" * 100_000 + "]" * 100_000, "arrays or objects nested too deeply"),  # today: RecursionError traceback
    ('{"format": "nnexam-manifest", "seed": ' + "9" * 5000 + "}", "a number of more than 4300 digits"),
])
def test_a_manifest_nested_too_deeply_or_with_a_huge_number_is_one_line(runner, tmp_path, text, expected):
    (tmp_path / "manifest.json").write_text(text)
    err = _one_line(runner.invoke(cli, ["render", str(tmp_path)]))
    assert f"{tmp_path / 'manifest.json'}: manifest is not valid JSON ({expected}" in err


def test_a_cell_over_the_limit_is_one_line(runner, exam, tmp_path):
    folder, _ = exam
    roster = tmp_path / "roster.csv"
    roster.write_text("ID,Name\n1,Ann\n2," + "x" * 200_000 + "\n")
    err = _one_line(runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf"]))  # today: _csv.Error
    assert "131,072 characters" in err
    subs = tmp_path / "subs.csv"
    subs.write_text("student_id,out_h1\ns001,0.5\ns002,\"" + "x" * 200_000 + "\n")
    err = _one_line(runner.invoke(cli, ["grade", str(folder), str(subs), "--out", str(tmp_path / "g")]))
    assert err == (f"nnexam: error: {subs}: line 3: a cell longer than 131,072 characters, the most nnexam reads in "
                   "one cell (a quote left open?)\n")


# --- ids: one rule everywhere -----------------------------------------------------------------


def _roster(tmp_path, rows) -> Path:
    path = tmp_path / "roster.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("ID", "Name"), *rows])
    return path


@pytest.mark.parametrize("first, second", [
    ("ABC", "abc"),  # today: generated; --lms-export then gave ABC the score of abc
    (unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")),
    ("ABC", "ＡＢＣ"),  # full-width
    ("fix", "\ufb01x"),  # the ligature fi (NFKC)
])
def test_ids_that_differ_only_in_case_or_unicode_form_are_refused_at_generate(runner, tmp_path, first, second):
    assert first != second
    roster = _roster(tmp_path, [(first, "A"), ("other", "B"), (second, "C")])
    err = _one_line(runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf",
                                        "--out", str(tmp_path / "e")]))
    assert f"student 3: student ids {first!r} (student 1) and {second!r} differ only in case or Unicode form" in err
    assert not (tmp_path / "e").exists()


def test_an_edited_manifest_with_such_ids_is_refused(runner, exam, tmp_path):
    folder, _ = exam
    shutil.copytree(folder, tmp_path / "e")
    doc = json.loads((tmp_path / "e" / "manifest.json").read_text(encoding="utf-8"))
    doc["students"][2]["id"] = doc["students"][0]["id"].upper()
    (tmp_path / "e" / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    err = _one_line(runner.invoke(cli, ["grade", str(tmp_path / "e"), str(folder / "answer_key.csv")]))
    assert "students[2]: student ids 's001' (" in err and "and 'S001' differ only in case" in err


def test_grading_matches_an_id_written_in_another_unicode_form(runner, tmp_path):
    nfc, nfd = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
    roster = _roster(tmp_path, [(nfc, "J"), ("ann", "A")])
    r = runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf", "--out", str(tmp_path / "e")])
    assert r.exit_code == 0, r.output
    key = (tmp_path / "e" / "answer_key.csv").read_text(encoding="utf-8-sig").replace(nfc, nfd)
    (tmp_path / "subs.csv").write_text(key, encoding="utf-8")
    r = runner.invoke(cli, ["grade", str(tmp_path / "e"), str(tmp_path / "subs.csv"), "--no-report"])
    assert r.exit_code == 0, r.output  # today: "unknown student", exit 1
    assert "graded 2 of 2 rows" in r.stdout and "mean 100.0%" in r.stdout


@pytest.mark.parametrize("column, value, expected", [
    (0, "s" * 201, "student id of 201 characters (at most 200)"),
    (1, "N" * 201, "name of 201 characters (at most 200)"),
])
def test_ids_and_names_have_a_length_limit(runner, tmp_path, column, value, expected):
    row = ["s1", "Ann"]
    row[column] = value
    roster = _roster(tmp_path, [("s0", "Bo"), row])
    err = _one_line(runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf",
                                        "--out", str(tmp_path / "e")]))
    assert f"student 2: {expected}" in err
    row[column] = value[:200]
    roster = _roster(tmp_path, [("s0", "Bo"), row])
    r = runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf", "--out", str(tmp_path / "f")])
    assert r.exit_code == 0, r.output


def test_an_edited_manifest_whose_givens_overflow_is_refused_naming_the_value(runner, exam, tmp_path):
    folder, _ = exam
    shutil.copytree(folder, tmp_path / "e")
    doc = json.loads((tmp_path / "e" / "manifest.json").read_text(encoding="utf-8"))
    w = doc["given_names"].index("t_1")
    doc["students"][1]["givens"][w] = 1e308  # finite, but the loss (t - o)^2 / 2 is not
    (tmp_path / "e" / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    err = _one_line(runner.invoke(cli, ["grade", str(tmp_path / "e"), str(folder / "answer_key.csv")]))
    # today: graded, "expected inf ... correct"
    assert f"students[1].givens[{w}] (t_1): 1e+308 makes the network's values overflow float64" in err


@pytest.mark.parametrize("ids, clash", [
    (["x", "X", "p\nq"], True),  # a line break inside an id must not hide a clash from the quick check
    (["a b", "A B"], True),
    (["s001", "s002", "S003"], False),
    (["20261234", "jdoe@uni.edu", "Zoë"], False),
])
def test_the_id_check_finds_every_clash(ids, clash):
    from nnexam.ids import check_ids

    if clash:
        with pytest.raises(NnexamError, match="differ only in case or Unicode form"):
            check_ids(ids, [""] * len(ids), str)
    else:
        check_ids(ids, [""] * len(ids), str)


@pytest.mark.parametrize("text", ["student_id,name\ns001,Ann\n", "student_id,net_h1,out_h1\ns001,,\n"])
def test_check_with_no_value_to_check_is_an_error_not_a_clean_key(runner, tmp_path, text):
    # today: "0 values checked against mazur_2-2-2: 0 right, 0 wrong", exit 0 (all right)
    answers = tmp_path / "key.csv"
    answers.write_text(text, encoding="utf-8")
    r = runner.invoke(cli, ["check", "mazur_2-2-2", str(answers)])
    assert f"nnexam: error: no answers in {answers}: " in _one_line(r, 1) and r.stdout == ""  # as grade says it


def test_a_roster_row_with_more_cells_than_its_header_is_refused_not_cut(runner, tmp_path):
    # today: "Smith, John" unquoted became the student "Smith", John dropped without a word, exit 0
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\ns1,Ann Lee\ns2,Smith, John\n", encoding="utf-8")
    r = runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf", "--out", str(tmp_path / "e")])
    assert f"{roster}: line 3: 3 cells but the header has 2" in _one_line(r, 2)
    assert not (tmp_path / "e").exists()
    roster.write_text("student_id,name\ns1,Ann Lee,,\ns2,\"Smith, John\"\n", encoding="utf-8")  # blank extra cells are fine
    r = runner.invoke(cli, ["generate", "--seed", "x", "--roster", str(roster), "--no-pdf", "--out", str(tmp_path / "e")])
    assert r.exit_code == 0, r.output
    assert [s.name for s in load_manifest(tmp_path / "e").students] == ["Ann Lee", "Smith, John"]
