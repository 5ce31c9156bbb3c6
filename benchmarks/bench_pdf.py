"""Seconds per student for a sheet and an answer key, against reportlab's own floor: `python benchmarks/bench_pdf.py`.

Method: 200 students of the bundled classic bank (nnexam.generate). "ours" renders every
student's sheet and key in one process (render_sheet + render_key), as the bank prints them:
built-up fractions in the key, working space under every task of the sheet. The floor, measured in the
same run, is reportlab itself writing two plain two-page documents per student with the same
embedded DejaVu font: a title, a drawn 2-2-2 network (circles, lines, labels), a table of 16
given values, a page break and a table of 40 answers (platypus SimpleDocTemplate, invariant).
Each figure is the best of 3 rounds, so other load on the machine counts as little as possible;
every round renders 200 other students of the same exam, so no round reuses another's cached
words and numbers (the per-exam caches stay warm, as in a worker after its first student).
The class run (once, all 600 students) adds the parallel path the CLI takes: all cores, new worker
processes with cold caches, and the two class bundles.
"""

from __future__ import annotations

import io
import os
import time

STUDENTS = 200
ROUNDS = 3


def _floor_doc(i: int) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Table

    class Network(Flowable):
        def wrap(self, aw, ah):
            return aw, 160

        def draw(self):
            c = self.canv
            pts = [(40 + 150 * l, 40 + 70 * j) for l in range(3) for j in range(2)]
            for a, b in ((pts[:2], pts[2:4]), (pts[2:4], pts[4:])):
                for x0, y0 in a:
                    for x1, y1 in b:
                        c.line(x0, y0, x1, y1)
            c.setFont("DejaVuSans", 8)
            for k, (x, y) in enumerate(pts):
                c.circle(x, y, 11)
                c.drawCentredString(x, y - 3, f"n{k}")
            for k in range(8):
                c.drawString(100 + 30 * k, 20 + 10 * (k % 3), f"w{k} = 0.{k}5")

    buf = io.BytesIO()
    font = "DejaVuSans"
    doc = SimpleDocTemplate(buf, pagesize=A4, invariant=1, initialFontName=font)
    style = [("FONT", (0, 0), (-1, -1), font, 9)]
    story = [Paragraph(f"Student {i}", ParagraphStyle("t", fontName=font, fontSize=12)), Network(),
             Table([[f"w{k}", f"{0.1 * k + i * 0.001:.4f}"] for k in range(16)], style=style), PageBreak(),
             Table([[f"q{k}", f"{k * 0.0123 + i:.4f}", "1"] for k in range(40)], style=style)]
    doc.build(story)
    return buf.getvalue()


def _best(fn) -> float:
    best = float("inf")
    for r in range(ROUNDS):
        t = time.perf_counter()
        fn(r)
        best = min(best, time.perf_counter() - t)
    return best


def run() -> list[str]:
    """Render 200 students; returns the result lines (seconds per student, floor, ratio, class run)."""
    from nnexam.bank import load_bank
    from nnexam.fonts import register_fonts
    from nnexam.generate import class_ids, generate
    from nnexam.render import bookmark, bundle, render_all, render_key, render_sheet

    register_fonts()
    manifest = generate(load_bank("classic"), "bench", class_ids(STUDENTS * ROUNDS))
    students = manifest.students
    render_sheet(manifest, students[0]), render_key(manifest, students[0])  # per-exam caches, as a worker has
    _floor_doc(0)

    def ours(r):
        for s in students[r * STUDENTS:(r + 1) * STUDENTS]:
            render_sheet(manifest, s)
            render_key(manifest, s)

    def floor(r):
        for i in range(r * STUDENTS, (r + 1) * STUDENTS):
            _floor_doc(i)
            _floor_doc(i + 1)

    ours_s = _best(ours) / STUDENTS
    floor_s = _best(floor) / STUDENTS

    def whole_class(r):
        sheets, keys = [b""] * len(students), [b""] * len(students)
        for i, sheet, key in render_all(manifest):
            sheets[i], keys[i] = sheet, key
        marks = [bookmark(s) for s in students]
        bundle(sheets, marks), bundle(keys, marks)

    t = time.perf_counter()
    whole_class(0)
    class_s = (time.perf_counter() - t) / ROUNDS  # once, over all ROUNDS x STUDENTS students
    sheet, key = render_sheet(manifest, students[0]), render_key(manifest, students[0])
    return [
        f"students: {STUDENTS} (bank classic), best of {ROUNDS} rounds",
        f"ours:  sheet + key  {ours_s * 1000:6.1f} ms per student (one process)",
        f"floor: 2 plain docs {floor_s * 1000:6.1f} ms per student (reportlab, same fonts)",
        f"ratio: {ours_s / floor_s:.2f} x the floor (goal: at most 2 x)",
        f"class: {class_s:.2f} s for {STUDENTS} students with {os.cpu_count()} processes, bundles included "
        f"({class_s / STUDENTS * 1000:.1f} ms per student)",
        f"sizes: sheet {len(sheet) // 1024} kB, key {len(key) // 1024} kB",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
