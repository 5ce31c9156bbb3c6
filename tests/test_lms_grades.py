"""Grade files that import cleanly: canvas.csv, moodle.csv and brightspace.csv read back the way
Canvas's and Moodle's importers read them (their rules written again here, from
instructure/canvas-lms app/models/gradebook_importer.rb and moodle/moodle
grade/import/grade_import_form.php + grade/import/csv/classes/load_data.php), and --lms-export.
Scores are checked against the manifest's points, summed here.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from click.testing import CliRunner

from nnexam.cli import cli
from nnexam.manifest import load_manifest

from test_lms_rosters import CANVAS_EXPORT, CANVAS_NO_SIS, MOODLE_GRADES, MOODLE_PARTICIPANTS


def _exam(tmp_path: Path, roster_text: str) -> tuple[Path, dict[str, tuple[str, list[str]]], list[float]]:
    """An exam for the roster; (folder, id -> (variant, exact answers as answer_key.csv writes them), points)."""
    roster = tmp_path / "roster.csv"
    roster.write_bytes(roster_text.encode("utf-8"))
    out = tmp_path / "exam"
    r = CliRunner().invoke(cli, ["generate", "relu-3-2-1", "--seed", "s", "--roster", str(roster), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO((out / "answer_key.csv").read_text(encoding="utf-8-sig"))))
    points = [q.points for q in load_manifest(out).questions]
    return out, {row[0]: (row[1], row[2:]) for row in rows[1:]}, points


def _grade(tmp_path: Path, exam: Path, answers: dict, given: dict[str, int], *options: str):
    """Grade submissions where student id answers its first given[id] questions exactly and leaves the rest blank."""
    header = next(csv.reader(io.StringIO((exam / "submission_template.csv").read_text(encoding="utf-8-sig"))))
    lines = [header]
    for sid, k in given.items():
        variant, values = answers[sid]
        lines.append([sid, variant] + values[:k] + [""] * (len(values) - k))
    sub = tmp_path / "answers.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(lines)
    sub.write_text(buf.getvalue())
    out = tmp_path / "grades"
    r = CliRunner().invoke(cli, ["grade", str(exam), str(sub), "--out", str(out), "--title", "Exam 1", "--no-report",
                                 *options])
    return r, out


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


# --- Canvas's importer, read again --------------------------------------------------------------------


def canvas_import(text: str) -> tuple[dict[str, int], list[dict[str, str]], str]:
    """What GradebookImporter takes from the file: the student columns (update_column_count), the
    students (every row but the Points Possible one) and the new assignment's points (process_pp)."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]  # row_has_student_headers?
    columns = {"Student": 0, "ID": 1}
    count = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        columns["SIS Login ID"] = 2
        count += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        columns["SIS User ID"], columns["SIS Login ID"] = 2, 3
        count += 2
    assert "Section" in header[count - 1]  # header?: the last student column is Section
    columns["Section"] = count - 1
    assert len(header) == count + 1  # the exam, and nothing an import would try to change besides
    pp = [r for r in rows[1:] if "Points Possible" in r[0]]
    assert len(pp) == 1
    students = [dict(zip(header, r)) for r in rows[1:] if "Points Possible" not in r[0]]
    return columns, students, pp[0][count]


def test_canvas_csv_carries_the_canvas_roster_columns_and_points_possible(tmp_path):
    exam, answers, points = _exam(tmp_path, CANVAS_EXPORT)
    n = len(points)
    r, out = _grade(tmp_path, exam, answers, {"S-1001": n, "S-1002": 3})
    assert r.exit_code == 0, r.output
    columns, students, possible = canvas_import((out / "canvas.csv").read_text())
    assert list(columns) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert possible == _num(sum(points))
    assert students == [
        {"Student": "Lee, Ann", "ID": "1201", "SIS User ID": "S-1001", "SIS Login ID": "alee@uni.edu",
         "Section": "Section 01", "Exam 1": _num(sum(points))},
        {"Student": "O'Neil, Bo", "ID": "1202", "SIS User ID": "S-1002", "SIS Login ID": "boneil@uni.edu",
         "Section": "Section 01 and Section 02", "Exam 1": _num(sum(points[:3]))},
    ]  # S-1003 did not submit: left out, so Canvas keeps what it has
    assert "canvas.csv: in Canvas, Grades > Import" in r.output


def test_canvas_csv_of_a_course_without_sis_ids_has_canvas_ids_in_id(tmp_path):
    exam, answers, points = _exam(tmp_path, CANVAS_NO_SIS)
    r, out = _grade(tmp_path, exam, answers, {"1201": len(points)}, "--missing", "zero")
    assert r.exit_code == 0, r.output
    columns, students, possible = canvas_import((out / "canvas.csv").read_text())
    assert list(columns) == ["Student", "ID", "SIS Login ID", "Section"]  # as Canvas exported it
    assert [(s["ID"], s["SIS Login ID"], s["Section"], s["Exam 1"]) for s in students] == [
        ("1201", "alee", "Section 01", _num(sum(points))), ("1203", "ckim", "Section 02", "0")]


