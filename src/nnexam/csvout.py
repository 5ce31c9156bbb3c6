"""CSV cells as nnexam writes them: the one place that makes a cell safe for a spreadsheet.

Every CSV file nnexam writes (grades.csv, answer_key.csv, submission_template.csv, the LMS files)
passes each text cell through `cell` (or a whole column through `column`):

- a cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice on CSV
  injection): one starting, after any spaces, with = + - @ (or their full-width and small forms
  ＝ ＋ － ＠ ﹢ ﹣ ﹦), a tab, a line break or a NUL; a plain number (-0.5, +4917, 1e-05) is left as
  it is, since an id such as -17 must reach the LMS unchanged and a number is no formula;
- a cell holding a comma, a semicolon, a tab, a quote or a line break is quoted, and each piece
  of it after one of those is made neutral too: a spreadsheet splitting on the other common
  separator (a European Excel splits a comma file on ';') sees a new cell there, quotes or not.

Readers undo the apostrophe with `unneutral` (table.parse_number already skips it in numbers). A
text's own apostrophes before a formula start ('=x) get one more (''=x), so that reading back
gives the text as it was.
Files people open get `BOM` first, so Excel reads accented names as UTF-8; files an LMS imports
do not.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

BOM = "\ufeff"  # first in files people open in Excel (grades.csv, answer_key.csv, submission_template.csv)

FORMULA_START = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20\ufe62\ufe63\ufe66")
_QUOTED = ',;\t"\r\n\x00'  # a cell holding one of these is quoted
_QUOTE_SEARCH = re.compile(f"[{re.escape(_QUOTED)}]")
_QUOTE_BUT_NUL = re.compile(f"[{re.escape(_QUOTED[:-1])}]")
_BREAKS = re.compile("([,;\t\r\n])")  # where a spreadsheet may start a new cell inside a quoted one
_SPACES = " \u00a0\u3000"  # spaces a spreadsheet may trim before reading a formula
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")
_STARTS = tuple(FORMULA_START - {"\x00"}) + tuple(_SPACES) + ("'",)  # a cell starting so may need a change
_CELL_STARTING = re.compile("\x00[" + re.escape("".join(_STARTS)) + "]")  # in a column joined after NULs: a cell starting so


def _formula(text: str) -> bool:
    """Whether a spreadsheet would run the text as a formula (see the module docstring)."""
    if not text:
        return False
    first = text[0] if text[0] not in _SPACES else text.lstrip()[:1]
    return first in FORMULA_START and not _PLAIN_NUMBER.fullmatch(text)


def _quoted_formula(piece: str) -> bool:
    """A formula behind quotes: a piece after a separator, where a reader splitting there may take a
    quote for the start of a quoted cell."""
    return piece.startswith('"') and _formula(piece.lstrip('"'))


def _own_apostrophe(text: str) -> bool:
    """The text's own apostrophes before a formula ('=x as an id): one more is added, so that reading
    back (which removes one) gives the text as it was."""
    if not text.startswith("'"):
        return False
    rest = text.lstrip("'")
    return _formula(rest) or _quoted_formula(rest)


def neutral(text: str) -> str:
    """The text made inert for spreadsheets: "'" before a formula start (see the module docstring)."""
    return "'" + text if _formula(text) or _own_apostrophe(text) else text


def _marked(piece: str) -> bool:
    return _formula(piece) or _quoted_formula(piece) or _own_apostrophe(piece)


def _neutral_piece(piece: str) -> str:
    """`neutral` for a piece after a separator inside a cell: quotes before a formula start are looked past."""
    return "'" + piece if _marked(piece) else piece


def unneutral(text: str) -> str:
    """A cell read back: the apostrophes `cell` added removed ('=x -> =x, a;'=x -> a;=x); any other text as it is."""
    if "'" not in text:
        return text
    # `cell` in reverse: first each piece after a separator, then the whole text as `neutral` made it
    pieces = _BREAKS.split(text)  # text, separator, text, ...
    text = pieces[0] + "".join(sep + _unneutral_piece(p) for sep, p in zip(pieces[1::2], pieces[2::2]))
    return text[1:] if text.startswith("'") and (_formula(text[1:]) or _own_apostrophe(text[1:])) else text


def _unneutral_piece(piece: str) -> str:
    return piece[1:] if piece.startswith("'") and _marked(piece[1:]) else piece


def cell(text: str) -> str:
    """One text cell as written in a CSV line: neutral, and quoted when it holds a separator, quote or line break.

    Quotes keep the cell whole only for a reader splitting on the file's own separator: one
    splitting on the other (or at a line break inside the quotes) starts a new cell after it, so
    each piece after a comma, semicolon, tab or line break is made neutral too (a;=1+1 -> a;'=1+1).
    """
    if _QUOTE_SEARCH.search(text) is None:
        return neutral(text)
    pieces = _BREAKS.split(neutral(text))  # text, separator, text, ...
    text = pieces[0] + "".join(sep + _neutral_piece(p) for sep, p in zip(pieces[1::2], pieces[2::2]))
    return '"' + text.replace('"', '""') + '"'


def column(texts: Sequence[str]) -> Sequence[str]:
    """`cell` of every text of a column; the column itself when no cell needs a change (the usual case),
    else each distinct text through `cell` once."""
    joined = "\0" + "\0".join(texts)  # each cell after a NUL: a NUL inside a cell makes one more
    if (joined.count("\0") == len(texts) and _QUOTE_BUT_NUL.search(joined) is None
            and _CELL_STARTING.search(joined) is None):
        return texts
    made: dict[str, str] = {}  # columns repeat their texts (feedback summaries, statuses): each made once
    return [made[t] if t in made else made.setdefault(t, cell(t)) for t in texts]


def row(texts: Iterable[str], end: str = "\r\n") -> str:
    """One CSV line of text cells, each through `cell`."""
    return ",".join(map(cell, texts)) + end


__all__ = ["BOM", "FORMULA_START", "cell", "column", "neutral", "row", "unneutral"]
