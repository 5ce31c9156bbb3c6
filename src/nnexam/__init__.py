"""nnexam: per-student forward/backward-pass exercises, solved, rendered and graded.

The Python API, the same verbs the command line uses:

    from nnexam import load_bank, generate, class_ids, solve, render_sheet, render_key, read_submissions, grade

    bank = load_bank("classic")                       # a bundled bank's name, or a path to a TOML bank
    exam = generate(bank, "2026", class_ids(3))       # a Manifest: one fair variant per student
    key = solve(exam.students[0].network)             # an AnswerKey: every step's value
    pdf = render_sheet(exam, exam.students[0])        # PDF bytes; render_key likewise
    marks = grade(exam, read_submissions(b"student_id,out_h1\\ns001,0.5\\n", exam))
"""

from __future__ import annotations

__version__ = "0.1.0"

# Eager imports, after __version__ (the modules read it): a submodule named like its verb
# (generate, solve, grade) would otherwise shadow the function on the package.
from .bank import load_bank  # noqa: E402
from .generate import class_ids, generate  # noqa: E402
from .grade import check_key, grade, read_submissions  # noqa: E402
from .manifest import load_manifest  # noqa: E402
from .render import render_key, render_sheet  # noqa: E402
from .solve import solve  # noqa: E402
from .spec import load_spec  # noqa: E402

__all__ = ["__version__", "check_key", "class_ids", "generate", "grade", "load_bank", "load_manifest", "load_spec",
           "read_submissions", "render_key", "render_sheet", "solve"]
