"""Moodle: its roster export, grade import, quiz export and quiz response reports, in one place."""

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

# Read as Moodle writes them. The grade export (moodle/moodle grade/export/txt/grade_export_txt.php,
# print_grades): the user profile fields of $CFG->grade_export_userprofilefields (default
# firstname,lastname,idnumber,institution,department,email: "First name", "Last name", "ID number",
# "Institution", "Department", "Email address"), then per grade item "<module>: <item> (Real)" and
# "(Feedback)" columns, then "Last downloaded from this course". The participants download
# (user/action_redir.php, operation download_participants): "First name", "Last name", then the
# site's identity fields ($CFG->showuseridentity: "Email address", "ID number", "Username", ...).
# German sites write the same columns in German (lang/de/moodle.php).

IDENTITY = ("ID number", "Username", "Email address", "First name", "Last name")
_ALIASES = {
    "First name": ("First name", "Vorname"), "Last name": ("Last name", "Surname", "Nachname"),
    "ID number": ("ID number", "ID-Nummer"), "Username": ("Username", "Anmeldename", "Nutzername"),
    "Email address": ("Email address", "E-Mail-Adresse"),
}
_GRADE_COLUMN = re.compile(r".*\((Real|Percentage|Letter|Feedback|Reell|Prozentsatz|Buchstabe)\)\s*")
_EXPORTED = ("Last downloaded from this course", "Zuletzt aus diesem Kurs heruntergeladen")


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Moodle grade export or participants download: ID number as the id, else Username, else Email address."""
    columns = Columns(table.header)
    exact = {}  # Moodle's own spelling, case included ("First name", where Blackboard writes "First Name")
    for i, h in enumerate(table.header):
        exact.setdefault(h.strip(), i)
    at = {name: next((exact[a] for a in aliases if a in exact), None) for name, aliases in _ALIASES.items()}
    if at["First name"] is None or at["Last name"] is None or all(at[k] is None for k in IDENTITY[:3]):
        return None
    graded = any(_GRADE_COLUMN.fullmatch(h) for h in table.header) or any(columns.has(e) for e in _EXPORTED)
    layout = "Moodle grade export" if graded else "Moodle participants download"
    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, table.source)
    else:
        present = [k for k in IDENTITY[:3] if at[k] is not None]
        full = [k for k in present if all(cell(row, at[k]) for row in table.rows)]
        chosen = full[0] if full else present[0]
        id_at = at[chosen]
        if chosen != present[0]:
            notes.append(f"{table.source}: some students have no {present[0]}, so the ids are their {chosen}; "
                         f"moodle.csv matches them by {chosen}")

    def name_of(row: Sequence[str]) -> str:
        return " ".join(x for x in (cell(row, at["First name"]), cell(row, at["Last name"])) if x)

    return build_roster(table, layout, id_at, name_of, at, notes=notes)


# --- grade import file --------------------------------------------------------------------------

# Written as Moodle's CSV grade import reads it (moodle/moodle grade/import/csv/classes/load_data.php and
# grade/import/grade_import_form.php): "Map from" a column to "Map to" ID number, Username or Email
# address, preselected when the column is named exactly so; a column named "<item> (Real)" is mapped to
# the existing grade item <item> and "<item> (Feedback)" to its feedback. A new grade item made by the
# import has Moodle's default maximum grade, 100, and a grade above $CFG->gradepointmax (100) is refused,
# so the item is best made first with the exam's maximum (or the scores written as percentages).
# A row whose user is not found stops the whole import, so only students with an identity value are listed.

_MAP_TO = ("ID number", "Username", "Email address")  # get_string('idnumber'), ('username'), ('email')
_OTHER_LMS = {"First Name", "SIS Login ID", "OrgDefinedId", "SID"}  # Blackboard, Canvas, Brightspace, Gradescope


def grade_file(grades: Grades, title: str, options: GradeOptions) -> GradeFile:
    """moodle.csv: the identity column Moodle maps from (named after what it holds), the score and a feedback line."""
    from . import GradeFile, marks

    m = marks(grades, options)
    # Identity columns of a Moodle roster (or a plain CSV's); another LMS's "Username" is not Moodle's.
    students = [s for s in grades.manifest.students if "First name" in s.identity or not _OTHER_LMS.intersection(s.identity)]
    key = next((k for k in _MAP_TO if all(s.identity.get(k) for s in students)), None)
    key = key or next((k for k in _MAP_TO if any(s.identity.get(k) for s in students)), None)
    if key is None or len(students) < len(grades.manifest.students):
        ids, key, listed = [s.id for s in m.students], "ID number", range(len(m.students))
    else:
        listed = [i for i, s in enumerate(m.students) if s.identity.get(key)]
        ids = [m.students[i].identity[key] for i in listed]
    score_column = title if options.percent else f"{title} (Real)"
    header = _csv_row([key, neutralize(score_column), neutralize(f"{title} (Feedback)")])
    text = header + _csv_lines([_csv_texts(ids), [m.scores[i] for i in listed],
                                _csv_texts([m.summaries[i] for i in listed])])
    if options.percent:
        how = (f"moodle.csv: in Moodle, Grades > Import > CSV file; Map from '{key}' to '{key}'; map '{title}' to "
               f"New grade item (maximum grade 100: these are percentages)")
    else:
        how = (f"moodle.csv: in Moodle, first Gradebook setup > Add grade item '{title}' with Maximum grade {m.out_of}, "
               f"then Grades > Import > CSV file; Map from '{key}' to '{key}' and the item mappings are preselected "
               "(or rerun with --percent for a New grade item out of 100)")
        if grades.max_score > 100:
            how += "; Moodle refuses grades above 100 unless the site allows unlimited grades: use --percent"
    skipped = len(m.students) - len(listed)
    if skipped:
        how += f"; {skipped} student(s) without a {key} are left out"
    return GradeFile("moodle.csv", text.encode("utf-8"), how)


# --- quiz export --------------------------------------------------------------------------------


# --- quiz responses -----------------------------------------------------------------------------
