"""TeX's math layout for the PDFs: the LaTeX that expr.py and notation.py emit, as words of placed runs.

present.worked_line(..., "latex") gives each step's name, formula and numbers in a small LaTeX
subset (\\frac, \\partial, \\cdot, \\left( \\right), _{..}, ^{..}, ', \\sigma, \\text, \\mathbf, ...).
`parse` turns such a string into TeX's atoms (ord, op, bin, rel, open, close, punct, inner) and
`_hlist` lays them out as TeX does (The TeXbook, appendix G): built-up fractions with their bar on
the math axis (rule 15), sub- and superscripts at script (70%) and scriptscript (50%) size with
TeX's shift parameters (rule 18), primes after the symbol with the subscript under them, the
spacing table between atom classes, italic Latin and lowercase Greek, upright digits, operators
and function names. TeX's font parameters (cmsy10's sup1, num1, ...) are used as they are; the
glyph heights and the math axis are DejaVu Serif's, measured once from the font (_HEIGHTS, AXIS).

`words()` cuts a formula into words only before a relation (=) or a + or − that stands at the
top level: never inside a bracket, a group, a function's argument, a fraction or a product.
typeset.py measures and draws the words and sets them as paragraphs (MathLine).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from reportlab.pdfbase.pdfmetrics import stringWidth

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
