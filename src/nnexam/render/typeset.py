"""Math for the PDFs: the LaTeX that expr.py and notation.py emit, laid out by TeX's rules and drawn as text.

present.worked_line(..., "latex") gives each step's name, formula and numbers in a small LaTeX
subset (\\frac, \\partial, \\cdot, \\left( \\right), _{..}, ^{..}, ', \\sigma, \\text, \\mathbf, ...).
`parse` turns such a string into TeX's atoms (ord, op, bin, rel, open, close, punct, inner) and
`_hlist` lays them out as TeX does (The TeXbook, appendix G): built-up fractions with their bar on
the math axis (rule 15), sub- and superscripts at script (70%) and scriptscript (50%) size with
TeX's shift parameters (rule 18), primes after the symbol with the subscript under them, the
spacing table between atom classes, italic Latin and lowercase Greek, upright digits, operators
and function names. TeX's font parameters (cmsy10's sup1, num1, ...) are used as they are; the
glyph heights and the math axis are DejaVu Serif's, measured once from the font (_HEIGHTS, AXIS).

`words()` cuts a formula into words only before a relation (=) or a binary operator (+ − ·) that
stands at the top level: never inside a bracket, a group, a function's argument or a fraction.
`MathLine` sets words as a paragraph with greedy breaks, each line as tall as its fractions need.
A word is a tuple of runs drawn by writing PDF text operators directly, much faster than
reportlab's Paragraph, with fraction bars as filled rectangles after the text object.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Iterable, Sequence

from reportlab.lib.colors import Color
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.lib.rl_accel import fp_str
from reportlab.pdfbase.pdfdoc import PDFObject, escapePDF
from reportlab.platypus import Flowable

ROMAN = "DejaVuSerif"
ITALIC = "DejaVuSerif-Italic"
BOLD = "DejaVuSerif-Bold"
# Three faces only: every embedded font subset costs time and ~20 kB in each PDF.
SANS = ROMAN  # prose
SANS_BOLD = BOLD  # headings
MONO = ROMAN  # CSV column names

# A run is (text, font, scale, rise, kern), lengths in units of the base font size: the pen moves
# right by `kern`, then `text` is set at `scale` times the size with its baseline `rise` above the
# word's, and the pen moves on by the text's width. Two pseudo-fonts: RULE draws a fraction bar
# `scale` long with its bottom at `rise`; GLUE is a space `scale` wide (drawn as a space glyph and
# a kern, so copied text keeps its spaces); GLUE_REL / GLUE_BIN is that space before a top-level
# relation or binary operator, where a line may break (dropped at the start of a line).
Run = tuple[str, str, float, float, float]
Word = tuple[Run, ...]
RULE = "rule"
GLUE_REL = "glue-rel"
GLUE_BIN = "glue-bin"
GLUE = "glue"
_BREAKS = (GLUE_REL, GLUE_BIN)
_GLUES = (GLUE_REL, GLUE_BIN, GLUE)

# --- font metrics --------------------------------------------------------------------------------

# TeX's math parameters (cmsy10 and cmex10 fontdimens, in em of the style's size).
SUP1, SUP2, SUP3 = 0.413, 0.363, 0.289  # superscript shift: display, text, cramped
SUB1, SUB2 = 0.150, 0.247  # subscript shift: alone, with a superscript
SUP_DROP, SUB_DROP = 0.386, 0.050  # for a nucleus that is a box (a group or a fraction)
NUM1, NUM2 = 0.677, 0.394  # numerator shift: display, text and smaller
DENOM1, DENOM2 = 0.686, 0.345  # denominator shift
TEX_RULE = 0.04  # default rule thickness (the clearances of scripts)
NULL_DELIMITER = 0.12  # \nulldelimiterspace, 1.2pt, on each side of a fraction
SCRIPT_SPACE = 0.05  # \scriptspace, 0.5pt, after a script
MU = 1.0 / 18.0
# DejaVu Serif, measured from the font's glyph boxes (units per em 2048).
AXIS = 0.3135  # the middle of the minus sign: where fraction bars sit
BAR = 0.055  # fraction bar thickness (DejaVu's minus stroke is 0.079, its underline 0.044)
X_HEIGHT = 0.519
PRIME_SCALE, PRIME_RISE = 1.45, -0.28  # DejaVu's ′ (0.55 to 0.73 em) made TeX's size and height
STYLE_SCALE = (1.0, 1.0, 0.7, 0.5)  # display, text, script, scriptscript
D, T, S, SS = 0, 1, 2, 3

_TALL = "bdfhklAEOTW0123456789Σ½*"  # 0.74-0.76 em
_HEIGHTS = {**{c: 0.533 for c in "acemnorsuvwxz"}, **{c: 0.76 for c in _TALL}, "i": 0.736, "j": 0.736, "t": 0.68,
            "(": 0.76, ")": 0.76, "[": 0.76, "]": 0.76, "∂": 0.647, "δ": 0.765, "σ": 0.519, "η": 0.533, "μ": 0.519,
            "−": 0.353, "+": 0.627, "=": 0.452, "·": 0.412, "′": 0.729, ".": 0.116, ",": 0.111, "_": 0.0, " ": 0.0,
            "\u00a0": 0.0, ">": 0.581, "<": 0.581}
_DEPTHS = {**{c: 0.222 for c in "gjpqy"}, "(": 0.156, ")": 0.156, "[": 0.132, "]": 0.132, "η": 0.208, "μ": 0.208,
           ",": 0.136, "_": 0.236, "f": 0.208}


@lru_cache(maxsize=65536)
def _extent(text: str) -> tuple[float, float]:
    """(height, depth) of a string in em: the tallest and deepest of its glyphs."""
    return max((_HEIGHTS.get(c, 0.74) for c in text), default=0.0), max((_DEPTHS.get(c, 0.0) for c in text), default=0.0)


@lru_cache(maxsize=65536)
def _em(text: str, font: str) -> float:
    return stringWidth(text, font, 1000.0) / 1000.0


# --- parsing: LaTeX to atoms ----------------------------------------------------------------------

class Atom:
    """One TeX atom: class, nucleus (text, group or fraction) and optional scripts."""

    __slots__ = ("cls", "text", "font", "group", "num", "den", "sub", "sup", "primes")

    def __init__(self, cls: str, text: str = "", font: str = ROMAN, group=None, num=None, den=None):
        self.cls, self.text, self.font, self.group, self.num, self.den = cls, text, font, group, num, den
        self.sub = self.sup = None
        self.primes = 0


_GREEK = {"alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
          "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "psi": "ψ",
          "omega": "ω", "xi": "ξ", "zeta": "ζ", "kappa": "κ", "nu": "ν", "chi": "χ"}
_UPRIGHT = {"Sigma": "Σ", "Delta": "Δ", "Gamma": "Γ", "Omega": "Ω", "Pi": "Π", "Phi": "Φ", "Lambda": "Λ"}
_FUNCS = {"tanh", "ln", "exp", "log", "max", "min", "sin", "cos", "sinh", "cosh"}
_SPACES = {",": 3, ":": 4, ";": 5, " ": 6, "!": -3, "quad": 18, "qquad": 36}
_BINS = {"cdot": "·", "times": "×", "pm": "±"}
_RELS = {"leq": "≤", "geq": "≥", "neq": "≠", "approx": "≈", "to": "→"}
_CHAR_CLASS = {"+": ("bin", "+"), "-": ("bin", "−"), "*": ("bin", "*"), "=": ("rel", "="), "<": ("rel", "<"),
               ">": ("rel", ">"), "(": ("open", "("), "[": ("open", "["), ")": ("close", ")"), "]": ("close", "]"),
               ",": ("punct", ","), ";": ("punct", ";"), "/": ("ord", "/"), "|": ("ord", "|")}


def _command(s: str, i: int) -> tuple[str, int]:
    j = i + 1
    while j < len(s) and s[j].isalpha():
        j += 1
    if j == i + 1:
        j = min(i + 2, len(s))
    return s[i + 1 : j], j


def _raw_group(s: str, i: int) -> tuple[str, int]:
    """The text of the {...} group at s[i] (or its single character) and the index after it."""
    while i < len(s) and s[i] == " ":
        i += 1
    if i < len(s) and s[i] == "{":
        depth = 0
        for j in range(i, len(s)):
            depth += (s[j] == "{") - (s[j] == "}")
            if depth == 0:
                return s[i + 1 : j], j + 1
        return s[i + 1 :], len(s)
    if i < len(s) and s[i] == "\\":
        cmd, j = _command(s, i)
        return s[i:j], j
    return s[i : i + 1], i + 1


def parse(s: str, bold: bool = False) -> list[Atom]:
    """A LaTeX formula as a list of atoms (spaces, as in math mode, are ignored)."""
    roman = BOLD if bold else ROMAN
    out: list[Atom] = []
    i, n = 0, len(s)

    def last() -> Atom:
        if not out:
            out.append(Atom("ord"))
        return out[-1]

    while i < n:
        ch = s[i]
        if ch == "\\":
            cmd, j = _command(s, i)
            if cmd == "frac":
                num, j = _raw_group(s, j)
                den, j = _raw_group(s, j)
                out.append(Atom("inner", num=parse(num, bold), den=parse(den, bold)))
            elif cmd in ("left", "right"):
                delim = s[j : j + 1]
                j += 1
                if delim == "\\":
                    delim, j = _command(s, j - 1)
                    delim = {"{": "{", "}": "}", "|": "‖"}.get(delim, delim)
                if delim != ".":
                    out.append(Atom("open" if cmd == "left" else "close", delim, roman))
            elif cmd == "text":
                body, j = _raw_group(s, j)
                out.append(Atom("ord", body, roman))
            elif cmd in ("mathrm", "operatorname", "mathbf"):
                body, j = _raw_group(s, j)
                if cmd == "mathbf":
                    inner = parse(body, True)
                    out.append(Atom("ord", group=inner))
                else:
                    out.append(Atom("op" if cmd == "operatorname" else "ord", body, roman))
            elif cmd == "tilde":
                body, j = _raw_group(s, j)
                inner = parse(body, bold)
                if len(inner) == 1 and inner[0].group is None and inner[0].num is None:
                    inner[0].text += "\u0303"
                    out.append(inner[0])
                else:
                    out.append(Atom("ord", group=inner))
            elif cmd == "partial":
                out.append(Atom("ord", "∂", ITALIC))
            elif cmd in _GREEK:
                out.append(Atom("ord", _GREEK[cmd], ITALIC))
            elif cmd in _UPRIGHT:
                out.append(Atom("ord", _UPRIGHT[cmd], roman))
            elif cmd in _FUNCS:
                out.append(Atom("op", cmd, roman))
            elif cmd in _BINS:
                out.append(Atom("bin", _BINS[cmd], roman))
            elif cmd in _RELS:
                out.append(Atom("rel", _RELS[cmd], roman))
            elif cmd in _SPACES:
                out.append(Atom("space", text=str(_SPACES[cmd])))
            elif cmd == "sum":
                out.append(Atom("op", "Σ", roman))
            elif cmd == "prime":
                last().primes += 1
            else:  # \_ \{ \% and anything unknown: the character or the name, upright
                out.append(Atom("ord", cmd, roman))
            i = j
        elif ch in "_^":
            body, i = _raw_group(s, i + 1)
            target = last()
            script = parse(body, bold)
            if ch == "_":
                target.sub = script
            elif len(script) == 1 and not script[0].text and script[0].group is None and script[0].num is None \
                    and script[0].primes and not script[0].sub and not script[0].sup:
                target.primes += script[0].primes  # ^{\prime}
            else:
                target.sup = script
        elif ch == "'":
            last().primes += 1
            i += 1
        elif ch in " {}":
            if ch == "{":
                body, i = _raw_group(s, i)
                out.append(Atom("ord", group=parse(body, bold)))
            else:
                i += 1
        elif ch.isalpha():
            j = i
            while j < n and s[j].isalpha():
                j += 1
            out.append(Atom("ord", s[i:j], ITALIC))
            i = j
        elif ch.isdigit() or ch == ".":
            j = i
            while j < n and (s[j].isdigit() or s[j] == "."):
                j += 1
            out.append(Atom("ord", s[i:j], roman))
            i = j
        else:
            cls, text = _CHAR_CLASS.get(ch, ("ord", ch))
            out.append(Atom(cls, text, roman))
            i += 1
    return out


def _classes(atoms: Sequence[Atom]) -> list[str]:
    """Each atom's class after TeX's rules 5 and 6: a bin with nothing to combine is an ord (a sign)."""
    out: list[str] = []
    prev = None
    for a in atoms:
        c = a.cls
        if c == "space":
            out.append(c)
            continue
        if c == "bin" and prev in (None, "bin", "op", "rel", "open", "punct"):
            c = "ord"
        if c in ("rel", "close", "punct") and prev == "bin":
            out[_last_index(out)] = "ord"
        out.append(c)
        prev = c
    if prev == "bin":
        out[_last_index(out)] = "ord"
    return out


def _last_index(classes: list[str]) -> int:
    return max(i for i, c in enumerate(classes) if c != "space")


# TeX's table of spacing between atom classes: 1 thin, 2 medium, 3 thick; negative: in display and
# text style only (none in scripts); None cannot occur after rules 5 and 6.
_ORDER = ("ord", "op", "bin", "rel", "open", "close", "punct", "inner")
_TABLE = {
    "ord": (0, 1, -2, -3, 0, 0, 0, -1), "op": (1, 1, None, -3, 0, 0, 0, -1),
    "bin": (-2, -2, None, None, -2, None, None, -2), "rel": (-3, -3, None, 0, -3, 0, 0, -3),
    "open": (0, 0, None, 0, 0, 0, 0, 0), "close": (0, 1, -2, -3, 0, 0, 0, -1),
    "punct": (-1, -1, None, -1, -1, -1, -1, -1), "inner": (-1, 1, -2, -3, -1, 0, -1, -1),
}
_MU_OF = (0, 3, 4, 5)


def _space(left: str, right: str, style: int) -> float:
    """The glue between two atom classes, in em of the style's size."""
    k = _TABLE[left][_ORDER.index(right)] or 0
    if k < 0:
        k = 0 if style >= S else -k
    return _MU_OF[k] * MU


