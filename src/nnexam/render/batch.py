"""Rendering a whole class: where each student's files go, and sheets and keys in parallel processes."""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Iterator

from ..errors import NnexamError
from ..files import unique_stems
from ..manifest import Manifest
from ..workers import pool
from .documents import PAPERS, build, key_story, sheet_story


def student_files(manifest: Manifest) -> list[tuple[str, str]]:
    """(sheet, key) paths relative to the exam folder: the manifest's `files`, checked, or made from ids."""
    stems = unique_stems([s.id for s in manifest.students])
    out, seen = [], set()
    for s, stem in zip(manifest.students, stems):
        pair = []
        for kind, folder in (("sheet", "sheets"), ("key", "keys")):
            path = s.files.get(kind) or f"{folder}/{stem}.pdf"
            p = PurePosixPath(path)
            if (p.is_absolute() or "\\" in path or ".." in p.parts or ":" in path or p.suffix.lower() != ".pdf"
                    or path.lower() in seen or len(p.parts) < 2):
                raise NnexamError(f"manifest: student '{s.id}': files.{kind} {path!r} is not a safe relative path "
                                  f"such as {folder}/{stem}.pdf")
            seen.add(path.lower())
            pair.append(path)
        out.append((pair[0], pair[1]))
    return out


def bookmark(student) -> str:
    """The bookmark of one student in the class files."""
    return f"{student.name} ({student.id})" if student.name else student.id


_JOB: dict = {}


def _init(manifest: Manifest, paper: str, title: str | None, fonts: tuple[str, ...] = ()) -> None:
    from ..fonts import use_font

    for path in fonts:  # the user's --font, registered in every worker process
        use_font(path)
    _JOB.update(manifest=manifest, paper=paper, title=title)


def _render_chunk(indices: list[int]) -> list[tuple[int, bytes, bytes]]:
    m, paper, title = _JOB["manifest"], _JOB["paper"], _JOB["title"]
    out = []
    for i in indices:
        s = m.students[i]
        out.append((i, build(sheet_story, m, s, paper, title, "Exercise sheet"), build(key_story, m, s, paper, title, "Answer key")))
    return out


def render_all(manifest: Manifest, *, jobs: int | None = None, paper: str = "a4",
               title: str | None = None, fonts: tuple[str, ...] = ()) -> Iterator[tuple[int, bytes, bytes]]:
    """(index, sheet, key) for every student, rendered in `jobs` processes (default: all cores), as they finish.

    `fonts`: paths of TrueType fonts tried first for letters the shipped fonts lack (fonts.use_font).
    """
    if paper not in PAPERS:
        raise NnexamError(f"paper '{paper}': expected one of {', '.join(PAPERS)}")
    n = len(manifest.students)
    jobs = max(1, min(jobs or os.cpu_count() or 1, n))
    if jobs == 1:
        _init(manifest, paper, title, fonts)
        for i in range(n):
            yield from _render_chunk([i])
        return
    # Small chunks keep the progress bar moving and the cores busy to the end.
    size = max(1, min(16, n // (jobs * 8)))
    chunks = [list(range(a, min(n, a + size))) for a in range(0, n, size)]
    with pool(jobs, "rendering PDFs", _init, (manifest, paper, title, tuple(fonts))) as workers:
        for done in workers.results([workers.submit(_render_chunk, c) for c in chunks]):
            yield from done
