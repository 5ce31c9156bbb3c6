"""Printed names in the three notations and the names table, and how formulas print."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnexam.expr import HALF, ONE, Add, Const, Div, Func, Mul, Neg, Square, Sub, Sym
from nnexam.graph import build_graph
from nnexam.notation import labels
from nnexam.solve import solve
from nnexam.spec import Architecture, load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "problem_banks" / "examples"
TWO_TWO_TWO = Architecture((2, 2, 2), ("sigmoid", "sigmoid"), "half_sse", "shared", False)


def ascii_of(arch: Architecture, notation: str, names=None) -> dict[str, str]:
    return {k: v.ascii for k, v in labels(build_graph(arch), notation, names).items()}


def test_mazur_numbering_goes_neuron_by_neuron():
    """seeds/003: w1 = i1->h1, w2 = i2->h1, w3 = i1->h2, w4 = i2->h2, then w5 = h1->o1 ... w8 = h2->o2."""
    a = ascii_of(TWO_TWO_TWO, "mazur")
    assert [a[f"w{l}_{j}_{k}"] for l in (1, 2) for j in (1, 2) for k in (1, 2)] == [f"w{n}" for n in range(1, 9)]
    assert (a["x_1"], a["z1_1"], a["a1_1"], a["z2_2"], a["a2_2"]) == ("i1", "net_h1", "out_h1", "net_o2", "out_o2")
    assert (a["t_1"], a["E_1"], a["E"], a["b1"], a["b2"]) == ("target_o1", "E_o1", "E_total", "b1", "b2")
    assert (a["dE_dw2_1_1"], a["w2_1_1_new"], a["delta2_1"], a["dE_da1_1"]) == ("dE/dw5", "w5_new", "delta_o1", "dE/dout_h1")
    assert a["da_dz2_1"] == "dout_o1/dnet_o1" and a["E_new"] == "E_total_new"
    text = labels(build_graph(TWO_TWO_TWO), "mazur")
    assert text["dE_dw2_1_1"].text == "∂E_total/∂w5" and text["w2_1_1_new"].text == "w′5" and text["eta"].text == "η"
    assert text["delta2_1"].text == "δ_o1" and text["w2_1_1_new"].latex == "w'_{5}"


def test_bits_numbering_goes_input_by_input_in_the_first_layer_only():
    """seeds/001: w2 = i1->h2 and w3 = i2->h1 (sum_h1 = i1*w1 + i2*w3), but w6 = h2->o1 (sum_o1 = h1*w5 + h2*w6)."""
    a = ascii_of(TWO_TWO_TWO, "bits")
    assert (a["w1_1_1"], a["w1_2_1"], a["w1_1_2"], a["w1_2_2"]) == ("w1", "w2", "w3", "w4")
    assert (a["w2_1_1"], a["w2_1_2"], a["w2_2_1"], a["w2_2_2"]) == ("w5", "w6", "w7", "w8")
    assert (a["z1_1"], a["a1_1"], a["t_2"], a["E_2"], a["E"]) == ("sum_h1", "output_h1", "target_2", "E2", "E_total")
    assert labels(build_graph(TWO_TWO_TWO), "bits")["w1_2_1_new"].text == "new_w2"


def test_bits_labels_match_what_the_document_computes():
    """The document's new_w2 = 0.19919 and new_w3 = 0.29667 under its own names (truncated)."""
    network = load_spec(EXAMPLES / "bits_2-2-2.toml")
    key = solve(network)
    by_label = {lab.ascii: key.value(name) for name, lab in labels(key.graph, "bits").items() if name in key.graph}
    assert int(by_label["w2_new"] * 1e5) == 19919 and int(by_label["w3_new"] * 1e5) == 29667
    assert by_label["sum_h1"] == pytest.approx(0.1 * 0.1 + 0.5 * 0.3 + 0.25)  # i1*w1 + i2*w3 + b1