def test_canvas_csv_percent_and_a_name_that_starts_with_equals(tmp_path):
    exam, answers, points = _exam(tmp_path, CANVAS_EXPORT)
    r, out = _grade(tmp_path, exam, answers, {"S-1001": 5, "S-1003": 0}, "--percent")
    _, students, possible = canvas_import((out / "canvas.csv").read_text())
    assert possible == "100"
    want = f"{100 * sum(points[:5]) / sum(points):.2f}".rstrip("0").rstrip(".")
    assert [(s["Student"], s["Exam 1"]) for s in students] == [("Lee, Ann", want), ("'=Kim, Cy", "0")]


# --- Moodle's importer, read again --------------------------------------------------------------------

_MAP_TO = {"userid": "User ID", "username": "Username", "useridnumber": "ID number", "useremail": "Email address"}


def moodle_import(text: str, items: list[str]) -> tuple[str, dict[str, str], list[dict[str, str]]]:
    """The mapping Moodle's import form preselects (grade_import_mapping_form: mapfrom/mapto where a
    header equals a Map to label; "<item> (Real)" to an existing item, "<item> (Feedback)" to its
    feedback) and the rows load_data reads."""
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    mapto = next(key for key, label in _MAP_TO.items() if label in header)
    mapping = {}
    for h in header:
        for item in items:
            if h == f"{item} (Real)":
                mapping[h] = item
            elif h == f"{item} (Feedback)":
                mapping[h] = f"feedback for {item}"
    return mapto, mapping, [dict(zip(header, r)) for r in rows[1:]]


def test_moodle_csv_names_its_column_after_the_id_number_and_maps_by_itself(tmp_path):
    exam, answers, points = _exam(tmp_path, MOODLE_GRADES)
    r, out = _grade(tmp_path, exam, answers, {"M-01": len(points), "M-02": 2})
    assert r.exit_code == 0, r.output
    mapto, mapping, rows = moodle_import((out / "moodle.csv").read_text(), ["Exam 1"])
    assert mapto == "useridnumber" and mapping == {"Exam 1 (Real)": "Exam 1", "Exam 1 (Feedback)": "feedback for Exam 1"}
    total = _num(sum(points))
    assert [(row["ID number"], row["Exam 1 (Real)"]) for row in rows] == [("M-01", total), ("M-02", _num(sum(points[:2])))]
    assert rows[0]["Exam 1 (Feedback)"] == f"{total}/{total} points: {len(points)} correct"
    assert rows[1]["Exam 1 (Feedback)"] == f"{_num(sum(points[:2]))}/{total} points: 2 correct, {len(points) - 2} blank"
    assert f"Maximum grade {total}" in r.output and "Grades > Import > CSV file" in r.output


def test_moodle_csv_by_username_and_as_percentages(tmp_path):
    exam, answers, points = _exam(tmp_path, MOODLE_PARTICIPANTS)
    r, out = _grade(tmp_path, exam, answers, {"alee": 4}, "--percent", "--missing", "zero")
    mapto, _, rows = moodle_import((out / "moodle.csv").read_text(), ["Exam 1"])
    want = f"{100 * sum(points[:4]) / sum(points):.2f}".rstrip("0").rstrip(".")
    assert mapto == "username" and [(row["Username"], row["Exam 1"]) for row in rows] == [("alee", want), ("boneil", "0")]
    assert rows[1]["Exam 1 (Feedback)"] == "no submission"
    assert "New grade item (maximum grade 100" in r.output


def test_moodle_csv_of_an_email_roster_is_headed_email_address(tmp_path):
    exam, answers, points = _exam(tmp_path, MOODLE_GRADES.replace("M-02", ""))  # ids fall back to emails
    r, out = _grade(tmp_path, exam, answers, {"alee@uni.edu": 1, "boneil@uni.edu": 0})
    mapto, _, rows = moodle_import((out / "moodle.csv").read_text(), ["Exam 1"])
    # not every student has an ID number, so every row is matched by the column they all have
    assert mapto == "useremail" and [(row["Email address"], row["Exam 1 (Real)"]) for row in rows] == [
        ("alee@uni.edu", _num(points[0])), ("boneil@uni.edu", "0")]


def test_brightspace_roster_gets_brightspace_csv(tmp_path):
    text = ("OrgDefinedId,Username,Last Name,First Name,Email,End-of-Line Indicator\n"
            "#20067930,#alee,Lee,Ann,alee@uni.edu,#\n")
    exam, answers, points = _exam(tmp_path, text)
    r, out = _grade(tmp_path, exam, answers, {"20067930": len(points)})
    rows = list(csv.reader(io.StringIO((out / "brightspace.csv").read_text())))
    assert rows == [["OrgDefinedId", "Username", "Exam 1 Points Grade", "End-of-Line Indicator"],
                    ["#20067930", "#alee", _num(sum(points)), "#"]]


# --- the filled LMS export -------------------------------------------------------------------------------


