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

import csv
import io
import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import NnexamError

DELIMITERS = (",", ";", "\t")
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
            return [row[index] for row in self.rows]
        except IndexError:
            return [row[index] if index < len(row) else "" for row in self.rows]


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
    if not data.strip():
        raise NnexamError(f"{source}: the file is empty")
    text, encoding, decoded = decode(data, source)
    warnings = list(decoded)
    lines = text.splitlines()
    first = 0
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first == len(lines):
        raise NnexamError(f"{source}: the file is empty")
    delimiter = ""
    hint = re.fullmatch(r'"?sep=(.)"?\s*', lines[first])
    if hint:  # Excel's "sep=;" first line
        delimiter = hint.group(1)
        first += 1
    if not delimiter:
        delimiter = sniff_delimiter(lines[first] if first < len(lines) else "")
    body = io.StringIO(text, newline="")
    reader = csv.reader(body, delimiter=delimiter, skipinitialspace=False, strict=False)
    header: tuple[str, ...] | None = None
    rows: list[tuple[str, ...]] = []
    line_numbers: list[int] = []
    skip = first
    strip = (lambda record: tuple(c.strip().strip("\ufeff") for c in record)) if "\ufeff" in text else (
        lambda record: tuple(map(str.strip, record)))  # a stray BOM (pasted files) is stripped like a space
    ended = 0  # the line the previous record ended on
    runaway: list[tuple[int, int]] = []  # (first, last line) of records that look like an unclosed quote
    try:
        for record in reader:
            start, ended = ended + 1, reader.line_num
            if ended <= skip:
                continue
            if ended > start and any(delimiter in c and ("\n" in c or "\r" in c) for c in record):
                runaway.append((start, ended))
            cells = strip(record)
            if not any(cells):
                continue  # blank lines and the ",,,," rows spreadsheets leave at the end
            if header is None:
                header = cells
                continue
            rows.append(cells)
            line_numbers.append(reader.line_num)
    except csv.Error as e:
        raise NnexamError(f"{source}: line {reader.line_num}: not a readable CSV line ({e})") from None
    if runaway:
        warnings += _runaway_quotes(source, text, runaway)
    if header is None:
        raise NnexamError(f"{source}: no header row")
    while header and not header[-1]:
        header = header[:-1]
    return Table(source, header, tuple(rows), tuple(line_numbers), delimiter, encoding, tuple(warnings))


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


_FAST_OK = re.compile(r"[^0-9.,eE+\-\x00]")


def parse_column(cells: Sequence[str]) -> tuple[np.ndarray, list[int]]:
    """Parse a column of cells: (values with NaN for blanks and unreadable cells, indices of unreadable ones)."""
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
