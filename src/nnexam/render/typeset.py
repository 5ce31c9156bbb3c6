"""Inline math for the PDFs: the LaTeX that expr.py and notation.py emit, set as runs of DejaVu text.

present.worked_line(..., "latex") gives each step's name, formula and numbers in a small LaTeX
subset (\\frac, \\partial, \\cdot, \\left( \\right), _{..}, ^{..}, \\sigma, \\text, ...). `words()`
turns such a string into words of styled runs (italic letters, upright digits and operators,
smaller raised or lowered sub- and superscripts; fractions inline as a/b, ½ as one glyph), and
`MathLine` is a flowable that sets the words with greedy line breaking before + − = and after ·,
so long sums of 8-wide layers wrap inside the frame. Measuring and drawing runs directly is much
faster than reportlab's Paragraph (no markup parsing), which keeps a key within a few ms.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Iterable, Sequence

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.pdfbase.pdfdoc import escapePDF
from reportlab.platypus import Flowable

ROMAN = "DejaVuSerif"
ITALIC = "DejaVuSerif-Italic"
BOLD = "DejaVuSerif-Bold"
# Three faces only: every embedded font subset costs time and ~20 kB in each PDF.
SANS = ROMAN  # prose
SANS_BOLD = BOLD  # headings
MONO = ROMAN  # CSV column names

# A run: (text, font, level). A level is (depth, rise): depth 0 is the base line, each sub- or
# superscript nests one deeper (smaller), and rise is the baseline shift in units of the base size.
Level = tuple[int, float]
BASE: Level = (0, 0.0)
Run = tuple[str, str, Level]
Word = tuple[Run, ...]

_SYMBOLS = {
    "partial": "∂", "delta": "δ", "eta": "η", "mu": "μ", "sigma": "σ", "Sigma": "Σ", "cdot": "·",
    "tanh": "tanh", "ln": "ln", "exp": "exp", "_": "_", ",": " ", "quad": "  ", "sum": "Σ",
}


def _group(s: str, i: int) -> tuple[str, int]:
    """The {...} group (or single character) starting at s[i]; returns its content and the next index."""
    if i < len(s) and s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
                if depth == 0:
                    return s[i + 1 : j], j + 1
        return s[i + 1 :], len(s)
    if i < len(s) and s[i] == "\\":
        j = i + 1
        while j < len(s) and s[j].isalpha():
            j += 1
        return s[i:j], j
    return s[i : i + 1], i + 1


def _top_level_operator(s: str) -> bool:
    """True if a LaTeX group holds a sum or product outside braces and parentheses (needs parens as a/b)."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif depth == 0 and ch == " " and i + 1 < len(s) and s[i + 1] in "+-=\\":
            return True
    return False


class _Builder:
    """Collects runs into words; a space before an operator or after · is a possible line break."""

    def __init__(self) -> None:
        self.words: list[list[Run]] = [[]]

    def add(self, text: str, font: str, level: Level) -> None:
        if text:
            self.words[-1].append((text, font, level))

    def brk(self) -> None:
        if self.words[-1]:
            self.words.append([])


def _emit(b: _Builder, s: str, level: Level, breakable: bool) -> None:
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == "\\":
            j = i + 1
            while j < n and s[j].isalpha():
                j += 1
            cmd = s[i + 1 : j] or s[i + 1 : i + 2]
            j = max(j, i + 2)
            if cmd == "frac":
                num, j = _group(s, j)
                den, j = _group(s, j)
                if num == "1" and den == "2":
                    b.add("½", ROMAN, level)
                else:
                    for part, sep in ((num, ""), (den, "/")):
                        b.add(sep, ROMAN, level)
                        wrap = _top_level_operator(part) or (sep and " " in part and not part.startswith("\\partial"))
                        b.add("(" if wrap else "", ROMAN, level)
                        _emit(b, part, level, breakable and bool(wrap))
                        b.add(")" if wrap else "", ROMAN, level)
            elif cmd in ("left", "right"):
                j = j if s[j : j + 1] not in "()[]" else j + 1
                b.add(s[j - 1] if s[j - 1] in "()[]" else "", ROMAN, level)
            elif cmd in ("text", "operatorname", "mathrm"):
                body, j = _group(s, j)
                b.add(body, ROMAN, level)
            elif cmd == "tilde":
                body, j = _group(s, j)
                _emit(b, body, level, False)
                b.add("\u0303", ROMAN, level)
            elif cmd == "cdot":
                b.add("·", ROMAN, level)
                if breakable and s[j : j + 1] == " ":
                    b.brk()
                    j += 1
            else:
                sym = _SYMBOLS.get(cmd, cmd)
                b.add(sym, ROMAN, level)
                if cmd == "partial" and s[j : j + 1] == " ":
                    j += 1  # "\partial E" is ∂E, no space
            i = j
        elif ch in "_^":
            body, i = _group(s, i + 1)
            depth, rise = level
            shift = (0.36 if ch == "^" else -0.2) * _SCALE[min(depth, 2)]
            _emit(b, body, (depth + 1, round(rise + shift, 4)), False)
        elif ch == " ":
            nxt = s[i + 1 : i + 2]
            j = i - 1
            while j >= 0 and s[j] == " ":
                j -= 1
            # No break before a sign: "= -0.5", "+ -x", "(-x" (a unary minus stays with its number).
            unary = nxt == "-" and (j < 0 or s[j] in "=+-(" or s.endswith("\\cdot", 0, j + 1))
            if breakable and nxt in ("+", "-", "=") and not unary:
                b.brk()
            else:
                b.add("\u00a0", ROMAN, level)
            i += 1
        elif ch in "{}":
            i += 1
        elif ch == "-":
            b.add("−", ROMAN, level)
            i += 1
        elif ch == "'":
            b.add("′", ROMAN, level)
            i += 1
        elif ch.isalpha():
            j = i
            while j < n and s[j].isalpha():
                j += 1
            b.add(s[i:j], ITALIC, level)
            i = j
        else:
            j = i
            while j < n and not (s[j].isalpha() or s[j] in "\\_^ {}-'"):
                j += 1
            b.add(s[i:j], ROMAN, level)
            i = j


