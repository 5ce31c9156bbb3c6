"""The fonts every PDF uses, and names in any script.

DejaVu (shipped in fonts/, licence in fonts/LICENSE-DejaVu.txt) covers the math symbols the keys
need (∂ σ η Σ δ μ, sub- and superscript digits), Latin, Greek and Cyrillic. Names in other scripts
fall back, character by character, to the shipped Noto Sans Hebrew, Arabic, Devanagari and Thai
(OFL, fonts/LICENSE-Noto.txt), to a subset of Droid Sans Fallback for Chinese, Japanese and Korean
(Apache 2.0, fonts/LICENSE-Droid.txt; the common characters only), and to any TrueType font the
user names (`nnexam generate --font PATH`). Registering from the package folder means no PDF
depends on system fonts.

reportlab does no shaping without harfbuzz, so `visual()` does what a name needs: Arabic joining
forms (presentation forms B and the lam-alef ligatures), right-to-left runs reversed, and the
Devanagari short i moved before its consonant. Devanagari conjuncts and Thai mark stacking are not
formed (the letters print, legibly, as their parts).
"""

from __future__ import annotations

import hashlib
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Sequence

FONT_DIR = Path(__file__).with_name("fonts")

# reportlab name -> file
FONTS = {
    "DejaVuSans": "DejaVuSans.ttf",
    "DejaVuSans-Bold": "DejaVuSans-Bold.ttf",
    "DejaVuSans-Oblique": "DejaVuSans-Oblique.ttf",
    "DejaVuSerif": "DejaVuSerif.ttf",
    "DejaVuSerif-Italic": "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-Bold": "DejaVuSerif-Bold.ttf",
    "DejaVuSansMono": "DejaVuSansMono.ttf",
}

# Tried in this order for a character the text's own font lacks (after the user's --font).
FALLBACKS = {
    "NotoSansHebrew": "NotoSansHebrew-Regular.ttf",
    "NotoSansArabic": "NotoSansArabic-Regular.ttf",
    "NotoSansDevanagari": "NotoSansDevanagari-Regular.ttf",
    "NotoSansThai": "NotoSansThai-Regular.ttf",
    "DroidSansFallback-Subset": "DroidSansFallback-Subset.ttf",
    "NnexamFallback-DejaVuSans": "DejaVuSans.ttf",  # scripts and symbols DejaVu Serif lacks (Armenian, Georgian, ...)
}

# The fix `generate` names when a character is in no font.
FONT_HINT = ("pass --font PATH with a TrueType (.ttf) font that has them, e.g. DroidSansFallbackFull.ttf "
             "(Debian/Ubuntu package fonts-droid-fallback)")

