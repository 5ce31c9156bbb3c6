"""Grading: submissions parsed from a table, then marked the way a careful human marker would.

Parse, then grade (PrairieLearn's split). `parse_submissions` turns a Table into answers: one entry
per submission (a row of the wide layout, or one student's rows of the long layout), with NaN for
blanks and unreadable cells listed. `grade` marks every entry at once with numpy, one column per
question:

1. correct: in the interval tolerance.accepted gives (what honest rounding or truncation of every
   earlier step at its decimals reaches, then the question's tolerance; docs/tolerance.md);
2. follow-through: the same rule on the student's own earlier values (blank or absurd ones
   replaced by the computed value, and then earning nothing for what depends on them);
3. diagnosis: a wrong answer matching a common mistake (mistakes.MISTAKES), on the full mistaken
   chain or on the student's own chain, is named; else the first single substitution in the
   step's formula that gives it (mistakes.substitutions) is attached as a likely cause.

`check_key` marks an instructor's hand-worked key strictly: a value is right when it is the exact
value rounded or truncated at the decimals it is written with; a wrong one is explained.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import chain, compress, repeat
from operator import attrgetter, ne
from typing import Iterator, Mapping, Sequence

import numpy as np

from . import csvout
from .errors import NnexamError
from .graph import StepGraph, build_graph
from .ids import id_key
from .manifest import Manifest, StudentVariant
from .mistakes import Mistake, applicable, rewrites, substitutions
from .notation import labels as make_labels
from .solve import evaluate, evaluate_step, reachable_intervals, sampled_intervals
from .spec import Network
from .table import Table, decimals_written, header_key, parse_column, parse_number, Unreadable
from .tolerance import accepted, last_digit_units, within

# Verdicts, as codes in the arrays and as words in records and files.
CORRECT, FOLLOW, MISTAKE, WRONG, BLANK, UNREADABLE = range(6)
VERDICTS = ("correct", "follow-through", "known mistake", "wrong", "blank", "unreadable")

# Row statuses: only GRADED rows count; every other kind needs the instructor's attention.
GRADED = "graded"
UNREADABLE_CELLS = "unreadable cells"
UNKNOWN = "unknown student"
MISMATCH = "variant mismatch"
DUPLICATE = "duplicate"
NO_SUBMISSION = "no submission"
ATTENTION = (UNKNOWN, MISMATCH, DUPLICATE, UNREADABLE_CELLS)

ID_COLUMNS = ("studentid", "id", "sid", "sisuserid", "idnumber", "orgdefinedid", "username", "email", "student")
QUESTION_COLUMNS = ("question", "label", "step", "quantity")
ANSWER_COLUMNS = ("answer", "value")


@dataclass(frozen=True)
class Policy:
    """How generous the marking is: the share of a question's points follow-through earns."""

    follow_through: float = 1.0


@dataclass(frozen=True, eq=False)
class Submissions:
    """Parsed answers, one entry per submission, questions in the manifest's order."""

    source: str
    layout: str  # "wide" or "long"
    lines: tuple[int, ...]  # line of each entry in the file (its first line in the long layout)
    ids: tuple[str, ...]
    variants: tuple[str, ...]
    values: np.ndarray  # (entries, questions); NaN = blank or unreadable
    texts: tuple[tuple[str, ...], ...]  # per question, per entry: the cell as written
    unreadable: np.ndarray  # (entries, questions) bool
    issues: tuple[tuple[tuple[str, str], ...], ...]  # per entry: (status kind, message) found while parsing
    warnings: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # per entry, the respondent's name when the file has a name column (else empty)
    # The LMS identity columns a response report gave (IDENTITY_PREFIX columns): (column, value per entry)
    identity: tuple[tuple[str, tuple[str, ...]], ...] = ()


# A submissions column headed "identity:<column>" (written by the LMS response readers) carries the
# respondent's identity in that LMS ("identity:ID" = Canvas's user id); it is no question.
IDENTITY_PREFIX = "identity:"


# --- parse ------------------------------------------------------------------------------------


def _find(keys: Sequence[str], wanted: Sequence[str]) -> int | None:
    for w in wanted:
        if w in keys:
            return keys.index(w)
    return None


