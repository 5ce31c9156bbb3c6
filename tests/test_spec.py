"""The network spec: what it accepts, its defaults, and one clear line for every mistake in it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.spec import Architecture, load_spec, network_from_values, parse_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "problem_banks" / "examples"
MAZUR = (EXAMPLES / "mazur_2-2-2.toml").read_text()

MINIMAL = """
layers = [2, 2, 2]
activations = ["sigmoid", "sigmoid"]
loss = "half_sse"
learning_rate = 0.5
weights = [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]
biases = [[0.35, 0.35], [0.6, 0.6]]
inputs = [0.05, 0.1]
targets = [0.01, 0.99]
"""


def test_the_examples_load_with_their_declared_settings():
    mazur = load_spec(EXAMPLES / "mazur_2-2-2.toml")
    assert mazur.arch == Architecture((2, 2, 2), ("sigmoid", "sigmoid"), "half_sse", "shared", False, 0.01)
    assert mazur.weights[0] == ((0.15, 0.2), (0.25, 0.3)) and mazur.biases == (0.35, 0.6)
    assert (mazur.inputs, mazur.targets, mazur.learning_rate, mazur.notation) == ((0.05, 0.1), (0.01, 0.99), 0.5, "mazur")
    esuli = load_spec(EXAMPLES / "esuli_3-2-1.toml")
    assert esuli.arch.activations == ("relu", "sigmoid") and esuli.biases == ((-0.1, 0.2), (-0.1,))
    assert load_spec(EXAMPLES / "bits_2-2-2.toml").notation == "bits"


def test_defaults(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_text(MINIMAL)
    network = load_spec(path)
    assert network.arch.bias == "per_neuron" and network.arch.update_biases is True
    assert network.arch.leaky_slope == 0.01 and network.notation == "mazur" and network.names == ()


def test_givens_use_the_canonical_names():
    givens = load_spec(EXAMPLES / "mazur_2-2-2.toml").givens()
    # Row = receiving neuron, column = sending neuron: w1_1_2 is i2 -> h1.
    assert givens["w1_1_2"][0] == 0.2 and givens["w1_2_1"][0] == 0.25 and givens["w2_2_1"][0] == 0.5
    assert givens["b1"][0] == 0.35 and givens["b2"][0] == 0.6 and givens["eta"][0] == 0.5
    assert givens["x_2"][0] == 0.1 and givens["t_1"][0] == 0.01
    assert all(v.shape == (1,) for v in givens.values())


@pytest.mark.parametrize("name", ["mazur_2-2-2.toml", "bits_2-2-2.toml", "esuli_3-2-1.toml"])
def test_to_dict_round_trips(name):
    network = load_spec(EXAMPLES / name)
    assert parse_spec(network.to_dict(), "again") == network
    assert parse_spec(json.loads(json.dumps(network.to_dict())), "json") == network


def test_json_specs_read_like_toml(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(tomllib.loads(MAZUR)))
    assert load_spec(path) == load_spec(EXAMPLES / "mazur_2-2-2.toml")


def test_bias_none_needs_no_biases_and_leaky_slope_is_read(tmp_path):
    spec = tomllib.loads(MINIMAL)
    del spec["biases"]
    network = parse_spec(dict(spec, bias="none", activations=["leaky_relu", "sigmoid"], leaky_slope=0.2), "x")
    assert network.biases == () and network.arch.leaky_slope == 0.2


# --- every mistake: one line naming the file and the key, exit 2 --------------------------------


def replace(old: str, new: str, text: str = MINIMAL) -> str:
    assert old in text
    return text.replace(old, new)


SPEC_ERRORS = {
    "wrong matrix shape (rows)": (replace("[[0.15, 0.2], [0.25, 0.3]]", "[[0.15, 0.2], [0.25, 0.3], [0.1, 0.1]]"),
                                  "key 'weights[0]': expected a 2x2 matrix (row = receiving neuron"),
    "wrong matrix shape (columns)": (replace("[0.25, 0.3]]", "[0.25, 0.3, 0.1]]"), "key 'weights[0][1]': expected 2 numbers"),
    "one matrix missing": (replace(", [[0.4, 0.45], [0.5, 0.55]]]", "]"), "key 'weights': expected 2 matrices"),
    "unknown activation": (replace('["sigmoid", "sigmoid"]', '["sigmoidal", "sigmoid"]'),
                           "key 'activations[0]': expected one of sigmoid, tanh"),
    "softmax in a hidden layer": (replace('["sigmoid", "sigmoid"]', '["softmax", "sigmoid"]'),
                                  "key 'activations[0]': expected softmax only in the output layer"),
    "softmax on one output": ('layers = [2, 1]\nactivations = ["softmax"]\nloss = "half_sse"\n',
                              "key 'activations': expected softmax on an output layer of at least 2 neurons"),
    "one activation too few": (replace('["sigmoid", "sigmoid"]', '["sigmoid"]'), "key 'activations': expected a list of 2"),
    "bce target outside [0, 1]": (replace("half_sse", "bce", replace("[0.01, 0.99]", "[0.01, 1.5]")),
                                  "key 'targets[1]': expected a target in [0, 1] for loss 'bce', got 1.5"),
    "bce on tanh outputs": (replace('"sigmoid"]', '"tanh"]', replace("half_sse", "bce")),
                            "key 'activations': expected sigmoid output activation for loss 'bce'"),
    "cross_entropy on relu outputs": (replace('"sigmoid"]', '"relu"]', replace("half_sse", "cross_entropy")),
                                      "key 'activations': expected softmax or sigmoid output activation"),
    "softmax targets not summing to 1": (replace('"sigmoid"]', '"softmax"]', replace("half_sse", "cross_entropy", replace("[0.01, 0.99]", "[0.5, 0.6]"))),
                                         "key 'targets': expected targets summing to 1"),
    "unknown loss": (replace("half_sse", "hinge"), "key 'loss': expected one of half_sse, mse, bce, cross_entropy"),
    "missing key": (replace("learning_rate = 0.5\n", ""), "missing key 'learning_rate'"),
    "missing biases": (replace("biases = [[0.35, 0.35], [0.6, 0.6]]\n", ""), "missing key 'biases'"),
    "biases with bias none": ('bias = "none"\n' + MINIMAL, "key 'biases': expected no biases when bias = \"none\""),
    "shared biases as lists": ('bias = "shared"\n' + MINIMAL, "key 'biases[0]': expected a number, got [0.35, 0.35]"),
    "non-number": (replace("learning_rate = 0.5", 'learning_rate = "fast"'), "key 'learning_rate': expected a number, got 'fast'"),
    "non-number in a list": (replace("[0.05, 0.1]", '[0.05, "0.1"]'), "key 'inputs[1]': expected a number"),
    "boolean as number": (replace("[0.05, 0.1]", "[0.05, true]"), "key 'inputs[1]': expected a number"),
    "NaN": (replace("[0.05, 0.1]", "[nan, 0.1]"), "key 'inputs[0]': expected a finite number, got nan"),
    "infinity": (replace("[0.15, 0.2]", "[inf, 0.2]"), "key 'weights[0][0][0]': expected a finite number"),
    "negative learning rate": (replace("learning_rate = 0.5", "learning_rate = -0.5"), "key 'learning_rate': expected a positive number"),
    "too wide": (replace("[2, 2, 2]", "[2, 9, 2]"), "key 'layers[1]': expected a whole number from 1 to 8"),
    "no weight layer": (replace("[2, 2, 2]", "[2]"), "key 'layers': expected a list of at least 2 layer sizes"),
    "width not a whole number": (replace("[2, 2, 2]", "[2, 2.0, 2]"), "key 'layers[1]': expected a whole number"),
    "leaky slope out of range": ("leaky_slope = 2\n" + MINIMAL, "key 'leaky_slope': expected a number in [0.0, 1.0]"),
    "unknown bias mode": ('bias = "each"\n' + MINIMAL, "key 'bias': expected one of per_neuron, shared, none"),
    "update_biases not a boolean": ('update_biases = "no"\n' + MINIMAL, "key 'update_biases': expected true or false"),
    "unknown notation": ('notation = "greek"\n' + MINIMAL, "key 'notation': expected one of mazur, bits, matrix"),
    "unknown key": ("learning_rat = 0.5\n" + MINIMAL, "unknown key 'learning_rat'"),
    "names not a table": ('names = "w2"\n' + MINIMAL, "key 'names': expected a table"),
    "names to an unknown value": ('names = { w2 = "w9_9_9" }\n' + MINIMAL, "key 'names.w2': expected the canonical name"),
    "names twice for one value": ('names = { a = "w1_1_1", b = "w1_1_1" }\n' + MINIMAL, "key 'names.b': w1_1_1 is already named 'a'"),
    "names with a bad printed name": ('names = { "w 2" = "w1_1_1" }\n' + MINIMAL, "key 'names.w 2': expected a printed name"),
    "names colliding with a printed name": ('names = { w2 = "w1_2_1" }\n' + MINIMAL,
                                            "key 'names.w2': 'w2' would name both w1_1_2 and w1_2_1"),
    "a key holding a newline": ('names = { "a\\nb" = "w1_1_1" }\n' + MINIMAL, "key 'names.a\\nb': expected a printed name"),
    "an unknown key holding a newline": ('"x\\ny" = 1\n' + MINIMAL, "unknown key 'x\\ny'"),
    "one matrix row (singular)": (replace("[[0.4, 0.45], [0.5, 0.55]]", "[[0.4, 0.45]]"),
                                  "key 'weights[1]': expected a 2x2 matrix (row = receiving neuron, column = sending neuron), got 1 row"),
    "values overflowing float64": (replace('["sigmoid", "sigmoid"]', '["linear", "linear"]',
                                           replace("[[0.4, 0.45], [0.5, 0.55]]", "[[1e200, 1e200], [1e200, 1e200]]")),
                                   "step 'E_1' is inf: the given values are too large for float64"),
    "not TOML": ("layers = [2, 2\n", "not valid TOML"),
    "TOML nested too deeply": ("a = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML"),
    "empty file": ("  \n\n", "the spec file is empty"),
}


@pytest.mark.parametrize("case", sorted(SPEC_ERRORS))
def test_spec_mistakes_give_one_line_naming_file_and_key(runner, tmp_path, case):
    text, expected = SPEC_ERRORS[case]
    path = tmp_path / "broken.toml"
    path.write_text(text)
    result = runner.invoke(cli, ["solve", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"nnexam: error: {path}: ")
    assert expected in result.stderr


@pytest.mark.parametrize("content, suffix, expected", [
    (None, ".toml", "no such spec file"),
    (b"\xff\xfe\x00layers", ".toml", "not a text file (expected UTF-8 TOML)"),
    (b"[1, 2, 3]", ".json", "expected a JSON object at the top level"),
    (b'{"layers": [2, 2,', ".json", "not valid JSON (line 1"),
    (b'{"a": ' + b"1" * 5000 + b"}", ".json", "not valid JSON"),
    (b'{"a": ' + b"[" * 100000 + b"]" * 100000 + b"}", ".json", "not valid JSON"),
    (json.dumps(dict(tomllib.loads(MINIMAL), inputs=[None, 0.1])).encode(), ".json", "key 'inputs[0]': expected a number, got null"),
    (json.dumps(dict(tomllib.loads(MINIMAL), learning_rate=10**400)).encode(), ".json", "key 'learning_rate': expected a finite number"),
])
def test_unreadable_files_give_one_line(runner, tmp_path, content, suffix, expected):
    path = tmp_path / f"spec{suffix}"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(cli, ["solve", str(path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"nnexam: error: {path}: ") and expected in result.stderr


def test_a_folder_is_not_a_spec(runner, tmp_path):
    result = runner.invoke(cli, ["solve", str(tmp_path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    with pytest.raises(NnexamError, match="is a folder"):
        load_spec(tmp_path)


# --- junk in, NnexamError out ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
BASE = tomllib.loads(MAZUR)


@st.composite
def mutated_specs(draw) -> dict:
    """The Mazur spec with a few keys, or entries deep inside lists, replaced, deleted or added."""
    spec = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(spec) + ["names", "leaky_slope", "extra"]))
        action = draw(st.sampled_from(["replace", "delete", "deep"]))
        if action == "delete":
            spec.pop(key, None)
        elif action == "deep" and isinstance(spec.get(key), list) and spec[key]:
            node = spec[key]
            while True:
                i = draw(st.integers(0, len(node) - 1))
                if isinstance(node[i], list) and node[i] and draw(st.booleans()):
                    node = node[i]
                    continue
                node[i] = draw(json_values)
                break
        else:
            spec[key] = draw(json_values)
    return spec


JUNK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@JUNK
@given(mutated_specs())
def test_mutated_specs_parse_or_raise_nnexam_error(spec):
    try:
        parse_spec(spec, "mutated.toml")
    except NnexamError as e:
        assert e.message.startswith("mutated.toml: ") and "\n" not in e.message


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("junk")


@JUNK
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        # Valid TOML with a slice cut out or a few characters spliced in.
        st.tuples(st.integers(0, len(MAZUR)), st.integers(0, 40), st.text(alphabet="[]{}=\",.#\n 0123456789nanife-_", max_size=6))
        .map(lambda c: (MAZUR[: c[0]] + c[2] + MAZUR[c[0] + c[1]:]).encode()),
    ),
    st.sampled_from([".toml", ".json"]),
)
def test_junk_files_load_or_raise_nnexam_error(scratch, content, suffix):
    path = scratch / f"junk{suffix}"
    path.write_bytes(content)
    try:
        load_spec(path)
    except NnexamError as e:
        assert e.message.startswith(f"{path}: ") and "\n" not in e.message


@pytest.mark.parametrize("bias", ["per_neuron", "shared", "none"])
@pytest.mark.parametrize("layers", [[3, 2, 1], [2, 4, 3, 2], [1, 1]])
def test_a_network_rebuilds_from_its_list_of_givens(layers, bias):
    """The manifest stores each student as a list of numbers in given_names() order; every number lands where it came from."""
    counter = iter(range(1, 1000))
    spec = {"layers": layers, "activations": ["sigmoid"] * (len(layers) - 1), "loss": "half_sse", "bias": bias,
            "weights": [[[(10 + next(counter) / 100) for _ in range(layers[l])] for _ in range(layers[l + 1])] for l in range(len(layers) - 1)],
            "inputs": [(10 + next(counter) / 100) for _ in range(layers[0])], "targets": [0.5] * layers[-1], "learning_rate": 0.25}
    if bias == "shared":
        spec["biases"] = [(10 + next(counter) / 100) for _ in layers[1:]]
    elif bias == "per_neuron":
        spec["biases"] = [[(10 + next(counter) / 100) for _ in range(n)] for n in layers[1:]]
    net = parse_spec(spec, "t")
    values = net.values()
    names = net.arch.given_names()
    assert len(values) == len(names) == len(set(values)) + layers[-1] - 1  # all distinct but the equal targets
    by_name = dict(zip(names, values))
    assert by_name["eta"] == 0.25 and by_name["x_1"] == spec["inputs"][0]
    assert by_name[f"w1_{layers[1]}_{layers[0]}"] == spec["weights"][0][-1][-1]
    assert network_from_values(net.arch, values, net.notation, net.names) == net
