"""`nnexam check` on the shared seed documents' printed values: real mistakes flagged, rounding passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexam.cli import cli
from nnexam.grade import check_key
from nnexam.spec import load_spec
from nnexam.table import read_table

EXAMPLES = Path(__file__).resolve().parents[1] / "problem_banks" / "examples"

# Every value the seed documents print, under the labels `nnexam solve` gives them.
SEED_003 = """net_h1,out_h1,out_h2,net_o1,out_o1,out_o2,E_o1,E_o2,E_total,dE/dout_o1,dout_o1/dnet_o1,dE/dw5,w5_new,dE/dw1,w1_new,w2_new,w3_new,w4_new,w6_new,w7_new,w8_new,E_total_new
0.3775,0.5933,0.5969,1.1059,0.7514,0.7729,0.2748,0.0236,0.2984,0.7414,0.1868,0.0822,0.3589,0.0004,0.1498,0.1996,0.2498,0.2995,0.4087,0.5113,0.5614,0.2910
"""
SEED_001 = """sum_h1,output_h1,sum_h2,output_h2,sum_o1,output_o1,sum_o2,output_o2,E1,E2,E_total,dE/doutput_o1,doutput_o1/dsum_o1,dE/dw5,w5_new,dE/dw6,w6_new,dE/doutput_o2,doutput_o2/dsum_o2,dE/dw7,w7_new,dE/dw8,w8_new,doutput_h1/dsum_h1,dE/dw1,w1_new,w2_new,w3_new,w4_new
0.41,0.60108,0.47,0.61538,1.01977,0.73492,1.26306,0.77955,0.23456,0.01452,0.24908,0.68492,0.19480,0.08020,0.45187,0.08211,0.55073,-0.17044,0.17184,-0.01760,0.71056,-0.01802,0.81081,0.23978,0.00110,0.09933,0.19919,0.29667,0.39597
"""
# seeds/002 also prints the output weight matrix, [0.8, -1.1], then computes with w100 = 0.7.
SEED_002 = """w100,h_pre0,h_pre1,h0,h1,o_pre,o,E,dE/do,do/do_pre,dE/dw100,w100_new,dE/dw101,w101_new,dE/db10,b10_new,dE/dh0,dh0/dh_pre0,dE/dw000,w000_new,dE/dh1,dE/dw001,dE/dw002,dE/dw010,dE/dw011,dE/dw012,dE/db00,dE/db01,w001_new,w002_new,w010_new,w011_new,w012_new,b00_new,b01_new,h_pre0_new,h_pre1_new,h0_new,h1_new,o_pre_new,o_new,E_new
0.8,0.29,-0.34,0.29,0,0.103,0.526,0.138,0.526,0.249,0.038,0.696,0,-1.1,0.131,-0.113,0.092,1,0.082,0.191,-0.144,0.018,0.046,0,0,0,0.092,0,-1.202,0.895,-0.5,-1.2,0.3,-0.109,0.2,0.27,-0.34,0.27,0,0.075,0.518,0.134
"""


def check(spec: Path, text: str):
    return check_key(load_spec(spec), read_table(text.encode(), "key.csv"))


@pytest.mark.parametrize("spec,text", [("mazur_2-2-2", SEED_003), ("bits_2-2-2", SEED_001)])
def test_seed_values_differing_only_in_the_last_printed_digit_pass(spec, text):
    result = check(EXAMPLES / f"{spec}.toml", text)
    assert len(result) == len(text.splitlines()[0].split(","))
    assert [c.label for c in result if not c.ok] == []


def test_seed_002_flags_its_printed_weight_matrix():
    result = check(EXAMPLES / "esuli_3-2-1.toml", SEED_002)
    assert [(c.label, c.value, c.expected) for c in result if not c.ok] == [("w100", 0.8, 0.7)]
    by = {c.label: c for c in result}
    # dE/dw000 = 0.092 * 0.9 = 0.0828 printed 0.082 (exact 0.08258): a truncation, accepted.
    assert by["dE/dw000"].ok and by["dE/dw000"].decimals == 3
    assert by["o_new"].ok and by["E_new"].ok  # 0.5188 and 0.1346 truncated


def test_computing_from_the_printed_matrix_shows_which_values_used_0_7(tmp_path):
    # With the matrix the document prints (w100 = 0.8), o_pre = 0.8 * 0.29 - 0.1 = 0.132, not 0.103.
    spec = tmp_path / "esuli_printed.toml"
    spec.write_text((EXAMPLES / "esuli_3-2-1.toml").read_text().replace("[[0.7, -1.1]]", "[[0.8, -1.1]]"))
    result = {c.label: c for c in check(spec, SEED_002)}
    assert not result["o_pre"].ok and result["o_pre"].expected == pytest.approx(0.132)
    assert not result["w100_new"].ok  # 0.7 - 0.1 * 0.038 = 0.696: computed from 0.7
    assert result["o"].follows and result["E"].follows  # right for the document's own o_pre
    assert result["h_pre0"].ok and result["w100"].ok


def test_a_value_off_by_more_than_its_last_digit_is_wrong_and_mistakes_are_named():
    text = SEED_003.replace(",0.7414,", ",-0.7414,").replace("0.3775,0.5933", "0.3775,0.5935")
    result = {c.label: c for c in check(EXAMPLES / "mazur_2-2-2.toml", text)}
    assert not result["out_h1"].ok  # 0.5935 vs 0.59327
    assert not result["dE/dout_o1"].ok and result["dE/dout_o1"].mistake.name == "error_sign"
    assert result["net_o1"].ok


def test_check_cli_exit_codes_and_output(tmp_path):
    runner = CliRunner()
    good = tmp_path / "good.csv"
    good.write_text(SEED_003)
    r = runner.invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(good)])
    assert r.exit_code == 0 and "22 right, 0 wrong" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text(SEED_002)
    r = runner.invoke(cli, ["check", str(EXAMPLES / "esuli_3-2-1.toml"), str(bad)])
    assert r.exit_code == 1 and "w100" in r.output and "expected 0.70" in r.output
    long = tmp_path / "long.csv"
    long.write_text("name;value\nout_h1;0,5933\ndE_dw2_1_1;0,0822\nE_total;0.2984\n")
    r = runner.invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(long), "--all"])
    assert r.exit_code == 0 and r.output.count("ok") == 3
    for content, message in [("foo\n1\n", "column 'foo'"), ("out_h1\nabc\n", "not a number"), ("out_h1\n1\n2\n", "one row")]:
        bad.write_text(content)
        r = runner.invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(bad)])
        assert r.exit_code == 2 and message in r.stderr, r.stderr


# --- issue 10: as strict as a careful second marker ---------------------------------------------


def test_printed_with_the_document_matrix_17_values_are_wrong_each_explained(tmp_path):
    spec = tmp_path / "esuli_printed.toml"
    spec.write_text((EXAMPLES / "esuli_3-2-1.toml").read_text().replace("[[0.7, -1.1]]", "[[0.8, -1.1]]"))
    result = {c.label: c for c in check(spec, SEED_002)}
    wrong = [c for c in result.values() if not c.ok]
    assert len(wrong) == 17
    assert result["o"].follows_from == ("o_pre = 0.103",)  # 1/(1 + e^-0.103) = 0.5257: the document's own o_pre
    assert result["E"].follows_from == ("o = 0.526",)
    # 0.092 = 0.7 · 0.131 (the document's real weight) is also what its printed w100* = 0.696 gives with
    # the digits behind its printed 0.526 and 0.249 kept: 0.697 · 0.1318 = 0.0918.
    assert not result["dE/dh0"].ok and result["dE/dh0"].mistake.name == "updated_weights_backprop"
    r = CliRunner().invoke(cli, ["check", str(spec), str(_write(tmp_path, SEED_002))])
    assert "o                   0.526  WRONG    expected 0.53295; follows from your earlier value o_pre = 0.103" in r.output


def _write(tmp_path, text, name="key.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_one_unit_off_in_the_last_digit_is_flagged_and_said(tmp_path):
    # net_h1 = 0.05 · 0.15 + 0.10 · 0.20 + 0.35 = 0.3775 exactly: 0.3774 and 0.3776 are wrong.
    text = "name,value\nnet_h1,0.3774\nnet_h2,0.3926\nout_h1,0.5933\nout_o1,0.75136\nE_total,0.30\n"
    result = {c.label: c for c in check(EXAMPLES / "mazur_2-2-2.toml", text)}
    assert not result["net_h1"].ok and result["net_h1"].off_by == 1
    assert not result["net_h2"].ok and result["net_h2"].off_by == 1  # 0.3925 exactly
    assert result["out_h1"].ok and result["out_o1"].ok  # 0.59327 rounded; 0.751365 truncated
    assert result["E_total"].ok and result["E_total"].decimals == 2  # 0.298: "0.30" has two decimals
    r = CliRunner().invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(_write(tmp_path, text))])
    assert r.exit_code == 1
    assert "net_h1         0.3774  WRONG    expected 0.377500; 1 in the last digit off" in r.output
    assert "3 right, 2 wrong" in r.output


def test_a_single_substitution_is_named_in_check(tmp_path):
    text = "name,value\nout_o1,0.7514\ndE/dw6,0.0822\n"  # δ_o1 · out_h1 = 0.08217 where δ_o1 · out_h2 belongs
    r = CliRunner().invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(_write(tmp_path, text))])
    assert "likely cause: ∂E_total/∂w6 used out_h1 where out_h2 belongs" in r.output


def test_a_decimal_comma_in_a_comma_separated_key_is_unreadable_not_zero(tmp_path):
    for text in ("out_h1,E_total\n0,5933,0,2984\n", "name,value\nout_h1,0,5325\n"):
        r = CliRunner().invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(_write(tmp_path, text))])
        assert r.exit_code == 2 and "a decimal comma in a comma-separated file?" in r.stderr, r.output
    # Semicolon-separated, the decimal comma reads as grade reads it.
    r = CliRunner().invoke(cli, ["check", str(EXAMPLES / "mazur_2-2-2.toml"), str(_write(tmp_path, "out_h1;E_total\n0,5933;0,2984\n"))])
    assert r.exit_code == 0 and "2 right, 0 wrong" in r.output


def test_grade_long_layout_reads_a_split_decimal_comma_as_unreadable_not_zero():
    from test_grade_support import make_manifest

    from nnexam.grade import grade, parse_submissions

    m = make_manifest(students=1)
    sid = m.students[0].id
    text = f"student_id,question,answer\n{sid},out_h1,0,5933\n{sid},out_h2,0.5969\n"
    subs = parse_submissions(read_table(text.encode(), "long.csv"), m)
    g = grade(m, subs)
    rec = {a.label: a for a in g.record(0).answers}
    assert rec["out_h1"].verdict == "unreadable" and rec["out_h1"].text == "0,5933"
    assert g.status[0] == "unreadable cells" and "decimal comma" in " ".join(g.notes[0])