def _merge(runs: Iterable[Run]) -> Word:
    out: list[Run] = []
    for text, font, level in runs:
        if out and out[-1][1] == font and out[-1][2] == level:
            out[-1] = (out[-1][0] + text, font, level)
        else:
            out.append((text, font, level))
    return tuple(out)


@lru_cache(maxsize=8192)
def words(latex: str, bold: bool = False) -> tuple[Word, ...]:
    """A LaTeX formula as words of runs; line breaks may fall between words."""
    b = _Builder()
    _emit(b, latex, BASE, True)
    out = tuple(_merge(w) for w in b.words if w)
    if bold:
        out = tuple(tuple((t, BOLD if f == ROMAN else f, lv) for t, f, lv in w) for w in out)
    return out


@lru_cache(maxsize=8192)
def word(latex: str, bold: bool = False) -> Word:
    """A LaTeX formula as one unbreakable word (labels in tables and on the diagram)."""
    runs: list[Run] = []
    for i, w in enumerate(words(latex, bold)):
        if i:
            runs.append(("\u00a0", ROMAN, BASE))
        runs.extend(w)
    return _merge(runs)


def minus(number: str) -> str:
    """A printed number with a true minus sign (U+2212), as in the formulas, instead of a hyphen."""
    return "\u2212" + number[1:] if number.startswith("-") else number


def plain(text: str, font: str = ROMAN) -> Word:
    return ((text, font, BASE),)


def join(*parts: Sequence[Word]) -> tuple[Word, ...]:
    """Concatenate word sequences (each part keeps its own break points)."""
    return tuple(w for p in parts for w in p)


# --- measuring and drawing ----------------------------------------------------------------------

_SCALE = (1.0, 0.72, 0.58)  # font size factor by nesting depth


def _size(size: float, level: Level) -> float:
    return size * _SCALE[min(level[0], 2)]


def _rise(size: float, level: Level) -> float:
    return size * level[1]


@lru_cache(maxsize=65536)
def _run_width(text: str, font: str, size: float) -> float:
    return stringWidth(text, font, size)


@lru_cache(maxsize=65536)
def word_width(w: Word, size: float) -> float:
    return sum(_run_width(t, f, _size(size, lv)) for t, f, lv in w)


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
    emit(canvas, x, y, (((s, font, BASE),),), size, color)


def emit(canvas, x: float, y: float, ws: Sequence[Word], size: float, color=None) -> None:
    """Append one text object setting `ws` (separated by spaces) at (x, y) to the page.

    This writes the PDF operators itself (rg, Tf, Ts, Tj) instead of going through reportlab's
    PDFTextObject, which re-measures, re-splits and re-formats every run: a key has thousands.
    Each word's operators are cached per document (subset codes are per document); every word
    sets its own font and leaves the rise at zero, so cached pieces join in any order.
    """
    doc = canvas._doc
    cache = doc.__dict__.setdefault("_nnexam_words", {})
    ops = [_color_op(color) if color is not None else "", f"BT 1 0 0 1 {x:.2f} {y:.2f} Tm"]
    for i, w in enumerate(ws):
        key = (w, size, bool(i))
        piece = cache.get(key)
        if piece is None:
            piece = cache[key] = _word_ops(doc, ((" ", ROMAN, BASE),) + w if i else w, size)
        ops.append(piece)
    ops.append("ET")
    canvas._code.append(" ".join(ops))


def _word_ops(doc, runs: Word, size: float) -> str:
    ops, current, rise0 = [], None, 0.0
    for text, font, level in runs:
        s, rise = _size(size, level), _rise(size, level)
        if rise != rise0:
            ops.append(f"{rise:.2f} Ts")
            rise0 = rise
        f = _font(font)
        for subset, chunk in f.splitString(text, doc):
            name = f.getSubsetInternalName(subset, doc)
            if (name, s) != current:
                ops.append(f"{name} {s:.2f} Tf")
                current = (name, s)
            ops.append(f"({escapePDF(chunk)}) Tj")
    if rise0:
        ops.append("0 Ts")  # the rise is text state and outlives ET: leave it at zero
    return " ".join(ops)