def test_matrix_notation_as_in_seed_002():
    arch = Architecture((3, 2, 1), ("relu", "sigmoid"), "half_sse", "per_neuron", True)
    a = ascii_of(arch, "matrix")
    assert (a["w1_1_1"], a["w1_2_3"], a["w2_1_1"], a["w2_1_2"]) == ("w000", "w012", "w100", "w101")
    assert (a["b1_1"], a["b1_2"], a["b2_1"], a["x_1"], a["x_3"], a["t_1"]) == ("b00", "b01", "b10", "x0", "x2", "y")
    assert (a["z1_1"], a["a1_2"], a["z2_1"], a["a2_1"], a["E"]) == ("h_pre0", "h1", "o_pre", "o", "E")
    assert (a["eta"], a["w2_1_1_new"], a["delta1_1"]) == ("mu", "w100_new", "delta_h0")
    lab = labels(build_graph(arch), "matrix")
    assert lab["eta"].text == "μ" and lab["w2_1_1_new"].text == "w*100" and lab["z1_1"].latex == "h_{\\text{pre},0}"


def test_matrix_notation_with_several_hidden_layers_numbers_each_layer():
    arch = Architecture((2, 3, 2, 2), ("tanh", "relu", "softmax"), "cross_entropy", "per_neuron")
    a = ascii_of(arch, "matrix")
    assert (a["z1_1"], a["a1_3"], a["z2_2"], a["a2_1"], a["a3_2"], a["t_2"]) == ("h0_pre0", "h02", "h1_pre1", "h10", "o1", "y1")
    assert (a["w1_3_2"], a["w2_1_3"], a["w3_2_1"], a["b2_2"]) == ("w021", "w102", "w210", "b11")


def test_mazur_with_several_hidden_layers_keeps_counting_weights():
    arch = Architecture((2, 3, 2, 2), ("tanh", "relu", "sigmoid"), "half_sse", "shared")
    a = ascii_of(arch, "mazur")
    assert (a["w1_3_2"], a["w2_1_1"], a["w3_2_2"]) == ("w6", "w7", "w16")
    assert (a["a1_1"], a["a2_2"], a["a3_1"], a["b3"]) == ("out_h1_1", "out_h2_2", "out_o1", "b3")


def test_names_table_overrides_printed_names():
    names = {"w2": "w1_2_1", "w3": "w1_1_2"}  # a course that numbers the first layer input by input
    a = ascii_of(TWO_TWO_TWO, "mazur", names)
    assert (a["w1_2_1"], a["w1_1_2"], a["w1_1_1"]) == ("w2", "w3", "w1")
    assert (a["dE_dw1_2_1"], a["w1_2_1_new"]) == ("dE/dw2", "w2_new")
    lab = labels(build_graph(TWO_TWO_TWO), "mazur", {"hid1": "a1_1", "y": "t_1", "w_a_b": "w2_1_1"})
    assert (lab["a1_1"].ascii, lab["z1_1"].ascii, lab["delta1_1"].ascii, lab["dE_da1_1"].ascii) == ("hid1", "net_hid1", "delta_hid1", "dE/dhid1")
    assert lab["t_1"].ascii == "y" and lab["w2_1_1"].latex == "w_{a,b}" and lab["w2_1_1_new"].latex == "w'_{a,b}"


def test_names_table_in_a_spec_reaches_the_solver_output(runner, tmp_path):
    from nnexam.cli import cli

    path = tmp_path / "renamed.toml"
    path.write_text((EXAMPLES / "mazur_2-2-2.toml").read_text() + '\nnames = { w2 = "w1_2_1", w3 = "w1_1_2" }\n')
    result = runner.invoke(cli, ["solve", str(path), "--format", "json"])
    assert result.exit_code == 0
    import json

    doc = json.loads(result.stdout)
    assert doc["labels"]["w1_2_1_new"] == "w2_new" and doc["labels"]["dE_dw1_1_2"] == "dE/dw3"


@st.composite
def architectures(draw) -> Architecture:
    depth = draw(st.integers(1, 4))
    layers = tuple(draw(st.integers(1, 8)) for _ in range(depth + 1))
    last = "softmax" if layers[-1] > 1 and draw(st.booleans()) else "sigmoid"
    acts = tuple(draw(st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "linear"])) for _ in range(depth - 1)) + (last,)
    loss = draw(st.sampled_from(["half_sse", "mse", "cross_entropy"]))
    return Architecture(layers, acts, loss, draw(st.sampled_from(["per_neuron", "shared", "none"])), draw(st.booleans()))


