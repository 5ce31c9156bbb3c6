"""Page furniture drawn straight on the canvas: the header, grids of values, answer boxes, the answer table.

Each block is a small Flowable that measures with stringWidth and draws text objects; tables split
by rows at page breaks. They replace reportlab's Paragraph and Table, whose markup parsing and
general cell layout cost more than the rest of a sheet together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from reportlab.lib.colors import Color
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable

from ..fonts import clip_runs, runs, runs_width
from .typeset import BOLD, MONO, SANS, SANS_BOLD, MathLine, Word, draw_text, draw_word, plain, word_width

INK = Color(0.1, 0.1, 0.12)
GREY = Color(0.42, 0.42, 0.47)
RULE = Color(0.75, 0.75, 0.8)
TINT = Color(0.95, 0.96, 0.98)
ACCENT = Color(0.16, 0.3, 0.55)


def text(s: str, size: float = 9.0, font: str = SANS, indent: float = 0.0, space_before: float = 0.0) -> MathLine:
    """Plain prose as a MathLine (breaks at spaces; much cheaper than a Paragraph)."""
    return MathLine([plain(w, font) for w in s.split(" ") if w], size, indent=indent, hang=indent, space_before=space_before,
                    math=False)


def fit_size(s: str, font: str, size: float, width: float, smallest: float = 5.5) -> float:
    """The largest size up to `size` at which `s` fits in `width`."""
    w = stringWidth(s, font, size)
    return size if w <= width else max(smallest, size * width / w)


@dataclass(frozen=True)
class HeaderInfo:
    course: str
    title: str
    kind: str  # "Exercise sheet" or "Answer key"
    fields: tuple[tuple[str, str], ...]  # (caption, value): name, id, variant, date


class Header(Flowable):
    """Course, exam title and the student box at the top of the first page."""

    def __init__(self, info: HeaderInfo):
        super().__init__()
        self.info = info

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        self._title = wrap_runs(self.info.title, SANS_BOLD, 15, availWidth)
        self.height = 14 + 19 * len(self._title) + 34
        # Values (a name in any script) as runs of the fonts that have their letters, measured once.
        self._runs = [runs(v, SANS_BOLD) for _, v in self.info.fields]
        return self.width, self.height

    def draw(self):
        c, w, h, info = self.canv, self.width, self.height, self.info
        course, _ = fitted(info.course, SANS, 8.5, w * 0.7, 8.5, own=False)
        draw_word(c, 0, h - 9, course, 8.5, GREY)
        draw_text(c, w, h - 9, info.kind.upper(), SANS_BOLD, 8.5, ACCENT, "right")
        y = h - 14 - 15
        for line in self._title:
            draw_word(c, 0, y, line, 15, INK)
            y -= 19
        # The student box: captions small above, values large below, widths by need.
        box_h = 28.0
        c.setFillColor(TINT)
        c.setStrokeColor(RULE)
        c.roundRect(0, 0, w, box_h, 3, stroke=1, fill=1)
        x = 8.0
        for (cap, _), rs, cw in zip(self.info.fields, self._runs, self._widths(w - 16)):
            draw_text(c, x, box_h - 9, cap, SANS, 6.5, GREY)
            value, size = fit_runs(rs, SANS_BOLD, 10.5, cw - 8)
            draw_word(c, x, 7, value, size, INK)
            x += cw

    def _widths(self, total: float) -> list[float]:
        """Column widths: the name 3 shares, the others 1.4 each; when a value needs more room than
        its share, every field first gets what it needs and the rest is shared out (the name is
        shrunk, then cut, only when the needs alone exceed the box)."""
        fields = self.info.fields
        weights = [3.0 if cap == "Name" else 1.4 for cap, _ in fields]
        shares = [total * wt / sum(weights) for wt in weights]
        need = [max(runs_width(rs, 10.5), stringWidth(cap, SANS, 6.5)) + 12 for (cap, _), rs in zip(fields, self._runs)]
        if all(n <= cw for n, cw in zip(need, shares)):
            return shares
        if sum(need) <= total:
            left = total - sum(need)
            return [n + left * wt / sum(weights) for n, wt in zip(need, weights)]
        out = [min(n, 0.3 * total) if cap != "Name" else 0.0 for (cap, _), n in zip(fields, need)]
        rest = total - sum(out)
        names = [i for i, (cap, _) in enumerate(fields) if cap == "Name"]
        for i in names:
            out[i] = rest / len(names)
        return out


def wrap_runs(s: str, font: str, size: float, width: float) -> list[Word]:
    """`s` (any script) broken into lines of at most `width`: at spaces, and between any two CJK characters."""
    tokens = re.findall(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]\s*|[^\s\u2e80-\u9fff"
                        r"\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003ffff]+\s*|\s+", s.strip())
    lines: list[str] = []
    line, used = "", 0.0
    for tok in tokens:
        w = runs_width(runs(tok.rstrip(), font, own=False), size)
        if line and used + w > width:
            lines.append(line)
            line, used = "", 0.0
        line += tok
        used += runs_width(runs(tok, font, own=False), size)
    if line or not lines:
        lines.append(line)
    return [tuple(plain(t, f)[0] for t, f in runs(ln.rstrip(), font, own=False)) for ln in lines]


def fit_runs(rs, font: str, size: float, width: float, smallest: float = 5.5) -> tuple[Word, float]:
    """Runs (fonts.runs) as one Word at the largest size up to `size` that fits `width`, cut with an
    ellipsis if even `smallest` is too large; linear in the text (a 40,000-letter name costs ms)."""
    w = runs_width(rs, size)
    if w > width:
        size = max(smallest, size * width / w)
        rs = clip_runs(rs, size, width, font)
    return tuple(plain(t, f)[0] for t, f in rs), size


def fitted(s: str, font: str, size: float, width: float, smallest: float = 5.5, own: bool = True) -> tuple[Word, float]:
    """`s` (a name, in any script) drawn in `font` and its fallbacks, fitted to `width` as fit_runs does."""
    return fit_runs(runs(s, font, own), font, size, width, smallest)


def clip(s: str, font: str, size: float, width: float) -> str:
    """`s`, cut with an ellipsis if it does not fit in `width` even at its smallest size (a binary search)."""
    if stringWidth(s, font, size) <= width:
        return s
    lo, hi = 0, len(s)  # the longest prefix that fits with the ellipsis: lo fits, hi does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if stringWidth(s[:mid] + "…", font, size) <= width:
            lo = mid
        else:
            hi = mid
    return s[:lo].rstrip() + "…"


class Heading(Flowable):
    """A section heading: bold sans text with an optional right-aligned note (points)."""

    def __init__(self, s: str, note: str = "", size: float = 11.0, space_before: float = 8.0):
        super().__init__()
        self.s, self.note, self.size = s, note, size
        self.spaceBefore = space_before

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        return availWidth, self.size * 1.6

    def draw(self):
        c = self.canv
        note_w = stringWidth(self.note, SANS, self.size * 0.8) + 8 if self.note else 0
        size = fit_size(self.s, SANS_BOLD, self.size, self.width - note_w)
        draw_text(c, 0, self.size * 0.45, self.s, SANS_BOLD, size, ACCENT)
        if self.note:
            draw_text(c, self.width, self.size * 0.45, self.note, SANS, self.size * 0.8, GREY, "right")


class _Rows(Flowable):
    """Rows of equal height that split between rows at a page break."""

    row_h = 14.0

    def _rows(self, availWidth) -> int:
        raise NotImplementedError

    def _part(self, start: int, stop: int) -> "_Rows":
        raise NotImplementedError

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        self.height = self._rows(availWidth) * self.row_h + self.pad
        return self.width, self.height

    pad = 2.0

    keep = 1  # rows a page break leaves on each side at least (fewer: the block moves on whole)

    def split(self, availWidth, availHeight):
        n = self._rows(availWidth)
        fit = min(int((availHeight - self.pad) // self.row_h), n - self.keep)
        if fit < self.keep or fit >= n:
            return []
        return [self._part(0, fit), self._part(fit, n)]


class ValueGrid(_Rows):
    """Given values as `name = value` cells in columns, with a caption column.

    With `cell_w` the columns are a grid of that pitch shared with other grids (so they line up),
    and the cells fill the rows evenly (6 cells in a 5-column grid: two rows of 3, no lone cell).
    """

    keep = 2

    def __init__(self, caption: str, cells: Sequence[Word], size: float = 8.5, caption_w: float = 92.0,
                 _rows: tuple[int, int] | None = None, _cols: tuple[int, int] | None = None,
                 cell_w: float | None = None):
        super().__init__()
        self.caption, self.cells, self.size, self.caption_w = caption, tuple(cells), size, caption_w
        self.row_h = size * 1.75
        self._range, self._fixed_cols, self.cell_w = _rows, _cols, cell_w

    def _columns(self, availWidth) -> tuple[int, int]:
        """(grid columns, cells per row)."""
        if self._fixed_cols:
            return self._fixed_cols
        cell = self.cell_w or max(word_width(c, self.size) for c in self.cells) + 14
        fit = max(1, int((availWidth - self.caption_w) // cell))
        if not self.cell_w:
            cols = min(len(self.cells), fit)
            return cols, cols
        rows = -(-len(self.cells) // fit)
        return fit, -(-len(self.cells) // rows)

    def _rows(self, availWidth):
        if self._range:
            return self._range[1] - self._range[0]
        return -(-len(self.cells) // self._columns(availWidth)[1])

    def _part(self, start, stop):
        first = self._range[0] if self._range else 0
        return ValueGrid(self.caption if start == 0 else "", self.cells, self.size, self.caption_w,
                         (first + start, first + stop), self._columns(self.width), self.cell_w)

    def draw(self):
        c = self.canv
        grid, per_row = self._columns(self.width)
        first, stop = self._range or (0, self._rows(self.width))
        pitch = (self.width - self.caption_w) / grid
        if self.caption:
            draw_text(c, 0, self.height - self.row_h + self.size * 0.45, self.caption, SANS, self.size * 0.9, GREY)
        for r in range(first, stop):
            y = self.height - (r - first + 1) * self.row_h + self.size * 0.45
            for col in range(per_row):
                i = r * per_row + col
                if i < len(self.cells):
                    draw_word(c, self.caption_w + col * pitch, y, self.cells[i], self.size, INK)
        c.setStrokeColor(RULE)
        c.setLineWidth(0.4)
        c.line(self.caption_w, 0.5, self.width, 0.5)


@dataclass(frozen=True)
class Blank:
    """One answer box on the sheet: number, printed name, CSV column, points."""

    number: str
    name: Word
    column: str
    points: str


class AnswerBoxes(_Rows):
    """A grid of empty answer boxes, each headed by its number, name, column name and points.

    A box is BOX_H high and at least MIN_W wide (room for a number written by hand: 9 mm by 45 mm
    at the least); the columns share the frame's width.
    """

    BOX_H = 10 * mm
    MIN_W = 48 * mm
    GAP = 8.0

    def __init__(self, blanks: Sequence[Blank], min_w: float = MIN_W, _range: tuple[int, int] | None = None,
                 _cols: int | None = None):
        super().__init__()
        self.blanks, self.min_w = tuple(blanks), min_w
        self.row_h = 21.0 + self.BOX_H + 7.0
        self._range, self._fixed_cols = _range, _cols

    def _columns(self, availWidth):
        return self._fixed_cols or max(1, int((availWidth + self.GAP) // (self.min_w + self.GAP)))

    def _rows(self, availWidth):
        if self._range:
            return self._range[1] - self._range[0]
        return -(-len(self.blanks) // self._columns(availWidth))

    def _part(self, start, stop):
        first = self._range[0] if self._range else 0
        return AnswerBoxes(self.blanks, self.min_w, (first + start, first + stop), self._columns(self.width))

    def box_width(self, availWidth: float) -> float:
        cols = self._columns(availWidth)
        return (availWidth - self.GAP * (cols - 1)) / cols

    def draw(self):
        c = self.canv
        cols = self._columns(self.width)
        gap = self.GAP
        bw = self.box_width(self.width)
        first, stop = self._range or (0, self._rows(self.width))
        for r in range(first, stop):
            top = self.height - (r - first) * self.row_h
            for col in range(cols):
                i = r * cols + col
                if i >= len(self.blanks):
                    break
                b = self.blanks[i]
                x = col * (bw + gap)
                draw_text(c, x, top - 10, b.number, SANS_BOLD, 8, ACCENT)
                nx = x + stringWidth(b.number, SANS_BOLD, 8) + 4
                size = 9.0
                while size > 6 and nx + word_width(b.name, size) > x + bw:
                    size -= 0.5
                draw_word(c, nx, top - 10.5, b.name, size, INK)
                draw_text(c, x, top - 18.5, b.column, MONO, 6.5, GREY)
                draw_text(c, x + bw, top - 18.5, b.points, SANS, 6.5, GREY, "right")
                c.setStrokeColor(BOX)
                c.setLineWidth(0.7)
                c.rect(x, top - 21 - self.BOX_H, bw, self.BOX_H, stroke=1, fill=0)


BOX = Color(0.55, 0.55, 0.6)
GRID = Color(0.88, 0.89, 0.92)


class WorkSpace(Flowable):
    """Room for working: a light 5 mm grid under a caption.

    `height` is the least room; with `fill` it takes the rest of the page when that is at least
    `height`, else it starts on the next page and takes all of it.
    """

    PITCH = 5 * mm

    def __init__(self, height: float, fill: bool = False, caption: str = "Working space", space_before: float = 4.0):
        super().__init__()
        self.least, self.fill, self.caption = height, fill, caption
        self.spaceBefore = space_before
        self.then = None  # the next task's page-break test (documents._KeepRoom): room it needs below this one

    def wrap(self, availWidth, availHeight):
        self.width = availWidth
        # The next task starts the next page: this area takes the rest of this one rather than leave it blank.
        last_here = self.then is not None and availHeight - self.least < self.then.room(availWidth)
        if (self.fill or last_here) and availHeight >= self.least or 0.6 * self.least <= availHeight < self.least:
            self.height = availHeight - 1  # the rest of the page (at 3/5 of the room asked, rather than apart from its task)
        else:
            self.height = self.least
        return self.width, self.height

    def split(self, availWidth, availHeight):
        return []

    def draw(self):
        c = self.canv
        c.setStrokeColor(GRID)
        c.setLineWidth(0.4)
        path, x0 = _grid(round(self.width, 2), round(self.height, 2), self.PITCH)
        c._code.append(path)
        draw_text(c, x0, self.height - 8, self.caption, SANS, 7, GREY)


@lru_cache(maxsize=64)
def _grid(w: float, h: float, p: float) -> tuple[str, float]:
    """The path of a grid of p-squares centred in w under a caption line, and its left edge."""
    top = h - 11
    cols, rows = int(w // p), int((top - 2) // p)
    gw, gh = cols * p, rows * p
    x0, y0 = (w - gw) / 2, top - gh
    path = [f"{x0 + i * p:.2f} {y0:.2f} m {x0 + i * p:.2f} {top:.2f} l" for i in range(cols + 1)]
    path += [f"{x0:.2f} {y0 + j * p:.2f} m {x0 + gw:.2f} {y0 + j * p:.2f} l" for j in range(rows + 1)]
    return " ".join(path) + " S", x0


@dataclass(frozen=True)
class AnswerRow:
    """One row of the key's answer table."""

    number: str
    name: Word
    column: str
    value: str
    points: str


