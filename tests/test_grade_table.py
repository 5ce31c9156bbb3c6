"""Reading messy submission files: delimiters, encodings, decimal commas, headers, statuses of every row."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from nnexam.errors import NnexamError
from nnexam.grade import grade, parse_submissions
from nnexam.table import Unreadable, decimals_written, header_key, parse_column, parse_number, read_table, split_raw

from test_grade_support import fmt, keys, make_manifest


@pytest.mark.parametrize("text,value", [
    ("0.5", 0.5), (" 0,5 ", 0.5), ("-0,0123", -0.0123), ("\u22120.25", -0.25), ("1.5e-3", 0.0015),
    ("1,5E-03", 0.0015), ("+.5", 0.5), ("'-0.5", -0.5), ("1 234,5", 1234.5), ("1.234,5", 1234.5),
    ("1,234.5", 1234.5), ("7", 7.0), ("0.", 0.0),
])
def test_numbers_as_spreadsheets_write_them(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "0.0.5", "1,2,3", "nan", "inf", "1e999", "1_000", "٣", "--1", "0.5x", "=1+1"])
def test_unreadable_cells_are_not_guessed(text):
    with pytest.raises(Unreadable):
        parse_number(text)


def test_blank_is_nan_not_an_error():
    assert math.isnan(parse_number("   "))


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_any_float_written_with_point_or_comma_reads_back(x):
    assert parse_number(repr(x)) == x
    assert parse_number(f"{x:.6f}".replace(".", ",")) == pytest.approx(round(x, 6), abs=1e-6)


def test_parse_column_fast_and_slow_paths_agree():
    plain = ["0.1", "-2", "3e-2"]
    assert parse_column(plain)[0].tolist() == [0.1, -2.0, 0.03]
    values, bad = parse_column(["0,1", "", "x", "nan"])
    assert values[0] == 0.1 and math.isnan(values[1]) and bad == [2, 3]


def _cell_by_cell(cells):
    values, bad = [], []
    for i, c in enumerate(cells):
        try:
            values.append(parse_number(c))
        except Unreadable:
            values.append(math.nan)
            bad.append(i)
    return np.array(values, dtype=float), bad


_ODD_CELLS = ["", " ", "0,5", "1.234,5", "1,234.5", "1 234,5", "8.2e-2", "1e999", "nan", "inf", "1_000", "0.1O", "--1",
              "-", "+", ".", ",", "+.5", "5.", "-0", "-0,000", "\u22120.25", "'-0.5", "0.0.5", "\x00", "1\x002", "٣",
              "1234567890123456", "123456789012345", "-.123456789012345", "0.0000000000000001"]


@given(st.lists(st.one_of(st.from_regex(r"[+-]?[0-9]{0,17}[.,]?[0-9]{0,17}", fullmatch=True), st.sampled_from(_ODD_CELLS)),
                max_size=30))
def test_parse_column_reads_every_cell_as_parse_number_does(cells):
    for column in (cells, cells * 17):  # short columns are read cell by cell, long ones all at once
        values, bad = parse_column(column)
        expected, expected_bad = _cell_by_cell(column)
        assert bad == expected_bad
        assert np.array_equal(np.isnan(values), np.isnan(expected))
        finite = ~np.isnan(expected)
        assert values[finite].tobytes() == expected[finite].tobytes()  # to the bit: -0.0 and the last digit too


def test_header_keys_ignore_case_spaces_and_separators():
    assert header_key("dE/dw5") == header_key("dE_dw5") == header_key(" de dw5 ") == header_key("DE-DW5")


@pytest.mark.parametrize("text,d", [("0.082", 3), ("0,5", 1), ("8.2e-2", 3), ("0", 0), ("-1.10", 2), ("x", None)])
def test_decimals_written(text, d):
    assert decimals_written(text) == d


def _messy(m, delimiter=";", decimal_comma=True):
    k = keys(m)
    labels = [q.label for q in m.questions]
    # Header spelled three ways, in another case, with spaces around.
    header = ["Student ID", " Variant ", "Name"] + [f" {lab.replace('/', '_').upper()} " if i % 3 == 1 else
                                          (lab.replace("/", " ") if i % 3 == 2 else lab) for i, lab in enumerate(labels)]

    def cells(i):
        vals = [fmt(k[i][q.name]) for q in m.questions]
        return [v.replace(".", ",") if decimal_comma else v for v in vals]

    rows = [header]
    s = m.students
    rows.append([s[0].id, s[0].variant, "Ren\u00e9e"] + cells(0))                 # clean
    r = cells(1); r[0] = ""; r[1] = "garbage"
    rows.append([f"  {s[1].id} ", s[1].variant.lower(), ""] + r)              # blank + unreadable cell
    rows.append(["nobody", "XXXX", ""] + cells(2))                            # unknown student
    rows.append([s[2].id, s[2].variant, ""] + ["0,1"] * len(labels))          # s[2] first attempt
    rows.append([s[3].id, "WRONG1", ""] + cells(3))                           # variant mismatch
    rows.append([s[2].id, s[2].variant, ""] + cells(2))                       # s[2] again: graded
    rows.append([""] * (len(labels) + 3))                                     # spreadsheet's empty row
    return "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252", "utf-16"])
def test_messy_file_every_row_accounted_for(encoding):
    m = make_manifest(students=5)
    data = _messy(m).encode(encoding)
    table = read_table(data, "messy.csv")
    assert table.delimiter == ";"
    subs = parse_submissions(table, m)
    g = grade(m, subs)
    assert g.status == ("graded", "unreadable cells", "unknown student", "duplicate", "variant mismatch", "graded")
    assert subs.lines == (2, 3, 4, 5, 6, 7)
    assert g.score[0] == g.max_score and g.score[5] == g.max_score
    assert g.score[1] == g.max_score - 2  # one blank, one garbage: 0 each, the rest still marked
    assert np.isnan(g.score[[2, 3, 4]]).all()
    assert g.missing == (4,)  # the fifth student sent nothing
    rec = g.record(1)
    assert [a.verdict for a in rec.answers[:2]] == ["blank", "unreadable"]
    assert any("garbage" in n for n in rec.notes)
    assert "line 7" in g.record(3).notes[0]
    assert bool(table.warnings) == (encoding == "cp1252")


def test_cp1252_names_are_read_and_reported():
    table = read_table("student_id,name\ns1,Ren\u00e9e M\u00fcller\n".encode("cp1252"), "x.csv")
    assert table.rows[0][1] == "Ren\u00e9e M\u00fcller"
    assert "cp1252" in table.warnings[0]


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_other_delimiters_and_quoted_decimal_commas(delimiter):
    m = make_manifest(students=1)
    k = keys(m)[0]
    q = m.questions
    header = delimiter.join(["student_id"] + [x.label for x in q])
    row = delimiter.join([m.students[0].id] + [f'"{fmt(k[x.name]).replace(".", ",")}"' for x in q])
    g = grade(m, parse_submissions(read_table(f"{header}\n{row}\n".encode(), "t.csv"), m))
    assert g.score[0] == g.max_score


def test_excel_sep_line_and_long_layout():
    m = make_manifest(students=2)
    k = keys(m)
    lines = ["sep=;", "student_id;question;answer"]
    for i, s in enumerate(m.students):
        for q in m.questions:
            lines.append(f"{s.id};{q.label};{fmt(k[i][q.name]).replace('.', ',')}")
    lines.append(f"{m.students[1].id};not_a_question;1")
    subs = parse_submissions(read_table("\n".join(lines).encode(), "long.csv"), m)
    assert subs.layout == "long"
    g = grade(m, subs)
    assert g.score.tolist() == [g.max_score] * 2
    assert g.status == ("graded", "unreadable cells")


@pytest.mark.parametrize("data,message", [
    (b"", "empty"), (b"\x00\x01\x02binary", "not a text file"), (b"name,score\nA,1\n", "no student id column"),
    (b"student_id,foo\ns1,1\n", "no column names a question"),
])
def test_unreadable_inputs_say_why(data, message):
    m = make_manifest(students=1)
    with pytest.raises(NnexamError) as e:
        parse_submissions(read_table(data, "bad.csv"), m)
    assert message in e.value.message and "bad.csv" in e.value.message


def test_split_raw_keeps_every_byte():
    text = 'a,"b,""c""",d\r\n1,,"x\ny"\n2,3'
    recs = split_raw(text, ",")
    assert [len(r.fields) for r in recs] == [3, 3, 2]
    assert text[recs[0].fields[1][0]:recs[0].fields[1][1]] == '"b,""c"""'
    assert text[recs[1].fields[2][0]:recs[1].fields[2][1]] == '"x\ny"'


_SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace() and chr(c) not in "\r\n"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_every_kind_of_space_is_stripped_from_cells(delimiter):
    for space in _SPACES:
        for cell in (f"{space}1", f"1{space}", f'"{space}1"', f'"1{space}"', f'"1"{space}', f'""{space}1'):
            if space == delimiter and not cell.startswith(f'"{space}') and not cell.startswith(f'"1{space}'):
                continue  # outside quotes it is the delimiter
            text = f"a{delimiter}b\n{cell}{delimiter}x\nx{delimiter}{cell}\n"
            assert read_table(text.encode(), "t.csv").rows == (("1", "x"), ("x", "1")), (repr(space), cell)


def test_cells_without_spaces_are_read_as_written_and_a_quote_open_at_the_end_is_stripped():
    table = read_table(b'a,b\n"x,1",2\n3,"4\n', "t.csv")
    assert table.rows == (("x,1", "2"), ("3", "4")) and table.lines == (2, 3)


def test_stray_byte_order_marks_and_multi_line_cells_are_stripped():
    table = read_table('a,b\n\ufeffx ,"y\n"\n1,2\n'.encode(), "t.csv")
    assert table.rows == (("x", "y"), ("1", "2")) and table.lines == (3, 4)


@given(st.text(alphabet="ab \r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029", max_size=12))
def test_lines_are_the_lines_of_splitlines(text):
    from nnexam.table import _lines

    assert list(_lines(text)) == text.splitlines()
