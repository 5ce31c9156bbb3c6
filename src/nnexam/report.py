"""report.pdf: how the class did, drawn as charts an instructor reads in a minute.

Per question the share correct / follow-through / known mistake / other wrong / unreadable / blank
(stacked bars and a table), the most common mistakes, and a histogram of scores. Returns bytes;
reportlab with invariant=1, so the same grades give the same file.

The bars read in greyscale and for colour-blind readers: Okabe and Ito's palette (distinct under
the common colour-vision deficiencies), a fill pattern on every wrong kind (hatched, cross-hatched,
striped), light-to-dark order, and the percentages written in the bars.
"""

from __future__ import annotations

import io
import math
from collections import Counter

import numpy as np
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Group, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .fonts import markup, register_fonts
from .grade import BLANK, CORRECT, FOLLOW, GRADED, MISTAKE, UNREADABLE, WRONG, Grades
from .gradebook import attention_lines, number

CATEGORIES = ("correct", "follow-through", "known mistake", "other wrong", "unreadable", "blank")
VERDICT_OF = (CORRECT, FOLLOW, MISTAKE, WRONG, UNREADABLE, BLANK)  # grade.VERDICTS code of each category
# Okabe-Ito: bluish green, sky blue, orange, vermillion, reddish purple; blank is white (outlined).
COLORS = (colors.HexColor("#009E73"), colors.HexColor("#56B4E9"), colors.HexColor("#E69F00"),
          colors.HexColor("#D55E00"), colors.HexColor("#CC79A7"), colors.HexColor("#FFFFFF"))
