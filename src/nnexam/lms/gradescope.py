"""Gradescope: its roster download as a roster (Gradescope takes no grade file: it syncs with the LMS)."""

from __future__ import annotations

from typing import Sequence

from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table


# --- roster -------------------------------------------------------------------------------------
# Gradescope is closed source; the layout follows its help pages ("Adding Students and Staff",
# "Exporting grades"): a name (one "Name" or "Full Name" column, or "First Name" and "Last Name"),
# "SID", "Email", and in the roster download a "Role" (Student, Instructor, TA, Reader) and "Sections".

IDENTITY = ("Name", "Full Name", "First Name", "Last Name", "SID", "Email", "Role", "Sections")


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Gradescope roster or grade export: SID as the id when every student has one, else Email; staff rows skipped."""
    columns = Columns(table.header)
    if not (columns.has("SID", "Email") and (columns.find("Name", "Full Name") is not None
                                              or columns.has("First Name", "Last Name"))):
        return None
    at = {name: columns.find(name) for name in IDENTITY}

    def skip(row: Sequence[str]) -> str | None:
        role = cell(row, at["Role"])
        return f"{role} (staff)" if role and role.lower() != "student" else None

    notes = []
    people = [row for row in table.rows if not skip(row)]
    if id_column is not None:
        id_at = chosen_column(columns, id_column, table.source)
    elif all(cell(row, at["SID"]) for row in people):
        id_at = at["SID"]
    else:
        id_at = at["Email"]
        notes.append(f"{table.source}: some students have no SID, so the ids are their Email")
    name_at = at["Name"] if at["Name"] is not None else at["Full Name"]

    def name_of(row: Sequence[str]) -> str:
        return cell(row, name_at) or " ".join(x for x in (cell(row, at["First Name"]), cell(row, at["Last Name"])) if x)

    return build_roster(table, "Gradescope roster", id_at, name_of, at, skip=skip, notes=notes)