def balanced(latex: str) -> bool:
    depth = 0
    for ch in latex.replace("\\{", "").replace("\\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and latex.count("\\left(") == latex.count("\\right)")


@settings(max_examples=60, deadline=None)
@given(architectures(), st.sampled_from(["mazur", "bits", "matrix"]))
def test_every_value_has_its_own_printed_name_in_every_notation(arch, notation):
    graph = build_graph(arch)
    lab = labels(graph, notation)
    names = list(arch.given_names()) + list(graph.names)
    assert set(names) <= set(lab)
    for kind in ("ascii", "text", "latex"):
        printed = [getattr(lab[n], kind) for n in names]
        assert len(set(printed)) == len(printed), kind
    assert all(balanced(lab[n].latex) for n in names)
    # CSV columns and manifest labels: no spaces, commas or quotes.
    assert all(re.fullmatch(r"[A-Za-z0-9_/'*]+", lab[n].ascii) for n in names)


# --- how formulas print -----------------------------------------------------------------------


def render(expr, values: dict[str, float], style: str = "text") -> str:
    return expr.render(style, lambda n: f"{values[n]:g}", numeric=True)


@pytest.mark.parametrize("expr, values, text", [
    # a + (-1.2 · 0.2) prints as a subtraction, a negative later factor gets parentheses
    (Add((Mul((Sym("w"), Sym("x"))), Mul((Sym("v"), Sym("y"))))), {"w": 0.2, "x": 0.9, "v": -1.2, "y": 0.2}, "0.2 · 0.9 - 1.2 · 0.2"),
    (Mul((Sym("w"), Sym("x"))), {"w": -0.3, "x": -0.5}, "-0.3 · (-0.5)"),
    (Sub(Sym("w"), Mul((Sym("eta"), Sym("g")))), {"w": 0.5, "eta": 0.5, "g": -0.0226}, "0.5 - 0.5 · (-0.0226)"),
    (Sub(Sym("a"), Sym("t")), {"a": 0.5, "t": -0.3}, "0.5 + 0.3"),
    (Sub(ONE, Square(Sym("a"))), {"a": -0.5}, "1 - (-0.5)²"),
    (Mul((HALF, Square(Sub(Sym("t"), Sym("a"))))), {"t": 0.0, "a": 0.526}, "½ · (0 - 0.526)²"),
    (Func("sigmoid", Sym("z")), {"z": -0.34}, "1/(1 + e^(0.34))"),
    (Func("sigmoid", Sym("z")), {"z": 0.3775}, "1/(1 + e^(-0.3775))"),
    (Func("sigmoid_wrong_sign", Sym("z")), {"z": -0.34}, "1/(1 + e^(-0.34))"),
    (Neg(Mul((Sym("t"), Func("ln", Sym("a"))))), {"t": 1.0, "a": 0.436}, "-1 · ln(0.436)"),
    (Neg(Sym("a")), {"a": -0.2}, "-(-0.2)"),
    (Div(Sub(ONE, Sym("t")), Sub(ONE, Sym("a"))), {"t": 0.2, "a": 0.4}, "(1 - 0.2)/(1 - 0.4)"),
    (Mul((Sym("a"), Sub(Sym("d"), Add((Mul((Sym("d"), Sym("a"))), Mul((Sym("e"), Sym("b")))))))),
     {"a": 0.4, "d": 0.2, "b": 0.6, "e": -0.3}, "0.4 · (0.2 - (0.2 · 0.4 - 0.3 · 0.6))"),
])
def test_numbers_substituted_print_with_the_right_signs_and_parentheses(expr, values, text):
    assert render(expr, values) == text
    # The printed text means the same number as the formula computes.
    printed = text.replace("·", "*").replace("½", "0.5").replace("²", "**2").replace("ln", "np.log").replace("e^", "np.exp")
    env = {k: np.array([v]) for k, v in values.items()}
    assert eval(printed) == pytest.approx(float(expr.evaluate(env)[0] if np.ndim(expr.evaluate(env)) else expr.evaluate(env)))


def test_latex_rendering_is_balanced_and_uses_frac_and_cdot():
    expr = Mul((Const(0.5, "½", "\\frac{1}{2}"), Square(Sub(Sym("t"), Sym("a")))))
    assert expr.render("latex", lambda n: n) == "\\frac{1}{2} \\cdot \\left(t - a\\right)^{2}"
    sig = Func("sigmoid", Sym("z"))
    assert sig.render("latex", lambda n: "-0.34", numeric=True) == "\\frac{1}{1 + e^{0.34}}"
    assert sig.render("latex", lambda n: "net_{h1}") == "\\sigma\\left(net_{h1}\\right)"
