"""Class rosters: the CSV an LMS exports (Canvas, Moodle, Blackboard, Gradescope, Brightspace).

The parser takes the file's bytes or text and returns (student id, name) pairs; it never opens
files. Bytes are decoded as submissions are (table.decode: UTF-8 with or without BOM, UTF-16 from
Excel's "Unicode text", cp1252 as a reported fallback).
"""

from __future__ import annotations

import csv
import io

from . import table
from .errors import NnexamError

# The id column when none is named: the first of these present (matched ignoring case, spaces, _).
ID_COLUMNS = ("student_id", "SIS User ID", "ID", "SID", "ID number", "OrgDefinedId", "UIN", "Username", "Email")
NAME_COLUMNS = ("Name", "Student", "Full Name")
FIRST_COLUMNS = ("First name", "Given name", "FirstName")
LAST_COLUMNS = ("Last name", "Surname", "Family name", "LastName")


def _norm(header: str) -> str:
    return "".join(ch for ch in header.strip().lower() if ch not in " _-")


def read_roster(raw: bytes, source: str, id_column: str | None = None) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """(students, warnings) of a roster file's bytes: parse_roster after table.decode, keeping its warnings (cp1252)."""
    text, _encoding, warnings = table.decode(raw, source)
    return parse_roster(text, source, id_column), warnings


def _find(columns: dict[str, int], wanted: tuple[str, ...]) -> int | None:
    for w in wanted:
        if _norm(w) in columns:
            return columns[_norm(w)]
    return None


def parse_roster(text: str, source: str, id_column: str | None = None) -> list[tuple[str, str]]:
    """(id, name) per student row; duplicate or blank ids are refused naming the rows."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise NnexamError(f"{source}: the roster is empty (expected a CSV with a header row)")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=table.sniff_delimiter(first)))
    except csv.Error as e:  # a cell over table.CELL_LIMIT characters
        raise NnexamError(f"{source}: not a readable roster ({e}; the most nnexam reads in one cell is "
                          f"{table.CELL_LIMIT:,} characters)") from None
    numbered = [(i, r) for i, r in enumerate(rows, 1) if any(c.strip() for c in r)]
    header_row, header = numbered[0]
    columns: dict[str, int] = {}
    for i, h in enumerate(header):
        columns.setdefault(_norm(h), i)
    shown = ", ".join(h.strip() for h in header if h.strip())
    if id_column is not None:
        id_at = columns.get(_norm(id_column))
        if id_at is None:
            raise NnexamError(f"{source}: no column '{id_column}' (columns: {shown})")
    else:
        id_at = _find(columns, ID_COLUMNS)
        if id_at is None:
            raise NnexamError(f"{source}: no student id column (expected one of {', '.join(ID_COLUMNS)}; "
                              f"columns: {shown}; choose one with --id-column)")
    same = [i for i, h in enumerate(header) if _norm(h) == _norm(header[id_at])]
    if len(same) > 1:
        times = "twice" if len(same) == 2 else f"{len(same)} times"
        at = ", ".join(str(i + 1) for i in same[:-1]) + f" and {same[-1] + 1}"
        raise NnexamError(f"{source}: the student id column '{header[id_at].strip()}' appears {times} in the header "
                          f"(columns {at}); expected it once")
    name_at = _find(columns, NAME_COLUMNS)
    first_at, last_at = _find(columns, FIRST_COLUMNS), _find(columns, LAST_COLUMNS)

    def cell(row: list[str], at: int | None) -> str:
        return row[at].strip() if at is not None and at < len(row) else ""

    students: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    blank: list[int] = []
    for number, row in numbered[1:]:
        if row and row[0].strip().lower() == "points possible":
            continue  # Canvas puts the assignments' maximum scores under the header
        sid = cell(row, id_at)
        if not sid:
            blank.append(number)
            continue
        if sid in seen:
            raise NnexamError(f"{source}: student id '{sid}' appears twice (rows {seen[sid]} and {number})")
        seen[sid] = number
        name = cell(row, name_at) or " ".join(x for x in (cell(row, first_at), cell(row, last_at)) if x)
        students.append((sid, name))
    if blank:
        rows_text = ", ".join(map(str, blank[:10])) + (", ..." if len(blank) > 10 else "")
        raise NnexamError(f"{source}: blank student id in column '{header[id_at].strip()}' (row{'s' if len(blank) > 1 else ''} {rows_text})")
    if not students:
        raise NnexamError(f"{source}: the roster lists no students (only a header row)")
    return students