# --- layout: atoms to boxes -----------------------------------------------------------------------

class Box:
    """A laid-out piece: width, height and depth (em of the base size) and its placed items.

    An item is (x, y, text, font, scale); a rule has font RULE and its length as `scale`.
    """

    __slots__ = ("width", "height", "depth", "items", "italic")

    def __init__(self, width=0.0, height=0.0, depth=0.0, items=None, italic=False):
        self.width, self.height, self.depth, self.items, self.italic = width, height, depth, items or [], italic

    def place(self, other: "Box", dx: float, dy: float) -> None:
        self.items.extend((x + dx, y + dy, t, f, sc) for x, y, t, f, sc in other.items)
        self.height = max(self.height, other.height + dy)
        self.depth = max(self.depth, other.depth - dy)


def _sup_style(style: int) -> int:
    return S if style <= T else SS


def _frac_style(style: int) -> int:
    return T if style == D else (S if style == T else SS)


@lru_cache(maxsize=16384)
def _text_box(text: str, font: str, sc: float) -> Box:  # shared: boxes are copied, never changed, once made
    h, d = _extent(text)
    return Box(_em(text, font) * sc, h * sc, d * sc, [(0.0, 0.0, text, font, sc)], font == ITALIC)


def _nucleus(a: Atom, style: int, cramped: bool) -> Box:
    sc = STYLE_SCALE[style]
    if a.num is not None:
        return _fraction(a, style, cramped)
    if a.group is not None:
        return _hlist(a.group, style, cramped)
    return _text_box(a.text, a.font, sc)


