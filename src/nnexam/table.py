"""Reading tables as spreadsheets and LMS exports really write them: the parse half of grading.

Bytes come in; a Table of stripped text cells comes out, with the delimiter (comma, semicolon or
tab, sniffed), the encoding (UTF-8 with or without BOM, UTF-16 from Excel's "Unicode text", and
cp1252 as a reported fallback) and each row's line number in the file for messages. Numbers are
parsed separately (`parse_number`, `parse_column`): decimal point or comma, scientific notation,
the Unicode minus; a blank is NaN, an unreadable cell is reported, never guessed.

`split_raw` keeps every field's exact bytes so an LMS export can be copied with one column filled
and every other cell untouched.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import compress
from operator import itemgetter
from typing import Callable, Iterator, Sequence

import numpy as np

from .errors import NnexamError

DELIMITERS = (",", ";", "\t")
CELL_LIMIT = csv.field_size_limit()  # 131,072 characters: Python's csv module reads no longer cell
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Table:
    """A read table: header and rows of stripped text, with where each row was in the file."""

    source: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]  # line number in the file of each row (the header is line 1 or 2)
    delimiter: str
    encoding: str
    warnings: tuple[str, ...] = ()

    def column(self, index: int) -> list[str]:
        """One column's cells ('' where a short row has none)."""
        try:
            return list(map(itemgetter(index), self.rows))
        except IndexError:
            return [row[index] if index < len(row) else "" for row in self.rows]


class Line(int):
    """A row's line number that knows its file: shown as "3 of b.csv" (a class read from several files)."""

    file: str

    def __new__(cls, number: int, file: str) -> "Line":
        line = super().__new__(cls, number)
        line.file = file
        return line

    def __getnewargs__(self) -> tuple[int, str]:  # pickled with its file (worker processes)
        return int(self), self.file

    def __str__(self) -> str:
        return f"{int(self)} of {self.file}"

    def __format__(self, spec: str) -> str:
        return str(self) if not spec else format(int(self), spec)


def in_file(table: Table) -> Table:
    """The table with every row's line shown with its file (Line): for a class read from several files."""
    return replace(table, lines=tuple(Line(n, table.source) for n in table.lines))


def decode(data: bytes, source: str) -> tuple[str, str, tuple[str, ...]]:
    """Bytes to text: (text, encoding name, warnings); one clear error when it is not text at all."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", ()
        except UnicodeDecodeError:
            raise NnexamError(f"{source}: starts like UTF-16 text but cannot be decoded as UTF-16") from None
    if b"\x00" in data[:4096]:
        raise NnexamError(f"{source}: not a text file (expected a CSV table)")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding), encoding, ()
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise NnexamError(f"{source}: not UTF-8 and not Windows-1252 text; save it as CSV UTF-8") from None
    return text, "cp1252", (f"{source}: not UTF-8; read as Windows-1252 (cp1252). Check accented names; save as CSV UTF-8 to avoid this.",)


def sniff_delimiter(line: str) -> str:
    """The delimiter of a header line: the most frequent of comma, semicolon and tab outside quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def read_table(data: bytes, source: str) -> Table:
    """Parse CSV bytes into a Table, or raise one NnexamError saying why it cannot be read."""
    if not data or data.isspace():  # data.strip() is empty, without copying a large file
        raise NnexamError(f"{source}: the file is empty")
    text, encoding, decoded = decode(data, source)
    warnings = list(decoded)
    first = 0
    for line in _lines(text):
        if line.strip():
            break
        first += 1
    else:
        raise NnexamError(f"{source}: the file is empty")
    hint = re.fullmatch(r'"?sep=(.)"?\s*', line)
    if hint:  # Excel's "sep=;" first line
        delimiter = hint.group(1)
        first += 1
    else:
        delimiter = sniff_delimiter(line)
    records, ends, runaway = _records(text, delimiter, source)
    if runaway:
        warnings += _runaway_quotes(source, text, [span for span in runaway if span[1] > first])
    start = bisect.bisect_right(ends, first)  # records on the blank lines and "sep=;" before the header are not read
    records, ends = records[start:], ends[start:]
    kept = list(map(any, records))  # blank lines and the ",,,," rows spreadsheets leave at the end are dropped
    rows = list(compress(records, kept))
    line_numbers = list(compress(ends, kept))
    if not rows:
        raise NnexamError(f"{source}: no header row")
    header = rows[0]
    while header and not header[-1]:
        header = header[:-1]
    return Table(source, header, tuple(rows[1:]), tuple(line_numbers[1:]), delimiter, encoding, tuple(warnings))


