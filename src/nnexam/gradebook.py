"""What grading hands back: grades.csv, one feedback text per student, and files for the LMS.

Every function returns text or bytes; the CLI writes them. Text cells that a spreadsheet would run
as a formula (starting with =, +, -, @, tab or CR) are neutralized with a leading apostrophe
(OWASP's advice for CSV injection); numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterator

import numpy as np

from .errors import NnexamError
from .files import unique_stems
from .grade import (ATTENTION, BLANK, CORRECT, DUPLICATE, FOLLOW, MISMATCH, MISTAKE, NO_SUBMISSION, UNKNOWN,
                    UNREADABLE, UNREADABLE_CELLS, VERDICTS, WRONG, Grades)
from .present import fmt
from .table import decode, header_key, quote, sniff_delimiter, split_raw, unquote

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralize(text: str) -> str:
    """A text cell made inert for spreadsheets: a leading ' before =, +, -, @, tab or CR, unless the
    cell is a plain number (an id such as -17 or +4917 must reach the LMS as it is)."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def number(value: float, decimals: int = 4) -> str:
    """A score as a plain number: 7, 7.5, 0.3333; '' when there is none."""
    if value is None or not np.isfinite(value):
        return ""
    s = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def exam_title(grades: Grades) -> str:
    """The exam's column name in LMS files."""
    m = grades.manifest
    return m.title or f"nnexam {m.bank_name} {m.seed}".strip()


def feedback_stems(grades: Grades) -> list[str]:
    """File stem of every manifest student's feedback (stable whoever submitted)."""
    return unique_stems([s.id for s in grades.manifest.students])


# --- grades.csv -------------------------------------------------------------------------------


def grades_csv(grades: Grades) -> str:
    """One row per submission row (and per student without one): status, score and points per question."""
    m, subs = grades.manifest, grades.submissions
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["student_id", "name", "variant", "status", "score", "max_score", "percent"]
               + [neutralize(q.label) for q in m.questions] + ["line", "notes"])
    max_score = grades.max_score
    score = grades.score
    cache: dict[float, str] = {}
    totals: dict[float, list[str]] = {}

    def cell(v: float) -> str:
        s = cache.get(v)
        if s is None:
            s = cache[v] = number(v)
        return s

    points = grades.points.tolist()
    for e in range(len(grades.status)):
        s = int(grades.student[e])
        name = m.students[s].name if s >= 0 else ""
        if grades.graded[e]:
            sc = float(score[e])
            tail = totals.get(sc)
            if tail is None:
                tail = totals[sc] = [number(sc), number(max_score), number(100.0 * sc / max_score if max_score else 0.0, 2)]
            pts = [cell(v) for v in points[e]]
        else:
            tail, pts = ["", number(max_score), ""], [""] * len(m.questions)
        variant = subs.variants[e] or (m.students[s].variant if s >= 0 else "")  # the long layout may have none
        w.writerow([neutralize(subs.ids[e]), neutralize(name), neutralize(variant), grades.status[e]]
                   + tail + pts + [subs.lines[e], neutralize("; ".join(grades.notes[e]))])
    for s in grades.missing:
        st = m.students[s]
        w.writerow([neutralize(st.id), neutralize(st.name), neutralize(st.variant), NO_SUBMISSION, "",
                    number(max_score), ""] + [""] * len(m.questions) + ["", ""])
    return out.getvalue()


# --- feedback ---------------------------------------------------------------------------------


def feedback_rows(grades: Grades) -> np.ndarray:
    """The submission rows that get a feedback file: the graded ones, in order."""
    return np.flatnonzero(grades.graded)


