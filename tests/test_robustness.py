"""Bad input gets one clear line (or a warning), never a traceback or a numpy warning.

Runaway quotes in CSV files, numbers at the float64 limit in submissions, banks and specs, and
rosters as Excel saves them (UTF-16, cp1252, a duplicated id column). pytest runs with
filterwarnings = error, so any numpy RuntimeWarning fails these tests.
"""

from __future__ import annotations

import math
import re
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from nnexam.bank import parse_bank
from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.files import safe_stem, unique_stems
from nnexam.generate import answer_key, check_rules, class_ids, generate, questions
from nnexam.grade import grade, parse_submissions
from nnexam.lms import parse_roster, read_roster
from nnexam.solve import solve
from nnexam.spec import parse_spec
from nnexam.table import read_table
from nnexam.tolerance import accepted, within

from test_grade_support import make_manifest, wide_csv

# --- 1. an unclosed quote in a CSV --------------------------------------------------------------

SUBMISSION = "student_id,variant,out_h1\ns001,A,0.5\ns002,B,0.6\ns003,C,0.7\ns004,D,0.8\ns005,E,0.9\n"


def test_unclosed_quote_to_the_end_of_the_file_is_a_warning_naming_the_line():
    t = read_table(SUBMISSION.replace("s003", '"s003').encode(), "subs.csv")
    assert t.rows[2] == ("s003,C,0.7\ns004,D,0.8\ns005,E,0.9",)  # still read: not fatal
    assert t.warnings == ("subs.csv: line 4: a quote opened here is not closed before the end of the file; "
                          "lines 4-6 were read as one cell",)


def test_unclosed_quote_closed_by_a_later_quote_names_both_lines():
    text = SUBMISSION.replace("s003", '"s003').replace("s005,E", 's005,E"').replace("\n", "\r\n")
    t = read_table(text.encode("utf-16"), "subs.csv")
    assert [r[0] for r in t.rows] == ["s001", "s002", "s003,C,0.7\r\ns004,D,0.8\r\ns005,E"]
    assert t.warnings == ("subs.csv: line 4: a quote opened here is not closed before line 6; lines 4-6 were read as one cell",)


@pytest.mark.parametrize("text", [
    SUBMISSION,
    'student_id,comment\ns001,"first line\nsecond line"\ns002,ok\n',  # a line break alone: a real multi-line cell
    'student_id,comment\ns001,"a, b"\ns002,ok\n',  # the delimiter alone: a quoted cell
])
def test_well_formed_files_have_no_quote_warning(text):
    assert read_table(text.encode(), "subs.csv").warnings == ()


def test_many_multi_line_cells_with_the_delimiter_give_a_few_warnings_and_a_count():
    t = read_table(("id,comment\n" + "".join(f'{i},"a, b\nc"\n' for i in range(10))).encode(), "x.csv")
    assert len(t.rows) == 10 and len(t.warnings) == 4
    assert t.warnings[3] == "x.csv: 7 more records from line 8 span several lines with the delimiter inside a cell; check their quotes"


def test_cp1252_warning_is_kept_beside_a_quote_warning():
    t = read_table(SUBMISSION.replace("s003", '"s003').replace("A", "Ä").encode("cp1252"), "subs.csv")
    assert len(t.warnings) == 2 and "cp1252" in t.warnings[0] and "line 4: a quote" in t.warnings[1]


def test_check_prints_the_quote_warning(tmp_path, examples):
    answers = tmp_path / "answers.csv"
    answers.write_text('name,value\nout_h1,0.5933\n"out_h2,0.5969\nE_total,0.2984\n')
    result = CliRunner().invoke(cli, ["check", str(examples / "mazur_2-2-2.toml"), str(answers)])
    assert f"nnexam: warning: {answers}: line 3: a quote opened here is not closed" in result.stderr
    assert "Traceback" not in result.output


# --- 2. numbers at the float64 limit: tolerances -------------------------------------------------


def test_widths_at_the_float64_limit_are_inf_and_accept():
    target = np.array([1e308, -1e308, 0.5])
    low, high = accepted("rel", 2.0, 4, target, target, target)
    assert np.isinf(low[:2]).all() and np.isinf(high[:2]).all() and math.isfinite(high[2] - low[2])
    assert within(np.array([0.0, 0.0, 0.5]), low, high).tolist() == [True, True, True]
    with np.errstate(over="ignore"):
        lo, hi = target - np.array([1e308, 0.0, 0.0]), target + np.array([1e308, 0.0, 0.0])
    low, high = accepted("abs", 1e308, 4, target, lo, hi)
    assert np.isinf(high[0])


def test_differences_past_the_float64_limit_are_rejected():
    target = np.array([-1e308, 1e308, 0.0])
    low, high = accepted("decimals", 0.0, 4, target, target, target)
    assert within(np.array([1e308, -1e308, np.nan]), low, high).tolist() == [False] * 3


