"""nnexam: per-student forward/backward-pass exercises, solved, rendered and graded.

The Python API is the modules the command line calls, each a verb (the package itself imports
nothing, so that `nnexam` starts, and catches Ctrl-C, before numpy and reportlab load):

    from nnexam.bank import load_bank                     # a bundled bank's name, or a TOML path
    from nnexam.generate import class_ids, generate       # one fair variant per student: a Manifest
    from nnexam.solve import solve                        # a Network's full answer key
    from nnexam.render import render_key, render_sheet    # PDF bytes
    from nnexam.grade import grade, read_submissions      # marks, follow-through, named mistakes
"""

__version__ = "0.2.0"