def feedback_texts(grades: Grades, rows: np.ndarray | None = None,
                   stems: list[str] | None = None) -> Iterator[tuple[str, str]]:
    """(file stem, text) for every graded submission (or those of `rows`, a slice of
    feedback_rows): per question the answer, expected value, verdict and why."""
    m, subs = grades.manifest, grades.submissions
    questions = m.questions
    stems = stems if stems is not None else feedback_stems(grades)
    rows = feedback_rows(grades) if rows is None else rows
    if not len(rows):
        return
    width = max(len(q.label) for q in questions)
    given_width = max(12, max((len(t) for col in subs.texts for t in col[:2000]), default=0))
    tails: dict[tuple[int, float, float], str] = {}
    columns = []
    # Column by column (list comprehensions over all students), then student by student.
    for qi, q in enumerate(questions):
        d = q.decimals
        negative_zero = "-0." + "0" * d if d else "-0"
        pattern = f"%{14}.{d}f"
        expected = [pattern % v for v in grades.expected[rows, qi].tolist()]
        zero = negative_zero.rjust(14)
        if zero in expected:
            expected = [x if x != zero else x.replace("-", " ") for x in expected]
        verdict = grades.verdict[rows, qi]
        for v, p in set(zip(verdict.tolist(), grades.points[rows, qi].tolist())):
            tails[(v, p, q.points)] = f"  {number(p) + '/' + number(q.points):>7}  {VERDICTS[v]}"
        prefix = f"  {q.label:<{width}}  "
        column = subs.texts[qi]
        texts = column if len(rows) == len(column) else [column[r] for r in rows.tolist()]
        tail = {(v, p): t for (v, p, pts), t in tails.items() if pts == q.points}
        lines = [prefix + (t or "(blank)").rjust(given_width) + e + tail[v, p] for t, e, v, p in
                 zip(texts, expected, verdict.tolist(), grades.points[rows, qi].tolist())]
        # Only the rarer verdicts need a reason appended.
        for k in np.flatnonzero((verdict == FOLLOW) | (verdict == MISTAKE) | (verdict == WRONG) | (verdict == UNREADABLE)).tolist():
            v, o = int(verdict[k]), float(grades.own[rows[k], qi])
            if v == FOLLOW:
                lines[k] += f": follows from your own earlier answers (they give {fmt(o, d)})"
            elif v == MISTAKE:
                mk = grades.mistakes[grades.mistake[rows[k], qi]]
                lines[k] += f": {mk.title}. {mk.explanation}"
            elif v == WRONG and o == o and fmt(o, d) != expected[k].strip():
                lines[k] += f" (from your own earlier answers this step gives {fmt(o, d)})"
            elif v == UNREADABLE:
                lines[k] += ": not a number, so not marked"
        columns.append(lines)
    head = f"  {'question':<{width}}  {'your answer':>{given_width}}  {'expected':>12}  {'points':>7}  verdict"
    title = m.title or "Exam"
    course = f" ({m.course})" if m.course else ""
    share = grades.policy.follow_through
    rule = (f"An answer computed correctly from your own earlier (wrong) answers earns {number(100 * share)}% of its points"
            " (follow-through), unless an earlier value it uses is blank or impossible.")
    max_score = grades.max_score
    students, notes = m.students, grades.notes
    who = grades.student[rows].tolist()
    score_lines: dict[float, str] = {}
    footer = ("\n\nExpected values are exact, shown at the stated decimals; rounding or truncating each step at "
              f"those decimals and carrying on is accepted.\n{rule}\n")
    top = f"{title}{course}\nStudent: "
    for e, si, sc, lines in zip(rows.tolist(), who, grades.score[rows].tolist(), zip(*columns)):
        s = students[si]
        score = score_lines.get(sc)
        if score is None:
            pct = 100.0 * sc / max_score if max_score else 0.0
            score = score_lines[sc] = f"Score: {number(sc)} / {number(max_score)} ({pct:.1f}%)\n"
        note = "".join(f"Note: {n}\n" for n in notes[e]) if notes[e] else ""
        name = f"{s.name} ({s.id})" if s.name else s.id
        yield stems[si], f"{top}{name}, variant {s.variant}\n{score}{note}\n{head}\n" + "\n".join(lines) + footer


# --- LMS files --------------------------------------------------------------------------------


def _graded_scores(grades: Grades) -> dict[str, float]:
    """Manifest student id -> score, for graded submissions."""
    ids = [s.id for s in grades.manifest.students]
    score = grades.score
    return {ids[int(grades.student[e])]: float(score[e]) for e in np.flatnonzero(grades.graded).tolist()}


def canvas_csv(grades: Grades, title: str) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, exam; a Points Possible row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", neutralize(title)])
    w.writerow(["    Points Possible", "", "", "", "", number(grades.max_score)])
    scores = _graded_scores(grades)
    for s in grades.manifest.students:
        if s.id in scores:
            w.writerow([neutralize(s.name), "", neutralize(s.id), "", "", number(scores[s.id])])
    return out.getvalue()


