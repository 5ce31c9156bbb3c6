"""What grading hands back: grades.csv and one feedback text per student (the LMS files: nnexam.lms).

Every function returns text or bytes; the CLI writes them. Every text cell goes through csvout.cell
(a formula neutralized with a leading apostrophe, a cell holding a separator quoted); numbers are
written as numbers. grades.csv starts with a UTF-8 BOM (Excel then reads accented names right);
the LMS files do not.
"""

from __future__ import annotations

import itertools
import operator
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from . import csvout
from .files import unique_stems
from .grade import (ATTENTION, DUPLICATE, FOLLOW, MISMATCH, MISTAKE, NO_SUBMISSION, UNKNOWN,
                    UNREADABLE, UNREADABLE_CELLS, VERDICTS, WRONG, Grades)
from .mistakes import Mistake


def neutralize(text: str) -> str:
    """A text cell made inert for spreadsheets (csvout.neutral: a leading ' before a formula start,
    never before a plain number such as -17 or +4917, which must reach the LMS as it is)."""
    return csvout.neutral(text)


def number(value: float, decimals: int = 4) -> str:
    """A score as a plain number: 7, 7.5, 0.3333; '' when there is none."""
    if value is None or not np.isfinite(value):
        return ""
    s = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


class _Memo(dict):
    """A dict that makes a missing value with make(key) on first lookup and keeps it."""

    def __init__(self, make: Callable):
        super().__init__()
        self.make = make

    def __missing__(self, key):
        value = self[key] = self.make(key)
        return value


def exam_title(grades: Grades) -> str:
    """The exam's column name in LMS files."""
    m = grades.manifest
    return m.title or f"nnexam {m.bank_name} {m.seed}".strip()


def feedback_stems(grades: Grades) -> list[str]:
    """File stem of every manifest student's feedback (stable whoever submitted)."""
    return unique_stems([s.id for s in grades.manifest.students])


# --- CSV cells --------------------------------------------------------------------------------
# The CSV files are made column by column and joined into lines (csv.writer, a row at a time, would
# cost more than all the rest); every text cell is as csvout.cell writes it, lines end in CRLF.



def _csv_row(cells: list[str]) -> str:
    """One CSV row of text cells, each made safe by csvout.cell (CRLF, as csv.writer's excel dialect)."""
    return csvout.row(cells)


def _csv_cell(text: str) -> str:
    """One text cell as written: csvout.cell (neutral, quoted when it holds a separator, quote or line break)."""
    return csvout.cell(text)


def _csv_texts(texts: Sequence[str]) -> Sequence[str]:
    """A column of text cells, each as csvout.cell writes it."""
    return csvout.column(texts)


def _csv_lines(columns: list[Iterable[str]]) -> str:
    """CSV lines of cells already written as cells: line i holds cell i of every column (as many
    lines as the shortest column has cells; a column of one repeated cell can be itertools.repeat)."""
    lines = list(map(",".join, zip(*columns)))
    return "\r\n".join(lines) + "\r\n" if lines else ""


# --- grades.csv -------------------------------------------------------------------------------


def grades_csv(grades: Grades) -> str:
    """One row per submission row (and per student without one): status, score and points per question."""
    m, subs = grades.manifest, grades.submissions
    header = _csv_row(["student_id", "name", "variant", "status", "score", "max_score", "percent"]
                      + [q.label for q in m.questions] + ["line", "notes"])  # each through csvout.cell
    # The manifest's names and variants by student; an unknown student (-1) is the blank at the end.
    names = _take(list(map(operator.attrgetter("name"), m.students)) + [""], grades.student)
    variants = subs.variants
    if not all(variants):  # the long layout may have none
        variants = [v or w for v, w in zip(variants, _take([s.variant for s in m.students] + [""], grades.student))]
    rows = _csv_lines([_csv_texts(subs.ids), _csv_texts(names), _csv_texts(variants), _csv_texts(grades.status),
                       _score_cells(grades), _csv_texts(list(map(str, subs.lines))), _csv_texts(["; ".join(n) for n in grades.notes])])
    missing = _take(m.students, np.array(grades.missing, dtype=np.int64))
    every = itertools.repeat
    rows += _csv_lines([_csv_texts([s.id for s in missing]), _csv_texts([s.name for s in missing]),
                        _csv_texts([s.variant for s in missing]), every(_csv_cell(NO_SUBMISSION)),
                        every(_not_graded_cells(grades)), every(""), every("")])  # no line, no notes
    return csvout.BOM + header + rows