_USER: list[str] = []  # reportlab names of the fonts given with --font, in order


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the shipped TrueType fonts with reportlab (once per process)."""
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, file in FONTS.items():
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    addMapping("DejaVuSans", 0, 0, "DejaVuSans")
    addMapping("DejaVuSans", 1, 0, "DejaVuSans-Bold")
    addMapping("DejaVuSans", 0, 1, "DejaVuSans-Oblique")
    addMapping("DejaVuSans", 1, 1, "DejaVuSans-Bold")
    addMapping("DejaVuSerif", 0, 0, "DejaVuSerif")
    addMapping("DejaVuSerif", 1, 0, "DejaVuSerif-Bold")
    addMapping("DejaVuSerif", 0, 1, "DejaVuSerif-Italic")
    addMapping("DejaVuSerif", 1, 1, "DejaVuSerif-Bold")
    # The fallbacks are read when a letter first needs them (_cmap): a class of Latin names never pays for them.


def _register(name: str, path: str, suffix: bytes = b"") -> None:
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Not "ASCII readable": a subset holds only the letters drawn in it, not all of ASCII besides
    # (these fonts print a few letters of a name; the shared fonts keep reportlab's default).
    font = TTFont(name, path, asciiReadable=0)
    # The PDF BaseFont of its subsets, made distinct from a font of the same file registered under
    # another name (a PDF must not give two different subsets one name).
    font.face.name += suffix
    pdfmetrics.registerFont(font)

    for bold in (0, 1):  # one face: <b> and <i> in a report paragraph keep it
        for italic in (0, 1):
            addMapping(name, bold, italic, name)


def use_font(path: str | Path) -> str:
    """Register a user's TrueType font as the first fallback for names; returns its reportlab name.

    Raises ValueError (with a one-line message) when the file is not a TrueType font reportlab can embed.
    """
    from reportlab.pdfbase.pdfmetrics import getRegisteredFontNames

    register_fonts()
    path = str(path)
    name = "NnexamUser-" + hashlib.sha256(path.encode()).hexdigest()[:10]
    if name not in getRegisteredFontNames():
        try:
            _register(name, path, b"-User")
        except Exception as e:  # reportlab's TTFError and OSError: one line for the CLI
            raise ValueError(f"{path}: not a TrueType font that can be embedded ({e}); CFF/OpenType (.otf) "
                             "fonts are not supported") from None
    if name not in _USER:
        _USER.append(name)
        _chain.cache_clear()
        _font_for.cache_clear()
    return name


def forget_user_fonts() -> None:
    """Stop using the fonts given with use_font (they stay registered; for tests and long-lived processes)."""
    _USER.clear()
    _chain.cache_clear()
    _font_for.cache_clear()


@lru_cache(maxsize=32)
def _name_copy(base: str) -> str:
    """A second registration of `base` for the non-ASCII letters of names.

    Letters only one student uses would otherwise land in the shared font's subset, making every
    student's subset different and the class bundles many times larger; ASCII keeps fixed codes in
    reportlab's first subset, so it stays in the shared font.
    """
    from reportlab.pdfbase.pdfmetrics import getFont, getRegisteredFontNames

    name = base + "~names"
    if name not in getRegisteredFontNames():
        face = getFont(base).face
        _register(name, face.filename, b"-Names")
    return name


@lru_cache(maxsize=32)
def _chain(base: str) -> tuple[str, ...]:
    register_fonts()
    return (base, *_USER, *(f for f in FALLBACKS if f != base))


def _cmap(name: str) -> dict:
    from reportlab.pdfbase.pdfmetrics import getFont, getRegisteredFontNames

    if name in FALLBACKS and name not in getRegisteredFontNames():
        _register(name, str(FONT_DIR / FALLBACKS[name]), b"-Fallback" if name.startswith("Nnexam") else b"")
    return getFont(name).face.charToGlyph


@lru_cache(maxsize=65536)
def _font_for(ch: str, base: str) -> str | None:
    code = ord(ch)
    for f in _chain(base):
        if code in _cmap(f):
            return f
    return None


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


# --- shaping: what a name needs of it ----------------------------------------------------------------

def _arabic_forms() -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], str]]:
    """Presentation forms by letter ({letter: {isolated, final, initial, medial: char}}) and the
    lam-alef ligatures ({(alef, form): char}), read from the Unicode names of U+FB50..U+FEFF."""
    forms: dict[str, dict[str, str]] = {}
    ligatures: dict[tuple[str, str], str] = {}
    for code in range(0xFB50, 0xFF00):
        ch = chr(code)
        n = unicodedata.name(ch, "")
        for form in ("ISOLATED", "FINAL", "INITIAL", "MEDIAL"):
            suffix = f" {form} FORM"
            if not n.endswith(suffix):
                continue
            stem = n[: -len(suffix)]
            if stem.startswith("ARABIC LETTER "):
                try:
                    letter = unicodedata.lookup(stem)
                except KeyError:
                    break
                if letter < "\uFB50":
                    forms.setdefault(letter, {}).setdefault(form.lower(), ch)
            elif stem.startswith("ARABIC LIGATURE LAM WITH ALEF"):
                try:
                    alef = unicodedata.lookup("ARABIC LETTER " + stem[len("ARABIC LIGATURE LAM WITH "):])
                except KeyError:
                    break
                ligatures.setdefault((alef, form.lower()), ch)
            break
    return forms, ligatures


_FORMS, _LAM_ALEF = _arabic_forms()
_LAM = "\u0644"


def _joins_forward(ch: str) -> bool:
    """Dual-joining: connects to the letter after it (it has initial and medial forms)."""
    return "medial" in _FORMS.get(ch, {}) or ch in ("\u0640", "\u200d")  # tatweel, ZWJ


def _joins_back(ch: str) -> bool:
    return ch in _FORMS and "final" in _FORMS[ch] or ch in ("\u0640", "\u200d")


def _transparent(ch: str) -> bool:
    return unicodedata.category(ch) == "Mn"


def join_arabic(s: str) -> str:
    """Arabic letters replaced by their contextual presentation forms (logical order kept)."""
    if not any("\u0600" <= c <= "\u06ff" for c in s):
        return s
    chars = list(s)
    out: list[str] = []
    i = 0
    n = len(chars)

    def neighbour(j: int, step: int) -> str:
        j += step
        while 0 <= j < n and _transparent(chars[j]):
            j += step
        return chars[j] if 0 <= j < n else ""

    while i < n:
        c = chars[i]
        if c not in _FORMS:
            out.append(c)
            i += 1
            continue
        prev, nxt = neighbour(i, -1), neighbour(i, 1)
        back = bool(prev) and _joins_forward(prev) and _joins_back(c)
        if c == _LAM and nxt and (nxt, "isolated") in _LAM_ALEF:
            # lam + alef: one ligature glyph; the alef (and marks between) are consumed
            j = i + 1
            marks = []
            while j < n and _transparent(chars[j]):
                marks.append(chars[j])
                j += 1
            lig = _LAM_ALEF.get((nxt, "final" if back else "isolated"), _LAM_ALEF[(nxt, "isolated")])
            out.append(lig)
            out.extend(marks)
            i = j + 1
            continue
        fwd = bool(nxt) and _joins_back(nxt) and _joins_forward(c)
        form = ("medial" if fwd else "final") if back else ("initial" if fwd else "isolated")
        f = _FORMS[c]
        out.append(f.get(form) or f.get("final" if back else "isolated") or f.get("isolated") or c)
        i += 1
    return "".join(out)


def _rtl(ch: str) -> bool:
    return unicodedata.bidirectional(ch) in ("R", "AL")


def _strong_ltr(ch: str) -> bool:
    return unicodedata.bidirectional(ch) == "L"


def _reorder_devanagari(s: str) -> str:
    """The vowel sign i (ि, written first) moved before the consonant cluster it follows in memory."""
    if "\u093f" not in s:
        return s
    out: list[str] = []
    for ch in s:
        if ch == "\u093f" and out:
            # back over the cluster: consonant (nukta) (virama consonant (nukta))*
            k = len(out) - 1
            while k > 0 and out[k] == "\u093c":
                k -= 1
            while k >= 2 and out[k - 1] == "\u094d" and "\u0915" <= out[k - 2] <= "\u0939":
                k -= 2
            out.insert(k, ch)
        else:
            out.append(ch)
    return "".join(out)


def visual(s: str) -> str:
    """`s` in the order its glyphs are drawn left to right: joined Arabic, right-to-left runs reversed.

    A simplified bidi for one line in a left-to-right context (a name in a header or footer): each
    run of right-to-left letters, with the spaces, marks and punctuation between them, is reversed
    as a whole; digits inside such a run keep their left-to-right order.
    """
    s = _reorder_devanagari(join_arabic(s))
    if not any(_rtl(c) for c in s):
        return s
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if not _rtl(s[i]):
            out.append(s[i])
            i += 1
            continue
        j = i
        last = i  # the run ends at its last right-to-left letter; neutrals after it stay outside
        while j < n and not _strong_ltr(s[j]):
            if _rtl(s[j]):
                last = j
            j += 1
        out.append(_reverse_run(s[i : last + 1]))
        i = last + 1
    return "".join(out)


def _reverse_run(run: str) -> str:
    """A right-to-left run reversed, each base letter keeping its marks after it and numbers their order."""
    clusters: list[str] = []
    for ch in run:
        if clusters and (_transparent(ch) or (ch.isdigit() and clusters[-1][-1].isdigit())):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    mirror = {"(": ")", ")": "(", "[": "]", "]": "[", "<": ">", ">": "<", "{": "}", "}": "{"}
    return "".join(mirror.get(c, c) for c in reversed(clusters))


# --- runs, widths, coverage -------------------------------------------------------------------------

def runs(s: str, base: str, own: bool = True) -> tuple[tuple[str, str], ...]:
    """`s` (logical order) as (text, font) runs in drawing order: each character in `base` or its first fallback.

    `own`: the text is one student's (a name), so its non-ASCII letters go to a copy of `base` and
    the shared font's subset stays the same for every student (see _name_copy). Characters in no
    font are left in `base` (where they print as a box: `missing()` says which, for a warning).
    """
    register_fonts()
    out: list[list[str]] = []
    prev_font = base
    for ch in visual(s):
        if _invisible(ch):
            continue
        f = _font_for(ch, base) or base
        if _transparent(ch) and ord(ch) in _cmap(prev_font):
            f = prev_font  # a combining mark stays with its letter's font where that font has it
        if f == base and own and ord(ch) > 126 and unicodedata.category(ch)[0] in "LM":
            f = _name_copy(base)
        if out and out[-1][1] == f:
            out[-1][0] += ch
        else:
            out.append([ch, f])
        prev_font = f
    return tuple((t, f) for t, f in out)


def missing(s: str, base: str = "DejaVuSerif") -> str:
    """The characters of `s` (after shaping) that no font has: they would print as boxes."""
    register_fonts()
    seen = []
    for ch in visual(s):
        if not _invisible(ch) and not ch.isspace() and _font_for(ch, base) is None and ch not in seen:
            seen.append(ch)
    return "".join(seen)


def char_widths(rs: Sequence[tuple[str, str]], size: float) -> list[float]:
    """The advance of every character of the runs at `size` (for linear-time clipping)."""
    from reportlab.pdfbase.pdfmetrics import getFont

    out: list[float] = []
    for text, font in rs:
        face = getFont(font).face
        widths, default = face.charWidths, face.defaultWidth
        out += [widths.get(ord(c), default) * size / 1000.0 for c in text]
    return out


def runs_width(rs: Sequence[tuple[str, str]], size: float) -> float:
    """The width of the runs at `size`."""
    return sum(char_widths(rs, size))


def clip_runs(rs: Sequence[tuple[str, str]], size: float, width: float, base: str) -> tuple[tuple[str, str], ...]:
    """The runs cut with an ellipsis so that they fit in `width` (unchanged if they fit): linear in the text."""
    w = char_widths(rs, size)
    if sum(w) <= width:
        return tuple(rs)
    room = width - runs_width((("…", base),), size)
    total, keep = 0.0, 0
    for x in w:
        if total + x > room:
            break
        total += x
        keep += 1
    out: list[tuple[str, str]] = []
    for text, font in rs:
        if keep <= 0:
            break
        piece = text[:keep]
        keep -= len(piece)
        out.append((piece, font))
    if out:
        out[-1] = (out[-1][0].rstrip(), out[-1][1])
    return tuple(o for o in out if o[0]) + (("…", base),)


def coverage_font(ch: str, base: str = "DejaVuSerif") -> str | None:
    """The font that prints `ch` (a cmap lookup along the fallback chain), or None."""
    register_fonts()
    return _font_for(ch, base)


def markup(s: str, base: str) -> str:
    """`s` as reportlab Paragraph markup (escaped), the characters `base` lacks in <font> tags (shaped)."""
    parts = []
    for text, font in runs(s, base, own=False):
        esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(esc if font == base else f'<font name="{font}">{esc}</font>')
    return "".join(parts)


def unprintable(students: Sequence[tuple[str, str]], base: str = "DejaVuSerif") -> list[tuple[str, str, str]]:
    """(id, name, characters) of each student whose name or id has characters no font prints."""
    out = []
    for sid, name in students:
        lost = missing(f"{name}{sid}", base)
        if lost:
            out.append((sid, name, lost))
    return out


def unprintable_warning(students: Sequence[tuple[str, str]]) -> str:
    """One line for `generate` naming the students whose names would print boxes and the fix ('' if none)."""
    bad = unprintable(students)
    if not bad:
        return ""
    shown = ", ".join(f"{sid} ({name}: {''.join(lost)!r})" if name else f"{sid} ({lost!r})" for sid, name, lost in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    who = f"student {shown}" if len(bad) == 1 else f"{len(bad)} students, {shown}{more},"
    return f"{who} {'has' if len(bad) == 1 else 'have'} letters no font prints (they would show as empty boxes): {FONT_HINT}"
