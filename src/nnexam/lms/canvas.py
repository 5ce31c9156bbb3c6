"""Canvas: its roster export, grade import, quiz export and quiz response reports, in one place."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

from ..gradebook import _csv_lines, _csv_row, _csv_texts, neutralize
from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table

if TYPE_CHECKING:
    from ..grade import Grades
    from . import GradeFile, GradeOptions


# --- roster -------------------------------------------------------------------------------------

# Read as Canvas writes its gradebook export (instructure/canvas-lms lib/gradebook_exporter.rb,
# GradebookExporter#csv_data): "Student" (or "LastName", "FirstName"), "ID", "SIS User ID" (only
# when the export includes SIS ids), "SIS Login ID", "Integration ID" and "Root Account" (on some
# instances), "Section", custom columns, then the assignments. Under the header: a row of
# "Manual Posting" cells when an assignment is posted manually, and the "    Points Possible" row.
# The Test Student (StudentViewEnrollment, written last) has no SIS User ID and as SIS Login ID
# the 40 hex digits of hmac_sha1("Test Student_<id>") (app/models/course.rb).

IDENTITY = ("Student", "LastName", "FirstName", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account",
            "Section")  # GradebookImporter::GRADEBOOK_IMPORTER_RESERVED_NAMES
_HIDDEN_ROW = re.compile(r"\s*(Muted|Manual Posting.*)?\s*", re.I)  # GradebookImporter#check_for_non_student_row
_TEST_LOGIN = re.compile(r"[0-9a-f]{40}")
_TEST_NAMES = ("student, test", "test student")


def _unwrap(name: str) -> str:
    """A name as the student has it: the exporter writes one starting with = as ="name" (#student_name)."""
    wrapped = _WRAPPED.fullmatch(name)
    return wrapped.group(1) if wrapped else name


_WRAPPED = re.compile(r'="(=.*)"')


def is_canvas_header(header: Sequence[str]) -> bool:
    """What Canvas's importer accepts as its header (GradebookImporter#row_has_student_headers? and
    #header?: a "Section" column ends the student columns)."""
    h = [c.strip() for c in header]
    student = len(h) > 3 and "Student" in h[0] and "ID" in h[1]
    split = len(h) > 4 and h[0] == "LastName" and h[1] == "FirstName" and "ID" in h[2]
    return (student or split) and "Section" in h


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Canvas gradebook export: SIS User ID as the id (Canvas's ID where the course has no SIS ids)."""
    if not is_canvas_header(table.header) or "SIS Login ID" not in table.header:  # the exporter always writes it
        return None
    source = table.source
    columns = Columns(table.header)
    at = {name: columns.find(name) for name in IDENTITY}
    first_last = at["Student"] is None

    def name_of(row: Sequence[str]) -> str:
        if first_last:
            return " ".join(_unwrap(x) for x in (cell(row, at["FirstName"]), cell(row, at["LastName"])) if x)
        return _unwrap(cell(row, at["Student"]))

    def skip(row: Sequence[str]) -> str | None:
        if "Points Possible" in (row[0] if row else ""):
            return "Points Possible"
        if all(_HIDDEN_ROW.fullmatch(c) for c in row):
            return "Manual Posting"
        name = name_of(row).lower()
        test_name = name in _TEST_NAMES or (first_last and name == "test student")
        if not cell(row, at["SIS User ID"]) and (test_name or _TEST_LOGIN.fullmatch(cell(row, at["SIS Login ID"]))):
            return "Test Student"
        return None

    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, source)
    else:
        sis = at["SIS User ID"]
        people = [row for row in table.rows if not skip(row)]
        without = sum(not cell(row, sis) for row in people) if sis is not None else len(people)
        if sis is not None and people and not without:
            id_at = sis
        else:
            id_at = at["ID"]
            if people:
                why = "there is no SIS User ID column" if sis is None else f"{without} of {len(people)} students have no SIS User ID"
                notes.append(f"{source}: {why}, so the ids are Canvas's ID (canvas.csv matches students by it)")
    identity = {name: i for name, i in at.items() if i is not None}
    return build_roster(table, "Canvas gradebook export", id_at, name_of, identity, skip=skip, notes=notes)


# --- grade import file --------------------------------------------------------------------------

# Written as Canvas's gradebook importer reads it (instructure/canvas-lms app/models/gradebook_importer.rb):
# the header "Student", "ID", ["SIS User ID",] "SIS Login ID", "Section", then the exam (#update_column_count:
# SIS User ID must be followed by SIS Login ID, and Section ends the student columns); a row whose first
# cell holds "Points Possible" sets a new assignment's points (#process_pp). Students are found by ID,
# else SIS User ID, else SIS Login ID, else name (#process_student). A student left out is not touched.


def grade_file(grades: Grades, title: str, options: GradeOptions) -> GradeFile:
    """canvas.csv: the roster's own Canvas columns, the Points Possible row and the exam's scores."""
    from . import GradeFile, marks

    m = marks(grades, options)
    # Only a Canvas roster's ID is Canvas's user id (the importer looks students up by it first).
    from_canvas = all("Section" in s.identity and "SIS Login ID" in s.identity for s in grades.manifest.students)
    with_sis = not from_canvas or any("SIS User ID" in s.identity for s in grades.manifest.students)
    header = ["Student", "ID"] + ["SIS User ID"] * with_sis + ["SIS Login ID", "Section"]

    def column(name: str) -> list[str]:
        if name == "Student":
            return [s.name for s in m.students]
        if not from_canvas:  # nnexam's own ids (or another LMS's): Canvas finds them as SIS User IDs
            return [s.id for s in m.students] if name == "SIS User ID" else [""] * len(m.students)
        return [s.identity.get(name, "") for s in m.students]

    head = (_csv_row([neutralize(h) for h in header] + [neutralize(title)])
            + _csv_row(["    Points Possible"] + [""] * (len(header) - 1) + [m.out_of]))
    text = head + _csv_lines([_csv_texts(column(name)) for name in header] + [m.scores])
    how = (f"canvas.csv: in Canvas, Grades > Import, choose canvas.csv, Upload Data; it adds the assignment "
           f"'{title}' out of {m.out_of} points (or fills the one named so), {len(m.students)} students; review, then "
           "Save Changes")
    return GradeFile("canvas.csv", text.encode("utf-8"), how)


# --- quiz export --------------------------------------------------------------------------------


# --- quiz responses -----------------------------------------------------------------------------