def _fraction(a: Atom, style: int, cramped: bool) -> Box:
    """Rule 15: numerator and denominator centred on a bar on the math axis."""
    sc = STYLE_SCALE[style]
    inner = _frac_style(style)
    num, den = _hlist(a.num, inner, cramped), _hlist(a.den, inner, True)
    if style == D:
        u, v, phi = NUM1 * sc, DENOM1 * sc, 3 * BAR
    else:
        u, v, phi = NUM2 * sc, DENOM2 * sc, BAR
    axis, half = AXIS * sc, BAR / 2
    u += max(0.0, phi - ((u - num.depth) - (axis + half)))
    v += max(0.0, phi - ((axis - half) - (den.height - v)))
    w = max(num.width, den.width)
    box = Box(w + 2 * NULL_DELIMITER)
    box.place(num, NULL_DELIMITER + (w - num.width) / 2, u)
    box.place(den, NULL_DELIMITER + (w - den.width) / 2, -v)
    box.items.append((NULL_DELIMITER, axis - half, "", RULE, w))
    box.height, box.depth = max(box.height, axis + half), max(box.depth, half - axis)
    return box


def _scripts(a: Atom, nucleus: Box, style: int, cramped: bool) -> Box:
    """Rule 18: superscript, subscript or both after the nucleus, at TeX's shifts; primes first."""
    sc = STYLE_SCALE[style]
    is_char = a.group is None and a.num is None
    box = Box(nucleus.width, nucleus.height, nucleus.depth, list(nucleus.items))
    x = nucleus.width
    sup = sub = None
    if a.primes:
        # A prime is a superscript in TeX (w'_5 is w^{\prime}_5); DejaVu's ′ is drawn high already
        # and short, so it is set larger and lowered to span TeX's (0.5 to 0.8 em), the subscript
        # tucked under it.
        sup = _text_box("′" * a.primes, ROMAN, PRIME_SCALE * sc)
        sup_shift = 0.0
        if a.sup:
            sup = Box(sup.width, sup.height, sup.depth, list(sup.items))  # a copy: text boxes are shared
            more = _hlist(a.sup, _sup_style(style), cramped)
            p = (SUP1 if style == D else SUP3 if cramped else SUP2) * sc
            sup.place(more, sup.width, max(p, more.depth + X_HEIGHT * sc / 4))
            sup.width += more.width
    elif a.sup:
        sup = _hlist(a.sup, _sup_style(style), cramped)
    if a.sub:
        sub = _hlist(a.sub, _sup_style(style), True)
    s_sc = STYLE_SCALE[_sup_style(style)]
    u = 0.0 if is_char else nucleus.height - SUP_DROP * s_sc
    v = 0.0 if is_char else nucleus.depth + SUB_DROP * s_sc
    if sup is not None and not a.primes:
        p = (SUP1 if style == D else SUP3 if cramped else SUP2) * sc
        u = max(u, p, sup.depth + X_HEIGHT * sc / 4)
    if sub is not None and (sup is None or a.primes):
        v = max(v, SUB1 * sc, sub.height - 0.8 * X_HEIGHT * sc)
    elif sub is not None:
        v = max(v, SUB2 * sc)
        gap = (u - sup.depth) - (sub.height - v)
        if gap < 4 * TEX_RULE * sc:
            v += 4 * TEX_RULE * sc - gap
            psi = 0.8 * X_HEIGHT * sc - (u - sup.depth)
            if psi > 0:
                u, v = u + psi, v - psi
    end = x
    if sup is not None:
        # The italic correction of a slanted letter moves only the superscript (w^2 clears the w).
        dx = 0.05 * sc if nucleus.italic else 0.0
        box.place(sup, x + dx, u if not a.primes else PRIME_RISE * sc)
        end = max(end, x + dx + sup.width)
    if sub is not None:
        box.place(sub, x, -v)
        end = max(end, x + sub.width)
    box.width = end + SCRIPT_SPACE * sc
    return box


