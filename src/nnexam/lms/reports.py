"""Quiz response reports in, whichever LMS wrote them: the first reader that knows the layout wins.

Each LMS module's `read_responses(table, manifest)` returns the submissions table the grader
reads, or None when the table is not its layout; a plain submissions file (submission_template.csv)
passes through unchanged. Adding an LMS's report is one more reader in READERS.
"""

from __future__ import annotations

from typing import Callable, Sequence

import math

from ..grade import Policy, grade, parse_submissions
from ..manifest import Manifest
from ..table import Table
from . import canvas, forms, moodle
from .quiz import attempt_rows, cell, column, layout_note, take_rows, without_layout_note

READERS: tuple[Callable[[Table, Manifest], Table | None], ...] = (moodle.read_responses, canvas.read_responses,
                                                                   forms.read_responses)


def read_report(table: Table, manifest: Manifest) -> tuple[Table, str]:
    """(the submissions table, the layout found: '' for a plain submissions file)."""
    for reader in READERS:
        found = reader(table, manifest)
        if found is not None:
            return without_layout_note(found), layout_note(found)
    return table, ""


def attempt_scores(table: Table, manifest: Manifest, policy: Policy) -> list[float]:
    """Each row's score as graded on its own (for --attempt best): attempt by attempt, so each respondent is graded once per pass."""
    a, sid = column(table.header, "attempt"), column(table.header, "student_id")
    scores = [-math.inf] * len(table.rows)
    if a is None or sid is None:
        return scores
    passes: dict[str, list[int]] = {}
    for r, row in enumerate(table.rows):
        passes.setdefault(cell(row, a), []).append(r)
    for rows in passes.values():
        graded = grade(manifest, parse_submissions(take_rows(table, rows), manifest), policy)
        for j, r in enumerate(rows):
            if graded.graded[j]:
                scores[r] = float(graded.score[j])
    return scores


def choose_attempts(table: Table, mode: str, scores: Sequence[float] | None = None) -> tuple[Table, int]:
    """The table with one attempt per respondent (first, last or best), and how many attempts were left out."""
    rows, dropped = attempt_rows(table, mode, scores)
    return (take_rows(table, rows) if dropped else table), dropped


__all__ = ["READERS", "attempt_scores", "choose_attempts", "read_report"]