def moodle_csv(grades: Grades, title: str) -> str:
    """Moodle's grade import ("map from" the id column to the users' ID number): id and score."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["ID number", neutralize(title)])
    scores = _graded_scores(grades)
    for s in grades.manifest.students:
        if s.id in scores:
            w.writerow([neutralize(s.id), number(scores[s.id])])
    return out.getvalue()


def fill_lms_export(data: bytes, source: str, grades: Grades, title: str, column: str | None = None) -> tuple[bytes, list[str]]:
    """A copy of an LMS grades export with this exam's column filled; every other cell kept byte for byte.

    Students are matched on whichever column holds the most of the exam's student ids. The exam's
    column is `column`, else the one named like the title (Canvas adds " (id)", Blackboard
    " [Total Pts: ...]"), else a new column at the end. Returns the bytes and warning lines.
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
    scores = _graded_scores(grades)
    folded = {k.casefold(): k for k in scores}
    known = {s.id.casefold() for s in grades.manifest.students}
    counts = [sum(cells(r, i).casefold() in known for r in records[1:]) for i in range(len(header))]
    id_col = max(range(len(header)), key=lambda i: (counts[i], -i))
    if counts[id_col] == 0:
        raise NnexamError(f"{source}: no column holds this exam's student ids (the ids come from the manifest, such as "
                          f"{grades.manifest.students[0].id!r})")
    target = _target_column(header, title, column, source)
    if target == id_col:
        raise NnexamError(f"{source}: column {header[id_col]!r} holds the student ids; the scores need another column "
                          "(--lms-column)")
    line_of = lambda r: text.count("\n", 0, r.fields[0][0]) + 1  # noqa: E731
    decimal_comma = delimiter == ";" and bool(re.search(r'(^|;)"?\d+,\d+"?(;|$)', text, re.M))
    warnings = []
    pieces = []
    pos = 0
    filled = set()
    for n, r in enumerate(records):
        if target is None:
            # New column: append a field to the header, the Points Possible row and every student row.
            if n == 0:
                value = quote(title, delimiter)
            elif cells(r, 0).strip().lower() == "points possible":
                value = _num(grades.max_score, decimal_comma)
            else:
                sid = folded.get(cells(r, id_col).casefold())
                value = _num(scores[sid], decimal_comma) if sid is not None else ""
                if sid is not None:
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
        sid = folded.get(cells(r, id_col).casefold())
        if sid is None:
            continue
        filled.add(sid)
        value = _num(scores[sid], decimal_comma)
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
    missing = [sid for sid in scores if sid not in filled]
    if missing:
        warnings.append(f"{source}: {len(missing)} graded student(s) not in the export, so not filled in: "
                        f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    out = "".join(pieces)
    try:
        return out.encode(encoding), warnings
    except UnicodeEncodeError:
        return out.encode("utf-8-sig"), warnings + [f"{source}: written as UTF-8 (the title does not fit {encoding})"]


def _target_column(header: list[str], title: str, column: str | None, source: str) -> int | None:
    wanted = column or title
    for i, h in enumerate(header):
        if h == wanted:
            return i
    key = header_key(wanted)
    for i, h in enumerate(header):
        # Canvas "Exam 1 (12345)", Blackboard "Exam 1 [Total Pts: 10 Score] |123", Brightspace "Exam 1 Points Grade <...>"
        base = re.split(r"\s*[\(\[<|]", h, maxsplit=1)[0]
        if header_key(h) == key or header_key(base) == key or header_key(base.removesuffix(" Points Grade")) == key:
            return i
    if column:
        raise NnexamError(f"{source}: no column {column!r} (columns: {', '.join(header[:8])}{' ...' if len(header) > 8 else ''})")
    return None


def _num(value: float, decimal_comma: bool) -> str:
    s = number(value)
    return s.replace(".", ",") if decimal_comma else s


# --- summaries --------------------------------------------------------------------------------


def attention_lines(grades: Grades) -> list[str]:
    """One line per kind of row that needs the instructor's attention (empty when all graded cleanly)."""
    lines = []
    subs = grades.submissions
    for kind, what in ((UNKNOWN, "unknown student"), (MISMATCH, "variant that does not match the student (not graded)"),
                       (DUPLICATE, "duplicate (an earlier row replaced by a later one, or an answer given twice)"),
                       (UNREADABLE_CELLS, "unreadable cells (scored 0; see grades.csv notes)")):
        rows = [subs.lines[e] for e, st in enumerate(grades.status) if st == kind]
        if rows:
            shown = ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
            lines.append(f"{len(rows)} row(s) with {what}: line(s) {shown}")
    return lines


def verdict_counts(grades: Grades) -> np.ndarray:
    """(questions, 5): correct, follow-through, known mistake, other wrong, blank or unreadable, over graded rows."""
    v = grades.verdict[grades.graded]
    cats = [v == CORRECT, v == FOLLOW, v == MISTAKE, v == WRONG, (v == BLANK) | (v == UNREADABLE)]
    return np.stack([c.sum(axis=0) for c in cats], axis=1)


__all__ = ["ATTENTION", "attention_lines", "canvas_csv", "exam_title", "feedback_texts", "fill_lms_export",
           "grades_csv", "moodle_csv", "neutralize", "number", "verdict_counts"]
