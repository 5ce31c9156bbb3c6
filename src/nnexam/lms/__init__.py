"""The learning-management systems nnexam talks to: one module per LMS, each behind this interface.

Each module (canvas.py, moodle.py, ...) keeps everything of that LMS together: reading the roster
it exports, writing the grade file it imports, exporting an exam as its quiz, and reading its quiz
response reports back in. The core (spec, graph, solve, grade) knows nothing of any LMS; the CLI
asks this package. Adding Blackboard or Brightspace is one new module added to `SYSTEMS`.

The interface is a set of plain functions per module (any may be absent when that LMS has no such
file; `None` from a reader means "not this LMS's layout"):

- `read_roster(table, id_column) -> Roster | None`         a roster export in this LMS's layout
- `grade_file(grades, title, options) -> GradeFile | None`  the grade import file (canvas.csv, ...);
                                                             None when this exam's roster gives it nothing to match on
- `export_quiz(manifest, options) -> dict[name, bytes]`    the exam as this LMS's quiz import
- `read_responses(table, manifest) -> Table | None`        a quiz response report as a submissions Table

The package-level verbs the CLI calls: `detect_roster`, `grade_files`, `fill_export`, and `system(name)`
for one LMS's module (`lms.system("moodle").export_quiz(...)`).
"""

from __future__ import annotations

import re
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .. import csvout
from ..errors import NnexamError
from ..grade import BLANK, CORRECT, FOLLOW, MISTAKE, UNREADABLE, WRONG, Grades
from ..gradebook import number
from ..ids import id_key
from ..manifest import StudentVariant
from ..roster import Roster, generic_roster, read_table
from ..table import Table, decode, header_key, sniff_delimiter, split_raw, unquote
from . import blackboard, brightspace, canvas, gradescope, moodle

# In the order their layouts are tried: the most distinctive headers first.
SYSTEMS = (canvas, moodle, brightspace, blackboard, gradescope)


@dataclass(frozen=True)
class GradeOptions:
    """How grade files write scores: points or percent (0-100), and non-submitters blank or 0."""

    percent: bool = False
    missing: str = "blank"  # "blank": left out, so the LMS keeps what it has; "zero": 0


@dataclass(frozen=True)
class GradeFile:
    """One LMS grade import file and one line on how to import it."""

    name: str
    data: bytes
    how: str


def system(name: str):
    """The module of the LMS called `name` ("canvas", "moodle", ...), or one error line listing them."""
    for module in SYSTEMS:
        if module.__name__.rsplit(".", 1)[-1] == name.lower():
            return module
    raise NnexamError(f"no LMS called {name!r} (expected one of {', '.join(m.__name__.rsplit('.', 1)[-1] for m in SYSTEMS)})")


def detect_roster(table: Table, id_column: str | None = None) -> Roster:
    """The roster of `table` in the first LMS layout that recognizes it, else as a generic CSV."""
    for system in SYSTEMS:
        read = getattr(system, "read_roster", None)
        roster = read(table, id_column) if read is not None else None
        if roster is not None:
            return roster
    return generic_roster(table, id_column)


def grade_files(grades: Grades, title: str, options: GradeOptions = GradeOptions()) -> list[GradeFile]:
    """Every LMS's grade import file for this exam (those with nothing to match students on are left out)."""
    files = []
    for system in SYSTEMS:
        make = getattr(system, "grade_file", None)
        made = make(grades, title, options) if make is not None else None
        if made is not None:
            files.append(made)
    return files


# --- what the grade files share ------------------------------------------------------------------


@dataclass(frozen=True)
class Marks:
    """The students a grade file lists (manifest order) with their score cells and a one-line summary."""

    students: list[StudentVariant]
    scores: list[str]  # points, or percent with options.percent
    summaries: list[str]  # "18.5/24 points: 20 correct, 2 follow-through, ..." ("no submission" for a 0 by --missing zero)
    out_of: str  # the maximum as written in the files: the exam's points, or 100


_MADE: list = [None, None, None]  # the last marks made: a weak reference to its grades, its options, the Marks


def marks(grades: Grades, options: GradeOptions) -> Marks:
    """Each graded student's last graded row, and with --missing zero every student without one as 0.

    Made once for the grade files of one grading (canvas.csv and moodle.csv both ask): the last
    Marks is kept while its grades live, and given again for the same grades and options."""
    ref, made_for, made = _MADE
    if ref is not None and ref() is grades and made_for == options:
        return made
    made = _marks(grades, options)
    _MADE[:] = [weakref.ref(grades), options, made]
    return made


