"""Drawing math and prose for the PDFs: words of runs (mathlayout.py) measured, set as paragraphs, written as PDF.

A word is a tuple of runs drawn by writing PDF text operators directly, much faster than
reportlab's Paragraph, with fraction bars as filled rectangles after the text object. `MathLine`
sets words as a paragraph with greedy breaks, each line as tall as its fractions need.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Iterable, Sequence

from reportlab.lib.colors import Color
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFObject, escapePDF
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.platypus import Flowable

from .mathlayout import (BAR, BOLD, GLUE, GLUE_BIN, GLUE_REL, ITALIC, MONO, MU, ROMAN, RULE, SANS, SANS_BOLD, Run,
                         Word, _BREAKS, _GLUES, _em, _extent, parse, word, words)

__all__ = ["BOLD", "GLUE", "GLUE_BIN", "GLUE_REL", "ITALIC", "MONO", "ROMAN", "RULE", "SANS", "SANS_BOLD", "Run",
           "Word", "MathLine", "draw_text", "draw_word", "emit", "glue", "join", "minus", "parse", "plain",
           "space_width", "speed_up_fonts", "word", "word_extent", "word_width", "words"]


def minus(number: str) -> str:
    """A printed number with a true minus sign (U+2212), as in the formulas, instead of a hyphen."""
    return "\u2212" + number[1:] if number.startswith("-") else number


def plain(text: str, font: str = ROMAN) -> Word:
    return ((text, font, 1.0, 0.0, 0.0),)


def join(*parts: Sequence[Word]) -> tuple[Word, ...]:
    """Concatenate word sequences (each part keeps its own break points)."""
    return tuple(w for p in parts for w in p)


def bolden(w: Word) -> Word:
    """The same runs with upright text in bold (widths change: use only at the end of a line)."""
    return tuple((t, BOLD if f == ROMAN and t.strip() else f, sc, r, k) for t, f, sc, r, k in w)


# --- measuring and drawing ----------------------------------------------------------------------

@lru_cache(maxsize=65536)
def _run_width(text: str, font: str, size: float) -> float:
    return stringWidth(text, font, size)


@lru_cache(maxsize=65536)
def _word_em(w: Word) -> float:
    total = 0.0
    for t, f, sc, _, k in w:
        total += k + (sc if f in _GLUES or f == RULE else (_em(t, f) * sc if t else 0.0))
    return total


def word_width(w: Word, size: float) -> float:
    return _word_em(w) * size


@lru_cache(maxsize=65536)
def word_extent(w: Word) -> tuple[float, float]:
    """(height, depth) of a word in em of its size: how far it reaches above and below the baseline."""
    h = d = 0.0
    for t, f, sc, rise, _ in w:
        if f == RULE:
            h, d = max(h, rise + BAR), max(d, -rise)
        elif t and f not in _GLUES:
            th, td = _extent(t)
            h, d = max(h, rise + th * sc), max(d, td * sc - rise)
    return h, d


def glue(w: Word) -> float | None:
    """The breakable space a word starts with (em), or None for a word that takes an ordinary space."""
    return w[0][2] if w and w[0][1] in _BREAKS else None


def space_width(size: float) -> float:
    return _run_width(" ", ROMAN, size)


def draw_word(canvas, x: float, y: float, w: Word, size: float, color=None) -> float:
    """Draw one word with its baseline at y; returns the x after it."""
    emit(canvas, x, y, (w,), size, color)
    return x + word_width(w, size)


def draw_text(canvas, x: float, y: float, s: str, font: str, size: float, color=None, align: str = "left") -> None:
    """Plain text in one font (left, right or centre aligned at x)."""
    if align != "left":
        wd = _run_width(s, font, size)
        x -= wd if align == "right" else wd / 2
    emit(canvas, x, y, (plain(s, font),), size, color)


_SPACE: Word = plain(" ")

# The characters beyond ASCII that formulas use, given their codes first thing in every document:
# with ASCII at its own codes (reportlab's asciiReadable), a word made of these has the same
# operators in every document, so they are worked out once per process, not once per file.
SEEDS = {ROMAN: "−·′½…—", ITALIC: "∂σηδμ", BOLD: "−·…—"}
_SEEDSET = {font: frozenset(chars) for font, chars in SEEDS.items()}
_CODES: dict = {}  # signature -> {font: (subset name, str.translate table)}
_SHARED: dict = {}


def _signature(doc) -> tuple:
    """Give our fonts their names and the SEEDS their codes in `doc`; what they came out as."""
    sig = doc.__dict__.get("_nnexam_sig")
    if sig is None:
        parts = []
        for name in (ROMAN, ITALIC, BOLD):
            f = _font(name)
            f.splitString(SEEDS[name], doc)
            assigned = f.state[doc].assignments
            if any(assigned.get(c) != c for c in range(33, 127)):
                sig = doc._nnexam_sig = ()  # ASCII not at its own codes (not asciiReadable): no sharing
                return sig
            parts.append((name, f.getSubsetInternalName(0, doc), tuple(assigned.get(ord(c), -1) for c in SEEDS[name])))
        sig = doc._nnexam_sig = tuple(parts)
        if sig not in _CODES:
            ascii_ = {i: chr(i) for i in range(32, 128)}
            _CODES[sig] = {name: (sub, {**ascii_, 0xA0: " ", **{ord(c): chr(code) for c, code in zip(SEEDS[name], codes)
                                                                if 0 < code < 256}})
                           for name, sub, codes in sig}
    return sig


@lru_cache(maxsize=65536)
def _portable(w: Word) -> bool:
    """True if every character of the word has a code fixed by ASCII or SEEDS (in subset 0 of its font)."""
    for t, f, *_ in w:
        if t.isascii() or f in _GLUES or f == RULE:
            continue
        seeded = _SEEDSET.get(f)
        if seeded is None or not all(ord(c) < 128 or c in seeded or c == "\u00a0" for c in t):
            return False
    return True


def emit(canvas, x: float, y: float, ws: Sequence[Word], size: float, color=None) -> None:
    """Append one text object setting `ws` at (x, y) to the page, then any fraction bars.

    Words are separated by a space, or by their own glue (a math word before = + −), which is
    dropped at the start. This writes the PDF operators itself (rg, Tf, Ts, TJ) instead of going
    through reportlab's PDFTextObject, which re-measures, re-splits and re-formats every run: a
    key has thousands. Each word's operators are cached (per process when its characters have
    fixed codes, see SEED; else per document); every word sets its own font and leaves the rise
    at zero, so pieces join in any order.
    """
    doc = canvas._doc
    sig = _signature(doc)
    local = doc.__dict__.setdefault("_nnexam_words", {})
    if len(_SHARED) > 100_000:  # a bound on memory: a class of thousands adds numbers without end
        _SHARED.clear()
    ops = [_color_op(color) if color is not None else "", f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm"]
    bars = []
    pen = x
    for i, w in enumerate(ws):
        portable = bool(sig) and _portable(w)
        key = (sig, w, size, bool(i)) if portable else (w, size, bool(i))
        cache = _SHARED if portable else local
        piece = cache.get(key)
        if piece is None:
            if w and w[0][1] in _BREAKS:
                runs = w if i else w[1:]
            else:
                runs = _SPACE + w if i else w
            piece = cache[key] = (*_word_ops(doc, runs, size, _CODES[sig] if portable else None),
                                  word_width(runs, size))
        ops.append(piece[0])
        for bx, by, bl in piece[1]:
            bars.append(f"{pen + bx:.2f} {y + by:.2f} {bl:.2f} {BAR * size:.2f} re")
        pen += piece[2]
    ops.append("ET")
    if bars:
        ops.append(" ".join(bars) + " f")
    canvas._code.append(" ".join(ops))


def _word_ops(doc, runs: Word, size: float, codes: dict | None = None) -> tuple[str, tuple]:
    """PDF operators drawing `runs` from the current point: one TJ array per font, size and rise.

    With `codes` (the words whose characters have fixed codes) text is encoded by table, not
    through reportlab's per-document subsetting.
    """
    ops: list[str] = []
    tj: list[str] = []  # the open TJ array
    bars = []
    name = None  # the font subset and size in use
    s = rise0 = pen = move = 0.0  # move: pen movement not yet written (kerns, bars), in points

    def flush() -> None:
        if tj:
            ops.append("[" + " ".join(tj) + "] TJ")
            tj.clear()

    for text, font, sc, rise, kern in runs:
        move += kern * size
        if font == RULE:
            bars.append((pen + move, rise * size, sc * size))
            move += sc * size
            continue
        if font in _GLUES:
            if name is None:
                f = _font(ROMAN)
                name, s = f.getSubsetInternalName(f.splitString(" ", doc)[0][0], doc), size
                ops.append(f"{name} {size:.2f} Tf")
                space_w = _em(" ", ROMAN) * size
            # A space glyph in the font in use, then a kern to make it as wide as the glue.
            if move:
                tj.append(f"{-move * 1000 / s:.1f}")
            tj.append("( )")
            pen += move + space_w
            move = sc * size - space_w
            continue
        if not text:
            continue
        fs = sc * size
        if rise * size != rise0:
            flush()
            rise0 = rise * size
            ops.append(f"{rise0:.2f} Ts")
        if codes is not None:
            sub, table = codes[font]
            chunks = ((sub, text.translate(table).encode("latin-1")),)
        else:
            f = _font(font)
            chunks = tuple((f.getSubsetInternalName(subset, doc), chunk) for subset, chunk in f.splitString(text, doc))
        for sub, chunk in chunks:
            if (sub, fs) != (name, s):
                flush()
                ops.append(f"{sub} {fs:.2f} Tf")
                name, s = sub, fs
                space_w = _em(" ", font) * fs
            if move:
                tj.append(f"{-move * 1000 / s:.1f}")
                pen += move
                move = 0.0
            tj.append(f"({escapePDF(chunk)})")
        pen += _em(text, font) * fs
    if move:
        if name is None:
            f = _font(ROMAN)
            name, s = f.getSubsetInternalName(f.splitString(" ", doc)[0][0], doc), size
            ops.append(f"{name} {size:.2f} Tf")
        tj.append(f"{-move * 1000 / s:.1f}")
    flush()
    if rise0:
        ops.append("0 Ts")  # the rise is text state and outlives ET: leave it at zero
    return " ".join(ops), tuple(bars)


@lru_cache(maxsize=64)
def _color_op(color) -> str:
    return f"{color.red:.3f} {color.green:.3f} {color.blue:.3f} rg"


@lru_cache(maxsize=16)
def _font(name: str):
    return getFont(name)


# --- paragraphs of words ----------------------------------------------------------------------------

Line = tuple[float, tuple[Word, ...], float, float]  # (x, words, height above baseline, depth below)


class MathLine(Flowable):
    """Words set as a paragraph: greedy breaks, continuation lines indented.

    In a formula (`math`) the words are cut only before top-level = + − (see `words`); a line
    that goes on after "name =" starts under the first "=", one going on with + or − a quad
    further in. Each line is as tall as its fractions need. Short formulas do not split across
    pages, long ones leave at least two lines on each side. `tag` is drawn in the margin of the
    first line.
    """

    def __init__(self, ws: Sequence[Word], size: float = 9.5, leading: float | None = None,
                 indent: float = 0.0, hang: float | None = None, space_before: float = 0.0,
                 math: bool = True, tag: str = ""):
        super().__init__()
        self.ws = tuple(ws)
        self.size = size
        self.leading = leading or size * 1.45
        self.indent = indent
        self.hang = hang
        self.spaceBefore = space_before
        self.math = math
        self.tag = tag
        self.lead = 0.0  # where the first "=" goes (from the indent): left sides shorter move right
        self._lines: list[Line] = []

    def _layout(self, avail: float) -> list[Line]:
        key = (avail, self.lead)
        if getattr(self, "_laid", None) and self._laid[0] == key:
            return self._laid[1]  # platypus asks again and again: once per width is enough
        lines = self._break(avail)
        self._laid = (key, lines)
        return lines

    def _break(self, avail: float) -> list[Line]:
        size, space = self.size, space_width(self.size)
        ws = self.ws
        gaps = [(g * size if (g := glue(w)) is not None else space) for w in ws]
        widths = [word_width(w, size) - (g if glue(w) is not None else 0.0) for w, g in zip(ws, gaps)]
        rel_hang = bin_hang = self.hang
        shift = 0.0
        if self.hang is None:
            # "= ..." continues under the first "=", "+ ..." under the first term after it.
            eq = next((i for i, w in enumerate(ws) if w and w[0][1] == GLUE_REL), None)
            first = (sum(widths[:eq]) + sum(gaps[1:eq + 1])) if eq else 0.0
            if eq and first < 0.35 * avail:
                shift = max(0.0, self.lead - first) if eq == 1 else 0.0
                rel_hang = shift + first
                bin_hang = rel_hang + (_em("=", ROMAN) + 5 * MU) * size
            else:
                rel_hang, bin_hang = 2 * size, 3 * size
        lines: list[Line] = []
        start, x, x0 = 0, self.indent + shift, self.indent + shift
        for i, wd in enumerate(widths):
            if i > start and x + gaps[i] + wd > avail:
                lines.append(self._line(x0, start, i))
                lead = ws[i][0][1] if ws[i] else ""
                x0 = self.indent + (rel_hang if lead == GLUE_REL else bin_hang)
                start, x = i, x0 + wd
            else:
                x += wd if i == start else gaps[i] + wd
        if start < len(ws):
            lines.append(self._line(x0, start, len(ws)))
        return lines

    def _line(self, x0: float, a: int, b: int) -> Line:
        part = self.ws[a:b]
        h = d = 0.0
        for w in part:
            wh, wd = word_extent(w)
            h, d = max(h, wh), max(d, wd)
        return x0, part, h * self.size, d * self.size

    def wrap(self, availWidth, availHeight):
        self._lines = self._layout(availWidth)
        self.width = availWidth
        self.height = _lines_height(self._lines, self.size, self.leading)
        return self.width, self.height

    def split(self, availWidth, availHeight):
        lines = self._layout(availWidth)
        if len(lines) <= 3:
            return []
        fit = 0
        while fit < len(lines) - 2 and _lines_height(lines[:fit + 1], self.size, self.leading) <= availHeight:
            fit += 1
        if fit < 2:
            return []
        return [_Preset(lines[:fit], self.size, self.leading, self.tag), _Preset(lines[fit:], self.size, self.leading)]

    def draw(self):
        _draw_lines(self.canv, self._lines, self.size, self.leading, self.height, self.tag)


class _Preset(Flowable):
    """Lines already broken (the two halves of a MathLine split at a page break)."""

    def __init__(self, lines, size, leading, tag: str = ""):
        super().__init__()
        self._lines, self.size, self.leading, self.tag = lines, size, leading, tag

    def wrap(self, availWidth, availHeight):
        self.width, self.height = availWidth, _lines_height(self._lines, self.size, self.leading)
        return self.width, self.height

    def draw(self):
        _draw_lines(self.canv, self._lines, self.size, self.leading, self.height, self.tag)


_TAG_INK = Color(0.1, 0.1, 0.12)


def _line_box(line: Line, size: float, leading: float) -> tuple[float, float]:
    """(room above the baseline, room below): a plain line's share of the leading, or what its fractions need."""
    above = (leading + size) / 2 - 0.22 * size
    pad = 0.18 * size
    return max(above, line[2] + pad), max(leading - above, line[3] + pad)