@lru_cache(maxsize=64)
def _color_op(color) -> str:
    return f"{color.red:.3f} {color.green:.3f} {color.blue:.3f} rg"


@lru_cache(maxsize=16)
def _font(name: str):
    return getFont(name)


def _depths(ws: Sequence[Word]) -> list[int]:
    """Parenthesis depth after each word: a break at depth 0 keeps brackets on one line."""
    out, d = [], 0
    for w in ws:
        for t, _, _ in w:
            d += t.count("(") - t.count(")")
        out.append(d)
    return out


class MathLine(Flowable):
    """Words set as a paragraph: greedy breaks, continuation lines indented by `hang`.

    A formula (`math`) breaks where the fewest brackets are open, looking back along a full line
    as long as the line stays at least 2/5 full; short formulas do not split across pages, long
    ones leave at least two lines on each side. `tag` is drawn in the margin of the first line.
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
        self._lines: list[tuple[float, list[Word]]] = []

    def _layout(self, avail: float) -> list[tuple[float, list[Word]]]:
        size, space = self.size, space_width(self.size)
        ws = self.ws
        widths = [word_width(w, size) for w in ws]
        hang = self.hang
        if hang is None:
            # Continuation lines start under the formula, after "name =", when that is short.
            first = widths[0] + space if ws else 0
            hang = first if first < 0.35 * avail else 2 * size
        hang += self.indent
        depth = None
        lines: list[tuple[float, list[Word]]] = []
        x0, start, x = self.indent, 0, self.indent  # the current line holds ws[start:i]
        for i, wd in enumerate(widths):
            need = wd if i == start else space + wd
            if i > start and x + need > avail:
                cut = i
                if self.math and i - start > 1:
                    if depth is None:
                        depth = _depths(ws)
                    # Look back for a break with fewer open brackets, keeping the line 2/5 full.
                    ends, e = [], x0
                    for k in range(start, i):
                        e += widths[k] + (space if k > start else 0)
                        ends.append(e)
                    best = depth[i - 1]
                    for k in range(i - 1, start, -1):  # a break before ws[k]
                        if ends[k - 1 - start] - x0 < 0.4 * (avail - x0):
                            break
                        if depth[k - 1] < best:
                            cut, best = k, depth[k - 1]
                lines.append((x0, list(ws[start:cut])))
                x0, start = hang, cut
                x = hang + sum(widths[start:i]) + space * (i - start)
                need = wd
            x += need
        if start < len(ws):
            lines.append((x0, list(ws[start:])))
        return lines

    def wrap(self, availWidth, availHeight):
        self._lines = self._layout(availWidth)
        self.width = availWidth
        self.height = len(self._lines) * self.leading
        return self.width, self.height

    def split(self, availWidth, availHeight):
        lines = self._layout(availWidth)
        fit = min(int(availHeight // self.leading), len(lines) - 2)
        if len(lines) <= 3 or fit < 2:
            return []
        return [_Preset(lines[:fit], self.size, self.leading, self.tag),
                _Preset(lines[fit:], self.size, self.leading)]

    def draw(self):
        _draw_lines(self.canv, self._lines, self.size, self.leading, self.height, self.tag)


class _Preset(Flowable):
    """Lines already broken (the two halves of a MathLine split at a page break)."""

    def __init__(self, lines, size, leading, tag: str = ""):
        super().__init__()
        self._lines, self.size, self.leading, self.tag = lines, size, leading, tag

    def wrap(self, availWidth, availHeight):
        self.width, self.height = availWidth, len(self._lines) * self.leading
        return self.width, self.height

    def draw(self):
        _draw_lines(self.canv, self._lines, self.size, self.leading, self.height, self.tag)


_TAG_INK = Color(0.1, 0.1, 0.12)


def _draw_lines(canvas, lines, size, leading, height, tag: str = "") -> None:
    y = height - leading + (leading - size) * 0.5 + size * 0.22
    if tag:
        emit(canvas, 0, y, (((tag, BOLD, BASE),),), 7, _TAG_INK)
    for x0, ws in lines:
        emit(canvas, x0, y, ws, size)
        y -= leading


# --- font programs, once per process ------------------------------------------------------------

class _CachedFlate:
    """reportlab's Flate filter with a memory: the same font subset is compressed once per process."""

    pdfname = "FlateDecode"

    @staticmethod
    @lru_cache(maxsize=256)
    def encode(data: bytes) -> bytes:
        return zlib.compress(data)


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
            stream = doc.idToObject.get(f"fontFile:{face.filename}({fontname})")
            if stream is not None and stream.filters:
                stream.filters = [_CachedFlate]
            return ref

        face.makeSubset = lambda subset, cached=cached_subset: cached(tuple(subset))
        face.addSubsetObjects = add_objects
        face._nnexam_cached = True