def _atom_box(a: Atom, style: int, cramped: bool) -> Box:
    nucleus = _nucleus(a, style, cramped)
    if a.sub is None and a.sup is None and not a.primes:
        return nucleus
    return _scripts(a, nucleus, style, cramped)


def _hlist(atoms: Sequence[Atom], style: int, cramped: bool = False, classes: list[str] | None = None,
           start: int = 0, stop: int | None = None) -> Box:
    """Atoms[start:stop] side by side with TeX's spacing between their classes."""
    classes = classes or _classes(atoms)
    stop = len(atoms) if stop is None else stop
    sc = STYLE_SCALE[style]
    box = Box()
    x, prev = 0.0, None
    for i in range(start, stop):
        a, c = atoms[i], classes[i]
        if c == "space":
            x += int(a.text) * MU * sc
            continue
        if prev is not None:
            gap = _space(prev, c, style) * sc
            if gap:
                box.items.append((x, 0.0, " ", GLUE, gap))
                x += gap
        b = _atom_box(a, style, cramped)
        box.place(b, x, 0.0)
        x += b.width
        prev = c
    box.width = x
    return box


def _compile(box: Box) -> Word:
    """A box's items as runs (pen moves between them), ending at the box's width."""
    runs: list[Run] = []
    pen = 0.0
    for x, y, text, font, sc in box.items:
        kern = round(x - pen, 4)
        if font == RULE or font == GLUE:
            pen = x + sc
        else:
            pen = x + _em(text, font) * sc
        if runs and kern == 0 and font != RULE and runs[-1][1] == font and runs[-1][2] == sc and runs[-1][3] == y:
            prev = runs[-1]
            runs[-1] = (prev[0] + text, font, sc, y, prev[4])
        else:
            runs.append((text, font, sc, round(y, 4), kern))
    tail = round(box.width - pen, 4)
    if tail:
        runs.append(("", ROMAN, 1.0, 0.0, tail))
    return tuple(runs)