def _lines_height(lines: Sequence[Line], size: float, leading: float) -> float:
    return sum(sum(_line_box(ln, size, leading)) for ln in lines)


def _draw_lines(canvas, lines, size, leading, height, tag: str = "") -> None:
    top = height
    for k, line in enumerate(lines):
        above, below = _line_box(line, size, leading)
        y = top - above
        if k == 0 and tag:
            emit(canvas, 0, y, (plain(tag, BOLD),), 7, _TAG_INK)
        emit(canvas, line[0], y, line[1], size)
        top -= above + below


# --- font programs, once per process ------------------------------------------------------------

class _CachedFlate:
    """reportlab's Flate filter with a memory: the same font subset is compressed once per process."""

    pdfname = "FlateDecode"

    @staticmethod
    @lru_cache(maxsize=256)
    def encode(data: bytes | str) -> bytes:
        return zlib.compress(data.encode("utf8") if isinstance(data, str) else data)  # as PDFZCompress does


def speed_up_fonts(names: Iterable[str] = (ROMAN, ITALIC, BOLD)) -> None:
    """Cache subsetting and compression of our fonts' programs (identical across a class's PDFs).

    Every document embeds subsets of the same glyphs in the same order, so the font programs come
    out byte-identical; reportlab would cut and compress them again for each file. The wrappers
    sit on these font objects only and return the very bytes reportlab computes.
    """
    for name in names:
        face = getFont(name).face
        if getattr(face, "_nnexam_cached", False):
            continue
        make, add = face.makeSubset, face.addSubsetObjects

        @lru_cache(maxsize=256)
        def cached_subset(key: tuple, make=make) -> bytes:
            return make(list(key))

        def add_objects(doc, fontname, subset, add=add, face=face):
            ref = add(doc, fontname, subset)
            # The font program and its ToUnicode map (made just before) are the same in every file.
            for key in (f"fontFile:{face.filename}({fontname})", f"toUnicodeCMap:{fontname}"):
                stream = doc.idToObject.get(key)
                if stream is not None and stream.filters:
                    stream.filters = [_CachedFlate]
            return ref

        @lru_cache(maxsize=4096)
        def char_width(code: int, width=face.getCharWidth) -> "_Width":
            return _Width(width(code))

        face.makeSubset = lambda subset, cached=cached_subset: cached(tuple(subset))
        face.addSubsetObjects = add_objects
        face.getCharWidth = char_width
        face._nnexam_cached = True


class _Width(float, PDFObject):
    """A glyph width in a font's /Widths: a number that writes itself from a cache (each PDF lists hundreds)."""

    def format(self, document) -> bytes:
        return _width_bytes(float(self))


@lru_cache(maxsize=4096)
def _width_bytes(n: float) -> bytes:
    return fp_str(n).encode("latin-1")  # as reportlab writes a number
