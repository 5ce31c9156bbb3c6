"""Google Forms and Microsoft Forms: their response CSV exports, read as submissions.

A form for a pool exam has one short-answer question per asked value titled with its label
(out_h1, dE/dw5, ...), one titled "Variant code", and one for the student id (unless the form
collects email addresses). Layouts, as the exports write them (no source is public; these are the
files as downloaded):
- Google Forms (Responses > Download responses (.csv)): "Timestamp", then "Email Address" when
  the form collects addresses ("Score" for a quiz), then one column per question, headed by its title;
- Microsoft Forms (Responses > Open in Excel, saved as CSV): "ID", "Start time", "Completion time",
  "Email", "Name", (newer exports: "Last modified time"), then one column per question; a quiz adds
  "Total points", "Quiz feedback" and "Points - <question>", "Feedback - <question>" columns.
"""

from __future__ import annotations

from ..manifest import Manifest
from ..table import Table, header_key
from .quiz import cell, column, respondent, submissions_table

ID_QUESTIONS = ("student_id", "Student ID", "Student number", "ID number", "Matrikelnummer", "SIS User ID", "Username")


def read_responses(table: Table, manifest: Manifest) -> Table | None:
    """A Google Forms or Microsoft Forms response export as a submissions table; None when it is neither."""
    header = table.header
    if column(header, "Timestamp", "Zeitstempel") is not None and header_key(header[0]) in ("timestamp", "zeitstempel"):
        what, email, name = "Google Forms responses", column(header, "Email Address", "E-Mail-Adresse"), None
    elif column(header, "Start time") is not None and column(header, "Completion time") is not None:
        what, email, name = "Microsoft Forms responses", column(header, "Email"), column(header, "Name")
    else:
        return None
    wanted = {}
    for qi, q in enumerate(manifest.questions):
        wanted.setdefault(header_key(q.label), qi)
        wanted.setdefault(header_key(q.name), qi)
    cols: dict[int, int] = {}
    for c, h in enumerate(header):
        qi = wanted.get(header_key(h))
        if qi is not None and qi not in cols:
            cols[qi] = c
    variant = column(header, "Variant code", "variant", "Variantencode")
    ids = [column(header, n) for n in ID_QUESTIONS] + [email]
    entries = []
    for r, row in enumerate(table.rows):
        sid, who = respondent(row, ids, [name])
        answers = [cell(row, cols.get(qi)) for qi in range(len(manifest.questions))]
        entries.append((r, sid, who, cell(row, variant).upper(), answers))
    return submissions_table(table, manifest, entries, what)