def _score_cells(grades: Grades) -> list[str]:
    """Per submission row the cells score, max_score, percent and the points of each question, comma-joined."""
    max_score = grades.max_score
    out_of = number(max_score)

    def total(score: float) -> str:
        """Score, max_score and percent cells."""
        return f"{number(score)},{out_of},{number(100.0 * score / max_score if max_score else 0.0, 2)}"

    totals = _Memo(total)
    not_graded = _not_graded_cells(grades)
    points = _points_cells_csv(grades.points)
    return [totals[score] + cells if graded else not_graded
            for graded, score, cells in zip(grades.graded.tolist(), grades.score.tolist(), points)]


def _points_cells_csv(points: np.ndarray) -> list[str]:
    """Per row of `points` its cells, each after a comma. Rows repeat (a class has few patterns of
    points), so each distinct row is written once, found by its bytes."""
    n, nq = points.shape
    if nq == 0:
        return [""] * n
    cells = _Memo(lambda v: "," + number(v))
    texts = _Memo(lambda row: "".join(map(cells.__getitem__, np.frombuffer(row).tolist())))
    rows = np.ascontiguousarray(points, dtype=np.float64).view(np.dtype((np.void, 8 * nq))).reshape(n)
    return list(map(texts.__getitem__, rows.tolist()))


def _not_graded_cells(grades: Grades) -> str:
    """The score, max_score, percent and points cells of a row that was not graded: only max_score."""
    return f",{number(grades.max_score)}," + "," * len(grades.manifest.questions)


# --- feedback ---------------------------------------------------------------------------------
# A feedback text is one %-format per exam (_feedback_template) filled with one tuple per student.
# The tuples come from columns, each made for all the students at once: four about the student,
# then three per question (the answer as given, the expected value, the points with verdict and why).


def feedback_rows(grades: Grades) -> np.ndarray:
    """The submission rows that get a feedback file: the graded ones, in order."""
    return np.flatnonzero(grades.graded)


def feedback_texts(grades: Grades, rows: np.ndarray | None = None,
                   stems: list[str] | None = None) -> Iterator[tuple[str, str]]:
    """(file stem, text) for every graded submission (or those of `rows`, a slice of
    feedback_rows): per question the answer, expected value, verdict and why."""
    stems = stems if stems is not None else feedback_stems(grades)
    rows = feedback_rows(grades) if rows is None else rows
    if not len(rows):
        return
    template = _feedback_template(grades)
    columns = _student_columns(grades, rows)
    for qi in range(len(grades.manifest.questions)):
        columns += _question_columns(grades, rows, qi)
    for stem, values in zip([stems[s] for s in grades.student[rows].tolist()], zip(*columns)):
        yield stem, template % values


def _given_width(grades: Grades) -> int:
    """Width of the 'your answer' column (from the first 2000 answers of each question: the same for every slice)."""
    return max(12, max((len(t) for col in grades.submissions.texts for t in col[:2000]), default=0))


def _literal(text: str) -> str:
    """`text` as the literal part of a %-format."""
    return text.replace("%", "%%")


def _feedback_template(grades: Grades) -> str:
    """The exam's feedback text as a %-format. Its slots: the student's name and variant, the score
    line, the note lines; then per question the answer as given, the expected value and the points
    with verdict and why."""
    m = grades.manifest
    width = max(len(q.label) for q in m.questions)
    given = _given_width(grades)
    title = m.title or "Exam"
    course = f" ({m.course})" if m.course else ""
    head = f"  {'question':<{width}}  {'your answer':>{given}}  {'expected':>12}  {'points':>7}  verdict"
    lines = [_literal(f"  {q.label:<{width}}  ") + f"%{given}s{_expected_slot(q.decimals)}%s" for q in m.questions]
    rule = (f"An answer computed correctly from your own earlier (wrong) answers earns "
            f"{number(100 * grades.policy.follow_through)}% of its points"
            " (follow-through), unless an earlier value it uses is blank or impossible.")
    footer = ("\n\nExpected values are exact, shown at the stated decimals; rounding or truncating each step at "
              f"those decimals and carrying on is accepted.\n{rule}\n")
    return (_literal(f"{title}{course}\nStudent: ") + "%s, variant %s\n%s%s\n" + _literal(head) + "\n"
            + "\n".join(lines) + _literal(footer))