class AnswerTable(_Rows):
    """The key's table of every asked answer: number, name, CSV column, value, points."""

    keep = 3

    def __init__(self, rows: Sequence[AnswerRow], size: float = 8.5, _range: tuple[int, int] | None = None):
        super().__init__()
        self.rows, self.size, self._range = tuple(rows), size, _range
        self.row_h = size * 1.7
        self.pad = self.row_h + 2

    def _rows(self, availWidth):
        return (self._range[1] - self._range[0]) if self._range else len(self.rows)

    def _part(self, start, stop):
        first = self._range[0] if self._range else 0
        return AnswerTable(self.rows, self.size, (first + start, first + stop))

    def draw(self):
        c, s = self.canv, self.size
        w = self.width
        cols = (0.0, 0.09 * w, 0.45 * w, 0.86 * w, w)  # number, name, column, value (right), points (right)
        first, stop = self._range or (0, len(self.rows))
        y = self.height - self.row_h + s * 0.5
        for x, cap in zip(cols, ("#", "Quantity", "CSV column")):
            draw_text(c, x, y, cap, SANS_BOLD, s * 0.85, GREY)
        draw_text(c, cols[3], y, "Answer", SANS_BOLD, s * 0.85, GREY, "right")
        draw_text(c, cols[4], y, "Points", SANS_BOLD, s * 0.85, GREY, "right")
        for i in range(first, stop):
            row = self.rows[i]
            y -= self.row_h
            if (i - first) % 2 == 0:
                c.setFillColor(TINT)
                c.rect(0, y - s * 0.5, w, self.row_h, stroke=0, fill=1)
            draw_text(c, cols[0], y, row.number, SANS, s, INK)
            draw_word(c, cols[1], y, row.name, s, INK)
            draw_text(c, cols[2], y, row.column, MONO, s * 0.92, GREY)
            draw_text(c, cols[3], y, row.value, BOLD, s, INK, "right")
            draw_text(c, cols[4], y, row.points, SANS, s, INK, "right")
