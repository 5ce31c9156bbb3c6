"""Blackboard: its Grade Center download as a roster (grades go back with --lms-export on that download)."""

from __future__ import annotations

from typing import Sequence

from ..roster import Columns, Roster, build_roster, cell, chosen_column
from ..table import Table


# --- roster -------------------------------------------------------------------------------------
# Blackboard Learn is closed source; the layout follows its help pages ("Download grades from the Grade
# Center", Work Offline > Download): a tab-separated UTF-16 file (.xls) whose columns start "Last Name",
# "First Name", "Username", "Student ID", "Last Access", "Availability", then the grade columns named
# "<item> [Total Pts: 24 Score] |<column id>". Students are matched on upload by Username.

IDENTITY = ("Last Name", "First Name", "Username", "Student ID")


def read_roster(table: Table, id_column: str | None = None) -> Roster | None:
    """A Grade Center download: Student ID as the id when every student has one, else Username."""
    columns = Columns(table.header)
    if not columns.has("Last Name", "First Name", "Username") or not (
            columns.has("Availability") or columns.has("Last Access") or columns.has("Student ID")):
        return None
    at = {name: columns.find(name) for name in IDENTITY}
    notes = []
    if id_column is not None:
        id_at = chosen_column(columns, id_column, table.source)
    elif at["Student ID"] is not None and all(cell(row, at["Student ID"]) for row in table.rows):
        id_at = at["Student ID"]
    else:
        id_at = at["Username"]
        if at["Student ID"] is not None:
            notes.append(f"{table.source}: some students have no Student ID, so the ids are their Username")

    def name_of(row: Sequence[str]) -> str:
        return " ".join(x for x in (cell(row, at["First Name"]), cell(row, at["Last Name"])) if x)

    return build_roster(table, "Blackboard Grade Center download", id_at, name_of, at, notes=notes)