def _student_columns(grades: Grades, rows: np.ndarray) -> list[list[str]]:
    """The slots about the student, per row: name (and id), variant, score line, note lines."""
    max_score = grades.max_score

    def score_line(score: float) -> str:
        """'Score: 7 / 24 (29.2%)' and a newline."""
        percent = 100.0 * score / max_score if max_score else 0.0
        return f"Score: {number(score)} / {number(max_score)} ({percent:.1f}%)\n"

    students = _take(grades.manifest.students, grades.student[rows])
    names = list(map(operator.attrgetter("name"), students))
    ids = list(map(operator.attrgetter("id"), students))
    return [[f"{name} ({sid})" if name else sid for name, sid in zip(names, ids)],
            list(map(operator.attrgetter("variant"), students)),
            list(map(_Memo(score_line).__getitem__, grades.score[rows].tolist())),
            ["".join(f"Note: {n}\n" for n in notes) if notes else "" for notes in _take(grades.notes, rows)]]


def _question_columns(grades: Grades, rows: np.ndarray, qi: int) -> list[list]:
    """Question qi's slots, per row: the answer as given, the expected value, the points with verdict and why."""
    expected = _expected_values(grades.expected[rows, qi], grades.manifest.questions[qi].decimals)
    return [_given_texts(grades, rows, qi), expected, _verdict_texts(grades, rows, qi)]


def _given_texts(grades: Grades, rows: np.ndarray, qi: int) -> list[str]:
    """The answers to question qi as written; '(blank)' for an empty cell."""
    subs = grades.submissions
    texts = _take(subs.texts[qi], rows)
    for k in np.flatnonzero(np.isnan(subs.values[rows, qi])).tolist():  # an empty cell has no value
        if not texts[k]:
            texts[k] = "(blank)"
    return texts


def _take(items: Sequence, rows: np.ndarray) -> list:
    """[items[r] for r in rows], taken at once (a slice when rows are consecutive)."""
    if len(rows) < 2:
        return [items[r] for r in rows.tolist()]
    first = int(rows[0])
    if first >= 0 and np.array_equal(rows, np.arange(first, first + len(rows))):
        return list(items[first:first + len(rows)])
    return list(operator.itemgetter(*rows.tolist())(items))


def _expected_slot(decimals: int) -> str:
    """The template's slot for an expected value: a float at `decimals` in 14 characters; a text
    when -0.000... at `decimals` is wider than that (its sign is then shown as a space)."""
    return f"%14.{decimals}f" if len(f"{-0.0:.{decimals}f}") <= 14 else "%14s"


def _expected_values(values: np.ndarray, decimals: int) -> list:
    """The expected values to fill _expected_slot(decimals), never shown as -0.000."""
    if _expected_slot(decimals).endswith("f"):
        return _without_negative_zero(values, decimals).tolist()
    negative_zero = f"{-0.0:14.{decimals}f}"
    texts = [f"%14.{decimals}f" % v for v in values.tolist()]
    return [t.replace("-", " ") if t == negative_zero else t for t in texts]


def _without_negative_zero(values: np.ndarray, decimals: int) -> np.ndarray:
    """A copy of `values` where those shown as -0.000 at `decimals` are +0 (shown as 0.000)."""
    values = values.copy()
    pattern = f"%.{decimals}f"
    for k in np.flatnonzero(np.signbit(values) & (values > -(10.0 ** -decimals))).tolist():
        if float(pattern % values[k]) == 0:
            values[k] = 0.0
    return values