def _inline(atoms: list[Atom], bold: bool) -> list[Atom]:
    """Fractions as a/b (labels in tables and on the diagram): parentheses where a part is a sum."""
    out: list[Atom] = []
    roman = BOLD if bold else ROMAN
    for a in atoms:
        if a.group is not None:
            a.group = _inline(a.group, bold)
        for attr in ("sub", "sup"):
            if getattr(a, attr):
                setattr(a, attr, _inline(getattr(a, attr), bold))
        if a.num is None:
            out.append(a)
            continue
        num, den = _inline(a.num, bold), _inline(a.den, bold)
        if _plain(num) == "1" and _plain(den) == "2":
            half = Atom("ord", "½", roman)
            half.sub, half.sup, half.primes = a.sub, a.sup, a.primes
            out.append(half)
            continue
        for k, part in enumerate((num, den)):
            if k:
                out.append(Atom("ord", "/", roman))
            wrap = any(c in ("bin", "rel") for c in _classes(part))
            if wrap:
                out.append(Atom("open", "(", roman))
            out.extend(part)
            if wrap:
                out.append(Atom("close", ")", roman))
    return out


def _plain(atoms: list[Atom]) -> str:
    return "".join(a.text for a in atoms) if all(a.group is None and a.num is None for a in atoms) else ""