def _marks(grades: Grades, options: GradeOptions) -> Marks:
    rows = np.flatnonzero(grades.graded)
    who = grades.student[rows]
    students_graded, first_from_end = np.unique(who[::-1], return_index=True)
    last = rows[len(rows) - 1 - first_from_end]  # each graded student's last graded row, in manifest order
    row_of = np.full(len(grades.manifest.students), -1, dtype=np.int64)
    row_of[students_graded] = last
    listed = np.arange(len(row_of)) if options.missing == "zero" else students_graded
    listed_rows = row_of[listed]
    max_score = grades.max_score
    cells: dict[float, str] = {}
    scores = [cells.get(v) or cells.setdefault(v, _score_cell(v, max_score, options.percent))
              for v in np.where(listed_rows >= 0, grades.score[np.maximum(listed_rows, 0)], 0.0).tolist()]
    summaries = _summaries(grades, listed_rows)
    every = grades.manifest.students
    out_of = "100" if options.percent else number(max_score)
    return Marks([every[i] for i in listed.tolist()], scores, summaries, out_of)


def _score_cell(score: float, max_score: float, percent: bool) -> str:
    if percent:
        return number(100.0 * score / max_score if max_score else 0.0, 2)
    return number(score)


_KINDS = ((CORRECT, "correct", "correct"), (FOLLOW, "follow-through", "follow-through"),
          (MISTAKE, "known mistake", "known mistakes"), (WRONG, "wrong", "wrong"), (BLANK, "blank", "blank"),
          (UNREADABLE, "unreadable", "unreadable"))


def _summaries(grades: Grades, rows: np.ndarray) -> list[str]:
    """Per row (-1: no submission) one line: the score and how many answers were correct, follow-through,
    known mistakes, wrong, blank ("18.5/24 points: 20 correct, 2 follow-through, 2 wrong")."""
    if not len(rows):
        return []
    verdict = grades.verdict[np.maximum(rows, 0)]
    counts = np.stack([(verdict == kind).sum(axis=1) for kind, _, _ in _KINDS], axis=1)
    out_of = number(grades.max_score)
    made: dict[tuple, str] = {}
    out = []
    for r, score, row_counts in zip(rows.tolist(), grades.score[np.maximum(rows, 0)].tolist(), counts.tolist()):
        if r < 0:
            out.append("no submission")
            continue
        key = (score, *row_counts)
        text = made.get(key)
        if text is None:
            parts = ", ".join(f"{n} {one if n == 1 else many}" for n, (_, one, many) in zip(row_counts, _KINDS) if n)
            text = made[key] = f"{number(score)}/{out_of} points: {parts}"
        out.append(text)
    return out


# --- an LMS export with the exam's column filled in --------------------------------------------------