_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # str.splitlines' line boundaries


def _lines(text: str) -> Iterator[str]:
    """The lines of str.splitlines(), one at a time (a file's first lines without splitting all of it)."""
    at = 0
    for brk in _LINE_BREAK.finditer(text):
        yield text[at:brk.start()]
        at = brk.end()
    if at < len(text):
        yield text[at:]


def _stripper(text: str) -> Callable[[list[str]], tuple[str, ...]]:
    """A record's cells stripped; a stray BOM (pasted files) is stripped like a space."""
    if "\ufeff" in text:
        return lambda record: tuple(c.strip().strip("\ufeff") for c in record)
    return lambda record: tuple(map(str.strip, record))


def _records(text: str, delimiter: str, source: str) -> tuple[list[tuple[str, ...]], list[int], list[tuple[int, int]]]:
    """Every record, stripped, with the line each ends on, and the (first, last line) of those that
    look like an unclosed quote: several lines, with the delimiter and a line break in one cell."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=False, strict=False)
    strip = _stripper(text)
    # A one-line record's cells hold no line break: when no other space sits at a cell's edge in
    # the whole text, there is nothing to strip (and no str.strip call per cell to pay).
    one_line = strip if "\ufeff" in text or _edge_spaces(text, delimiter) else tuple
    records: list[tuple[str, ...]] = []
    ends: list[int] = []
    runaway: list[tuple[int, int]] = []
    ended = 0  # the line the previous record ended on
    try:
        for record in reader:
            start, ended = ended + 1, reader.line_num
            if ended == start:
                records.append(one_line(record))
            else:
                if any(delimiter in c and ("\n" in c or "\r" in c) for c in record):
                    runaway.append((start, ended))
                records.append(strip(record))
            ends.append(ended)
    except csv.Error as e:
        if "field limit" in str(e):
            raise NnexamError(f"{source}: line {ended + 1}: a cell longer than {CELL_LIMIT:,} characters, the most nnexam "
                              "reads in one cell (a quote left open?)") from None
        raise NnexamError(f"{source}: line {reader.line_num}: not a readable CSV line ({e})") from None
    if records and one_line is tuple:
        records[-1] = strip(records[-1])  # a quote left open at the end of the file keeps its line break
    return records, ends, runaway


# What str.strip() removes (str.isspace) but for the line breaks \r and \n.
_EDGE_SPACES = "\t\x0b\x0c\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _edge_spaces(text: str, delimiter: str) -> bool:
    """Whether a cell of a one-line record may start or end with a space other than a line break.

    False means stripping cannot change such a cell. A cell starts at the start of a line, after
    the delimiter or after a quote, and ends before the delimiter, a quote or the end of a line: a
    space at its edge has one of those next to it. A cell holds the delimiter only quoted, so that
    one counts only next to a quote. (Only the last record can keep a line break in a cell and
    still be one line: a quote left open at the end of the file; `_records` strips it apart.)
    """
    for space in _EDGE_SPACES:
        if space not in text:
            continue
        if space == delimiter:
            neighbours: tuple[str, ...] = ('"',)
        else:
            if text.startswith(space) or text.endswith(space):
                return True
            neighbours = ('"', delimiter, "\n", "\r")
        if any(n + space in text or space + n in text for n in neighbours):
            return True
    return False


_RUNAWAY_SHOWN = 3  # a file of genuine multi-line cells holding the delimiter should not flood stderr


def _runaway_quotes(source: str, text: str, spans: list[tuple[int, int]]) -> list[str]:
    """Warnings for records spanning lines with the delimiter and a line break in one cell: a quote left open."""
    raw = io.StringIO(text, newline="").readlines()  # lines as the csv reader counts them
    out = []
    for start, end in spans[:_RUNAWAY_SHOWN]:
        at_end = "".join(raw[start - 1:end]).count('"') % 2 == 1  # an odd number of quotes: one never closed
        until = "before the end of the file" if at_end else f"before line {end}"
        out.append(f"{source}: line {start}: a quote opened here is not closed {until}; lines {start}-{end} were read as one cell")
    if len(spans) > _RUNAWAY_SHOWN:
        out.append(f"{source}: {len(spans) - _RUNAWAY_SHOWN} more records from line {spans[_RUNAWAY_SHOWN][0]} span "
                   f"several lines with the delimiter inside a cell; check their quotes")
    return out


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


_KEY_DROP = re.compile(r"[\s/_\-.]+")


@lru_cache(maxsize=4096)  # the same few headers again and again: a folder of 20,000 files asks 3.7 million times
def header_key(name: str) -> str:
    """A column name for matching: case, spaces, and / _ - . ignored (dE/dw5 = dE_dw5 = dE dw5)."""
    return _KEY_DROP.sub("", name.replace("\ufeff", "").strip().lower())


# --- numbers -----------------------------------------------------------------------------------

_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2012": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACES = re.compile(r"(?<=\d)[ \u00a0\u202f\u2009'](?=\d)")
_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:([.,])[0-9]{3})+(?:(?!\1)[.,][0-9]+)?")


class Unreadable(ValueError):
    """A cell that is neither blank nor a number."""


def parse_number(text: str) -> float:
    """A cell as a number: NaN when blank; raises Unreadable when it is not a number."""
    s = text.strip()
    if not s:
        return math.nan
    s = s.translate(_MINUS)
    if s.startswith("'"):
        s = s[1:].strip()  # a spreadsheet's text marker (and what CSV-injection guards add)
    s = _SPACES.sub("", s)  # 1 234,5 and 1'234.5
    if s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")  # decimal comma
    elif "," in s and _GROUPED.fullmatch(s):
        sep = _GROUPED.fullmatch(s).group(1)
        s = s.replace(sep, "").replace(",", ".")  # 1.234,5 or 1,234.5
    if not _PLAIN.fullmatch(s):
        raise Unreadable(text)
    value = float(s)
    if not math.isfinite(value):
        raise Unreadable(text)
    return value


def parse_column(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """Parse a column of cells: (values with NaN for blanks and unreadable cells, indices of unreadable ones).

    Each cell reads as `parse_number` reads it. Plain decimals, with a point or a decimal comma
    (nearly every cell of a real file), are read all at once; only the others (exponents,
    thousands separators, typos) go through `_parse_cells`.
    """
    if len(cells) <= _SMALL:  # a per-student file's one row: numpy's set-up would cost more than the cells
        return _parse_cells(cells)
    values, others = _plain_decimals(cells)
    if not len(others):
        return values, []
    indices = others.tolist()
    values[others], bad = _parse_cells([cells[i] for i in indices])
    return values, [indices[j] for j in bad]


_SMALL = 16  # columns up to this many cells go to _parse_cells directly (2 us a one-cell column, not 66 us)
_DIGITS_MAX = 15  # 10^15 < 2^53: up to 15 digits are an exact float64 integer
_POW10_INT = np.array([10 ** k for k in range(_DIGITS_MAX)], dtype=np.int64)
_POW10 = np.array([float(10 ** k) for k in range(_DIGITS_MAX + 1)])  # exact in float64


def _plain_decimals(cells: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Values of the cells written as plain decimals, NaN elsewhere, and the indices of the other non-blank cells.

    A plain decimal is an optional leading sign, then digits with at most one decimal point or
    comma (-0.0123, 0,5, 5., .5), at most 15 digits in all: what `parse_number` reads as the
    digits m (an integer below 2^53) over 10^k, k the digits after the point. Both are exact in
    float64, so the one division rounds as float() rounds the text (correctly): the same value to
    the bit, -0.0 included. Everything is done on the characters of all cells at once.
    """
    n = len(cells)
    if not n:
        return np.empty(0), np.empty(0, dtype=np.int64)
    # One byte per character ('?' for any non-ASCII one), each cell followed by a NUL.
    chars = np.frombuffer(("\x00".join(cells) + "\x00").encode("ascii", "replace"), dtype=np.uint8)
    ends = np.flatnonzero(chars == 0)  # where each cell ends
    if len(ends) != n:  # some cell holds a NUL itself
        ends = np.cumsum(np.array([len(c) + 1 for c in cells], dtype=np.int64)) - 1
    starts = np.concatenate(([0], ends[:-1] + 1))  # each cell with its NUL: never empty
    lengths = ends - starts
    digit_value = chars - ord("0")  # uint8: characters below '0' wrap round to large values
    digit = digit_value < 10
    point = (chars == ord(".")) | (chars == ord(","))
    first = chars[starts]  # the NUL of a blank cell
    signed = (first == ord("+")) | (first == ord("-"))
    counted = np.cumsum(digit, dtype=np.int32)  # digits up to each character
    counted_at_end = counted[ends]
    digits = np.diff(counted_at_end, prepend=0)
    points = np.add.reduceat(point, starts, dtype=np.int32)
    plain = (digits >= 1) & (digits <= _DIGITS_MAX) & (points <= 1) & (digits + points + signed == lengths)
    # m: each digit times 10 to the number of digits after it in its cell (exact where plain).
    after = np.repeat(counted_at_end, lengths + 1) - counted
    m = np.add.reduceat((digit_value * digit) * np.take(_POW10_INT, after, mode="clip"), starts)
    decimals = np.add.reduceat(after * point, starts)
    value = m / np.take(_POW10, decimals, mode="clip")
    value = np.where(first == ord("-"), -value, value)
    return np.where(plain, value, np.nan), np.flatnonzero(~plain & (lengths > 0))