def question_lookup(spellings: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Column name -> index, from (spelling, index) pairs in priority order; exact spellings win over loose ones."""
    out: dict[str, int] = {}
    for text, idx in spellings:
        out.setdefault(f"\x00{text}", idx)
    for text, idx in spellings:
        key = header_key(text)
        if key:
            out.setdefault(key, idx)
    return out


def _match(column: str, lookup: Mapping[str, int]) -> int | None:
    hit = lookup.get(f"\x00{column}")
    if hit is not None:
        return hit
    if column.startswith("'"):  # a label nnexam's template wrote with csvout's apostrophe ('=x for =x)
        hit = lookup.get(f"\x00{csvout.unneutral(column)}")
        if hit is not None:
            return hit
    return lookup.get(header_key(column))


def parse_submissions(table: Table, manifest: Manifest) -> Submissions:
    """Read a wide (one row per student) or long (student_id, question, answer) table of answers.

    A row that repeats a header (files joined with their headers) starts a new part read under
    it. A column that names no question, or a file with no answer at all (the unfilled
    template), is refused with exit status 1.
    """
    lookup = question_lookup([(q.label, i) for i, q in enumerate(manifest.questions)]
                             + [(q.name, i) for i, q in enumerate(manifest.questions)])
    parts = [_parse_part(part, manifest, lookup) for part in _split_at_headers(table, lookup)]
    subs = parts[0] if len(parts) == 1 else merge_submissions(parts, table.source)
    if not (~np.isnan(subs.values)).any() and not subs.unreadable.any():
        what = "only a header row" if not subs.ids else "every answer cell is blank (the unfilled submission_template.csv?)"
        raise NnexamError(f"no answers in {table.source}: {what}", 1)
    return subs


def _parse_part(table: Table, manifest: Manifest, lookup: Mapping[str, int]) -> Submissions:
    keys = [header_key(h) for h in table.header]
    id_col = _find(keys, ID_COLUMNS)
    if id_col is None:
        where = f"{table.source}: line {table.lines[0] - 1}" if table.lines and table.lines[0] > 2 else table.source
        raise NnexamError(f"{where}: no student id column (expected a column named student_id)")
    q_col, a_col = _find(keys, QUESTION_COLUMNS), _find(keys, ANSWER_COLUMNS)
    wide_cols = {i: _match(h, lookup) for i, h in enumerate(table.header) if i != id_col}
    if q_col is not None and a_col is not None and not any(v is not None for v in wide_cols.values()):
        return _parse_long(table, manifest, id_col, q_col, a_col, keys, lookup)
    return _parse_wide(table, manifest, id_col, keys, wide_cols)


def _split_at_headers(table: Table, lookup: Mapping[str, int]) -> list[Table]:
    """The table cut where a row repeats a header (an id column's name and a question's or the long
    layout's), each part under its own header; the rows keep their lines in the file."""
    named = set(ID_COLUMNS)
    other = {k for k in lookup if not k.startswith("\x00")} | set(QUESTION_COLUMNS) | set(ANSWER_COLUMNS) | {"variant"}
    # Only a row holding an id column's name as some header writes it can be a header: found
    # among 100,000 rows with one set lookup per row, before any cell is normalized.
    spellings = _ID_SPELLINGS | {h for h in table.header if header_key(h) in named}
    candidates = [r for r, row in enumerate(table.rows) if not spellings.isdisjoint(row)]
    cuts = [r for r in candidates if (found := set(map(header_key, table.rows[r]))) & named and found & other]
    if not cuts:
        return [table]
    bounds = [-1, *cuts, len(table.rows)]  # each part's header row (-1: the file's own) and where it ends
    parts = [replace(table, header=table.header if head < 0 else _trimmed(table.rows[head]),
                     rows=table.rows[head + 1:end], lines=table.lines[head + 1:end])
             for head, end in zip(bounds, bounds[1:]) if end > head + 1]
    return parts or [replace(table, rows=(), lines=())]  # headers only: no answers


_ID_SPELLINGS = frozenset(v for c in ("student_id", "student id", "studentid", "id", "sid", "sis user id", "id number",
                                      "orgdefinedid", "username", "email", "email address", "student")
                          for v in (c, c.upper(), c.title(), c.capitalize()))


def _trimmed(row: tuple[str, ...]) -> tuple[str, ...]:
    while row and not row[-1]:
        row = row[:-1]
    return row


def merge_submissions(parts: Sequence[Submissions], source: str) -> Submissions:
    """Submissions of several files (or parts of one) read as one class, each entry keeping its line.

    A warning several parts share is given once, naming them.
    """
    if len(parts) == 1:
        return parts[0]
    layouts = {p.layout for p in parts}
    warnings: dict[str, list[str]] = {}
    for p in parts:
        for w in p.warnings:
            tail = w[len(p.source) + 2:] if w.startswith(f"{p.source}: ") else w
            where = warnings.setdefault(tail, [])
            if w != tail and p.source not in where:
                where.append(p.source)
    shown = []
    for tail, where in warnings.items():
        if not where:
            shown.append(tail)
        else:
            names = ", ".join(where[:3]) + (f" and {len(where) - 3} more" if len(where) > 3 else "")
            shown.append(f"{names}: {tail}")
    nq = parts[0].values.shape[1]
    return Submissions(
        source, layouts.pop() if len(layouts) == 1 else "mixed",
        tuple(chain.from_iterable(p.lines for p in parts)), tuple(chain.from_iterable(p.ids for p in parts)),
        tuple(chain.from_iterable(p.variants for p in parts)),
        np.concatenate([p.values for p in parts]).reshape(-1, nq),
        tuple(tuple(chain.from_iterable(p.texts[qi] for p in parts)) for qi in range(nq)),
        np.concatenate([p.unreadable for p in parts]).reshape(-1, nq),
        tuple(chain.from_iterable(p.issues for p in parts)), tuple(shown),
        tuple(chain.from_iterable(p.names or ("",) * len(p.ids) for p in parts)) if any(p.names for p in parts) else (),
        _merged_identity(parts))


def _merged_identity(parts: Sequence[Submissions]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The identity columns of several parts, blank for the entries of a part without that column."""
    names = list(dict.fromkeys(name for p in parts for name, _ in p.identity))
    columns = [dict(p.identity) for p in parts]
    return tuple((name, tuple(chain.from_iterable(c.get(name, ("",) * len(p.ids)) for c, p in zip(columns, parts))))
                 for name in names)


# Columns a submissions file may hold beside the answers (LMS and form exports): not questions.
_OTHER_COLUMNS = frozenset(header_key(c) for c in (
    "name", "full name", "student name", "student", "first name", "last name", "surname", "given name", "family name",
    "email", "email address", "section", "timestamp", "submitted", "submitted at", "date", "time", "comments",
    "comment", "notes", "login", "sis login id", "sis user id", "id number", "username", "user", "group", "attempt"))


def _parse_wide(table: Table, manifest: Manifest, id_col: int, keys: list[str], wide_cols: dict[int, int | None]) -> Submissions:
    nq = len(manifest.questions)
    variant_col = _find(keys, ("variant",))
    column_of: dict[int, int] = {}
    unknown = []
    identity_cols: list[int] = []
    for ci, qi in wide_cols.items():
        if qi is None:
            if table.header[ci].startswith(IDENTITY_PREFIX):
                identity_cols.append(ci)
            elif ci != variant_col and keys[ci] not in _OTHER_COLUMNS and keys[ci] not in ID_COLUMNS:
                if table.header[ci] or any(table.column(ci)):  # a blank column without a header is no question
                    unknown.append(ci)
            continue
        if qi in column_of:
            raise NnexamError(
                f"{table.source}: columns '{table.header[column_of[qi]]}' and '{table.header[ci]}' both name question {manifest.questions[qi].label}"
            )
        column_of[qi] = ci
    if not column_of:
        sample = ", ".join(q.label for q in manifest.questions[:4])
        raise NnexamError(f"{table.source}: no column names a question of this exam (expected columns such as {sample})")
    if unknown:
        raise _unknown_column(table, unknown, manifest, set(column_of))
    warnings = list(table.warnings)
    absent = [manifest.questions[qi].label for qi in range(nq) if qi not in column_of]
    if absent:
        warnings.append(f"{table.source}: no column for {', '.join(absent[:6])}{' ...' if len(absent) > 6 else ''} (scored as blank)")
    n = len(table.rows)
    values = np.full((n, nq), np.nan)
    unreadable = np.zeros((n, nq), dtype=bool)
    blank_column = ("",) * n
    texts: list[tuple[str, ...]] = []
    issues: dict[int, list[tuple[str, str]]] = {}  # only rows with something to report
    for qi in range(nq):
        ci = column_of.get(qi)
        if ci is None:
            texts.append(blank_column)
            continue
        cells = tuple(table.column(ci))
        col, bad = parse_column(cells)
        values[:, qi] = col
        for r in bad:
            unreadable[r, qi] = True
            issues.setdefault(r, []).append((UNREADABLE_CELLS, f"line {table.lines[r]}, column {table.header[ci]}: {cells[r]!r} is not a number"))
        texts.append(cells)
    # Rows of another length than the header. More cells (often a decimal comma in a comma-separated
    # file) cannot be matched to questions: every answer of the row is unreadable. Fewer cells are
    # trailing blanks, noted.
    width = len(table.header)
    asked = np.array([qi in column_of for qi in range(nq)])
    for r in _ragged_rows(table.rows, width):
        row = table.rows[r]
        used = len(row)
        while used and not row[used - 1]:
            used -= 1
        if used > width:
            values[r] = np.nan
            unreadable[r] |= asked
            issues.setdefault(r, []).insert(0, (UNREADABLE_CELLS, f"line {table.lines[r]}: {used} cells but the header has {width} "
                                                "(a decimal comma in a comma-separated file?), so no answer can be matched to its question"))
        elif used < width and used > id_col:
            issues.setdefault(r, []).append(("", f"line {table.lines[r]}: {used} cells, the header has {width}; the missing ones are blank"))
    ids = _ids(table.column(id_col))
    variants = _ids(table.column(variant_col)) if variant_col is not None else ("",) * n
    name_col = _find(keys, ("name", "fullname", "studentname"))
    names = tuple(table.column(name_col)) if name_col is not None and name_col != id_col else ()
    identity = tuple((table.header[ci][len(IDENTITY_PREFIX):], tuple(table.column(ci))) for ci in identity_cols)
    return Submissions(table.source, "wide", table.lines, ids, variants, values, tuple(texts), unreadable,
                       _per_entry(issues, n), tuple(warnings), names, identity)


def _ids(cells: Sequence[str]) -> tuple[str, ...]:
    """Id or variant cells as nnexam wrote them: the apostrophe csvout put before a formula-like id undone."""
    if not any(c.startswith("'") for c in cells):
        return tuple(cells)
    return tuple(map(csvout.unneutral, cells))


def _unknown_column(table: Table, unknown: list[int], manifest: Manifest, matched: set[int]) -> NnexamError:
    """One line naming the first column that names no question, with the nearest unmatched label (exit 1)."""
    ci = unknown[0]
    name = table.header[ci]
    labels = [q.label for qi, q in enumerate(manifest.questions) if qi not in matched] or [q.label for q in manifest.questions]
    by_key = {header_key(label): label for label in labels}
    near = difflib.get_close_matches(header_key(name), list(by_key), n=1, cutoff=0.0)
    column = f"column {name!r}" if name else f"column {ci + 1} (no header)"
    more = f" (and {len(unknown) - 1} more: {', '.join(repr(table.header[c]) for c in unknown[1:4])}{' ...' if len(unknown) > 4 else ''})" if len(unknown) > 1 else ""
    hint = f"; nearest question: {by_key[near[0]]}" if near else ""
    return NnexamError(f"{table.source}: {column} names no question of this exam{hint}{more}; "
                       "rename it to a question's label or remove it", 1)


def _ragged_rows(rows: Sequence[tuple[str, ...]], width: int) -> list[int]:
    """Indices of the rows with another number of cells than `width`."""
    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    return np.flatnonzero(lengths != width).tolist()


def _per_entry(issues: Mapping[int, list[tuple[str, str]]], n: int) -> tuple[tuple[tuple[str, str], ...], ...]:
    """Issues found for some entries as a tuple over all n entries (the empty tuple for the others)."""
    out: list[tuple[tuple[str, str], ...]] = [()] * n
    for e, found in issues.items():
        out[e] = tuple(found)
    return tuple(out)


def _parse_long(table: Table, manifest: Manifest, id_col: int, q_col: int, a_col: int, keys: list[str], lookup: Mapping[str, int]) -> Submissions:
    nq = len(manifest.questions)
    variant_col = _find(keys, ("variant",))
    order: dict[str, int] = {}
    lines: list[int] = []
    variants: list[str] = []
    cells: list[dict[int, tuple[str, int]]] = []
    issues: list[list[tuple[str, str]]] = []
    question_of: dict[str, int | None] = {}  # each spelling of a label matched once
    split: set[tuple[int, int]] = set()  # answers spread over more cells than the header has

    def get(row: tuple[str, ...], c: int | None) -> str:
        return row[c] if c is not None and c < len(row) else ""

    for row, line in zip(table.rows, table.lines):
        sid = csvout.unneutral(get(row, id_col))
        if sid not in order:
            order[sid] = len(order)
            lines.append(line)
            variants.append(csvout.unneutral(get(row, variant_col)))
            cells.append({})
            issues.append([])
        e = order[sid]
        v = csvout.unneutral(get(row, variant_col))
        if v and variants[e] and v != variants[e]:
            issues[e].append((MISMATCH, f"line {line}: variant {v!r} differs from {variants[e]!r} on line {lines[e]}"))
        variants[e] = variants[e] or v
        label = get(row, q_col)
        if label not in question_of:
            question_of[label] = _match(label, lookup)
        qi = question_of[label]
        if qi is None:
            issues[e].append((UNREADABLE_CELLS, f"line {line}: {label!r} is not a question of this exam"))
            continue
        if qi in cells[e]:
            issues[e].append((DUPLICATE, f"line {line}: {manifest.questions[qi].label} answered again (line {cells[e][qi][1]}); the later answer is graded"))
        if a_col >= len(row):
            issues[e].append(("", f"line {line}: no answer cell for {manifest.questions[qi].label} (blank)"))
        if len(row) > len(table.header) and any(row[len(table.header):]):
            # "0,5206" split in two cells, the answer cell holding "0": never read as a number.
            split.add((e, qi))
            cells[e][qi] = (table.delimiter.join(row[a_col:]), line)
            continue
        split.discard((e, qi))
        cells[e][qi] = (get(row, a_col), line)
    n = len(order)
    values = np.full((n, nq), np.nan)
    unreadable = np.zeros((n, nq), dtype=bool)
    texts = [[""] * n for _ in range(nq)]
    answered = [(e, qi, text, line) for e, answers in enumerate(cells) for qi, (text, line) in answers.items()]
    parsed, bad = parse_column([text for _, _, text, _ in answered])  # every answer at once
    if split:
        bad = sorted(set(bad) | {j for j, (e, qi, _, _) in enumerate(answered) if (e, qi) in split})
        parsed[bad] = np.nan
    if answered:
        values[[a[0] for a in answered], [a[1] for a in answered]] = parsed
    for e, qi, text, _ in answered:
        texts[qi][e] = text
    for j in bad:
        e, qi, text, line = answered[j]
        unreadable[e, qi] = True
        why = " (more cells than the header: a decimal comma in a comma-separated file?)" if (e, qi) in split else ""
        issues[e].append((UNREADABLE_CELLS, f"line {line}, {manifest.questions[qi].label}: {text!r} is not a number{why}"))
    return Submissions(table.source, "long", tuple(lines), tuple(order), tuple(variants), values,
                       tuple(tuple(t) for t in texts), unreadable, tuple(tuple(i) for i in issues), table.warnings)


# --- grade ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One question of one graded submission, as the feedback explains it."""

    name: str
    label: str
    text: str  # as written
    value: float
    expected: float
    own: float  # the step's formula on the student's own earlier values (NaN when no chain)
    verdict: str
    points: float
    max_points: float
    mistake: Mistake | None


@dataclass(frozen=True)
class Grade:
    """One submission row: who, its status, and (when graded) the score and every answer."""

    line: int
    student_id: str
    name: str
    variant: str
    status: str
    notes: tuple[str, ...]
    score: float | None
    max_score: float
    answers: tuple[Answer, ...]


@dataclass(frozen=True, eq=False)
class Grades:
    """Every submission marked, as arrays over entries x questions (rows not graded hold NaN / -1)."""

    manifest: Manifest
    submissions: Submissions
    policy: Policy
    status: tuple[str, ...]
    notes: tuple[tuple[str, ...], ...]
    student: np.ndarray  # manifest index of each entry, -1 when unknown
    graded: np.ndarray  # bool per entry
    expected: np.ndarray
    own: np.ndarray
    points: np.ndarray
    verdict: np.ndarray  # int8 codes into VERDICTS, -1 when not graded
    mistake: np.ndarray  # index into `mistakes`, -1 when none
    mistakes: tuple[Mistake, ...]
    missing: tuple[int, ...]  # manifest students with no submission

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.manifest.questions))

    @cached_property
    def score(self) -> np.ndarray:
        """Points per entry (NaN where not graded); computed once (record(i) asks for it per entry)."""
        return np.where(self.graded, np.nansum(self.points, axis=1), np.nan)

    def record(self, i: int) -> Grade:
        """Entry i as a Grade record."""
        subs, m = self.submissions, self.manifest
        s = int(self.student[i])
        name = m.students[s].name if s >= 0 else ""
        answers: tuple[Answer, ...] = ()
        if self.graded[i]:
            answers = tuple(
                Answer(q.name, q.label, subs.texts[qi][i], float(subs.values[i, qi]), float(self.expected[i, qi]),
                       float(self.own[i, qi]), VERDICTS[self.verdict[i, qi]], float(self.points[i, qi]), q.points,
                       self.mistakes[self.mistake[i, qi]] if self.mistake[i, qi] >= 0 else None)
                for qi, q in enumerate(m.questions)
            )
        score = float(self.score[i]) if self.graded[i] else None
        return Grade(subs.lines[i], subs.ids[i], name, subs.variants[i], self.status[i], self.notes[i], score, self.max_score, answers)

    def records(self) -> Iterator[Grade]:
        return (self.record(i) for i in range(len(self.status)))


def rules(manifest: Manifest) -> list[Rule]:
    """What each question of the exam accepts."""
    return [Rule(q.tolerance_kind, q.tolerance_value, q.decimals) for q in manifest.questions]


def band_decimals(manifest: Manifest) -> dict[str, int]:
    """Decimals a student writes each step with: asked steps their own, others the bank's or the most common."""
    bank = manifest.bank if isinstance(manifest.bank, Mapping) else {}
    default = bank.get("decimals", 4 if bank else None)  # 4: the bank format's default
    if isinstance(default, bool) or not isinstance(default, int):
        counts = Counter(q.decimals for q in manifest.questions)
        default = min(counts, key=lambda d: (-counts[d], d)) if counts else 4
    out = {s.name: default for s in manifest.graph.steps}
    out.update({q.name: q.decimals for q in manifest.questions})
    return out


def plausible(graph: StepGraph, name: str, value: np.ndarray) -> np.ndarray:
    """False where a value is absurd for its step (a sigmoid output outside (0, 1), a negative loss, ...)."""
    v = np.asarray(value, dtype=float)
    ok = np.isfinite(v)
    if name not in graph:
        return ok  # a given
    step = graph[name]
    arch = graph.arch
    with np.errstate(invalid="ignore"):
        if step.kind in ("a", "a_new"):
            act = arch.activations[step.layer - 1]
            if act in ("sigmoid", "softmax"):
                ok &= (v > 0) & (v < 1)
            elif act == "tanh":
                ok &= (v > -1) & (v < 1)
            elif act == "relu":
                ok &= v >= 0
        elif step.kind == "da_dz":
            act = arch.activations[step.layer - 1]
            high = 0.25 if act == "sigmoid" else 1.0
            ok &= (v >= 0) & (v <= high)
        elif step.kind in ("E_j", "E", "E_j_new", "E_new"):
            ok &= v >= 0
    return ok


@dataclass(frozen=True)
class Rule:
    """What one question accepts: its tolerance kind and value, and the decimals it is asked at."""

    kind: str
    value: float
    decimals: int


@dataclass(frozen=True, eq=False)
class Marks:
    """The verdict arrays of one marking pass (entries x questions)."""

    expected: np.ndarray
    own: np.ndarray
    verdict: np.ndarray
    mistake: np.ndarray
    mistakes: tuple[Mistake, ...]
    low: np.ndarray  # the interval accepted as correct
    high: np.ndarray


def _intervals(rules: Sequence[Rule], names: Sequence[str], centre: Mapping[str, np.ndarray],
               reach: Mapping[str, tuple[np.ndarray, np.ndarray]] | None, n: int) -> tuple[np.ndarray, np.ndarray, "_Offsets"]:
    """(low, high) accepted per (entry, question) around `centre`, and the reachable offsets (below, above) it used."""
    nq = len(names)
    low, high = np.empty((n, nq), order="F"), np.empty((n, nq), order="F")
    for i, (q, r) in enumerate(zip(names, rules)):
        t = np.broadcast_to(np.asarray(centre[q], dtype=float), (n,))
        if reach is not None and q in reach:
            lo, hi = reach[q]
            low[:, i], high[:, i] = accepted(r.kind, r.value, r.decimals, t, lo, hi)
        else:  # a given (check_key): exactly as printed
            low[:, i], high[:, i] = accepted(r.kind, r.value, r.decimals, t, t, t) if reach is not None else _point(t)
    return low, high, _Offsets(names, centre, reach or {}, n)


@dataclass(frozen=True, eq=False)
class _Offsets:
    """The reachable interval of each question as offsets from its centre, (lo - t, hi - t), made
    only for the entries asked (the mistake passes look at the few still unexplained)."""

    names: Sequence[str]
    centre: Mapping[str, np.ndarray]
    reach: Mapping[str, tuple[np.ndarray, np.ndarray]]
    n: int

    def at(self, i: int, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q = self.names[i]
        if q not in self.reach:
            return np.zeros(len(rows)), np.zeros(len(rows))
        t = np.broadcast_to(np.asarray(self.centre[q], dtype=float), (self.n,))[rows]
        lo, hi = self.reach[q]
        with np.errstate(invalid="ignore"):
            return np.broadcast_to(lo, (self.n,))[rows] - t, np.broadcast_to(hi, (self.n,))[rows] - t


def _point(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    slack = 1e-9 * np.maximum(1.0, np.abs(t))
    return t - slack, t + slack


def _around(rule: Rule, value: np.ndarray, below: np.ndarray, above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What is accepted around another value (a mistaken one) with the same reachable offsets."""
    with np.errstate(invalid="ignore", over="ignore"):
        return accepted(rule.kind, rule.value, rule.decimals, value, value + below, value + above)


def _narrowed(graph: StepGraph, values: Mapping[str, np.ndarray], decimals, exact, names: Sequence[str],
              rules: Sequence[Rule], submitted: np.ndarray, low: np.ndarray, high: np.ndarray, todo: np.ndarray,
              centre: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) accepted with the narrowed reachable intervals (reachable_intervals with its joint
    enumeration), from the independent-offset (low, high) of the same chain.

    Only the entries whose answer could change verdict are recomputed: an answer outside (low, high)
    is outside the narrowed interval too, and one inside the interval around whole written chains
    (solve.sampled_intervals, each of them reachable) is inside it. Each entry's intervals depend on
    that entry alone, so the result is what every entry computed would give.
    """
    n = submitted.shape[0]
    centre = values if centre is None else centre
    # First the cheapest reachable values: the step computed from the values kept, then written.
    core_low, core_high, _ = _intervals(rules, names, centre, {q: (centre[q], centre[q]) for q in names if q in graph}, n)
    unsure = todo & within(submitted, low, high) & ~within(submitted, core_low, core_high)
    rows = np.flatnonzero(unsure.any(axis=1))
    if not len(rows):
        return low, high
    part = _rows(values, rows, n)
    inner = sampled_intervals(graph, part, decimals, None if exact is None else _flags(exact, rows, n))
    inner_low, inner_high, _ = _intervals(rules, names, _rows(centre, rows, n), {q: inner[q] for q in names if q in graph},
                                          len(rows))
    unsure = unsure[rows] & ~within(submitted[rows], inner_low, inner_high)
    rows = rows[unsure.any(axis=1)]
    if not len(rows):
        return low, high
    unsure = unsure[unsure.any(axis=1)]
    reach = reachable_intervals(graph, _rows(values, rows, n), decimals,
                                exact=None if exact is None else _flags(exact, rows, n),
                                tight={q: unsure[:, i] for i, q in enumerate(names) if q in graph})
    sub_low, sub_high, _ = _intervals(rules, names, _rows(centre, rows, n), {q: reach[q] for q in names if q in graph},
                                      len(rows))
    low, high = low.copy(order="F"), high.copy(order="F")
    low[rows], high[rows] = sub_low, sub_high
    return low, high


def mark(graph: StepGraph, givens: Mapping[str, np.ndarray], names: Sequence[str], submitted: np.ndarray,
         rules: Sequence[Rule], decimals: Mapping[str, int | None] | int | None, unreadable: np.ndarray | None = None,
         key: Mapping[str, np.ndarray] | None = None, key_band: bool = True,
         labels: Mapping[str, object] | None = None) -> Marks:
    """Correct, follow-through, known mistake, wrong or blank for every (entry, question), all entries at once.

    `rules` say what each question accepts (tolerance.accepted); `decimals` what a student writes
    each step at (solve.reachable_intervals). With `key_band` False the exact value alone is
    right (check_key: a key's own value must be the exact one at its decimals). With `labels`,
    a wrong answer no named mistake explains is tried against the step's single substitutions.
    Every step is computed entry by entry (elementwise), so the mistaken chains are computed only
    for the entries with an answer still unexplained: the same values, for fewer entries.
    """
    n, nq = submitted.shape
    # Column-major: each question's column is contiguous for the per-question passes below.
    submitted = np.asfortranarray(submitted)
    if key is None:
        key = evaluate(graph, givens)
    expected = _columns([np.broadcast_to(key[q], (n,)) for q in names], n)
    # Named mistakes are accepted around with the independent-offset intervals (joint=0): the ones
    # the generator kept apart from the right answer's. What is right is the narrowed interval
    # (solve._tighten), computed only where it can change a verdict (_narrowed).
    reach = reachable_intervals(graph, key, decimals, joint=0) if key_band else {q: (key[q], key[q]) for q in names if q in graph}
    low, high, offsets = _intervals(rules, names, key, reach, n)
    if key_band:
        low, high = _narrowed(graph, key, decimals, None, names, rules, submitted, low, high,
                              np.ones(submitted.shape, dtype=bool))
    correct = within(submitted, low, high)
    present = ~np.isnan(submitted)
    valid = present.copy(order="F")
    for i, q in enumerate(names):
        valid[:, i] &= plausible(graph, q, submitted[:, i])
    # The student's own chain: their valid values replace computed ones; blank or absurd ones do not.
    fixed = {q: np.where(valid[:, i], submitted[:, i], np.nan) for i, q in enumerate(names)}
    chain = evaluate(graph, givens, fixed=fixed)
    column = {q: i for i, q in enumerate(names)}
    # A blank or absurd value taints everything computed from it, however far down: no
    # follow-through there (otherwise a trivializing made-up value would earn later points).
    tainted: dict[str, np.ndarray] = {}
    for step in graph.steps:
        t = _any(tainted, step.inputs, n)
        if step.name in column:
            t = t | ~valid[:, column[step.name]]
        tainted[step.name] = t
    own = np.full((n, nq), np.nan, order="F")
    for i, q in enumerate(names):
        if q in graph:
            own[:, i] = np.broadcast_to(evaluate_step(graph[q].expr, chain), (n,))
    # Follow-through, by the same rule on the student's own values: they went on from each answer
    # as written or from the digits behind it (tolerance.kept_interval); the steps they were not
    # asked for may be rounded on the way.
    own_values = dict(chain)
    own_values.update({q: own[:, i] for i, q in enumerate(names) if q in graph})
    wrote = {q: valid[:, i] for i, q in enumerate(names)}
    own_reach = reachable_intervals(graph, chain, decimals, exact=wrote, joint=0)
    own_low, own_high, own_offsets = _intervals(rules, names, own_values, {q: own_reach[q] for q in names if q in graph}, n)
    open_ = ~correct
    for i, q in enumerate(names):
        open_[:, i] &= ~_any(tainted, graph[q].inputs, n) if q in graph else False
    own_low, own_high = _narrowed(graph, chain, decimals, wrote, names, rules, submitted, own_low, own_high, open_,
                                  centre=own_values)
    follow = within(submitted, own_low, own_high) & open_
    mistakes = list(applicable(graph))
    mistake = np.full((n, nq), -1, dtype=np.int16, order="F")
    undiagnosed = present & ~correct & ~follow
    # First the mistake made at this step on the student's own values (the specific explanation),
    # then whole chains computed with the mistake from the givens (two mistakes can end at the
    # same number: a flipped error sign and a + in the update both give w + η·|∂E/∂w|).
    for own_chain in (True, False):
        for mi, m in enumerate(mistakes[:]):
            rows = np.flatnonzero(undiagnosed.any(axis=1))  # entries with an answer still unexplained
            if not len(rows):
                break
            at_rows = _rows(givens, rows, n)
            if own_chain:
                wrong = rewrites(graph, m)
                mine = evaluate(graph, at_rows, mistake=m, fixed=_rows(fixed, rows, n))
            else:
                full = evaluate(graph, at_rows, mistake=m)
            for i, q in enumerate(names):
                todo = undiagnosed[rows, i]
                if q not in graph or not todo.any():
                    continue
                answer, rule = submitted[rows, i], rules[i]
                if own_chain:
                    value = np.broadcast_to(evaluate_step(wrong.get(q, graph[q].expr), mine), (len(rows),))
                    lo, hi = _around(rule, value, *own_offsets.at(i, rows))
                    hit = within(answer, lo, hi) & ~within(value, own_low[rows, i], own_high[rows, i])
                else:
                    value = np.broadcast_to(full[q], (len(rows),))
                    lo, hi = _around(rule, value, *offsets.at(i, rows))
                    hit = within(answer, lo, hi) & ~within(value, low[rows, i], high[rows, i])
                newly = rows[todo & hit]
                mistake[newly, i] = mi
                undiagnosed[newly, i] = False
    if labels is not None:
        _substitutions(graph, names, rules, labels, submitted, chain, own_offsets, own_low, own_high,
                       undiagnosed, mistake, mistakes)
    verdict = np.full((n, nq), WRONG, dtype=np.int8, order="F")
    named = mistake >= 0
    if named.any():
        likely = np.array([m.likely for m in mistakes], dtype=bool)
        named &= ~likely[np.maximum(mistake, 0)]
    verdict[named] = MISTAKE  # a substitution stays "wrong", with its likely cause attached
    verdict[follow] = FOLLOW
    verdict[correct] = CORRECT
    verdict[~present] = BLANK
    if unreadable is not None:
        verdict[unreadable] = UNREADABLE
    return Marks(expected, own, verdict, mistake, tuple(mistakes), low, high)


def _substitutions(graph: StepGraph, names: Sequence[str], rules: Sequence[Rule], labels: Mapping[str, object],
                   submitted: np.ndarray, chain: Mapping[str, np.ndarray], offsets: _Offsets,
                   own_low: np.ndarray, own_high: np.ndarray, undiagnosed: np.ndarray, mistake: np.ndarray,
                   mistakes: list[Mistake]) -> None:
    """Name, for each wrong answer still unexplained, the first single substitution in its step's formula that gives it.

    The candidates of a question are the same for every entry (one graph): each is evaluated on the
    own chains of all the entries still unexplained at that question at once.
    """
    for i, q in enumerate(names):
        rows = np.flatnonzero(undiagnosed[:, i])
        if q not in graph or not len(rows):
            continue
        candidates = substitutions(graph, graph[q], labels)
        needed = {nm for c in candidates for nm in c.rewrite(graph[q], graph).symbols()}
        env = _rows({nm: chain[nm] for nm in needed}, rows, len(undiagnosed))
        below, above = offsets.at(i, rows)
        answer, low, high = submitted[rows, i], own_low[rows, i], own_high[rows, i]
        for cand in candidates:
            if not len(rows):
                break
            value = np.broadcast_to(evaluate_step(cand.rewrite(graph[q], graph), env), (len(rows),))
            lo, hi = _around(rules[i], value, below, above)
            hit = within(answer, lo, hi) & ~within(value, low, high)
            if hit.any():
                mistakes.append(cand)
                mistake[rows[hit], i] = len(mistakes) - 1
                undiagnosed[rows[hit], i] = False
                keep = ~hit
                rows, below, above, answer, low, high = (a[keep] for a in (rows, below, above, answer, low, high))
                env = {k: v[keep] for k, v in env.items()}


def _columns(columns: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Per-question arrays as one (n, questions) array, column-major."""
    return np.stack(columns).T if columns else np.zeros((n, 0), order="F")


def _rows(values: Mapping[str, np.ndarray], rows: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Each array (of n entries, or one value for all) at the given entries only."""
    return {name: np.broadcast_to(np.asarray(v, dtype=float), (n,))[rows] for name, v in values.items()}


def _flags(flags: Mapping[str, np.ndarray], rows: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Each flag array (of n entries) at the given entries only."""
    return {name: np.broadcast_to(f, (n,))[rows] for name, f in flags.items()}


def _any(flags: Mapping[str, np.ndarray], names: Sequence[str], n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for name in names:
        f = flags.get(name)
        if f is not None:
            out = out | f
    return out


def _resolve(manifest: Manifest, subs: Submissions) -> tuple[list[str], tuple[tuple[str, ...], ...], np.ndarray, np.ndarray]:
    """Match entries to students: unknown ids, duplicates (the later row wins) and variant mismatches.

    Returns each entry's status, notes, manifest index (-1 when unknown) and whether it is graded.
    """
    n = len(subs.ids)
    student = _student_indices(manifest, subs.ids)
    # An entry found unknown while reading (a pool exam's unknown variant code) stays unknown.
    flagged = np.array([any(k == UNKNOWN for k, _ in found) for found in subs.issues], dtype=bool).reshape(n)
    student[flagged] = -1
    known = student >= 0
    mismatch = _variant_mismatches(manifest, subs, student)
    graded = known & ~mismatch  # not graded when mismatched, and never in place of a gradable row of the same student
    status = [GRADED] * n
    notes = {e: [msg for _, msg in found] for e, found in enumerate(subs.issues) if found}

    def first_note(e: int, message: str) -> None:
        notes.setdefault(e, []).insert(0, message)

    for e in np.flatnonzero(~known).tolist():
        status[e] = UNKNOWN
        sid = subs.ids[e]
        if flagged[e]:
            continue  # its note says why
        first_note(e, f"line {subs.lines[e]}: student id {sid!r} is not in the manifest" if sid else f"line {subs.lines[e]}: no student id")
    for e in np.flatnonzero(mismatch).tolist():
        status[e] = MISMATCH
        want = manifest.students[student[e]].variant
        first_note(e, f"line {subs.lines[e]}: variant {subs.variants[e]!r} is not {subs.ids[e]}'s variant ({want}); not graded")
    for earlier, later in _resubmissions(student, graded):
        status[earlier], graded[earlier] = DUPLICATE, False
        first_note(earlier, f"line {subs.lines[earlier]}: {subs.ids[later]} submitted again on line {subs.lines[later]}; the later row is graded")
    for e, found in enumerate(subs.issues):
        if found and graded[e]:
            kinds = {k for k, _ in found}
            for kind in (DUPLICATE, UNREADABLE_CELLS):
                if kind in kinds:
                    status[e] = kind
                    break
    out: list[tuple[str, ...]] = [()] * n
    for e, messages in notes.items():
        out[e] = tuple(messages)
    return status, tuple(out), student, graded


def _student_indices(manifest: Manifest, ids: Sequence[str]) -> np.ndarray:
    """The manifest index of each id, -1 when unknown: an exact match, else one of the same files.id_key
    (equal but for case, Unicode form and spaces at the ends)."""
    students = manifest.students
    exact = dict(zip(map(attrgetter("id"), students), range(len(students))))
    index = np.fromiter(map(exact.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
    unmatched = np.flatnonzero(index < 0).tolist()
    if unmatched:
        folded: dict[str, int] = {}
        for i, s in enumerate(students):
            k = id_key(s.id)
            folded[k] = -1 if k in folded else i  # ids of one key (an old manifest): only an exact match decides
        for e in unmatched:
            index[e] = folded.get(id_key(ids[e]), -1)
    return index


def _variant_mismatches(manifest: Manifest, subs: Submissions, student: np.ndarray) -> np.ndarray:
    """True for entries of a known student written with another variant than the student's (or found so while parsing)."""
    known = student >= 0
    variant_of = [*map(attrgetter("variant"), manifest.students), ""]  # index -1 (unknown): ""
    wanted = list(map(variant_of.__getitem__, student.tolist()))
    mismatch = np.zeros(len(subs.ids), dtype=bool)
    for e in compress(range(len(wanted)), map(ne, subs.variants, wanted)):  # written otherwise, if at all
        got = subs.variants[e]
        mismatch[e] = bool(known[e] and got and _norm(got) != _norm(wanted[e]))
    for e, found in enumerate(subs.issues):
        if found and known[e] and any(k == MISMATCH for k, _ in found):
            mismatch[e] = True
    return mismatch


def _resubmissions(student: np.ndarray, graded: np.ndarray) -> Iterator[tuple[int, int]]:
    """(earlier, later) pairs of graded entries of the same student, each later one the next in the file."""
    rows = np.flatnonzero(graded)
    by_student = rows[np.argsort(student[rows], kind="stable")]  # file order within each student
    again = np.flatnonzero(student[by_student[1:]] == student[by_student[:-1]])
    return zip(by_student[again].tolist(), by_student[again + 1].tolist())


def _norm(variant: str) -> str:
    return "".join(variant.split()).upper()


def respondents(manifest: Manifest, subs: Submissions) -> tuple[Manifest, Submissions]:
    """A pool exam's entries as respondents: each entry's variant code finds the variant, its id says who answered.

    Returns a manifest of the respondents (each with the givens of the variant they answered, last
    entry's variant for one answering twice, and the LMS identity its report gave: Submissions.identity,
    as canvas.csv and moodle.csv name them) and the entries, those whose variant code is blank or
    not of this pool flagged unknown. Grading that pair names respondents in every file. A
    manifest that is no pool comes back unchanged.
    """
    if manifest.kind != "pool":
        return manifest, subs
    by_code = {_norm(s.variant): i for i, s in enumerate(manifest.students)}
    by_id = {s.id: i for i, s in enumerate(manifest.students)}
    n = len(subs.ids)
    variant_of: dict[str, int] = {}
    order: list[str] = []
    name_of: dict[str, str] = {}
    identity_of: dict[str, dict[str, str]] = {}
    issues = list(subs.issues)
    for e in range(n):
        sid, code = subs.ids[e].strip(), subs.variants[e]
        why = ""
        i = by_code.get(_norm(code), -1) if code.strip() else by_id.get(sid, -1)
        if np.isnan(subs.values[e]).all() and not subs.unreadable[e].any():
            i, why = -1, "an attempt with no answers (nothing typed, or never submitted); not graded"
        elif i < 0 and not code.strip():
            why = "no variant code of this exam found (a response of another exam?); not graded"
        elif i < 0:
            why = f"variant code {code!r} is not one of this exam's {len(manifest.students)} variants (another exam?); not graded"
        if i < 0:
            issues[e] = ((UNKNOWN, f"line {subs.lines[e]}: {why}"),) + tuple(issues[e])
            continue
        if not sid:
            continue
        if sid not in variant_of:
            order.append(sid)
        variant_of[sid] = i
        if subs.names and subs.names[e]:
            name_of[sid] = subs.names[e]
        if any(values[e] for _, values in subs.identity):  # none for an entry of a file without these columns
            identity_of[sid] = {column: values[e] for column, values in subs.identity}
    if not order:
        return manifest, replace(subs, issues=tuple(issues))
    pool = manifest.students
    people = tuple(StudentVariant(sid, name_of.get(sid, ""), pool[variant_of[sid]].variant, pool[variant_of[sid]].givens,
                                  pool[variant_of[sid]].shared, {}, identity_of.get(sid, {})) for sid in order)
    table = manifest.table[[variant_of[sid] for sid in order]]
    return replace(manifest, students=people, table=table), replace(subs, issues=tuple(issues))


def grade(manifest: Manifest, submissions: Submissions, policy: Policy = Policy()) -> Grades:
    """Mark every submission against its student's variant: one numpy pass per question over all students.

    For a pool exam the students are the respondents (see `respondents`).
    """
    manifest, submissions = respondents(manifest, submissions)
    status, notes, student, graded = _resolve(manifest, submissions)
    questions = manifest.questions
    n, nq = len(status), len(questions)
    rows = np.flatnonzero(graded)
    graph = manifest.graph
    names = [q.name for q in questions]
    expected = np.full((n, nq), np.nan)
    own = np.full((n, nq), np.nan)
    points = np.full((n, nq), np.nan)
    verdict = np.full((n, nq), -1, dtype=np.int8)
    mistake = np.full((n, nq), -1, dtype=np.int16)
    mistakes = applicable(graph)
    if len(rows):
        givens = manifest.givens(student[rows])
        key = evaluate(graph, givens)
        submitted = submissions.values[rows]
        marks = mark(graph, givens, names, submitted, rules(manifest), band_decimals(manifest),
                     submissions.unreadable[rows], key, labels=manifest.labels())
        share = np.select([marks.verdict == CORRECT, marks.verdict == FOLLOW], [1.0, float(policy.follow_through)], 0.0)
        expected[rows], own[rows], verdict[rows], mistake[rows] = marks.expected, marks.own, marks.verdict, marks.mistake
        points[rows] = share * np.array([q.points for q in questions])
        mistakes = marks.mistakes
    submitted_by = np.zeros(len(manifest.students), dtype=bool)
    submitted_by[student[student >= 0]] = True
    # A pool's variants are no roster: nobody is missing from it.
    missing = tuple(np.flatnonzero(~submitted_by).tolist()) if manifest.kind != "pool" else ()
    return Grades(manifest, submissions, policy, tuple(status), notes, student, graded,
                  expected, own, points, verdict, mistake, mistakes, missing)


# --- check a hand-worked key ------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """One value of a hand-worked key: what was written, the exact value, and the verdict."""

    name: str
    label: str
    text: str
    value: float
    expected: float
    decimals: int
    ok: bool  # the exact value rounded or truncated at the decimals it is written with
    follows: bool  # wrong, but what the formula gives on the key's own earlier printed values
    mistake: Mistake | None  # a named mistake, or (mistake.likely) a single substitution
    follows_from: tuple[str, ...] = ()  # the earlier printed values it follows from, as "o_pre = 0.103"
    off_by: int | None = None  # units of its last digit from the nearest accepted value (None: more than 9)
    own: float = float("nan")  # what the formula gives on the key's own earlier printed values


def check_key(network: Network, table: Table) -> tuple[Checked, ...]:
    """Mark an instructor's key (one row, or name/value rows) as a careful second marker would.

    Each value's decimals are read from how it is printed (0.30 has two); it is right when it is
    the exact value rounded or truncated at those decimals, and nothing else. A wrong value is
    explained: what the key's own earlier printed values give ("follows from"), one unit off in
    the last digit, a named mistake or a single substitution in its step's formula.
    """
    graph = build_graph(network.arch)
    labels = make_labels(graph, network.notation, dict(network.names))
    givens = network.arch.given_names()
    names = list(givens) + list(graph.names)
    lookup = question_lookup([(labels[nm].ascii, i) for i, nm in enumerate(names)]
                             + [(nm, i) for i, nm in enumerate(names)]
                             + [(labels[nm].text, i) for i, nm in enumerate(names)])
    pairs = _key_pairs(table)
    columns: list[int] = []
    texts: list[str] = []
    seen: dict[int, str] = {}
    for column, text in pairs:
        idx = _match(column, lookup)
        if idx is None:
            if header_key(column) in ID_COLUMNS + ("variant", "name"):
                continue
            raise NnexamError(f"{table.source}: column '{column}' is not a value of this network "
                              f"(expected labels as `nnexam solve` prints them, such as {labels[graph.names[0]].ascii}, or canonical names)")
        if idx in seen:
            raise NnexamError(f"{table.source}: '{column}' and '{seen[idx]}' name the same value")
        seen[idx] = column
        if not text.strip():
            continue
        columns.append(idx)
        texts.append(text)
    values = []
    for column, text in zip(columns, texts):
        try:
            values.append(parse_number(text))
        except Unreadable:
            raise NnexamError(f"{table.source}: {labels[names[column]].ascii}: {text!r} is not a number") from None
    written = [decimals_written(t) for t in texts]
    fractional = [d for d, t in zip(written, texts) if d is not None and ("." in t or "," in t)]
    common = Counter(fractional).most_common(1)[0][0] if fractional else 4
    # An integer written without decimals ("0") says nothing about precision: use the key's usual decimals.
    decimals = [d if ("." in t or "," in t or "e" in t.lower()) else common for d, t in zip(written, texts)]
    given = {k: v for k, v in network.givens().items()}
    key = evaluate(graph, given)
    q_names = [names[c] for c in columns]
    submitted = np.array(values, dtype=float).reshape(1, -1)
    # Steps the key does not print were computed on the way, at the key's usual decimals.
    marks = mark(graph, given, q_names, submitted, [Rule("decimals", 0.0, d) for d in decimals], common,
                 key=key, key_band=False, labels=labels)
    printed = dict(zip(q_names, zip(texts, values)))
    ok = {nm: int(marks.verdict[0, i]) == CORRECT for i, nm in enumerate(q_names)}
    out = []
    for i, nm in enumerate(q_names):
        v = int(marks.verdict[0, i])
        exp = float(np.broadcast_to(key[nm], (1,))[0])
        m = marks.mistakes[marks.mistake[0, i]] if marks.mistake[0, i] >= 0 else None
        follows_from: tuple[str, ...] = ()
        if v == FOLLOW:
            follows_from = _follows_from(graph, nm, printed, ok, key, labels)
        off = None if v == CORRECT else last_digit_units(values[i], exp, decimals[i])
        out.append(Checked(nm, labels[nm].ascii, texts[i], values[i], exp, decimals[i], v == CORRECT, v == FOLLOW,
                           m, follows_from, 0 if v == CORRECT else off, float(marks.own[0, i])))
    order = {nm: i for i, nm in enumerate(names)}
    return tuple(sorted(out, key=lambda c: order[c.name]))


def _follows_from(graph: StepGraph, name: str, printed: Mapping[str, tuple[str, float]], ok: Mapping[str, bool],
                  key: Mapping[str, np.ndarray], labels: Mapping[str, object]) -> tuple[str, ...]:
    """The earlier printed values a step's value follows from: the wrong ones, else those printed inexactly (rounded)."""
    found: dict[str, None] = {}

    def walk(n: str) -> None:
        for i in graph[n].inputs if n in graph else ():
            if i in printed:
                found[i] = None
            elif i in graph:
                walk(i)  # not printed: computed on the way from what is

    walk(name)
    wrong = [i for i in found if not ok[i]]
    inexact = [i for i in found if abs(printed[i][1] - float(np.broadcast_to(key[i], (1,))[0])) > 1e-9 * max(1.0, abs(printed[i][1]))]
    return tuple(f"{getattr(labels[i], 'ascii', i)} = {printed[i][0].strip()}" for i in (wrong or inexact))


def _key_pairs(table: Table) -> list[tuple[str, str]]:
    """(column, text) pairs of a key: one wide row, or rows of name and value."""
    keys = [header_key(h) for h in table.header]
    q_col, a_col = _find(keys, QUESTION_COLUMNS + ("name",)), _find(keys, ANSWER_COLUMNS)
    for row, line in zip(table.rows, table.lines):
        used = len(row)
        while used and not row[used - 1]:
            used -= 1
        if used > len(table.header):  # as `grade` reads such a row: no value can be matched to its name
            raise NnexamError(f"{table.source}: line {line}: {used} cells but the header has {len(table.header)} "
                              "(a decimal comma in a comma-separated file?), so no value can be matched to its name")
    if q_col is not None and a_col is not None and len(table.header) == 2:
        return [(row[q_col] if q_col < len(row) else "", row[a_col] if a_col < len(row) else "") for row in table.rows]
    if len(table.rows) != 1:
        raise NnexamError(f"{table.source}: expected one row of values under the header, found {len(table.rows)}")
    row = table.rows[0]
    return [(h, row[i] if i < len(row) else "") for i, h in enumerate(table.header) if h]


# --- what a question accepts, for exporters (LMS quizzes) ---------------------------------------


def accepted_bounds(manifest: Manifest, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(key, low, high), each (students, questions): the exact value and the closed interval accepted before follow-through.

    `rows` are manifest student indices (default: every student). An exporter that writes one gap
    per question (a Moodle Cloze NUMERICAL answer, Canvas blanks) accepts exactly [low, high].
    """
    idx = np.arange(len(manifest.students)) if rows is None else np.asarray(rows, dtype=np.int64)
    graph = manifest.graph
    key = evaluate(graph, manifest.givens(idx))
    names = [q.name for q in manifest.questions]
    reach = reachable_intervals(graph, key, band_decimals(manifest), tight=set(names))
    low, high, _ = _intervals(rules(manifest), names, key, reach, len(idx))
    exact = _columns([np.broadcast_to(key[q], (len(idx),)) for q in names], len(idx))
    return np.ascontiguousarray(exact), np.ascontiguousarray(low), np.ascontiguousarray(high)


def mistaken_answers(manifest: Manifest, rows: np.ndarray | None = None) -> list[tuple[Mistake, np.ndarray]]:
    """For each named mistake that changes an asked answer: the answers (students, questions) its whole chain gives.

    A question the mistake leaves unchanged, or moves no further than the accepted interval
    (accepted_bounds), holds NaN. Used to write wrong-answer alternatives with the mistake's
    explanation as feedback.
    """
    idx = np.arange(len(manifest.students)) if rows is None else np.asarray(rows, dtype=np.int64)
    graph = manifest.graph
    givens = manifest.givens(idx)
    _, low, high = accepted_bounds(manifest, idx)
    n = len(idx)
    out = []
    for m in applicable(graph):
        wrong = evaluate(graph, givens, mistake=m)
        values = _columns([np.broadcast_to(wrong[q.name], (n,)) for q in manifest.questions], n)
        values = np.ascontiguousarray(np.where(within(values, low, high), np.nan, values))
        if not np.isnan(values).all():
            out.append((m, values))
    return out


def read_submissions(data: bytes, manifest: Manifest, source: str = "submissions.csv") -> Submissions:
    """Parse a submissions file's bytes (any layout `nnexam grade` reads) against an exam."""
    from .table import read_table

    return parse_submissions(read_table(data, source), manifest)
