"""Brightspace (D2L): its grades export as a roster, and a grade import file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ..gradebook import _csv_lines, _csv_row, _csv_texts
from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table

if TYPE_CHECKING:
    from ..grade import Grades
    from . import GradeFile, GradeOptions


# --- roster -------------------------------------------------------------------------------------
# Brightspace is closed source; the layout follows D2L's help pages ("Export grades", "Importing grades"):
# Grades > Enter Grades > Export, Key Field "Both": "OrgDefinedId", "Username" (written with a leading
# '#' so that spreadsheets keep it as text), "Last Name", "First Name", "Email", the grade columns
# ("<item> Points Grade <Numeric MaxPoints:24 ...>") and "End-of-Line Indicator" (every row "#").

IDENTITY = ("OrgDefinedId", "Username", "Last Name", "First Name", "Email")


def _without_hash(text: str) -> str:
    return text[1:].strip() if text.startswith("#") else text


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Brightspace grades export: OrgDefinedId as the id when every student has one, else Username (without '#')."""
    columns = Columns(table.header)
    if not (columns.has("OrgDefinedId") or (columns.has("Username") and columns.has("End-of-Line Indicator"))):
        return None
    at = {name: columns.find(name) for name in IDENTITY}
    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, table.source)
    elif at["OrgDefinedId"] is not None and all(_without_hash(cell(row, at["OrgDefinedId"])) for row in table.rows):
        id_at = at["OrgDefinedId"]
    else:
        id_at = at["Username"] if at["Username"] is not None else at["OrgDefinedId"]
        if at["OrgDefinedId"] is not None and at["Username"] is not None:
            notes.append(f"{table.source}: some students have no OrgDefinedId, so the ids are their Username")

    def name_of(row: Sequence[str]) -> str:
        return " ".join(x for x in (cell(row, at["First Name"]), cell(row, at["Last Name"])) if x)

    return build_roster(table, "Brightspace grades export", id_at, name_of, at, clean_id=_without_hash, notes=notes)


# --- grade import file --------------------------------------------------------------------------
# As D2L's "Importing grades" page asks: OrgDefinedId and/or Username first, a column "<item> Points Grade"
# per numeric grade item (a new name creates the item; the import asks its maximum points), and the
# "End-of-Line Indicator" column of "#". Written only when the roster came from Brightspace.


def grade_file(grades: Grades, title: str, options: GradeOptions) -> GradeFile | None:
    """brightspace.csv for a Brightspace roster's exam; None for others (no OrgDefinedId to match on)."""
    from . import GradeFile, marks

    if not any("OrgDefinedId" in s.identity for s in grades.manifest.students):
        return None
    m = marks(grades, options)
    ids = [s.identity.get("OrgDefinedId", "") for s in m.students]
    users = [s.identity.get("Username", "") for s in m.students]
    item = f"{title} Points Grade"
    text = (_csv_row(["OrgDefinedId", "Username", item, "End-of-Line Indicator"])
            + _csv_lines([_csv_texts(ids), _csv_texts(users), m.scores, ["#"] * len(m.students)]))
    how = (f"brightspace.csv: in Brightspace, Grades > Enter Grades > Import, choose brightspace.csv, tick Create new "
           f"grade items if '{title}' does not exist yet and give it Max. Points {m.out_of}, Continue, review, Import")
    return GradeFile("brightspace.csv", text.encode("utf-8"), how)
