"""The common mistakes: each rule changes exactly the steps it should, to values computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnexam.graph import build_graph
from nnexam.mistakes import BY_NAME, MISTAKES, applicable, rewrites
from nnexam.solve import evaluate, solve
from nnexam.spec import Architecture, load_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "problem_banks" / "examples"
MAZUR = load_spec(EXAMPLES / "mazur_2-2-2.toml")

# Mazur's numbers as matrices (row = receiving neuron).
X = np.array([0.05, 0.10])
T = np.array([0.01, 0.99])
W1 = np.array([[0.15, 0.20], [0.25, 0.30]])
W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
B1, B2, ETA = 0.35, 0.60, 0.5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def by_hand(act=sigmoid, error_sign=1.0, derivative=True, backprop_weights=None, drop_last_path=False, step_sign=-1.0):
    """Mazur's exercise worked the way a student with one misconception works it."""
    h = act(W1 @ X + B1)
    o = act(W2 @ h + B2)
    d_o = error_sign * (o - T) * (o * (1 - o) if derivative else 1.0)
    Wb = W2 if backprop_weights is None else backprop_weights
    paths = Wb.T * d_o  # paths[j, m] = w(h_j -> o_m) · δ_o_m
    dE_dh = paths[:, :-1].sum(axis=1) if drop_last_path else paths.sum(axis=1)
    d_h = dE_dh * (h * (1 - h) if derivative else 1.0)
    g2, g1 = np.outer(d_o, h), np.outer(d_h, X)
    W1n, W2n = W1 + step_sign * ETA * g1, W2 + step_sign * ETA * g2
    o_new = act(W2n @ act(W1n @ X + B1) + B2)
    return {"h": h, "o": o, "d_o": d_o, "dE_dh": dE_dh, "d_h": d_h, "g1": g1, "g2": g2,
            "W1n": W1n, "W2n": W2n, "E_new": 0.5 * ((T - o_new) ** 2).sum()}


def values_with(mistake: str) -> dict[str, np.ndarray]:
    graph = build_graph(MAZUR.arch)
    return evaluate(graph, MAZUR.givens(), BY_NAME[mistake])


def check(v, ref):
    for j in (1, 2):
        assert v[f"delta2_{j}"][0] == pytest.approx(ref["d_o"][j - 1], rel=1e-12)
        assert v[f"dE_da1_{j}"][0] == pytest.approx(ref["dE_dh"][j - 1], rel=1e-12)
        assert v[f"delta1_{j}"][0] == pytest.approx(ref["d_h"][j - 1], rel=1e-12)
        for k in (1, 2):
            assert v[f"dE_dw2_{j}_{k}"][0] == pytest.approx(ref["g2"][j - 1, k - 1], rel=1e-12)
            assert v[f"dE_dw1_{j}_{k}"][0] == pytest.approx(ref["g1"][j - 1, k - 1], rel=1e-12)
            assert v[f"w2_{j}_{k}_new"][0] == pytest.approx(ref["W2n"][j - 1, k - 1], rel=1e-12)
            assert v[f"w1_{j}_{k}_new"][0] == pytest.approx(ref["W1n"][j - 1, k - 1], rel=1e-12)
    assert v["E_new"][0] == pytest.approx(ref["E_new"], rel=1e-12)


def test_the_reference_itself_matches_the_solver():
    check(solve(MAZUR).values, by_hand())


REWRITTEN = {
    "error_sign": {"dE_da2_1", "dE_da2_2"},
    "no_activation_derivative": {"delta1_1", "delta1_2", "delta2_1", "delta2_2"},
    "updated_weights_backprop": {"dE_da1_1", "dE_da1_2"},
    "dropped_path": {"dE_da1_1", "dE_da1_2"},
    "plus_update": {f"w{l}_{j}_{k}_new" for l in (1, 2) for j in (1, 2) for k in (1, 2)},  # biases not updated
    "sigmoid_sign": {f"a{l}_{j}{s}" for l in (1, 2) for j in (1, 2) for s in ("", "_new")},
}


@pytest.mark.parametrize("mistake", sorted(REWRITTEN))
def test_each_mistake_rewrites_exactly_its_steps(mistake):
    assert set(rewrites(build_graph(MAZUR.arch), BY_NAME[mistake])) == REWRITTEN[mistake]