def _verdict_texts(grades: Grades, rows: np.ndarray, qi: int) -> list[str]:
    """Per row of question qi the points earned, the verdict and why: '     1/1  correct'."""
    verdict = grades.verdict[rows, qi]
    kind, texts = _verdict_kinds(grades, rows, qi, verdict)
    cells = texts[kind]
    _add_follow_values(cells, kind, texts, grades, rows, qi, verdict)
    cells = cells.tolist()
    _add_wrong_values(cells, grades, rows, qi, verdict)
    return cells


def _verdict_kinds(grades: Grades, rows: np.ndarray, qi: int, verdict: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row the kind of its cell (its points, verdict and known mistake, as one number), and the
    text of each kind that occurs (an object array; a class has few kinds)."""
    q = grades.manifest.questions[qi]
    mistake = np.where((verdict == MISTAKE) | (verdict == WRONG), grades.mistake[rows, qi], -1)
    points, which = np.unique(grades.points[rows, qi], return_inverse=True)
    verdicts, mistakes = len(VERDICTS) + 1, len(grades.mistakes) + 1  # from verdict -1 (not graded), mistake -1 (none)
    kind = (which.reshape(-1) * verdicts + verdict + 1) * mistakes + mistake + 1
    texts = np.empty(len(points) * verdicts * mistakes, dtype=object)
    for k in np.flatnonzero(np.bincount(kind, minlength=len(texts))).tolist():
        rest, m = divmod(k, mistakes)
        p, v = divmod(rest, verdicts)
        mistake_made = grades.mistakes[m - 1] if v - 1 in (MISTAKE, WRONG) and m > 0 else None
        texts[k] = _verdict_text(v - 1, float(points[p]), q.points, mistake_made)
    return kind, texts


def _verdict_text(verdict: int, points: float, out_of: float, mistake: Mistake | None) -> str:
    """Points of out_of, the verdict, and for a known mistake, a likely slip or an unreadable answer why."""
    text = f"  {number(points) + '/' + number(out_of):>7}  {VERDICTS[verdict]}"
    if verdict == MISTAKE:
        text += f": {mistake.title}. {mistake.explanation}"
    elif verdict == WRONG and mistake is not None:
        text += f"; likely cause: {mistake.title}"
    elif verdict == UNREADABLE:
        text += ": not a number, so not marked"
    return text


def _add_follow_values(cells: np.ndarray, kind: np.ndarray, texts: np.ndarray, grades: Grades, rows: np.ndarray,
                       qi: int, verdict: np.ndarray) -> None:
    """Add to the cells of a follow-through the value the student's own earlier answers give."""
    follow = np.flatnonzero(verdict == FOLLOW)
    if not len(follow):
        return
    d = grades.manifest.questions[qi].decimals
    # Each cell made in one step: the text of its kind and why, as a %-format, filled with the value.
    why = f": follows from your own earlier answers (they give %.{d}f)"
    formats = [_literal(t) + why if t is not None else None for t in texts.tolist()]
    own = _without_negative_zero(grades.own[rows[follow], qi], d).tolist()
    made = map(operator.mod, _take(formats, kind[follow]), own)
    cells[follow] = np.fromiter(made, dtype=object, count=len(follow))


def _add_wrong_values(cells: list[str], grades: Grades, rows: np.ndarray, qi: int, verdict: np.ndarray) -> None:
    """Add to the cells of a wrong answer what the student's own earlier answers give, if that shows otherwise."""
    d = grades.manifest.questions[qi].decimals
    wrong = np.flatnonzero(verdict == WRONG)
    own = _without_negative_zero(grades.own[rows[wrong], qi], d).tolist()
    expected = _without_negative_zero(grades.expected[rows[wrong], qi], d).tolist()
    shown = f"%.{d}f"  # what present.fmt shows, once -0 is made 0
    for k, o, e in zip(wrong.tolist(), own, expected):
        if o == o and shown % o != shown % e:
            cells[k] += f" (from your own earlier answers this step gives {shown % o})"


# --- LMS files --------------------------------------------------------------------------------
# canvas.csv, moodle.csv and the filled LMS export are written by nnexam.lms (one module per LMS),
# with the cell writers above.


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


__all__ = ["ATTENTION", "attention_lines", "exam_title", "feedback_texts", "grades_csv", "neutralize", "number"]
