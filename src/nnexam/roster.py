"""Class rosters: what every LMS's roster layout is read into, and the generic reader under them all.

A roster file becomes a `Roster`: one (id, name, identity) per student, where identity holds every
identity column of the student's row as the LMS wrote it (Canvas's ID, SIS Login ID, Section, ...)
so that the grade files written later can carry them. Each LMS module (nnexam.lms.canvas, ...)
recognizes its own layout and calls `build_roster` with its column choices; `generic_roster` reads
any other CSV with an id column. Nothing here opens files: the CLI passes the bytes.

Bytes are decoded and split as submissions are (table.read_table). A quote left open, which would
make every later row one name, refuses the roster naming the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from . import table as tables
from .errors import NnexamError
from .table import Table

# The id column when none is named: the first of these present (matched ignoring case, spaces, _).
ID_COLUMNS = ("student_id", "SIS User ID", "ID", "SID", "ID number", "OrgDefinedId", "UIN", "Username", "Email")
NAME_COLUMNS = ("Name", "Student", "Full Name")
FIRST_COLUMNS = ("First name", "Given name", "FirstName")
LAST_COLUMNS = ("Last name", "Surname", "Family name", "LastName")
_GENERIC_IDENTITY = ID_COLUMNS + ("Email address", "Student ID")  # never Canvas's own columns: canvas.csv trusts those


@dataclass(frozen=True)
class Roster:
    """A read roster: its layout, the column the ids come from, the students and the notes to show."""

    layout: str  # "Canvas gradebook export", "Moodle participants download", "CSV", ...
    id_column: str
    students: tuple[tuple[str, str, Mapping[str, str]], ...]  # (id, name, identity columns)
    notes: tuple[str, ...] = ()  # one line per thing the instructor should know (rows skipped, id fallback)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # from decoding (cp1252)

    def pairs(self) -> list[tuple[str, str]]:
        """(id, name) per student."""
        return [(sid, name) for sid, name, _ in self.students]


def norm(header: str) -> str:
    """A header for matching: case, spaces, _ and - ignored."""
    return "".join(ch for ch in header.strip().lower() if ch not in " _-")


class Columns:
    """A header's columns found by name (ignoring case, spaces, _ and -); the first of equal names wins."""

    def __init__(self, header: Sequence[str]):
        self.header = tuple(h.strip() for h in header)
        self.at: dict[str, int] = {}
        for i, h in enumerate(self.header):
            self.at.setdefault(norm(h), i)

    def find(self, *names: str) -> int | None:
        for n in names:
            if norm(n) in self.at:
                return self.at[norm(n)]
        return None

    def has(self, *names: str) -> bool:
        return all(norm(n) in self.at for n in names)

    def shown(self) -> str:
        return ", ".join(h for h in self.header if h)


def cell(row: Sequence[str], at: int | None) -> str:
    """A row's stripped cell at `at` ('' when the row is short or there is no such column)."""
    return row[at].strip() if at is not None and at < len(row) else ""


def read_table(raw: bytes, source: str) -> Table:
    """The roster file as a Table; an unclosed quote is refused, naming its line (the submissions reader
    only warns: there a merged row is one student's answers; here it silently drops every later student)."""
    if not raw or raw.isspace():
        raise NnexamError(f"{source}: the roster is empty (expected a CSV with a header row)")
    table = tables.read_table(raw, source)
    for w in table.warnings:
        if _RUNAWAY.search(w):
            raise NnexamError(f"{w}: a student's name would swallow the rows after it; close the quote and read the roster again")
    return table


_RUNAWAY = re.compile(r": line \d+: a quote opened here is not closed")  # table._runaway_quotes' warning


def chosen_column(columns: Columns, id_column: str, source: str) -> int:
    """The column named by --id-column, or one error line listing the columns."""
    at = columns.find(id_column)
    if at is None:
        raise NnexamError(f"{source}: no column '{id_column}' (columns: {columns.shown()})")
    return at