# Drawn over the fill: none, none, "/" hatch, "x" cross-hatch, "-" stripes, none (white).
PATTERNS = ("", "", "/", "x", "-", "")
FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
PAGE_W = A4[0] - 36 * mm
PER_CHART = 44  # at most this many questions per stacked-bar chart (one page); labels stay readable
BAR_PITCH = 13  # points per question in the stacked-bar charts
MIN_ROWS = 3  # a table split at a page break keeps at least this many rows on each side


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13)
    return {
        "title": ParagraphStyle("title", base, fontName=BOLD, fontSize=16, leading=20, spaceAfter=4),
        "h2": ParagraphStyle("h2", base, fontName=BOLD, fontSize=12, leading=16, spaceBefore=10, spaceAfter=4),
        "body": base,
        "small": ParagraphStyle("small", base, fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
    }


def _esc(text: str) -> str:
    """Escaped for a Paragraph, with the letters DejaVu Sans lacks (a name in any script) in fallback fonts."""
    return markup(text, FONT)


def category_counts(grades: Grades) -> np.ndarray:
    """(questions, 6): how many graded submissions are correct, follow-through, known mistake,
    other wrong, unreadable, blank, per question (CATEGORIES' order)."""
    v = grades.verdict[grades.graded]
    return np.stack([(v == code).sum(axis=0) for code in VERDICT_OF], axis=1)


def _histogram(percent: np.ndarray) -> Drawing:
    bins = np.clip((percent // 10).astype(int), 0, 9)  # 100% falls in the top bin
    counts = np.bincount(bins, minlength=10)
    d = Drawing(PAGE_W, 170)
    d.initialFontName = FONT  # else the drawing starts in Helvetica, a font the PDF would not embed
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, PAGE_W - 60, 120
    chart.data = [counts.tolist()]
    chart.categoryAxis.categoryNames = [f"{10 * i}–{10 * i + 10}" for i in range(10)]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7.5
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7.5
    chart.valueAxis.valueMin = 0
    top = max(1, int(counts.max()) if counts.size else 1)
    # A round step (1, 2, 5 times a power of ten) giving at most about six gridlines.
    step = next(m * 10 ** e for e in range(12) for m in (1, 2, 5) if m * 10 ** e * 6 >= top)
    chart.valueAxis.valueStep = step
    chart.valueAxis.valueMax = step * int(np.ceil(top / step))
    chart.bars[0].fillColor = colors.HexColor("#1565c0")
    chart.bars[0].strokeColor = None
    d.add(chart)
    d.add(String(PAGE_W / 2, 5, "score (% of the maximum)", fontName=FONT, fontSize=8, textAnchor="middle"))
    d.add(String(4, 160, "students", fontName=FONT, fontSize=8))
    return d


def _pattern(g: Group, kind: str, x: float, y: float, w: float, h: float) -> None:
    """Hatching inside the rectangle (x, y, w, h), clipped by hand: lines every 3.5 pt."""
    ink = dict(strokeColor=colors.HexColor("#222222"), strokeWidth=0.45)
    step = 3.5
    if kind == "-":
        yy = y + step / 2
        while yy < y + h:
            g.add(Line(x, yy, x + w, yy, **ink))
            yy += step
        return
    for direction in ("/",) if kind == "/" else ("/", "\\"):
        # lines x' = x0 + t (slope +1 for "/", -1 for "\\"), cut to the rectangle
        c = -h
        while c < w:
            if direction == "/":
                x0, y0, x1, y1 = x + c, y, x + c + h, y + h
            else:
                x0, y0, x1, y1 = x + c, y + h, x + c + h, y
            # clip the segment to x in [x, x + w]
            if x0 < x:
                t = x - x0
                x0, y0 = x, y0 + (t if direction == "/" else -t)
            if x1 > x + w:
                t = x1 - (x + w)
                x1, y1 = x + w, y1 - (t if direction == "/" else -t)
            if x1 > x0:
                g.add(Line(x0, y0, x1, y1, **ink))
            c += step * 1.6


def share_text(share: float) -> str:
    """A share in % as printed: rounded half up; "<1" and ">99" where rounding would print 0 or 100."""
    if 0 < share < 1:
        return "<1"
    if 99 < share < 100:
        return ">99"
    return str(math.floor(share + 0.5))


def _swatch(g: Group, c: int, x: float, y: float, w: float, h: float) -> None:
    g.add(Rect(x, y, w, h, fillColor=COLORS[c], strokeColor=colors.HexColor("#555555") if CATEGORIES[c] == "blank"
               else None, strokeWidth=0.5))
    if PATTERNS[c]:
        _pattern(g, PATTERNS[c], x, y, w, h)


def _question_chart(labels: list[str], shares: np.ndarray) -> Drawing:
    """Stacked horizontal bars, one per question, first question on top; shares in % labelled in the bars."""
    n = len(labels)
    left, right, top_pad, legend_h = 95.0, 12.0, 6.0, 40.0
    height = BAR_PITCH * n + legend_h + top_pad
    d = Drawing(PAGE_W, height)
    d.initialFontName = FONT
    width = PAGE_W - left - right
    bar_h = BAR_PITCH - 3
    g = Group()
    for i, label in enumerate(labels):
        y = height - top_pad - (i + 1) * BAR_PITCH + 1.5
        d.add(String(left - 6, y + bar_h / 2 - 2.6, label, fontName=FONT, fontSize=7.5, textAnchor="end"))
        x = left
        for c in range(len(CATEGORIES)):
            w = width * float(shares[i, c]) / 100.0
            if w <= 0:
                continue
            _swatch(g, c, x, y, w, bar_h)
            if w >= 18:  # direct label: the share, on a white patch so the hatching does not hide it
                text = share_text(float(shares[i, c]))
                tw = len(text) * 3.9 + 3
                g.add(Rect(x + w / 2 - tw / 2, y + bar_h / 2 - 3.6, tw, 7.6, fillColor=colors.white, strokeColor=None))
                g.add(String(x + w / 2, y + bar_h / 2 - 2.4, text, fontName=FONT, fontSize=6.5, textAnchor="middle"))
            x += w
        g.add(Rect(left, y, width, bar_h, fillColor=None, strokeColor=colors.HexColor("#555555"), strokeWidth=0.4))
    d.add(g)
    axis_y = height - top_pad - n * BAR_PITCH - 1
    for k in range(0, 101, 20):
        xx = left + width * k / 100
        d.add(Line(xx, axis_y, xx, axis_y - 3, strokeColor=colors.black, strokeWidth=0.5))
        d.add(String(xx, axis_y - 11, f"{k}%", fontName=FONT, fontSize=7, textAnchor="middle"))
    # The legend: a swatch with its pattern and the name, in the bars' order.
    pitch = min(110.0, width / 3)
    for c, name in enumerate(CATEGORIES):
        lx, ly = left + (c % 3) * pitch, 3.0 + 12.0 * (1 - c // 3)
        _swatch(d, c, lx, ly, 14, 9)
        d.add(String(lx + 18, ly + 1.5, name, fontName=FONT, fontSize=7.5))
    return d


class _Table(Table):
    """A table that, split at a page break, leaves no fewer than MIN_ROWS rows on either page."""

    def split(self, availWidth, availHeight):
        parts = super().split(availWidth, availHeight)
        while len(parts) == 2:
            first, last = (len(p._cellvalues) - self.repeatRows for p in parts)
            if first < MIN_ROWS:
                return []  # the whole table starts on the next page
            if last >= MIN_ROWS:
                break
            availHeight -= 6  # move a row or two over to the next page
            parts = super().split(availWidth, availHeight)
        return parts


def _table(rows: list[list[str]], widths: list[float], align_right_from: int = 1) -> Table:
    t = _Table(rows, colWidths=widths, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), FONT, 8),
        ("FONT", (0, 0), (-1, 0), BOLD, 8),
        ("ALIGN", (align_right_from, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f3f3f3")]),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    return t


def render_report(grades: Grades) -> bytes:
    """The grading report as PDF bytes."""
    register_fonts()
    st = _styles()
    m = grades.manifest
    questions = m.questions
    graded = grades.graded
    n_graded = int(graded.sum())
    score = grades.score[graded]
    max_score = grades.max_score
    percent = 100.0 * score / max_score if max_score else np.zeros_like(score)
    story: list = [Paragraph(_esc(f"Grading report: {m.title or m.bank_name}"), st["title"])]
    sub = " · ".join(x for x in (m.course, m.date, f"bank {m.bank_name}" if m.bank_name else "", f"seed {m.seed}") if x)
    story.append(Paragraph(_esc(sub), st["small"]))
    story.append(Spacer(1, 6))
    counts = Counter(grades.status)
    status_text = ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: (kv[0] != GRADED, kv[0])))
    lines = [
        f"{len(grades.status)} submission rows from {_esc(grades.submissions.source)}: {status_text}.",
        f"{len(grades.missing)} of {len(m.students)} students in the manifest have no submission"
        + (": " + _esc(", ".join(_who(m.students[i]) for i in grades.missing[:10]))
           + (f" and {len(grades.missing) - 10} more" if len(grades.missing) > 10 else "") if grades.missing else "") + ".",
    ]
    if n_graded:
        lines.append(f"Scores of the {n_graded} graded submissions (out of {number(max_score)}): mean {np.mean(percent):.1f}%, "
                     f"median {np.median(percent):.1f}%, lowest {np.min(percent):.1f}%, highest {np.max(percent):.1f}%.")
    lines.append(f"Follow-through earns {number(100 * grades.policy.follow_through)}% of a question's points.")
    for line in lines:
        story.append(Paragraph(line, st["body"]))
    for line in attention_lines(grades):
        story.append(Paragraph("Needs attention: " + _esc(line), st["body"]))
    story.append(Paragraph("Score histogram", st["h2"]))
    story.append(_histogram(percent if n_graded else np.zeros(0)))

    story.append(Paragraph("Most common mistakes", st["h2"]))
    mistake_rows = _mistake_rows(grades)
    if mistake_rows:
        table = _table([["mistake", "answers", "students", "most often in"]] + mistake_rows,
                       [70 * mm, 18 * mm, 18 * mm, 68 * mm])
        table.setStyle(TableStyle([("ALIGN", (3, 0), (3, -1), "LEFT"), ("LEFTPADDING", (3, 0), (3, -1), 12)]))
        story.append(table)
        story.append(Spacer(1, 4))
        explained = {mk.title: mk.explanation for mk in grades.mistakes}
        for row in mistake_rows:  # in the table's order, most common first
            story.append(Paragraph(f"<b>{_esc(row[0])}</b>: {_esc(explained[row[0]])}", st["small"]))
    else:
        story.append(Paragraph("No wrong answer matched a known mistake.", st["body"]))

    vc = category_counts(grades).astype(float)
    shares = 100.0 * vc / max(1, n_graded)
    labels = [q.label for q in questions]
    story.append(PageBreak())
    story.append(Paragraph("Answers per question", st["h2"]))
    story.append(Paragraph("Share of the graded submissions, per question, in sheet order.", st["small"]))
    # As few charts as fit a page each, of equal length (no chart of two questions at the end).
    per = max(1, -(-len(labels) // max(1, -(-len(labels) // PER_CHART))))
    for start in range(0, len(labels), per):
        story.append(_question_chart(labels[start:start + per], shares[start:start + per]))
    rows = [["question", "points", "correct", "follow-\nthrough", "known\nmistake", "other\nwrong", "unread-\nable", "blank"]]
    for qi, q in enumerate(questions):
        rows.append([q.label, number(q.points)] + [share_text(float(shares[qi, c])) + "%" for c in range(len(CATEGORIES))])
    story.append(Spacer(1, 6))
    story.append(_table(rows, [38 * mm, 14 * mm] + [20 * mm] * len(CATEGORIES)))

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                            bottomMargin=16 * mm, title=f"Grading report: {m.title}", author="nnexam", invariant=1,
                            initialFontName=FONT)
    doc.build(story)
    return buf.getvalue()


def _who(student) -> str:
    return f"{student.name} ({student.id})" if student.name else student.id


def _mistake_rows(grades: Grades) -> list[list[str]]:
    mk = grades.mistake[grades.graded]
    rows = []
    labels = [q.label for q in grades.manifest.questions]
    for mi, mistake in enumerate(grades.mistakes):
        hits = mk == mi
        total = int(hits.sum())
        if not total:
            continue
        per_q = hits.sum(axis=0)
        top = [labels[i] for i in np.argsort(-per_q, kind="stable")[:3] if per_q[i]]
        rows.append((total, [mistake.title, str(total), str(int(hits.any(axis=1).sum())), ", ".join(top)]))
    rows.sort(key=lambda r: -r[0])
    return [r for _, r in rows]
