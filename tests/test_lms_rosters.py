"""Rosters exactly as Canvas, Moodle, Blackboard, Brightspace and Gradescope export them, read unedited.

Each fixture names the source it follows. The expected ids, names and skipped rows are read off
the fixture by hand, never from the reader's output.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nnexam import lms
from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.manifest import load_manifest
from nnexam.roster import read_table

# instructure/canvas-lms lib/gradebook_exporter.rb (GradebookExporter#csv_data) with include_sis_id:
# Student, ID, SIS User ID, SIS Login ID, Section, the assignments ("title (id)"), the totals; a
# "Manual Posting" row (an assignment posted manually: the first cells nil), the "    Points
# Possible" row ("(read only)" under the totals), the students (a name starting with = written as
# ="name", #student_name), and the Test Student last (StudentViewEnrollment: no SIS User ID, SIS
# Login ID = hmac_sha1 hex, app/models/course.rb).
CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Midterm (4411),Exam 1 (4412),Current Score,"
    "Unposted Current Score,Final Score,Unposted Final Score\r\n"
    ",,,,,,Manual Posting,,,,\r\n"
    "    Points Possible,,,,,10.00,24.00,(read only),(read only),(read only),(read only)\r\n"
    "\"Lee, Ann\",1201,S-1001,alee@uni.edu,Section 01,9.00,,90.00,90.00,37.50,37.50\r\n"
    "\"O'Neil, Bo\",1202,S-1002,boneil@uni.edu,\"Section 01 and Section 02\",7.50,,75.00,75.00,31.25,31.25\r\n"
    "\"=\"\"=Kim, Cy\"\"\",1203,S-1003,ckim@uni.edu,Section 02,,,,,0.00,0.00\r\n"
    "\"Student, Test\",1299,,5f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d,Section 01,,,,,,\r\n"
)

# The same course exported without SIS ids (a course with no SIS, or the export without the SIS
# option): the exporter then writes no SIS User ID column (header << "SIS User ID" if include_sis_id).
CANVAS_NO_SIS = (
    "Student,ID,SIS Login ID,Section,Exam 1 (4412),Current Score,Unposted Current Score,Final Score,Unposted Final Score\r\n"
    "    Points Possible,,,,24.00,(read only),(read only),(read only),(read only)\r\n"
    "\"Lee, Ann\",1201,alee,Section 01,,,,,\r\n"
    "\"Kim, Cy\",1203,ckim,Section 02,,,,,\r\n"
    "\"Student, Test\",1299,5f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d,Section 01,,,,,\r\n"
)

# moodle/moodle grade/export/txt/grade_export_txt.php (print_grades): the default
# grade_export_userprofilefields firstname,lastname,idnumber,institution,department,email, a
# "(Real)" column per grade item, then "Last downloaded from this course" (gradeexport_txt timeexported).
MOODLE_GRADES = (
    "First name,Last name,ID number,Institution,Department,Email address,Quiz: Exam 1 (Real),Course total (Real),"
    "Last downloaded from this course\n"
    "Ann,Lee,M-01,Uni,Physics,alee@uni.edu,-,0.00,1764800000\n"
    "Bo,\"O'Neil, Jr.\",M-02,Uni,Physics,boneil@uni.edu,-,0.00,1764800000\n"
)

# moodle/moodle user/action_redir.php (operation download_participants): "First name", "Last name",
# then the identity fields of $CFG->showuseridentity (here email and username).
MOODLE_PARTICIPANTS = (
    "First name,Last name,Email address,Username\n"
    "Ann,Lee,alee@uni.edu,alee\n"
    "Bo,O'Neil,boneil@uni.edu,boneil\n"
)


def _roster(text: str | bytes, source: str = "roster.csv", id_column: str | None = None) -> lms.Roster:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return lms.detect_roster(read_table(raw, source), id_column)


# --- Canvas --------------------------------------------------------------------------------------


def test_canvas_export_skips_manual_posting_points_possible_and_test_student_in_one_note():
    r = _roster(CANVAS_EXPORT)
    assert r.layout == "Canvas gradebook export" and r.id_column == "SIS User ID"
    assert [(sid, name) for sid, name, _ in r.students] == [("S-1001", "Lee, Ann"), ("S-1002", "O'Neil, Bo"),
                                                            ("S-1003", "=Kim, Cy")]
    assert r.notes == ("roster.csv: skipped 3 rows that are no student: Manual Posting (row 2); Points Possible (row 3); "
                       "Test Student (row 7)",)
    assert r.students[1][2] == {"Student": "O'Neil, Bo", "ID": "1202", "SIS User ID": "S-1002",
                                "SIS Login ID": "boneil@uni.edu", "Section": "Section 01 and Section 02"}


def test_canvas_course_without_sis_ids_falls_back_to_canvas_id():
    r = _roster(CANVAS_NO_SIS)
    assert r.id_column == "ID" and [sid for sid, _, _ in r.students] == ["1201", "1203"]
    assert r.notes[0].endswith("Test Student (row 5)")
    assert r.notes[1] == "roster.csv: there is no SIS User ID column, so the ids are Canvas's ID (canvas.csv matches students by it)"
    # SIS User ID column present but empty for everyone (a course whose users have no SIS ids)
    blank = CANVAS_EXPORT.replace("S-1001", "").replace("S-1002", "").replace("S-1003", "")
    r = _roster(blank)
    assert [sid for sid, _, _ in r.students] == ["1201", "1202", "1203"]
    assert "3 of 3 students have no SIS User ID, so the ids are Canvas's ID" in r.notes[1]


def test_canvas_export_with_last_and_first_name_columns():
    # GradebookExporter#csv_data with show_student_first_last_name: "LastName", "FirstName" instead of "Student"
    r = _roster("LastName,FirstName,ID,SIS User ID,SIS Login ID,Section,Exam 1 (4412)\n"
                "    Points Possible,,,,,,24.00\n"
                "Lee,Ann,1201,S-1001,alee,Section 01,\n"
                "Student,Test,1299,,5f1c0d2e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d,Section 01,\n")
    assert [(sid, name) for sid, name, _ in r.students] == [("S-1001", "Ann Lee")]
    assert r.notes[0].endswith("Points Possible (row 2); Test Student (row 4)")


def test_a_plain_csv_with_a_section_column_never_passes_for_canvas_ids(tmp_path):
    r = _roster("ID,Name,Section\n77,Ann,S1\n")
    assert r.layout == "CSV" and r.students[0][2] == {"ID": "77"}


def test_generate_accepts_the_canvas_export_and_keeps_identity_in_the_manifest(tmp_path):
    roster = tmp_path / "Grades-PHYS101.csv"
    roster.write_bytes(CANVAS_EXPORT.encode("utf-8"))
    out = tmp_path / "exam"
    r = CliRunner().invoke(cli, ["generate", "relu-3-2-1", "--seed", "s", "--roster", str(roster), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert f"nnexam: note: {roster}: read as Canvas gradebook export, ids from column 'SIS User ID'" in r.output
    assert "skipped 3 rows that are no student" in r.output
    assert r.output.splitlines()[-1].startswith("3 students, ")
    m = load_manifest(out)
    assert [s.id for s in m.students] == ["S-1001", "S-1002", "S-1003"]
    assert m.students[0].identity["SIS Login ID"] == "alee@uni.edu" and m.students[0].identity["ID"] == "1201"
    raw = json.loads((out / "manifest.json").read_text())
    assert raw["students"][2]["identity"]["Section"] == "Section 02"


def test_generate_accepts_a_course_without_sis_ids(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(CANVAS_NO_SIS)
    out = tmp_path / "exam"
    r = CliRunner().invoke(cli, ["generate", "relu-3-2-1", "--seed", "s", "--roster", str(roster), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert [s.id for s in load_manifest(out).students] == ["1201", "1203"]


def test_manifests_without_identity_still_load_and_anonymous_classes_write_none(tmp_path):
    out = tmp_path / "exam"
    assert CliRunner().invoke(cli, ["generate", "relu-3-2-1", "--seed", "s", "--students", "2", "--out", str(out),
                                    "--no-pdf"]).exit_code == 0
    assert '"identity"' not in (out / "manifest.json").read_text()
    assert load_manifest(out).students[0].identity == {}


# --- Moodle --------------------------------------------------------------------------------------


def test_moodle_grade_export_ids_are_id_numbers():
    r = _roster(MOODLE_GRADES)
    assert r.layout == "Moodle grade export" and r.id_column == "ID number"
    assert [(sid, name) for sid, name, _ in r.students] == [("M-01", "Ann Lee"), ("M-02", "Bo O'Neil, Jr.")]
    assert r.students[0][2] == {"First name": "Ann", "Last name": "Lee", "ID number": "M-01",
                                "Email address": "alee@uni.edu"}
    assert r.notes == ()


def test_moodle_grade_export_with_missing_id_numbers_falls_back_to_email():
    r = _roster(MOODLE_GRADES.replace("M-02", ""))
    assert r.id_column == "Email address" and [sid for sid, _, _ in r.students] == ["alee@uni.edu", "boneil@uni.edu"]
    assert r.notes == ("roster.csv: some students have no ID number, so the ids are their Email address; "
                       "moodle.csv matches them by Email address",)


def test_moodle_participants_download_and_german_headers():
    r = _roster("\ufeff" + MOODLE_PARTICIPANTS)  # the csv dataformat may start with a BOM
    assert r.layout == "Moodle participants download" and r.id_column == "Username"
    assert [(sid, name) for sid, name, _ in r.students] == [("alee", "Ann Lee"), ("boneil", "Bo O'Neil")]
    german = "Vorname;Nachname;ID-Nummer;E-Mail-Adresse\nAnn;Lee;M-01;alee@uni.edu\n"  # lang/de, semicolons
    r = _roster(german)
    assert [(sid, name) for sid, name, _ in r.students] == [("M-01", "Ann Lee")]
    assert r.students[0][2]["ID number"] == "M-01" and r.students[0][2]["Email address"] == "alee@uni.edu"


# --- Blackboard, Brightspace, Gradescope (closed source: their help pages' layouts) -----------------


def test_blackboard_grade_center_download_utf16_tabs():
    # Grade Center > Work Offline > Download: tab-separated UTF-16 with a BOM, saved as .xls
    text = ('"Last Name"\t"First Name"\t"Username"\t"Student ID"\t"Last Access"\t"Availability"\t'
            '"Exam 1 [Total Pts: 24 Score] |1234"\r\n'
            '"Lee"\t"Ann"\t"alee"\t"900101"\t"2026-11-30 10:00:00"\t"Available"\t""\r\n'
            '"Kim"\t"Cy"\t"ckim"\t"900103"\t""\t"Available"\t""\r\n')
    r = _roster(text.encode("utf-16"), "gc.xls")
    assert r.layout == "Blackboard Grade Center download" and r.id_column == "Student ID"
    assert [(sid, name) for sid, name, _ in r.students] == [("900101", "Ann Lee"), ("900103", "Cy Kim")]
    assert r.students[0][2]["Username"] == "alee"


def test_brightspace_export_drops_the_hash_from_ids_and_keeps_it_in_identity():
    # Grades > Enter Grades > Export, Key Field "Both"
    text = ("OrgDefinedId,Username,Last Name,First Name,Email,Exam 1 Points Grade <Numeric MaxPoints:24>,"
            "End-of-Line Indicator\n"
            "#20067930,#alee,Lee,Ann,alee@uni.edu,,#\n"
            "#20067931,#ckim,Kim,Cy,ckim@uni.edu,,#\n")
    r = _roster(text)
    assert r.layout == "Brightspace grades export" and r.id_column == "OrgDefinedId"
    assert [(sid, name) for sid, name, _ in r.students] == [("20067930", "Ann Lee"), ("20067931", "Cy Kim")]
    assert r.students[0][2]["Username"] == "#alee" and r.students[0][2]["OrgDefinedId"] == "#20067930"


def test_gradescope_roster_skips_staff():
    text = ("First Name,Last Name,SID,Email,Role,Sections\n"
            "Ann,Lee,900101,alee@uni.edu,Student,A\n"
            "Pat,Prof,,pprof@uni.edu,Instructor,\n"
            "Cy,Kim,900103,ckim@uni.edu,Student,B\n")
    r = _roster(text)
    assert r.layout == "Gradescope roster" and [sid for sid, _, _ in r.students] == ["900101", "900103"]
    assert r.notes == ("roster.csv: skipped 1 row that is no student: Instructor (staff) (row 3)",)


# --- a quote left open --------------------------------------------------------------------------------


def test_an_unclosed_quote_refuses_the_roster_naming_the_line(tmp_path):
    rows = [f"{900000 + i},Student {i}" for i in range(1, 201)]
    rows[49] = '900050,"Bob Smith'  # row 50: the stray quote swallows rows 51-200
    roster = tmp_path / "roster.csv"
    roster.write_text("SIS User ID,Name\n" + "\n".join(rows) + "\n")
    with pytest.raises(NnexamError, match=r"line 51: a quote opened here is not closed before the end of the file"):
        _roster(roster.read_bytes(), str(roster))
    r = CliRunner().invoke(cli, ["generate", "relu-3-2-1", "--seed", "s", "--roster", str(roster),
                                 "--out", str(tmp_path / "exam"), "--no-pdf"])
    assert r.exit_code == 2 and "line 51: a quote opened here is not closed" in r.output
    assert "students" not in r.output and not (tmp_path / "exam").exists()
