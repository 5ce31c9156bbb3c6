"""The learning-management systems nnexam talks to: one module per LMS, each behind this interface.

Each module (canvas.py, moodle.py, ...) keeps everything of that LMS together: reading the roster
it exports, writing the grade file it imports, exporting an exam as its quiz, and reading its quiz
response reports back in. The core (spec, graph, solve, grade) knows nothing of any LMS; the CLI
asks this package. Adding Blackboard or Brightspace is one new module added to `SYSTEMS`.

The interface is a set of plain functions per module (any may be absent when that LMS has no such
file; `None` from a reader means "not this LMS's layout"):

- `read_roster(table) -> Roster | None`            a roster export in this LMS's layout
- `grade_file(grades, title, options) -> (name, bytes)`   the grade import file (canvas.csv, ...)
- `export_quiz(manifest, options) -> dict[name, bytes]`   the exam as this LMS's quiz import
- `read_responses(table, manifest) -> Table | None`       a quiz response report as a submissions Table
"""

from __future__ import annotations