def test_ids_that_differ_only_in_case_never_reach_an_lms_file(tmp_path):
    # issue 13: `ABC` 24/24 once got the 0 of `abc` in the filled export. Ids one case apart are one
    # student to LMSs and file systems, so the roster holding both is refused, in one line.
    roster = tmp_path / "roster.csv"
    roster.write_text("ID,Name\nABC,Upper\nabc,Lower\n")
    r = CliRunner().invoke(cli, ["generate", "--seed", "s", "--roster", str(roster), "--out", str(tmp_path / "exam"),
                                 "--no-pdf"])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "differ only in case" in r.stderr
    assert not (tmp_path / "exam").exists()


def test_lms_export_case_folded_match_only_when_unambiguous(tmp_path):
    exam, answers, points = _exam(tmp_path, "ID,Name\nABC,Upper\nxyz,Other\n")
    export = tmp_path / "export.csv"
    export.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Exam 1\nUpper,1,abc,u,S,\nOther,2,XYZ,o,S,\n")
    r, out = _grade(tmp_path, exam, answers, {"ABC": len(points), "xyz": 1}, "--lms-export", str(export))
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO((out / "export.csv").read_text())))
    assert [row[5] for row in rows[1:]] == [_num(sum(points)), _num(points[0])]


def test_lms_export_column_with_another_maximum_is_filled_with_a_warning(tmp_path):
    exam, answers, points = _exam(tmp_path, "ID,Name\nA1,Ann\n")
    export = tmp_path / "export.csv"
    # instructure/canvas-lms lib/gradebook_exporter.rb: the assignment "Exam 1 (4412)" worth 24 points
    export.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Exam 1 (4412)\n    Points Possible,,,,,24.00\n"
                      "Ann,1,A1,ann,S,\n")
    assert sum(points) != 24
    r, out = _grade(tmp_path, exam, answers, {"A1": len(points)}, "--lms-export", str(export))
    assert r.exit_code == 1
    assert f"column 'Exam 1 (4412)' is out of 24 points, the scores written are out of {_num(sum(points))}" in r.output
    r, out = _grade(tmp_path, exam, answers, {"A1": len(points)}, "--lms-export", str(export), "--percent", "--force")
    assert "is out of 24 points, the scores written are out of 100;" in r.output
    export.write_text(export.read_text().replace("24.00", "100"))
    r, out = _grade(tmp_path, exam, answers, {"A1": len(points)}, "--lms-export", str(export), "--percent", "--force")
    assert r.exit_code == 0, r.output
    assert (out / "export.csv").read_text().splitlines()[2] == "Ann,1,A1,ann,S,100"


def test_lms_export_never_takes_a_roster_s_own_id_column_for_canvas_s_id(tmp_path):
    # A plain roster's "ID" (3, 4, 5) is not Canvas's user id: Zed, whose Canvas ID is 4, is not Bo.
    exam, answers, points = _exam(tmp_path, "ID,Name\n3,Ann\n4,Bo\n5,Cy\n")
    export = tmp_path / "export.csv"
    export.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Exam 1\nAnn,900,3,a,S,\nCy,901,5,c,S,\nZed,4,,z,S,\n")
    r, out = _grade(tmp_path, exam, answers, {"3": 1, "4": 2, "5": 3}, "--lms-export", str(export))
    rows = list(csv.reader(io.StringIO((out / "export.csv").read_text())))
    assert [row[5] for row in rows[1:]] == [_num(points[0]), _num(sum(points[:3])), ""]
    assert "1 graded student(s) not in the export, so not filled in: 4" in r.output


def test_lms_column_without_lms_export_is_refused_before_anything_is_written(tmp_path):
    exam, answers, points = _exam(tmp_path, "ID,Name\nA1,Ann\n")
    r, out = _grade(tmp_path, exam, answers, {"A1": len(points)}, "--lms-column", "Exam 1 (4412)")
    assert r.exit_code == 2 and "--lms-column names the column of --lms-export to fill" in r.output
    assert not out.exists()  # not silently ignored with canvas.csv and moodle.csv written instead


def test_lms_export_from_brightspace_matches_hash_prefixed_ids(tmp_path):
    roster = ("OrgDefinedId,Username,Last Name,First Name,Email,End-of-Line Indicator\n"
              "#20067930,#alee,Lee,Ann,alee@uni.edu,#\n")
    exam, answers, points = _exam(tmp_path, roster)
    export = tmp_path / "brightspace_export.csv"
    # D2L "Export grades": the exam's item exists with its maximum in the header
    export.write_text(f"OrgDefinedId,Username,Exam 1 Points Grade <Numeric MaxPoints:{_num(sum(points))}>,"
                      "End-of-Line Indicator\n#20067930,#alee,,#\n")
    r, out = _grade(tmp_path, exam, answers, {"20067930": 2}, "--lms-export", str(export))
    assert r.exit_code == 0, r.output
    assert (out / "brightspace_export.csv").read_text().splitlines()[1] == f"#20067930,#alee,{_num(sum(points[:2]))},#"
    assert "brightspace_export.csv: in Brightspace, Grades > Enter Grades > Import" in r.output