def build_roster(t: Table, layout: str, id_at: int, name_of: Callable[[Sequence[str]], str],
                 identity: Mapping[str, int | None], *, skip: Callable[[Sequence[str]], str | None] | None = None,
                 clean_id: Callable[[str], str] | None = None, notes: Sequence[str] = ()) -> Roster:
    """The students of `t`: id from column id_at (cleaned), name_of(row), identity {name: column};
    rows for which skip(row) gives a reason are no students and are left out with one note line.
    Duplicate or blank ids are refused naming the rows."""
    source, header = t.source, t.header
    same = [i for i, h in enumerate(header) if norm(h) == norm(header[id_at])]
    if len(same) > 1:
        times = "twice" if len(same) == 2 else f"{len(same)} times"
        at = ", ".join(str(i + 1) for i in same[:-1]) + f" and {same[-1] + 1}"
        raise NnexamError(f"{source}: the student id column '{header[id_at].strip()}' appears {times} in the header "
                          f"(columns {at}); expected it once")
    width = len(header)
    if t.rows and max(map(len, t.rows)) > width:  # cells beyond the header would be dropped unread
        for row, line in zip(t.rows, t.lines):
            if any(c.strip() for c in row[width:]):
                raise NnexamError(f"{source}: line {line}: {len(row)} cells but the header has {width}, so a name or id "
                                  "would lose a part (a name with an unquoted comma, Smith, John? quote it: \"Smith, John\")")
    kept = {name: at for name, at in identity.items() if at is not None}
    students: list[tuple[str, str, Mapping[str, str]]] = []
    seen: dict[str, int] = {}
    blank: list[int] = []
    skipped: dict[str, list[int]] = {}
    for row, line in zip(t.rows, t.lines):
        why = skip(row) if skip is not None else None
        if why:
            skipped.setdefault(why, []).append(line)
            continue
        sid = cell(row, id_at)
        if clean_id is not None:
            sid = clean_id(sid)
        if not sid:
            blank.append(line)
            continue
        if sid in seen:
            raise NnexamError(f"{source}: student id '{sid}' appears twice (rows {seen[sid]} and {line})")
        seen[sid] = line
        students.append((sid, name_of(row), {name: cell(row, at) for name, at in kept.items()}))
    if blank:
        rows_text = ", ".join(map(str, blank[:10])) + (", ..." if len(blank) > 10 else "")
        raise NnexamError(f"{source}: blank student id in column '{header[id_at].strip()}' "
                          f"(row{'s' if len(blank) > 1 else ''} {rows_text})")
    if not students:
        others = f" and rows that are no student: {', '.join(skipped)}" if skipped else ""
        raise NnexamError(f"{source}: the roster lists no students (only a header row{others})")
    out_notes = list(notes)
    if skipped:
        n = sum(map(len, skipped.values()))
        parts = "; ".join(f"{why} (row{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:5]))}"
                          f"{', ...' if len(lines) > 5 else ''})" for why, lines in skipped.items())
        out_notes.insert(0, f"{source}: skipped {n} row{'s' if n > 1 else ''} that {'are' if n > 1 else 'is'} "
                            f"no student: {parts}")
    return Roster(layout, header[id_at].strip(), tuple(students), tuple(out_notes), t.warnings)


def generic_roster(t: Table, id_column: str | None = None) -> Roster:
    """Any CSV with a student id column (student_id, SIS User ID, ID, SID, ...) and optionally names."""
    columns = Columns(t.header)
    if id_column is not None:
        id_at = chosen_column(columns, id_column, t.source)
    else:
        id_at = columns.find(*ID_COLUMNS)
        if id_at is None:
            raise NnexamError(f"{t.source}: no student id column (expected one of {', '.join(ID_COLUMNS)}; "
                              f"columns: {columns.shown()}; choose one with --id-column)")
    name_at = columns.find(*NAME_COLUMNS)
    first_at, last_at = columns.find(*FIRST_COLUMNS), columns.find(*LAST_COLUMNS)

    def name_of(row: Sequence[str]) -> str:
        return cell(row, name_at) or " ".join(x for x in (cell(row, first_at), cell(row, last_at)) if x)

    def skip(row: Sequence[str]) -> str | None:
        # Canvas puts the assignments' maximum scores under the header (lib/gradebook_exporter.rb)
        return "Points Possible" if row and row[0].strip().lower() == "points possible" else None

    identity = {columns.header[i]: i for i in sorted({columns.find(n) for n in _GENERIC_IDENTITY} - {None})}
    return build_roster(t, "CSV", id_at, name_of, identity, skip=skip)