@pytest.mark.parametrize("mistake", sorted(REWRITTEN))
def test_steps_upstream_of_a_mistake_keep_their_right_values(mistake):
    graph = build_graph(MAZUR.arch)
    deps = graph.dependents()
    affected, todo = set(), list(REWRITTEN[mistake])
    while todo:
        name = todo.pop()
        if name not in affected:
            affected.add(name)
            todo += deps.get(name, ())
    right, wrong = solve(MAZUR).values, values_with(mistake)
    for name in graph.names:
        if name not in affected:
            assert wrong[name][0] == right[name][0], name


def test_plus_update():
    v = values_with("plus_update")
    assert v["w2_1_1_new"][0] == pytest.approx(0.4 + 0.5 * 0.08216704, abs=1e-8)  # w5 = 0.4 + η ∂E/∂w5
    check(v, by_hand(step_sign=+1.0))
    assert v["E_new"][0] > solve(MAZUR).value("E")  # stepping uphill raises the loss


def test_error_sign_flips_every_gradient():
    v = values_with("error_sign")
    assert v["dE_da2_1"][0] == pytest.approx(0.01 - 0.75136507, abs=1e-8)  # t - a
    check(v, by_hand(error_sign=-1.0))


def test_no_activation_derivative():
    v = values_with("no_activation_derivative")
    assert v["delta2_1"][0] == pytest.approx(0.74136507, abs=1e-8)  # δ = a - t, no a(1 - a)
    check(v, by_hand(derivative=False))


def test_backprop_through_updated_weights():
    right = by_hand()
    v = values_with("updated_weights_backprop")
    check(v, by_hand(backprop_weights=right["W2n"]))
    # ∂E/∂out_h1 = w5' δ_o1 + w7' δ_o2 with w5' = 0.35891648, w7' = 0.51130127
    assert v["dE_da1_1"][0] == pytest.approx(0.35891648 * 0.13849856 + 0.51130127 * -0.03809824, abs=1e-8)


def test_dropped_path():
    v = values_with("dropped_path")
    check(v, by_hand(drop_last_path=True))
    assert v["dE_da1_1"][0] == pytest.approx(0.4 * 0.13849856, abs=1e-8)  # only the path through o1


def test_sigmoid_sign():
    v = values_with("sigmoid_sign")
    check(v, by_hand(act=lambda z: 1 / (1 + np.exp(z))))
    assert v["a1_1"][0] == pytest.approx(1 / (1 + np.exp(0.3775)), rel=1e-14)


def test_mistakes_are_named_once_and_explained():
    assert len({m.name for m in MISTAKES}) == len(MISTAKES) == len(BY_NAME)
    assert all(m.title and m.explanation.endswith(".") for m in MISTAKES)
    assert {m.name for m in applicable(build_graph(MAZUR.arch))} == set(REWRITTEN)


@pytest.mark.parametrize("arch, missing", [
    # One weight layer: no hidden neuron to back-propagate into.
    (Architecture((2, 2), ("sigmoid",), "half_sse"), {"updated_weights_backprop", "dropped_path"}),
    # One output: a hidden neuron has a single path, nothing to drop.
    (Architecture((3, 2, 1), ("relu", "sigmoid"), "half_sse"), {"dropped_path"}),
    # No sigmoid and no activation derivative step anywhere.
    (Architecture((2, 2, 2), ("linear", "linear"), "half_sse"), {"sigmoid_sign", "no_activation_derivative"}),
])
def test_applicable_leaves_out_mistakes_a_network_cannot_make(arch, missing):
    names = {m.name for m in applicable(build_graph(arch))}
    assert names == {m.name for m in MISTAKES} - missing


def test_error_sign_with_softmax_and_cross_entropy_rewrites_the_delta():
    arch = Architecture((2, 2, 3), ("tanh", "softmax"), "cross_entropy")
    graph = build_graph(arch)
    wrong = rewrites(graph, BY_NAME["error_sign"])
    assert set(wrong) == {"delta2_1", "delta2_2", "delta2_3"}
    env = {"a2_1": np.array([0.7]), "t_1": np.array([1.0])}
    assert wrong["delta2_1"].evaluate(env)[0] == pytest.approx(0.3)  # t - a instead of a - t