def test_a_submission_of_1e308_everywhere_grades_to_zero_without_numpy_warnings():
    m = make_manifest("mazur_2-2-2", students=3)
    answers = [{q.name: "1e308" for q in m.questions} for _ in m.students]
    g = grade(m, parse_submissions(read_table(wide_csv(m, answers), "answers.csv"), m))
    assert g.status == ("graded",) * 3 and g.score.tolist() == [0.0] * 3


BANK = {
    "title": "t", "layers": [2, 2, 1], "activations": ["linear", "linear"], "loss": "half_sse",
    "draws": {"inputs": {"choices": [0.5, 0.7]}, "targets": {"choices": [0.1]}, "learning_rate": {"choices": [0.5]},
              "weights": {"choices": [0.3, 0.6, 0.9, 1.2, 1.5, 1.8]}, "biases": {"choices": [0.1]}},
    "tasks": [{"task": "forward"}],
}


@pytest.mark.parametrize("where, key", [("top", "tolerance.value"), ("task", "tasks[0].tolerance.value")])
@pytest.mark.parametrize("value", [1e308, 2e6, -1.0])
def test_absurd_bank_tolerances_are_refused_naming_the_key(where, key, value):
    tol = {"kind": "abs", "value": value}
    data = dict(BANK, tolerance=tol) if where == "top" else dict(BANK, tasks=[{"task": "forward", "tolerance": tol}])
    with pytest.raises(NnexamError, match=rf"^b.toml: key '{re.escape(key)}': expected a number from 0 to 1e6, got "):
        parse_bank(data, "b.toml", "b")


def test_the_largest_bank_tolerance_is_accepted():
    assert parse_bank(dict(BANK, tolerance={"kind": "rel", "value": 1e6}), "b.toml", "b").tasks[0].tolerance_value == 1e6


# --- 3. numeric overflow in solving ---------------------------------------------------------------

HUGE = """
layers = [2, 2, 2]
activations = ["linear", "linear"]
loss = "half_sse"
learning_rate = 0.5
weights = [[[1e200, 1e200], [1e200, 1e200]], [[1e200, 1e200], [1e200, 1e200]]]
biases = [[0.1, 0.1], [0.1, 0.1]]
inputs = [0.05, 0.1]
targets = [0.01, 0.99]
"""