_FAST_OK = re.compile(r"[^0-9.,eE+\-\x00]")


def _parse_cells(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """`parse_column` for any cells: float() at C speed when every cell allows it (a column of
    exponents, say), else cell by cell."""
    n = len(cells)
    joined = "\x00".join(cells)
    plain = joined.isascii() and not _FAST_OK.search(joined)
    if plain:
        # Only digits, signs, points, commas and exponents: float() reads all but blanks and decimal
        # commas, and cannot meet nan or 1_000 here. Blanks become "nan" for one C-level pass.
        try:
            values = np.fromiter(map(float, [c or "nan" for c in cells]), dtype=float, count=n)
            if not np.isinf(values).any():  # 1e999
                return values, []
        except ValueError:
            pass
    values = np.empty(n)
    bad = []
    for i, c in enumerate(cells):
        if plain and c:
            try:
                v = float(c)
                if math.isfinite(v):
                    values[i] = v
                    continue
            except ValueError:
                pass
        try:
            values[i] = parse_number(c)
        except Unreadable:
            values[i] = math.nan
            bad.append(i)
    return values, bad


def decimals_written(text: str) -> int | None:
    """How many decimals a number was written with (8.2e-2 has 3); None when blank or unreadable."""
    s = text.strip().translate(_MINUS).lstrip("'").strip()
    s = _SPACES.sub("", s)
    if s.count(",") == 1 and "." not in s:
        s = s.replace(",", ".")
    m = re.fullmatch(r"[+-]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", s)
    if not m or not (m.group(1) or m.group(2)):
        return None
    frac = len(m.group(2) or "")
    exp = int(m.group(3) or 0)
    return max(0, frac - exp)


# --- exact fields, for editing an export in place ---------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    """One record of a CSV text: field spans (start, end) in the text and where its line ending sits."""

    fields: tuple[tuple[int, int], ...]
    end: int  # index of the line ending (or len(text))


def split_raw(text: str, delimiter: str) -> list[RawRecord]:
    """Split CSV text into records and exact field spans (quotes kept), so cells can be replaced in place."""
    records: list[RawRecord] = []
    i, n = 0, len(text)
    while i < n:
        fields = []
        start = i
        while True:
            if i < n and text[i] == '"':
                i += 1
                while i < n:
                    if text[i] == '"':
                        if i + 1 < n and text[i + 1] == '"':
                            i += 2
                            continue
                        i += 1
                        break
                    i += 1
            while i < n and text[i] not in (delimiter, "\r", "\n"):
                i += 1
            fields.append((start, i))
            if i < n and text[i] == delimiter:
                i += 1
                start = i
                continue
            break
        records.append(RawRecord(tuple(fields), i))
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
    return records


def unquote(field: str) -> str:
    """A raw field's value: quotes removed, doubled quotes undone, spaces stripped."""
    f = field.strip()
    if len(f) >= 2 and f[0] == '"' and f[-1] == '"':
        f = f[1:-1].replace('""', '"')
    return f.strip()


def quote(value: str, delimiter: str) -> str:
    """A field as CSV writes it: quoted when it holds the delimiter, a quote or a line break."""
    if any(ch in value for ch in (delimiter, '"', "\n", "\r")):
        return '"' + value.replace('"', '""') + '"'
    return value
