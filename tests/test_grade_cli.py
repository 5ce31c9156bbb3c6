"""`nnexam grade` end to end, on exams made by the real generator: files, statuses, exit codes, LMS files."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from nnexam.cli import cli


@pytest.fixture(scope="module")
def exam(tmp_path_factory, read_exam):
    out = tmp_path_factory.mktemp("exam") / "classic"
    r = CliRunner().invoke(cli, ["generate", "classic", "--seed", "2026", "--students", "6", "--no-pdf", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out, read_exam(out)


def _submission(manifest, rows=None, delimiter=","):
    qs = manifest["questions"]
    lines = [["student_id", "variant"] + [q["label"] for q in qs]]
    for s in manifest["students"][: rows or len(manifest["students"])]:
        lines.append([s["id"], s["variant"]] + [f"{s['answers'][q['name']]:.4f}" for q in qs])
    return lines


def _write(path, lines, delimiter=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(lines)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def test_clean_class_exit_0_and_every_output(exam, tmp_path):
    exam_dir, manifest = exam
    sub = _write(tmp_path / "answers.csv", _submission(manifest))
    out = tmp_path / "grades"
    r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == [".nnexam-files", "canvas.csv", "feedback", "grades.csv", "moodle.csv", "report.pdf"]
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig"))))
    n_q = len(manifest["questions"])
    assert [r["status"] for r in rows] == ["graded"] * 6
    assert all(r["score"] == str(n_q) and r["percent"] == "100" for r in rows)
    assert list(rows[0])[7:7 + n_q] == [q["label"] for q in manifest["questions"]]
    feedback = (out / "feedback" / "s001.txt").read_text()
    assert "Score: 24 / 24" in feedback and "out_h1" in feedback and "correct" in feedback
    canvas = (out / "canvas.csv").read_text().splitlines()
    assert canvas[0].startswith("Student,ID,SIS User ID,SIS Login ID,Section,")
    assert canvas[1] == f"    Points Possible,,,,,{n_q}"
    assert (out / "moodle.csv").read_text().splitlines()[1].startswith(f"s001,{n_q},{n_q}/{n_q} points: {n_q} correct")
    text = "".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert "Score histogram" in text and "Most common mistakes" in text and "out_h1" in text
    # Same input, same report bytes (reportlab invariant).
    r2 = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out), "--force"])
    assert r2.exit_code == 0
    assert (out / "report.pdf").read_bytes() == (tmp_path / "grades" / "report.pdf").read_bytes()


def test_rows_needing_attention_exit_1_with_one_line_per_kind(exam, tmp_path):
    exam_dir, manifest = exam
    lines = _submission(manifest)
    lines[1][2] = "=HYPERLINK(\"x\")"   # unreadable, and a formula
    lines[2][1] = "NOPE"                 # variant mismatch
    lines.append(["=cmd|' /C calc'!A0", "x"] + ["0.1"] * len(manifest["questions"]))  # unknown student
    lines.append(list(lines[3]))        # duplicate
    sub = _write(tmp_path / "answers.csv", lines, ";")
    out = tmp_path / "g"
    r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out)])
    assert r.exit_code == 1
    err = [line for line in r.stderr.splitlines() if "attention" in line]
    assert len(err) == 4
    assert any("unknown student" in e for e in err) and any("line(s) 3" in e for e in err)
    raw = (out / "grades.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    statuses = [row[3] for row in rows[1:]]
    assert statuses == ["unreadable cells", "variant mismatch", "duplicate", "graded", "graded", "graded",
                        "unknown student", "graded"]
    unknown = rows[7]
    assert unknown[0].startswith("'=cmd")  # neutralized text; numbers stay numbers
    assert rows[1][4] == str(len(manifest["questions"]) - 1)
    assert "=HYPERLINK" in rows[1][-1] and rows[1][-1].startswith("line")


def test_refuses_to_overwrite_and_reports_bad_input_with_exit_2(exam, tmp_path):
    exam_dir, manifest = exam
    sub = _write(tmp_path / "answers.csv", _submission(manifest))
    out = tmp_path / "g"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    runner = CliRunner()
    r = runner.invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out)])
    assert r.exit_code == 2 and "--force" in r.stderr and (out / "keep.txt").exists()
    for bad, message in [(b"", "empty"), (b"who,what\n1,2\n", "no student id column")]:
        (tmp_path / "bad.csv").write_bytes(bad)
        r = runner.invoke(cli, ["grade", str(exam_dir), str(tmp_path / "bad.csv"), "--out", str(tmp_path / "o2")])
        assert r.exit_code == 2 and message in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.output
        assert not (tmp_path / "o2").exists()
    r = runner.invoke(cli, ["grade", str(tmp_path), str(sub)])
    assert r.exit_code == 2 and "manifest" in r.stderr


def test_lms_export_filled_in_place(exam, tmp_path):
    exam_dir, manifest = exam
    sub = _write(tmp_path / "answers.csv", _submission(manifest, rows=3))
    title = "Backprop quiz"
    export = ('\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (101),"Backprop quiz (202)"\r\n'
              '    Points Possible,,,,,10,24\r\n'
              '"Doe, Jane",1,s001,jd,A,9.5,\r\n'
              '"Roe, Ric",2,s002,rr,A,"7",3\r\n'
              'Test Student,3,,ts,A,,\r\n'
              '"Poe, E",4,s003,ep,A,8,\r\n')
    path = tmp_path / "export.csv"
    path.write_bytes(export.encode("utf-8"))
    out = tmp_path / "g"
    r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out), "--lms-export", str(path), "--title", title])
    assert r.exit_code == 0, r.output + r.stderr
    filled = (out / "export.csv").read_bytes().decode("utf-8")
    n = len(manifest["questions"])
    assert filled == export.replace("9.5,\r\n", f"9.5,{n}\r\n").replace('"7",3', f'"7",{n}').replace("8,\r\n", f"8,{n}\r\n")
    assert not (out / "canvas.csv").exists()
    # A new column is appended when the export has none for this exam.
    plain = "Username;Score A\r\ns002;1\r\ns003;2\r\n"
    path.write_bytes(plain.encode())
    r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out), "--force", "--lms-export", str(path),
                                 "--title", title])
    assert r.exit_code == 1  # s001 is graded but not in this export
    assert (out / "export.csv").read_bytes().decode() == f"Username;Score A;{title}\r\ns002;1;{n}\r\ns003;2;{n}\r\n"
    assert "s001" in r.stderr


def test_feedback_written_in_parallel_is_the_same_as_in_one_process(tmp_path, read_exam):
    """A class big enough for worker processes: the same files, byte for byte, as with --jobs 1."""
    exam_dir = tmp_path / "big"
    r = CliRunner().invoke(cli, ["generate", "--seed", "par", "--students", "4100", "--no-pdf", "--out", str(exam_dir)])
    assert r.exit_code == 0, r.output
    manifest = read_exam(exam_dir)
    lines = _submission(manifest)
    for row in lines[1::7]:
        row[5] = str(float(row[5]) + 0.25)  # some wrong answers, so texts differ between students
    sub = _write(tmp_path / "answers.csv", lines)
    trees = []
    for jobs in ("1", "2"):
        out = tmp_path / f"grades-{jobs}"
        r = CliRunner().invoke(cli, ["grade", str(exam_dir), str(sub), "--out", str(out), "--no-report", "--jobs", jobs])
        assert r.exit_code == 0, r.output
        trees.append({p.name: p.read_bytes() for p in (out / "feedback").iterdir()})
        assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != ".nnexam-files"]  # no temporary folder left
    assert len(trees[0]) == 4100 and trees[0] == trees[1]
    assert b"s0008" in trees[1]["s0008.txt"] and b"0/1" in trees[1]["s0008.txt"]