def huge_spec(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text(HUGE)
    return path


@pytest.mark.parametrize("args", [[], ["--format", "json"], ["--steps"], ["--format", "latex"]])
def test_solve_refuses_values_that_overflow_in_one_line(tmp_path, args):
    path = huge_spec(tmp_path)
    result = CliRunner().invoke(cli, ["solve", str(path)] + args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"nnexam: error: {path}: step 'z2_1' is inf: the given values are too large for float64 "
                             "(expected values small enough that every step stays finite)\n")


def test_check_refuses_a_spec_that_overflows(tmp_path):
    path = huge_spec(tmp_path)
    answers = tmp_path / "answers.csv"
    answers.write_text("E\n1e199\n")
    result = CliRunner().invoke(cli, ["check", str(path), str(answers)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"nnexam: error: {path}: step 'z2_1' is inf") and result.stderr.count("\n") == 1


def test_solve_names_the_first_non_finite_step_and_exits_2():
    network = parse_spec(tomllib.loads(HUGE), "huge")  # parse_spec checks shapes, not sizes
    with pytest.raises(NnexamError, match=r"^step 'z2_1' is inf: the given values are too large for float64") as e:
        solve(network)
    assert e.value.exit_code == 2
    with pytest.raises(NnexamError, match=r"^huge\.toml: step 'z2_1'"):
        solve(network, "huge.toml")
    smaller = parse_spec(dict(tomllib.loads(HUGE), weights=[[[1e100] * 2] * 2] * 2), "x")
    with pytest.raises(NnexamError, match=r"step 'E_1' is inf"):  # z2 = 1.5e199 is finite; its square is not
        solve(smaller)


def test_the_generator_redraws_variants_that_overflow():
    data = dict(BANK, draws=dict(BANK["draws"], weights={"choices": [1e200, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1]}))
    bank = parse_bank(data, "b.toml", "b")
    ids = class_ids(40)
    m = generate(bank, "1", ids)
    weights = [w for s in m.students for layer in s.network.weights for row in layer for w in row]
    assert len(weights) == 40 * 6 and max(weights) < 1e200
    key = [row.split(",")[2:] for row in answer_key(m).removeprefix("\ufeff").splitlines()[1:]]
    assert len(key) == 40 and all(math.isfinite(float(v)) for row in key for v in row)
    # check_rules marks the overflowing draw itself, without numpy warnings
    one = {n: np.full(1, 1e200) for n in bank.arch.weight_names()}
    givens = {"x_1": np.full(1, 0.5), "x_2": np.full(1, 0.7), "t_1": np.full(1, 0.1), "eta": np.full(1, 0.5),
              "b1_1": np.full(1, 0.1), "b1_2": np.full(1, 0.1), "b2_1": np.full(1, 0.1), **one}
    fails, _ = check_rules(bank, questions(bank), givens)
    assert fails["finite"].tolist() == [True]


def test_a_bank_that_always_overflows_names_the_rule():
    data = dict(BANK, draws=dict(BANK["draws"], weights={"choices": [1e200, 2e200, 3e200, 4e200, 5e200, 6e200]}))
    with pytest.raises(NnexamError, match=r"b\.toml: no fair variant .*every step a finite number.*\[finite\]"):
        generate(parse_bank(data, "b.toml", "b"), "1", class_ids(2))


# --- 5. counts in messages agree with their nouns -------------------------------------------------


def test_a_count_of_one_is_singular():
    spec = {"layers": [1, 1], "activations": ["linear"], "loss": "half_sse", "learning_rate": 0.5,
            "weights": [[[0.5]]], "biases": [[0.1]], "inputs": [0.2, 0.3], "targets": [0.4]}
    with pytest.raises(NnexamError, match=r"key 'inputs': expected 1 number, got 2$"):
        parse_spec(spec, "s.toml")
    with pytest.raises(NnexamError, match=r"key 'weights': expected 1 matrix, one per weight layer, got 2$"):
        parse_spec(dict(spec, inputs=[0.2], weights=[[[0.5]], [[0.5]]]), "s.toml")
    with pytest.raises(NnexamError, match=r"key 'draws.weights': expected one draw for all layers, .* got 1 entry$"):
        parse_bank(dict(BANK, draws=dict(BANK["draws"], weights=[{"choices": [0.5]}])), "b.toml", "b")


# --- 4. rosters as Excel saves them ---------------------------------------------------------------

UNICODE_TEXT = "First name\tLast name\tID\r\nAnn\tLee\t1\r\nZoë\tKim\t2\r\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_roster_with_bom_reads_like_utf8(encoding):
    raw = UNICODE_TEXT.encode(encoding)
    if encoding != "utf-16":
        raw = "\ufeff".encode(encoding) + raw
    assert read_roster(raw, "r.txt") == ([("1", "Ann Lee"), ("2", "Zoë Kim")], ())


def test_cp1252_roster_reads_with_a_warning():
    students, warnings = read_roster("ID,Name\n1,Zoë\n".encode("cp1252"), "r.csv")
    assert students == [("1", "Zoë")]
    assert warnings == ("r.csv: not UTF-8; read as Windows-1252 (cp1252). Check accented names; save as CSV UTF-8 to avoid this.",)
    assert read_roster("ID,Name\n1,Zoë\n".encode("utf-8"), "r.csv")[1] == ()


def test_cli_reads_a_utf16_roster(tmp_path):
    roster = tmp_path / "roster.txt"
    roster.write_bytes(UNICODE_TEXT.encode("utf-16"))
    out = tmp_path / "exam"
    r = CliRunner().invoke(cli, ["generate", "--seed", "s", "--roster", str(roster), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert (out / "submission_template.csv").read_text(encoding="utf-8-sig").splitlines()[1].startswith("1,")


@pytest.mark.parametrize("header, id_column, column, at", [
    ("student_id,student_id,Name", None, "student_id", "1 and 2"),
    ("Name,Student ID,student_id", None, "Student ID", "2 and 3"),
    ("Name,ID,id,Id", None, "ID", "2, 3 and 4"),
    ("Name,Matric,matric", "Matric", "Matric", "2 and 3"),
])
def test_a_duplicated_id_column_is_refused_naming_the_column(header, id_column, column, at):
    times = "twice" if " and " in at and "," not in at else "3 times"
    with pytest.raises(NnexamError, match=rf"^r\.csv: the student id column '{column}' appears {times} in the header "
                                          rf"\(columns {at}\); expected it once$"):
        parse_roster(f"{header}\n1,2,3,4\n", "r.csv", id_column)


def test_a_canvas_roster_with_id_and_sis_user_id_is_not_a_duplicate():
    assert parse_roster("Student,ID,SIS User ID\nAnn,1,A1\n", "r.csv") == [("A1", "Ann")]


def test_roster_delimiter_ignores_quoted_commas():
    assert parse_roster('ID;"Full name, as listed"\n1;"Lee, Ann"\n', "r.csv") == [("1", "")]


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="aZ09._@- /\\:*é\u0301ßİ", max_size=90) | st.sampled_from(["CON", "nul.txt", "a" * 81, "s001", "..", "-"]))
def test_file_stems_from_ids_are_safe_and_plain_ids_keep_their_name(student_id):
    stem = safe_stem(student_id)
    assert stem and len(stem) <= 80 and re.fullmatch(r"[A-Za-z0-9._@-]+", stem)
    assert stem[0] not in "._" and stem.upper().split(".")[0] not in _RESERVED
    plain = re.fullmatch(r"[A-Za-z0-9@-](?:[A-Za-z0-9._@-]*[A-Za-z0-9@-])?", student_id)
    if plain and len(student_id) <= 80 and student_id.upper().split(".")[0] not in _RESERVED:
        assert stem == student_id
    stems = unique_stems([student_id, student_id.upper(), student_id.lower()])
    assert len({s.lower() for s in stems}) == 3