def fill_export(data: bytes, source: str, grades: Grades, title: str, column: str | None = None,
                options: GradeOptions = GradeOptions()) -> tuple[bytes, list[str]]:
    """A copy of an LMS grades export with this exam's column filled; every other cell kept byte for byte.

    Students are matched on whichever column holds the most of the exam's student ids: an exact id
    first, an id equal but for case only when no other manifest id is (as grading matches them).
    The exam's column is `column`, else the one named like the title (Canvas adds " (id)",
    Blackboard " [Total Pts: ...]", Brightspace " Points Grade <...>"), else a new column at the
    end. Returns the bytes and warning lines.
    """
    text, encoding, _ = decode(data, source)
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    hint = re.fullmatch(r'"?sep=(.)"?\s*', first_line.strip())
    delimiter = hint.group(1) if hint else sniff_delimiter(first_line)
    records = [r for r in split_raw(text, delimiter) if any(b > a for a, b in r.fields)]
    if hint:
        records = records[1:]
    if len(records) < 2:
        raise NnexamError(f"{source}: expected a header row and student rows")
    cells = lambda r, i: unquote(text[r.fields[i][0]:r.fields[i][1]]) if i < len(r.fields) else ""  # noqa: E731
    header = [cells(records[0], i).lstrip("\ufeff") for i in range(len(records[0].fields))]
    m = marks(grades, options)
    scores = {s.id: score for s, score in zip(m.students, m.scores)}
    match = _id_matcher([s.id for s in grades.manifest.students])
    counts = [sum(match(cells(r, i)) is not None for r in records[1:]) for i in range(len(header))]
    id_col = max(range(len(header)), key=lambda i: (counts[i], -i))
    if counts[id_col] == 0:
        raise NnexamError(f"{source}: no column holds this exam's student ids (the ids come from the manifest, such as "
                          f"{grades.manifest.students[0].id!r})")
    sids = [None] + [match(cells(r, id_col)) for r in records[1:]]  # the student of each record
    # A student the id column misses may still be named, in another column, by the LMS identity the
    # exam kept under that column's name (a quiz respondent without an SIS id: Canvas's "ID"); only
    # a row that names one such student, and the only row naming them.
    found = set(sids)
    by_identity = _identity_matcher(header, [s for s in grades.manifest.students if s.id not in found], id_col)
    extra = {n: sid for n, r in enumerate(records[1:], 1) if sids[n] is None and (sid := by_identity(lambda i: cells(r, i)))}
    twice = {sid for sid, k in Counter(extra.values()).items() if k > 1}
    for n, sid in extra.items():
        sids[n] = None if sid in twice else sid
    target = _target_column(header, title, column, source)
    if target == id_col:
        raise NnexamError(f"{source}: column {header[id_col]!r} holds the student ids; the scores need another column "
                          "(--lms-column)")
    line_of = lambda r: text.count("\n", 0, r.fields[0][0]) + 1  # noqa: E731
    decimal_comma = delimiter == ";" and bool(re.search(r'(^|;)"?\d+,\d+"?(;|$)', text, re.M))
    num = (lambda s: s.replace(".", ",")) if decimal_comma else (lambda s: s)  # noqa: E731
    out_of = "100" if options.percent else number(grades.max_score)
    pieces: list[str] = []
    pos = 0
    filled: set[str] = set()
    for n, r in enumerate(records):
        if target is None:
            # New column: append a field to the header, the Points Possible row and every student row.
            if n == 0:
                value = csvout.cell(title)  # neutral, and quoted for whichever separator a spreadsheet splits on
            elif "points possible" in cells(r, 0).strip().lower():
                value = num(out_of)
            else:
                sid = sids[n]
                value = num(scores[sid]) if sid in scores else ""
                if sid in scores:
                    filled.add(sid)
            if n and len(r.fields) > len(header):
                raise NnexamError(f"{source}: line {line_of(r)} has {len(r.fields)} cells, the header {len(header)}: "
                                  "the new score column would not line up")
            pieces.append(text[pos:r.end])
            pieces.append(delimiter * (len(header) - len(r.fields) + 1) + value)  # short rows padded
            pos = r.end
            continue
        if n == 0:
            continue
        sid = sids[n]
        if sid not in scores:
            continue
        filled.add(sid)
        value = num(scores[sid])
        if target < len(r.fields):
            a, b = r.fields[target]
            pieces.append(text[pos:a])
            pieces.append(value)
            pos = b
        else:
            pieces.append(text[pos:r.end])
            pieces.append(delimiter * (target - len(r.fields) + 1) + value)
            pos = r.end
    pieces.append(text[pos:])
    warnings = []
    if target is not None:
        pp = next((r for r in records[1:] if "points possible" in cells(r, 0).lower()), None)
        said = _column_maximum(header[target], cells(pp, target) if pp is not None else "")
        if said is not None and abs(said - float(out_of)) > 1e-9:
            warnings.append(f"{source}: column {header[target]!r} is out of {number(said)} points, the scores written "
                            f"are out of {out_of}{'' if options.percent else ' (--percent writes percentages)'}; "
                            "set the column's maximum to match before importing")
    missing = [sid for sid in scores if sid not in filled]
    if missing:
        warnings.append(f"{source}: {len(missing)} graded student(s) not in the export, so not filled in: "
                        f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    out = "".join(pieces)
    try:
        return out.encode(encoding), warnings
    except UnicodeEncodeError:
        return out.encode("utf-8-sig"), warnings + [f"{source}: written as UTF-8 (the title does not fit {encoding})"]


_MAXIMUM_IN_HEADER = re.compile(r"\[Total Pts:\s*([0-9.]+)|MaxPoints:\s*([0-9.]+)")  # Blackboard, Brightspace


def _column_maximum(header: str, points_possible: str) -> float | None:
    """The maximum an export states for a column: Canvas's Points Possible row, Blackboard's
    "[Total Pts: 24 Score]", Brightspace's "<Numeric MaxPoints:24>"; None when it states none."""
    found = _MAXIMUM_IN_HEADER.search(header)
    text = (found.group(1) or found.group(2)) if found else points_possible.strip().replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


_IMPORT_SCREENS = {
    "Canvas": "in Canvas, Grades > Import, Upload Data, review, Save Changes",
    "Moodle": "in Moodle, Grades > Import > CSV file, map the exam's column to its grade item, Upload grades",
    "Blackboard": "in Blackboard, Grade Center > Work Offline > Upload, delimiter Auto, Submit",
    "Brightspace": "in Brightspace, Grades > Enter Grades > Import, Continue, review, Import",
}


def export_how(data: bytes, source: str, name: str) -> str:
    """One line on importing the filled copy `name` of an LMS export, by the layout its header shows."""
    try:
        layout = detect_roster(read_table(data, source)).layout
    except NnexamError:
        layout = ""
    where = next((how for lms_name, how in _IMPORT_SCREENS.items() if layout.startswith(lms_name)),
                 "upload it to the LMS it was downloaded from, with its grade import")
    return f"{name}: {where}"


def _id_matcher(ids: Sequence[str]):
    """A function from an export's id cell to the manifest id it stands for (None when none): the same
    id, else the one id equal to it but for case and spaces (ids equal but for case: only an exact
    match decides, as grade._student_indices decides)."""
    exact = set(ids)
    folded: dict[str, str | None] = {}
    for sid in ids:
        k = id_key(sid)
        folded[k] = None if k in folded else sid

    def match(text: str) -> str | None:
        if text in exact:
            return text
        if text.startswith("#") and text[1:] in exact:  # Brightspace writes its ids as #20067930
            return text[1:]
        return folded.get(id_key(text)) if text else None

    return match


_NOT_IDS = frozenset(("Student", "LastName", "FirstName", "First name", "Last name", "Section", "Root Account"))


def _identity_matcher(header: list[str], students: Sequence[StudentVariant], id_col: int):
    """A function from a row's cells (by column index) to the id of the student whose identity holds
    that row's value in a column of the same name (None when none): only columns other than the id
    column, naming an identifier (no names or sections), whose values tell the students apart."""
    kept = {name for s in students for name in s.identity} - _NOT_IDS
    columns = []
    for i, h in enumerate(header):
        name = h.strip()
        if i == id_col or name not in kept:
            continue
        # "ID" is Canvas's user id only in a Canvas identity (with its Section); elsewhere it is a roster's own column
        values = [(s.identity.get(name, "") if name != "ID" or "Section" in s.identity else "", s.id) for s in students]
        values = [(v, sid) for v, sid in values if v]
        owner = dict(values)
        if owner and len(owner) == len(values):  # no value shared by two students
            columns.append((i, owner))

    def find(cell_at) -> str | None:
        for i, owner in columns:
            sid = owner.get(cell_at(i))
            if sid is not None:
                return sid
        return None

    return find


def _target_column(header: list[str], title: str, column: str | None, source: str) -> int | None:
    wanted = column or title
    for i, h in enumerate(header):
        if h == wanted:
            return i
    key = header_key(wanted)
    for i, h in enumerate(header):
        # Canvas "Exam 1 (12345)", Blackboard "Exam 1 [Total Pts: 10 Score] |123", Brightspace "Exam 1 Points Grade <...>",
        # Moodle "Exam 1 (Real)"
        base = re.split(r"\s*[\(\[<|]", h, maxsplit=1)[0]
        if header_key(h) == key or header_key(base) == key or header_key(base.removesuffix(" Points Grade")) == key:
            return i
    if column:
        raise NnexamError(f"{source}: no column {column!r} (columns: {', '.join(header[:8])}{' ...' if len(header) > 8 else ''})")
    return None


def read_roster(raw: bytes, source: str, id_column: str | None = None) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """(students as (id, name), warnings) of a roster file's bytes, in whichever layout it is (lms.detect_roster)."""
    roster = detect_roster(read_table(raw, source), id_column)
    return roster.pairs(), roster.warnings


def parse_roster(text: str, source: str, id_column: str | None = None) -> list[tuple[str, str]]:
    """(id, name) per student of a roster's text; duplicate or blank ids are refused naming the rows."""
    if not text.strip():
        raise NnexamError(f"{source}: the roster is empty (expected a CSV with a header row)")
    return read_roster(text.encode("utf-8"), source, id_column)[0]


__all__ = ["GradeFile", "GradeOptions", "Marks", "Roster", "SYSTEMS", "detect_roster", "fill_export", "grade_files",
           "export_how", "marks", "parse_roster", "read_roster", "system"]
