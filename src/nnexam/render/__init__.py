"""The PDF builder: exercise sheets and answer keys as bytes, and the class bundles.

Pure functions: they take a Manifest and return bytes; cli.py writes the files.
"""

from __future__ import annotations

from ..manifest import Manifest, StudentVariant
from .batch import bookmark, render_all, student_files
from .bundle import bundle
from .documents import PAPERS, build, key_story, sheet_story


def render_sheet(manifest: Manifest, student: StudentVariant, *, paper: str = "a4", title: str | None = None) -> bytes:
    """The student's exercise sheet as PDF bytes: header, instructions, diagram, givens, answer boxes."""
    return build(sheet_story, manifest, student, paper, title, "Exercise sheet")


def render_key(manifest: Manifest, student: StudentVariant, *, paper: str = "a4", title: str | None = None) -> bytes:
    """The student's answer key as PDF bytes: answers table and the full worked solution."""
    return build(key_story, manifest, student, paper, title, "Answer key")


__all__ = ["PAPERS", "bookmark", "bundle", "render_all", "render_key", "render_sheet", "student_files"]