def _break_points(atoms: Sequence[Atom], classes: list[str]) -> list[int]:
    """Indices of the top-level relations and + − outside every bracket (never inside a product)."""
    out, depth = [], 0
    for i, (a, c) in enumerate(zip(atoms, classes)):
        if c == "open":
            depth += 1
        elif c == "close":
            depth = max(0, depth - 1)
        elif depth == 0 and i > 0 and (c == "rel" or (c == "bin" and a.text in "+−")):
            out.append(i)
    return out


def _top_parts(latex: str) -> list[str]:
    """`latex` cut at every " = " outside braces and brackets."""
    pieces = latex.split(" = ")
    if len(pieces) == 1:
        return pieces
    out: list[str] = []
    open_ = 0  # brackets the part being built leaves open: a " = " inside them does not cut
    for piece in pieces:
        if open_:
            out[-1] += " = " + piece
        else:
            out.append(piece)
        open_ += sum(piece.count(c) for c in "{([") - sum(piece.count(c) for c in "})]")
    return out


def words(latex: str, bold: bool = False, style: str = "display") -> tuple[Word, ...]:
    """A formula as words: line breaks may fall between them, i.e. before a top-level = + −.

    `style` is TeX's: "display" (the worked solution: fractions at full size) or "text" (inline
    in prose, as the sheet's instructions: numerators and denominators at script size). Each side
    of a top-level = is laid out (and cached) alone: formulas recur from student to student.
    """
    parts = _top_parts(latex)
    if len(parts) == 1:
        return _words(latex, bold, style)
    out = list(_words(parts[0], bold, style))
    for part in parts[1:]:
        rest = _words(part, bold, style)
        first = rest[0] if rest else ()
        if first and first[0][1] in _BREAKS:  # "= + x": the sign after = is unary (cannot occur)
            first = first[1:]
        out.append(_EQUALS[bold] + first)
        out.extend(rest[1:])
    return tuple(out)


# "= " before a side: the thick space (5 mu) on each side of a relation.
_EQUALS = {b: ((" ", GLUE_REL, 5 * MU, 0.0, 0.0), ("=", BOLD if b else ROMAN, 1.0, 0.0, 0.0), (" ", GLUE, 5 * MU, 0.0, 0.0))
           for b in (False, True)}


@lru_cache(maxsize=16384)
def _words(latex: str, bold: bool, style: str) -> tuple[Word, ...]:
    st = D if style == "display" else T
    atoms = parse(latex, bold)
    classes = _classes(atoms)
    cuts = [0] + _break_points(atoms, classes) + [len(atoms)]
    out = []
    for a, b in zip(cuts, cuts[1:]):
        if a == b:
            continue
        box = _hlist(atoms, st, False, classes, a, b)
        w = _compile(box)
        if a:
            prev = next((classes[k] for k in range(a - 1, -1, -1) if classes[k] != "space"), None)
            glue = _space(prev, classes[a], st) if prev else 0.0
            w = ((" ", GLUE_REL if classes[a] == "rel" else GLUE_BIN, glue, 0.0, 0.0),) + w
        out.append(w)
    return tuple(out)


@lru_cache(maxsize=8192)
def word(latex: str, bold: bool = False) -> Word:
    """A formula as one unbreakable word in text style, fractions as a/b (labels in tables and on the diagram)."""
    atoms = _inline(parse(latex, bold), bold)
    return _compile(_hlist(atoms, T))


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
